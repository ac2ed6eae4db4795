"""CloudWatch metrics of the monitors, built in one place; alarms and a dashboard built from them.

Namespaces, names and dimensions are the ones Model Monitor and Clarify publish for real-time
endpoints (AWS docs "CloudWatch Metrics" for Model Monitor, "Model quality metrics and Amazon
CloudWatch monitoring", "CloudWatch Metrics for Bias Drift Analysis", "CloudWatch Metrics for
Feature Drift Analysis"; dimension sets as used by the SageMaker SDK's dashboards).

Model Monitor publishes no metric for a failed monitoring execution. Failures are caught by an
EventBridge rule on "SageMaker Processing Job State Change" (status Failed, the processing job's
MonitoringScheduleArn one of this endpoint's schedules) that alerts the topic directly; the
rule's own ``AWS/Events`` ``TriggeredRules`` metric carries the execution-failure alarm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.compliance.acknowledgments import acknowledge
from cdk_constructs.monitoring.images import MonitorType
from config.model import GovernancePolicy, ModelConfig, ProblemType

METRIC_NAMESPACES: Mapping[MonitorType, str] = MappingProxyType(
    {
        "data_quality": "aws/sagemaker/Endpoints/data-metrics",
        "model_quality": "aws/sagemaker/Endpoints/model-metrics",
        "bias": "aws/sagemaker/Endpoints/bias-metrics",
        "explainability": "aws/sagemaker/Endpoints/explainability-metrics",
    }
)

# Clarify metrics computed on the data alone (pre-training) vs. on predictions (post-training).
PRE_TRAINING_BIAS_METRICS = frozenset({"CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"})
BIAS_STAGES = ("Pre-training", "Post-Training")  # BiasStage values as AWS documents them

# Model Monitor's default comparison threshold for a feature's baseline drift distance.
DEFAULT_FEATURE_DRIFT_THRESHOLD = 0.1
# Floors of the headline model-quality metric per problem type. Regression has no default:
# an error bound depends on the target's scale, so it must be given.
DEFAULT_MODEL_QUALITY_FLOORS: Mapping[ProblemType, tuple[str, float]] = MappingProxyType(
    {
        ProblemType.BINARY_CLASSIFICATION: ("auc", 0.7),
        ProblemType.MULTICLASS_CLASSIFICATION: ("weighted_f1", 0.7),
    }
)
DEFAULT_PERIOD = Duration.hours(1)


class MonitorMetrics:
    """The metrics the monitors of one endpoint publish, named after the official metrics."""

    def __init__(
        self,
        *,
        endpoint_name: str,
        schedule_names: Mapping[MonitorType, str],
        period: Duration = DEFAULT_PERIOD,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.schedule_names = dict(schedule_names)
        self.period = period

    def _schedule(self, monitor_type: MonitorType) -> str:
        try:
            return self.schedule_names[monitor_type]
        except KeyError:
            raise ValueError(
                f"endpoint {self.endpoint_name!r} has no {monitor_type} monitor; deployed: "
                f"{', '.join(self.schedule_names) or 'none'}"
            ) from None

    def _metric(
        self,
        monitor_type: MonitorType,
        metric_name: str,
        *,
        statistic: str = "Average",
        extra_dimensions: Mapping[str, str] | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACES[monitor_type],
            metric_name=metric_name,
            dimensions_map={
                "Endpoint": self.endpoint_name,
                "MonitoringSchedule": self._schedule(monitor_type),
                **(extra_dimensions or {}),
            },
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def metric_feature_baseline_drift(self, feature: str) -> cloudwatch.Metric:
        """``feature_baseline_drift_<feature>``: distance of the feature from its baseline."""
        return self._metric(
            "data_quality", f"feature_baseline_drift_{feature}", statistic="Maximum"
        )

    def metric_feature_non_null(self, feature: str) -> cloudwatch.Metric:
        """``feature_non_null_<feature>``: completeness of the feature."""
        return self._metric("data_quality", f"feature_non_null_{feature}", statistic="Minimum")

    def metric_model_quality(self, name: str) -> cloudwatch.Metric:
        """A model-quality metric by its official name (``auc``, ``f1``, ``rmse``...)."""
        return self._metric("model_quality", name)

    def metric_bias(
        self,
        metric_name: str,
        *,
        label: str,
        label_value: str,
        facet: str,
        facet_value: str,
    ) -> cloudwatch.Metric:
        """``bias_metric_<NAME>`` (e.g. ``bias_metric_DI``) for one facet value."""
        stage = BIAS_STAGES[0] if metric_name in PRE_TRAINING_BIAS_METRICS else BIAS_STAGES[1]
        return self._metric(
            "bias",
            f"bias_metric_{metric_name}",
            extra_dimensions={
                "BiasStage": stage,
                "Label": label,
                "LabelValue": label_value,
                "Facet": facet,
                "FacetValue": facet_value,
            },
        )

    def metric_feature_attribution(
        self, feature: str, *, label: str = "label0"
    ) -> cloudwatch.Metric:
        """``feature_<feature>``: the feature's global SHAP value (Kernel SHAP)."""
        return self._metric(
            "explainability",
            f"feature_{feature}",
            extra_dimensions={
                "ExplainabilityMethod": "KernelShap",
                "Label": label,
                "ValueType": "GlobalShapValues",
            },
        )


