"""CloudWatch metrics of the monitors, built in one place; alarms and a dashboard built from them.

Namespaces, names and dimensions are the ones Model Monitor and Clarify publish for real-time
endpoints:

* data quality, ``aws/sagemaker/Endpoints/data-metrics``: ``feature_baseline_drift_<feature>``,
  ``feature_non_null_<feature>`` ... (developer guide, "CloudWatch Metrics" for Model Monitor)
  with the dimensions ``Endpoint``, ``Feature`` and ``MonitoringSchedule``: the set the SageMaker
  SDK's own data-quality dashboard queries (``sagemaker/dashboard/data_quality_dashboard.py``,
  ``{aws/sagemaker/Endpoints/data-metrics,Endpoint,Feature,MonitoringSchedule}``, its feature
  list populated from the ``Feature`` dimension). An alarm must name every dimension of the
  metric, so one on ``{Endpoint, MonitoringSchedule}`` alone would never see a data point.
* model quality, ``aws/sagemaker/Endpoints/model-metrics``: ``auc``, ``f1``, ``rmse``... with
  ``Endpoint`` and ``MonitoringSchedule`` (SDK ``model_quality_dashboard.py``).
* bias drift, ``aws/sagemaker/Endpoints/bias-metrics``: ``bias_metric_<NAME>`` with
  ``Endpoint``, ``MonitoringSchedule``, ``BiasStage``, ``Label``, ``LabelValue``, ``Facet``,
  ``FacetValue`` ("CloudWatch Metrics for Bias Drift Analysis").
* feature attribution, ``aws/sagemaker/Endpoints/explainability-metrics``: ``feature_<name>``
  with ``Endpoint``, ``MonitoringSchedule``, ``ExplainabilityMethod``, ``Label``, ``ValueType``
  ("CloudWatch Metrics for Feature Drift Analysis").

Missing data never reads as healthy. A monitor publishes once per run, so every alarm's period
is its schedule's interval, and each monitor has a "no results" alarm on the sample count of a
metric every run publishes, which treats missing data as breaching: a schedule that stopped,
runs that fail, or metrics under other dimensions than expected all end in an alert. Failed and
stopped runs are also reported one by one by the violations handler (the environment-wide
monitoring-runs rule in ``cdk_constructs/handlers.py``), which reads the run's schedule with
``DescribeProcessingJob``: the processing-job state-change event itself is not documented to
carry ``MonitoringScheduleArn``, so no rule filters on it.

Metrics are plain data (:class:`MonitorMetric`): the alarms are ``AWS::CloudWatch::Alarm``
resources written from that data, and the dashboard an ``AWS::CloudWatch::Dashboard`` whose body
is rendered from it as ``GraphWidget`` renders ``cloudwatch.Metric`` objects. A model has a
dozen alarms and a dozen graphed metrics, and the L2 ``Metric.create_alarm`` /
``add_alarm_action`` path cost about six round trips to the jsii runtime per alarm, the L2
dashboard one per metric and graph, the largest per-model share of synth time at 500 models
(``bench/scale.py``); the templates are the same. The alarms and the dashboard of one model are
created together by one ``CfnInclude`` at the logical ids and paths they had as L1s under
wrapper constructs (``cdk_constructs/included.py``): one round trip instead of 26.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from aws_cdk import Aws, Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.identifiers import identifier
from cdk_constructs.included import IncludedResources, record_child
from cdk_constructs.monitoring.images import MonitorType
from cdk_constructs.props import MonitoredModel

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
DEFAULT_PERIOD_SECONDS = 3600
# What a dashboard graph leaves out of a metric's options: CloudWatch's default period (aws-cdk-lib
# Metric, ``period`` default Duration.minutes(5)) and statistic.
CLOUDWATCH_DEFAULT_PERIOD_SECONDS = 300
# Width and height of a GraphWidget (aws-cdk-lib default 6 grid units each).
GRAPH_SIZE = 6
# A "no results" alarm fires when this many consecutive schedule intervals passed without a
# run publishing: one late run (Model Monitor starts up to 20 minutes after the scheduled time,
# model-monitor-schedule-expression) never alerts, a schedule that stopped always does. Two
# daily periods stay well within CloudWatch's 7-day evaluation limit (PutMetricAlarm, Period).
NO_RESULTS_INTERVALS = 2

# The statistics the monitors' metrics are read with. AWS::CloudWatch::Alarm's ``Statistic``
# allows SampleCount, Average, Sum, Minimum and Maximum (percentiles go to ExtendedStatistic,
# which no monitor alarm uses); the CloudFormation provider schema lists the same enum.
Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]
# AWS::CloudWatch::Alarm ``ComparisonOperator`` and ``TreatMissingData`` values used here
# (CloudFormation provider schema / PutMetricAlarm API reference).
Comparison = Literal["GreaterThanThreshold", "LessThanThreshold"]
MissingData = Literal["breaching", "notBreaching"]


@dataclass(frozen=True)
class MonitorMetric:
    """One metric a monitor publishes, as data: read by the alarms, rendered for the dashboard."""

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: Statistic = "Average"
    period_seconds: int = DEFAULT_PERIOD_SECONDS
    label: str | None = None

    def with_(
        self, *, period_seconds: int | None = None, statistic: Statistic | None = None
    ) -> MonitorMetric:
        return dataclasses.replace(
            self,
            period_seconds=self.period_seconds if period_seconds is None else period_seconds,
            statistic=self.statistic if statistic is None else statistic,
        )

    def alarm_dimensions(self) -> list[dict[str, str]]:
        """The alarm's ``Dimensions`` in CloudFormation's names, sorted by name as
        ``cloudwatch.Alarm`` writes them."""
        return [{"Name": name, "Value": value} for name, value in sorted(self.dimensions)]

    def graph_json(self) -> list[Any]:
        """This metric in a graph widget's ``metrics`` list, as ``GraphWidget(left=[Metric(...)])``
        renders it (aws-cdk-lib ``aws-cloudwatch/lib/private/rendering.js``, ``metricGraphJson``):
        namespace, name, the dimensions sorted by name as name/value pairs, then the options
        that differ from CloudWatch's defaults (period 300 s, statistic Average)."""
        line: list[Any] = [self.namespace, self.metric_name]
        for name, value in sorted(self.dimensions):
            line += [name, value]
        options: dict[str, Any] = {}
        if self.label is not None:
            options["label"] = self.label
        if self.period_seconds != CLOUDWATCH_DEFAULT_PERIOD_SECONDS:
            options["period"] = self.period_seconds
        if self.statistic != "Average":
            options["stat"] = self.statistic
        if options:
            line.append(options)
        return line


