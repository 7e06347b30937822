"""Tests of the closed-form forecasting baselines (aeqkit.models.baselines): persistence, the 5x5
least-squares stencil and its C4-tied variant (issue 10, deliverable 4)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import CyclicGroup, rot90_field
from aeqkit.models import build, count_parameters
from aeqkit.models.baselines import c4_symmetrise_kernel, fit_baseline, fit_stencil, is_baseline
from aeqkit.train import evaluate

torch.set_num_threads(1)


def linear_dynamics(kernel: torch.Tensor, sims: int = 3, steps: int = 16, size: int = 12,
                    seed: int = 0) -> torch.Tensor:
    """Trajectories of ``x_{t+1} = x_t + conv(x_t, kernel)`` (circular), float64.

    Shape: kernel (2, 2, k, k) -> (sims, steps, 2, size, size)
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(sims, 2, size, size, generator=g, dtype=torch.float64)
    r = kernel.shape[-1] // 2
    frames = [x]
    for _ in range(steps - 1):
        x = x + F.conv2d(F.pad(x, (r, r, r, r), mode="circular"), kernel)
        frames.append(x)
    return torch.stack(frames, dim=1)


def windows(traj: torch.Tensor, k: int = 3) -> TensorDataset:
    xs, ys = [], []
    for s in range(traj.shape[0]):
        for t in range(traj.shape[1] - 10 - k + 1):
            xs.append(traj[s, t:t + 10])
            ys.append(traj[s, t + 10:t + 10 + k])
    return TensorDataset(torch.stack(xs), torch.stack(ys))


def true_kernel(seed: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.05 * torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64)


def test_registry_builds_baselines_with_table_hyperparameters():
    for name in ("persistence", "stencil", "stencil_c4"):
        model = build(name, "rotation", width=8, num_layers=3, kernel_size=5, alpha=0.0,
                      input_size=(12, 12))
        assert is_baseline(model) and model.name == name
    assert count_parameters(build("persistence")) == 0
    assert count_parameters(build("stencil")) == 2 * 2 * 25 + 2
    assert count_parameters(build("stencil", frames=2, kernel_size=3)) == 2 * 4 * 9 + 2
    with pytest.raises(ValueError, match="frames"):
        build("stencil", frames=11)
    with pytest.raises(ValueError, match="tie"):
        build("stencil", tie="D4")
    with pytest.raises(ValueError, match="ridge"):
        build("stencil", ridge=-1.0)


def test_persistence_repeats_the_last_frame():
    model = build("persistence")
    x = torch.randn(2, 10, 2, 8, 6)
    assert torch.equal(model(x), x[:, -1])
    assert fit_baseline(model, windows(linear_dynamics(true_kernel())))["unknowns"] == 0


def test_stencil_recovers_linear_dynamics_exactly():
    kernel = true_kernel()
    traj = linear_dynamics(kernel)
    model = build("stencil", padding_mode="circular", ridge=0.0).double()
    info = fit_stencil(model, windows(traj))
    assert info["train_mse"] < 1e-20
    fitted = model.conv.weight[:, :, 1:4, 1:4]
    assert torch.allclose(fitted, kernel, atol=1e-10)
    assert model.conv.weight[:, :, 0].abs().max() < 1e-10  # outside the true 3x3 support
    test = windows(linear_dynamics(kernel, sims=1, seed=9), k=4)
    assert evaluate(model, test, steps=4).rmse < 1e-9
    assert evaluate(build("persistence").double(), test, steps=4).rmse > 1e-2


def test_c4_tied_stencil_is_exactly_equivariant_and_symmetrising_is_a_projection():
    traj = linear_dynamics(true_kernel())  # a generic, non-equivariant linear map
    model = build("stencil_c4", padding_mode="circular").double()
    fit_stencil(model, windows(traj))
    x = traj[:2, :10]
    assert equivariance_error(model, x, CyclicGroup(4), norm="linf").sup < 1e-12
    free = build("stencil", padding_mode="circular").double()
    fit_stencil(free, windows(traj))
    assert equivariance_error(free, x, CyclicGroup(4), norm="linf").sup > 1e-3
    w = model.conv.weight.detach()
    assert torch.allclose(c4_symmetrise_kernel(w, 1), w, atol=1e-14)
    # symmetrising an arbitrary kernel gives an equivariant convolution
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(2, 4, 5, 5, generator=g, dtype=torch.float64)
    sym = c4_symmetrise_kernel(raw, 2)
    z = torch.randn(1, 2, 2, 11, 11, generator=g, dtype=torch.float64)

    def conv(v):
        return F.conv2d(v.reshape(1, 4, 11, 11), sym, padding=2)

    assert torch.allclose(conv(rot90_field(z, 1)), rot90_field(conv(z), 1), atol=1e-12)


def test_fit_stencil_rejects_networks_and_bad_windows():
    with pytest.raises(TypeError, match="fit"):
        fit_stencil(build("conv", width=2, num_layers=2), windows(linear_dynamics(true_kernel())))
    bad = TensorDataset(torch.zeros(2, 9, 2, 6, 6), torch.zeros(2, 1, 2, 6, 6))
    with pytest.raises(ValueError, match="windows"):
        fit_stencil(build("stencil"), bad)


def test_c4_tied_stencil_fits_non_square_windows():
    traj = linear_dynamics(true_kernel(), size=12)[..., :9]  # 12 x 9 windows (jet-like)
    model = build("stencil_c4").double()
    info = fit_stencil(model, windows(traj))
    assert info["equations"] == 4 * info["windows"] * 12 * 9
    square = build("stencil_c4").double()
    fit_stencil(square, windows(linear_dynamics(true_kernel(), size=12)))
    x = torch.randn(2, 10, 2, 8, 8, dtype=torch.float64)
    assert equivariance_error(model, x, CyclicGroup(4), norm="linf").sup < 1e-12
