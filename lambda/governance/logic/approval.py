"""The approval gate's decisions: does an approval stand, and what to say when it does not."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from governance.contracts.parameters import ApprovalPolicy
from governance.contracts.reference_data import BASELINES_PREFIX
from governance.contracts.vocabulary import (
    APPROVAL_DESCRIPTION_MAX_CHARS,
    ApprovalStatus,
    DetailType,
    Evidence,
    ModelCardStatus,
)
from governance.data_access.evidence import EvidenceReader, EvidenceUnreadableError
from governance.data_access.model_cards import ModelCards
from governance.data_access.notifier import Alert, Notifier
from governance.data_access.parameters import GovernanceParameters
from governance.data_access.registry import ModelRegistry
from governance.events import (
    ApprovalVerdictDetail,
    Check,
    ModelPackageStateChange,
    VerdictOutcome,
    governance_entry,
)
from governance.logic import bias
from governance.logic.separation import check_separation
from governance.sagemaker import (
    ModelCardVersion,
    ModelPackage,
    UserContext,
    describe_user,
    known,
    s3_uris,
)

BIAS_THRESHOLDS_CHECK: Final = "bias_thresholds"
GATE_REVERT_CHECK: Final = "gate_revert"
EVIDENCE_LOCATION_CHECK: Final = "evidence_location"
BIAS_REPORT_PATHS: Final = (
    ("Bias", "Report"),
    ("Bias", "PostTrainingReport"),
    ("Bias", "PreTrainingReport"),
)
_TRUNCATED: Final = " ...(truncated)"


@dataclass(frozen=True)
class ApprovalVerdict:
    checks: tuple[Check, ...]
    evidence_uris: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True)
class BiasReports:
    """The registered bias reports, decoded, or why they could not be read."""

    uris: tuple[str, ...]
    documents: tuple[object, ...] = ()
    unreadable: str | None = None


@dataclass(frozen=True)
class CardApproval:
    """The model card as the gate found it."""

    name: str
    current: ModelCardVersion | None
    """``None``: the card does not exist."""
    approving_version: int | None = None
    """The version whose change made the card Approved (first of the latest Approved run)."""
    approved_by: UserContext | None = None


# --- Pure decisions --------------------------------------------------------------------------


def bias_report_uris(package: ModelPackage) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(uri for path in BIAS_REPORT_PATHS if (uri := package.metrics_uri(*path)))
    )


def approving_version(statuses: Sequence[tuple[int, ModelCardStatus]]) -> int | None:
    """The first version of the unbroken run of Approved versions that ends at the latest.

    Every UpdateModelCard creates a version, and status and content cannot change in one call
    (UpdateModelCard API), so that version's change is the approval itself.
    """
    approving = None
    for version, status in sorted(statuses, reverse=True):
        if status is not ModelCardStatus.APPROVED:
            break
        approving = version
    return approving


def card_approver(approving: ModelCardVersion, *, first_version: int | None) -> UserContext | None:
    """Who made ``approving`` Approved: its last modifier, or its creator if the card was
    created Approved."""
    if (who := known(approving.last_modified_by)) is not None:
        return who
    if first_version is not None and approving.model_card_version == first_version:
        return known(approving.created_by)
    return None


def governed_evidence_prefix(bucket: str, group: str) -> str:
    """Where a version's evidence must be: ``s3://<artifacts bucket>/baselines/<group>/``."""
    return f"s3://{bucket}/{BASELINES_PREFIX}{group}/"


def evidence_location_check(package: ModelPackage, governed_bucket: str) -> Check:
    """Every evidence ``S3Uri`` (ModelMetrics, DriftCheckBaselines) lies under the governed
    prefix of the version's group: evidence written anywhere else was not produced (or may have
    been replaced) outside the governed pipeline's outputs."""
    allowed = governed_evidence_prefix(governed_bucket, package.model_package_group_name)
    uris = package.evidence_uris()
    outside = [uri for uri in uris if not _is_under(uri, allowed)]
    if outside:
        return _check(
            EVIDENCE_LOCATION_CHECK,
            False,
            f"{len(outside)} evidence file(s) outside the governed prefix {allowed}: "
            + ", ".join(outside),
        )
    return _check(EVIDENCE_LOCATION_CHECK, True, f"{len(uris)} evidence file(s) under {allowed}")


def _is_under(uri: str, prefix: str) -> bool:
    # No ".." or "." segment may climb out of the prefix (S3 keys are literal, but readers of the
    # URI may normalise them), and the key must name an object below the prefix.
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        return False
    return not any(part in ("..", ".") for part in uri[len(prefix) :].split("/"))


