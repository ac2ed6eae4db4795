"""The governed training pipeline's definition, built offline at synth by the sagemaker SDK.

Steps (``sagemaker.mlops.workflow``), in order:

1. ``DataQualityBaseline``: the training data's data-quality baseline, in the form the
   environment's monitoring engine reads, under ``baselines/<model>/<execution id>/``:
   - Model Monitor engine: a ``QualityCheckStep`` (Model Monitor's analyzer) writing
     ``statistics.json`` and ``constraints.json`` (``data-quality/``);
   - replacement engine (Evidently in processing jobs): a ``ProcessingStep`` running
     ``scripts/reference_snapshot.py`` that writes ``reference/{reference.csv,summary.json}``
     (:mod:`governance.contracts.reference_data`). Model Monitor's analyzer is not used for it.
2. ``PreTrainingBias``: ``ClarifyCheckStep`` with ``DataBiasCheckConfig``: the label, favourable
   label value, facet and facet value are the model's ``bias`` section (the values the approval
   gate's policy checks), under ``baselines/<model>/<execution id>/pre-training-bias/``.
3. ``Train``: ``TrainingStep``; KMS on the volume and the output, the isolated subnets and the
   jobs security group, network isolation, inter-container encryption, a stopping condition, the
   image resolved by the SDK for the region (or the configured one). Output under ``models/``.
4. ``CreateModel``: the trained model (``ModelStep`` of ``ModelBuilder.build()``), isolated.
5. ``PredictHeldOut``: ``TransformStep``: predictions for the held-out data, joined with its label.
6. ``Evaluate``: ``ProcessingStep`` running ``scripts/evaluate.py``: Model Monitor's model-quality
   ``statistics``-format ``evaluation.json`` (what the gate reads as
   ``ModelMetrics.ModelQuality.Statistics``) and model-quality ``constraints.json``.
7. ``QualityGate``: ``ConditionStep`` on the configured metric (``JsonGet`` of evaluation.json);
   below the floor (above it for an error metric) ``QualityBelowFloor`` (``FailStep``) says why
   and nothing after it runs, so nothing is registered.
8. ``PostTrainingBias`` and ``Explainability``: ``ClarifyCheckStep`` with ``ModelBiasCheckConfig``
   and ``ModelExplainabilityCheckConfig`` (SHAP with the configured baseline) on the created model.
9. ``Register``: ``ModelStep`` of ``ModelBuilder.register()``: ``PendingManualApproval``,
   ``ModelMetrics`` and ``DriftCheckBaselines`` from the steps' properties,
   ``CustomerMetadataProperties`` (owner, risk tier, data classification, source revision) and
   ``MetadataProperties`` (``ProjectId``: the pipeline execution id; ``GeneratedBy``: the
   pipeline execution ARN, which the audit ledger records), and the model card by reference
   (``ModelCard``: the card's name is recorded in
   ``CustomerMetadataProperties`` because CreateModelPackage's ``ModelCard`` member carries card
   *content*, not a reference to an existing card).

Every deploy-time value (bucket, key, roles, subnets, security group) enters the SDK as a
placeholder of the right form and is swapped for the CDK token in the JSON text afterwards; the
S3 objects the SDK would upload (Clarify analysis configs, step code) are captured instead and
published with the definition, content-addressed under ``pipelines/<pipeline>/files/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from cdk_constructs import botocore_data
from cdk_constructs.pipelines.contract import DEFINITIONS_PREFIX

SCRIPTS = Path(__file__).parent / "scripts"
EngineKind = Literal["model-monitor", "evidently"]
ProblemKind = Literal["BinaryClassification", "MulticlassClassification", "Regression"]

# Step names: the report, the rules and the tests find steps by them.
DATA_QUALITY_STEP = "DataQualityBaseline"
PRE_TRAINING_BIAS_STEP = "PreTrainingBias"
TRAIN_STEP = "Train"
CREATE_MODEL_STEP = "CreateModel"
PREDICT_STEP = "PredictHeldOut"
EVALUATE_STEP = "Evaluate"
QUALITY_GATE_STEP = "QualityGate"
QUALITY_FAIL_STEP = "QualityBelowFloor"
POST_TRAINING_BIAS_STEP = "PostTrainingBias"
EXPLAINABILITY_STEP = "Explainability"
REGISTER_STEP = "Register"

# CustomerMetadataProperties keys of a registered version (CreateModelPackage: keys 1-128 and
# values 1-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]).
METADATA_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "owner": "governance:owner",
        "risk_tier": "governance:risk-tier",
        "data_classification": "governance:data-classification",
        "source_revision": "governance:source-revision",
        "model_card": "governance:model-card",
        "pipeline_execution": "governance:pipeline-execution",
    }
)
SOURCE_REVISION_PARAMETER = "SourceRevision"
# What the violations handler passes when it starts a retraining execution
# (governance.logic.monitoring.retraining_request); SageMaker refuses parameters a pipeline does
# not declare, so each is declared, empty by default, and kept with the execution.
TRIGGER_PARAMETERS = (
    "TriggerSource",
    "TriggerMonitorType",
    "TriggerProcessingJobArn",
    "TriggerReportUri",
)

_METRICS_KEY = {
    "BinaryClassification": "binary_classification_metrics",
    "MulticlassClassification": "multiclass_classification_metrics",
    "Regression": "regression_metrics",
}
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"})

# Placeholders of the right form for the SDK's own checks; replaced by the CDK tokens.
_ACCOUNT = "000000000000"
_PLACEHOLDERS = {
    "bucket": "governance-placeholder-bucket",
    "key": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-00000000c0de",
    "training_role": f"arn:aws:iam::{_ACCOUNT}:role/governance-placeholder-training",
    "processing_role": f"arn:aws:iam::{_ACCOUNT}:role/governance-placeholder-processing",
    "security_group": "sg-0000000000000c0de",
}
_SUBNET_PLACEHOLDER = "subnet-00000000000000c0{index}"


@dataclass(frozen=True)
class BiasFacet:
    label_value: str | int | float
    facet: str
    facet_value: str | int | float


@dataclass(frozen=True)
class DeployTime:
    """Values CloudFormation knows (tokens in a models stack; literals in tests)."""

    bucket_name: str
    key_arn: str
    training_role_arn: str
    processing_role_arn: str
    subnet_ids: Sequence[str]
    security_group_id: str


@dataclass(frozen=True)
class TrainingPipelineSpec:
    """Everything the definition depends on, as plain values (the stack maps config to it)."""

    pipeline_name: str
    model: str
    region: str
    problem_type: ProblemKind
    columns: Sequence[str]
    """In file order: the label first, then the features (no header row)."""
    column_kinds: Sequence[str]
    """Per column: numerical, categorical, text or datetime."""
    label: str
    train_data_key: str
    validation_data_key: str
    image_uri: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    processing_instance_type: str
    hyperparameters: Mapping[str, str]
    quality_metric: str
    quality_floor: float
    engine: EngineKind
    owner: str
    risk_tier: str
    data_classification: str
    model_card_name: str
    source_revision: str
    bias: BiasFacet | None = None
    shap_baseline_uri: str | None = None
    shap_num_samples: int = 100
    shap_agg_method: str = "mean_abs"
    probability_threshold: float = 0.5
    version_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Tags of every registered version and created model (governance:model, owner,
    managed-by): the access model and the approval gate find governed resources by them."""


