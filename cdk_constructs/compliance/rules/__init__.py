"""The Governance rule catalogue: pure rules over resolved CloudFormation resources.

``RULES`` is the single source for the pack and for ``RULES.md`` (see :func:`render_markdown`;
regenerate with ``python -m cdk_constructs.compliance.rules > RULES.md``).
"""

from __future__ import annotations

from cdk_constructs.compliance.rules import (
    audit,
    batch,
    delivery,
    duties,
    identity,
    monitoring,
    pipelines,
    registry,
    serving,
    stores,
    training_pipelines,
)
from cdk_constructs.compliance.rules.claims import CLAIMS, Claim
from cdk_constructs.compliance.rules.framework import (
    PACK_NAME,
    UNDECIDABLE_FINDING,
    AppIndex,
    Environment,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
)

RULES: tuple[GovernanceRule, ...] = (
    *registry.RULES,
    *serving.RULES,
    *monitoring.RULES,
    *pipelines.RULES,
    *batch.RULES,
    *audit.RULES,
    *identity.RULES,
    *duties.RULES,
    *delivery.RULES,
    *stores.RULES,
    *training_pipelines.RULES,
)

_HEADER = f"""# Governance rule pack

Our own pack (`GovernanceChecks`, plugin name `{PACK_NAME}`), a CDK validation plugin run next to
the cdk-nag 3 packs, for what no public pack checks: the model registry, model cards, monitoring
and the audit path. Generated from `cdk_constructs/compliance/rules/` (the claims table from
`rules/claims.py`) by `python -m cdk_constructs.compliance.rules > RULES.md`; a test fails when
this file and the code disagree.

- **What the rules read.** The synthesized templates that aws-cdk-lib hands every validation
  plugin: what CloudFormation will deploy, after Aspects (`Tags.of`, permissions boundaries) and
  raw overrides (`add_property_override`, `add_override`), which are therefore seen. A finding is
  reported by template path and logical id; aws-cdk-lib maps it to its construct path.
- A finding's `ruleName` is `{PACK_NAME}-<id>`. Acknowledge it with the id
  `{PACK_NAME}::{PACK_NAME}-<id>` (e.g. `acknowledge(scope, "{PACK_NAME}-MPG1", reason)`) on the
  resource or one of its ancestors, so that the reason is kept in `validation-report.json`
  under `suppressedViolations`.
- **Cannot decide.** When a value a rule needs is only known at deploy time (a parameter, an
  import nothing in the app exports, `Fn::If`, `Fn::Join` of a pseudo parameter), the rule
  reports `{PACK_NAME}-<id>[{UNDECIDABLE_FINDING}]` at error level instead of passing: synth fails
  until the value is made literal or the finding is acknowledged
  (`{PACK_NAME}::{PACK_NAME}-<id>[{UNDECIDABLE_FINDING}]`) with a reason. A definite violation
  wins over "cannot decide". A reference that merely has to be *present* (a KMS key ARN, subnet
  ids) counts as set. Silence is never a pass.
- **Cross-resource rules follow references**: `Ref` and `Fn::GetAtt` to a logical id of the same
  template, and across stacks `Fn::GetStackOutput` (CDK 2.275's form) and `Fn::ImportValue`,
  resolved to the producing stack's output value. They search every stack of the app that can
  share the resource's Stage, account and region (environment-agnostic stacks match any), and
  match exactly: by reference, by literal name, or by `governance:model` tag value. Never by
  substring or prefix. Governed resources are found by how they are wired (an endpoint serving a
  governed group's package, the table and bucket the ledger handler writes, the bucket a trail
  writes, the functions an event source invokes asynchronously), not only by tags; a wired
  resource without its governance tag is itself a finding (TAG1).
- **Audit retention** is compared with the policy the foundation declares from the config in its
  template's `Metadata` (`GovernancePolicy`: `AuditRetentionDays`, `AuditObjectLockMode`), not
  with the bucket itself; a stack with an audit bucket and no declaration is `[Undecidable]`.

| id | resource types | checks | why | cannot decide when | NIST 800-53 | SR 11-7 | EU AI Act |
|---|---|---|---|---|---|---|---|
"""


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|")


def _summary(rule: GovernanceRule) -> str:
    """What the rule requires: its check's docstring, on one line."""
    return " ".join((rule.check.__doc__ or rule.info).split())


_CLAIMS_COLUMNS = (
    "| id | control | promised in | fails synth when weakened | enforced elsewhere "
    "| gap (for the coordinator) | status |"
)
_CLAIMS_HEADER = f"""
## Claims → rules

Every control README.md and ARCHITECTURE.md promise, with the exact words (a test finds them in
the file) and the rules that fail `cdk synth` when the control is weakened: our Governance rules
and error-level rules of the registered public packs (checked against the pinned cdk-nag's own
catalogue; a warning never fails the gate). *Status*: **enforced** by rules; **partial**: rules,
and a gap for the coordinator; **elsewhere**: no synth rule can see it, enforced at run time or by
a test; **open**: a gap and no rule yet.

{_CLAIMS_COLUMNS}
|---|---|---|---|---|---|---|
"""


def _claim_row(claim: Claim) -> str:
    cells = [
        f"`{claim.claim_id}`",
        _cell(claim.control),
        _cell(f'{claim.source}: "{claim.quote}"'),
        "<br>".join(f"`{rule}`" for rule in claim.rules) or "—",
        _cell(claim.elsewhere),
        _cell(claim.gap),
        f"**{claim.status}**",
    ]
    return "| " + " | ".join(cells) + " |"


def render_markdown() -> str:
    """The full text of RULES.md."""
    rows = [
        "| "
        + " | ".join(
            [
                f"`{PACK_NAME}-{rule.rule_id}`",
                "<br>".join(f"`{t}`" for t in rule.resource_types),
                _cell(f"**{rule.title}.** {_summary(rule)}"),
                _cell(rule.explanation),
                _cell(rule.undecidable),
                ", ".join(rule.nist_800_53),
                _cell(rule.sr_11_7),
                _cell(rule.eu_ai_act),
            ]
        )
        + " |"
        for rule in RULES
    ]
    claims = "\n".join(_claim_row(claim) for claim in CLAIMS)
    return _HEADER + "\n".join(rows) + "\n" + _CLAIMS_HEADER + claims + "\n"


__all__ = [
    "CLAIMS",
    "PACK_NAME",
    "RULES",
    "UNDECIDABLE_FINDING",
    "AppIndex",
    "Claim",
    "Environment",
    "GovernanceRule",
    "Ref",
    "Resource",
    "Verdict",
    "render_markdown",
]
