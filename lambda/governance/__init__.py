"""Governance event handlers: approval gate, audit ledger, monitoring violations.

Each handler module is a thin Lambda adapter over pure functions that take boto3 clients as
arguments. Only boto3 (in the Lambda runtime) and Powertools (the AWS-published layer) are used.
"""
