"""The paper's claims that hold robustly at the quick profile over 3 seeds (Sec. 5.2, Fig. 4), end to end.

Real PhiFlow smoke data (``aeqkit.data``, cached), real models (``aeqkit.models``), the real
harness (``aeqkit.reproduce``, quick profile: 16x16 levels, two base inflows x four orientations,
orbit-balanced splits, full-batch fits, two-layer networks matched to 2,500 parameters), trained on
four levels of rotational symmetry breaking with seeds 0, 1, 2. Asserted:

* the data's one-step equivariance error (Def. 3.1 of the simulator's own step, on the windows
  the models are measured on) is exactly 0 at level 0 and grows linearly with the breaking;
* the strict E(2)-steerable model stays C4-equivariant after training (<= 1e-6) at every level;
* the relaxed steerable model stays equivariant on the symmetric level 0 (its error there at most
  1% of its level-9 error: an orbit-balanced training set gives a C4-invariant loss) and breaks
  the symmetry on the broken levels (> 100x the strict model's error);
* its error rises with the data's (Spearman ρ = 1 over the four levels, every seed).

Measured but not asserted, because it does not hold for every seed at this size (quick profile,
ten levels, 3 seeds; ``build/h5a/figure4_rotation_quick.json``, in the committed ledger): the
log-log slope of RSteer's error against the data's over levels 1-9 in [0.7, 1.3] and RSteer / data
in [1/3, 3] at levels 3-9. ``python -m aeqkit claims`` reports every claim with its measured value.
"""

from __future__ import annotations

import pytest
import torch

from aeqkit.claims import figure4_claims
from aeqkit.reproduce import reproduce

pytestmark = pytest.mark.slow

LEVELS = (0, 1, 5, 9)


@pytest.fixture(scope="module")
def figure4(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("figure4")
    return reproduce(
        "figure4",
        "rotation",
        "quick",
        seeds=3,
        models="equiv,rsteer",
        out=out,
        device="cpu",
        progress=False,
        log=print,
        profile_overrides={"levels": LEVELS},
    )


def _runs(res, model, level):
    return [r for r in res["runs"] if r["model"] == model and r["level"] == level]


def test_levels_have_increasing_data_equivariance_error(figure4):
    rows = [r for r in figure4["summary"]["rows"] if r["model"] == "equiv"]
    ee = {r["level"]: r["data_equivariance_error"] for r in rows}
    print("one-step data equivariance error per level:", ee)
    assert ee[0] < 1e-4 < ee[9]
    assert ee[0] == 0.0  # the simulator's step commutes with quarter turns exactly at level 0
    assert ee[1] < ee[5] < ee[9]
    assert ee[9] / ee[1] == pytest.approx(9.0, rel=0.2)  # linear in the buoyancy difference
    traj = {r["level"]: r["trajectory_equivariance_error"] for r in rows}
    assert traj[9] > ee[9]  # the Sec. 5.2 trajectory error accumulates over many steps


def test_strict_model_stays_equivariant_after_training(figure4):
    for level in LEVELS:
        for run in _runs(figure4, "equiv", level):
            print(f"equiv level {level} seed {run['seed']}: model EE {run['model_equivariance_error']:.3e}")
            assert run["model_equivariance_error"] < 1e-6


def test_relaxed_model_keeps_symmetry_where_the_data_have_it(figure4):
    """Orbit-balanced splits: on exactly symmetric data the relaxed model stays (nearly) equivariant;
    on broken data it breaks the symmetry far beyond the strict model's round-off."""
    for seed in range(3):
        at = {lv: next(r["model_equivariance_error"] for r in _runs(figure4, "rsteer", lv)
                       if r["seed"] == seed) for lv in LEVELS}
        strict = max(r["model_equivariance_error"] for r in figure4["runs"] if r["model"] == "equiv")
        print(f"rsteer seed {seed}: " + ", ".join(f"level {lv} {e:.3e}" for lv, e in at.items()))
        assert at[0] <= 0.01 * at[9]
        for lv in LEVELS[1:]:
            assert at[lv] > 1e-4 and at[lv] > 100 * strict


def test_relaxed_model_error_rises_with_the_data(figure4):
    per_seed = figure4["summary"]["spearman_per_seed"]["rsteer"]
    print("Spearman per seed:", per_seed, "log-log slope:", figure4["summary"]["loglog_slope"]["rsteer"])
    assert len(per_seed) == 3 and all(rho is not None and rho >= 0.9 for rho in per_seed.values())


def test_claims_report_the_measurements(figure4):
    claims = figure4_claims(figure4["summary"], "test")
    names = [c["claim"] for c in claims]
    assert any("strict model" in n for n in names) and any("Spearman" in n for n in names)
    for c in claims:
        assert set(c) == {"claim", "measured", "target", "holds", "source"}
        assert c["holds"] in (True, False)
    by = {c["claim"].split(":")[1].strip()[:20]: c for c in claims}
    assert all(c["holds"] for c in claims if "strict model" in c["claim"] or "level 0" in c["claim"]), by


def test_training_improved_on_the_data(figure4):
    for run in figure4["runs"]:
        h = run["fit"]["history"]
        assert h["train_mse"][-1] < h["train_mse"][0], (run["model"], run["level"], h)
