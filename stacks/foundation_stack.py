"""Per-environment foundation: keys, buckets, network, identity and the alert topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Duration, Fn, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.alerts import GovernanceAlerts
from cdk_constructs.audit import GovernanceTrail
from cdk_constructs.compliance.declarations import declare_audit_policy
from cdk_constructs.encryption import DataDomain, GovernanceKeys
from cdk_constructs.handlers import GovernanceHandlers, HandlerNetwork
from cdk_constructs.identity import JobExecutionRoles, PermissionsBoundary, PersonaRoles
from cdk_constructs.network import IsolatedMlNetwork
from cdk_constructs.role_boundary import GovernanceBoundary
from cdk_constructs.storage import AccessLogBucket, GovernedBucket
from config.model import GovernancePolicy, HandlerSettings, ObjectLockMode


class FoundationStack(Stack):
    """Everything the governed models share in one environment.

    It owns every key and every IAM principal, so key policies can name the principals that use
    each key without cross-stack cycles; model stacks only reference what it exports.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy: GovernancePolicy,
        governed_groups: Sequence[str],
        resource_prefix: str,
        retraining_pipelines: Sequence[str] = (),
        availability_zones: Sequence[str] | None = None,
        handler_settings: HandlerSettings | None = None,
        **kwargs: Any,
    ) -> None:
        self._zones = list(availability_zones) if availability_zones else None
        super().__init__(scope, construct_id, **kwargs)
        self.boundary = PermissionsBoundary(self, "PermissionsBoundary")
        self.role_boundary = GovernanceBoundary(
            self.boundary.policy, name=f"{resource_prefix}-permissions-boundary"
        )
        self.role_boundary.apply(self)
        declare_audit_policy(
            self,
            retention_days=policy.audit_retention_days,
            object_lock_mode=policy.audit_object_lock_mode.value,
        )

        self.keys = GovernanceKeys(self, "Keys", alias_prefix=resource_prefix)
        self.access_logs = AccessLogBucket(self, "AccessLogs")

        def bucket(bucket_id: str, domain: DataDomain, **props: Any) -> GovernedBucket:
            return GovernedBucket(
                self,
                bucket_id,
                key=self.keys[domain],
                access_logs=self.access_logs.bucket,
                **props,
            )

        self.artifacts = bucket("Artifacts", DataDomain.ARTIFACTS)
        self.data_capture = bucket("DataCapture", DataDomain.DATA_CAPTURE)
        self.monitoring_reports = bucket("MonitoringReports", DataDomain.MONITORING)
        retention = Duration.days(policy.audit_retention_days)
        self.audit = bucket(
            "Audit",
            DataDomain.AUDIT,
            object_lock_retention=(
                s3.ObjectLockRetention.compliance(retention)
                if policy.audit_object_lock_mode is ObjectLockMode.COMPLIANCE
                else s3.ObjectLockRetention.governance(retention)
            ),
            transition_to_infrequent_access=None,
        )

        self.network = IsolatedMlNetwork(
            self,
            "Network",
            flow_log_key=self.keys[DataDomain.LOGS],
            availability_zones=availability_zones,
        )

        self.job_roles = JobExecutionRoles(self, "JobRoles", vpc=self.network.vpc)
        self.artifacts.grant_read(self.job_roles.training, "data/*")
        self.artifacts.grant_read_write(self.job_roles.training, "models/*")
        self.artifacts.grant_read(self.job_roles.processing, "data/*")
        self.artifacts.grant_read_write(self.job_roles.processing, "processing/*")
        self.artifacts.grant_read(self.job_roles.monitoring, "baselines/*")
        self.data_capture.grant_read(self.job_roles.monitoring)
        self.monitoring_reports.grant_read_write(self.job_roles.monitoring)
        # Jobs and endpoint instances encrypt their ML storage volumes with the domain key.
        self.keys[DataDomain.MONITORING].grant_volume_encryption(self.job_roles.monitoring)
        self.keys[DataDomain.ARTIFACTS].grant_volume_encryption(self.job_roles.training)
        self.keys[DataDomain.ARTIFACTS].grant_volume_encryption(self.job_roles.processing)
        self.keys[DataDomain.DATA_CAPTURE].grant_volume_encryption(self.job_roles.inference)

        self.personas = PersonaRoles(
            self,
            "Personas",
            governed_groups=governed_groups,
            job_roles=self.job_roles.all,
        )
        p = self.personas
        self.artifacts.grant_read_write(p.data_scientist)
        self.artifacts.grant_read(p.mlops_engineer)
        self.monitoring_reports.grant_read(p.mlops_engineer)
        self.artifacts.grant_read(p.model_approver)
        self.monitoring_reports.grant_read(p.model_approver)
        self.audit.grant_read(p.auditor)
        self.audit.grant_read(p.model_approver, "ledger/*")

        self.alerts = GovernanceAlerts(
            self, "Alerts", key=self.keys[DataDomain.ALERTS], emails=policy.alert_emails
        )

        self.trail = GovernanceTrail(
            self,
            "Trail",
            bucket=self.audit,
            key=self.keys[DataDomain.AUDIT],
            logs_key=self.keys[DataDomain.LOGS],
        )

        self.handlers = GovernanceHandlers(
            self,
            "Handlers",
            network=HandlerNetwork(
                vpc=self.network.vpc,
                subnets=self.network.subnets,
                security_group=self.network.job_security_group,
            ),
            audit_key=self.keys[DataDomain.AUDIT],
            logs_key=self.keys[DataDomain.LOGS],
            queue_key=self.keys[DataDomain.ALERTS],
            audit=self.audit,
            evidence=[self.artifacts, self.monitoring_reports],
            monitoring_reports=self.monitoring_reports,
            alerts=self.alerts,
            governed_groups=list(governed_groups),
            retraining_pipelines=list(retraining_pipelines),
            reserved_concurrency=handler_settings.reserved_concurrency
            if handler_settings
            else None,
            powertools_layer_arn=handler_settings.powertools_layer_arn
            if handler_settings
            else None,
        )

    @property
    @jsii.member(jsii_name="availabilityZones")
    def availability_zones(self) -> list[str]:
        """Configured zones, so CDK never looks them up (a lookup needs AWS credentials)."""
        if self._zones:
            return self._zones
        # The region's first two zones, resolved by CloudFormation: a concrete environment would
        # otherwise make CDK look them up, which needs AWS credentials at synth.
        return [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]
