"""Config problems found by a check that spans several fields, each with its own YAML path.

pydantic reports a model validator's error at the model's own location (``models[0]``). A check
that knows the exact field (``models[0].deployment.environments.stage``) raises
:class:`IssuesError`; the loader reports each issue at the model's location plus its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NO_VALUE = object()
"""The issue has no single offending value to show (e.g. a missing section)."""

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    path: Path
    message: str
    value: object = NO_VALUE


class IssuesError(ValueError):
    """One or more issues found by a cross-field check; raise it from a pydantic validator."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = tuple(issues)


def raise_issues(issues: Sequence[Issue]) -> None:
    """Raise IssuesError with one issue per path (the first found), if there are any."""
    by_path: dict[Path, Issue] = {}
    for issue in issues:
        by_path.setdefault(issue.path, issue)
    if by_path:
        raise IssuesError(list(by_path.values()))
