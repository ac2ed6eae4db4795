"""Is every job a pipeline definition starts hardened? Read from the definition JSON itself.

One pure function per step type, over the step's ``Arguments`` (the SageMaker API request the
pipeline makes): the tests, the Governance rule for ``AWS::SageMaker::Pipeline`` and the report
all use these, so the builder is never trusted. The controls, by API member:

- training (CreateTrainingJob): ``ResourceConfig.VolumeKmsKeyId``, ``OutputDataConfig.KmsKeyId``
  (``CheckpointConfig`` too, if set: its bucket is the output's), ``VpcConfig`` with subnets and
  security groups, ``EnableNetworkIsolation``, ``EnableInterContainerTrafficEncryption``,
  ``StoppingCondition.MaxRuntimeInSeconds``;
- processing, quality and Clarify checks (CreateProcessingJob): ``ClusterConfig.VolumeKmsKeyId``,
  ``ProcessingOutputConfig.KmsKeyId``, ``NetworkConfig.VpcConfig``,
  ``NetworkConfig.EnableInterContainerTrafficEncryption``, ``NetworkConfig.EnableNetworkIsolation``
  (except a Clarify model-bias or explainability check, which calls a shadow endpoint: SageMaker
  developer guide, clarify-vpc), ``StoppingCondition.MaxRuntimeInSeconds``;
- transform (CreateTransformJob): ``TransformResources.VolumeKmsKeyId``,
  ``TransformOutput.KmsKeyId`` (the network is the model's);
- model (CreateModel): ``VpcConfig``, ``EnableNetworkIsolation``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JOB_STEP_TYPES = ("Training", "Processing", "QualityCheck", "ClarifyCheck", "Transform", "Model")
SHADOW_ENDPOINT_CHECKS = ("MODEL_BIAS", "MODEL_EXPLAINABILITY")


@dataclass(frozen=True)
class StepHardening:
    name: str
    step_type: str
    controls: Mapping[str, bool]
    """Control -> met."""
    exemptions: Mapping[str, str]
    """Control -> why it does not apply to this step."""

    @property
    def problems(self) -> list[str]:
        return [f"{self.name}: {control}" for control, met in self.controls.items() if not met]


def _get(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document


def _set(document: Any, path: str) -> bool:
    value = _get(document, path)
    return value not in (None, "", [], {})


def _true(document: Any, path: str) -> bool:
    return _get(document, path) is True


def _vpc(vpc: Any) -> bool:
    return bool(_get(vpc, "Subnets")) and bool(_get(vpc, "SecurityGroupIds"))


def _training(
    args: Mapping[str, Any], _: Mapping[str, Any]
) -> tuple[dict[str, bool], dict[str, str]]:
    controls = {
        "volume encrypted with KMS (ResourceConfig.VolumeKmsKeyId)": _set(
            args, "ResourceConfig.VolumeKmsKeyId"
        ),
        "output encrypted with KMS (OutputDataConfig.KmsKeyId)": _set(
            args, "OutputDataConfig.KmsKeyId"
        ),
        "in the VPC (VpcConfig subnets and security groups)": _vpc(args.get("VpcConfig")),
        "network isolation (EnableNetworkIsolation)": _true(args, "EnableNetworkIsolation"),
        "inter-container encryption (EnableInterContainerTrafficEncryption)": _true(
            args, "EnableInterContainerTrafficEncryption"
        ),
        "stopping condition (StoppingCondition.MaxRuntimeInSeconds)": _set(
            args, "StoppingCondition.MaxRuntimeInSeconds"
        ),
    }
    if "CheckpointConfig" in args:
        # Checkpoints go to S3 with the output's key (CreateTrainingJob: CheckpointConfig has no
        # key of its own), so they need the output key set.
        controls["checkpoints under the encrypted output (CheckpointConfig.S3Uri)"] = _set(
            args, "OutputDataConfig.KmsKeyId"
        )
    return controls, {}


def _processing(
    args: Mapping[str, Any], step: Mapping[str, Any]
) -> tuple[dict[str, bool], dict[str, str]]:
    exemptions: dict[str, str] = {}
    controls = {
        "volume encrypted with KMS (ClusterConfig.VolumeKmsKeyId)": _set(
            args, "ProcessingResources.ClusterConfig.VolumeKmsKeyId"
        ),
        "output encrypted with KMS (ProcessingOutputConfig.KmsKeyId)": _set(
            args, "ProcessingOutputConfig.KmsKeyId"
        ),
        "in the VPC (NetworkConfig.VpcConfig)": _vpc(_get(args, "NetworkConfig.VpcConfig")),
        "inter-container encryption (NetworkConfig.EnableInterContainerTrafficEncryption)": _true(
            args, "NetworkConfig.EnableInterContainerTrafficEncryption"
        ),
        "stopping condition (StoppingCondition.MaxRuntimeInSeconds)": _set(
            args, "StoppingCondition.MaxRuntimeInSeconds"
        ),
    }
    isolation = "network isolation (NetworkConfig.EnableNetworkIsolation)"
    if step.get("Type") == "ClarifyCheck" and step.get("CheckType") in SHADOW_ENDPOINT_CHECKS:
        exemptions[isolation] = (
            "Clarify calls a shadow endpoint of the model, so its network isolation must be off "
            "(SageMaker developer guide, clarify-vpc); it stays in the isolated subnets"
        )
    else:
        controls[isolation] = _true(args, "NetworkConfig.EnableNetworkIsolation")
    return controls, exemptions


def _transform(
    args: Mapping[str, Any], _: Mapping[str, Any]
) -> tuple[dict[str, bool], dict[str, str]]:
    return (
        {
            "volume encrypted with KMS (TransformResources.VolumeKmsKeyId)": _set(
                args, "TransformResources.VolumeKmsKeyId"
            ),
            "output encrypted with KMS (TransformOutput.KmsKeyId)": _set(
                args, "TransformOutput.KmsKeyId"
            ),
        },
        {"network": "a transform job runs in its model's VPC with its model's isolation"},
    )


def _model(args: Mapping[str, Any], _: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, str]]:
    return (
        {
            "in the VPC (VpcConfig subnets and security groups)": _vpc(args.get("VpcConfig")),
            "network isolation (EnableNetworkIsolation)": _true(args, "EnableNetworkIsolation"),
        },
        {},
    )


_CHECKS: Mapping[
    str, Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[dict[str, bool], dict[str, str]]]
] = {
    "Training": _training,
    "Processing": _processing,
    "QualityCheck": _processing,
    "ClarifyCheck": _processing,
    "Transform": _transform,
    "Model": _model,
}


def steps(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every step, those inside condition branches included, in definition order."""

    def walk(items: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for step in items:
            yield step
            arguments = step.get("Arguments")
            if step.get("Type") == "Condition" and isinstance(arguments, Mapping):
                yield from walk(arguments.get("IfSteps", []))
                yield from walk(arguments.get("ElseSteps", []))

    yield from walk(definition.get("Steps", []))


def hardening(definition: Mapping[str, Any]) -> list[StepHardening]:
    """The hardening of every job step (training, processing, checks, transform, model)."""
    found = []
    for step in steps(definition):
        check = _CHECKS.get(str(step.get("Type")))
        arguments = step.get("Arguments")
        if check is None or not isinstance(arguments, Mapping):
            continue
        controls, exemptions = check(arguments, step)
        found.append(StepHardening(str(step["Name"]), str(step["Type"]), controls, exemptions))
    return found


def problems(definition: Mapping[str, Any]) -> list[str]:
    return [problem for step in hardening(definition) for problem in step.problems]
