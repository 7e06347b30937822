"""The computations behind the interactive views (aeqkit.explore): real properties of their results."""

from __future__ import annotations

import math

import pytest
import torch

from aeqkit import explore

# ----------------------------------------------------------------------------- notebook 00


def test_breaking_strength_sweep_over_its_range() -> None:
    errors = [explore.breaking_strength_sweep(s, n_points=3).equivariance_error
              for s in (0.0, 0.25, 0.5, 1.0)]
    assert errors[0] < 1e-12  # zero breaking: exactly equivariant (float64)
    assert all(b > a for a, b in zip(errors, errors[1:]))  # grows with the strength
    assert errors[2] == pytest.approx(2 * errors[1], rel=1e-6)  # linear in the strength


def test_breaking_strength_sweep_curve_and_elements() -> None:
    sweep = explore.breaking_strength_sweep(0.3, n_points=4, max_strength=0.9)
    assert sweep.strengths == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert sweep.curve[1] == pytest.approx(sweep.equivariance_error)  # s = 0.3 is on the grid
    assert sweep.per_element["0°"] == 0.0  # the identity never errs
    assert max(sweep.per_element.values()) == pytest.approx(sweep.equivariance_error)
    assert max(sweep.per_element, key=sweep.per_element.get) == "180°"  # the odd ramp: worst at 180°
    with pytest.raises(ValueError, match="strength"):
        explore.breaking_strength_sweep(-0.1)


def test_breaking_strength_sweep_takes_your_function_and_group() -> None:
    def transposed(s: float):  # f(x) = x + s·xᵀ: commutes with 180° and the diagonal flips only
        return lambda x: x + s * x.transpose(-1, -2)

    c4 = explore.breaking_strength_sweep(0.5, breaking_function=transposed, n_points=2)
    assert c4.curve[0] < 1e-12 < c4.equivariance_error
    assert c4.per_element["180°"] < 1e-12 < c4.per_element["90°"]
    d4 = explore.breaking_strength_sweep(0.5, breaking_function=transposed, n_points=2, group="D4")
    assert d4.group == "D4" and len(d4.per_element) == 8
    exact = {k for k, v in d4.per_element.items() if v < 1e-12}
    assert exact == {"0°", "180°", "90° ∘ flip", "270° ∘ flip"}  # the diagonal D2 survives


# ----------------------------------------------------------------------------- notebook 01


def test_heat_rotation_run_over_beta() -> None:
    runs = [explore.heat_rotation_run(b, size=16, steps=10, snapshots=(0, 9)) for b in (0.0, 0.4, 0.8)]
    errs = [r.data_equivariance_error for r in runs]
    assert errs[0] < 1e-12 and runs[0].max_rotation_difference < 1e-12  # β = 0: zero error
    assert 1e-4 < errs[1] < errs[2]
    diffs = [r.max_rotation_difference for r in runs]
    assert diffs[0] < 1e-12 < diffs[1] < diffs[2] <= 0.4
    assert runs[1].temperatures.shape == (2, 2, 16, 16) and runs[1].differences.shape == (2, 16, 16)
    assert runs[1].betas == (0.0, 0.4) and runs[1].snapshots == [0, 9]
    with pytest.raises(ValueError, match="beta"):
        explore.heat_rotation_run(1.2)
    with pytest.raises(ValueError, match="snapshots"):
        explore.heat_rotation_run(0.3, steps=5, snapshots=(7,))


def test_heat_rotation_run_on_your_own_pattern() -> None:
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    blob = torch.exp(-((xx - 4) ** 2 + (yy - 10) ** 2) / 8)  # off-centre: not rotation-symmetric
    flat = explore.heat_rotation_run(0.0, size=16, steps=10, snapshots=(0,), initial=blob)
    assert flat.data_equivariance_error < 1e-12 and flat.max_rotation_difference < 1e-12
    assert torch.allclose(flat.temperatures[0, 0], blob.double())  # frame 0 is the pattern
    varied = explore.heat_rotation_run(0.6, size=16, steps=10, snapshots=(0,), initial=blob)
    assert varied.data_equivariance_error > 1e-4
    with pytest.raises(ValueError, match="initial"):
        explore.heat_rotation_run(0.3, size=16, initial=torch.zeros(8, 8))


# ----------------------------------------------------------------------------- notebook 02


def test_alternating_pattern_breaks_to_half_the_group() -> None:
    assert explore.alternating_pattern(4, 0.5).tolist() == [1.5, 0.5, 1.5, 0.5]
    with pytest.raises(ValueError, match="even group_order"):
        explore.alternating_pattern(3)