class MonitorMetrics:
    """The metrics the monitors of one endpoint publish, named after the official metrics.

    Subclasses for other sources set ``NAMESPACES`` and whether metrics carry ``Endpoint``
    (batch transform checks: ``cdk_constructs/monitoring/batch.py``)."""

    NAMESPACES: Mapping[MonitorType, str] = METRIC_NAMESPACES
    ENDPOINT_DIMENSION = True

    def __init__(
        self,
        *,
        endpoint_name: str,
        schedule_names: Mapping[MonitorType, str],
        period_seconds: int = DEFAULT_PERIOD_SECONDS,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.schedule_names = dict(schedule_names)
        self.period_seconds = period_seconds

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
        statistic: Statistic = "Average",
        extra_dimensions: Mapping[str, str] | None = None,
        label: str | None = None,
    ) -> MonitorMetric:
        endpoint = {"Endpoint": self.endpoint_name} if self.ENDPOINT_DIMENSION else {}
        dimensions = {
            **endpoint,
            "MonitoringSchedule": self._schedule(monitor_type),
            **(extra_dimensions or {}),
        }
        return MonitorMetric(
            namespace=self.NAMESPACES[monitor_type],
            metric_name=metric_name,
            dimensions=tuple(dimensions.items()),
            statistic=statistic,
            period_seconds=self.period_seconds,
            label=label,
        )

    def metric_feature_baseline_drift(self, feature: str) -> MonitorMetric:
        """``feature_baseline_drift_<feature>``: distance of the feature from its baseline."""
        return self._metric(
            "data_quality",
            f"feature_baseline_drift_{feature}",
            statistic="Maximum",
            extra_dimensions={"Feature": feature},
        )

    def metric_feature_non_null(self, feature: str) -> MonitorMetric:
        """``feature_non_null_<feature>``: the feature's non-null values in a run.

        The guide's "Completeness" metric (``Stat: Sum``); published for numeric and string
        columns alike, so every data-quality run publishes it.
        """
        return self._metric(
            "data_quality",
            f"feature_non_null_{feature}",
            statistic="Sum",
            extra_dimensions={"Feature": feature},
        )

    def metric_model_quality(self, name: str) -> MonitorMetric:
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
    ) -> MonitorMetric:
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

    def metric_feature_attribution(self, feature: str, *, label: str = "label0") -> MonitorMetric:
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


