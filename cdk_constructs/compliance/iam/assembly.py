"""Read a synthesized cloud assembly (``cdk.out``) without importing the CDK.

The manifest says which artifacts are CloudFormation stacks, where their templates are, in
which account and region each deploys, and which bootstrap roles deploy it. That is all the
offline IAM checks need; everything else comes from the templates.

Cloud assembly manifest format: aws-cdk ``packages/@aws-cdk/cloud-assembly-schema``
(``schema/cloud-assembly.schema.json``: ``artifacts.<id>.type == "aws:cloudformation:stack"``,
``environment == "aws://<account>/<region>"``, ``properties.templateFile``,
``properties.cloudFormationExecutionRoleArn``; nested assemblies are ``cdk:cloud-assembly``
artifacts with ``properties.directoryName``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdk_constructs.compliance.iam.errors import AssemblyError
from cdk_constructs.partitions import partition_of

#: What an environment-agnostic stack (``aws://unknown-account/unknown-region``) is read as.
#: AWS's documentation account, so nothing here can be mistaken for a real one.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_STACK_ARTIFACT = "aws:cloudformation:stack"
_NESTED_ASSEMBLY = "cdk:cloud-assembly"


@dataclass(frozen=True)
class StackTemplate:
    """One CloudFormation stack of the assembly: its name, environment and template."""

    name: str
    account: str
    region: str
    template: Mapping[str, Any]
    #: The CDK bootstrap role CloudFormation assumes to deploy this stack, if the manifest says.
    execution_role_arn: str | None = None

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:"
            f"stack/{self.name}/00000000-0000-0000-0000-000000000000"
        )


@dataclass(frozen=True)
class CloudAssembly:
    """The CloudFormation stacks of a synthesized app, by stack name."""

    stacks: Mapping[str, StackTemplate] = field(default_factory=dict)

    def __iter__(self) -> Iterator[StackTemplate]:
        return iter(self.stacks.values())

    def stack(self, name: str) -> StackTemplate:
        try:
            return self.stacks[name]
        except KeyError:
            known = ", ".join(sorted(self.stacks)) or "none"
            raise AssemblyError(
                f"stack {name!r} is not in the assembly (stacks: {known})"
            ) from None

    @classmethod
    def load(
        cls,
        outdir: Path | str,
        *,
        default_account: str = DEFAULT_ACCOUNT,
        default_region: str = DEFAULT_REGION,
    ) -> CloudAssembly:
        """Read ``manifest.json`` in ``outdir`` (and nested assemblies) and every stack template."""
        stacks: dict[str, StackTemplate] = {}
        _load_into(stacks, Path(outdir), default_account, default_region)
        if not stacks:
            raise AssemblyError(f"{outdir}: the cloud assembly has no CloudFormation stack")
        return cls(stacks=stacks)

    @classmethod
    def from_templates(
        cls,
        templates: Mapping[str, Mapping[str, Any]],
        *,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
    ) -> CloudAssembly:
        """Stacks from templates already in memory, all in one environment (tests, tools)."""
        return cls(
            stacks={
                name: StackTemplate(name=name, account=account, region=region, template=template)
                for name, template in templates.items()
            }
        )


def _load_into(
    stacks: dict[str, StackTemplate], outdir: Path, default_account: str, default_region: str
) -> None:
    manifest_path = outdir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise AssemblyError(
            f"{manifest_path} does not exist: pass the output directory of `cdk synth`"
        ) from None
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == _NESTED_ASSEMBLY:
            _load_into(
                stacks, outdir / properties["directoryName"], default_account, default_region
            )
            continue
        if artifact.get("type") != _STACK_ARTIFACT:
            continue
        account, region = _environment(artifact.get("environment", ""), artifact_id)
        account = default_account if account == "unknown-account" else account
        region = default_region if region == "unknown-region" else region
        name = properties.get("stackName", artifact_id)
        template = json.loads((outdir / properties["templateFile"]).read_text())
        execution_role = properties.get("cloudFormationExecutionRoleArn")
        if execution_role is not None:
            execution_role = execution_role.replace("${AWS::Partition}", partition_of(region))
        stacks[name] = StackTemplate(
            name=name,
            account=account,
            region=region,
            template=template,
            execution_role_arn=execution_role,
        )


def _environment(environment: str, artifact_id: str) -> tuple[str, str]:
    prefix = "aws://"
    parts = environment.removeprefix(prefix).split("/")
    if not environment.startswith(prefix) or len(parts) != 2:
        raise AssemblyError(
            f"artifact {artifact_id!r}: environment {environment!r} is not "
            "'aws://<account>/<region>'"
        )
    return parts[0], parts[1]
