"""Bad YAML through the real entry point: one clear message, exit 1, nothing left behind.

Each case writes a config file with one defect and runs ``app.main()`` in-process, the way the
CDK CLI runs ``app.py``: the ``config`` context key names the file and the output folder is a
temporary directory, seeded with a previous synth's manifest and template. The test asserts
that main returns non-zero, that stderr holds exactly one message naming the YAML path (and the
value and rule where there is one), no traceback, and that no manifest or template is left that
could pass for a result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml

import app
from config import DEFAULT_CONFIG, load_config
from tests.conftest import REPO, cdk_context

EXAMPLE = REPO / "config" / "examples" / "multi-environment.yaml"
Edit = Callable[[str], str]


def replace(old: str, new: str) -> Edit:
    """Edit the YAML text: ``old`` must occur exactly once."""

    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        return text.replace(old, new)

    return edit


def mutate(change: Callable[[dict[str, Any]], None]) -> Edit:
    """Edit the parsed data and write it back as YAML (strings stay quoted)."""

    def edit(text: str) -> str:
        data = yaml.safe_load(text)
        change(data)
        return yaml.safe_dump(data, sort_keys=False)

    return edit


def setting(path: str, value: Any) -> Edit:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate(change)


@dataclass(frozen=True)
class Case:
    id: str
    edit: Edit
    path: str
    fragments: tuple[str, ...]
    base: Path = DEFAULT_CONFIG


def _one_environment(text: str) -> str:
    """The default config cut to its first environment (prod), each model served there by
    ``deployment.model_package_arn``: the one-environment form the ARN cases are about."""
    data = yaml.safe_load(text)
    prod = data["environments"][0]
    data["environments"] = [prod]
    for model in data["models"]:
        deployment = model.get("deployment")
        if deployment is None:
            continue
        served = deployment.pop("environments")[prod["name"]]
        assert set(served) == {"package_version"}, served  # nothing else to carry over
        deployment["model_package_arn"] = (
            f"arn:aws:sagemaker:{prod['region']}:{prod['account']}:model-package/"
            f"{model['name']}/{served['package_version']}"
        )
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def one_environment(edit: Edit) -> Edit:
    """``edit`` applied to the default config in its one-environment form."""
    return lambda text: edit(_one_environment(text))


def _long_schedule_name(data: dict[str, Any]) -> None:
    """prod renamed production-eu (and so in every deployment), credit-default renamed long."""
    data["environments"][0]["name"] = "production-eu"
    for model in data["models"]:
        served = model["deployment"]["environments"]
        served["production-eu"] = served.pop("prod")
    data["models"][0]["name"] = "credit-default-probability-estimator-v2"


def _second_environment_in_same_place(data: dict[str, Any]) -> None:
    data["environments"].append(dict(data["environments"][0], name="staging"))


def _batch_without_deployment(data: dict[str, Any]) -> None:
    """credit-default gets churn-propensity's batch section (its own paths) and no deployment."""
    batch = yaml.safe_load(
        yaml.safe_dump(data["models"][1]["batch"]).replace("churn-propensity", "credit-default")
    )
    data["models"][0].update(deployment=None, batch=batch)


def _legacy_arn_for_two_regions(data: dict[str, Any]) -> None:
    """A second environment elsewhere; credit-default's one ARN then cannot serve both (only
    credit-default is served: churn-propensity loses its deployment and batch scoring)."""
    data["environments"].append({"name": "dev", "account": "222233334444", "region": "us-east-1"})
    del data["models"][1]["deployment"]
    del data["models"][1]["batch"]