def _dashboard_body(graphs: list[tuple[str, list[MonitorMetric]]]) -> str:
    """The body ``cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=name,
    widgets=[[GraphWidget(title=..., left=[...])] ...])`` writes: one 6x6 time-series graph per
    row, in the stack's region. Built here as data rather than from ``Metric`` and
    ``GraphWidget`` objects (about 18 fewer round trips to the jsii runtime per model); the
    template is the same (aws-cdk-lib ``aws-cloudwatch/lib/dashboard.js``, ``graph.js``:
    ``GraphWidget.toJson``, default width and height 6, rows stacked in one column)."""
    widgets = [
        {
            "type": "metric",
            "width": GRAPH_SIZE,
            "height": GRAPH_SIZE,
            "x": 0,
            "y": GRAPH_SIZE * row,
            "properties": {
                "view": "timeSeries",
                "title": title,
                "region": _region_token(),
                **({"metrics": [m.graph_json() for m in graphed]} if graphed else {}),
                "yAxis": {},
            },
        }
        for row, (title, graphed) in enumerate(graphs)
    ]
    # The region is a token in a string: CDK writes the body as Fn::Join around {"Ref":
    # "AWS::Region"}, as Stack.toJsonString does for the L2.
    return json.dumps({"widgets": widgets}, separators=(",", ":"), ensure_ascii=False)


@cache
def _region_token() -> str:
    """``Aws.REGION`` (one static token of aws-cdk-lib), read once per process."""
    return Aws.REGION


