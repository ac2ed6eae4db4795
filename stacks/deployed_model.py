"""One deployed model: its endpoint, monitors, alarms and dashboard, wired to the foundation."""

from __future__ import annotations

import json

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.compliance.acknowledgments import acknowledge_wildcards, nag_string
from cdk_constructs.encryption import DataDomain
from cdk_constructs.monitoring.engine import MonitoringEngine, MonitoringResources
from cdk_constructs.monitoring.metrics import MonitorAlarms, MonitorMetrics
from cdk_constructs.monitoring.serving import GovernedEndpoint
from config.model import GovernancePolicy, ModelConfig
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX
from stacks.foundation_stack import FoundationStack


def _s3_read_arns(uri: str, partition: str) -> list[str]:
    """Bucket and object ARNs to read ``uri``: a prefix (ending in ``/``) or one object."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    objects = f"{key}*" if key.endswith("/") else key
    return [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/{objects}"]


class DeployedModel(Construct):
    """Serve the configured package version and watch it through a monitoring engine.

    The engine is an interface (:class:`MonitoringEngine`): Model Monitor today, a scheduled
    pipeline engine later, without touching the registry, handlers or alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelConfig,
        environment: str,
        foundation: FoundationStack,
        policy: GovernancePolicy,
        engine: MonitoringEngine,
    ) -> None:
        super().__init__(scope, construct_id)
        deployment = model.deployment
        if deployment is None:
            raise ValueError(f"model {model.name!r} has no deployment section")
        if not deployment.model_package_arn:
            raise ValueError(
                f"model {model.name!r} names its versions per environment; pass the model as "
                "the environment deploys it (ModelConfig.for_environment)"
            )
        network = foundation.network
        subnets = network.vpc.select_subnets(subnet_type=network.subnets.subnet_type).subnets
        self.endpoint = GovernedEndpoint(
            self,
            "Endpoint",
            model=model,
            environment=environment,
            execution_role=foundation.job_roles.inference,
            subnets=subnets,
            security_group=network.job_security_group,
            storage_key=foundation.keys[DataDomain.DATA_CAPTURE],
            data_capture=foundation.data_capture,
            artifacts=foundation.artifacts,
        )
        monitoring_role = foundation.job_roles.monitoring
        self.monitors = engine.deploy(
            self,
            model=model,
            endpoint=self.endpoint,
            resources=MonitoringResources(
                role=monitoring_role,
                subnets=subnets,
                security_group=network.job_security_group,
                key=foundation.keys[DataDomain.MONITORING],
                reports=foundation.monitoring_reports,
                data_capture=foundation.data_capture,
                vpc=network.vpc,
                logs_key=foundation.keys[DataDomain.LOGS],
            ),
        )
        external_inputs = [
            uri
            for uri in (deployment.ground_truth_s3_uri, deployment.explainability.baseline_s3_uri)
            if uri
        ]
        if external_inputs:
            # Ground truth and SHAP baselines live where the organisation keeps them.
            resources = [a for uri in external_inputs for a in _s3_read_arns(uri, Aws.PARTITION)]
            inputs_policy = iam.ManagedPolicy(
                self,
                "MonitorInputs",
                description=f"Monitoring inputs of {model.name} outside the governance buckets",
                roles=[monitoring_role],
                statements=[
                    iam.PolicyStatement(
                        actions=["s3:GetObject", "s3:ListBucket"],
                        resources=resources,
                    )
                ],
            )
            acknowledge_wildcards(
                inputs_policy,
                resources=[nag_string(Stack.of(self), a) for a in resources],
                reason=(
                    "Ground truth arrives as new objects under the configured prefix while the "
                    "model serves; read access is limited to that prefix of that bucket."
                ),
            )
        schedule_names = {m.monitor_type: m.schedule_name for m in self.monitors.monitors}
        self.alarms = MonitorAlarms(
            self,
            "Alarms",
            model=model,
            metrics=MonitorMetrics(
                endpoint_name=self.endpoint.endpoint_name, schedule_names=schedule_names
            ),
            policy=policy,
            topic=foundation.alerts.topic,
            model_quality_floor=(
                (deployment.model_quality_floor.metric, deployment.model_quality_floor.minimum)
                if deployment.model_quality_floor
                else None
            ),
        )
        # What the violations handler needs to name the model behind an endpoint's run.
        self.parameter = ssm.StringParameter(
            self,
            "EndpointParameter",
            parameter_name=f"{ENDPOINT_PARAMETER_PREFIX}{self.endpoint.endpoint_name}",
            string_value=json.dumps(
                {
                    "model_name": model.name,
                    "model_package_group_name": model.name,
                    "endpoint_name": self.endpoint.endpoint_name,
                    "monitors": schedule_names,
                    "retraining_pipeline_name": deployment.retraining_pipeline_name,
                },
                sort_keys=True,
                separators=(",", ":"),
            ),
            description=f"Endpoint {self.endpoint.endpoint_name} of model {model.name}",
        )
