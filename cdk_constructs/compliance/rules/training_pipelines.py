"""Rules for SageMaker pipelines: where the definition lives, who the pipeline runs as, and
whether every job it starts is hardened.

A pipeline's jobs are not CloudFormation resources: they exist only in its definition, so the
hardening rule reads the definition itself: the inline ``PipelineDefinitionBody``, or the file
CDK staged in the cloud assembly for ``PipelineDefinitionS3Location`` (found through the
pipeline's ``governance:pipeline-definition`` metadata and the ``Custom::CDKBucketDeployment``
it depends on: ``asset.<SourceObjectKeys[0] without .zip>/<file>`` beside the template). A
definition the rule cannot read is ``[Undecidable]``, never a pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdk_constructs.compliance.rules.framework import (
    AppIndex,
    GovernanceRule,
    Resource,
    Verdict,
    as_list,
    dig,
    is_unresolved,
    verdict_of,
)
from cdk_constructs.compliance.rules.identity import IAM_ROLE, has_app_boundary
from cdk_constructs.pipelines.contract import DEFINITION_METADATA_KEY
from cdk_constructs.training.hardening import problems, steps

PIPELINE = "AWS::SageMaker::Pipeline"
S3_BUCKET = "AWS::S3::Bucket"
BUCKET_DEPLOYMENT = "Custom::CDKBucketDeployment"


def _bucket_is_governed(bucket: Resource) -> bool:
    """Versioned, all public access blocked, encrypted with a customer managed KMS key."""
    rules = as_list(bucket.get("BucketEncryption", "ServerSideEncryptionConfiguration"))
    kms = any(
        dig(rule, "ServerSideEncryptionByDefault", "SSEAlgorithm") == "aws:kms"
        and dig(rule, "ServerSideEncryptionByDefault", "KMSMasterKeyID") is not None
        for rule in rules
    )
    versioned = bucket.get("VersioningConfiguration", "Status") == "Enabled"
    blocked = all(
        bucket.get("PublicAccessBlockConfiguration", key) is True
        for key in (
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        )
    )
    return kms and versioned and blocked


def trains(pipeline: Resource, index: AppIndex) -> bool | None:
    """Does the pipeline train or register a model (a Training or RegisterModel step)? ``None``
    when its definition cannot be read. Other pipelines (a monitoring engine's scheduled
    checks) produce no approval evidence and have rules of their own (PPS1-2)."""
    definition = read_definition(pipeline, index)
    if definition is None:
        return None
    return any(step.get("Type") in ("Training", "RegisterModel") for step in steps(definition))


def definition_in_governed_bucket(pipeline: Resource, index: AppIndex) -> Verdict:
    """A training pipeline's PipelineDefinitionS3Location.Bucket is a bucket of the app that is
    versioned, blocks public access and is encrypted with a KMS key (an inline body is not kept
    as evidence)."""
    if trains(pipeline, index) is False:
        return Verdict.NOT_APPLICABLE
    definition = pipeline.get("PipelineDefinition")
    if is_unresolved(definition):
        return Verdict.UNDECIDABLE
    location = dig(definition, "PipelineDefinitionS3Location")
    if location is None:
        return Verdict.NON_COMPLIANT
    bucket = index.resolve(dig(location, "Bucket"))
    if bucket is None:
        if is_unresolved(dig(location, "Bucket")):
            return Verdict.UNDECIDABLE
        return Verdict.NON_COMPLIANT
    return verdict_of(bucket.type == S3_BUCKET and _bucket_is_governed(bucket))


def role_has_boundary(pipeline: Resource, index: AppIndex) -> Verdict:
    """RoleArn is a role of the app that carries the app's permissions boundary."""
    role = index.resolve(pipeline.get("RoleArn"))
    if role is None:
        if is_unresolved(pipeline.get("RoleArn")):
            return Verdict.UNDECIDABLE
        return Verdict.NON_COMPLIANT
    if role.type != IAM_ROLE:
        return Verdict.NON_COMPLIANT
    return has_app_boundary(role, index)


