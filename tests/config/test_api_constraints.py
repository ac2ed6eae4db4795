"""Config is checked against botocore's own shapes, and every rule reads in words."""

from __future__ import annotations

import botocore
import pytest

from config import model, names
from config.api_constraints import PATTERN_WORDS, ApiParameter, documentation

# Every API parameter config validates against, and every composed-name rule.
PARAMETERS = [
    value
    for module in (model, names)
    for value in vars(module).values()
    if isinstance(value, ApiParameter)
]
DOCUMENTED_RULES = [v for v in vars(names).values() if isinstance(v, names.DocumentedRule)]


def test_the_parameters_are_found() -> None:
    # The list is built by introspection; make sure it is not silently empty.
    assert len(PARAMETERS) >= 15
    assert len(DOCUMENTED_RULES) == 2


@pytest.mark.parametrize("parameter", PARAMETERS, ids=lambda p: f"{p.operation}.{p.member}")
def test_each_parameter_exists_in_botocore_and_reads_in_words(parameter: ApiParameter) -> None:
    # Given a parameter config checks, When botocore's model is read
    shape = parameter.shape
    # Then it resolves, its source names the botocore version, and its pattern has words
    assert parameter.source.startswith(f"botocore {botocore.__version__} {parameter.service} ")
    if parameter.pattern is not None:
        assert parameter.pattern in PATTERN_WORDS, f"write words for {shape.name}'s pattern"
    assert "\\" not in parameter.rule()
    assert "[" not in parameter.rule()


@pytest.mark.parametrize("rule", DOCUMENTED_RULES, ids=lambda r: r.parameter.member)
def test_rules_stated_in_prose_are_still_what_botocore_documents(
    rule: names.DocumentedRule,
) -> None:
    # Stack and dashboard names are limited only in the API documentation text.
    assert rule.documented(), documentation(rule.parameter)


def test_instance_types_come_from_the_enum_of_the_api_that_uses_them() -> None:
    endpoint = model.ENDPOINT_INSTANCE_TYPE
    monitor = model.MONITOR_INSTANCE_TYPE
    assert endpoint.shape.name == "ProductionVariantInstanceType"
    assert monitor.shape.name == "ProcessingInstanceType"
    # An instance type that does not exist fails both, with the closest real ones
    problem = endpoint.violation("ml.m5.huge")
    assert problem is not None
    assert "ml.m5.large" in problem
    assert "ProductionVariantInstanceType" in problem
    # Each enum is its own: t2 serves endpoints only, t3 runs processing jobs only
    assert endpoint.violation("ml.t2.medium") is None
    assert monitor.violation("ml.t2.medium") is not None
    assert monitor.violation("ml.t3.medium") is None
    assert endpoint.violation("ml.t3.medium") is not None


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("credit-risk-analytics", True),
        ("Équipe données: risque/crédit @ Paris", True),  # \p{L} letters, spaces, : / @
        ("Risk & Analytics", False),
        ("team<script>", False),
        ("x" * 256, True),
        ("x" * 257, False),
    ],
)
def test_tag_values_follow_sagemakers_unicode_tag_pattern(value: str, accepted: bool) -> None:
    assert (model.TAG_VALUE.violation(value) is None) is accepted


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        (names.SCHEDULE_NAME, "a" * 63, None),
        (names.SCHEDULE_NAME, "a" * 64, "is 64 characters long; the API allows at most 63"),
        (names.ENDPOINT_NAME, "credit_default", "letters, digits and hyphens"),
        (names.ENDPOINT_NAME, "credit-default-", "starting and ending with a letter or digit"),
        (model.MONITOR_MAX_RUNTIME, 86400, None),
        (model.MONITOR_MAX_RUNTIME, 86401, "must be from 1 to 86400"),
        (model.PIPELINE_NAME, "retrain_credit", "letters, digits and hyphens"),
        (model.PACKAGE_NAME, "arn:aws:sagemaker:eu-west-1:111122223333:model-package/m/3", None),
        (
            model.PACKAGE_NAME,
            "arn:aws:sagemaker:eu-west-1:111122223333:model-package/m/1234567890",
            "a version of 1 to 9 digits",
        ),
    ],
)
def test_lengths_patterns_and_ranges_are_botocores(
    parameter: ApiParameter, value: object, expected: str | None
) -> None:
    problem = parameter.violation(value)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert expected in problem


def test_check_cites_the_source() -> None:
    with pytest.raises(
        ValueError, match=r"\[botocore [\d.]+ sagemaker CreateEndpoint EndpointName\]"
    ):
        names.ENDPOINT_NAME.check("x" * 64)


def test_tag_list_limit_is_read_from_botocore() -> None:
    assert model.TAG_LIST.max_items == 50
