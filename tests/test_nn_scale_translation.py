"""Relaxed scale (dilation and Hermite-Gaussian steerable) and translation convolutions."""

from __future__ import annotations

import pytest
import torch

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import FieldType, TranslationGroup
from aeqkit.nn import (
    RelaxedLayer,
    RelaxedScaleGroupConv2d,
    RelaxedScaleLiftConv2d,
    RelaxedScaleSteerConv2d,
    RelaxedTranslationConv2d,
    hermite_gaussian_basis,
)

pytestmark = pytest.mark.usefixtures("float64_default")


def _up(x: torch.Tensor) -> torch.Tensor:
    """2x nearest up-sampling: keeps x[i, j] at (2i, 2j)."""
    return x.repeat_interleave(2, -1).repeat_interleave(2, -2)


def _scale_shift_error(f, x, num_fields, num_scales, valid):
    """max |f(up x)[.., s+1, ::2, ::2] - f(x)[.., s]| / max|f(x)| over s in ``valid``."""
    a = f(_up(x)).unflatten(1, (num_fields, num_scales))
    b = f(x).unflatten(1, (num_fields, num_scales))
    err = max((a[:, :, s + 1, ::2, ::2] - b[:, :, s]).abs().max().item() for s in valid)
    return err / b.abs().max().item()


