"""Uniform motion is the Galilean symmetry of dynamics (issue 12 item 1), on periodic viscous Burgers."""

from __future__ import annotations

import pytest
import torch

from aeqkit.data.burgers import burgers_initial_condition, burgers_step, simulate_burgers
from aeqkit.equivariance import equivariance_error
from aeqkit.groups import UniformMotionGroup, galilean_boost, uniform_motion

STEPS, DT, NU = 12, 0.05, 0.5
C = (0.7, -1.3)


@pytest.fixture(scope="module")
def traj():
    u0 = burgers_initial_condition(24, 2, seed=3)
    return simulate_burgers(u0, STEPS, NU, DT)


def _residual(w):
    return max(float((burgers_step(w[:, i], NU, DT) - w[:, i + 1]).abs().max()) for i in range(STEPS))


def test_burgers_flow_is_nontrivial_and_boosted_trajectory_is_a_solution(traj):
    assert float((traj[:, -1] - traj[:, 0]).abs().max()) > 0.05  # the flow map does something
    assert _residual(galilean_boost(traj, C, DT)) < 1e-10
    # shifting every frame by the same c·t (what UniformMotionGroup.act did to windows) is no symmetry
    assert _residual(uniform_motion(traj, C, 1.0)) > 1e-3
    # act with one time per frame is the boost
    G = UniformMotionGroup(dt=DT)
    times = [i * DT for i in range(STEPS + 1)]
    assert torch.allclose(G.act(C, traj, times=times), galilean_boost(traj, C, DT), atol=1e-14)


def test_flow_map_is_exactly_equivariant_under_the_time_aware_relation(traj):
    u0 = traj[:, 0]

    def flow(x):
        return simulate_burgers(x, STEPS, NU, DT)[:, -1]

    G = UniformMotionGroup(dt=STEPS * DT, velocities=[(0.0, 0.0), C, (2.0, 0.5)])
    rep = equivariance_error(flow, u0, G, norm="linf")
    assert rep.sup < 1e-10  # before the fix (same element on both sides): 0.32 on this flow map
    wrong = equivariance_error(flow, u0, G, norm="linf", in_times=1.0, out_times=1.0)
    assert wrong.sup > 1e-2


def test_forecaster_windows_use_one_time_per_frame(traj):
    """A window (B, T, 2, H, W) -> next frame: input frames at 0..T-1 steps, output at step T."""
    T = 4
    window = traj[:, :T]

    def next_frame(x):
        return burgers_step(x[:, -1], NU, DT)

    rep = equivariance_error(next_frame, window, UniformMotionGroup(dt=DT, velocities=[C]), norm="linf")
    assert rep.sup < 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="one time per frame"):
        uniform_motion(torch.zeros(3, 2, 4, 4), (1.0, 0.0), [0.0, 1.0])
    with pytest.raises(ValueError, match="dt"):
        UniformMotionGroup(dt=0.0)
    with pytest.raises(ValueError, match="nu"):
        burgers_step(torch.zeros(2, 8, 8), nu=-1.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., T, C, H, W\)"):
        galilean_boost(torch.zeros(2, 8, 8), C)
