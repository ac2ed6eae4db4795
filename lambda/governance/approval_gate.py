"""Approval gate: an approval only stands if the evidence the model's policy requires is there.

Handler: ``governance.approval_gate.handler``.

Trigger: EventBridge ``aws.sagemaker`` / ``SageMaker Model Package State Change``. Only events with
``ModelApprovalStatus == "Approved"`` are evaluated; every other status returns
``{"result": "skipped"}`` without touching AWS.

Environment:

* ``POLICY_PARAMETER_PREFIX``: SSM prefix of the per-model policy (see :mod:`governance.policy`).
* ``ALERT_TOPIC_ARN``: SNS topic for failed-gate alerts.
* ``EVENT_BUS_NAME``: bus for the verdict event (default ``default``).
* ``IDEMPOTENCY_TABLE_NAME``: Powertools idempotency table (partition key ``id``, string;
  TTL attribute ``expiration``).
* ``POWERTOOLS_SERVICE_NAME``: logger service name.

What it does for an approval (the package is read authoritatively with ``DescribeModelPackage``):

1. Evaluates every evidence kind in the policy's ``required_evidence``; when the policy has
   ``bias_thresholds`` it also reads the Clarify bias report(s) from S3 and checks each metric for
   the configured facet (check ``bias_thresholds``). See :func:`evaluate`.
2. On any failure: sets the package back to the policy's ``on_failure`` status with an
   ``ApprovalDescription`` listing every failed check, publishes an SNS alert, and puts a
   ``sagemaker.governance`` / ``Model Approval Verdict`` event. On success it only puts the event.

Failure modes: a malformed event raises :class:`~governance.events.EventValidationError`, an
ungoverned group raises :class:`~governance.policy.UnknownModelGroupError`; both reach the DLQ after
retries. Unreadable evidence is a failed check, never a crash.

Idempotency: Powertools idempotency keyed on the EventBridge ``id`` (24 h, EventBridge's longest
retry window). Independently of it, an event whose package is no longer ``Approved`` is skipped,
so a re-delivered approval for a version already set back does nothing. The one exception is a
retry of the same event after the revert succeeded but the notifications failed: the description
carries the event id, so the gate recognises its own revert and sends the notifications again.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from governance import bias_report, environment
from governance.aws_clients import AwsClient, ClientError, client, error_code
from governance.events import (
    APPROVAL_VERDICT,
    GOVERNANCE_SOURCE,
    ModelPackageStateChange,
    parse_model_package_state_change,
)
from governance.evidence import EvidenceUnreadableError, all_uris, metrics_uri, read_json
from governance.identity import check_separation, describe_identity, parse_user_context
from governance.policy import ModelPolicy, PolicyStore

logger = Logger()

APPROVED: Final = "Approved"
BIAS_THRESHOLDS_CHECK: Final = "bias_thresholds"
APPROVAL_DESCRIPTION_LIMIT: Final = 1024
"""``ApprovalDescription`` maximum length (UpdateModelPackage API)."""
SNS_SUBJECT_LIMIT: Final = 100
_TRUNCATED: Final = " ...(truncated)"
_BIAS_REPORT_PATHS: Final = (
    ("Bias", "Report"),
    ("Bias", "PostTrainingReport"),
    ("Bias", "PreTrainingReport"),
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    checks: tuple[CheckResult, ...]
    evidence_uris: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True)
class GateClients:
    sagemaker: AwsClient
    s3: AwsClient
    sns: AwsClient
    events: AwsClient

    @classmethod
    def from_boto3(cls) -> GateClients:
        return cls(client("sagemaker"), client("s3"), client("sns"), client("events"))


@dataclass(frozen=True)
class GateSettings:
    policy_parameter_prefix: str
    alert_topic_arn: str
    event_bus_name: str
    idempotency_table_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GateSettings:
        env = os.environ if environ is None else environ
        return cls(
            policy_parameter_prefix=environment.required(env, "POLICY_PARAMETER_PREFIX"),
            alert_topic_arn=environment.required(env, "ALERT_TOPIC_ARN"),
            event_bus_name=environment.optional(env, "EVENT_BUS_NAME", "default"),
            idempotency_table_name=environment.required(env, "IDEMPOTENCY_TABLE_NAME"),
        )


# --------------------------------------------------------------------------------------------
# Evaluation (pure apart from the reads done through the clients passed in)
# --------------------------------------------------------------------------------------------


def evaluate(
    package: Mapping[str, Any],
    policy: ModelPolicy,
    s3_client: AwsClient,
    sagemaker_client: AwsClient,
) -> Verdict:
    """Check a ``DescribeModelPackage`` response against the policy's required evidence."""
    metrics: Mapping[str, Any] = package.get("ModelMetrics") or {}
    baselines: Mapping[str, Any] = package.get("DriftCheckBaselines") or {}
    checks: list[CheckResult] = []

    if policy.requires("model_quality_metrics"):
        checks.append(_model_quality_check(metrics))
    if policy.requires("bias_report"):
        checks.append(_report_check("bias_report", metrics, _BIAS_REPORT_PATHS, "bias report"))
    if policy.bias_thresholds:
        checks.append(_bias_thresholds_check(metrics, policy, s3_client))
    if policy.requires("explainability_report"):
        checks.append(
            _report_check(
                "explainability_report",
                metrics,
                (("Explainability", "Report"),),
                "explainability report",
            )
        )
    if policy.requires("drift_check_baselines"):
        checks.append(_drift_baselines_check(baselines))
    if policy.requires("model_card_approved"):
        checks.append(_model_card_check(policy.model_card_name, sagemaker_client))
    if policy.requires("approval_description"):
        checks.append(_approval_description_check(package.get("ApprovalDescription")))
    if policy.requires("separate_approver"):
        checks.append(_separate_approver_check(package))

    return Verdict(tuple(checks), tuple(all_uris(metrics, baselines)))