def evaluate(
    package: ModelPackage,
    policy: ApprovalPolicy,
    *,
    bias_reports: BiasReports,
    card: CardApproval | None,
    skip: Iterable[Evidence] = (),
    governed_bucket: str | None = None,
) -> ApprovalVerdict:
    """Every check the policy asks for; thresholds are checked whenever the policy sets any;
    with ``governed_bucket`` (the gate always gives it), every evidence URI must lie under
    ``s3://<governed_bucket>/baselines/<group>/``."""
    skipped = set(skip)

    def wanted(evidence: Evidence) -> bool:
        return policy.requires(evidence) and evidence not in skipped

    checks: list[Check] = []
    if wanted(Evidence.MODEL_QUALITY_METRICS):
        checks.append(_model_quality_check(package))
    if wanted(Evidence.BIAS_REPORT):
        checks.append(
            _report_check(Evidence.BIAS_REPORT, package, BIAS_REPORT_PATHS, "bias report")
        )
    if policy.bias_thresholds:
        checks.append(_bias_thresholds_check(policy, bias_reports))
    if wanted(Evidence.EXPLAINABILITY_REPORT):
        paths = (("Explainability", "Report"),)
        checks.append(
            _report_check(Evidence.EXPLAINABILITY_REPORT, package, paths, "explainability report")
        )
    if wanted(Evidence.DRIFT_CHECK_BASELINES):
        checks.append(_drift_baselines_check(package))
    if wanted(Evidence.MODEL_CARD_APPROVED):
        checks.append(model_card_check(card, package.created_by))
    if wanted(Evidence.APPROVAL_DESCRIPTION):
        checks.append(_approval_description_check(package.approval_description))
    if wanted(Evidence.SEPARATE_APPROVER):
        result = check_separation(package.created_by, package.last_modified_by)
        checks.append(_check(Evidence.SEPARATE_APPROVER, result.passed, result.reason))
    if governed_bucket is not None:
        checks.append(evidence_location_check(package, governed_bucket))
    return ApprovalVerdict(tuple(checks), tuple(package.evidence_uris()))


def _check(name: str, passed: bool, reason: str) -> Check:
    return Check(name=str(name), passed=passed, reason=reason)


def _model_quality_check(package: ModelPackage) -> Check:
    name = Evidence.MODEL_QUALITY_METRICS
    statistics = package.metrics_uri("ModelQuality", "Statistics")
    if statistics is None:
        return _check(name, False, "no ModelMetrics.ModelQuality.Statistics registered")
    constraints = package.metrics_uri("ModelQuality", "Constraints")
    suffix = f", constraints {constraints}" if constraints else ""
    return _check(name, True, f"statistics {statistics}{suffix}")


def _report_check(
    name: Evidence, package: ModelPackage, paths: Sequence[tuple[str, str]], label: str
) -> Check:
    for path in paths:
        if uri := package.metrics_uri(*path):
            return _check(name, True, f"{label} {uri}")
    wanted = " or ".join("ModelMetrics." + ".".join(path) for path in paths)
    return _check(name, False, f"no {label} registered ({wanted})")


def _bias_thresholds_check(policy: ApprovalPolicy, reports: BiasReports) -> Check:
    def result(passed: bool, reason: str) -> Check:
        return _check(BIAS_THRESHOLDS_CHECK, passed, reason)

    if not reports.uris:
        return result(False, "no bias report registered to compare with thresholds")
    if reports.unreadable is not None:
        return result(False, f"bias report unreadable: {reports.unreadable}")
    try:
        assessment = bias.assess(reports.documents, policy.bias_thresholds, policy.bias_facet)
    except bias.BiasReportFormatError as error:
        shown = ", ".join(reports.uris)
        return result(False, f"bias report {shown} is not a Clarify bias analysis: {error}")
    if assessment.passed:
        return result(True, "; ".join(assessment.observations))
    return result(False, "; ".join(assessment.failures))


def _drift_baselines_check(package: ModelPackage) -> Check:
    name = Evidence.DRIFT_CHECK_BASELINES
    uris = s3_uris(package.drift_check_baselines)
    if not uris:
        return _check(name, False, "no DriftCheckBaselines registered")
    return _check(name, True, f"{len(uris)} baseline file(s): {', '.join(uris)}")


