"""Rules for the transform steps of batch-scoring pipelines (cdk_constructs/monitoring/batch.py).

A transform step's ``Arguments`` are the ``CreateTransformJob`` request, inside the pipeline's
inline definition (``PipelineDefinition.PipelineDefinitionBody``, a JSON string or an
``Fn::Join`` around deploy-time values). Deploy-time values count as "set"; the step's
``ModelName``, when it is a reference to an ``AWS::SageMaker::Model`` of the app, is followed to
that model, whose network isolation and VPC are the job's (CreateTransformJob has no network
settings of its own: the transform runs the model's containers as the model defines them).

Definitions kept in S3 (``GovernedPipeline``: the training pipeline's held-out evaluation
transform) are not read here: their hardening is rule PIP3's (``training/hardening.py``), and
their transform scores held-out training data, not production records, so nothing to capture.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    combine,
    configured,
    flag,
    verdict_of,
)
from cdk_constructs.compliance.rules.monitoring import has_local_storage, vpc_verdict
from cdk_constructs.compliance.rules.pipelines import PIPELINE, _dig, _steps_of

MODEL = "AWS::SageMaker::Model"
_MARKER = "<deploy-time value {}>"


def transform_steps(pipeline: Resource) -> tuple[list[Mapping[str, Any]], list[Any]] | None:
    """The ``Arguments`` of each transform step of an inline definition, and the deploy-time
    parts of its text (a step value ``<deploy-time value N>`` stands for part N); ``([], [])``
    for a definition kept in S3, None when the inline definition is not readable."""
    if pipeline.get("PipelineDefinition", "PipelineDefinitionS3Location") is not None:
        return [], []
    return body_transform_steps(pipeline.get("PipelineDefinition", "PipelineDefinitionBody"))


def body_transform_steps(body: Any) -> tuple[list[Mapping[str, Any]], list[Any]] | None:
    """:func:`transform_steps` of an inline ``PipelineDefinitionBody`` (a string or an
    ``Fn::Join``)."""
    parts: list[Any] = []
    if isinstance(body, str):
        text = body
    elif isinstance(body, Mapping) and set(body) == {"Fn::Join"}:
        separator, items = body["Fn::Join"]
        if not isinstance(separator, str) or not isinstance(items, list):
            return None
        rendered = []
        for item in items:
            if isinstance(item, str):
                rendered.append(item)
            else:
                rendered.append(_MARKER.format(len(parts)))
                parts.append(item)
        text = separator.join(rendered)
    else:
        return None
    steps = _steps_of(text, "Transform")
    return None if steps is None else (steps, parts)


def _per_transform(check: Any) -> Any:
    def rule(pipeline: Resource, index: AppIndex) -> Verdict:
        found = transform_steps(pipeline)
        if found is None:
            return Verdict.UNDECIDABLE
        steps, parts = found
        if not steps:
            return Verdict.NOT_APPLICABLE
        return combine(check(step, parts, index) for step in steps)

    rule.__name__ = check.__name__
    rule.__doc__ = check.__doc__
    return rule


def transform_storage_encrypted(step: Mapping[str, Any], _parts: list[Any], _index: Any) -> Verdict:
    """TransformResources.VolumeKmsKeyId (unless NVMe) and TransformOutput.KmsKeyId are set."""
    resources = _dig(step, "TransformResources") or {}
    volume = (
        Verdict.NOT_APPLICABLE
        if has_local_storage(resources.get("InstanceType"))
        else verdict_of(configured(resources.get("VolumeKmsKeyId")))
    )
    return combine([volume, verdict_of(configured(_dig(step, "TransformOutput", "KmsKeyId")))])


def transform_captured(step: Mapping[str, Any], _parts: list[Any], _index: Any) -> Verdict:
    """DataCaptureConfig has DestinationS3Uri and KmsKeyId, and GenerateInferenceId is true."""
    capture = _dig(step, "DataCaptureConfig")
    if not isinstance(capture, Mapping):
        return Verdict.NON_COMPLIANT
    return combine(
        [
            verdict_of(configured(capture.get("DestinationS3Uri"))),
            verdict_of(configured(capture.get("KmsKeyId"))),
            verdict_of(flag(capture.get("GenerateInferenceId"))),
        ]
    )


def transform_model_isolated(step: Mapping[str, Any], parts: list[Any], index: AppIndex) -> Verdict:
    """ModelName refers to an AWS::SageMaker::Model of the app with EnableNetworkIsolation true
    and a VpcConfig with Subnets and SecurityGroupIds."""
    name = step.get("ModelName")
    part = None
    if isinstance(name, str) and name.startswith("<deploy-time value "):
        number = name.removeprefix("<deploy-time value ").removesuffix(">")
        part = parts[int(number)] if number.isdigit() and int(number) < len(parts) else None
    if not isinstance(part, Ref) or part.target_type != MODEL:
        return Verdict.UNDECIDABLE
    model = index.resolve(part)
    if model is None:
        return Verdict.UNDECIDABLE
    return combine(
        [
            verdict_of(flag(model.get("EnableNetworkIsolation"))),
            vpc_verdict(model.get("VpcConfig")),
        ]
    )


_STEPS = "Transform steps of SageMaker pipelines"
_UNDECIDABLE = (
    "The inline definition is not readable JSON, or (TST3) its ModelName is not a reference to "
    "an AWS::SageMaker::Model of the app."
)

RULES = (
    GovernanceRule(
        rule_id="TST1",
        resource_types=(PIPELINE,),
        title=f"{_STEPS} encrypt their volume and output with a KMS key",
        info="A transform step of the pipeline's inline definition has no "
        "TransformResources.VolumeKmsKeyId (and no NVMe instance storage) or no "
        "TransformOutput.KmsKeyId.",
        explanation="Batch scoring reads production records and writes their scores; the job's "
        "volume holds copies of both. A customer managed key keeps access to them reviewable.",
        undecidable=_UNDECIDABLE,
        nist_800_53=("SC-28", "SC-12"),
        check=_per_transform(transform_storage_encrypted),
    ),
    GovernanceRule(
        rule_id="TST2",
        resource_types=(PIPELINE,),
        title=f"{_STEPS} capture their inputs and outputs, encrypted, with inference ids",
        info="A transform step of the pipeline's inline definition has no DataCaptureConfig with "
        "DestinationS3Uri and KmsKeyId, or GenerateInferenceId is not true.",
        explanation="Batch scoring is monitored from what the transform job captures "
        "(CreateTransformJob DataCaptureConfig): without capture no drift or quality check can "
        "run, and without inference ids delayed labels cannot be joined to predictions.",
        undecidable=_UNDECIDABLE,
        nist_800_53=("AU-12", "SI-4", "SC-28"),
        eu_ai_act="Art. 12 (record-keeping), Art. 72 (post-market monitoring)",
        check=_per_transform(transform_captured),
    ),
    GovernanceRule(
        rule_id="TST3",
        resource_types=(PIPELINE,),
        title=f"{_STEPS} run a network-isolated model in the VPC",
        info="A transform step's ModelName refers to an AWS::SageMaker::Model without "
        "EnableNetworkIsolation true or without a VpcConfig with Subnets and SecurityGroupIds.",
        explanation="A transform job runs its model's containers with the model's network "
        "settings. Isolation keeps model code from sending the scored records anywhere; the VPC "
        "keeps the job's data path on the platform's network controls.",
        undecidable=_UNDECIDABLE,
        nist_800_53=("SC-7", "AC-4"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=_per_transform(transform_model_isolated),
    ),
)
