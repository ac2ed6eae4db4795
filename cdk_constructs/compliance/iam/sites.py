"""Every IAM policy a synthesized app declares, resolved, with what it is attached to.

A *policy site* is one policy document in one resource: a role's trust policy or inline
policy, a managed policy (which may serve as a permissions boundary), a key policy, a bucket,
topic or queue policy, a model package group policy, or a Lambda permission (read as the
one-statement resource policy it adds to the function).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cdk_constructs.compliance.iam.intrinsics import Resolver
from cdk_constructs.compliance.iam.policy import PolicyDocument


class SiteKind(Enum):
    TRUST = "trust policy"
    INLINE = "inline identity policy"
    MANAGED = "managed policy"
    KEY = "key policy"
    BUCKET = "bucket policy"
    TOPIC = "topic policy"
    QUEUE = "queue policy"
    MODEL_PACKAGE_GROUP = "model package group policy"
    LAMBDA_PERMISSION = "lambda permission"

    @property
    def is_resource_policy(self) -> bool:
        return self not in (SiteKind.INLINE, SiteKind.MANAGED)


@dataclass(frozen=True)
class PolicySite:
    """One resolved policy document and what it protects or is attached to."""

    stack: str
    logical_id: str
    resource_type: str
    kind: SiteKind
    #: The construct path (``aws:cdk:path`` without the stack) or the logical id.
    path: str
    document: PolicyDocument
    #: Resolved JSON of the document, as CloudFormation would send it.
    raw: Mapping[str, Any]
    #: Role names an identity policy is attached to.
    roles: tuple[str, ...] = ()
    #: ARNs of what a resource policy protects (the key, bucket, topic, queue, group...).
    protects: tuple[str, ...] = ()
    #: The ARN a managed policy has (roles refer to it for attachment and as boundary).
    arn: str | None = None

    @property
    def where(self) -> str:
        return f"{self.stack}/{self.path} ({self.kind.value})"


def construct_path(template_resource: Mapping[str, Any], stack: str, logical_id: str) -> str:
    """``Personas/DataScientist/Resource`` for a resource with path metadata, else its id."""
    path = template_resource.get("Metadata", {}).get("aws:cdk:path")
    if isinstance(path, str) and path.startswith(f"{stack}/"):
        return path.removeprefix(f"{stack}/")
    return logical_id


def collect_policy_sites(resolver: Resolver) -> list[PolicySite]:
    """Every policy of every created resource of every stack, intrinsics resolved."""
    sites: list[PolicySite] = []
    for stack in resolver.assembly:
        for logical_id, resource in stack.resources.items():
            if not resolver.is_created(stack.name, logical_id):
                continue
            sites.extend(_sites_of(resolver, stack.name, logical_id, resource))
    return sites


def _document(raw: Any) -> Mapping[str, Any]:
    parsed: Mapping[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
    return parsed


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _sites_of(
    resolver: Resolver, stack: str, logical_id: str, resource: Mapping[str, Any]
) -> Iterator[PolicySite]:
    resource_type = resource["Type"]
    path = construct_path(resource, stack, logical_id)

    def site(kind: SiteKind, raw: Any, suffix: str = "", **extra: Any) -> PolicySite:
        raw_document = _document(raw)
        name = f"{path}{suffix}"
        return PolicySite(
            stack=stack,
            logical_id=logical_id,
            resource_type=resource_type,
            kind=kind,
            path=name,
            document=PolicyDocument.parse(raw_document, name=name),
            raw=raw_document,
            **extra,
        )

    if resource_type not in _HANDLED:
        return
    props = resolver.resolved_properties(stack, logical_id)
    identity = resolver.resource(stack, logical_id)
    if resource_type == "AWS::IAM::Role":
        yield site(
            SiteKind.TRUST,
            props["AssumeRolePolicyDocument"],
            "#trust",
            protects=tuple(_as_list(identity.attributes["Arn"])),
        )
        for inline in props.get("Policies", []):
            yield site(
                SiteKind.INLINE,
                inline["PolicyDocument"],
                f"#{inline.get('PolicyName', 'inline')}",
                roles=(identity.name,),
            )
    elif resource_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        kind = SiteKind.MANAGED if resource_type == "AWS::IAM::ManagedPolicy" else SiteKind.INLINE
        yield site(
            kind,
            props["PolicyDocument"],
            roles=tuple(_as_list(props.get("Roles"))),
            arn=identity.ref if kind is SiteKind.MANAGED else None,
        )
    elif resource_type == "AWS::KMS::Key" and "KeyPolicy" in props:
        yield site(SiteKind.KEY, props["KeyPolicy"], protects=(identity.attributes["Arn"],))
    elif resource_type == "AWS::S3::BucketPolicy":
        bucket = str(props["Bucket"])
        arn = f"arn:{resolver.assembly.stack(stack).partition}:s3:::{bucket}"
        yield site(SiteKind.BUCKET, props["PolicyDocument"], protects=(arn, f"{arn}/*"))
    elif resource_type == "AWS::SNS::TopicPolicy":
        yield site(SiteKind.TOPIC, props["PolicyDocument"], protects=tuple(props["Topics"]))
    elif resource_type == "AWS::SQS::QueuePolicy":
        arns = tuple(
            _queue_arn(url, resolver.assembly.stack(stack).partition) for url in props["Queues"]
        )
        yield site(SiteKind.QUEUE, props["PolicyDocument"], protects=arns)
    elif (
        resource_type == "AWS::SageMaker::ModelPackageGroup" and "ModelPackageGroupPolicy" in props
    ):
        group = identity.attributes["ModelPackageGroupArn"]
        versions = group.replace(":model-package-group/", ":model-package/") + "/*"
        yield site(
            SiteKind.MODEL_PACKAGE_GROUP,
            props["ModelPackageGroupPolicy"],
            protects=(group, versions),
        )
    elif resource_type == "AWS::Lambda::Permission":
        yield site(
            SiteKind.LAMBDA_PERMISSION,
            _lambda_permission_statement(props),
            protects=(str(props["FunctionName"]),),
        )


_HANDLED = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::KMS::Key",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::Lambda::Permission",
    }
)


def _queue_arn(url: str, partition: str) -> str:
    """``https://sqs.<region>.<suffix>/<account>/<name>`` -> the queue's ARN."""
    host, account, name = url.removeprefix("https://").split("/")
    region = host.split(".")[1]
    return f"arn:{partition}:sqs:{region}:{account}:{name}"


def _lambda_permission_statement(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The statement ``AddPermission`` writes into the function's resource policy."""
    principal = str(props["Principal"])
    if principal.endswith(".amazonaws.com"):
        principal_element: Any = {"Service": principal}
    else:
        principal_element = {"AWS": principal}
    conditions: dict[str, dict[str, str]] = {}
    if "SourceArn" in props:
        conditions["ArnLike"] = {"AWS:SourceArn": str(props["SourceArn"])}
    if "SourceAccount" in props:
        conditions["StringEquals"] = {"AWS:SourceAccount": str(props["SourceAccount"])}
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal_element,
        "Action": props["Action"],
        "Resource": str(props["FunctionName"]),
    }
    if conditions:
        statement["Condition"] = conditions
    return {"Version": "2012-10-17", "Statement": [statement]}
