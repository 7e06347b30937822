"""Tests for aeqkit.data.heat: the solver, its speed and the data equivariance error vs β."""

from __future__ import annotations

import time

import pytest
import torch

from aeqkit.data.heat import (
    HeatConfig,
    diffusivity,
    generate_heat,
    heat_equivariance_error,
    heat_initial_conditions,
    simulate_heat,
    symmetry_breaking_field,
)
from aeqkit.groups import get_group


def test_shapes_dtype_and_seed() -> None:
    cfg = HeatConfig(resolution=16, steps=5, num_sims=3, beta=0.4)
    data, meta = generate_heat(cfg, progress=False)
    assert data["fields"].shape == (3, 5, 1, 16, 16) and data["fields"].dtype == torch.float32
    assert meta["field_type"] == "scalar"
    again, _ = generate_heat(cfg, progress=False)
    assert torch.equal(data["fields"], again["fields"])
    other, _ = generate_heat(HeatConfig(resolution=16, steps=5, num_sims=3, beta=0.4, seed=1), progress=False)
    assert not torch.allclose(other["fields"], data["fields"])


def test_64x64_100_steps_well_under_a_second() -> None:
    cfg = HeatConfig(resolution=64, steps=100, num_sims=1, beta=0.5)
    t0 = time.perf_counter()
    traj = simulate_heat(heat_initial_conditions(cfg), cfg)
    elapsed = time.perf_counter() - t0
    assert traj.shape == (1, 100, 1, 64, 64)
    # ~0.2 s on an idle core; generous bound for a shared CI machine
    assert elapsed < 2.0, f"64x64x100 heat trajectory took {elapsed:.2f}s"


def test_stable_conservative_and_diffusing() -> None:
    cfg = HeatConfig(resolution=32, steps=50, num_sims=2, beta=0.9)
    T0 = heat_initial_conditions(cfg)
    traj = simulate_heat(T0, cfg)
    # maximum principle and conservation of total heat (periodic, flux form)
    assert float(traj.max()) <= float(T0.max()) + 1e-9
    assert float(traj.min()) >= float(T0.min()) - 1e-9
    assert float((traj.sum(dim=(-1, -2, -3)) - T0.sum(dim=(-1, -2, -3))[:, None]).abs().max()) < 1e-9
    assert float(traj[:, -1].std()) < 0.8 * float(T0.std())


def test_phi_is_fixed_smooth_and_not_symmetric() -> None:
    phi = symmetry_breaking_field(32)
    assert float(phi.abs().max()) == pytest.approx(1.0)
    assert torch.equal(phi, symmetry_breaking_field(32))
    c4 = get_group("C4")
    assert float((c4.act(1, phi[None, None], "scalar")[0, 0] - phi).abs().max()) > 0.1
    assert float((torch.roll(phi, 1, -1) - phi).abs().max()) < 0.5  # smooth
    kappa = diffusivity(HeatConfig(resolution=32, beta=0.0))
    assert torch.all(kappa == kappa[0, 0])


@pytest.mark.parametrize("group", ["C4", "D4", "translation"])
def test_beta_zero_exactly_symmetric_and_error_grows(group: str) -> None:
    errs = heat_equivariance_error([0.0, 0.1, 0.3, 0.6], resolution=16, steps=10, group=group)
    assert errs[0] < 1e-12
    assert errs[1] > 1e-4
    assert errs[1] < errs[2] < errs[3]


def test_bad_config_raises() -> None:
    with pytest.raises(ValueError, match="beta"):
        HeatConfig(beta=1.5)
    with pytest.raises(ValueError, match="resolution"):
        HeatConfig(resolution=2)
    with pytest.raises(ValueError, match=r"\(S, 1, H, H\)"):
        simulate_heat(torch.zeros(2, 2, 8, 8), HeatConfig(resolution=8))


