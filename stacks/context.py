"""The context keys this app accepts (`cdk synth -c key=value`), validated before any work."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

APP_CONTEXT_KEYS = {
    "config": "path to the organisation's governance YAML (default: embedded)",
    "prices": "path to a price table for the report's cost estimate (default: built-in)",
    "quotas": 'raised AWS quotas as JSON, e.g. {"iam.managed-policies-per-role": 20}',
}
# Keys the CDK CLI, the toolkit and cdk.json's feature flags set themselves.
_FRAMEWORK_PREFIXES = (
    "@aws-cdk/",
    "aws:cdk:",
    "aws-cdk:",
    "cdk:",
    "@aws-cdk-containers/",
    # Values cached by context providers (cdk.context.json) if a user adds lookups.
    "availability-zones:",
    "vpc-provider:",
    "ssm:",
    "ami:",
    "hosted-zone:",
    "security-group:",
    "key-provider:",
    "load-balancer:",
)
_FRAMEWORK_KEYS = {"acknowledged-issue-numbers", "assetStaging", "aws:cdk:enable-path-metadata"}


class ContextError(Exception):
    """An unknown or malformed context key."""


@dataclass(frozen=True)
class AppOptions:
    config_path: str | None
    prices_path: str | None = None


def app_options(scope: Construct) -> AppOptions:
    context = scope.node.get_all_context()
    unknown = sorted(
        key
        for key in context
        if key not in APP_CONTEXT_KEYS
        and key not in _FRAMEWORK_KEYS
        and not key.startswith(_FRAMEWORK_PREFIXES)
    )
    if unknown:
        allowed = ", ".join(f"{k} ({v})" for k, v in APP_CONTEXT_KEYS.items())
        raise ContextError(f"unknown context key(s) {unknown}; this app accepts: {allowed}")
    paths = {}
    for key in APP_CONTEXT_KEYS:
        path = context.get(key)
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise ContextError(f"context {key!r} must be a file path (got {path!r})")
        paths[key] = path
    return AppOptions(config_path=paths["config"], prices_path=paths["prices"])
