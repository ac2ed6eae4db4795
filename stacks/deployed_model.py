"""One deployed model: its endpoint, monitors, alarms and dashboard, wired to the foundation."""

from __future__ import annotations

import json

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs import plain
from cdk_constructs.encryption import DataDomain
from cdk_constructs.included import record_child
from cdk_constructs.monitoring.batch import BatchScoring
from cdk_constructs.monitoring.engine import MonitoringEngine, MonitoringResources
from cdk_constructs.monitoring.evidently_engine import EvidentlyEngine
from cdk_constructs.monitoring.metrics import MonitorAlarms, MonitorMetrics
from cdk_constructs.monitoring.serving import GovernedEndpoint
from config.model import GovernancePolicy, ModelConfig
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX
from stacks.foundation_stack import FoundationReference
from stacks.props import batch_scoring, monitored_model, served_model


class DeployedModel(Construct):
    """Serve the configured package version and watch it through a monitoring engine.

    The engine is an interface (:class:`MonitoringEngine`): Model Monitor today, a scheduled
    pipeline engine later, without touching the registry, handlers or alarms. The shared
    foundation roles already hold, by prefix and tag, what the endpoint and the monitors need
    (including ground truth and SHAP baselines in buckets tagged
    ``governance:monitoring-input=true``), so nothing is granted per model.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelConfig,
        environment: str,
        foundation: FoundationReference,
        policy: GovernancePolicy,
        engine: MonitoringEngine,
    ) -> None:
        super().__init__(scope, construct_id)
        record_child(scope, self, construct_id)
        served = served_model(model, environment)
        monitored = monitored_model(model, policy)
        subnets = foundation.subnets
        self.endpoint = GovernedEndpoint(
            self,
            "Endpoint",
            served=served,
            execution_role=foundation.inference_role,
            subnets=subnets,
            security_group=foundation.job_security_group,
            storage_key=foundation.keys[DataDomain.DATA_CAPTURE],
            data_capture=foundation.data_capture,
        )
        settings = foundation.handler_settings
        resources = MonitoringResources(
            role=foundation.monitoring_role,
            subnets=subnets,
            security_group=foundation.job_security_group,
            key=foundation.keys[DataDomain.MONITORING],
            reports=foundation.monitoring_reports,
            data_capture=foundation.data_capture,
            vpc=foundation.vpc,
            logs_key=foundation.keys[DataDomain.LOGS],
            alerts=foundation.alerts,
            handler_reserved_concurrency=settings.reserved_concurrency if settings else None,
            powertools_layer_arn=settings.powertools_layer_arn if settings else None,
            stack=foundation.stack,
        )
        self.monitors = engine.deploy(
            self, model=monitored, endpoint=self.endpoint, resources=resources
        )
        schedule_names = {m.monitor_type: m.schedule_name for m in self.monitors.monitors}
        self.alarms = MonitorAlarms(
            self,
            "Alarms",
            model=monitored,
            metrics=MonitorMetrics(
                endpoint_name=self.endpoint.endpoint_name, schedule_names=schedule_names
            ),
            topic=foundation.alerts.topic,
            stack=foundation.stack,
        )
        # What the violations handler needs to name the model behind an endpoint's run.
        # As ssm.StringParameter(self, "EndpointParameter", ...), its props as plain data
        # (cdk_constructs/plain.py).
        self.parameter = plain.create(
            ssm.StringParameter,
            self,
            "EndpointParameter",
            {
                "parameterName": f"{ENDPOINT_PARAMETER_PREFIX}{self.endpoint.endpoint_name}",
                "stringValue": json.dumps(
                    {
                        "model_name": model.name,
                        "model_package_group_name": model.name,
                        "endpoint_name": self.endpoint.endpoint_name,
                        "monitors": schedule_names,
                        "retraining_pipeline_name": model.retraining_pipeline_name,
                    },
                    sort_keys=True,
                    separators=(",", ":"),
                ),
                "description": f"Endpoint {self.endpoint.endpoint_name} of model {model.name}",
            },
        )
        # Batch scoring (config ``batch``) runs the Evidently checks whatever the engine.
        batch = batch_scoring(model, environment)
        self.batch: BatchScoring | None = None
        if batch is not None:
            self.batch = BatchScoring(
                self,
                "Batch",
                batch=batch,
                endpoint=self.endpoint,
                resources=resources,
                capture_key=foundation.keys[DataDomain.DATA_CAPTURE],
                engine=engine if isinstance(engine, EvidentlyEngine) else None,
            )