CASES = [
    Case(
        "organisation-name-starts-with-a-digit",
        replace("name: Example Bank", "name: 1st Example Bank"),
        "organisation.name",
        ("cannot become the stack-name prefix", "start with a letter", "'1st Example Bank'"),
    ),
    Case(
        "organisation-name-in-cyrillic",
        replace("name: Example Bank", "name: Пример Банк"),
        "organisation.name",
        ("in ASCII", "stack_prefix", "'Пример Банк'"),
    ),
    Case(
        "schedule-name-over-63-characters",
        mutate(_long_schedule_name),
        "models[0].name",
        (
            "monitoring schedule name",
            "credit-default-probability-estimator-v2-production-eu-explainability",
            "at most 63",
            "CreateMonitoringSchedule MonitoringScheduleName",
        ),
    ),
    Case(
        "team-name-breaks-the-tag-pattern",
        replace("team: credit-risk-analytics", "team: Credit Risk & Analytics"),
        "models[0].owner.team",
        ("letters, digits, spaces and the characters", "AddTags Tags[].Value", "&"),
    ),
    Case(
        "organisation-tag-value-breaks-the-tag-pattern",
        replace("compliance-scope: sr-11-7", "compliance-scope: SR 11-7 <US>"),
        "organisation.tags.compliance-scope",
        ("letters, digits, spaces and the characters", "SR 11-7 <US>"),
    ),
    Case(
        "organisation-tag-uses-a-governance-key",
        replace("cost-centre: ml-platform", "governance:model: everything"),
        "organisation.tags.governance:model",
        ("the app sets itself",),
    ),
    Case(
        "organisation-tag-uses-the-aws-prefix",
        replace("cost-centre: ml-platform", "aws:cost-centre: ml-platform"),
        "organisation.tags.aws:cost-centre",
        ("reserves",),
    ),
    Case(
        "region-without-monitor-images",
        setting("environments.0.region", "ca-west-1"),
        "environments[0].region",
        ("'ca-west-1'", "Model Monitor or Clarify images", "eu-west-1"),
    ),
    Case(
        "region-without-the-clarify-image",
        setting("environments.0.region", "il-central-1"),
        "environments[0].region",
        ("'clarify'", "credit-default bias", "il-central-1"),
    ),
    Case(
        "endpoint-instance-type-that-does-not-exist",
        replace("instance_type: ml.m5.xlarge      #", "instance_type: ml.m5.huge      #"),
        "models[0].deployment.instance_type",
        ("ProductionVariantInstanceType", "closest: ml.m5.large", "'ml.m5.huge'"),
    ),
    Case(
        "monitor-instance-type-endpoints-only",
        replace(
            "monitor_instance_type: ml.m5.xlarge   #", "monitor_instance_type: ml.t2.medium   #"
        ),
        "models[0].deployment.monitor_instance_type",
        ("ProcessingInstanceType", "CreateDataQualityJobDefinition", "'ml.t2.medium'"),
    ),
    Case(
        "unquoted-account-id",
        replace('account: "111122223333"', "account: 210987654321"),
        "environments[0].account",
        ("12 digits in quotes", 'write it as "210987654321"'),
    ),
    Case(
        "unquoted-account-id-read-as-octal",
        replace('account: "111122223333"', "account: 012345670123"),
        "environments[0].account",
        ("octal number 1402433619", 'write it as "012345670123"'),
    ),
    Case(
        "unquoted-consumer-account",
        replace('consumer_accounts: ["444455556666"]', "consumer_accounts: [444455556666]"),
        "models[0].consumer_accounts[0]",
        ('write it as "444455556666"',),
    ),
    Case(
        "account-id-of-eleven-digits",
        replace('account: "111122223333"', 'account: "11112222333"'),
        "environments[0].account",
        ("12 digits, in quotes", "'11112222333'"),
    ),
    Case(
        "duplicate-key",
        replace(
            "      instance_type: ml.m5.xlarge      #",
            "      instance_type: ml.m5.large\n      instance_type: ml.m5.xlarge      #",
        ),
        "models[0].deployment.instance_type",
        ("duplicate key", "silently keep only the last"),
    ),
    Case(
        "unknown-key-gets-a-suggestion",
        replace(
            "      instance_type: ml.m5.xlarge      #", "      instance_typ: ml.m5.xlarge      #"
        ),
        "models[0].deployment.instance_typ",
        ("is not a known key", "did you mean 'instance_type'"),
    ),
    Case(
        "unknown-top-level-key-gets-a-suggestion",
        replace("models_per_stack: 25", "model_per_stack: 25"),
        "model_per_stack",
        ("did you mean 'models_per_stack'",),
    ),
    Case(
        "model-name-with-underscore",
        replace("name: churn-propensity", "name: churn_propensity"),
        "models[1].name",
        ("lowercase letters, digits and hyphens", "2-40 characters", "'churn_propensity'"),
    ),
    Case(
        "cron-every-15-minutes",
        replace(
            'data_quality: {enabled: true, schedule: "cron(0 * ? * * *)"}',
            'data_quality: {enabled: true, schedule: "cron(0/15 * ? * * *)"}',
        ),
        "models[0].monitoring.data_quality.schedule",
        ("accepts only hourly", "cron(0 H/N ? * * *)", "model-monitor-schedule-expression"),
    ),
    Case(
        "cron-now-for-a-recurring-monitor",
        replace(
            'bias: {enabled: true, schedule: "cron(0 0 ? * * *)"}',
            'bias: {enabled: true, schedule: "NOW"}',
        ),
        "models[0].monitoring.bias.schedule",
        ("DataAnalysisStartTime", "'NOW'"),
    ),
    Case(
        "monitor-runtime-over-the-api-maximum",
        replace(
            "monitor_instance_type: ml.m5.xlarge   #",
            "monitor_max_runtime_seconds: 90000\n      monitor_instance_type: ml.m5.xlarge   #",
        ),
        "models[0].deployment.monitor_max_runtime_seconds",
        ("from 1 to 86400", "StoppingCondition.MaxRuntimeInSeconds", "90000"),
    ),
    Case(
        "retraining-pipeline-name-with-underscore",
        replace(
            "ground_truth_s3_uri: s3://example-bank-ground-truth/credit-default/",
            "ground_truth_s3_uri: s3://example-bank-ground-truth/credit-default/\n"
            "      retraining_pipeline_name: credit_default_training",
        ),
        "models[0].deployment.retraining_pipeline_name",
        ("letters, digits and hyphens", "CreatePipeline PipelineName"),
    ),
    Case(
        "description-longer-than-the-group-allows",
        setting("models.1.description", "Churn. " * 150),
        "models[1].description",
        ("characters long", "at most 1024", "ModelPackageGroupDescription"),
    ),
    Case(
        "ground-truth-not-an-s3-uri",
        replace(
            "ground_truth_s3_uri: s3://example-bank-ground-truth/churn-propensity/\n",
            "ground_truth_s3_uri: example-bank-ground-truth/churn-propensity/\n",
        ),
        "models[1].deployment.ground_truth_s3_uri",
        ("an s3:// URI of a bucket",),
    ),
    Case(
        "package-of-another-group",
        one_environment(
            replace("model-package/churn-propensity/7", "model-package/credit-default/7")
        ),
        "models[1].deployment.model_package_arn",
        ("'credit-default'", "own group 'churn-propensity'"),
    ),
    Case(
        "package-arn-malformed",
        one_environment(
            replace(
                "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-propensity/7",
                "churn-propensity:7",
            )
        ),
        "models[1].deployment.model_package_arn",
        ("a model package version ARN", "'churn-propensity:7'"),
    ),
    Case(
        "package-arn-for-another-region",
        one_environment(
            replace(
                "arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn-propensity/7",
                "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn-propensity/7",
            )
        ),
        "models[1].deployment.model_package_arn",
        ("is in region us-east-1", "environment 'prod'", "deployment.environments"),
    ),
    Case(
        "one-arn-for-two-environments",
        one_environment(mutate(_legacy_arn_for_two_regions)),
        "models[0].deployment.model_package_arn",
        ("environment 'dev'", "region eu-west-1 and account 111122223333", "package_version"),
    ),
    Case(
        "two-environments-in-one-account-and-region",
        mutate(_second_environment_in_same_place),
        "environments[2]",
        ("same account and region as 'prod'", "6 names", "model package group credit-default"),
    ),
    Case(
        "bias-evidence-without-a-bias-section",
        replace("risk_tier: low", "risk_tier: low\n    approval: {add_evidence: [bias_report]}"),
        "models[1]",
        ("requires bias_report (from approval.add_evidence)", "no 'bias' section"),
    ),
    Case(
        "bias-evidence-for-every-model",
        replace(
            "      - model_quality_metrics\n",
            "      - model_quality_metrics\n      - bias_report\n",
        ),
        "models[1]",
        ("from governance.approval.required_evidence", "governance.approval.risk_tiers"),
    ),
    Case(
        "high-risk-model-without-a-bias-section",
        mutate(lambda d: d["models"][0].pop("bias")),
        "models[0].monitoring.bias.enabled",
        ("no 'bias' section",),
    ),
    Case(
        "waiver-without-a-reason",
        replace(
            "    risk_tier: high ",
            "    approval: {waive_evidence: [explainability_report]}\n    risk_tier: high ",
        ),
        "models[0].approval.reason",
        ("is required when waive_evidence is set",),
    ),
    Case(
        "waiver-of-evidence-not-required",
        replace(
            "risk_tier: low\n",
            "risk_tier: low\n    approval: {waive_evidence: [bias_report], reason: not needed}\n",
        ),
        "models[1].approval.waive_evidence",
        ("does not require", "bias_report"),
    ),
    Case(
        "unknown-risk-tier-in-the-policy",
        replace("      medium:\n", "      mid:\n"),
        "governance.approval.risk_tiers.mid",
        ("'high', 'medium' or 'low'",),
    ),
    Case(
        "bias-monitor-on-without-a-bias-section",
        replace(
            "      bias: {enabled: false}\n      explainability: {enabled: false}",
            "      explainability: {enabled: false}",
        ),
        "models[1].monitoring.bias.enabled",
        ("no 'bias' section", "enabled: false"),
    ),
    Case(
        "regression-without-a-quality-floor",
        replace(
            "problem_type: BinaryClassification\n    intended_uses: Prioritising",
            "problem_type: Regression\n    intended_uses: Prioritising",
        ),
        "models[1].deployment.model_quality_floor",
        ("is required for Regression models",),
    ),
    Case(
        "unknown-bias-metric",
        replace("    CI: {min: -0.3, max: 0.3}", "    DPP: {min: -0.3, max: 0.3}"),
        "governance.bias_thresholds.DPP",
        ("not a Clarify bias metric", "did you mean 'DPPL'"),
    ),
    Case(
        "availability-zone-of-another-region",
        replace(
            '"111122223333"\n    region: eu-west-1\n',  # prod's
            '"111122223333"\n    region: eu-west-1\n'
            "    availability_zones: [eu-west-1a, us-east-1b]\n",
        ),
        "environments[0].availability_zones[1]",
        ("must be a zone of region eu-west-1", "'us-east-1b'"),
    ),
    Case(
        "serving-an-environment-that-does-not-exist",
        replace("        dev: {package_version: 2}\n", "        stage: {package_version: 2}\n"),
        "models[2].deployment.environments.stage",
        ("is not an environment of this config", "dev, prod"),
        base=EXAMPLE,
    ),
    Case(
        "package-version-with-ten-digits",
        replace("prod: {package_version: 9,", "prod: {package_version: 1234567890,"),
        "models[0].deployment.environments.prod.package_version",
        ("less than or equal to 999999999",),
        base=EXAMPLE,
    ),
    Case(
        "environment-sizing-with-an-unknown-instance-type",
        replace(
            "dev: {package_version: 31, instance_type: ml.m5.xlarge}",
            "dev: {package_version: 31, instance_type: ml.c5.medium}",
        ),
        "models[1].deployment.environments.dev.instance_type",
        ("ProductionVariantInstanceType", "'ml.c5.medium'"),
        base=EXAMPLE,
    ),
    Case(
        "unknown-key-in-an-environment-entry",
        replace(
            "dev: {package_version: 31, instance_type: ml.m5.xlarge}",
            "dev: {package_version: 31, instance_typ: ml.m5.xlarge}",
        ),
        "models[1].deployment.environments.dev.instance_typ",
        ("did you mean 'instance_type'", "package_version"),
        base=EXAMPLE,
    ),
    Case(
        "both-one-arn-and-per-environment-versions",
        replace(
            "      data_capture_percentage: 10\n",
            "      data_capture_percentage: 10\n      model_package_arn: "
            "arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud-detection/27\n",
        ),
        "models[1].deployment.model_package_arn",
        ("either model_package_arn", "not both"),
        base=EXAMPLE,
    ),
    Case(
        "environment-without-account-next-to-another",
        replace('    account: "222233334444"\n    region: us-east-1\n', "    region: eu-west-1\n"),
        "environments[1]",
        ("same account and region as 'dev'", "account (any), region eu-west-1"),
        base=EXAMPLE,
    ),
    Case(
        "unknown-monitoring-engine",
        setting("environments.0.monitoring_engine", "evidently-ai"),
        "environments[0].monitoring_engine",
        ("'evidently-ai'", "'model-monitor'", "'evidently'"),
    ),
    Case(
        "check-the-evidently-engine-cannot-run",
        mutate(
            lambda d: (
                d["environments"][0].update(monitoring_engine="evidently"),
                d["models"].pop(0),
                d["models"][0]["monitoring"].update(explainability={"enabled": True}),
            )
        ),
        "models[0].monitoring.explainability.enabled",
        (
            "the explainability check cannot run on the 'evidently' engine for a "
            "BinaryClassification model",
            "clarify-availability-change",
            "allowed for BinaryClassification on this engine: bias, data_quality, model_quality",
        ),
    ),
    Case(
        "bias-metric-the-evidently-engine-cannot-compute",
        mutate(
            lambda d: (
                d["environments"][0].update(monitoring_engine="evidently"),
                d["models"][0]["monitoring"].update(explainability={"enabled": False}),
                d["governance"]["bias_thresholds"].update(FT={"min": -0.2, "max": 0.2}),
            )
        ),
        "governance.bias_thresholds.FT",
        ("'FT'", "flip test", "allowed: CI, DPL", "DRR, AD, TE"),
    ),
    Case(
        "mlflow-arn-not-an-mlflow-app",
        mutate(
            lambda d: d["environments"][0].update(
                monitoring_engine="evidently",
                mlflow_tracking_arn="arn:aws:sagemaker:eu-west-1:111122223333:app/x",
            )
        ),
        "environments[0].mlflow_tracking_arn",
        ("'arn:aws:sagemaker:eu-west-1:111122223333:app/x'", "mlflow-app/<id>"),
    ),
    Case(
        "mlflow-arn-on-the-model-monitor-engine",
        setting(
            "environments.0.mlflow_tracking_arn",
            "arn:aws:sagemaker:eu-west-1:111122223333:mlflow-app/app-1",
        ),
        "environments[0]",
        ("monitoring_engine is 'model-monitor'", "only with monitoring_engine evidently"),
    ),
    Case(
        "quality-floor-the-evidently-engine-does-not-compute",
        mutate(
            lambda d: (
                d["environments"][0].update(monitoring_engine="evidently"),
                d["models"].pop(0),
                d["models"][0]["deployment"].update(
                    model_quality_floor={"metric": "f0_5", "minimum": 0.6}
                ),
            )
        ),
        "models[0].deployment.model_quality_floor.metric",
        ("'f0_5'", "computes for BinaryClassification", "auc, f1"),
    ),
    # Batch scoring (config/batch.py): the default's churn-propensity batch section, one defect.
    Case(
        "batch-without-a-capture-destination",
        mutate(lambda d: d["models"][1]["batch"].pop("capture_s3_uri")),
        "models[1].batch.capture_s3_uri",
        ("is required", "DataCaptureConfig.DestinationS3Uri", "governance:batch-output=true"),
    ),
    Case(
        "batch-cadence-the-scheduler-rejects",
        setting("models.1.batch.schedule", "cron(0 2 * * * *)"),
        "models[1].batch.schedule",
        ("'cron(0 2 * * * *)'", "exactly one of day-of-month and day-of-week", "EventBridge"),
    ),
    Case(
        "batch-cadence-without-an-interval",
        setting("models.1.batch.schedule", "cron(0 2 ? * MON *)"),
        "models[1].batch.schedule",
        ("1 to 84 hours", "seven days", "rate(N hours)"),
    ),
    Case(
        "batch-cadence-once",
        setting("models.1.batch.schedule", "at(2027-01-01T02:00:00)"),
        "models[1].batch.schedule",
        ("one-time schedule", "recurring cadence"),
    ),
    Case(
        "batch-instance-type-transform-does-not-offer",
        setting("models.1.batch.instance_type", "ml.t3.medium"),
        "models[1].batch.instance_type",
        ("'ml.t3.medium'", "CreateTransformJob", "TransformResources.InstanceType"),
    ),
    Case(
        "batch-output-inside-its-input",
        setting(
            "models.1.batch.output_s3_uri", "s3://example-bank-batch-input/churn-propensity/o/"
        ),
        "models[1].batch.output_s3_uri",
        ("lies inside input_s3_uri", "does not overlap"),
    ),
    Case(
        "batch-location-of-no-model",
        setting("models.1.batch.input_s3_uri", "s3://example-bank-batch-input/all-models/"),
        "models[1].batch.input_s3_uri",
        ("named after the model", "s3://<bucket>/.../churn-propensity/..."),
    ),
    Case(
        "batch-without-a-deployment",
        mutate(_batch_without_deployment),
        "models[0].batch",
        ("needs a deployment section",),
    ),
]