class MonitorAlarms(Construct):
    """Alarms on one deployed model's monitors, all alerting ``topic``, and its dashboard.

    * data quality: one alarm per dataset feature, ``feature_baseline_drift_<feature>`` above
      ``feature_drift_threshold`` (default 0.1, Model Monitor's own default);
    * model quality: ``model.model_quality_floor``'s metric below its floor;
    * bias: for each metric of ``model.bias_thresholds``, one alarm below ``min`` and one
      above ``max``;
    * no results: per monitor with a recurring schedule, an alarm when
      ``NO_RESULTS_INTERVALS`` schedule intervals pass without the run publishing its metrics
      (missing data is breaching here).

    Every period is the monitor's schedule interval, so a threshold alarm keeps the verdict
    of the latest run until the next one; threshold alarms treat missing data as not breaching
    because the "no results" alarm reports it once. A new monitor reports "no results" until
    its first run publishes. The dashboard is named ``<endpoint>-monitoring``.

    ``stack`` is the scope's stack when the caller has it at hand (default: looked up).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: MonitoredModel,
        metrics: MonitorMetrics,
        topic: sns.ITopic,
        feature_drift_threshold: float = DEFAULT_FEATURE_DRIFT_THRESHOLD,
        stack: Stack | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        record_child(scope, self, construct_id)
        self.model = model
        self.metrics = metrics
        # What cloudwatch_actions.SnsAction(topic) puts in AlarmActions: the topic's ARN.
        self.alarm_actions = [identifier(topic, "topic_arn")]
        # The alarms and the dashboard, created together at the end (cdk_constructs/included.py).
        self._included = IncludedResources(self, stack=stack)
        self.alarm_logical_ids: dict[str, str] = {}
        deployed = set(metrics.schedule_names)
        features = list(model.dataset.feature_names)
        widgets: list[tuple[str, list[MonitorMetric]]] = []
        # The metric each monitor's runs always publish, for its "no results" alarm.
        published: dict[MonitorType, MonitorMetric] = {}

        if "data_quality" in deployed:
            drift = [
                self._per_run("data_quality", metrics.metric_feature_baseline_drift(f))
                for f in features
            ]
            for feature, metric in zip(features, drift, strict=True):
                self._alarm(
                    f"FeatureDrift-{feature}",
                    metric,
                    threshold=feature_drift_threshold,
                    comparison="GreaterThanThreshold",
                    description=f"{model.name}: feature '{feature}' drifted from its baseline "
                    f"(distance > {feature_drift_threshold})",
                )
            widgets.append(("Feature baseline drift", drift))
            published["data_quality"] = metrics.metric_feature_non_null(features[0])

        if "model_quality" in deployed:
            name, threshold = model.floor
            metric = self._per_run("model_quality", metrics.metric_model_quality(name))
            self._alarm(
                f"ModelQuality-{name}",
                metric,
                threshold=threshold,
                comparison="LessThanThreshold",
                description=f"{model.name}: model quality {name} fell below {threshold}",
            )
            widgets.append((f"Model quality: {name}", [metric]))
            published["model_quality"] = metrics.metric_model_quality(name)

        if "bias" in deployed and model.bias is not None:
            bias = model.bias
            bias_metrics = []
            for name, interval in model.bias_thresholds.items():
                metric = self._per_run(
                    "bias",
                    metrics.metric_bias(
                        name,
                        label=bias.label,
                        label_value=str(bias.label_value),
                        facet=bias.facet,
                        facet_value=str(bias.facet_value),
                    ),
                )
                bias_metrics.append(metric)
                published.setdefault("bias", metric)
                bounds: tuple[tuple[str, float, Comparison], ...] = (
                    ("Min", interval.min, "LessThanThreshold"),
                    ("Max", interval.max, "GreaterThanThreshold"),
                )
                for bound, threshold, comparison in bounds:
                    self._alarm(
                        f"Bias-{name}-{bound}",
                        metric,
                        threshold=threshold,
                        comparison=comparison,
                        description=f"{model.name}: bias metric {name} for {bias.facet}="
                        f"{bias.facet_value} left the policy interval "
                        f"[{interval.min}, {interval.max}]",
                    )
            widgets.append(("Bias metrics", bias_metrics))

        if "explainability" in deployed:
            attributions = [
                self._per_run("explainability", metrics.metric_feature_attribution(f))
                for f in features
            ]
            widgets.append(("Global SHAP values", attributions))
            published["explainability"] = attributions[0]

        runs = [self._no_results_alarm(t, m) for t, m in published.items()]
        counted = [metric for metric in runs if metric is not None]
        if counted:
            widgets.append(("Results published per run", counted))

        # At the path cloudwatch.Dashboard(self, "Dashboard", ...) gives its resource.
        self.dashboard_logical_id = self._included.add(
            ("Dashboard", "Resource"),
            "AWS::CloudWatch::Dashboard",
            {
                "DashboardName": f"{metrics.endpoint_name}-monitoring",
                "DashboardBody": _dashboard_body(widgets),
            },
        )
        # The L1s themselves: self.resources.get_resource(<logical id>).
        self.resources = self._included.create("Resources")

    def interval_seconds(self, monitor_type: MonitorType) -> int | None:
        """Seconds between two runs of ``monitor_type`` (None for a one-time ``NOW`` schedule)."""
        hours = self.model.monitors[monitor_type].interval_hours
        return hours * 3600 if hours is not None else None

    def _per_run(self, monitor_type: MonitorType, metric: MonitorMetric) -> MonitorMetric:
        """``metric`` aggregated over its monitor's schedule interval (one run per period)."""
        interval = self.interval_seconds(monitor_type)
        return metric.with_(period_seconds=interval or self.metrics.period_seconds)

    def _no_results_alarm(
        self, monitor_type: MonitorType, metric: MonitorMetric
    ) -> MonitorMetric | None:
        interval = self.interval_seconds(monitor_type)
        if interval is None:
            return None  # a one-time schedule runs once; there is no cadence to miss
        samples = metric.with_(statistic="SampleCount", period_seconds=interval)
        label = monitor_type.replace("_", " ")
        self._alarm(
            f"NoResults-{monitor_type}",
            samples,
            threshold=1,
            comparison="LessThanThreshold",
            description=f"{self.model.name}: the {label} monitor published no results for "
            f"{NO_RESULTS_INTERVALS} schedule intervals ({interval / 3600:g} h each): the "
            "schedule stopped, its runs fail, or the metrics moved; until it publishes, nothing "
            "watches this model's "
            f"{label}",
            evaluation_periods=NO_RESULTS_INTERVALS,
            treat_missing_data="breaching",
        )
        return samples

    def _alarm(
        self,
        alarm_id: str,
        metric: MonitorMetric,
        *,
        threshold: float,
        comparison: Comparison,
        description: str,
        evaluation_periods: int = 1,
        treat_missing_data: MissingData = "notBreaching",
    ) -> str:
        """The alarm ``metric.create_alarm`` + ``add_alarm_action(SnsAction(topic))`` would
        write, at the same construct path (``<alarm_id>/Resource``, so the same logical id);
        returns its logical id."""
        logical_id = self._included.add(
            (alarm_id, "Resource"),
            "AWS::CloudWatch::Alarm",
            {
                "AlarmActions": self.alarm_actions,
                "AlarmDescription": description,
                "ComparisonOperator": comparison,
                "DatapointsToAlarm": evaluation_periods,
                "EvaluationPeriods": evaluation_periods,
                "Threshold": threshold,
                "TreatMissingData": treat_missing_data,
                "Namespace": metric.namespace,
                "MetricName": metric.metric_name,
                "Dimensions": metric.alarm_dimensions(),
                "Statistic": metric.statistic,
                "Period": metric.period_seconds,
            },
        )
        self.alarm_logical_ids[alarm_id] = logical_id
        return logical_id
