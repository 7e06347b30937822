"""Relaxed rotation-steerable convolution on escnn bases, checked with aeqkit's own actions."""

from __future__ import annotations

import math

import pytest
import torch

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import FieldType
from aeqkit.nn import RelaxedRotSteerConv2d, angle_bins, steer_field_type

pytestmark = pytest.mark.usefixtures("float64_default")


QUARTERS = {4: [0, 1, 2, 3], 8: [0, 2, 4, 6], -1: [0.0, math.pi / 2, math.pi, 3 * math.pi / 2]}


def _err(layer, x, n, ft_in, ft_out, elements=None):
    group = "SO2" if n == -1 else f"C{n}"
    return equivariance_error(
        layer,
        x,
        group,
        in_type=ft_in,
        out_type=ft_out,
        elements=elements if elements is not None else QUARTERS[n],
        norm="relative",
    ).sup


def _types(n):
    if n == -1:
        return FieldType(("vector", "scalar")), FieldType(("scalar", "vector", "vector"))
    return (
        FieldType(("vector", "regular", "scalar"), group_order=n),
        FieldType(("regular", "vector", "scalar"), group_order=n),
    )


@pytest.mark.parametrize("n", [4, 8, -1])
@pytest.mark.parametrize("relax", ["position", "angle", None])
def test_exact_at_init_under_aeqkit_actions(n, relax):
    ft_in, ft_out = _types(n)
    layer = RelaxedRotSteerConv2d(
        ft_in, ft_out, 5, group_order=n, maximum_frequency=3 if n == -1 else None, relax=relax
    )
    x = torch.randn(2, ft_in.size, 11, 11)
    assert _err(layer, x, n, ft_in, ft_out) < 1e-5
    assert layer.equivariance_penalty().item() == 0.0


@pytest.mark.parametrize("relax", ["position", "angle"])
def test_perturbed_relaxed_weights_break_equivariance_monotonically(relax):
    ft_in, ft_out = _types(4)
    base = RelaxedRotSteerConv2d(ft_in, ft_out, 5, relax=relax)
    x = torch.randn(2, ft_in.size, 11, 11)
    errs, pens = [], []
    for eps in (0.05, 0.2, 0.8):
        layer = RelaxedRotSteerConv2d(ft_in, ft_out, 5, relax=relax)
        layer.load_state_dict(base.state_dict())
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            layer.relaxed_weights.add_(eps * torch.randn(layer.relaxed_weights.shape, generator=g))
        errs.append(_err(layer, x, 4, ft_in, ft_out))
        pens.append(layer.equivariance_penalty().item())
    assert errs[0] > 1e-3 and errs[0] < errs[1] < errs[2]
    assert 0 < pens[0] < pens[1] < pens[2]


def test_so2_interpolated_rotation_is_approximate():
    ft = FieldType(("vector",))
    layer = RelaxedRotSteerConv2d(ft, FieldType(("scalar",)), 5, group_order=-1, maximum_frequency=2)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 41), torch.linspace(-1, 1, 41), indexing="ij")
    blob = torch.exp(-((xx - 0.15) ** 2 + (yy + 0.1) ** 2) / 0.08)
    x = torch.stack([blob, 0.5 * blob])[None]
    err = _err(layer, x, -1, ft, FieldType(("scalar",)), elements=[math.pi / 6])
    assert err < 0.2


def test_orientation_flip_is_needed():
    """escnn's raw basis (rows pointing down) is not equivariant under aeqkit actions: the wrap is
    what makes it so. A trivial -> vector kernel is a gradient-like field; flipping back breaks it."""
    ft_in, ft_out = FieldType(("scalar",)), FieldType(("vector",))
    layer = RelaxedRotSteerConv2d(ft_in, ft_out, 3, bias=False)
    x = torch.randn(1, 1, 9, 9)
    assert _err(layer, x, 4, ft_in, ft_out) < 1e-5
    w = layer.expanded_weight().detach()

    def raw(z):
        return torch.nn.functional.conv2d(z, w.flip(-2), padding=1)

    assert _err(raw, x, 4, ft_in, ft_out) > 1e-2


def test_counts_constructor_non_square_and_gradients():
    layer = RelaxedRotSteerConv2d.from_counts((1, 1, 1), (0, 2, 1), 3, group_order=4)
    assert layer.in_channels == 2 + 4 + 1 and layer.out_channels == 8 + 1
    x = torch.randn(2, 7, 9, 6)
    y = layer(x)
    assert y.shape == (2, 9, 9, 6)
    ft_in = FieldType(("vector", "regular", "scalar"), group_order=4)
    ft_out = FieldType(("regular", "regular", "scalar"), group_order=4)
    assert _err(layer, x, 4, ft_in, ft_out, elements=[2]) < 1e-5
    with torch.no_grad():
        layer.relaxed_weights.add_(0.1 * torch.randn_like(layer.relaxed_weights))
    (layer(x).pow(2).sum() + layer.equivariance_penalty()).backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bias_only_on_trivial_and_regular_fields():
    layer = RelaxedRotSteerConv2d(FieldType(("scalar",)), FieldType(("vector", "scalar")), 3)
    assert layer.bias.shape == (1,)
    vec_only = RelaxedRotSteerConv2d(FieldType(("scalar",)), FieldType(("vector",)), 3)
    assert vec_only.bias is None
    with torch.no_grad():
        layer.bias.fill_(2.0)
    y = layer(torch.zeros(1, 1, 5, 5))
    assert torch.all(y[:, :2] == 0) and torch.allclose(y[:, 2], torch.full((1, 5, 5), 2.0))


def test_angle_bins_cover_positions():
    a = angle_bins(5)
    assert a.shape == (17, 25)
    assert torch.equal(a.sum(0), torch.ones(25))


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match="maximum_frequency"):
        RelaxedRotSteerConv2d(FieldType(("vector",)), FieldType(("vector",)), 3, group_order=-1)
    with pytest.raises(ValueError, match="group_order"):
        RelaxedRotSteerConv2d(FieldType(("vector",)), FieldType(("vector",)), 3, group_order=0)
    with pytest.raises(ValueError, match="relax"):
        RelaxedRotSteerConv2d(FieldType(("vector",)), FieldType(("vector",)), 3, relax="radius")
    with pytest.raises(ValueError, match="order"):
        RelaxedRotSteerConv2d(FieldType.regular(1, 8), FieldType(("vector",)), 3, group_order=4)
    with pytest.raises(ValueError, match="regular"):
        steer_field_type(-1, regulars=1, maximum_frequency=2)
    with pytest.raises(ValueError, match="gspace|same group_order"):
        RelaxedRotSteerConv2d(steer_field_type(8, vectors=1), FieldType(("vector",)), 3)
    with pytest.raises(ValueError, match="odd"):
        RelaxedRotSteerConv2d(FieldType(("vector",)), FieldType(("vector",)), 4)
    layer = RelaxedRotSteerConv2d(FieldType(("vector",)), FieldType(("vector",)), 3)
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        layer(torch.randn(1, 3, 5, 5))
