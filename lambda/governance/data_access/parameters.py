"""Governance parameters in SSM Parameter Store: approval policies and endpoint parameters."""

from __future__ import annotations

from typing import Protocol

from governance.contracts.parameters import (
    ApprovalPolicy,
    EndpointGovernance,
    parse_endpoint_governance,
    parse_policy,
)
from governance.contracts.vocabulary import ENDPOINT_PARAMETER_PREFIX, POLICY_PARAMETER_PREFIX
from governance.data_access.aws import AwsClient, ClientError, error_code


class UnknownModelGroupError(LookupError):
    """No policy parameter exists for the model package group: it is not governed."""


class UnknownEndpointError(LookupError):
    """A monitoring execution for an endpoint that has no governance parameter."""


class GovernanceParameters(Protocol):
    def approval_policy(self, group: str) -> ApprovalPolicy:
        """The group's validated policy; UnknownModelGroupError or InvalidParameterError."""
        ...

    def endpoint(self, endpoint_name: str) -> EndpointGovernance:
        """The endpoint's validated parameter; UnknownEndpointError or InvalidParameterError."""
        ...


class SsmGovernanceParameters:
    """Reads with ``ssm:GetParameter``.

    Policies are cached for the life of the execution environment (a cold start picks up a
    change), which keeps SSM off the hot path and within its throughput limits. Misses are not
    cached, so a group onboarded after the cold start is found on its first event.
    """

    def __init__(
        self,
        ssm_client: AwsClient,
        *,
        policy_prefix: str = POLICY_PARAMETER_PREFIX,
        endpoint_prefix: str = ENDPOINT_PARAMETER_PREFIX,
    ) -> None:
        self._ssm = ssm_client
        self._policy_prefix = policy_prefix
        self._endpoint_prefix = endpoint_prefix
        self._policies: dict[str, ApprovalPolicy] = {}

    def approval_policy(self, group: str) -> ApprovalPolicy:
        if (cached := self._policies.get(group)) is not None:
            return cached
        name = f"{self._policy_prefix}{group}"
        value = self._value(name)
        if value is None:
            raise UnknownModelGroupError(
                f"model package group {group!r} is not governed: "
                f"SSM parameter {name!r} does not exist"
            )
        policy = parse_policy(value, parameter=name, group=group)
        self._policies[group] = policy
        return policy

    def endpoint(self, endpoint_name: str) -> EndpointGovernance:
        name = f"{self._endpoint_prefix}{endpoint_name}"
        value = self._value(name)
        if value is None:
            raise UnknownEndpointError(
                f"endpoint {endpoint_name!r} has no governance parameter {name!r}; "
                "is it deployed by a models stack?"
            )
        return parse_endpoint_governance(value, parameter=name, endpoint=endpoint_name)

    def _value(self, name: str) -> str | None:
        try:
            response = self._ssm.get_parameter(Name=name)
        except ClientError as error:
            if error_code(error) == "ParameterNotFound":
                return None
            raise
        return str(response["Parameter"]["Value"])
