"""Rules for where evidence and data are kept, the network edge, and who alarms notify.

These close claims the public packs only half check (RULES.md, claims table): the public rules
accept any key (an AWS managed ``aws/s3`` key passes ``S3DefaultEncryptionKMS``), check
``aws:SecureTransport`` but not the TLS 1.2 floor, and say nothing of retention, internet
gateways or where an alarm goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Ref,
    Resource,
    Verdict,
    as_list,
    combine,
    dig,
    is_unresolved,
    per_resource,
    verdict_of,
)
from cdk_constructs.compliance.rules.wiring import (
    KMS_KEY,
    LAMBDA_FUNCTION,
    S3_BUCKET,
    Wired,
    json_mapping,
    key_is_customer_managed,
    named,
)

LOG_GROUP = "AWS::Logs::LogGroup"
SNS_TOPIC = "AWS::SNS::Topic"
SQS_QUEUE = "AWS::SQS::Queue"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
ALARM = "AWS::CloudWatch::Alarm"
# Resources that give a VPC a way to the internet (VPC user guide: internet gateways, NAT
# gateways, egress-only internet gateways).
INTERNET_EDGE = (
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
)
# The TLS floor README.md promises (S3 user guide, "Enforcing a minimum TLS version": deny
# when s3:TlsVersion is NumericLessThan the floor).
MINIMUM_TLS = 1.2
RETAINED = frozenset({"Retain", "RetainExceptOnCreate"})


# -- retention -------------------------------------------------------------------------------


def store_retained(store: Resource) -> Verdict:
    """DeletionPolicy Retain (or RetainExceptOnCreate) and UpdateReplacePolicy Retain."""
    return verdict_of(store.deletion_policy in RETAINED and store.update_replace_policy == "Retain")


# -- keys ------------------------------------------------------------------------------------


def _log_destinations(index: AppIndex) -> Wired:
    """Buckets that receive another bucket's server access logs."""

    def build(built: AppIndex) -> Wired:
        found = Wired(frozenset())
        for bucket in built.of_type(S3_BUCKET):
            target = bucket.get("LoggingConfiguration", "DestinationBucketName")
            if target is None:
                continue
            if is_unresolved(target) and not isinstance(target, Ref):
                found = found | Wired(frozenset(), unsure=True)
                continue
            found = found | named(target, bucket, built, S3_BUCKET, "BucketName")
        return found

    return index.derived("stores:log-destinations", build)


def bucket_key_verdict(bucket: Resource, index: AppIndex) -> Verdict:
    """Every ServerSideEncryptionByDefault is aws:kms or aws:kms:dsse with a customer
    managed key of the app."""
    rules = bucket.get("BucketEncryption", "ServerSideEncryptionConfiguration")
    if rules is None:
        return Verdict.NON_COMPLIANT  # S3's default: SSE-S3, an AWS owned key
    if is_unresolved(rules):
        return Verdict.UNDECIDABLE
    verdicts = []
    for rule in as_list(rules):
        default = dig(rule, "ServerSideEncryptionByDefault")
        algorithm = dig(default, "SSEAlgorithm")
        if is_unresolved(algorithm):
            verdicts.append(Verdict.UNDECIDABLE)
            continue
        verdicts.append(verdict_of(algorithm in ("aws:kms", "aws:kms:dsse")))
        key = dig(default, "KMSMasterKeyID")
        verdicts.append(verdict_of(key_is_customer_managed(key, bucket, index)))
    return combine(verdicts) if verdicts else Verdict.NON_COMPLIANT


_KEY_PROPERTY = {SNS_TOPIC: "KmsMasterKeyId", SQS_QUEUE: "KmsMasterKeyId", LOG_GROUP: "KmsKeyId"}


def store_encrypted_with_our_key(store: Resource, index: AppIndex) -> Verdict:
    """A bucket defaults to SSE-KMS, a topic, queue or log group names its KMS key, and the key
    is a customer managed key of the app (an AWS::KMS::Key or its alias), not an AWS owned or
    AWS managed key. Exempt: a bucket that receives server access logs, which S3 delivers only
    to buckets encrypted with SSE-S3."""
    if store.type == S3_BUCKET:
        destinations = _log_destinations(index)
        if store.path in destinations.found:
            return Verdict.NOT_APPLICABLE
        verdict = bucket_key_verdict(store, index)
        if verdict is Verdict.NON_COMPLIANT and destinations.unsure:
            return Verdict.UNDECIDABLE  # it may be a log destination nobody can name
        return verdict
    return verdict_of(key_is_customer_managed(store.get(_KEY_PROPERTY[store.type]), store, index))