def _model_quality_check(metrics: Mapping[str, Any]) -> CheckResult:
    statistics = metrics_uri(metrics, "ModelQuality", "Statistics")
    if statistics is None:
        return CheckResult(
            "model_quality_metrics", False, "no ModelMetrics.ModelQuality.Statistics registered"
        )
    constraints = metrics_uri(metrics, "ModelQuality", "Constraints")
    suffix = f", constraints {constraints}" if constraints else ""
    return CheckResult("model_quality_metrics", True, f"statistics {statistics}{suffix}")


def _report_check(
    name: str,
    metrics: Mapping[str, Any],
    paths: Sequence[tuple[str, str]],
    label: str,
) -> CheckResult:
    for path in paths:
        uri = metrics_uri(metrics, *path)
        if uri:
            return CheckResult(name, True, f"{label} {uri}")
    wanted = " or ".join("ModelMetrics." + ".".join(path) for path in paths)
    return CheckResult(name, False, f"no {label} registered ({wanted})")


def _bias_thresholds_check(
    metrics: Mapping[str, Any], policy: ModelPolicy, s3_client: AwsClient
) -> CheckResult:
    uris = list(dict.fromkeys(u for p in _BIAS_REPORT_PATHS if (u := metrics_uri(metrics, *p))))
    if not uris:
        return CheckResult(
            BIAS_THRESHOLDS_CHECK, False, "no bias report registered to compare with thresholds"
        )
    reports = []
    for uri in uris:
        try:
            reports.append(read_json(s3_client, uri))
        except EvidenceUnreadableError as error:
            return CheckResult(BIAS_THRESHOLDS_CHECK, False, f"bias report unreadable: {error}")
    try:
        assessment = bias_report.assess(reports, policy.bias_thresholds, policy.bias_facet)
    except bias_report.BiasReportFormatError as error:
        return CheckResult(
            BIAS_THRESHOLDS_CHECK,
            False,
            f"bias report {', '.join(uris)} is not a Clarify bias analysis: {error}",
        )
    if assessment.passed:
        return CheckResult(BIAS_THRESHOLDS_CHECK, True, "; ".join(assessment.observations))
    return CheckResult(BIAS_THRESHOLDS_CHECK, False, "; ".join(assessment.failures))


def _drift_baselines_check(baselines: Mapping[str, Any]) -> CheckResult:
    uris = all_uris(baselines)
    if not uris:
        return CheckResult("drift_check_baselines", False, "no DriftCheckBaselines registered")
    return CheckResult(
        "drift_check_baselines", True, f"{len(uris)} baseline file(s): {', '.join(uris)}"
    )