def model_card_check(card: CardApproval | None, registrant: UserContext | None) -> Check:
    """Approved, and approved by someone provably not the registrant (same rules as the
    package's approver)."""
    name = Evidence.MODEL_CARD_APPROVED
    if card is None or card.current is None:
        shown = card.name if card else "<unknown>"
        return _check(name, False, f"model card {shown!r} not found")
    current = card.current
    label = f"model card {card.name!r} v{current.model_card_version}"
    if current.model_card_status is not ModelCardStatus.APPROVED:
        return Check(
            name=name,
            passed=False,
            reason=f"model card {card.name!r} is {current.model_card_status}, not Approved",
        )
    approved_in = card.approving_version or current.model_card_version
    separation = check_separation(
        registrant,
        card.approved_by,
        approver_role="model card approver",
        approver_field=f"LastModifiedBy of card version {approved_in}",
    )
    if not separation.passed:
        return _check(name, False, f"{label} is Approved, but {separation.reason}")
    return Check(
        name=name,
        passed=True,
        reason=f"{label} is Approved (in v{approved_in} by {describe_user(card.approved_by)}); "
        f"{separation.reason}",
    )


def _approval_description_check(description: str | None) -> Check:
    name = Evidence.APPROVAL_DESCRIPTION
    if description and description.strip():
        return _check(name, True, "approval description given")
    return _check(name, False, "approval description is empty")


def revert_marker(source_event_id: str) -> str:
    """Prefix of the description the gate writes; it lets a retry recognise the gate's revert."""
    return f"[governance gate, event {source_event_id}]"


def approval_description(verdict: ApprovalVerdict, source_event_id: str) -> str:
    """The reverted package's ``ApprovalDescription``: every failed check, within 1024 chars."""
    failed = verdict.failed_checks
    text = (
        f"{revert_marker(source_event_id)} Approval withdrawn, {len(failed)} of "
        f"{len(verdict.checks)} checks failed: "
        + "; ".join(f"{check.name}: {check.reason}" for check in failed)
    )
    # The API allows letters, marks, separators, symbols, numbers and punctuation only: control
    # characters such as newlines are refused.
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = re.sub(r" {2,}", " ", text)
    if len(text) <= APPROVAL_DESCRIPTION_MAX_CHARS:
        return text
    return text[: APPROVAL_DESCRIPTION_MAX_CHARS - len(_TRUNCATED)] + _TRUNCATED


def action_for(policy: ApprovalPolicy) -> str:
    return f"status_set_to_{policy.on_failure}"


def withdrawal_alert(
    change: ModelPackageStateChange,
    package: ModelPackage,
    policy: ApprovalPolicy,
    verdict: ApprovalVerdict,
) -> Alert:
    detail = change.detail
    failed = verdict.failed_checks
    passed = [check for check in verdict.checks if check.passed]
    lines = [
        "A model approval was withdrawn by the governance approval gate because required",
        "evidence is missing or out of policy.",
        "",
        f"Model package group: {detail.model_package_group_name}",
        f"Version:             {detail.model_package_version}",
        f"Model package:       {detail.model_package_arn}",
        f"Model:               {policy.model_name} (risk tier {policy.risk_tier})",
        f"Registered by:       {describe_user(package.created_by)}",
        f"Approved by:         {describe_user(package.last_modified_by)}",
        f"Approval note:       {package.approval_description or '<empty>'}",
        f"Status now:          {policy.on_failure}",
        "",
        f"Failed checks ({len(failed)} of {len(verdict.checks)}):",
        *(f"  - {check.name}: {check.reason}" for check in failed),
    ]
    if passed:
        lines += ["", "Passed checks:", *(f"  - {check.name}: {check.reason}" for check in passed)]
    if verdict.evidence_uris:
        lines += ["", "Evidence registered:", *(f"  - {uri}" for uri in verdict.evidence_uris)]
    lines += ["", f"Source event: {change.id}"]
    return Alert(
        subject=(
            f"[{policy.risk_tier} risk] Model approval withdrawn: "
            f"{detail.model_package_group_name} v{detail.model_package_version}"
        ),
        message="\n".join(lines),
    )


def verdict_detail(
    change: ModelPackageStateChange,
    package: ModelPackage,
    verdict: ApprovalVerdict,
    action_taken: str,
) -> ApprovalVerdictDetail:
    detail = change.detail
    return ApprovalVerdictDetail(
        model_package_group_name=detail.model_package_group_name,
        model_package_arn=detail.model_package_arn,
        model_package_version=detail.model_package_version,
        verdict=VerdictOutcome.PASSED if verdict.passed else VerdictOutcome.FAILED,
        checks=verdict.checks,
        action_taken=action_taken,
        evidence_uris=verdict.evidence_uris,
        source_event_id=change.id,
        approver=describe_user(package.last_modified_by),
        registrant=describe_user(package.created_by),
    )


# --- Sequence ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateStores:
    parameters: GovernanceParameters
    registry: ModelRegistry
    cards: ModelCards
    evidence: EvidenceReader
    notifier: Notifier
    governed_bucket: str
    """The artifacts bucket whose ``baselines/<group>/`` prefix holds governed evidence."""


