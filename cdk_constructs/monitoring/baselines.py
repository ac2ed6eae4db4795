"""The approved model package's drift-check baselines, read from the registry at deploy time.

A monitoring schedule must never point at a baseline that does not exist: a schedule created
without one fails opaquely at its first run. The baselines the registry holds for the approved
version (``DriftCheckBaselines``, written by the pipeline's QualityCheck/ClarifyCheck steps) are
therefore resolved by CloudFormation before any job definition or schedule is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from cdk_constructs.compliance.acknowledgments import acknowledge, acknowledge_in_frameworks
from cdk_constructs.monitoring.images import MONITOR_TYPES, MonitorType

BaselineFile = str
"""``constraints`` or ``statistics``."""

# DescribeModelPackage response paths of each monitor's baselines.
BASELINE_PATHS: Mapping[MonitorType, Mapping[BaselineFile, str]] = MappingProxyType(
    {
        "data_quality": {
            "constraints": "DriftCheckBaselines.ModelDataQuality.Constraints.S3Uri",
            "statistics": "DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri",
        },
        "model_quality": {
            "constraints": "DriftCheckBaselines.ModelQuality.Constraints.S3Uri",
        },
        "bias": {
            "constraints": "DriftCheckBaselines.Bias.PostTrainingConstraints.S3Uri",
        },
        "explainability": {
            "constraints": "DriftCheckBaselines.Explainability.Constraints.S3Uri",
        },
    }
)

# The provider Lambda is a CDK singleton shared by every AwsCustomResource of a stack.
PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"

ARCHITECTURE_NOTE = """\
### Baselines come from the registry, before any schedule exists

Each deployed model has a `PackageBaselines` custom resource (`AwsCustomResource`, calling
`sagemaker:DescribeModelPackage` on exactly the configured package version ARN; its IAM policy
names that ARN only). It runs on every create and on every update that changes the ARN, and
exposes the S3 URIs of the approved version's `DriftCheckBaselines`: `ModelDataQuality`
constraints and statistics, `ModelQuality` constraints, `Bias.PostTrainingConstraints` and
`Explainability` constraints - only those of the enabled monitors. The monitor job definitions
take their baseline configs from these attributes, and each `MonitoringSchedule` both references
its job definition and depends on the custom resource.

