"""Claims → rules: every control README.md and ARCHITECTURE.md promise, and what enforces it.

Each :class:`Claim` quotes the exact words of the promise (a test finds them in the named file,
so a reworded promise is re-reviewed here) and lists the rules that fail ``cdk synth`` when the
control is weakened: our Governance rules and error-level rules of the registered public packs
(a test checks each id against the pinned cdk-nag's own catalogue; warnings do not fail the
gate and are named in ``elsewhere`` instead). What no synth rule can check is said in
``elsewhere`` (a run-time check and its tests) and what nothing enforces yet in ``gap``, for
the coordinator.

Stable ``claim_id`` values are the keys the mutation suite (one weakening per claim) and the
governance report's claims table plug into; the pack manifest carries this table into
``cdk.out``.
"""

from __future__ import annotations

from dataclasses import dataclass

README = "README.md"
ARCHITECTURE = "ARCHITECTURE.md"


@dataclass(frozen=True)
class Claim:
    """One promised control and what enforces it."""

    claim_id: str
    control: str
    source: str
    quote: str
    rules: tuple[str, ...] = ()
    elsewhere: str | None = None
    gap: str | None = None

    @property
    def status(self) -> str:
        """``enforced`` (rules, no gap), ``partial`` (rules and a gap), ``elsewhere`` (no synth
        rule can check it; enforced at run time or by a test) or ``open`` (a gap, no rule)."""
        if self.rules:
            return "partial" if self.gap else "enforced"
        return "open" if self.gap else "elsewhere"


