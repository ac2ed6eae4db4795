"""The MLflow relay: monitoring run records in the monitoring bucket, logged to an MLflow App.

Why it exists (cdk_constructs/monitoring/mlflow.py has the sources): the monitoring checks run
in the isolated VPC, and an MLflow App is called at ``mlflow.sagemaker.<region>.app.aws``,
which no documented VPC endpoint serves. For an App the checks therefore write each run as a
JSON record to ``mlflow-runs/<experiment>/<run>.json`` in the monitoring bucket, and this
function, outside the VPC, logs it to the App (``governance.mlflow_relay``).

What runs where:

- **Trigger.** The bucket sends its events to EventBridge (``NotificationConfiguration.
  EventBridgeConfiguration.EventBridgeEnabled``, CloudFormation ``AWS::S3::Bucket``); a rule
  matches ``aws.s3`` / ``Object Created`` for this bucket and the ``mlflow-runs/`` key prefix
  (S3 user guide, EventBridge: "Object Created", ``detail.bucket.name``,
  ``detail.object.key``). The S3 guide says notification keys are URL-encoded
  (notification-content-structure) and shows EventBridge's ``detail.object.key`` plainly
  (ev-events) without saying either way; the job names records with letters, digits and
  ``_ . -`` only, which both forms leave unchanged, and the handler refuses any other key.
- **Failures.** The rule retries delivery for a day, then keeps the event in the environment's
  routing dead-letter queue; the function's own failed invocations (two retries) go to its
  dead-letter queue. Both queues' depth alarms alert.
- **Access.** The role reads ``mlflow-runs/*`` of the monitoring bucket (and decrypts with its
  key) and calls ``sagemaker:CallMlflowAppApi`` on the one App: nothing else of S3 or
  SageMaker.
- **Dependencies.** ``mlflow-skinny``, ``sagemaker-mlflow`` and Powertools in one layer built at
  make time (``make mlflow-layer``: ``build/mlflow-layer.zip`` from ``layers/mlflow-relay.lock``).
  Synth stops when the layer is missing or was built from another lock. MLflow's telemetry is
  off (``MLFLOW_DISABLE_TELEMETRY``, ``DO_NOT_TRACK``: mlflow/telemetry/utils.py).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.alerts import IAlerts
from cdk_constructs.compliance.acknowledgments import (
    acknowledge_in_frameworks,
    acknowledge_wildcards,
    nag_string,
)
from cdk_constructs.encryption import GovernanceKey, IGovernanceKey
from cdk_constructs.handlers import ARCHITECTURE, RUNTIME, GovernanceFunction
from cdk_constructs.monitoring.mlflow import RUN_RECORDS_PREFIX, MlflowTarget
from cdk_constructs.storage import GovernedBucket

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
LAYER_LOCK = REPOSITORY_ROOT / "layers" / "mlflow-relay.lock"
DEFAULT_LAYER = REPOSITORY_ROOT / "build" / "mlflow-layer.zip"
LOCK_IN_LAYER = "python/requirements.lock"
HANDLER = "governance.mlflow_relay.handler"
# MLflow's telemetry switches (mlflow-skinny 3.17.2, mlflow/telemetry/utils.py: telemetry is
# off when MLFLOW_DISABLE_TELEMETRY is true or DO_NOT_TRACK is true).
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
OUTSIDE_VPC_REASON = (
    "The relay calls the environment's SageMaker AI MLflow App, whose API host "
    "(mlflow.sagemaker.<region>.app.aws, sagemaker-mlflow 0.5.0) is not reachable through any "
    "documented VPC endpoint (the experiments endpoint serves tracking servers, developer guide "
    "mlflow-interface-endpoint), and the isolated VPC has no other route out. It reads only "
    "mlflow-runs/* of the monitoring bucket and calls only that App."
)


class LayerNotShippedError(ValueError):
    """The relay's layer is missing or was built from another lock."""


