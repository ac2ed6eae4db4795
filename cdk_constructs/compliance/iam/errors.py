"""Errors of the offline IAM checks: each names what it could not read and why."""

from __future__ import annotations


class IamCheckError(Exception):
    """Base class: the offline IAM checks could not do what was asked."""


class AssemblyError(IamCheckError):
    """The cloud assembly or a template in it cannot be read."""


class UnresolvableIntrinsic(IamCheckError):  # noqa: N818 - reads as the condition it reports
    """A CloudFormation intrinsic cannot be given a realistic value offline."""


class PolicyError(IamCheckError):
    """A policy document is not valid IAM policy grammar."""