@pytest.fixture
def run_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[[Path], tuple[int, str, Path]]:
    """Run ``app.main()`` on a config file as the CLI would; return code, stderr and outdir."""
    real_app = cdk.App

    def run(config: Path) -> tuple[int, str, Path]:
        outdir = tmp_path / "cdk.out"
        outdir.mkdir()
        # What an earlier, successful synth left behind.
        (outdir / "manifest.json").write_text("{}")
        (outdir / "org-prod-foundation.template.json").write_text("{}")
        # The CLI passes -c values and the output folder to the app through its environment;
        # the jsii kernel is already running here, so hand them to the App the same way.
        context = {**cdk_context(), "config": str(config)}
        monkeypatch.setattr(cdk, "App", lambda: real_app(context=context, outdir=str(outdir)))
        monkeypatch.setenv("CDK_OUTDIR", str(outdir))
        code = app.main()
        return code, capsys.readouterr().err, outdir

    return run


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_clear_message_and_leaves_nothing(
    case: Case, run_app: Callable[[Path], tuple[int, str, Path]], tmp_path: Path
) -> None:
    # Given a config file with one defect
    config = tmp_path / "my org.yaml"
    config.write_text(case.edit(case.base.read_text(encoding="utf-8")), encoding="utf-8")
    # When the app runs on it
    code, stderr, outdir = run_app(config)
    # Then it fails with exactly one message naming the file, the field path and the rule
    assert code != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    (message,) = lines
    assert message.startswith(f"error: invalid governance config {config}: {case.path}:"), message
    for fragment in case.fragments:
        assert fragment in message, f"{fragment!r} not in {message}"
    assert "Traceback" not in stderr
    assert "String should match pattern" not in message  # rules in words, never a regex
    # And nothing that could pass for a result is left in the output folder
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))


@pytest.mark.parametrize("base", [DEFAULT_CONFIG, EXAMPLE], ids=lambda p: p.name)
def test_the_cases_start_from_valid_configs(base: Path) -> None:
    # A case proves something only if its base config passes.
    load_config(base)