# -- TLS -------------------------------------------------------------------------------------


def _everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*")


def _denies_all_s3(statement: Mapping[str, Any]) -> bool:
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    return (
        statement.get("Effect") == "Deny"
        and _everyone(statement.get("Principal"))
        and any(a in ("s3:*", "*") for a in actions)
    )


def _names_bucket(value: Any, bucket: Resource) -> bool:
    if isinstance(value, Ref):
        return value.target_path == bucket.path
    if isinstance(value, str):
        return value == "*"
    if isinstance(value, Mapping):
        return any(_names_bucket(v, bucket) for v in value.values())
    if isinstance(value, list):
        return any(_names_bucket(v, bucket) for v in value)
    return False


def _floor(value: Any) -> float | None:
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None


def _tls_denies(statement: Mapping[str, Any]) -> tuple[bool, bool]:
    """``(denies plain HTTP, denies TLS below the floor)`` for one statement."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False, False
    plain = str(dig(condition, "Bool", "aws:SecureTransport")).lower() == "false"
    floor = _floor(dig(condition, "NumericLessThan", "s3:TlsVersion"))
    return plain, floor is not None and floor >= MINIMUM_TLS


def bucket_requires_tls(bucket: Resource, index: AppIndex) -> Verdict:
    """The bucket's policy (an AWS::S3::BucketPolicy whose Bucket refers to it) denies s3:* to
    every principal on the bucket both when aws:SecureTransport is false and when
    s3:TlsVersion is NumericLessThan 1.2 or more."""
    plain = floor = unsure = False
    for policy in index.peers(bucket, BUCKET_POLICY):
        target = policy.get("Bucket")
        if not (isinstance(target, Ref) and target.target_path == bucket.path):
            name = bucket.get("BucketName")
            if not (isinstance(target, str) and isinstance(name, str) and target == name):
                continue
        document = json_mapping(policy.get("PolicyDocument"))
        if document is None:
            unsure = True
            continue
        for statement in as_list(document.get("Statement")):
            if not isinstance(statement, Mapping) or not _denies_all_s3(statement):
                continue
            if not _names_bucket(statement.get("Resource"), bucket):
                continue
            denies_plain, denies_old = _tls_denies(statement)
            plain, floor = plain or denies_plain, floor or denies_old
    if plain and floor:
        return Verdict.COMPLIANT
    return Verdict.UNDECIDABLE if unsure else Verdict.NON_COMPLIANT


# -- network edge, alarms --------------------------------------------------------------------


def no_internet_edge(_resource: Resource) -> Verdict:
    """The app declares no internet gateway, NAT gateway or egress-only internet gateway."""
    return Verdict.NON_COMPLIANT


# The handlers' contract (lambda/governance/lambda_runtime.py reads it): the
# topic they alert is the governance topic.
ALERT_TOPIC_VARIABLE = "ALERT_TOPIC_ARN"


def governance_topics(index: AppIndex) -> frozenset[str]:
    """The topics the app's handlers alert (their ``ALERT_TOPIC_ARN`` variable)."""

    def build(built: AppIndex) -> frozenset[str]:
        found = set()
        for function in built.of_type(LAMBDA_FUNCTION):
            target = built.resolve(function.get("Environment", "Variables", ALERT_TOPIC_VARIABLE))
            if target is not None and target.type == SNS_TOPIC:
                found.add(target.path)
        return frozenset(found)

    return index.derived("stores:governance-topics", build)


