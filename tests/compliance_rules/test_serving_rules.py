"""Serving rules (MDL1-2, EPC1-3, EP1, MS1, TAG1): models, endpoint configs, endpoint monitors,
and the governance tag of everything wired to a governed model."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from tests.compliance_rules import builders as b

ALL_FOUR = ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given
    app = cdk.App()
    serving = cdk.Stack(app, "Serving")
    monitoring = cdk.Stack(app, "Monitoring")
    registry = cdk.Stack(app, "Registry")

    b.model(serving, "Model")
    b.model(serving, "OpenModel", isolated=False)
    b.model(serving, "PublicModel", vpc=False)

    b.endpoint_config(serving, "Config")
    b.endpoint_config(serving, "NoCapture", capture=False)
    b.endpoint_config(serving, "PlainCapture", capture_key=None)
    b.endpoint_config(serving, "InputOnly", capture_modes=("Input",))
    b.endpoint_config(serving, "CaptureOff", enable_capture=False)
    b.endpoint_config(serving, "NoKey", key=None)
    # NVMe instance storage: a key is not allowed, so none is required
    b.endpoint_config(serving, "NvmeNoKey", key=None, instance_type="ml.g4dn.xlarge")

    # EP1: the risk tier comes from the endpoint tag or the model's group (strictest wins)
    high = b.endpoint(serving, "HighRisk", model="credit-risk", tier="high")
    b.monitors(monitoring, "HighRisk", high, *ALL_FOUR)
    high_partial = b.endpoint(serving, "HighRiskPartial", model="credit-risk", tier="high")
    b.monitors(monitoring, "HighRiskPartial", high_partial, "DataQuality", "ModelQuality")
    low = b.endpoint(serving, "LowRisk", model="churn", tier="low")
    b.monitors(monitoring, "LowRisk", low, "DataQuality", "ModelQuality")
    low_partial = b.endpoint(serving, "LowRiskPartial", model="churn", tier="low")
    b.monitors(monitoring, "LowRiskPartial", low_partial, "DataQuality")
    # no tier on the endpoint; its group says high
    by_group = b.endpoint(serving, "TierFromGroup", model="fraud")
    b.group(registry, "FraudGroup", name="fraud")
    b.monitors(monitoring, "TierFromGroup", by_group, "DataQuality", "ModelQuality")
    # no tier anywhere: treated as high
    unknown = b.endpoint(serving, "UnknownTier", model="unlisted")
    b.monitors(monitoring, "UnknownTier", unknown, "DataQuality", "ModelQuality")
    # by literal name; a schedule for "scoring-2" does not monitor "scoring"
    b.endpoint(serving, "Named", model="churn", tier="low", name="scoring")
    for kind in ("DataQuality", "ModelQuality"):
        b.schedule(monitoring, f"Named{kind}", endpoint_name="scoring", monitoring_type=kind)
    b.endpoint(serving, "NamedPrefix", model="churn", tier="low", name="scoring-2-x")
    for kind in ("DataQuality", "ModelQuality"):
        b.schedule(monitoring, f"Prefix{kind}", endpoint_name="scoring-2", monitoring_type=kind)
    # the schedule's type comes from the job definition it names
    b.endpoint(serving, "TypeFromJob", model="churn", tier="low", name="typed")
    b.data_quality_job(monitoring, "DqJob", name="typed-dq")
    b.schedule(
        monitoring,
        "TypedDq",
        endpoint_name="typed",
        monitoring_type=None,
        job_definition_name="typed-dq",
    )
    b.schedule(monitoring, "TypedMq", endpoint_name="typed", monitoring_type="ModelQuality")
    # ungoverned endpoint: no governance:model tag
    b.endpoint(serving, "Ungoverned", model=None)

    # Governed by wiring: endpoints serving a version of the fraud group's package
    fraud = b.package_arn("fraud", 3)
    served = b.served_endpoint(serving, "Served", package=fraud, model="fraud")
    b.monitors(monitoring, "Served", served, *ALL_FOUR, model="fraud")
    untagged = b.served_endpoint(serving, "Untagged", package=fraud, model=None)
    b.monitors(monitoring, "Untagged", untagged, "DataQuality", "ModelQuality")
    b.served_endpoint(serving, "Mistagged", package=fraud, model="churn")
    for job_id, target, model in (("ServedJob", served, "fraud"), ("UntaggedJob", untagged, None)):
        b.data_quality_job(monitoring, job_id, endpoint_name=target.attr_endpoint_name, model=model)
    # A package of a group the app does not govern
    b.served_endpoint(serving, "Foreign", package=b.package_arn("elsewhere"), model=None)

    b.endpoint_config(serving, "NoSampling", sampling=0)
    b.schedule(
        monitoring, "Stopped", endpoint_name="x", monitoring_type="DataQuality", status="Stopped"
    )
    b.schedule(
        monitoring,
        "Scheduled",
        endpoint_name="x",
        monitoring_type="DataQuality",
        status="Scheduled",
    )

    # When
    return b.run_pack(app)


CASES = [
    ("MDL1", "Serving/Model", "Serving/OpenModel"),
    ("MDL2", "Serving/Model", "Serving/PublicModel"),
    ("EPC1", "Serving/Config", "Serving/NoCapture"),
    ("EPC1", "Serving/Config", "Serving/PlainCapture"),
    ("EPC1", "Serving/Config", "Serving/InputOnly"),
    ("EPC1", "Serving/Config", "Serving/CaptureOff"),
    ("EPC2", "Serving/Config", "Serving/NoKey"),
    ("EPC2", "Serving/NvmeNoKey", "Serving/NoKey"),
    ("EP1", "Serving/HighRisk", "Serving/HighRiskPartial"),
    ("EP1", "Serving/LowRisk", "Serving/LowRiskPartial"),
    ("EP1", "Serving/LowRisk", "Serving/TierFromGroup"),
    ("EP1", "Serving/LowRisk", "Serving/UnknownTier"),
    ("EP1", "Serving/Named", "Serving/NamedPrefix"),
    ("EP1", "Serving/TypeFromJob", "Serving/HighRiskPartial"),
    ("EP1", "Serving/Ungoverned", "Serving/HighRiskPartial"),
    # An endpoint that lost its tag is still governed (high risk: its group's tier)
    ("EP1", "Serving/ServedEndpoint", "Serving/UntaggedEndpoint"),
    ("EP1", "Serving/ForeignEndpoint", "Serving/UntaggedEndpoint"),
    ("EPC3", "Serving/Config", "Serving/NoSampling"),
    ("MS1", "Monitoring/Scheduled", "Monitoring/Stopped"),
    ("TAG1", "Serving/ServedModel", "Serving/UntaggedModel"),
    ("TAG1", "Serving/ServedConfig", "Serving/UntaggedConfig"),
    ("TAG1", "Serving/ServedEndpoint", "Serving/UntaggedEndpoint"),
    ("TAG1", "Monitoring/ServedDataQuality", "Monitoring/UntaggedDataQuality"),
    ("TAG1", "Serving/ForeignEndpoint", "Serving/MistaggedEndpoint"),
    ("TAG1", "Monitoring/ServedJob", "Monitoring/UntaggedJob"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_no_undecidable_findings_for_literal_values(findings: b.Findings) -> None:
    assert [rule for rule in findings if rule.endswith("[Undecidable]")] == []