def _model_card_check(model_card_name: str, sagemaker_client: AwsClient) -> CheckResult:
    try:
        card = sagemaker_client.describe_model_card(ModelCardName=model_card_name)
    except ClientError as error:
        code = error_code(error)
        if code in {"ResourceNotFound", "ValidationException"}:
            return CheckResult(
                "model_card_approved", False, f"model card {model_card_name!r} not found"
            )
        raise
    status = card.get("ModelCardStatus")
    if status != APPROVED:
        return CheckResult(
            "model_card_approved",
            False,
            f"model card {model_card_name!r} is {status}, not Approved",
        )
    version = card.get("ModelCardVersion")
    return CheckResult(
        "model_card_approved", True, f"model card {model_card_name!r} v{version} is Approved"
    )


def _approval_description_check(description: object) -> CheckResult:
    if isinstance(description, str) and description.strip():
        return CheckResult("approval_description", True, "approval description given")
    return CheckResult("approval_description", False, "approval description is empty")


def _separate_approver_check(package: Mapping[str, Any]) -> CheckResult:
    try:
        registrant = parse_user_context(package.get("CreatedBy"))
        approver = parse_user_context(package.get("LastModifiedBy"))
    except ValueError as error:
        return CheckResult("separate_approver", False, f"identity unreadable: expected {error}")
    result = check_separation(registrant, approver)
    return CheckResult("separate_approver", result.passed, result.reason)


# --------------------------------------------------------------------------------------------
# Acting on a verdict
# --------------------------------------------------------------------------------------------


def revert_marker(source_event_id: str) -> str:
    """Prefix of the description the gate writes; it lets a retry recognise the gate's revert."""
    return f"[governance gate, event {source_event_id}]"


def _api_text(text: str) -> str:
    # ApprovalDescription allows letters, marks, separators, symbols, numbers and punctuation
    # only: control characters such as newlines are rejected by the API.
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def approval_description(verdict: Verdict, source_event_id: str) -> str:
    """The ``ApprovalDescription`` of a reverted package: every failed check, within 1024 chars."""
    failed = verdict.failed_checks
    text = _api_text(
        f"{revert_marker(source_event_id)} Approval withdrawn, {len(failed)} of "
        f"{len(verdict.checks)} checks failed: "
        + "; ".join(f"{check.name}: {check.reason}" for check in failed)
    )
    text = re.sub(r" {2,}", " ", text)
    if len(text) <= APPROVAL_DESCRIPTION_LIMIT:
        return text
    return text[: APPROVAL_DESCRIPTION_LIMIT - len(_TRUNCATED)] + _TRUNCATED


def alert_subject(policy: ModelPolicy, group: str, version: int) -> str:
    subject = f"[{policy.risk_tier} risk] Model approval withdrawn: {group} v{version}"
    # SNS subjects must be ASCII without line breaks, at most 100 characters.
    subject = subject.encode("ascii", "replace").decode("ascii")
    return subject[:SNS_SUBJECT_LIMIT]


def alert_message(
    *,
    change: ModelPackageStateChange,
    package: Mapping[str, Any],
    policy: ModelPolicy,
    verdict: Verdict,
) -> str:
    failed = verdict.failed_checks
    passed = [check for check in verdict.checks if check.passed]
    lines = [
        "A model approval was withdrawn by the governance approval gate because required",
        "evidence is missing or out of policy.",
        "",
        f"Model package group: {change.model_package_group_name}",
        f"Version:             {change.model_package_version}",
        f"Model package:       {change.model_package_arn}",
        f"Model:               {policy.model_name} (risk tier {policy.risk_tier})",
        f"Registered by:       {describe_identity(parse_user_context(package.get('CreatedBy')))}",
        f"Approved by:         "
        f"{describe_identity(parse_user_context(package.get('LastModifiedBy')))}",
        f"Approval note:       {package.get('ApprovalDescription') or '<empty>'}",
        f"Status now:          {policy.on_failure}",
        "",
        f"Failed checks ({len(failed)} of {len(verdict.checks)}):",
        *(f"  - {check.name}: {check.reason}" for check in failed),
    ]
    if passed:
        lines += ["", "Passed checks:", *(f"  - {check.name}: {check.reason}" for check in passed)]
    if verdict.evidence_uris:
        lines += ["", "Evidence registered:", *(f"  - {uri}" for uri in verdict.evidence_uris)]
    lines += ["", f"Source event: {change.envelope.event_id}"]
    return "\n".join(lines)


