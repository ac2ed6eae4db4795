"""The offline evaluator against AWS's documented evaluation examples and rules.

Each example cites the page it comes from; the request and the expected decision are the ones
the page states.
"""

from __future__ import annotations

import pytest

from cdk_constructs.compliance.iam.evaluator import (
    Decision,
    Principal,
    PrincipalKind,
    Request,
    ResourcePolicyKind,
    arn_matches,
    conditions_match,
    evaluate,
    parse_operator,
    substitute,
)
from cdk_constructs.compliance.iam.policy import PolicyDocument

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "444455556666"
ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT}:role/worker")
CARLOS = Principal(PrincipalKind.USER, f"arn:aws:iam::{ACCOUNT}:user/carlossalazar")


def allow(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def doc(*statements: dict[str, object], name: str = "policy") -> PolicyDocument:
    return PolicyDocument.of(*statements, name=name)


# -- IAM User Guide, "Policy evaluation for requests within a single account", section
#    "Example identity-based and resource-based policy evaluation" (Carlos and his buckets).

CARLOS_IDENTITY = doc(
    {
        "Sid": "AllowS3ListRead",
        "Effect": "Allow",
        "Action": [
            "s3:GetBucketLocation",
            "s3:GetAccountPublicAccessBlock",
            "s3:ListAccessPoints",
            "s3:ListAllMyBuckets",
        ],
        "Resource": "arn:aws:s3:::*",
    },
    {
        "Sid": "AllowS3Self",
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": [
            "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*",
            "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar",
        ],
    },
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
    name="carlos",
)
CARLOS_BUCKET_POLICY = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"},
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*",
    },
    name="bucket",
)


def test_carlos_is_denied_the_logs_bucket_by_his_identity_policy() -> None:
    request = Request(
        CARLOS, "s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file.txt"
    )
    result = evaluate(request, identity_policies=[CARLOS_IDENTITY])
    assert result.decision is Decision.EXPLICIT_DENY
    assert "carlos:DenyS3Logs" in result.explain()


def test_carlos_may_save_to_his_own_bucket_both_policies_allow() -> None:
    request = Request(
        CARLOS, "s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt"
    )
    result = evaluate(
        request, identity_policies=[CARLOS_IDENTITY], resource_policy=CARLOS_BUCKET_POLICY
    )
    assert result.allowed


def test_same_account_either_policy_suffices() -> None:
    # "If either the identity-based policy or the resource-based policy within the same account
    # allows the request and the other doesn't, the request is still allowed."
    request = Request(
        CARLOS, "s3:GetObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt"
    )
    assert evaluate(request, resource_policy=CARLOS_BUCKET_POLICY).allowed
    assert evaluate(request, identity_policies=[CARLOS_IDENTITY]).allowed
    assert not evaluate(request).allowed


# -- IAM User Guide, "Permissions boundaries for IAM entities": ShirleyRodriguez may manage only
#    S3, CloudWatch and EC2; an identity policy allowing iam:CreateUser does not let her.

SHIRLEY_BOUNDARY = doc(allow(["s3:*", "cloudwatch:*", "ec2:*"]), name="boundary")
SHIRLEY = Principal(PrincipalKind.USER, f"arn:aws:iam::{ACCOUNT}:user/ShirleyRodriguez")


def test_boundary_caps_identity_policy_shirley_cannot_create_users() -> None:
    request = Request(SHIRLEY, "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/new")
    result = evaluate(
        request, identity_policies=[doc(allow("iam:CreateUser"))], boundary=SHIRLEY_BOUNDARY
    )
    assert result.decision is Decision.IMPLICIT_DENY
    assert "boundary does not allow" in result.explain()


