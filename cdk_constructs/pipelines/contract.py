"""Where a governed pipeline's definition is kept and recorded: shared by the construct
(`governed_pipeline`), the rule pack and the report, which read templates and must import
without aws-cdk-lib (no jsii runtime)."""

from __future__ import annotations

DEFINITIONS_PREFIX = "pipelines/"
"""Prefix of the artifacts bucket where pipeline definitions are kept."""
DEFINITION_METADATA_KEY = "governance:pipeline-definition"
"""CloudFormation metadata on the pipeline resource: the definition's file in the cloud assembly
(relative to cdk.out) and its SHA-256, so rules and the report read the definition offline."""