def test_symmetric_pattern_keeps_relaxed_weights_equal() -> None:
    """An exactly C4-equivariant teacher on orbit-closed data: the relaxed weights never spread."""
    torch.set_num_threads(1)
    run = explore.train_relaxed_layer(torch.ones(4), steps=10, size=8, orbit=True)
    w = run.relaxed_weights
    assert float((w.max(dim=1).values - w.min(dim=1).values).max()) < 1e-12
    assert run.equivariance_error < 1e-12 and run.breaking_fraction < 1e-12
    assert run.losses[-1] < run.losses[0]  # it did fit the teacher
    assert run.surviving_subgroup == 4 and run.group.order == run.group_order == 4


def test_train_relaxed_layer_names_the_broken_irrep() -> None:
    torch.set_num_threads(1)
    cosine = 1 + 0.5 * torch.cos(2 * math.pi * torch.arange(4) / 4)  # notebook 02, exercise 1
    run = explore.train_relaxed_layer(cosine, steps=40)
    assert run.init_equivariance_error < 1e-12  # equal relaxed weights at initialisation
    assert run.dominant_irrep == 1 and run.surviving_subgroup == 1  # nothing but e survives
    assert run.pattern.tolist() == cosine.double().tolist() and run.relaxed_weights.shape == (2, 4)
    assert list(run.per_element) == ["0°", "90°", "180°", "270°"]
    with pytest.raises(ValueError, match="pattern"):
        explore.train_relaxed_layer(torch.ones(3), group_order=4)
    with pytest.raises(ValueError, match="alpha"):
        explore.train_relaxed_layer(alpha=-1.0)


def test_train_relaxed_layer_on_the_dihedral_group() -> None:
    """D4: a teacher that flips sign under the reflections (irrep A2) keeps only the rotations."""
    torch.set_num_threads(1)
    run = explore.train_relaxed_layer(torch.tensor([1.5] * 4 + [0.5] * 4), group="D4", steps=30, size=8)
    assert run.group.name == "D4" and run.relaxed_weights.shape == (2, 8)
    assert run.spectrum_labels[run.dominant_irrep] == "A2" and run.surviving_subgroup.name == "C4"
    flips = [v for k, v in run.per_element.items() if "flip" in k]
    turns = [v for k, v in run.per_element.items() if "flip" not in k]
    assert min(flips) > 10 * max(turns)  # broken under the reflections, (nearly) kept under rotations
    symmetric = explore.train_relaxed_layer(torch.ones(8), group="D4", steps=5, size=8, orbit=True)
    w = symmetric.relaxed_weights
    assert float((w.max(dim=1).values - w.min(dim=1).values).max()) < 1e-12
    assert symmetric.surviving_subgroup.name == "D4"


@pytest.mark.slow
def test_train_relaxed_layer_alpha_restores_equivariance() -> None:
    torch.set_num_threads(1)
    free = explore.train_relaxed_layer(group_order=4, num_filter_banks=2, alpha=0.0, steps=40)
    assert free.init_equivariance_error < 1e-12  # equal relaxed weights at initialisation
    assert free.equivariance_error > 0.05  # learns the teacher's C4 -> C2 breaking
    assert free.dominant_irrep == 2  # ... on the irrep k = N/2
    assert free.surviving_subgroup == 2  # C4 broken down to C2
    reg = explore.train_relaxed_layer(group_order=4, num_filter_banks=2, alpha=1.0, steps=40)
    assert reg.equivariance_error < 0.2 * free.equivariance_error
    assert reg.penalty < free.penalty
    assert reg.breaking_fraction < 0.1 * free.breaking_fraction
    with pytest.raises(ValueError, match="even group_order"):
        explore.train_relaxed_layer(group_order=3)


# ----------------------------------------------------------------------------- notebook 05


def test_ring_rotation_sample_rotates_each_point() -> None:
    sample = explore.ring_rotation_sample(1.0, n_samples=200, with_accuracy=False)
    assert sample.points.shape == sample.rotated.shape and sample.points.shape[1] == 2  # training split
    assert torch.allclose(sample.rotated.norm(dim=1), sample.points.norm(dim=1), atol=1e-5)  # SO(2)
    assert float((sample.rotated - sample.points).abs().max()) > 0.1  # ... by non-trivial angles
    assert sample.distinguishability is None and sample.breaking == 1.0


def test_bad_parameters_name_themselves() -> None:
    with pytest.raises(ValueError, match="n_points"):
        explore.breaking_strength_sweep(0.5, n_points=1)
    with pytest.raises(ValueError, match="num_filter_banks"):
        explore.train_relaxed_layer(num_filter_banks=0)
    with pytest.raises(ValueError, match="steps"):
        explore.train_relaxed_layer(steps=-1)
    with pytest.raises(ValueError, match="group_order"):
        explore.train_relaxed_layer(group_order=4, group="D4")
    with pytest.raises(ValueError, match="group"):
        explore.train_relaxed_layer(group="SO2")
