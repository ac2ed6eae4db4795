"""Governance event handlers: approval gate, audit ledger, monitoring violations.

Three layers, in the style of aws-lambda-handler-cookbook:

* handlers (``approval_gate``, ``ledger``, ``violations``; shared wiring in ``lambda_runtime``):
  parse the event with a Powertools Parser model, settings from the environment at cold start,
  logger, tracer and idempotency, then one call into the logic;
* ``logic``: decisions as pure functions of plain data, and one ``run_*`` per handler that
  sequences the data-access calls around them;
* ``data_access``: one interface per store (evidence in S3, registry, model cards, monitoring
  runs, pipelines, SSM parameters, ledger table and archive, notifier) and its boto3 class.

``contracts`` is shared with the CDK app; ``events`` and ``sagemaker`` model what arrives from
EventBridge and the SageMaker API. Only boto3 (Lambda runtime) and Powertools with pydantic
(the AWS-published layer) are needed at run time.
"""