def _perturb(module, eps, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        module.relaxed_weights.add_(eps * torch.randn(module.relaxed_weights.shape, generator=g))


@pytest.mark.parametrize("num_banks", [1, 2])
def test_scale_lift_and_group_conv_exact_scale_shift(num_banks):
    S = 4
    lift = RelaxedScaleLiftConv2d(2, 3, 3, num_scales=S, num_filter_banks=num_banks)
    conv = RelaxedScaleGroupConv2d(3, 2, 3, num_scales=S, scale_size=2, num_filter_banks=num_banks)
    x = torch.randn(2, 2, 9, 7)  # non-square
    assert _scale_shift_error(lift, x, 3, S, valid=range(S - 1)) < 1e-12

    def model(z):
        return conv(torch.relu(lift(z)))

    # scale_size=2 truncates the top scale: exact for output scales s <= S - 1 - 2
    assert _scale_shift_error(model, x, 2, S, valid=range(S - 2)) < 1e-12
    # the truncated top scale is honestly not exact
    assert _scale_shift_error(model, x, 2, S, valid=[S - 2]) > 1e-3
    assert lift.equivariance_penalty().item() == 0.0 == conv.equivariance_penalty().item()
    errs = []
    for eps in (0.05, 0.2, 0.8):
        m = RelaxedScaleLiftConv2d(2, 3, 3, num_scales=S, num_filter_banks=num_banks)
        m.load_state_dict(lift.state_dict())
        _perturb(m, eps)
        errs.append(_scale_shift_error(m, x, 3, S, valid=range(S - 1)))
        assert m.equivariance_penalty().item() > 0
    assert errs[0] > 1e-3 and errs[0] < errs[1] < errs[2]


def test_scale_convs_cyclic_shift_exact_and_every_scale_gets_gradient():
    S = 3
    lift = RelaxedScaleLiftConv2d(2, 2, 3, num_scales=S, padding_mode="circular")
    conv = RelaxedScaleGroupConv2d(2, 2, 3, num_scales=S, scale_size=2, padding_mode="circular")

    def model(z):
        return conv(torch.relu(lift(z)))

    x = torch.randn(2, 2, 12, 10)
    rep = equivariance_error(
        model,
        x,
        TranslationGroup(cyclic=True),
        in_type=FieldType.scalars(2),
        out_type=FieldType.scalars(2 * S),
        norm="relative",
    )
    assert rep.sup < 1e-12
    model(x).pow(2).sum().backward()
    for m in (lift, conv):
        # every scale of every relaxed weight receives gradient
        assert (m.relaxed_weights.grad.abs() > 0).all()
        assert m.weight.grad.abs().sum() > 0


def test_strict_scale_conv_has_no_relaxed_parameter():
    m = RelaxedScaleGroupConv2d(2, 2, 3, relaxed=False)
    assert "relaxed_weights" not in dict(m.named_parameters())


def test_hermite_basis_scaling_identity():
    """psi_{2 sigma}(2y) = psi_sigma(y) / 4 on grid points (the sigma^-2 normalisation)."""
    small = hermite_gaussian_basis(5, 0.8, 2)
    big = hermite_gaussian_basis(9, 1.6, 2)
    torch.testing.assert_close(big[:, ::2, ::2], small / 4)
    assert small.shape[0] == 9


def test_scale_steer_exact_shift_and_approximate_scale():
    S = (1.0, 2**0.5, 2.0)
    lift = RelaxedScaleSteerConv2d(1, 2, 7, scales=S, lift=True, padding_mode="circular")
    x = torch.randn(2, 1, 10, 12)
    rep = equivariance_error(
        lift,
        x,
        TranslationGroup(cyclic=True),
        in_type=FieldType.scalars(1),
        out_type=FieldType.scalars(2 * len(S)),
        norm="relative",
    )
    assert rep.sup < 1e-12
    assert lift.equivariance_penalty().item() == 0.0
    # approximate scale equivariance on a smooth (band-limited) input, factor 2 = two scale steps:
    # out(up x)[..., s=2] averaged back to the coarse grid ~ out(x)[..., s=0] (interior pixels).
    F = torch.nn.functional
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    blob = (
        torch.exp(-((xx - 15.5) ** 2 + (yy - 13.5) ** 2) / 30.0)
        - 0.7 * torch.exp(-((xx - 19.5) ** 2 + (yy - 17.5) ** 2) / 15.0)
    )[None, None]
    big = F.interpolate(blob, scale_factor=2, mode="bicubic", align_corners=False)
    strict = RelaxedScaleSteerConv2d(1, 4, 7, scales=S, lift=True, relax=None, bias=False)
    a = F.avg_pool2d(strict(big).unflatten(1, (4, 3))[:, :, 2], 2)[..., 6:26, 6:26]
    b = strict(blob).unflatten(1, (4, 3))[:, :, 0][..., 6:26, 6:26]
    rel = ((a - b).norm() / b.norm()).item()
    assert rel < 0.06  # measured ~0.03 (approximate: sampling + truncation of the basis)


def test_scale_steer_relaxation_breaks_and_penalty_grows():
    conv = RelaxedScaleSteerConv2d(2, 2, 5, scale_size=2)
    x = torch.randn(1, 6, 9, 9)
    y0 = conv(x)
    pens, diffs = [], []
    for eps in (0.05, 0.2, 0.8):
        m = RelaxedScaleSteerConv2d(2, 2, 5, scale_size=2)
        m.load_state_dict(conv.state_dict())
        _perturb(m, eps)
        pens.append(m.equivariance_penalty().item())
        diffs.append((m(x) - y0).abs().max().item())
    assert 0 < pens[0] < pens[1] < pens[2]
    assert diffs[0] < diffs[1] < diffs[2]
    m.zero_grad()
    (m(x).pow(2).sum() + m.equivariance_penalty()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("rank", [None, 2])
def test_translation_conv_exact_at_init_and_relaxed_after(rank):
    layer = RelaxedTranslationConv2d(2, 3, 3, num_filter_banks=3, input_size=(8, 11), rank=rank)
    x = torch.randn(2, 2, 8, 11)
    tg = TranslationGroup(cyclic=True, shifts=[(1, 0), (0, 3), (-2, 5)])

    def err(m):
        return equivariance_error(
            m, x, tg, in_type=FieldType.scalars(2), out_type=FieldType.scalars(3), norm="relative"
        ).sup

    assert err(layer) < 1e-12
    assert layer.equivariance_penalty().item() == 0.0
    errs = []
    for eps in (0.05, 0.2, 0.8):
        m = RelaxedTranslationConv2d(2, 3, 3, num_filter_banks=3, input_size=(8, 11), rank=rank)
        m.load_state_dict(layer.state_dict())
        _perturb(m, eps)
        errs.append(err(m))
        assert m.equivariance_penalty().item() > 0
    assert errs[0] > 1e-3 and errs[0] < errs[1] < errs[2]
    (m(x).pow(2).sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_translation_conv_equals_plain_conv_at_init():
    layer = RelaxedTranslationConv2d(2, 3, 3, num_filter_banks=2, input_size=6, padding_mode="zeros")
    x = torch.randn(1, 2, 6, 6)
    kernel = layer.weight.sum(0)
    torch.testing.assert_close(layer(x), torch.nn.functional.conv2d(x, kernel, layer.bias, padding=1))


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="num_filter_banks"):
        RelaxedTranslationConv2d(2, 2, 3, num_filter_banks=0, input_size=8)
    with pytest.raises(ValueError, match="rank"):
        RelaxedTranslationConv2d(2, 2, 3, num_filter_banks=1, input_size=8, rank=0)
    with pytest.raises(ValueError, match="input_size"):
        RelaxedTranslationConv2d(2, 2, 3, input_size=8)(torch.randn(1, 2, 8, 9))
    with pytest.raises(ValueError, match="scale_size"):
        RelaxedScaleGroupConv2d(2, 2, 3, num_scales=2, scale_size=3)
    with pytest.raises(ValueError, match="num_filter_banks"):
        RelaxedScaleLiftConv2d(2, 2, 3, num_filter_banks=0)
    with pytest.raises(ValueError, match="scales"):
        RelaxedScaleSteerConv2d(1, 1, 5, scales=(2.0, 1.0))
    with pytest.raises(ValueError, match="relax"):
        RelaxedScaleSteerConv2d(1, 1, 5, relax="angle")
    with pytest.raises(ValueError, match=r"\(B, 6, H, W\)"):
        RelaxedScaleGroupConv2d(2, 2, 3, num_scales=3)(torch.randn(1, 2, 5, 5))


def test_layers_share_the_relaxed_layer_base():
    """One scaffold (issue 15): RelaxedLayer subclasses with group, in_type / out_type, the kernel of
    ``expanded_weight`` and the penalty of the base (or their own finite differences)."""
    lift = RelaxedScaleLiftConv2d(2, 3, 3, num_scales=3, num_filter_banks=2)
    conv = RelaxedScaleGroupConv2d(3, 4, 3, num_scales=3, scale_size=2)
    steer = RelaxedScaleSteerConv2d(2, 3, 5, lift=True)
    strict = RelaxedScaleSteerConv2d(3, 3, 5, lift=False, relax=None)
    full = RelaxedTranslationConv2d(2, 3, 3, num_filter_banks=2, input_size=(6, 8))
    low = RelaxedTranslationConv2d(2, 3, 3, num_filter_banks=2, input_size=(6, 8), rank=2)
    for m in (lift, conv, steer, strict, full, low):
        assert isinstance(m, RelaxedLayer) and m.group is not None
        assert m.in_field_type is m.in_type and m.out_field_type is m.out_type
        assert m.equivariance_penalty().item() == 0.0
    assert lift.in_type == FieldType.vectors(1) and lift.out_type.size == 9
    assert conv.group.elements() == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert lift.expanded_weight().shape == (3, 3, 2, 1, 3, 3)
    assert conv.expanded_weight().shape == (3, 4, 3, 2, 3, 3)
    assert torch.all(conv.expanded_weight()[2, :, :, 1] == 0)  # truncated at the top scale
    assert steer.expanded_weight().shape == (9, 2, 5, 5)
    assert full.expanded_weight().shape == (3, 4, 3, 3) and low.expanded_weight().shape == (6, 2, 3, 3)
    assert full.group.cyclic and full.in_type == FieldType.scalars(2)
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        full(torch.randn(1, 3, 6, 8))
    with pytest.raises(ValueError, match="input_size"):
        full(torch.randn(1, 2, 6, 6))