def failed_execution_rule_pattern(schedule_arns: Sequence[str]) -> events.EventPattern:
    """Processing jobs started by these schedules that end Failed."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=["SageMaker Processing Job State Change"],
        detail={"ProcessingJobStatus": ["Failed"], "MonitoringScheduleArn": list(schedule_arns)},
    )


class MonitorAlarms(Construct):
    """Alarms on one deployed model's monitors, all alerting ``topic``, and its dashboard.

    * data quality: one alarm per dataset feature, ``feature_baseline_drift_<feature>`` above
      ``feature_drift_threshold`` (default 0.1, Model Monitor's own default);
    * model quality: the headline metric (``auc`` for binary, ``weighted_f1`` for multiclass,
      or ``model_quality_floor``) below its floor;
    * bias: for each metric of ``policy.bias_thresholds``, one alarm below ``min`` and one
      above ``max``;
    * failed executions: an EventBridge rule alerting the topic directly (undeliverable
      events go to ``dead_letter_queue``, e.g. ``GovernanceAlerts.undelivered``), and an
      alarm on the rule's matches.

    Monitor alarms treat missing data as not breaching (a monitor runs hourly or daily, so most
    periods have no data); the execution-failure alarm counts rule matches instead.
    The dashboard is named ``<endpoint>-monitoring``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: ModelConfig,
        metrics: MonitorMetrics,
        policy: GovernancePolicy,
        topic: sns.ITopic,
        schedule_arns: Sequence[str] = (),
        feature_drift_threshold: float = DEFAULT_FEATURE_DRIFT_THRESHOLD,
        model_quality_floor: tuple[str, float] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.model = model
        self.metrics = metrics
        self.action = cloudwatch_actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        deployed = set(metrics.schedule_names)
        features = [f.name for f in model.dataset_schema.features]
        widgets: list[cloudwatch.IWidget] = []

        if "data_quality" in deployed:
            drift = [metrics.metric_feature_baseline_drift(f) for f in features]
            for feature, metric in zip(features, drift, strict=True):
                self._alarm(
                    f"FeatureDrift-{feature}",
                    metric,
                    threshold=feature_drift_threshold,
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    description=f"{model.name}: feature '{feature}' drifted from its baseline "
                    f"(distance > {feature_drift_threshold})",
                )
            widgets.append(cloudwatch.GraphWidget(title="Feature baseline drift", left=drift))

        if "model_quality" in deployed:
            floor = model_quality_floor or DEFAULT_MODEL_QUALITY_FLOORS.get(model.problem_type)
            if floor is None:
                raise ValueError(
                    f"model {model.name!r} ({model.problem_type.value}): model_quality_floor is "
                    "required (got None); allowed: (metric name, floor), e.g. ('r2', 0.5)"
                )
            name, threshold = floor
            metric = metrics.metric_model_quality(name)
            self._alarm(
                f"ModelQuality-{name}",
                metric,
                threshold=threshold,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                description=f"{model.name}: model quality {name} fell below {threshold}",
            )
            widgets.append(cloudwatch.GraphWidget(title=f"Model quality: {name}", left=[metric]))

        if "bias" in deployed and model.bias is not None:
            bias = model.bias
            bias_metrics = []
            for name, interval in policy.bias_thresholds.items():
                metric = metrics.metric_bias(
                    name,
                    label=bias.label,
                    label_value=str(bias.label_value),
                    facet=bias.facet,
                    facet_value=str(bias.facet_value),
                )
                bias_metrics.append(metric)
                for bound, threshold, comparison in (
                    ("Min", interval.min, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD),
                    ("Max", interval.max, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD),
                ):
                    self._alarm(
                        f"Bias-{name}-{bound}",
                        metric,
                        threshold=threshold,
                        comparison=comparison,
                        description=f"{model.name}: bias metric {name} for {bias.facet}="
                        f"{bias.facet_value} left the policy interval "
                        f"[{interval.min}, {interval.max}]",
                    )
            widgets.append(cloudwatch.GraphWidget(title="Bias metrics", left=bias_metrics))

        if "explainability" in deployed:
            widgets.append(
                cloudwatch.GraphWidget(
                    title="Global SHAP values",
                    left=[metrics.metric_feature_attribution(f) for f in features],
                )
            )

        if schedule_arns:
            self.failed_executions = events.Rule(
                self,
                "FailedExecutions",
                description=f"{model.name}: a monitoring execution failed",
                event_pattern=failed_execution_rule_pattern(schedule_arns),
                targets=[targets.SnsTopic(topic, dead_letter_queue=dead_letter_queue)],
            )
            if dead_letter_queue is None:
                acknowledge(
                    self.failed_executions,
                    "Serverless-EventBusDLQ",
                    "No dead-letter queue was given for this alert rule; the execution-failure "
                    "alarm on the rule's TriggeredRules metric alerts the same topic again.",
                )
            failures = cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="TriggeredRules",
                dimensions_map={"RuleName": self.failed_executions.rule_name},
                statistic="Sum",
                period=metrics.period,
            )
            self._alarm(
                "FailedExecutionsAlarm",
                failures,
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                description=f"{model.name}: a monitoring execution failed; no monitor result "
                "was produced for that run",
                # No match in a period means no failure; the rule emits only on matches.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            widgets.append(cloudwatch.GraphWidget(title="Failed executions", left=[failures]))

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{metrics.endpoint_name}-monitoring",
            widgets=[[widget] for widget in widgets],
        )

    def _alarm(
        self,
        alarm_id: str,
        metric: cloudwatch.Metric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = metric.create_alarm(
            self,
            alarm_id,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            alarm_description=description,
            treat_missing_data=treat_missing_data,
        )
        alarm.add_alarm_action(self.action)
        self.alarms[alarm_id] = alarm
        return alarm
