"""What every handler shares: observability, settings from the environment, idempotency.

Each handler module builds its handler once per execution environment (a cold start) from a
settings model parsed from the environment; tests build one from their own settings and clients.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, TypeVar

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from governance.contracts.errors import Expect, explain
from governance.contracts.parameters import Text
from governance.data_access.aws import AwsClient
from governance.data_access.notifier import AwsNotifier

logger = Logger()
tracer = Tracer()

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
ClientFactory = Callable[[str], AwsClient]
"""Builds the boto3 client for a service name (``data_access.aws.client`` in Lambda)."""

M = TypeVar("M")
S = TypeVar("S", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """The function's environment is wrong: a deployment problem, not an event problem."""


def _parameter_prefix(value: str) -> str:
    if not (value.startswith("/") and value.endswith("/")):
        raise ValueError("an SSM parameter path that starts and ends with '/'")
    return value


def _topic_arn(value: str) -> str:
    if not (value.startswith("arn:") and ":sns:" in value):
        raise ValueError("an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<name>)")
    return value


def _default_bus(value: object) -> object:
    return value if value else "default"


ParameterPrefix = Annotated[
    Text, AfterValidator(_parameter_prefix), Expect("an SSM path starting and ending with '/'")
]
TopicArn = Annotated[Text, AfterValidator(_topic_arn), Expect("an SNS topic ARN")]
EventBusName = Annotated[str, BeforeValidator(_default_bus)]
"""Empty means the account's ``default`` bus."""


class EnvironmentSettings(BaseModel):
    """Base of the handlers' settings: fields are read by their alias, the variable's name."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def from_environment(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        try:
            return cls.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as error:
            problems = explain(error, cls, noun="environment variable")
            raise ConfigurationError(
                f"{cls.__name__} from the environment: " + "; ".join(problems)
            ) from None


class AlertingSettings(EnvironmentSettings):
    """Settings of a handler that alerts people and publishes governance events."""

    alert_topic_arn: TopicArn = Field(alias="ALERT_TOPIC_ARN")
    event_bus_name: EventBusName = Field("default", alias="EVENT_BUS_NAME")
    idempotency_table_name: Text = Field(alias="IDEMPOTENCY_TABLE_NAME")

    def notifier(self, client: ClientFactory) -> AwsNotifier:
        return AwsNotifier(
            sns_client=client("sns"),
            events_client=client("events"),
            topic_arn=self.alert_topic_arn,
            bus_name=self.event_bus_name,
        )


IDEMPOTENCY_EXPIRY_SECONDS: Final = 24 * 60 * 60
"""EventBridge retries an event for at most 24 hours."""


def governance_handler(
    *,
    parse: Callable[[dict[str, Any]], M],
    process: Callable[[M], dict[str, Any]],
    needs_guard: Callable[[M], bool],
    log_keys: Callable[[M], Mapping[str, object]],
    idempotency_key: str,
    idempotency_table: str,
    dynamodb_client: AwsClient,
    expires_after_seconds: int = IDEMPOTENCY_EXPIRY_SECONDS,
) -> LambdaHandler:
    """A logged, traced handler that validates the event first and runs ``process`` once per
    ``idempotency_key`` (a JMESPath on the raw event) when ``needs_guard`` says it has effects.

    Validating before the idempotency layer makes a malformed event fail with a message naming
    the field, not with a missing-key error. An event without effects is processed without
    writing an idempotency record. A failed run releases its record, so a retry runs again.
    """
    config = IdempotencyConfig(
        event_key_jmespath=idempotency_key,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=idempotency_table, boto3_client=dynamodb_client
    )

    def process_raw(event: dict[str, Any], parsed: M) -> dict[str, Any]:
        return process(parsed)

    once: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config
    )(process_raw)

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        parsed = parse(event)
        logger.append_keys(**log_keys(parsed))
        if not needs_guard(parsed):
            result = process(parsed)
        else:
            config.register_lambda_context(context)
            result = once(event=event, parsed=parsed)
        logger.info("handled", extra={"result": result})
        return result

    return _observed(handle)


def observed_handler(
    *,
    parse: Callable[[dict[str, Any]], M],
    process: Callable[[M], dict[str, Any]],
    log_keys: Callable[[M], Mapping[str, object]],
) -> LambdaHandler:
    """:func:`governance_handler` without the idempotency record, for a handler that must act
    on every invocation or whose repeat is harmless: a CloudFormation custom resource has to be
    answered each time it is asked, and a relay whose receiver is idempotent needs no table."""

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        parsed = parse(event)
        logger.append_keys(**log_keys(parsed))
        result = process(parsed)
        logger.info("handled", extra={"result": result})
        return result

    return _observed(handle)


def _observed(handle: LambdaHandler) -> LambdaHandler:
    traced: LambdaHandler = tracer.capture_lambda_handler(handle, capture_response=False)
    logged: LambdaHandler = logger.inject_lambda_context(traced, clear_state=True)
    return logged