If the package lacks a baseline that an enabled monitor needs, `Fn::GetAtt` on the missing
attribute fails ("Vendor response doesn't contain ..." ) when CloudFormation creates the first
job definition that uses it; the stack rolls back before any job definition or schedule of that
model is in service. If `DescribeModelPackage` itself fails (wrong ARN, no permission), the custom
resource fails and nothing that depends on it is created. A deployment therefore never leaves a
schedule pointing at a baseline that does not exist. To fix it, register the version with
`DriftCheckBaselines` (QualityCheck/ClarifyCheck steps of the training pipeline), approve it, and
deploy again - or disable that monitor in the config.
"""


def baseline_paths(monitor_types: Iterable[MonitorType]) -> list[str]:
    """Response paths needed by ``monitor_types``, in a stable order."""
    wanted = set(monitor_types)
    unknown = wanted - set(MONITOR_TYPES)
    if unknown:
        raise ValueError(
            f"unknown monitor types {sorted(unknown)}; allowed: {', '.join(MONITOR_TYPES)}"
        )
    return [
        path
        for monitor_type in MONITOR_TYPES
        if monitor_type in wanted
        for path in BASELINE_PATHS[monitor_type].values()
    ]


class PackageBaselines(Construct):
    """Drift-check baseline URIs of one approved model package version, read at deploy time.

    Calls ``sagemaker:DescribeModelPackage`` on ``model_package_arn`` when created and whenever
    the ARN changes (the physical id is the ARN). Only the response paths of ``monitor_types``
    are returned (``outputPaths``), so the response stays under the custom-resource size limit.

    Failure behaviour: if the package has no baseline for an enabled monitor, the first resource
    reading the missing attribute (a job definition) fails with "Vendor response doesn't contain
    <path>" and the stack rolls back, so no schedule ever points at a missing baseline. Schedules
    also depend on this construct explicitly.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_arn: str,
        monitor_types: Iterable[MonitorType],
    ) -> None:
        super().__init__(scope, construct_id)
        self.model_package_arn = model_package_arn
        self.monitor_types: tuple[MonitorType, ...] = tuple(
            t for t in MONITOR_TYPES if t in set(monitor_types)
        )
        paths = baseline_paths(self.monitor_types)
        call = cr.AwsSdkCall(
            service="SageMaker",
            action="describeModelPackage",
            parameters={"ModelPackageName": model_package_arn},
            physical_resource_id=cr.PhysicalResourceId.of(model_package_arn),
            output_paths=paths or None,
        )
        self.resource = cr.AwsCustomResource(
            self,
            "Resource",
            on_create=call,
            on_update=call,
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["sagemaker:DescribeModelPackage"],
                        resources=[model_package_arn],
                    )
                ]
            ),
        )
        self._acknowledge_findings()

    def uri(self, monitor_type: MonitorType, file: BaselineFile = "constraints") -> str:
        """The S3 URI of ``monitor_type``'s baseline ``file`` (a deploy-time token)."""
        if monitor_type not in self.monitor_types:
            raise ValueError(
                f"baselines of {monitor_type!r} were not requested; requested: "
                f"{', '.join(self.monitor_types) or 'none'}"
            )
        paths = BASELINE_PATHS[monitor_type]
        if file not in paths:
            raise ValueError(
                f"{monitor_type!r} has no {file!r} baseline; allowed: {', '.join(paths)}"
            )
        return self.resource.get_response_field(paths[file])

    def _acknowledge_findings(self) -> None:
        policy = self.resource.node.try_find_child("CustomResourcePolicy")
        if policy is not None:
            acknowledge_in_frameworks(
                policy,
                "IAMNoInlinePolicy",
                "AwsCustomResource writes its one statement (sagemaker:DescribeModelPackage on "
                "the single configured package version ARN) as an inline policy of the CDK "
                "provider role; it is generated, reviewed here, and cannot be made managed.",
            )
        provider = Stack.of(self).node.try_find_child(PROVIDER_ID)
        if provider is not None:
            acknowledge_provider(provider)


def acknowledge_provider(provider: IConstruct) -> None:
    """Acknowledge the findings of the CDK-provided AwsCustomResource singleton Lambda."""
    reasons = {
        "AwsSolutions-L1": "The AwsCustomResource provider's runtime is chosen by the pinned "
        "aws-cdk-lib version; it runs once per deployment, never on a request path.",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": "The CDK-provided AwsCustomResource singleton attaches "
        "AWSLambdaBasicExecutionRole (log writing only) to its role; CDK does not let it be "
        "replaced.",
        "Serverless-LambdaDLQ": "The provider is invoked synchronously by CloudFormation, which "
        "reports a failure as a failed deployment; there is no asynchronous event to dead-letter.",
        "Serverless-LambdaTracing": "The provider makes one DescribeModelPackage call per "
        "deployment; CloudFormation events already record each invocation and its result.",
        "Serverless-LambdaDefaultMemorySize": "The CDK-provided provider's memory size is set "
        "by aws-cdk-lib; one small SDK call per deployment needs no tuning.",
        "Serverless-LambdaLatestVersion": "The provider runtime is pinned by aws-cdk-lib and "
        "upgraded with it, so a deployment reproduces the tested runtime.",
    }
    for rule, reason in reasons.items():
        acknowledge(provider, rule, reason)
    frameworks = {
        "LambdaConcurrency": "The AwsCustomResource provider runs only during CloudFormation "
        "deployments, one invocation per custom resource; reserved concurrency would only "
        "take capacity from the account.",
        "LambdaDLQ": "CloudFormation invokes the provider synchronously and turns a failure into "
        "a failed, rolled-back deployment; nothing asynchronous can be lost.",
        "CloudWatchLogGroupEncrypted": "The log group of the CDK-provided AwsCustomResource "
        "provider holds only its deploy-time SDK call traces (package ARN and baseline URIs), "
        "no model or inference data; CDK exposes no key for the singleton's log group.",
        "LambdaInsideVPC": "The CDK-provided provider calls only the SageMaker control plane "
        "(DescribeModelPackage) at deploy time and handles no model data; CDK offers no VPC "
        "placement for the singleton.",
    }
    for rule, reason in frameworks.items():
        acknowledge_in_frameworks(provider, rule, reason)
