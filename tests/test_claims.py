"""The paper's claims that hold robustly at the quick profile (Sec. 5.2, Fig. 4), end to end.

Real PhiFlow smoke data (``aeqkit.data``, cached), real models (``aeqkit.models``), the real
harness (``aeqkit.reproduce``). Trained briefly on two levels of rotational symmetry breaking:

* the strict E(2)-steerable model stays C4-equivariant after training (error < 1e-4);
* the relaxed steerable model, exactly equivariant at initialisation, ends far from equivariant
  (error > 1e-4 and > 100x the strict model's) on both levels;
* the data's own equivariance error is ~0 at level 0 and large at level 9.

Not asserted, because it does not hold at this size: that the relaxed model's error *grows* with the
data's (Fig. 4, Spearman ρ >= 0.8). Measured (model error on windows drawn evenly from all
simulations of a level, 24x24, 6 epochs, alpha 1e-4): RSteer's C4 L1 error was 1.72e-2 / 1.14e-2
(seeds 0 / 1) at level 0 and 1.63e-2 / 1.12e-2 at level 9, while the data's error went from 5e-6
to 0.24. Over all ten levels (1 seed) RSteer's error stayed within 0.0141-0.0150 (Spearman ρ 0.58;
0.92 for the error relative to the mean |output|, but Conv's relative error also gives 0.99). The
relaxed weights move as much on the exactly symmetric level-0 data (an 8-simulation set whose
80/20 split leaves an orientation-unbalanced training set) as on the broken ones.
``python -m aeqkit reproduce figure4`` reports the ten-level ρ; the RMSE ordering against Conv is
reported by ``reproduce table1``.
"""

from __future__ import annotations

import pytest
import torch

from aeqkit.reproduce import reproduce

pytestmark = pytest.mark.slow

#: Small enough for about a minute of training per model on 2 shared cores.
CLAIMS_PROFILE = {"epochs": 4, "patience": 4, "time_limit": 45.0, "levels": (0, 9)}


@pytest.fixture(scope="module")
def figure4(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("figure4")
    return reproduce(
        "figure4",
        "rotation",
        "quick",
        seeds=2,
        models="equiv,rsteer",
        out=out,
        device="cpu",
        progress=False,
        log=print,
        profile_overrides=CLAIMS_PROFILE,
    )


def _runs(res, model, level):
    return [r for r in res["runs"] if r["model"] == model and r["level"] == level]


def test_levels_have_increasing_data_equivariance_error(figure4):
    rows = [r for r in figure4["summary"]["rows"] if r["model"] == "equiv"]
    ee = {r["level"]: r["data_equivariance_error"] for r in rows}
    print("data equivariance error per level:", ee)
    assert ee[0] < 1e-4 < ee[9]


def test_strict_model_stays_equivariant_after_training(figure4):
    for level in (0, 9):
        for run in _runs(figure4, "equiv", level):
            print(f"equiv level {level} seed {run['seed']}: model EE {run['model_equivariance_error']:.3e}")
            assert run["model_equivariance_error"] < 1e-4


def test_relaxed_model_learns_to_break_the_symmetry(figure4):
    """RSteer starts exactly equivariant; after training its error is far above the strict model's.

    (That its error *orders* like the data's across levels, Fig. 4, does not hold at this size: see
    the module docstring.)
    """
    for level in (0, 9):
        strict = max(r["model_equivariance_error"] for r in _runs(figure4, "equiv", level))
        for run in _runs(figure4, "rsteer", level):
            print(f"rsteer level {level} seed {run['seed']}: model EE "
                  f"{run['model_equivariance_error']:.3e} (strict: {strict:.3e})")
            assert run["model_equivariance_error"] > 1e-4
            assert run["model_equivariance_error"] > 100 * strict


def test_training_improved_on_the_data(figure4):
    for run in figure4["runs"]:
        h = run["fit"]["history"]
        assert h["train_mse"][-1] < h["train_mse"][0], (run["model"], run["level"], h)
