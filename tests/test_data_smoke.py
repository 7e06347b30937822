"""Tests for aeqkit.data.smoke: set-ups, the batched PhiFlow run and data equivariance errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aeqkit.data.smoke import (
    NUM_LEVELS,
    SmokeConfig,
    disk_mask,
    rotation_set_error,
    simulate_smoke,
    smoke_setup,
)
from aeqkit.groups import get_group


def test_rotation_setup_is_c4_related() -> None:
    cfg = SmokeConfig(kind="rotation", resolution=16, num_positions=2, breaking=0.3)
    st = smoke_setup(cfg)
    assert st["inflow"].shape == (8, 16, 16) and st["buoyancy"].shape == (8, 2, 16, 16)
    assert st["group_elements"] == [0, 1, 2, 3] * 2
    c4 = get_group("C4")
    for s in range(8):
        ref = 4 * (s // 4)
        k = st["group_elements"][s]
        inflow = torch.from_numpy(st["inflow"][ref])[None]
        assert torch.equal(c4.act(k, inflow, "scalar")[0], torch.from_numpy(st["inflow"][s]))
        # buoyancy direction rotated with the inflow; magnitude set by the orientation's factor
        b = st["buoyancy"][s, :, 0, 0]
        direction = c4.vector_rep(k).numpy() @ np.array([0.0, 1.0])
        np.testing.assert_allclose(b / np.linalg.norm(b), direction, atol=1e-6)
    factors = st["buoyancy_factors"][:4]
    assert len(set(np.round(factors, 6))) == 4  # breaking > 0: four different buoyancies
    sym = smoke_setup(SmokeConfig(kind="rotation", resolution=16, num_positions=1, breaking=0.0))
    assert len(set(np.round(sym["buoyancy_factors"], 6))) == 1


def test_translation_and_scaling_setups() -> None:
    st = smoke_setup(SmokeConfig(kind="translation", resolution=32, num_positions=5, breaking=0.4))
    tr = get_group("translation_bounded")
    first = torch.from_numpy(st["inflow"][0])[None]
    for s, g in enumerate(st["group_elements"]):
        assert g[1] == 0
        assert torch.equal(tr.act(g, first, "scalar")[0], torch.from_numpy(st["inflow"][s]))
    by = st["buoyancy"][0, 1]
    assert by[0, 0] < by[0, -1]  # two sub-domains with different buoyancy
    sc = smoke_setup(SmokeConfig(kind="scaling", resolution=16, num_positions=5, scales=(0.5, 1.0, 2.0)))
    assert sc["group_elements"] == [0.5, 1.0, 2.0, 0.5, 1.0]
    np.testing.assert_allclose(sc["dt"], np.array(sc["dx"]) ** 2)
    np.testing.assert_allclose(sc["velocity_scale"], 1.0 / np.array(sc["dx"]), rtol=1e-6)
    # without breaking, every scale has the same grid-unit buoyancy: exact scaled copies
    nb = smoke_setup(SmokeConfig(kind="scaling", resolution=16, num_positions=3, breaking=0.0,
                                 scales=(0.5, 1.0, 2.0)))
    np.testing.assert_allclose(nb["buoyancy"][:, 1], nb["buoyancy"][0, 1][None].repeat(3, 0), rtol=1e-6)
    assert not np.allclose(sc["buoyancy"][0, 1], sc["buoyancy"][3, 1])  # breaking > 0 varies it


def test_levels_setup_shares_positions() -> None:
    st = smoke_setup(SmokeConfig(kind="levels", resolution=16, num_positions=1))
    assert len(st["group_elements"]) == 4 * NUM_LEVELS
    assert all(np.array_equal(st["inflow"][4 * lv], st["inflow"][0]) for lv in range(NUM_LEVELS))
    spread = [np.ptp(st["buoyancy_factors"][4 * lv:4 * lv + 4]) for lv in range(NUM_LEVELS)]
    assert spread[0] == 0 and all(np.diff(spread) > 0)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="accepted: rotation, translation, scaling, levels"):
        SmokeConfig(kind="spiral")
    with pytest.raises(ValueError, match="breaking"):
        SmokeConfig(breaking=1.2)
    with pytest.raises(ValueError, match="level_step"):
        SmokeConfig(kind="levels", level_step=0.2)
    with pytest.raises(ValueError, match="inflow must have shape"):
        simulate_smoke(np.zeros((2, 8, 9)), np.zeros((2, 2, 8, 9)), steps=1)
    with pytest.raises(ValueError, match="buoyancy must have shape"):
        simulate_smoke(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), steps=1)


@pytest.mark.slow
def test_data_equivariance_error_zero_without_breaking_and_grows() -> None:
    """One batched PhiFlow run of three rotation sets (breaking 0, 0.2, 0.6) on a 16x16 grid."""
    N, steps = 16, 6
    sets = [smoke_setup(SmokeConfig(kind="rotation", resolution=N, num_positions=1, breaking=b,
                                    inflow_radius=0.13)) for b in (0.0, 0.2, 0.6)]
    inflow = np.concatenate([s["inflow"] for s in sets])
    buoy = np.concatenate([s["buoyancy"] for s in sets])
    vel = simulate_smoke(inflow, buoy, steps=steps, warmup=0, tol=1e-5)
    assert vel.shape == (12, steps, 2, N, N) and vel.dtype == torch.float32
    assert bool(torch.isfinite(vel).all()) and float(vel.abs().max()) > 0.05
    errs = [rotation_set_error(vel[4 * i:4 * i + 4], [0] * 4, [0, 1, 2, 3]) for i in range(3)]
    scale = float(vel[:4].abs().mean())
    assert errs[0] < 1e-4 * scale
    assert errs[1] > 1e-2 * scale
    assert errs[0] < errs[1] < errs[2]
    # the velocity is sampled at cell centres: a closed box has no flow through the walls,
    # so the centre values next to a wall are half the first interior face value at most
    assert float(vel[..., 0, :, 0].abs().max()) <= float(vel[..., 0, :, 1:3].abs().max()) + 1e-6


def test_disk_mask_orientation() -> None:
    m = disk_mask(8, (6.5, 1.5), 0.5)
    assert m[1, 6] == 1 and m.sum() == 1  # row = y (up), column = x


@pytest.mark.slow
def test_one_step_equivariance_error_of_the_simulator() -> None:
    """Deliverable 2: Def. 3.1 of the simulator's own one-step map. Zero (exactly) without breaking;
    positive and growing with the breaking; the own step reproduces the data's next frame."""
    from aeqkit.data.smoke import one_step_equivariance_error, simulate_smoke, smoke_setup

    small = dict(kind="rotation", resolution=8, steps=6, warmup=1, num_positions=1, inflow_radius=0.2,
                 smoke_advection="semi_lagrangian", tol=1e-3)
    windows = [(0, 2), (1, 2), (3, 1)]
    sym = one_step_equivariance_error(SmokeConfig(breaking=0.0, **small), windows, input_length=3)
    assert sym["mean"] == 0.0 and all(v == 0.0 for v in sym["per_element"].values())
    weak = one_step_equivariance_error(SmokeConfig(breaking=0.2, **small), windows, input_length=3)
    cfg = SmokeConfig(breaking=0.6, **small)
    strong = one_step_equivariance_error(cfg, windows, input_length=3)
    assert 0 < weak["mean"] < strong["mean"]
    assert strong["mean"] / weak["mean"] == pytest.approx(3.0, rel=0.3)  # about linear in the breaking
    assert sorted(strong["per_element"]) == [1, 2, 3] and len(strong["per_window"]) == 3
    # the simulation's own step is the data's next frame (same batch: bit for bit)
    st = smoke_setup(cfg)
    vel = simulate_smoke(st["inflow"][[0, 1, 3]], st["buoyancy"][[0, 1, 3]], cfg.steps, cfg.warmup,
                         cfg.tol, smoke_advection=cfg.smoke_advection)
    expected = torch.stack([vel[0, 2 + 3], vel[1, 2 + 3], vel[2, 1 + 3]])
    assert torch.allclose(strong["own_next"], expected, atol=1e-6)
    with pytest.raises(ValueError, match="rotation' or 'levels"):
        one_step_equivariance_error(SmokeConfig(kind="translation", resolution=8), windows)
    with pytest.raises(ValueError, match="do not fit"):
        one_step_equivariance_error(cfg, [(0, 5)], input_length=3)
