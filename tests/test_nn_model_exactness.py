"""Model-level claims of the relaxed layers (issue 12 items 7-8, issue 13 item 10): regularisers that
start with zero gradient, a translation penalty whose weight means the same at every resolution,
and validated ``alpha``."""

from __future__ import annotations

import math

import pytest
import torch

from aeqkit import models
from aeqkit.models.relaxed import SpatialRelaxedWeights
from aeqkit.nn import equivariance_penalty

RELAXED = [("rgroup", "rotation", {}), ("rgroup", "translation", {}), ("rgroup", "scaling", {}),
           ("rsteer", "rotation", {}), ("rsteer", "rotation", {"relax": "angle"}),
           ("rsteer", "scaling", {}), ("rsteer_tr", "rotation", {}), ("rsteer_ts", "scaling", {}),
           ("rgroup", "translation", {"rank": 2})]


def _small(name, sym, size=12, **extra):
    kw = {"width": 2, "num_layers": 3, "kernel_size": 3, "input_size": (size, size)}
    kw.update(extra)
    return models.build(name, sym, **kw)


@pytest.mark.parametrize("name, sym, extra", RELAXED)
def test_penalty_and_its_gradient_are_zero_at_initialisation(name, sym, extra):
    """Before: SpatialRelaxedWeights' own pairwise sum had a gradient ramp from -16 to 16 at init."""
    model = _small(name, sym, **extra)
    pen = equivariance_penalty(model, 1.0)
    assert float(pen.detach()) == 0.0
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    if pen.requires_grad:
        grads = torch.autograd.grad(pen, params, allow_unused=True)
        assert all(g is None or float(g.abs().max()) == 0.0 for g in grads)


def test_spatial_penalty_is_the_mean_pairwise_difference():
    sw = SpatialRelaxedWeights(2, (3, 4))
    with torch.no_grad():
        sw.relaxed_weights.copy_(torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0)))
    w = sw.relaxed_weights.detach().flatten(1)
    naive = sum(float((w[r, :, None] - w[r, None, :]).abs().mean()) for r in range(2))
    assert float(sw.equivariance_penalty()) == pytest.approx(naive, rel=1e-6)


def _grad_ratio(n: int) -> float:
    torch.manual_seed(0)
    model = _small("rsteer_tr", "rotation", size=n, alpha=1e-4)
    spatial = [m.relaxed_weights for m in model.modules() if isinstance(m, SpatialRelaxedWeights)]
    with torch.no_grad():
        for w in spatial:
            w.add_(0.01 * torch.randn_like(w))
    x, y = torch.randn(4, 10, 2, n, n), torch.randn(4, 2, n, n)
    g_mse = torch.autograd.grad(torch.mean((model(x) - y) ** 2), spatial)
    g_pen = torch.autograd.grad(model.extra_loss(), spatial)

    def norm(gs):
        return math.sqrt(sum(float(g.pow(2).sum()) for g in gs))

    return norm(g_pen) / norm(g_mse)


def test_translation_penalty_to_data_gradient_ratio_does_not_grow_with_resolution():
    """Before: 9.9 at 16x16 and 2,370 at 64x64 (x240, the (HW)^2 growth); now ~1.4e-4 at both."""
    r16, r64 = _grad_ratio(16), _grad_ratio(64)
    assert 0.1 < r64 / r16 < 10, (r16, r64)


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), -1e-3, True, "1e-4"])
def test_non_finite_or_negative_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        models.build("rgroup", "rotation", width=2, num_layers=3, kernel_size=3, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        equivariance_penalty(_small("rgroup", "rotation"), alpha)


@pytest.mark.parametrize("name, sym, extra", RELAXED + [("equiv", "scaling", {})])
def test_every_trainable_parameter_entry_gets_a_data_gradient(name, sym, extra):
    """Issue 12 item 8: before, RGroup-rotation's last bias (cancelled by RotGroupToVector) and
    RSteer's relaxed weights where the basis is exactly zero (11% of RSteer-rotation's parameters)
    never received a data gradient but were counted and penalised."""
    torch.manual_seed(0)
    model = _small(name, sym, **{"width": 4, **extra}).double()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # leave the symmetric point so every path is active
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    x = torch.randn(16, 10, 2, 12, 12, generator=gen, dtype=torch.float64)  # 16: no ReLU dead everywhere
    loss = (model(x) - torch.randn(16, 2, 12, 12, generator=gen, dtype=torch.float64)).pow(2).mean()
    names, params = zip(*[(n, p) for n, p in model.named_parameters() if p.requires_grad])
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    dead = {n: int((g == 0).sum()) if g is not None else p.numel() for n, p, g in zip(names, params, grads)}
    dead = {n: c for n, c in dead.items() if c}
    assert not dead, dead


@pytest.mark.parametrize("sym", ["rotation", "translation"])
def test_clcnn_border_taps_that_read_zero_padding_are_held_at_zero_and_not_penalised(sym):
    """Issue 12 item 8: taps reading the zero padding (140 per layer at 12x12, k=3) were random at
    initialisation, never got a data gradient and entered the translation hinge."""
    torch.manual_seed(0)
    model = _small("clcnn", sym).double()
    for layer in model.layers:
        dead = ~layer.tap_support[:, :, None, None].expand_as(layer.weight)
        assert int(dead.sum()) > 0 and float(layer.weight.detach()[dead].abs().max()) == 0.0
    before = float(model.hinge().detach())
    with torch.no_grad():  # whatever sits in a dead tap does not change the hinge or the output
        x = torch.randn(2, 10, 2, 12, 12, dtype=torch.float64)
        y = model(x)
        for layer in model.layers:
            layer.weight.add_(torch.randn_like(layer.weight) * ~layer.tap_support[:, :, None, None])
        assert torch.allclose(model(x), y, atol=1e-12)
    assert float(model.hinge().detach()) == pytest.approx(before, abs=1e-12) or sym == "rotation"