def alarm_notifies_app_topic(alarm: Resource, index: AppIndex) -> Verdict:
    """AlarmActions include a reference to the governance topic: the SNS topic the app's
    handlers alert (ALERT_TOPIC_ARN), or, in an app without handlers, any topic it declares."""
    actions = alarm.get("AlarmActions")
    if is_unresolved(actions) and not isinstance(actions, Ref):
        return Verdict.UNDECIDABLE
    wanted = governance_topics(index)
    unsure = False
    for action in as_list(actions):
        target = index.resolve(action)
        is_topic = target is not None and target.type == SNS_TOPIC
        if is_topic and target is not None and (not wanted or target.path in wanted):
            return Verdict.COMPLIANT
        unsure = unsure or (is_unresolved(action) and not isinstance(action, Ref))
    return Verdict.UNDECIDABLE if unsure else Verdict.NON_COMPLIANT


_EVIDENCE = "AU-9", "AU-11", "SI-12"

RULES = (
    GovernanceRule(
        rule_id="RET1",
        resource_types=(S3_BUCKET, KMS_KEY, LOG_GROUP),
        title="Buckets, keys and log groups are retained",
        info="The bucket, KMS key or log group does not have DeletionPolicy Retain (or "
        "RetainExceptOnCreate) and UpdateReplacePolicy Retain.",
        explanation="Buckets and log groups hold governance evidence, and every encrypted "
        "record is unreadable once its key is gone: deleting the stack or replacing the "
        "resource must never delete them.",
        undecidable="Never: the policies are literal template attributes.",
        nist_800_53=_EVIDENCE,
        sr_11_7="VI (documentation, audit)",
        eu_ai_act="Art. 18 (documentation keeping), Art. 19 (automatically generated logs)",
        check=per_resource(store_retained),
    ),
    GovernanceRule(
        rule_id="KEY1",
        resource_types=(S3_BUCKET, SNS_TOPIC, SQS_QUEUE, LOG_GROUP),
        title="Stores are encrypted with our keys",
        info="The bucket (unless it receives server access logs), topic, queue or log group is "
        "not encrypted with a customer managed key of the app: SSE-S3, an AWS managed key "
        "(alias/aws/...), or no key.",
        explanation="With a customer managed key, who may read governed data and evidence is "
        "set by a key policy that names each principal (KMS1) and every use is logged; an AWS "
        "managed key lets any principal of the account with access to the store read it.",
        undecidable="The key is a literal ARN or parameter that cannot be told apart from an "
        "AWS managed key at synth time, or a bucket may be an unnamed log destination.",
        nist_800_53=("SC-28", "SC-12", "SC-28(1)"),
        check=store_encrypted_with_our_key,
    ),
    GovernanceRule(
        rule_id="TLS1",
        resource_types=(S3_BUCKET,),
        title="Buckets refuse plain HTTP and TLS below 1.2",
        info="The bucket's policy does not deny s3:* to every principal both when "
        "aws:SecureTransport is false and when s3:TlsVersion is below 1.2.",
        explanation="Model artifacts, captured inference data and audit evidence travel only "
        "over TLS 1.2 or later; the public rules check aws:SecureTransport but not the floor.",
        undecidable="The bucket policy is known only at deploy time.",
        nist_800_53=("SC-8", "SC-8(1)", "SC-13"),
        check=bucket_requires_tls,
    ),
    GovernanceRule(
        rule_id="NET1",
        resource_types=INTERNET_EDGE,
        title="No way to the internet",
        info="The app declares an internet gateway, NAT gateway or egress-only internet gateway.",
        explanation="Jobs, endpoints and handlers reach AWS services only through VPC "
        "endpoints; a gateway to the internet would let captured data or model artifacts "
        "leave the isolated network.",
        undecidable="Never: the resource type is literal.",
        nist_800_53=("SC-7", "SC-7(5)", "AC-4"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=per_resource(no_internet_edge),
    ),
    GovernanceRule(
        rule_id="ALM1",
        resource_types=(ALARM,),
        title="Alarms notify the governance topic",
        info="The CloudWatch alarm's AlarmActions do not include the governance topic (the "
        "topic the handlers alert through ALERT_TOPIC_ARN; without handlers, any topic the app "
        "declares).",
        explanation="An alarm (drift, quality, bias, a dead-letter queue filling up) that "
        "notifies nobody, or a topic outside the app's alerting, is a control that fails "
        "silently.",
        undecidable="AlarmActions is known only at deploy time.",
        nist_800_53=("SI-4", "IR-6"),
        sr_11_7="VI (ongoing monitoring)",
        check=alarm_notifies_app_topic,
    ),
)