def run_gate(change: ModelPackageStateChange, stores: GateStores) -> dict[str, Any]:
    """Judge one approval event and act on the verdict; a small JSON result."""
    detail = change.detail
    base = {
        "modelPackageArn": detail.model_package_arn,
        "modelPackageGroupName": detail.model_package_group_name,
        "modelPackageVersion": detail.model_package_version,
        "sourceEventId": change.id,
    }
    if detail.model_approval_status is not ApprovalStatus.APPROVED:
        return {**base, "result": "skipped", "reason": f"status is {detail.model_approval_status}"}

    policy = stores.parameters.approval_policy(detail.model_package_group_name)
    # The package, not the event, is the authority: the event is only a trigger.
    package = stores.registry.describe_package(detail.model_package_arn)
    if package.model_approval_status is ApprovalStatus.APPROVED:
        verdict = _judge(package, policy, stores)
        if verdict.passed:
            stores.notifier.put_event(_verdict_entry(change, package, verdict, "none"))
            return {**base, "result": "passed", "actionTaken": "none", "failedChecks": []}
        stores.registry.set_approval(
            detail.model_package_arn,
            ApprovalStatus(policy.on_failure.value),
            approval_description(verdict, change.id),
        )
        return {
            **base,
            **_notify(change, package, policy, verdict, stores),
            "notificationsResent": False,
        }

    description = package.approval_description or ""
    if not description.startswith(revert_marker(change.id)):
        now = package.model_approval_status
        return {**base, "result": "skipped", "reason": f"package is now {now}"}
    # The gate's own revert for this very event: an earlier attempt failed after it. Judge the
    # approval as the event describes it and send the notifications that attempt owed.
    as_approved = package.model_copy(
        update={
            "model_approval_status": ApprovalStatus.APPROVED,
            "approval_description": detail.approval_description,
            "last_modified_by": detail.last_modified_by,
        }
    )
    # The package now names the gate as its last modifier; without the approver in the event
    # the separation check cannot be redone, and the revert's own description stands for it.
    skip = () if known(detail.last_modified_by) else (Evidence.SEPARATE_APPROVER,)
    verdict = _judge(as_approved, policy, stores, skip=skip)
    if verdict.passed:
        revert = _check(GATE_REVERT_CHECK, False, f"reverted earlier: {description}")
        verdict = replace(verdict, checks=(*verdict.checks, revert))
    return {
        **base,
        **_notify(change, as_approved, policy, verdict, stores),
        "notificationsResent": True,
    }


def _judge(
    package: ModelPackage, policy: ApprovalPolicy, stores: GateStores, skip: Iterable[Evidence] = ()
) -> ApprovalVerdict:
    reports = _bias_reports(package, stores.evidence) if policy.bias_thresholds else BiasReports(())
    card = (
        card_approval(policy.model_card_name, stores.cards)
        if policy.requires(Evidence.MODEL_CARD_APPROVED)
        else None
    )
    return evaluate(
        package,
        policy,
        bias_reports=reports,
        card=card,
        skip=skip,
        governed_bucket=stores.governed_bucket,
    )


def _bias_reports(package: ModelPackage, evidence: EvidenceReader) -> BiasReports:
    uris = bias_report_uris(package)
    try:
        return BiasReports(uris, tuple(evidence.read_json(uri) for uri in uris))
    except EvidenceUnreadableError as error:
        return BiasReports(uris, unreadable=str(error))


def card_approval(name: str, cards: ModelCards) -> CardApproval:
    current = cards.describe(name)
    if current is None or current.model_card_status is not ModelCardStatus.APPROVED:
        return CardApproval(name, current)
    statuses = cards.version_statuses(name)
    version = approving_version(statuses) or current.model_card_version
    approving = current if version == current.model_card_version else cards.describe(name, version)
    if approving is None:
        return CardApproval(name, current, version)
    first = min((v for v, _ in statuses), default=None)
    return CardApproval(name, current, version, card_approver(approving, first_version=first))


def _notify(
    change: ModelPackageStateChange,
    package: ModelPackage,
    policy: ApprovalPolicy,
    verdict: ApprovalVerdict,
    stores: GateStores,
) -> dict[str, Any]:
    stores.notifier.alert(withdrawal_alert(change, package, policy, verdict))
    action = action_for(policy)
    stores.notifier.put_event(_verdict_entry(change, package, verdict, action))
    return {
        "result": "failed",
        "actionTaken": action,
        "failedChecks": [check.model_dump(mode="json") for check in verdict.failed_checks],
    }


def _verdict_entry(
    change: ModelPackageStateChange, package: ModelPackage, verdict: ApprovalVerdict, action: str
) -> dict[str, Any]:
    detail = verdict_detail(change, package, verdict, action)
    return governance_entry(DetailType.APPROVAL_VERDICT, detail, detail.model_package_arn)
