"""``GovernanceChecks``: our rule pack for model governance, run as a CDK validation plugin.

    cdk.Validations.of(app).add_plugins(GovernanceChecks(app))

The rules themselves are pure functions in :mod:`cdk_constructs.compliance.rules`. This plugin
reads the template files CDK hands every validation plugin (``IPolicyValidationContext``
``templatePaths``), resolves references across them (:mod:`.templates`) and reports each
finding by template path and logical id. aws-cdk-lib then derives the construct path from its
construct tree and applies acknowledgments exactly as for the cdk-nag packs: a violation whose
``ruleName`` is ``Governance-<id>`` is suppressed by ``Validations.of(scope).acknowledge`` with the
id ``Governance::Governance-<id>`` on the resource or one of its ancestors, and moves to
``suppressedViolations`` in ``validation-report.json`` with its reason.

A verdict of "cannot decide" becomes the finding ``Governance-<id>[Undecidable]``.

Reading JSON instead of the construct tree costs no call into the JavaScript runtime per
resource, and rules see what CloudFormation deploys: raw overrides and Aspects included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import jsii
from constructs import IConstruct

from cdk_constructs.compliance.rules import (
    PACK_NAME,
    RULES,
    UNDECIDABLE_FINDING,
    AppIndex,
    GovernanceRule,
    Resource,
    Verdict,
)
from cdk_constructs.compliance.templates import (
    StackTemplate,
    load_resources,
    read_assembly,
    read_templates,
)

SEVERITY = "error"
RULE_ERROR_PREFIX = "Rule threw an error during validation."


@dataclass(frozen=True)
class ViolatingResource:
    """Where a finding is: the construct path (for readers) and the template position (for
    aws-cdk-lib, which maps it back to the construct tree)."""

    construct_path: str
    resource_logical_id: str
    template_path: str
    locations: tuple[str, ...] = ("Properties",)


@dataclass
class Violation:
    """One rule's findings, as in a validation plugin report."""

    rule_name: str
    description: str
    severity: str = SEVERITY
    violating_resources: list[ViolatingResource] = field(default_factory=list)


@dataclass(frozen=True)
class PackReport:
    """What the pack found in a set of templates."""

    violations: tuple[Violation, ...]

    @property
    def success(self) -> bool:
        return not self.violations


@jsii.implements(cdk.IPolicyValidationPlugin)
class GovernanceChecks:
    """Model governance rules (see RULES.md) as a CDK validation plugin.

    :param scope: the app (only needed for ``write_suppressions_to_cloud_formation``).
    :param verbose: findings carry the rule's explanation and controls, not just what is wrong.
        Default: ``True``, because reviewers read the report without the catalogue at hand.
    :param write_suppressions_to_cloud_formation: also record acknowledgments in each resource's
        ``Metadata`` (cdk-nag 2's ``rules_to_suppress`` format). Default: ``False``.
    :param rules: the rules to run. Default: every rule of the catalogue.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        verbose: bool = True,
        write_suppressions_to_cloud_formation: bool | None = None,
        rules: Iterable[GovernanceRule] = RULES,
    ) -> None:
        if scope is not None and write_suppressions_to_cloud_formation:
            cdk.Aspects.of(scope).add(cdk_nag.WriteNagSuppressionsToCloudFormationAspect())
        self._verbose = verbose
        self._rules = tuple(rules)
        self._rules_by_type: dict[str, list[GovernanceRule]] = {}
        for rule in self._rules:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str]:
        return sorted({rule.finding_id for rule in self._rules})

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        """Called by aws-cdk-lib after the templates are written (never by user code)."""
        stacks = read_templates(context.template_paths)
        report = self.check(stacks)
        return cdk.PolicyValidationPluginReport(
            success=report.success,
            violations=[
                cdk.PolicyViolation(
                    rule_name=violation.rule_name,
                    description=violation.description,
                    severity=violation.severity,
                    violating_resources=[
                        # The construct path is left to aws-cdk-lib: it takes it from its tree,
                        # the same way for every plugin, before it applies acknowledgments.
                        cdk.PolicyViolatingResource(
                            locations=list(resource.locations),
                            resource_logical_id=resource.resource_logical_id,
                            template_path=resource.template_path,
                        )
                        for resource in violation.violating_resources
                    ],
                )
                for violation in report.violations
            ],
        )

    def check_assembly(self, directory: str | Path) -> PackReport:
        """Run the rules on every template of a cloud assembly (tests, tools)."""
        return self.check(read_assembly(directory))

    def check(self, stacks: Sequence[StackTemplate]) -> PackReport:
        """Run the rules on ``stacks`` (templates may be edited in memory before)."""
        loaded = load_resources(stacks)
        index = AppIndex(loaded.resources, loaded.stack_metadata, stacks)
        violations: dict[str, Violation] = {}
        for resource in loaded.resources:
            for rule in self._rules_by_type.get(resource.type, ()):
                finding = self._finding(rule, resource, index)
                if finding is None:
                    continue
                rule_name, description = finding
                violation = violations.setdefault(rule_name, Violation(rule_name, description))
                violation.violating_resources.append(
                    ViolatingResource(
                        construct_path=resource.path,
                        resource_logical_id=resource.logical_id,
                        template_path=resource.template_path,
                    )
                )
        return PackReport(tuple(violations.values()))

    def _finding(
        self, rule: GovernanceRule, resource: Resource, index: AppIndex
    ) -> tuple[str, str] | None:
        """``(ruleName, description)`` to report, or ``None`` when there is nothing to report."""
        try:
            verdict = rule.check(resource, index)
        except Exception as error:
            # A broken rule must be visible and fail the gate, never pass silently.
            detail = f"{type(error).__name__}: {error}" if self._verbose else ""
            return rule.finding_id, f"{RULE_ERROR_PREFIX} {detail}".strip()
        if verdict in (Verdict.COMPLIANT, Verdict.NOT_APPLICABLE):
            return None
        info = rule.info
        rule_name = rule.finding_id
        if verdict is Verdict.UNDECIDABLE:
            info = f"Cannot decide at synth time: {rule.undecidable}"
            rule_name = f"{rule.finding_id}[{UNDECIDABLE_FINDING}]"
        if not self._verbose:
            return rule_name, info
        return rule_name, f"{info} {rule.explanation} Controls: {rule.controls()}."