def read_definition(pipeline: Resource, index: AppIndex) -> Mapping[str, Any] | None:
    """The pipeline's definition document, or ``None`` when it cannot be read offline."""
    body = _inline_text(pipeline.get("PipelineDefinition", "PipelineDefinitionBody"))
    if body is not None:
        return _document(body)
    staged = _staged_file(pipeline, index)
    if staged is None:
        return None
    try:
        return _document(staged.read_text())
    except OSError:
        return None


def _inline_text(value: Any) -> str | None:
    """An inline body as JSON text; in an ``Fn::Join`` (``Stack.to_json_string``) each
    deploy-time part becomes a stand-in string, which counts as set."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        if isinstance(separator, str) and isinstance(parts, list):
            return separator.join(p if isinstance(p, str) else "<deploy-time value>" for p in parts)
    return None


def _document(text: str) -> Mapping[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def _staged_file(pipeline: Resource, index: AppIndex) -> Path | None:
    record = pipeline.metadata.get(DEFINITION_METADATA_KEY)
    file = dig(record, "file") if isinstance(record, Mapping) else None
    if not isinstance(file, str) or not pipeline.template_path:
        return None
    deployments = [
        resource
        for resource in index.of_type(BUCKET_DEPLOYMENT)
        if resource.stack == pipeline.stack and resource.logical_id in pipeline.depends_on
    ]
    if len(deployments) != 1:
        return None
    keys = as_list(deployments[0].get("SourceObjectKeys"))
    if not keys or not isinstance(keys[0], str):
        return None
    return Path(pipeline.template_path).parent / f"asset.{keys[0].removesuffix('.zip')}" / file


def job_steps_hardened(pipeline: Resource, index: AppIndex) -> Verdict:
    """Every training, processing, check, transform and model step of the definition is
    hardened (``cdk_constructs.training.hardening``)."""
    definition = read_definition(pipeline, index)
    if definition is None:
        return Verdict.UNDECIDABLE
    if trains(pipeline, index) is False:
        return Verdict.NOT_APPLICABLE
    return verdict_of(not problems(definition))


RULES = (
    GovernanceRule(
        rule_id="PIP1",
        resource_types=(PIPELINE,),
        title="Training pipelines' definitions are kept in a governed bucket",
        info="The training pipeline's definition is inline, or its "
        "PipelineDefinitionS3Location names a bucket that is not one of the app's versioned, "
        "KMS-encrypted, non-public buckets.",
        explanation="The definition is what ran: kept, versioned and encrypted in the governed "
        "artifacts bucket, every version a pipeline ever had can be shown to an auditor.",
        undecidable="The bucket is a parameter or an import nothing in the app exports.",
        nist_800_53=("CM-2", "CM-3", "AU-9"),
        sr_11_7="IV (model development documentation)",
        eu_ai_act="Art. 11 (technical documentation)",
        check=definition_in_governed_bucket,
    ),
    GovernanceRule(
        rule_id="PIP2",
        resource_types=(PIPELINE,),
        title="Pipelines run as a role with the app's permissions boundary",
        info="The pipeline's RoleArn is not a role of the app with the app's permissions boundary.",
        explanation="A pipeline starts jobs and registers versions; its role must be bounded "
        "like every other role of the platform.",
        undecidable="RoleArn is a parameter or an import nothing in the app exports, or the "
        "boundary cannot be resolved.",
        nist_800_53=("AC-6", "AC-3"),
        check=role_has_boundary,
    ),
    GovernanceRule(
        rule_id="PIP3",
        resource_types=(PIPELINE,),
        title="Every job a training pipeline starts is hardened",
        info="A training, processing, check, transform or model step of the training pipeline's "
        "definition lacks KMS on its volume or output, the VPC, network isolation (except "
        "Clarify's shadow-endpoint checks), inter-container encryption or a stopping condition.",
        explanation="A pipeline's jobs exist only in its definition, so no template rule sees "
        "them; they handle the training data and produce the model and its evidence.",
        undecidable="The definition is neither inline nor staged in the cloud assembly where "
        "the pipeline's metadata says.",
        nist_800_53=("SC-28", "SC-7", "SC-8"),
        eu_ai_act="Art. 15 (cybersecurity)",
        check=job_steps_hardened,
    ),
)