def test_boundary_alone_grants_nothing() -> None:
    # "it limits the user's permissions but does not provide permissions on its own"
    request = Request(SHIRLEY, "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert not evaluate(request, boundary=SHIRLEY_BOUNDARY).allowed
    assert evaluate(
        request, identity_policies=[doc(allow("s3:GetObject"))], boundary=SHIRLEY_BOUNDARY
    ).allowed


def test_deny_in_boundary_wins() -> None:
    request = Request(ROLE, "kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:1:key/k")
    boundary = doc(allow("*"), deny("kms:ScheduleKeyDeletion"), name="boundary")
    result = evaluate(request, identity_policies=[doc(allow("kms:*"))], boundary=boundary)
    assert result.decision is Decision.EXPLICIT_DENY


# -- Same page, "Resource-based policies": within an account, a resource policy's grant to the
#    role ARN is limited by the role's boundary; a grant to the role session is not.


def test_resource_policy_grant_to_role_arn_is_capped_by_boundary() -> None:
    bucket = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE.arn},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        },
        name="bucket",
    )
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/key")
    narrow = doc(allow("sts:GetCallerIdentity"), name="boundary")
    assert evaluate(request, resource_policy=bucket).allowed
    assert not evaluate(request, resource_policy=bucket, boundary=narrow).allowed


def test_resource_policy_grant_to_role_session_is_not_capped_by_boundary() -> None:
    bucket = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE.session_arn},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/key")
    narrow = doc(allow("sts:GetCallerIdentity"))
    assert evaluate(request, resource_policy=bucket, boundary=narrow).allowed


def test_resource_policy_grant_to_account_only_delegates_to_iam() -> None:
    bucket = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/key")
    assert not evaluate(request, resource_policy=bucket).allowed
    assert evaluate(
        request, resource_policy=bucket, identity_policies=[doc(allow("s3:GetObject"))]
    ).allowed


def test_deny_with_not_principal_always_applies_to_a_bounded_principal() -> None:
    # access_policies_boundaries.html, "Important": Deny + NotPrincipal denies any principal
    # with a permissions boundary, whatever NotPrincipal names.
    bucket = doc(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": ROLE.arn},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/*",
        }
    )
    request = Request(ROLE, "s3:GetObject", "arn:aws:s3:::b/key")
    identity = [doc(allow("s3:*"))]
    assert evaluate(request, identity_policies=identity, resource_policy=bucket).allowed
    result = evaluate(
        request, identity_policies=identity, resource_policy=bucket, boundary=doc(allow("*"))
    )
    assert result.decision is Decision.EXPLICIT_DENY


# -- IAM User Guide, "Cross-account policy evaluation logic": both sides must allow.


def test_cross_account_needs_both_resource_policy_and_identity_policy() -> None:
    outsider = Principal.role(f"arn:aws:iam::{OTHER_ACCOUNT}:role/consumer")
    group = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
            "Action": "sagemaker:DescribeModelPackage",
            "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/*",
        }
    )
    request = Request(
        outsider,
        "sagemaker:DescribeModelPackage",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/g/1",
        resource_account=ACCOUNT,
    )
    identity = [doc(allow("sagemaker:*"))]
    assert evaluate(request, identity_policies=identity, resource_policy=group).allowed
    assert not evaluate(request, identity_policies=identity).allowed
    assert not evaluate(request, resource_policy=group).allowed


# -- AWS KMS Developer Guide, "Key policies in AWS KMS": "Unless the key policy explicitly
#    allows it, you cannot use IAM policies to allow access to a KMS key"; the default key
#    policy's account statement "allows access to the AWS account and enables IAM policies".

KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DEFAULT_KEY_POLICY = doc(
    {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    },
    name="key",
)


def test_kms_key_policy_that_delegates_lets_iam_policies_decide() -> None:
    request = Request(ROLE, "kms:Decrypt", KEY)
    kms = ResourcePolicyKind.KMS_KEY
    assert evaluate(
        request,
        identity_policies=[doc(allow("kms:Decrypt", KEY))],
        resource_policy=DEFAULT_KEY_POLICY,
        resource_policy_kind=kms,
    ).allowed
    assert not evaluate(
        request, resource_policy=DEFAULT_KEY_POLICY, resource_policy_kind=kms
    ).allowed


