"""Governance report for model-risk reviewers, rendered from a CDK cloud assembly alone.

    python -m governance_report --assembly cdk.out --out cdk.out/governance-report

reads ``manifest.json``, the stack templates and ``validation-report.json`` (no app import, no
AWS call) and writes ``report.md`` and a self-contained ``report.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from governance_report.costs import CostEstimate, PriceTable, estimate, load_prices
from governance_report.model import (
    Assembly,
    AssemblyError,
    GovernancePackStatus,
    GovernedModel,
    governance_pack_status,
    governed_models,
    load_assembly,
    read_pack_manifest,
)


@dataclass(frozen=True)
class GovernanceReport:
    """Everything both renderers show, computed once."""

    assembly: Assembly
    models: tuple[GovernedModel, ...]
    governance_pack: GovernancePackStatus
    costs: CostEstimate


def build_report(folder: Path, prices: PriceTable | None = None) -> GovernanceReport:
    """Parse ``folder`` (a ``cdk.out``). Raises :class:`AssemblyError` when it is not one."""
    assembly = load_assembly(folder)
    models = tuple(governed_models(assembly))
    regions = [s.region for s in assembly.stacks if s.region]
    return GovernanceReport(
        assembly=assembly,
        models=models,
        governance_pack=governance_pack_status(assembly.validation, read_pack_manifest(folder)),
        costs=estimate(models, prices or load_prices(), regions),
    )


__all__ = ["AssemblyError", "GovernanceReport", "build_report"]