def test_temperature_gradient_is_a_rotating_vector_field():
    import torch

    from aeqkit.data.heat import heat_gradient_trajectories, temperature_gradient
    from aeqkit.groups import rot90_field

    T = torch.randn(3, 1, 12, 12, dtype=torch.float64)
    for k in range(4):
        lhs = temperature_gradient(torch.rot90(T, k, dims=(-1, -2)))
        assert torch.allclose(lhs, rot90_field(temperature_gradient(T), k), atol=1e-12)
    # a ramp in x has gradient (1, 0) away from the periodic seam
    ramp = torch.arange(12.0).expand(12, 12)[None]
    assert torch.allclose(temperature_gradient(ramp)[:, 5, 5], torch.tensor([1.0, 0.0]))
    # at β = 0 the run of a rotated plate is the rotated run
    a = heat_gradient_trajectories(0.0, 1, resolution=16, steps=5)
    b = heat_gradient_trajectories(0.0, 1, resolution=16, steps=5, quarter_turns=1)
    assert a.shape == (1, 5, 2, 16, 16)
    assert torch.allclose(b, rot90_field(a, 1), atol=1e-5)


# ------------------------------------------------------------------ rotated plates, one-step error
def test_rotated_plates_form_exact_orbits_at_beta_zero() -> None:
    from aeqkit.data.heat import heat_orbit_trajectories

    T, orbits = heat_orbit_trajectories(0.0, 2, seed=0, resolution=12, steps=6)
    assert T.shape == (8, 6, 1, 12, 12) and T.dtype == torch.float64
    assert orbits == [0, 0, 0, 0, 1, 1, 1, 1]
    for i in range(2):
        for k in range(4):  # run 4 i + k is run 4 i turned by k quarter turns, at every frame
            assert torch.allclose(T[4 * i + k], torch.rot90(T[4 * i], k, dims=(-1, -2)), atol=1e-13)
    broken, _ = heat_orbit_trajectories(0.5, 1, seed=0, resolution=12, steps=6)
    assert not torch.allclose(broken[1], torch.rot90(broken[0], 1, dims=(-1, -2)), atol=1e-4)
    data, meta = generate_heat(HeatConfig(resolution=12, steps=3, num_sims=2, rotations=4),
                               progress=False)
    assert data["fields"].shape[0] == 8
    assert meta["orbits"] == orbits and meta["group_elements"] == [0, 1, 2, 3] * 2
    with pytest.raises(ValueError, match="rotations"):
        HeatConfig(rotations=2)


def test_one_step_data_error_vanishes_at_beta_zero_grows_with_beta_and_skips_identity() -> None:
    from aeqkit.data.heat import (
        heat_one_step_equivariance_error,
        heat_one_step_map,
        heat_orbit_trajectories,
        temperature_gradient,
    )
    from aeqkit.groups import rot90_field

    errs = []
    for beta in (0.0, 0.1, 0.3, 0.6):
        T, _ = heat_orbit_trajectories(beta, 1, resolution=12, steps=8)
        errs.append(heat_one_step_equivariance_error(T[:, :6], beta=beta))  # windows: last frame
    assert errs[0] < 1e-15
    assert 1e-5 < errs[1] < errs[2] < errs[3]
    # the number is the mean L1 over the three non-identity rotations (Def. 3.1, never g = e)
    beta = 0.3
    T0 = heat_initial_conditions(HeatConfig(resolution=12, num_sims=2, beta=beta))
    cfg = HeatConfig(resolution=12, steps=2, num_sims=1, beta=beta)
    f = heat_one_step_map(cfg)
    manual = sum(float((f(torch.rot90(T0, k, dims=(-1, -2))) - rot90_field(f(T0), k)).abs().mean())
                 for k in (1, 2, 3)) / 3
    assert heat_one_step_equivariance_error(T0, beta=beta) == pytest.approx(manual, rel=1e-12)
    # the map is the data's own step: it reproduces the simulated next frame's gradient
    run = simulate_heat(T0, cfg)
    assert torch.allclose(f(T0), temperature_gradient(run[:, 1]), atol=1e-14)
    with pytest.raises(ValueError, match="exactly one"):
        heat_one_step_equivariance_error(T0)
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        heat_one_step_equivariance_error(torch.zeros(2, 2, 12, 12), beta=0.0)
    with pytest.raises(ValueError, match="output"):
        heat_one_step_map(cfg, output="flux")
