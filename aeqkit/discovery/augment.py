"""Use a discovered symmetry downstream: data augmentation ``ŷ = g^{-1} f(g x)``.

:func:`augmentation_comparison` trains the same MLP forecaster three ways on 2-body trajectories
(no augmentation, the discovered group, the true SO(2)) and reports test MSE, the slides' table
"Predicting 2-Body Trajectory" (ground truth / LieGAN / MLP) in miniature.

See also: notebook 05, section 6.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from aeqkit.discovery.data import PairData, check_pairs
from aeqkit.discovery.generator import LieGenerator, act

__all__ = ["train_forecaster", "forecast_mse", "group_sampler", "augmentation_comparison"]

Sampler = Callable[[int], torch.Tensor]


def group_sampler(generator: torch.Tensor, magnitude: float = 3.0) -> Sampler:
    """Sample ``exp(z L)`` with ``z ~ N(0, magnitude^2)`` and ``L`` normalised to
    ``||L||_F^2 = n`` (so ``magnitude`` is the RMS rotation angle for a rotation generator).

    Shape:
        generator: (n, n); sampler(B): (B, n, n)
    """
    g = torch.as_tensor(generator, dtype=torch.float32)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"generator must be a square (n, n) matrix, got {tuple(g.shape)}")
    if not bool(torch.isfinite(g).all()) or float(g.norm()) == 0:
        raise ValueError("generator must be finite and non-zero")
    lhat = g / g.norm() * g.shape[0] ** 0.5

    def sample(batch_size: int) -> torch.Tensor:
        z = torch.randn(batch_size) * magnitude
        return torch.linalg.matrix_exp(z[:, None, None] * lhat)

    return sample


def _mlp(d_in: int, d_out: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                         nn.Linear(hidden, d_out))


class _Flat(nn.Module):
    def __init__(self, net: nn.Module, out_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.out_shape = net, out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], -1)).reshape(x.shape[0], *self.out_shape)


def train_forecaster(
    x: torch.Tensor,
    y: torch.Tensor,
    sampler: Sampler | None = None,
    steps: int = 1500,
    hidden: int = 128,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
) -> nn.Module:
    """Train an MLP ``f`` with loss ``||g^{-1} f(g x) - y||^2`` (``g`` from ``sampler``; none: ``g = I``).

    Shape:
        x: (N, T_in, D); y: (N, T_out, D'); sampler(B): (B, n, n) with D, D' multiples of n
    """
    check_pairs(x, y)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    torch.manual_seed(seed)
    f = _Flat(_mlp(x[0].numel(), y[0].numel(), hidden), tuple(y.shape[1:]))
    opt = torch.optim.Adam(f.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    n = x.shape[0]
    for _ in range(steps):
        idx = torch.randint(0, n, (min(batch_size, n),))
        xb, yb = x[idx], y[idx]
        if sampler is None:
            pred = f(xb)
        else:
            with torch.no_grad():
                g = sampler(xb.shape[0])
                g_inv = torch.linalg.inv(g)
            pred = act(g_inv, f(act(g, xb)))
        loss = nn.functional.mse_loss(pred, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return f


def forecast_mse(f: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of ``f(x)`` against ``y``. Shape: x: (N, T_in, D); y: (N, T_out, D')"""
    with torch.no_grad():
        return float(nn.functional.mse_loss(f(x), y))


def augmentation_comparison(
    data: PairData,
    discovered: LieGenerator | torch.Tensor,
    magnitude: float | None = None,
    steps: int = 1500,
    hidden: int = 128,
    seed: int = 0,
) -> dict[str, float]:
    """Test MSE of one MLP forecaster trained with no / discovered / true-group augmentation.

    Args:
        data: pairs with a ``true_generator`` (e.g. :func:`~aeqkit.discovery.make_two_body` with
            ``split="orientation"``, so test orientations are unseen in training).
        discovered: a trained :class:`LieGenerator` (its first channel is used) or a matrix.
        magnitude: RMS coefficient of the sampled group elements for both groups; default: the
            discovered generator's effective magnitude (3.0 for a matrix).

    Returns:
        ``{"none": mse, "discovered": mse, "true": mse}`` on ``data.x_test, data.y_test``.
    """
    if data.true_generator is None:
        raise ValueError("data.true_generator is None: the comparison needs the true group")
    if isinstance(discovered, LieGenerator):
        mat = discovered.basis()[0].detach()
        if magnitude is None:
            magnitude = float(discovered.effective_magnitude()[0].detach())
    else:
        mat = torch.as_tensor(discovered, dtype=torch.float32)
        mat = mat[0] if mat.ndim == 3 else mat
    magnitude = 3.0 if magnitude is None else magnitude
    out = {}
    for name, sampler in (("none", None), ("discovered", group_sampler(mat, magnitude)),
                          ("true", group_sampler(data.true_generator, magnitude))):
        f = train_forecaster(data.x_train, data.y_train, sampler, steps=steps, hidden=hidden,
                             seed=seed)
        out[name] = forecast_mse(f, data.x_test, data.y_test)
    return out
