"""Governance report for model-risk reviewers, rendered from a CDK cloud assembly alone.

    python -m governance_report --assembly cdk.out --out cdk.out/governance-report

reads ``manifest.json``, the stack templates, ``validation-report.json`` and the app's
``governance-inventory.json`` (no app import, no AWS call) and writes ``report.md`` and a
self-contained ``report.html``. ``cdk synth`` renders it too (see ``app.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from governance_report.assembly import Assembly, AssemblyError, Violation, load_assembly
from governance_report.controls import GovernedModel, governed_models
from governance_report.costs import CostEstimate, PriceTable, estimate, load_prices
from governance_report.gaps import Gap, gaps_of
from governance_report.packs import (
    ClaimResult,
    GovernancePackStatus,
    claim_results,
    governance_pack_status,
    read_claims,
    read_pack_manifest,
)


@dataclass(frozen=True)
class GovernanceReport:
    """Everything both renderers show, computed once."""

    assembly: Assembly
    models: tuple[GovernedModel, ...]
    gaps: dict[tuple[str, str], tuple[Gap, ...]]
    governance_pack: GovernancePackStatus
    costs: CostEstimate
    # Set when the synth that produced this assembly failed: the report says so first.
    failure: str | None = None
    environments: tuple[str, ...] = field(default=())
    # RULES.md's claims table with each rule's result; None when the app wrote no manifest.
    claims: tuple[ClaimResult, ...] | None = None

    @property
    def open_findings(self) -> tuple[Violation, ...]:
        validation = self.assembly.validation
        return validation.findings if validation is not None else ()

    @property
    def multi_environment(self) -> bool:
        return len(self.environments) > 1


def build_report(
    folder: Path,
    prices: PriceTable | None = None,
    *,
    price_file: str | None = None,
    failure: str | None = None,
) -> GovernanceReport:
    """Parse ``folder`` (a ``cdk.out``). Raises :class:`AssemblyError` when it is not one."""
    assembly = load_assembly(folder)
    models = tuple(governed_models(assembly))
    environments = (
        assembly.inventory.environment_names
        if assembly.inventory is not None
        else tuple(dict.fromkeys(m.environment for m in models))
    )
    return GovernanceReport(
        assembly=assembly,
        models=models,
        gaps={m.key: tuple(gaps_of(m)) for m in models},
        governance_pack=governance_pack_status(assembly.validation, read_pack_manifest(folder)),
        costs=estimate(
            models,
            prices or load_prices(),
            price_file or ("custom table" if prices else "built-in table"),
        ),
        failure=failure,
        environments=environments,
        claims=_claims(folder, assembly),
    )


def _claims(folder: Path, assembly: Assembly) -> tuple[ClaimResult, ...] | None:
    claims = read_claims(folder)
    return None if claims is None else claim_results(claims, assembly.validation)


__all__ = ["AssemblyError", "GovernanceReport", "build_report"]
