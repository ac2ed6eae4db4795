"""Registry rules (MPG1-5, MC1) on one app: a compliant and a non-compliant resource each."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_ssm as ssm

from cdk_constructs.compliance.rules.registry import GATE_HANDLER, LEDGER_HANDLER
from governance.contracts.vocabulary import POLICY_PARAMETER_PREFIX
from tests.compliance_rules import builders as b

READ_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ConsumerReads",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": [
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:CreateModel",
            ],
            "Resource": "*",
        },
        {"Effect": "Deny", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"},
    ],
}


def _policy(*actions: str, principal: object = None) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": principal or {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": list(actions),
                "Resource": "*",
            }
        ],
    }


@pytest.fixture(scope="module")
def findings() -> b.Findings:
    # Given: groups in one stack, their cards and state-change rules in two other stacks
    app = cdk.App()
    registry = cdk.Stack(app, "Registry")
    cards = cdk.Stack(app, "Cards")
    routing = cdk.Stack(app, "Routing")

    b.group(registry, "Good", name="credit-risk", policy=READ_ONLY_POLICY)
    ssm.CfnParameter(
        registry,
        "GoodPolicy",
        type="String",
        name=f"{POLICY_PARAMETER_PREFIX}credit-risk",
        value="{}",
    )
    b.card(cards, "CreditRiskCard", model="credit-risk")
    # The approval gate and the ledger handler, found by their entry points (MPG7)
    for construct_id, handler, name in (
        ("Gate", GATE_HANDLER, "approval-gate"),
        ("LedgerHandler", LEDGER_HANDLER, "audit-ledger"),
    ):
        function = b.function(routing, construct_id)
        function.handler, function.function_name = handler, name
    b.state_change_rule(
        routing,
        "CreditRiskRule",
        names=["credit-risk", "churn"],
        targets=[
            b.target(index=0),
            events.CfnRule.TargetProperty(
                arn="arn:aws:lambda:eu-west-1:111111111111:function:audit-ledger",
                id="Ledger",
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=b.DLQ),
            ),
        ],
    )

    b.group(registry, "NotRetained", name="nr", retained=False)
    b.group(registry, "Untagged", name="untagged", tag_list=[])
    b.group(registry, "NoOwner", name="no-owner", tag_list=b.model_tags("no-owner", owner=None))
    b.group(registry, "BadTier", name="bad-tier", tag_list=b.model_tags("bad-tier", tier="x"))
    b.group(registry, "Approver", name="approver", policy=_policy("sagemaker:UpdateModelPackage"))
    b.group(registry, "Wildcard", name="wildcard", policy=_policy("sagemaker:Describe*"))
    b.group(
        registry,
        "Public",
        name="public",
        policy=_policy("sagemaker:ListModelPackages", principal="*"),
    )
    org_policy = _policy("sagemaker:DescribeModelPackage", principal="*")
    org_policy["Statement"][0]["Condition"] = {  # type: ignore[index]
        "StringEquals": {"aws:PrincipalOrgID": "o-abc123"}
    }
    b.group(registry, "OrgShared", name="credit-risk-org", model="credit-risk", policy=org_policy)
    b.group(
        registry,
        "NotAction",
        name="not-action",
        policy={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "222222222222"},
                    "NotAction": "sagemaker:DeleteModelPackageGroup",
                    "Resource": "*",
                }
            ]
        },
    )

    # MPG4: "churn" has a card; "orphan" has none; a card for "orphan-2" does not match "orphan"
    b.group(registry, "Churn", name="churn")
    b.card(cards, "ChurnCard", model="churn")
    b.group(registry, "Orphan", name="orphan")
    b.card(cards, "PrefixCard", model="orphan-2")

    # MPG5: "churn" is named by CreditRiskRule; "ok" is not (only "credit-risk"/"churn" are);
    # "fraud" is only selected by a prefix filter; "no-dlq" only by a rule without a DLQ;
    # "disabled" only by a disabled rule
    b.group(registry, "Ok", name="ok")
    b.card(cards, "OkCard", model="ok")
    b.group(registry, "Fraud", name="fraud")
    b.state_change_rule(routing, "PrefixRule", names=[{"prefix": "fraud"}])
    b.group(registry, "NoDlq", name="no-dlq")
    b.state_change_rule(
        routing, "NoDlqRule", names=["no-dlq"], targets=[b.target(), b.target(dlq=None, index=1)]
    )
    b.group(registry, "Disabled", name="disabled")
    b.state_change_rule(routing, "DisabledRule", names=["disabled"], state="DISABLED")

    b.group(registry, "CustomBus", name="custom-bus")
    custom_bus_rule = b.state_change_rule(routing, "CustomBusRule", names=["custom-bus"])
    custom_bus_rule.event_bus_name = "governance"

    # MC1
    b.card(cards, "PlainCard", model="plain", key=None)

    # When
    return b.run_pack(app)


CASES = [
    ("MPG1", "Registry/Good", "Registry/NotRetained"),
    ("MPG2", "Registry/Good", "Registry/Untagged"),
    ("MPG2", "Registry/Good", "Registry/NoOwner"),
    ("MPG2", "Registry/Good", "Registry/BadTier"),
    ("MPG3", "Registry/Good", "Registry/Approver"),
    ("MPG3", "Registry/Good", "Registry/Wildcard"),
    ("MPG3", "Registry/Good", "Registry/Public"),
    ("MPG3", "Registry/Good", "Registry/NotAction"),
    ("MPG4", "Registry/Churn", "Registry/Orphan"),
    ("MPG5", "Registry/Churn", "Registry/Ok"),
    ("MPG5", "Registry/Good", "Registry/Fraud"),
    ("MPG5", "Registry/Good", "Registry/NoDlq"),
    ("MPG5", "Registry/Good", "Registry/Disabled"),
    ("MPG5", "Registry/Good", "Registry/CustomBus"),
    ("MPG3", "Registry/OrgShared", "Registry/Public"),
    ("MC1", "Cards/CreditRiskCard", "Cards/PlainCard"),
]


@pytest.mark.parametrize(("rule_id", "compliant", "non_compliant"), CASES)
def test_rule_flags_only_the_non_compliant_resource(
    findings: b.Findings, rule_id: str, compliant: str, non_compliant: str
) -> None:
    # Then
    assert non_compliant in b.flagged(findings, rule_id)
    assert compliant not in b.flagged(findings, rule_id) | b.undecided(findings, rule_id)


def test_good_group_passes_every_rule(findings: b.Findings) -> None:
    flagged = {rule for rule, paths in findings.items() if "Registry/Good" in paths}
    assert flagged == set()


def test_untagged_group_is_left_to_the_tagging_rule(findings: b.Findings) -> None:
    # A group without governance:model is not governed: MPG2 reports it, MPG4/MPG5 do not.
    assert "Registry/Untagged" not in b.flagged(findings, "MPG4") | b.flagged(findings, "MPG5")


def test_no_undecidable_findings_for_literal_values(findings: b.Findings) -> None:
    assert [rule for rule in findings if rule.endswith("[Undecidable]")] == []


def test_cards_in_another_account_do_not_count() -> None:
    # Given: the group in the prod account, its only card in the dev account
    app = cdk.App()
    prod = cdk.Stack(app, "Prod", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    dev = cdk.Stack(app, "Dev", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    b.group(prod, "Group", name="credit-risk")
    b.card(dev, "Card", model="credit-risk")
    agnostic = cdk.Stack(app, "Agnostic")
    b.group(agnostic, "Group", name="churn")
    b.card(dev, "ChurnCard", model="churn")
    # When
    findings = b.run_pack(app)
    # Then: no match across accounts; an environment-agnostic stack matches any
    assert "Prod/Group" in b.flagged(findings, "MPG4")
    assert "Agnostic/Group" not in b.flagged(findings, "MPG4")