def check_layer(layer: Path = DEFAULT_LAYER, lock: Path = LAYER_LOCK) -> Path:
    """``layer`` when it exists and holds exactly ``lock``; a clear error otherwise."""
    if not layer.is_file():
        raise LayerNotShippedError(
            f"environments[].mlflow_tracking_arn names an MLflow App, but the relay's "
            f"dependencies are not shipped: {layer} does not exist; allowed: run `make "
            "mlflow-layer` (part of `make setup`), or name no App"
        )
    try:
        with zipfile.ZipFile(layer) as archive:
            shipped = archive.read(LOCK_IN_LAYER).decode("utf-8")
    except (zipfile.BadZipFile, KeyError) as error:
        raise LayerNotShippedError(
            f"{layer} is not a layer built by `make mlflow-layer` ({error}); rebuild it"
        ) from None
    if shipped != lock.read_text(encoding="utf-8"):
        raise LayerNotShippedError(
            f"{layer} was built from another {lock.name}: its dependencies are not the pinned "
            "ones; allowed: rebuild it with `make mlflow-layer`"
        )
    return layer


class MlflowRelay(Construct):
    """Logs the run records the checks write under ``mlflow-runs/`` of ``records`` to the
    MLflow App ``target``, from outside the VPC.

    :param records: the monitoring bucket (its events go to EventBridge from now on).
    :param routing_dead_letters: where the rule keeps events it could not deliver (the
        environment's routing queue, whose depth is alarmed).
    :param layer: the built layer zip (default ``build/mlflow-layer.zip``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: MlflowTarget,
        records: GovernedBucket,
        logs_key: IGovernanceKey,
        queue_key: GovernanceKey,
        alerts: IAlerts,
        routing_dead_letters: sqs.IQueue,
        layer: Path = DEFAULT_LAYER,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not target.is_app:
            raise ValueError(
                f"the MLflow relay logs to an MLflow App; {target.arn!r} is a tracking server, "
                "which the jobs log to directly through the VPC's experiments endpoint"
            )
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(check_layer(layer))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="mlflow-skinny, sagemaker-mlflow and Powertools for the MLflow relay "
            "(layers/mlflow-relay.lock)",
        )
        self.handler = GovernanceFunction(
            self,
            "Function",
            handler=HANDLER,
            description="MLflow relay: logs monitoring run records to the MLflow App",
            environment={
                "MLFLOW_TRACKING_ARN": target.arn,
                "RUN_RECORDS_BUCKET": records.bucket_name,
                **TELEMETRY_OFF,
            },
            network=None,
            logs_key=logs_key,
            queue_key=queue_key,
            reserved_concurrency=reserved_concurrency,
            dependencies=self.layer,
        )
        acknowledge_in_frameworks(self.handler.function, "LambdaInsideVPC", OUTSIDE_VPC_REASON)
        self.handler.dead_letters.alarm_on_depth(
            alerts, what="MLflow relay (monitoring runs not logged to the MLflow App)"
        )
        self._grant(target, records)
        self._send_bucket_events(records)
        self.rule = events.Rule(
            self,
            "RecordWritten",
            description="Monitoring run records written to mlflow-runs/ of the monitoring "
            "bucket, to the MLflow relay",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [records.bucket_name]},
                    "object": {"key": [{"prefix": RUN_RECORDS_PREFIX}]},
                },
            ),
            targets=[self.handler.target(dead_letter_queue=routing_dead_letters)],
        )

    def _grant(self, target: MlflowTarget, records: GovernedBucket) -> None:
        role = self.handler.role
        objects = records.bucket.arn_for_objects(f"{RUN_RECORDS_PREFIX}*")
        role.add_to_policy(
            iam.PolicyStatement(sid="ReadRunRecords", actions=["s3:GetObject"], resources=[objects])
        )
        records.key.grant_decrypt(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="LogToTheMlflowApp",
                actions=list(target.logging_actions),
                resources=[target.arn],
            )
        )
        acknowledge_wildcards(
            role,
            resources=[nag_string(records.bucket.stack, objects)],
            reason="Run records are written per check run under mlflow-runs/<experiment>/; "
            "the relay only reads objects under that prefix of the monitoring bucket.",
        )

    @staticmethod
    def _send_bucket_events(records: GovernedBucket) -> None:
        """Turn on the bucket's EventBridge notifications in the bucket itself
        (``NotificationConfiguration.EventBridgeConfiguration``), not through aws-cdk-lib's
        notifications custom resource, which would add a function and a role."""
        cfn = records.bucket.node.default_child
        if not isinstance(cfn, s3.CfnBucket):
            raise TypeError(f"{records.node.path} has no AWS::S3::Bucket")
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