def verdict_detail(
    change: ModelPackageStateChange, verdict: Verdict, action_taken: str
) -> dict[str, Any]:
    return {
        "modelPackageGroupName": change.model_package_group_name,
        "modelPackageArn": change.model_package_arn,
        "modelPackageVersion": change.model_package_version,
        "verdict": "passed" if verdict.passed else "failed",
        "checks": [check.to_dict() for check in verdict.checks],
        "actionTaken": action_taken,
        "evidenceUris": list(verdict.evidence_uris),
        "sourceEventId": change.envelope.event_id,
    }


def put_verdict_event(
    events_client: AwsClient, event_bus_name: str, detail: Mapping[str, Any]
) -> None:
    response = events_client.put_events(
        Entries=[
            {
                "Source": GOVERNANCE_SOURCE,
                "DetailType": APPROVAL_VERDICT,
                "Detail": json.dumps(detail, sort_keys=True),
                "Resources": [detail["modelPackageArn"]],
                "EventBusName": event_bus_name,
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        entry = response.get("Entries", [{}])[0]
        raise RuntimeError(
            "EventBridge rejected the verdict event: "
            f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
        )


def _action_for(policy: ModelPolicy) -> str:
    return f"status_set_to_{policy.on_failure}"


def run_gate(
    change: ModelPackageStateChange,
    *,
    policies: PolicyStore,
    clients: GateClients,
    settings: GateSettings,
) -> dict[str, Any]:
    """Evaluate one approval event and act on the verdict. Returns a small JSON result."""
    base = {
        "modelPackageArn": change.model_package_arn,
        "modelPackageGroupName": change.model_package_group_name,
        "modelPackageVersion": change.model_package_version,
        "sourceEventId": change.envelope.event_id,
    }
    if change.model_approval_status != APPROVED:
        return {**base, "result": "skipped", "reason": f"status is {change.model_approval_status}"}

    policy = policies.get(change.model_package_group_name)
    package = clients.sagemaker.describe_model_package(ModelPackageName=change.model_package_arn)
    current = package.get("ModelApprovalStatus")
    if current != APPROVED:
        description = package.get("ApprovalDescription") or ""
        if not description.startswith(revert_marker(change.envelope.event_id)):
            logger.info("package no longer approved; nothing to do", extra={"status": current})
            return {**base, "result": "skipped", "reason": f"package is now {current}"}
        # Our own revert for this very event: an earlier attempt failed after it. Re-evaluate the
        # approval as it was (description and approver come from the event) and notify again.
        package = {
            **package,
            "ModelApprovalStatus": APPROVED,
            "ApprovalDescription": change.approval_description,
            "LastModifiedBy": _raw_user_context(change),
        }
        verdict = evaluate(package, policy, clients.s3, clients.sagemaker)
        if verdict.passed:
            # The evidence was fixed after the revert; the revert itself still needs announcing.
            verdict = Verdict(
                (
                    *verdict.checks,
                    CheckResult("gate_revert", False, f"reverted earlier: {description}"),
                ),
                verdict.evidence_uris,
            )
        return _notify(
            change=change,
            package=package,
            policy=policy,
            verdict=verdict,
            clients=clients,
            settings=settings,
            base=base,
            retried=True,
        )

    verdict = evaluate(package, policy, clients.s3, clients.sagemaker)
    if verdict.passed:
        put_verdict_event(
            clients.events, settings.event_bus_name, verdict_detail(change, verdict, "none")
        )
        logger.info("approval passed the gate")
        return {**base, "result": "passed", "actionTaken": "none", "failedChecks": []}

    clients.sagemaker.update_model_package(
        ModelPackageArn=change.model_package_arn,
        ModelApprovalStatus=policy.on_failure,
        ApprovalDescription=approval_description(verdict, change.envelope.event_id),
    )
    logger.warning(
        "approval withdrawn",
        extra={"failed_checks": [c.to_dict() for c in verdict.failed_checks]},
    )
    return _notify(
        change=change,
        package=package,
        policy=policy,
        verdict=verdict,
        clients=clients,
        settings=settings,
        base=base,
        retried=False,
    )


def _notify(
    *,
    change: ModelPackageStateChange,
    package: Mapping[str, Any],
    policy: ModelPolicy,
    verdict: Verdict,
    clients: GateClients,
    settings: GateSettings,
    base: Mapping[str, Any],
    retried: bool,
) -> dict[str, Any]:
    clients.sns.publish(
        TopicArn=settings.alert_topic_arn,
        Subject=alert_subject(
            policy, change.model_package_group_name, change.model_package_version
        ),
        Message=alert_message(change=change, package=package, policy=policy, verdict=verdict),
    )
    action = _action_for(policy)
    put_verdict_event(
        clients.events, settings.event_bus_name, verdict_detail(change, verdict, action)
    )
    return {
        **base,
        "result": "failed",
        "actionTaken": action,
        "failedChecks": [check.to_dict() for check in verdict.failed_checks],
        "notificationsResent": retried,
    }


def _raw_user_context(change: ModelPackageStateChange) -> dict[str, Any] | None:
    who = change.last_modified_by
    if who is None:
        return None
    iam = {
        key: value
        for key, value in (
            ("Arn", who.iam_arn),
            ("PrincipalId", who.principal_id),
            ("SourceIdentity", who.source_identity),
        )
        if value
    }
    raw: dict[str, Any] = {
        key: value
        for key, value in (
            ("UserProfileArn", who.user_profile_arn),
            ("UserProfileName", who.user_profile_name),
            ("DomainId", who.domain_id),
        )
        if value
    }
    if iam:
        raw["IamIdentity"] = iam
    return raw


# --------------------------------------------------------------------------------------------
# Lambda adapter
# --------------------------------------------------------------------------------------------

IDEMPOTENCY_EXPIRY_SECONDS: Final = 24 * 60 * 60


@dataclass
class _Runtime:
    settings: GateSettings
    clients: GateClients
    policies: PolicyStore
    process: Callable[..., dict[str, Any]]
    config: IdempotencyConfig


_runtime: _Runtime | None = None


def configure(
    *,
    settings: GateSettings | None = None,
    clients: GateClients | None = None,
    ssm_client: AwsClient | None = None,
    dynamodb_client: AwsClient | None = None,
) -> None:
    """Build the per-cold-start runtime; tests call it to inject clients or settings."""
    global _runtime  # noqa: PLW0603 - one runtime per execution environment is the point
    settings = settings or GateSettings.from_env()
    clients = clients or GateClients.from_boto3()
    policies = PolicyStore(ssm_client or client("ssm"), settings.policy_parameter_prefix)
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name,
        boto3_client=dynamodb_client or client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )

    def process(event: dict[str, Any]) -> dict[str, Any]:
        return run_gate(
            parse_model_package_state_change(event),
            policies=policies,
            clients=clients,
            settings=settings,
        )

    idempotent_process = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config
    )(process)
    _runtime = _Runtime(settings, clients, policies, idempotent_process, config)


def reset() -> None:
    """Forget the runtime (tests: each test gets fresh clients and caches)."""
    global _runtime  # noqa: PLW0603
    _runtime = None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Validate before idempotency so a malformed event fails with a message naming the field.
    change = parse_model_package_state_change(event)
    logger.append_keys(
        model_package_arn=change.model_package_arn,
        source_event_id=change.envelope.event_id,
    )
    if change.model_approval_status != APPROVED:
        # Not an approval: nothing to verify, and no idempotency record worth writing.
        return {
            "result": "skipped",
            "reason": f"status is {change.model_approval_status}",
            "modelPackageArn": change.model_package_arn,
            "sourceEventId": change.envelope.event_id,
        }
    if _runtime is None:
        configure()
    assert _runtime is not None  # noqa: S101 - narrows the type for mypy
    _runtime.config.register_lambda_context(context)
    return _runtime.process(event=event)
