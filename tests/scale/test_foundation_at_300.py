"""The foundation for 300 models is byte-identical to the two-model app's, in every environment.

The size issue 8 names: the default config's two models reordered, then 298 registered copies
(twelve registry stacks per environment). About ten seconds of synth, so it carries the
``scale`` marker: ``make test`` runs it, a plain ``pytest`` leaves it out. The default run
compares 30 models the same way (tests/foundation/test_model_independence.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config import load_config
from tests.conftest import Assembly
from tests.foundation.test_model_independence import (
    FOUNDATIONS,
    foundation_text,
    grown,
    synth_foundations,
)

pytestmark = pytest.mark.scale

MODELS = 300


def test_foundation_is_byte_identical_for_300_models(
    tmp_path_factory: pytest.TempPathFactory, default_assembly: Assembly
) -> None:
    config = grown(load_config(), MODELS)
    assert len(config.models) == MODELS
    assert len({m.name for m in config.models}) == MODELS
    at_300 = synth_foundations(config, tmp_path_factory.mktemp("at-300"))
    outdir: Path = default_assembly.outdir
    for name in FOUNDATIONS:
        reference = foundation_text((outdir / name).read_bytes())
        assert at_300[name] == reference, f"the foundation {name} changed at {MODELS} models"