@dataclass(frozen=True)
class BuiltDefinition:
    """The SDK's definition (tokens in place of placeholders) and the files it refers to."""

    json_text: str
    files: Mapping[str, str]
    """Key under the artifacts bucket -> text (Clarify analysis configs, step scripts)."""


class _CapturingSession:
    """Mixin for the SDK's PipelineSession: uploads are recorded, never sent."""

    uploads: dict[str, bytes]

    def default_bucket(self) -> str:
        # The SDK would look the bucket up (and create it); the real one is a deploy-time value.
        return _PLACEHOLDERS["bucket"]

    def upload_data(
        self,
        path: str,
        bucket: str | None = None,
        key_prefix: str = "data",
        callback: Any = None,
        extra_args: Any = None,
    ) -> str:
        del callback, extra_args
        source = Path(path)
        bucket = bucket or _PLACEHOLDERS["bucket"]
        if source.is_dir():
            for file in sorted(source.rglob("*")):
                if file.is_file():
                    key = f"{key_prefix}/{file.relative_to(source)}"
                    self.uploads[f"s3://{bucket}/{key}"] = file.read_bytes()
            return f"s3://{bucket}/{key_prefix}"
        key = f"{key_prefix}/{source.name}"
        self.uploads[f"s3://{bucket}/{key}"] = source.read_bytes()
        return f"s3://{bucket}/{key}"

    def upload_string_as_file_body(
        self, body: str, bucket: str, key: str, kms_key: str | None = None
    ) -> str:
        del kms_key
        uri = f"s3://{bucket}/{key}"
        self.uploads[uri] = body.encode()
        return uri