def test_kms_iam_policy_alone_is_not_enough_without_key_policy_delegation() -> None:
    key_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["kms:Describe*", "kms:Put*"],
            "Resource": "*",
        },
        name="key",
    )
    request = Request(ROLE, "kms:Decrypt", KEY)
    result = evaluate(
        request,
        identity_policies=[doc(allow("kms:*"))],
        resource_policy=key_policy,
        resource_policy_kind=ResourcePolicyKind.KMS_KEY,
    )
    assert result.decision is Decision.IMPLICIT_DENY


def test_kms_key_policy_naming_the_role_is_enough_without_iam_policy_but_not_past_boundary() -> (
    None
):
    key_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE.arn},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
        }
    )
    request = Request(ROLE, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": "true"})
    kms = ResourcePolicyKind.KMS_KEY
    assert evaluate(request, resource_policy=key_policy, resource_policy_kind=kms).allowed
    boundary_without_grant = doc(allow(["kms:Decrypt", "kms:GenerateDataKey*"]))
    assert not evaluate(
        request,
        resource_policy=key_policy,
        resource_policy_kind=kms,
        boundary=boundary_without_grant,
    ).allowed
    # Outside AWS resources the condition key is false, so the grant is not given.
    direct = Request(ROLE, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": "false"})
    assert not evaluate(direct, resource_policy=key_policy, resource_policy_kind=kms).allowed


def test_service_principals_need_the_resource_policy() -> None:
    topic_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": "arn:aws:sns:us-east-1:1:t",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}},
        }
    )
    events = Principal.service("events.amazonaws.com")
    ours = Request(
        events,
        "sns:Publish",
        "arn:aws:sns:us-east-1:1:t",
        {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"},
    )
    theirs = Request(
        events,
        "sns:Publish",
        "arn:aws:sns:us-east-1:1:t",
        {"aws:SourceArn": "arn:aws:events:us-east-1:2:rule/x"},
    )
    assert evaluate(ours, resource_policy=topic_policy).allowed
    assert not evaluate(theirs, resource_policy=topic_policy).allowed
    assert not evaluate(ours).allowed
    lambda_service = Principal.service("lambda.amazonaws.com")
    assert not evaluate(
        Request(lambda_service, "sns:Publish", "arn:aws:sns:us-east-1:1:t"),
        resource_policy=topic_policy,
    ).allowed


# -- Actions, resources, NotAction, NotResource (IAM JSON policy elements: Action, NotAction,
#    Resource, NotResource).


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("sagemaker:Describe*", "sagemaker:DescribeModelPackage", True),
        ("SageMaker:describe*", "sagemaker:DescribeModelPackage", True),  # case-insensitive
        ("sagemaker:Describe*", "sagemaker:UpdateModelPackage", False),
        ("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", True),
        ("s3:?etObject", "s3:GetObject", True),
        ("*", "iam:PassRole", True),
        ("s3:*", "s3express:CreateSession", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool) -> None:
    request = Request(ROLE, action, "*")
    assert evaluate(request, identity_policies=[doc(allow(pattern))]).allowed is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.json", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/key", False),  # ARNs are case-sensitive
        (
            "arn:aws:sagemaker:*:*:model-package/g/*",
            "arn:aws:sagemaker:r:1:model-package/g/3",
            True,
        ),
        (
            "arn:aws:logs:r:1:log-group:/aws/sagemaker/*",
            "arn:aws:logs:r:1:log-group:/aws/sagemaker/Jobs:log-stream:x",
            True,
        ),
        ("arn:aws:s3:::b?cket/k", "arn:aws:s3:::bucket/k", True),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, expected: bool) -> None:
    request = Request(ROLE, "s3:GetObject", resource)
    assert (
        evaluate(request, identity_policies=[doc(allow("s3:GetObject", pattern))]).allowed
        is expected
    )


