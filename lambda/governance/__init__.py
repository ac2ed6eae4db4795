"""Governance event handlers: approval gate, audit ledger, monitoring violations.

Each handler module is a thin Lambda adapter over pure functions that take boto3 clients as
arguments. Only boto3 (in the Lambda runtime) and Powertools (the AWS-published layer) are used.

Approval gate and audit ledger:

* ``governance.approval_gate.handler``: re-checks every approval against the model's policy.
* ``governance.ledger.handler``: append-only, hash-chained audit record of governance events.
* ``python -m governance verify-ledger``: verifies a group's chain (``governance.__main__``).
* Supporting modules: ``events`` (typed event models), ``policy`` (per-model policy from SSM),
  ``identity`` (approver vs registrant), ``bias_report`` (Clarify analysis.json), ``evidence``
  (evidence URIs, S3 reads), ``environment`` (env validation), ``aws_clients`` (the one boto3
  import).
"""