@contextmanager
def _offline_sdk(region: str) -> Iterator[None]:
    """The SDK builds definitions without AWS: no role simulation (an IAM call), and a region
    for the boto3 clients some SDK modules create when imported (never called here)."""
    saved = {
        name: os.environ.get(name) for name in ("SAGEMAKER_VALIDATE_ROLE", "AWS_DEFAULT_REGION")
    }
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    # The SDK logs its progress at INFO/DEBUG and configures the root logger when imported;
    # synth output stays the app's own: nothing below WARNING, root handlers as they were.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_definition(spec: TrainingPipelineSpec, deploy: DeployTime) -> BuiltDefinition:
    """Build the pipeline with the SDK; swap placeholders for ``deploy``'s values."""
    text, uploads = _cached_build(spec)
    files_prefix = f"{DEFINITIONS_PREFIX}{spec.pipeline_name}/files/"
    renamed: dict[str, str] = {}
    files: dict[str, str] = {}
    for uri, body in sorted(uploads.items()):
        if uri not in text:
            continue  # uploaded by the SDK but never read by a step (e.g. monitoring configs)
        # The SDK names uploads after the time; content addresses keep the definition stable.
        digest = hashlib.sha256(body).hexdigest()[:16]
        key = f"{files_prefix}{digest}/{uri.rsplit('/', 1)[1]}"
        renamed[uri] = f"s3://{_PLACEHOLDERS['bucket']}/{key}"
        files[key] = body.decode()
    for old, new in sorted(renamed.items(), key=lambda item: -len(item[0])):
        text = text.replace(old, new)
        # Directory uploads are referred to by their prefix.
    swaps = {
        _PLACEHOLDERS["bucket"]: deploy.bucket_name,
        _PLACEHOLDERS["key"]: deploy.key_arn,
        _PLACEHOLDERS["training_role"]: deploy.training_role_arn,
        _PLACEHOLDERS["processing_role"]: deploy.processing_role_arn,
        _PLACEHOLDERS["security_group"]: deploy.security_group_id,
    }
    subnets = _subnet_placeholders(len(deploy.subnet_ids))
    swaps.update(dict(zip(subnets, deploy.subnet_ids, strict=True)))

    def swap(value: str) -> str:
        for placeholder, actual in swaps.items():
            value = value.replace(placeholder, actual)
        return value

    return BuiltDefinition(
        json_text=swap(text), files={key: swap(body) for key, body in files.items()}
    )


_BUILT: dict[str, tuple[str, dict[str, bytes]]] = {}