def test_not_action_and_not_resource() -> None:
    policy = doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::open/*"},
    )
    assert evaluate(Request(ROLE, "sns:Publish", "x"), identity_policies=[policy]).allowed
    assert not evaluate(Request(ROLE, "iam:PassRole", "x"), identity_policies=[policy]).allowed
    assert evaluate(
        Request(ROLE, "s3:GetObject", "arn:aws:s3:::open/k"), identity_policies=[policy]
    ).allowed
    assert (
        evaluate(
            Request(ROLE, "s3:GetObject", "arn:aws:s3:::closed/k"), identity_policies=[policy]
        ).decision
        is Decision.EXPLICIT_DENY
    )


def test_policy_variables_in_resources() -> None:
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    carlos = Request(CARLOS, "s3:GetObject", "arn:aws:s3:::home/carlossalazar/notes")
    other = Request(CARLOS, "s3:GetObject", "arn:aws:s3:::home/shirley/notes")
    assert evaluate(carlos, identity_policies=[policy]).allowed
    assert not evaluate(other, identity_policies=[policy]).allowed
    # A role session has no aws:username: the statement does not match.
    assert not evaluate(
        Request(ROLE, "s3:GetObject", "arn:aws:s3:::home/worker/notes"), identity_policies=[policy]
    ).allowed
    assert substitute("a${*}b${$}", {}) == "a*b$"


# -- Condition operators (IAM JSON policy elements: Condition operators).


def ctx(**values: object) -> dict[str, tuple[str, ...]]:
    return {
        key.replace("__", ":").lower(): (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
        for key, value in values.items()
    }


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"s:k": "a"}}, ctx(s__k="a"), True),
        ({"StringEquals": {"s:k": "a"}}, ctx(s__k="A"), False),
        ({"StringEqualsIgnoreCase": {"s:k": "a"}}, ctx(s__k="A"), True),
        ({"StringEquals": {"S:K": ["a", "b"]}}, ctx(s__k="b"), True),  # keys case-insensitive
        ({"StringNotEquals": {"s:k": ["a", "b"]}}, ctx(s__k="b"), False),
        ({"StringNotEquals": {"s:k": ["a", "b"]}}, ctx(s__k="c"), True),
        ({"StringLike": {"s:k": "pre*"}}, ctx(s__k="prefix"), True),
        ({"StringNotLike": {"s:k": "pre*"}}, ctx(s__k="prefix"), False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:r:1:*"}},
            ctx(aws__SourceArn="arn:aws:sagemaker:r:1:training-job/x"),
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sagemaker:r:1:*"}},
            ctx(aws__SourceArn="arn:aws:sagemaker:r:2:training-job/x"),
            False,
        ),
        (
            {"ArnNotEquals": {"aws:SourceArn": "arn:aws:events:r:1:rule/a"}},
            ctx(aws__SourceArn="arn:aws:events:r:1:rule/b"),
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, ctx(aws__SecureTransport="true"), False),
        ({"Bool": {"aws:SecureTransport": "false"}}, ctx(aws__SecureTransport="FALSE"), True),
        ({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, ctx(s3__TlsVersion="1.3"), False),
        ({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, ctx(s3__TlsVersion="1.0"), True),
        ({"NumericGreaterThanEquals": {"n:k": "10"}}, ctx(n__k="10"), True),
        (
            {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
            ctx(aws__CurrentTime="2029-06-01T00:00:00Z"),
            True,
        ),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, ctx(aws__SourceIp="10.1.2.3"), True),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, ctx(aws__SourceIp="10.1.2.3"), False),
        # Several operators and keys: all must match.
        ({"StringEquals": {"a:x": "1", "a:y": "2"}}, ctx(a__x="1", a__y="3"), False),
        (
            {"StringEquals": {"a:x": "1"}, "StringLike": {"a:y": "2*"}},
            ctx(a__x="1", a__y="22"),
            True,
        ),
    ],
)
def test_condition_operators(
    condition: dict[str, dict[str, object]], context: dict[str, tuple[str, ...]], expected: bool
) -> None:
    statement = PolicyDocument.of(allow("s:a", Condition=condition)).statements[0]
    assert (conditions_match(statement.conditions, context).value == "yes") is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # "If the key ... is not present in the request context, the values do not match and
        # the condition is false" ...
        ({"StringEquals": {"s:k": "a"}}, False),
        ({"ArnLike": {"s:k": "arn:*"}}, False),
        ({"Bool": {"s:k": "true"}}, False),
        ({"NumericLessThan": {"s:k": "1"}}, False),
        # ... "If the policy condition requires that the key is not matched, such as
        # StringNotLike or ArnNotLike, and the right key is not present, the condition is true."
        ({"StringNotEquals": {"s:k": "a"}}, True),
        ({"StringNotLike": {"s:k": "a*"}}, True),
        ({"ArnNotLike": {"s:k": "arn:*"}}, True),
        # ...IfExists: "If the condition key is not present, evaluate the condition as true."
        ({"StringEqualsIfExists": {"s:k": "a"}}, True),
        ({"ArnLikeIfExists": {"s:k": "arn:*"}}, True),
        # Null: true means the key must be absent.
        ({"Null": {"s:k": "true"}}, True),
        ({"Null": {"s:k": "false"}}, False),
        # Set operators on a missing (or empty) key: ForAllValues true, ForAnyValue false
        # (single-vs-multivalued context keys page).
        ({"ForAllValues:StringEquals": {"s:k": "a"}}, True),
        ({"ForAnyValue:StringEquals": {"s:k": "a"}}, False),
    ],
)
def test_missing_context_key(condition: dict[str, dict[str, object]], expected: bool) -> None:
    statement = PolicyDocument.of(allow("s:a", Condition=condition)).statements[0]
    assert (conditions_match(statement.conditions, {}).value == "yes") is expected


def test_set_operators_on_multivalued_keys() -> None:
    any_value = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}
    all_values = {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}}
    statement_any = PolicyDocument.of(allow("s:a", Condition=any_value)).statements[0]
    statement_all = PolicyDocument.of(allow("s:a", Condition=all_values)).statements[0]
    tags = {"aws:tagkeys": ("env", "cost")}
    assert conditions_match(statement_any.conditions, tags).value == "yes"
    assert conditions_match(statement_all.conditions, tags).value == "no"
    assert conditions_match(statement_all.conditions, {"aws:tagkeys": ("env",)}).value == "yes"


def test_unknown_operator_never_grants_but_always_denies() -> None:
    # Our documented choice for operators IAM would reject: the safe side for each effect.
    misspelt = {"StringEqualz": {"s:k": "a"}}
    request = Request(ROLE, "s:Act", "*", {"s:k": "a"})
    assert not evaluate(
        request, identity_policies=[doc(allow("s:Act", Condition=misspelt))]
    ).allowed
    denied = evaluate(
        request, identity_policies=[doc(allow("s:Act"), deny("s:Act", Condition=misspelt))]
    )
    assert denied.decision is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    "operator",
    ["StringEqualz", "ForSomeValues:StringEquals", "NullIfExists", "ForAnyValue:Null", "IfExists"],
)
def test_operator_parser_rejects_what_iam_does_not_define(operator: str) -> None:
    assert parse_operator(operator) is None


def test_arn_matching_is_per_segment() -> None:
    assert arn_matches("arn:aws:iam::*:role/x", "arn:aws:iam::1:role/x")
    assert not arn_matches("arn:aws:iam::*", "arn:aws:iam::1:role/x")  # six parts required
    assert arn_matches("arn:aws:logs:*:1:*", "arn:aws:logs:r:1:log-group:a:*")


def test_explicit_deny_is_reported_with_the_statement() -> None:
    request = Request(
        ROLE, "sagemaker:UpdateModelPackage", "x", {"sagemaker:ModelApprovalStatus": "Approved"}
    )
    identity = doc(
        allow("sagemaker:*"),
        {
            "Sid": "NeverApprove",
            **deny(
                "sagemaker:UpdateModelPackage",
                Condition={"StringEquals": {"sagemaker:ModelApprovalStatus": ["Approved"]}},
            ),
        },
        name="persona",
    )
    result = evaluate(request, identity_policies=[identity])
    assert result.decision is Decision.EXPLICIT_DENY
    assert "persona:NeverApprove" in result.explain()