CLAIMS: tuple[Claim, ...] = (
    # Encryption with our keys
    Claim(
        "ENC-1",
        "Encryption with our keys",
        README,
        "one customer-managed KMS key per data domain",
        rules=(
            "Governance-MC1",
            "Governance-EPC1",
            "Governance-EPC2",
            "Governance-MJD4",
            "Governance-MJD5",
            "Governance-DDB3",
            "Governance-AUD2",
            "Governance-KEY1",
            "Governance-PIP3",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "NIST.800.53.R5-SNSEncryptedKMS",
            "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
            "NIST.800.53.R5-CloudTrailEncryptionEnabled",
            "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        ),
        elsewhere="KEY1 requires a key of ours on every bucket, topic, queue and log group "
        "(the public rules accept the AWS managed aws/s3 or aws/sns key); the server access "
        "log bucket is exempt because S3 delivers access logs only to SSE-S3 buckets. The "
        "SageMaker key properties (MC1, EPC1/2, MJD4/5) are checked for presence.",
    ),
    Claim(
        "ENC-2",
        "Key rotation",
        README,
        "rotation on, aliased",
        rules=("AwsSolutions-KMS5", "NIST.800.53.R5-KMSBackingKeyRotationEnabled"),
    ),
    Claim(
        "ENC-3",
        "Key use only by named principals",
        README,
        "key policies let the account administer but not use a key",
        rules=("Governance-KMS1",),
        elsewhere="tests/iam: the expectations table evaluates each workload's and persona's "
        "key use through identity policy, boundary and key policy.",
    ),
    # Storage
    Claim(
        "STO-1",
        "TLS-only storage",
        README,
        "TLS 1.2+ only",
        rules=(
            "Governance-TLS1",
            "AwsSolutions-S10",
            "NIST.800.53.R5-S3BucketSSLRequestsOnly",
        ),
    ),
    Claim(
        "STO-2",
        "No public buckets",
        README,
        "public access blocked",
        rules=("AwsSolutions-S2", "NIST.800.53.R5-S3BucketLevelPublicAccessProhibited"),
    ),
    Claim(
        "STO-3",
        "Versioned, KMS-encrypted buckets",
        README,
        "versioned, SSE-KMS with the domain key",
        rules=(
            "NIST.800.53.R5-S3BucketVersioningEnabled",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "Governance-PIP1",
        ),
    ),
    Claim(
        "STO-4",
        "Access-logged, retained evidence stores",
        README,
        "server access logs, retained",
        rules=("Governance-RET1", "AwsSolutions-S1", "NIST.800.53.R5-S3BucketLoggingEnabled"),
    ),
    # Immutability of audit evidence
    Claim(
        "AUD-1",
        "Immutability of audit evidence",
        README,
        "the audit bucket has Object Lock (mode and retention from config)",
        rules=("Governance-AUD1",),
    ),
    Claim(
        "AUD-2",
        "Immutability of audit evidence",
        README,
        "cannot be shortened by anyone",
        rules=("Governance-AUD1",),
        elsewhere="COMPLIANCE mode itself is S3's guarantee; AUD1 requires at least the "
        "config's mode (COMPLIANCE in the default).",
    ),
    Claim(
        "AUD-3",
        "Audit ledger",
        README,
        "the audit ledger (DynamoDB, PITR, KMS, hash-chained records mirrored to the "
        "Object-Lock bucket)",
        rules=(
            "Governance-DDB1",
            "Governance-DDB2",
            "Governance-DDB3",
            "Governance-AUD1",
            "Governance-TAG1",
            "NIST.800.53.R5-DynamoDBPITREnabled",
        ),
        elsewhere="The hash chain and the mirror are written by the ledger handler at run "
        "time (tests/handlers) and verified by `make verify-ledger`.",
    ),
    Claim(
        "AUD-4",
        "Append-only ledger",
        ARCHITECTURE,
        "no record can be overwritten and a duplicate event is recorded once",
        elsewhere="Run time: the ledger handler's conditional transaction (tests/handlers).",
    ),
    Claim(
        "AUD-5",
        "Tamper-evident ledger",
        ARCHITECTURE,
        "Each record carries the SHA-256 hash",
        elsewhere="Run time: the ledger handler and `make verify-ledger` (tests/handlers).",
    ),
    Claim(
        "AUD-6",
        "API activity recorded",
        README,
        "a CloudTrail trail with log-file validation into the audit bucket",
        rules=(
            "Governance-CT1",
            "Governance-CT2",
            "Governance-AUD1",
            "Governance-AUD2",
            "NIST.800.53.R5-CloudTrailLogFileValidationEnabled",
        ),
    ),
    Claim(
        "AUD-7",
        "API activity recorded",
        ARCHITECTURE,
        "CloudTrail (multi-region, log-file validation, KMS, into the audit bucket and a "
        "KMS-encrypted log group)",
        rules=(
            "Governance-CT1",
            "Governance-CT2",
            "Governance-CT3",
            "NIST.800.53.R5-CloudTrailEncryptionEnabled",
            "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled",
            "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        ),
    ),
    # Network
    Claim(
        "NET-1",
        "Isolated network",
        README,
        "no internet or NAT gateway",
        rules=(
            "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
            "NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled",
            "Governance-NET1",
            "Governance-MDL1",
            "Governance-MDL2",
            "Governance-MJD1",
            "Governance-MJD3",
            "Governance-PIP3",
            "NIST.800.53.R5-LambdaInsideVPC",
        ),
    ),
    Claim(
        "NET-2",
        "Network monitoring",
        README,
        "flow logs to a KMS-encrypted log group",
        rules=(
            "AwsSolutions-VPC7",
            "NIST.800.53.R5-VPCFlowLogsEnabled",
            "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        ),
    ),
    # Separation of duties and least privilege
    Claim(
        "SOD-1",
        "Separation of duties",
        README,
        "data scientist (registers, cannot approve)",
        rules=("Governance-SOD1",),
        elsewhere="Run time: the approval gate rejects an approval by the registrant, and "
        "checks who approved the model card, which IAM cannot (no condition key for the card "
        "status) (ARCHITECTURE.md, separation of duties; tests/handlers).",
    ),
    Claim(
        "SOD-2",
        "Separation of duties",
        README,
        "model approver (approves, cannot create or delete versions)",
        rules=("Governance-SOD2",),
    ),
    Claim(
        "SOD-3",
        "Read-only audit",
        README,
        "auditor (read-only)",
        rules=("Governance-SOD3",),
    ),
    Claim(
        "SOD-4",
        "Separation of duties",
        ARCHITECTURE,
        "an approver different from the",
        elsewhere="Run time: the approval gate's separate_approver check (tests/handlers).",
    ),
    Claim(
        "IAM-1",
        "Boundaries on every role",
        README,
        "one permissions boundary on every role",
        rules=("Governance-IAM1", "Governance-PIP2"),
        elsewhere="Applied by cdk_constructs/role_boundary.py to every stack, the roles of "
        "CDK's own custom-resource providers included.",
    ),
    Claim(
        "IAM-2",
        "No inline grants",
        README,
        "grants land in managed policies, never inline",
        rules=(
            "Governance-IAM2",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "HIPAA.Security-IAMNoInlinePolicy",
            "PCI.DSS.321-IAMNoInlinePolicy",
        ),
        elsewhere="IAM2 reads every role in the template, the plain-CfnResource roles of "
        "CDK's own custom-resource providers included (cdk-nag sees typed L1 roles only). One "
        "acknowledged exception: CDK's Custom::VpcRestrictDefaultSG provider role, whose inline "
        "policy aws-cdk-lib always writes; it names only the VPC's default security group and "
        "the boundary caps it (cdk_constructs/network.py).",
    ),
    Claim(
        "IAM-3",
        "Least privilege",
        ARCHITECTURE,
        "Key policies name each principal",
        rules=("Governance-KMS1",),
    ),
    # Nothing dropped silently
    Claim(
        "DLV-1",
        "Nothing dropped silently",
        ARCHITECTURE,
        "Nothing is dropped silently.",
        rules=(
            "Governance-ASY1",
            "Governance-ASY2",
            "Governance-ASY3",
            "Governance-EVB1",
            "Governance-MPG5",
            "Serverless-EventBusDLQ",
            "Serverless-LambdaDLQ",
            "Serverless-SNSRedrivePolicy",
            "NIST.800.53.R5-LambdaDLQ",
        ),
    ),
    Claim(
        "DLV-2",
        "Failures are seen",
        ARCHITECTURE,
        "every dead-letter",
        rules=(
            "Governance-ASY4",
            "Governance-ALM1",
            "NIST.800.53.R5-CloudWatchAlarmAction",
        ),
    ),
    Claim(
        "DLV-3",
        "Nothing dropped silently",
        README,
        "a dead-letter queue for undeliverable alerts",
        rules=("Governance-ASY2", "Serverless-SNSRedrivePolicy"),
    ),
    Claim(
        "DLV-4",
        "Nothing dropped silently",
        README,
        "with retries and an encrypted dead-letter queue",
        rules=(
            "Governance-ASY1",
            "Governance-EVB1",
            "Governance-MPG5",
            "Governance-MPG7",
            "AwsSolutions-SQS2",
            "AwsSolutions-SQS4",
        ),
    ),
    Claim(
        "DLV-5",
        "Idempotent handlers",
        ARCHITECTURE,
        "Handlers are idempotent.",
        elsewhere="Run time: Powertools idempotency and the ledger's conditional write "
        "(tests/handlers).",
    ),
    # Handlers
    Claim(
        "HND-1",
        "Handlers contained, traced and dead-lettered",
        README,
        "in the VPC, traced, with dead-letter queues and depth alarms",
        rules=(
            "NIST.800.53.R5-LambdaInsideVPC",
            "Governance-LMB1",
            "Governance-ASY3",
            "Governance-ASY4",
            "NIST.800.53.R5-LambdaDLQ",
        ),
        elsewhere="Serverless-LambdaTracing also reports untraced functions, as a warning "
        "that does not fail the gate.",
    ),
    # Registry, documentation and approval
    Claim(
        "REG-1",
        "Model inventory",
        README,
        "retained, tagged owner/risk tier/classification, shared read-only with",
        rules=("Governance-MPG1", "Governance-MPG2", "Governance-MPG3"),
    ),
    Claim(
        "REG-2",
        "Model documentation",
        README,
        "a Draft model card built from config",
        rules=("Governance-MPG4", "Governance-MC1"),
    ),
    Claim(
        "REG-3",
        "Approval on evidence",
        README,
        "the approval policy the gate reads",
        rules=("Governance-MPG6",),
        elsewhere="Run time: the approval gate reads the policy parameter and fails closed "
        "without it (tests/handlers).",
    ),
    # Serving and monitoring
    Claim(
        "SRV-1",
        "Secure serving with capture",
        README,
        "the approved package version as a model with network isolation in the VPC, an "
        "endpoint config with KMS and data capture",
        rules=(
            "Governance-MDL1",
            "Governance-MDL2",
            "Governance-EPC1",
            "Governance-EPC2",
            "Governance-EPC3",
            "Governance-TAG1",
            "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        ),
        elsewhere="'Approved' is checked when the stack deploys: the package-baselines custom "
        "resource (account stream, issue 9 item 11).",
    ),
    Claim(
        "MON-1",
        "Monitoring in place and running",
        README,
        "data-quality, model-quality, bias-drift and feature-attribution monitors (each "
        "switchable and scheduled by cron)",
        rules=(
            "Governance-EP1",
            "Governance-MS1",
            "Governance-EPC3",
            "Governance-TAG1",
            "Governance-MJD1",
            "Governance-MJD2",
            "Governance-MJD3",
            "Governance-MJD4",
            "Governance-MJD5",
            # The Evidently engine's checks start on EventBridge Scheduler schedules.
            "Governance-SCH1",
        ),
    ),
    Claim(
        "MON-2",
        "Monitoring jobs contained",
        ARCHITECTURE,
        "Every monitoring job runs in the isolated VPC with inter-container traffic encryption, "
        "KMS-encrypted volumes and outputs, a stopping condition, and the monitoring role; every "
        "Model Monitor job also with network isolation",
        rules=(
            "Governance-MJD1",
            "Governance-MJD2",
            "Governance-MJD3",
            "Governance-MJD4",
            "Governance-MJD5",
            # The Evidently engine's checks: processing steps of its pipelines.
            "Governance-PPS1",
            "Governance-PPS2",
            # Bias on SageMaker Clarify (existing Clarify customers): its job network-isolated.
            # Not weakened by a mutation of the default app, which runs bias in the job;
            # tests/monitoring_engines/test_clarify_bias.py weakens it on a synthesized app.
            "Governance-PPS3",
            # Batch scoring: the transform step whose capture the checks read (KMS, capture,
            # the isolated model in the VPC). Not weakened by a mutation of the default app,
            # which has no batch model; tests/compliance_rules/test_batch_rules.py covers them.
            "Governance-TST1",
            "Governance-TST2",
            "Governance-TST3",
        ),
    ),
    Claim(
        "MON-4",
        "Monitoring history in MLflow, least privilege",
        ARCHITECTURE,
        "Governance-MLF1 checks MLflow grants by kind (sagemaker-mlflow actions on whole "
        "tracking-server ARNs only, CallMlflowAppApi on whole App ARNs only)",
        rules=("Governance-MLF1",),
    ),
    Claim(
        "MON-5",
        "Monitoring history in an MLflow tracking server, over PrivateLink only",
        ARCHITECTURE,
        "with an endpoint policy that allows the monitoring role the nine logging actions on "
        "that tracking server only",
        rules=("Governance-MLF2",),
    ),
    Claim(
        "MON-3",
        "Alerts reach people",
        README,
        "alarms to the governance topic",
        rules=("Governance-ALM1", "NIST.800.53.R5-CloudWatchAlarmAction"),
    ),
    # The gate itself
    Claim(
        "GATE-1",
        "Every finding fails the gate",
        ARCHITECTURE,
        "any unacknowledged finding fails synth",
        elsewhere="aws-cdk-lib's validation (failSynthOnValidationErrors) with every "
        "Governance rule at error level; tests/compliance/test_public_packs.py and "
        "tests/app/test_entry_point.py (a construct warning fails the synth).",
    ),
    Claim(
        "GATE-2",
        "Specific, narrow acknowledgments",
        README,
        "Every acknowledgment is made on",
        elsewhere="acknowledge() refuses short reasons at synth; "
        "tests/compliance/test_public_packs.py refuses stack-wide acknowledgments.",
    ),
    Claim(
        "GATE-3",
        "Every finding fails the gate",
        README,
        "the default config synthesizes with zero unacknowledged findings",
        elsewhere="tests/compliance_rules/test_default_app.py and tests/app/test_cli.py.",
    ),
)