def _cached_build(spec: TrainingPipelineSpec) -> tuple[str, dict[str, bytes]]:
    # One SDK build per spec and process: tests and multi-environment apps synthesize the same
    # pipeline many times, and each build costs seconds.
    key = repr(spec)
    if key not in _BUILT:
        # The SDK opens a botocore session per helper: one parse of botocore's data per process.
        with _offline_sdk(spec.region), botocore_data.shared_loaders():
            _BUILT[key] = _build(spec)
    text, uploads = _BUILT[key]
    return text, dict(uploads)


def placeholder_deploy_time(subnet_count: int = 2) -> DeployTime:
    """The placeholders themselves (for checking the SDK's output before any swap)."""
    return DeployTime(
        bucket_name=_PLACEHOLDERS["bucket"],
        key_arn=_PLACEHOLDERS["key"],
        training_role_arn=_PLACEHOLDERS["training_role"],
        processing_role_arn=_PLACEHOLDERS["processing_role"],
        subnet_ids=_subnet_placeholders(subnet_count),
        security_group_id=_PLACEHOLDERS["security_group"],
    )


def _subnet_placeholders(count: int) -> list[str]:
    return [_SUBNET_PLACEHOLDER.format(index=index) for index in range(count)]


def _build(spec: TrainingPipelineSpec) -> tuple[str, dict[str, bytes]]:  # noqa: PLR0915
    from sagemaker.core import image_uris
    from sagemaker.core.clarify import (
        BiasConfig,
        DataConfig,
        ModelConfig,
        ModelPredictedLabelConfig,
        SHAPConfig,
    )
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.metadata_properties import MetadataProperties
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        Networking,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.core.transformer import Transformer
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        FailStep,
        Pipeline,
        PipelineExperimentConfig,
        ProcessingStep,
        TrainingStep,
        TransformStep,
    )
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.clarify_check_step import (
        ClarifyCheckStep,
        DataBiasCheckConfig,
        ModelBiasCheckConfig,
        ModelExplainabilityCheckConfig,
    )
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.quality_check_step import (
        DataQualityCheckConfig,
        QualityCheckStep,
    )
    from sagemaker.serve.model_builder import ModelBuilder

    class Session(_CapturingSession, PipelineSession):  # type: ignore[misc]
        pass

    import boto3

    # A session for the region only: nothing is ever called with it (no credentials needed).
    session = Session(
        boto_session=boto3.Session(region_name=spec.region),
        default_bucket=_PLACEHOLDERS["bucket"],
    )
    session.uploads = {}
    bucket = f"s3://{_PLACEHOLDERS['bucket']}"
    key = _PLACEHOLDERS["key"]
    subnets = _subnet_placeholders(2)
    group = _PLACEHOLDERS["security_group"]
    baselines = Join(
        on="/",
        values=[f"{bucket}/baselines/{spec.model}", ExecutionVariables.PIPELINE_EXECUTION_ID],
    )

    def under_baselines(*parts: str) -> Join:
        return Join(on="/", values=[baselines, *parts])

    source_revision = ParameterString(SOURCE_REVISION_PARAMETER, default_value=spec.source_revision)
    triggers = [ParameterString(name, default_value="on-demand") for name in TRIGGER_PARAMETERS]

    class RequestNetworkConfig(dict, NetworkConfig):  # type: ignore[type-arg, misc]
        """A NetworkConfig that is also its own request dict: the SDK's check steps put the
        object itself into CreateProcessingJob's NetworkConfig (sagemaker-mlops 1.27,
        _check_job_request._build_check_job_request), where a dict belongs."""

        def __init__(self, **kwargs: Any) -> None:
            NetworkConfig.__init__(self, **kwargs)
            dict.__init__(self, NetworkConfig._to_request_dict(self))

    network = RequestNetworkConfig(
        enable_network_isolation=True,
        encrypt_inter_container_traffic=True,
        security_group_ids=[group],
        subnets=subnets,
    )
    # Clarify's model bias and explainability jobs call a shadow endpoint of the model, so their
    # network isolation must be off (SageMaker developer guide, clarify-vpc); they still run in
    # the isolated subnets, whose only routes lead to the VPC endpoints.
    shadow_network = RequestNetworkConfig(
        enable_network_isolation=False,
        encrypt_inter_container_traffic=True,
        security_group_ids=[group],
        subnets=subnets,
    )

    def check_job_config(network_config: Any) -> Any:
        return CheckJobConfig(
            role=_PLACEHOLDERS["processing_role"],
            instance_count=1,
            instance_type=spec.processing_instance_type,
            volume_kms_key=key,
            output_kms_key=key,
            max_runtime_in_seconds=spec.max_runtime_seconds,
            base_job_name=f"{spec.model}-check",
            sagemaker_session=session,
            network_config=network_config,
        )

    check_job = check_job_config(network)
    shadow_check_job = check_job_config(shadow_network)
    sklearn_image = image_uris.retrieve("sklearn", region=spec.region, version="1.2-1")

    def processor(name: str) -> Any:
        return ScriptProcessor(
            role=_PLACEHOLDERS["processing_role"],
            image_uri=sklearn_image,
            command=["python3"],
            instance_count=1,
            instance_type=spec.processing_instance_type,
            volume_kms_key=key,
            output_kms_key=key,
            max_runtime_in_seconds=spec.max_runtime_seconds,
            base_job_name=f"{spec.model}-{name}",
            sagemaker_session=session,
            network_config=network,
        )

    train_uri = f"{bucket}/{spec.train_data_key}"
    validation_uri = f"{bucket}/{spec.validation_data_key}"
    steps: list[Any] = []

    # 1. Data-quality baseline, in the engine's form.
    if spec.engine == "model-monitor":
        data_quality: Any = QualityCheckStep(
            name=DATA_QUALITY_STEP,
            quality_check_config=DataQualityCheckConfig(
                baseline_dataset=train_uri,
                dataset_format=DatasetFormat.csv(header=False),
                output_s3_uri=under_baselines("data-quality"),
            ),
            check_job_config=check_job,
            skip_check=True,
            register_new_baseline=True,
            model_package_group_name=spec.model,
        )
    else:
        snapshot = processor("reference")
        data_quality = ProcessingStep(
            name=DATA_QUALITY_STEP,
            step_args=snapshot.run(
                code=str(SCRIPTS / "reference_snapshot.py"),
                inputs=[
                    ProcessingInput(
                        input_name="train",
                        s3_input={
                            "s3_uri": train_uri,
                            "local_path": "/opt/ml/processing/train",
                            "s3_data_type": "S3Prefix",
                            "s3_input_mode": "File",
                        },
                    )
                ],
                outputs=[
                    ProcessingOutput(
                        output_name="reference",
                        s3_output={
                            "s3_uri": under_baselines("reference"),
                            "local_path": "/opt/ml/processing/reference",
                            "s3_upload_mode": "EndOfJob",
                        },
                    )
                ],
                arguments=[
                    "--model",
                    spec.model,
                    "--execution-id",
                    ExecutionVariables.PIPELINE_EXECUTION_ID,
                    "--columns",
                    ",".join(spec.columns),
                    "--kinds",
                    ",".join(spec.column_kinds),
                    "--label",
                    spec.label,
                ],
            ),
        )
    steps.append(data_quality)

    # 2. Pre-training bias with the policy's label and facet values.
    def data_config(output: str, dataset: str = train_uri) -> Any:
        return DataConfig(
            s3_data_input_path=dataset,
            s3_output_path=under_baselines(output),
            s3_analysis_config_output_path=f"{bucket}/clarify-configs/{output}",
            label=spec.label,
            headers=list(spec.columns),
            dataset_type="text/csv",
        )

    bias_config = None
    if spec.bias is not None:
        bias_config = BiasConfig(
            label_values_or_threshold=[spec.bias.label_value],
            facet_name=spec.bias.facet,
            facet_values_or_threshold=[spec.bias.facet_value],
        )
        steps.append(
            ClarifyCheckStep(
                name=PRE_TRAINING_BIAS_STEP,
                clarify_check_config=DataBiasCheckConfig(
                    data_config=data_config("pre-training-bias"), data_bias_config=bias_config
                ),
                check_job_config=check_job,
                skip_check=True,
                register_new_baseline=True,
                model_package_group_name=spec.model,
            )
        )

    # 3. Training, hardened.
    from sagemaker.train.model_trainer import ModelTrainer

    trainer = ModelTrainer(
        sagemaker_session=session,
        role=_PLACEHOLDERS["training_role"],
        training_image=spec.image_uri,
        base_job_name=f"{spec.model}-train",
        compute=Compute(
            instance_type=spec.instance_type,
            instance_count=spec.instance_count,
            volume_size_in_gb=spec.volume_size_gb,
            volume_kms_key_id=key,
        ),
        networking=Networking(
            security_group_ids=[group],
            subnets=subnets,
            enable_network_isolation=True,
            enable_inter_container_traffic_encryption=True,
        ),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=spec.max_runtime_seconds),
        output_data_config=OutputDataConfig(
            s3_output_path=f"{bucket}/models/{spec.model}/", kms_key_id=key
        ),
        hyperparameters=dict(spec.hyperparameters),
    )
    train = TrainingStep(
        name=TRAIN_STEP,
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name="train", data_source=train_uri, content_type="text/csv"),
                InputData(
                    channel_name="validation", data_source=validation_uri, content_type="text/csv"
                ),
            ]
        ),
        depends_on=[step.name for step in steps],
    )
    steps.append(train)
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    # 4. The trained model, isolated like the job.
    builder = ModelBuilder(
        image_uri=spec.image_uri,
        s3_model_data_url=model_data,
        role_arn=_PLACEHOLDERS["training_role"],
        sagemaker_session=session,
        network=Networking(
            security_group_ids=[group], subnets=subnets, enable_network_isolation=True
        ),
    )
    create_model = ModelStep(
        name=CREATE_MODEL_STEP,
        step_args=builder.build(
            tags=[{"Key": k, "Value": v} for k, v in sorted(spec.version_tags.items())]
        ),
    )
    steps.append(create_model)
    model_name = create_model.properties.ModelName

    # 5. Predictions for the held-out data, each joined with its label.
    transformer = Transformer(
        model_name=model_name,
        instance_count=1,
        instance_type=spec.processing_instance_type,
        output_path=under_baselines("predictions"),
        output_kms_key=key,
        volume_kms_key=key,
        accept="text/csv",
        assemble_with="Line",
        base_transform_job_name=f"{spec.model}-predict",
        sagemaker_session=session,
    )
    predict = TransformStep(
        name=PREDICT_STEP,
        step_args=transformer.transform(
            data=validation_uri,
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
    )
    steps.append(predict)

    # 6. Evaluation in Model Monitor's model-quality formats.
    evaluation_file = PropertyFile(
        name="Evaluation", output_name="evaluation", path="evaluation.json"
    )
    evaluate = ProcessingStep(
        name=EVALUATE_STEP,
        step_args=processor("evaluate").run(
            code=str(SCRIPTS / "evaluate.py"),
            inputs=[
                ProcessingInput(
                    input_name="predictions",
                    s3_input={
                        "s3_uri": predict.properties.TransformOutput.S3OutputPath,
                        "local_path": "/opt/ml/processing/predictions",
                        "s3_data_type": "S3Prefix",
                        "s3_input_mode": "File",
                    },
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output={
                        "s3_uri": under_baselines("model-quality"),
                        "local_path": "/opt/ml/processing/evaluation",
                        "s3_upload_mode": "EndOfJob",
                    },
                )
            ],
            arguments=[
                "--problem-type",
                spec.problem_type,
                "--metric",
                spec.quality_metric,
                "--floor",
                str(spec.quality_floor),
                "--threshold",
                str(spec.probability_threshold),
            ],
        ),
        property_files=[evaluation_file],
    )
    steps.append(evaluate)
    evaluation_uri = under_baselines("model-quality", "evaluation.json")
    quality_constraints_uri = under_baselines("model-quality", "constraints.json")

    # 8. Post-training bias and explainability on the created model.
    clarify_model = ModelConfig(
        model_name=model_name,
        instance_type=spec.processing_instance_type,
        instance_count=1,
        content_type="text/csv",
        accept_type="text/csv",
    )
    after_gate: list[Any] = []
    post_bias = None
    if bias_config is not None:
        post_bias = ClarifyCheckStep(
            name=POST_TRAINING_BIAS_STEP,
            clarify_check_config=ModelBiasCheckConfig(
                data_config=data_config("post-training-bias", validation_uri),
                data_bias_config=bias_config,
                model_config=clarify_model,
                model_predicted_label_config=ModelPredictedLabelConfig(
                    probability_threshold=spec.probability_threshold
                )
                if spec.problem_type == "BinaryClassification"
                else ModelPredictedLabelConfig(),
            ),
            check_job_config=shadow_check_job,
            skip_check=True,
            register_new_baseline=True,
            model_package_group_name=spec.model,
        )
        after_gate.append(post_bias)
    explainability = ClarifyCheckStep(
        name=EXPLAINABILITY_STEP,
        clarify_check_config=ModelExplainabilityCheckConfig(
            data_config=data_config("explainability", validation_uri),
            model_config=clarify_model,
            explainability_config=SHAPConfig(
                baseline=spec.shap_baseline_uri,
                num_samples=spec.shap_num_samples,
                agg_method=spec.shap_agg_method,
                num_clusters=None if spec.shap_baseline_uri else 1,
            ),
        ),
        check_job_config=shadow_check_job,
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=spec.model,
    )
    after_gate.append(explainability)

    # 9. Registration, PendingManualApproval, with evidence taken from step properties.
    def metrics(uri: Any) -> Any:
        return MetricsSource(content_type="application/json", s3_uri=uri)

    pre_bias_step = (
        next(s for s in steps if s.name == PRE_TRAINING_BIAS_STEP) if post_bias else None
    )
    model_metrics = ModelMetrics(
        model_statistics=metrics(evaluation_uri),
        model_constraints=metrics(quality_constraints_uri),
        bias_pre_training=metrics(pre_bias_step.properties.CalculatedBaselineConstraints)
        if pre_bias_step is not None
        else None,
        bias_post_training=metrics(post_bias.properties.CalculatedBaselineConstraints)
        if post_bias is not None
        else None,
        explainability=metrics(explainability.properties.CalculatedBaselineConstraints),
    )
    if spec.engine == "model-monitor":
        data_statistics = metrics(data_quality.properties.CalculatedBaselineStatistics)
        data_constraints: Any = metrics(data_quality.properties.CalculatedBaselineConstraints)
    else:
        data_statistics = metrics(under_baselines("reference", "summary.json"))
        data_constraints = None
    drift = DriftCheckBaselines(
        model_data_statistics=data_statistics,
        model_data_constraints=data_constraints,
        model_constraints=metrics(quality_constraints_uri),
        bias_pre_training_constraints=metrics(
            pre_bias_step.properties.BaselineUsedForDriftCheckConstraints
        )
        if pre_bias_step is not None
        else None,
        bias_post_training_constraints=metrics(
            post_bias.properties.BaselineUsedForDriftCheckConstraints
        )
        if post_bias is not None
        else None,
        explainability_constraints=metrics(
            explainability.properties.BaselineUsedForDriftCheckConstraints
        ),
    )
    register = ModelStep(
        name=REGISTER_STEP,
        step_args=ModelBuilder(
            image_uri=spec.image_uri,
            s3_model_data_url=model_data,
            role_arn=_PLACEHOLDERS["training_role"],
            sagemaker_session=session,
        ).register(
            model_package_group_name=spec.model,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=[spec.processing_instance_type],
            transform_instances=[spec.processing_instance_type],
            approval_status="PendingManualApproval",
            model_metrics=model_metrics,
            drift_check_baselines=drift,
            metadata_properties=MetadataProperties(
                project_id=ExecutionVariables.PIPELINE_EXECUTION_ID,
                generated_by=ExecutionVariables.PIPELINE_EXECUTION_ARN,
            ),
            customer_metadata_properties={
                METADATA_KEYS["owner"]: spec.owner,
                METADATA_KEYS["risk_tier"]: spec.risk_tier,
                METADATA_KEYS["data_classification"]: spec.data_classification,
                METADATA_KEYS["source_revision"]: source_revision,
                METADATA_KEYS["model_card"]: spec.model_card_name,
                METADATA_KEYS["pipeline_execution"]: ExecutionVariables.PIPELINE_EXECUTION_ARN,
            },
        ),
        depends_on=[step.name for step in after_gate],
    )
    # ModelBuilder.register() takes no tags (sagemaker-serve 1.27), but versions carry no tags of
    # their own unless registration sets them, and the access model and the approval gate find a
    # governed version by them (cdk_constructs.access.governed_version).
    register._register_model_args["Tags"] = [
        {"Key": key, "Value": value} for key, value in sorted(spec.version_tags.items())
    ]
    after_gate.append(register)

    # 7. The quality gate: nothing after it runs below the floor.
    from sagemaker.mlops.workflow import ConditionStep

    value = JsonGet(
        step_name=evaluate.name,
        property_file=evaluation_file,
        json_path=f"{_METRICS_KEY[spec.problem_type]}.{spec.quality_metric}.value",
    )
    lower_is_better = spec.quality_metric in LOWER_IS_BETTER
    condition = (
        ConditionLessThanOrEqualTo(left=value, right=spec.quality_floor)
        if lower_is_better
        else ConditionGreaterThanOrEqualTo(left=value, right=spec.quality_floor)
    )
    bound = "at most" if lower_is_better else "at least"
    fail = FailStep(
        name=QUALITY_FAIL_STEP,
        error_message=Join(
            on=" ",
            values=[
                f"Quality check failed: {spec.quality_metric} on the held-out data is",
                value,
                f"but must be {bound} {spec.quality_floor:g}; nothing was registered.",
            ],
        ),
    )
    gate = ConditionStep(
        name=QUALITY_GATE_STEP,
        conditions=[condition],
        if_steps=after_gate,
        else_steps=[fail],
    )
    steps.append(gate)

    pipeline = Pipeline(
        name=spec.pipeline_name,
        parameters=[source_revision, *triggers],
        steps=steps,
        sagemaker_session=session,
        pipeline_experiment_config=PipelineExperimentConfig(
            ExecutionVariables.PIPELINE_NAME, ExecutionVariables.PIPELINE_EXECUTION_ID
        ),
    )
    text = pipeline.definition()
    # Canonical JSON: one definition per input, whatever the SDK's dict order.
    return json.dumps(json.loads(text), sort_keys=True, indent=1), dict(session.uploads)


def step_summary(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step, nested ones included, with its type (for the report and the rules)."""
    found: list[dict[str, Any]] = []

    def walk(steps: Sequence[Mapping[str, Any]]) -> None:
        for step in steps:
            found.append(dict(step))
            arguments = step.get("Arguments", {})
            if isinstance(arguments, Mapping):
                walk(arguments.get("IfSteps", []))
                walk(arguments.get("ElseSteps", []))

    walk(definition.get("Steps", []))
    return found


def definition_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
