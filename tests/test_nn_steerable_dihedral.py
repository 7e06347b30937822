"""Relaxed dihedral-steerable convolution (D_N on escnn's flipRot2dOnR2), checked with aeqkit's own
D_N actions and with an independent dihedral action written here from 2x2 integer matrices."""

from __future__ import annotations

import math

import pytest
import torch

from aeqkit.groups import FieldType, get_group
from aeqkit.nn import (
    RelaxedDihedralSteerConv2d,
    RelaxedRotSteerConv2d,
    RelaxedSteerConv2d,
    steer_field_type,
)

pytestmark = pytest.mark.usefixtures("float64_default")

# ---------------------------------------------------------------------------------------------
# an independent D_N action: element (k, m) is the matrix R(2 pi k / N) F^m, F = diag(-1, 1) the
# flip x -> -x; products and inverses are found by matching matrices
# ---------------------------------------------------------------------------------------------
FLIP = torch.tensor([[-1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def _matrix(n: int, g: tuple[int, int]) -> torch.Tensor:
    k, m = g
    t = torch.tensor(2 * math.pi * k / n, dtype=torch.float64)
    rot = torch.stack([torch.stack([t.cos(), -t.sin()]), torch.stack([t.sin(), t.cos()])])
    return rot @ torch.linalg.matrix_power(FLIP, m)


def _elements(n: int) -> list[tuple[int, int]]:
    return [(k, m) for m in (0, 1) for k in range(n)]


def _find(n: int, mat: torch.Tensor) -> tuple[int, int]:
    return next(g for g in _elements(n) if torch.allclose(_matrix(n, g), mat, atol=1e-9))


def _act(n: int, g: tuple[int, int], x: torch.Tensor, blocks: tuple[str, ...]) -> torch.Tensor:
    """``(g f)(p) = rho(g) f(g^-1 p)``; regular blocks: channel i is element i, ``(g f)(h) = f(g^-1 h)``.

    Exact elements only (rotations by multiples of 90 degrees, with or without the flip)."""
    k, m = g
    assert (4 * k) % n == 0
    y = x.flip(-1) if m else x
    y = torch.rot90(y, 4 * k // n, dims=(-1, -2))
    mat = _matrix(n, g).round().to(x.dtype)
    inv = torch.linalg.inv(_matrix(n, g))
    out, c = [], 0
    for b in blocks:
        size = {"scalar": 1, "vector": 2, "regular": 2 * n}[b]
        blk = y[:, c:c + size]
        if b == "vector":
            blk = torch.einsum("ij,bjhw->bihw", mat, blk)
        elif b == "regular":
            src = [_elements(n).index(_find(n, inv @ _matrix(n, h))) for h in _elements(n)]
            blk = blk[:, src]
        out.append(blk)
        c += size
    return torch.cat(out, 1)


@torch.no_grad()
def _rel_err(layer, x, n, blocks_in, blocks_out, elements=None) -> float:
    y = layer(x)
    worst = 0.0
    for g in elements or _elements(n):
        lhs = layer(_act(n, g, x, blocks_in))
        rhs = _act(n, g, y, blocks_out)
        worst = max(worst, float((lhs - rhs).norm() / rhs.norm()))
    return worst


TYPES = [
    (("scalar",), ("vector",)),
    (("vector",), ("scalar",)),
    (("vector", "scalar"), ("vector", "vector", "scalar")),
    (("vector",), ("regular", "regular")),
    (("regular", "vector"), ("regular", "scalar")),
]


def test_independent_action_is_the_kits():
    d4 = get_group("D4")
    x = torch.randn(2, 3, 7, 7)
    for g in _elements(4):
        ours = _act(4, g, x, ("vector", "scalar"))
        assert torch.equal(ours, d4.act(g, x, FieldType(("vector", "scalar"))))
        assert torch.allclose(_matrix(4, g), d4.vector_rep(g), atol=1e-12)
    reg = FieldType(("regular", "vector"), group="D4")
    z = torch.randn(2, reg.size, 7, 7)
    for g in _elements(4):
        assert torch.equal(_act(4, g, z, reg.blocks), d4.act(g, z, reg))
    for a in _elements(4):
        for b in _elements(4):
            assert _find(4, _matrix(4, a) @ _matrix(4, b)) == d4.compose(a, b)
        assert _find(4, torch.linalg.inv(_matrix(4, a))) == d4.inverse(a)


@pytest.mark.parametrize("blocks_in, blocks_out", TYPES)
@pytest.mark.parametrize("relax", ["position", "angle", None])
def test_exact_under_all_d4_elements_at_init(blocks_in, blocks_out, relax):
    layer = RelaxedDihedralSteerConv2d(blocks_in, blocks_out, 5, group_order=4, relax=relax)
    x = torch.randn(2, layer.in_channels, 11, 11)
    assert _rel_err(layer, x, 4, blocks_in, blocks_out) < 1e-12
    assert layer.equivariance_penalty().item() == 0.0
    assert layer.exact_groups == ("D4",)


@pytest.mark.parametrize("blocks_in, blocks_out", TYPES)
def test_kit_actions_see_the_layer_exact(blocks_in, blocks_out):
    """``equivariance_error`` with ``get_group("D4").act`` on the layer's own field types."""
    from aeqkit.equivariance import equivariance_error

    layer = RelaxedDihedralSteerConv2d(blocks_in, blocks_out, 3)
    assert layer.in_type == FieldType(blocks_in, group="D4" if "regular" in blocks_in else None)
    assert layer.out_type.blocks == blocks_out and layer.out_type.size == layer.out_channels
    x = torch.randn(2, layer.in_channels, 9, 9)
    rep = equivariance_error(layer, x, "D4", in_type=layer.in_type, out_type=layer.out_type, norm="relative")
    assert rep.sup < 1e-12 and len(rep.per_element) == 8


@pytest.mark.parametrize("n", [1, 2, 8])
def test_other_dihedral_orders_exact_where_the_grid_allows(n):
    blocks_in, blocks_out = ("vector", "scalar"), ("vector", "regular")
    layer = RelaxedSteerConv2d(blocks_in, blocks_out, 5, group=f"D{n}")
    assert layer.out_channels == 2 + 2 * n
    x = torch.randn(1, layer.in_channels, 9, 9)
    exact = [g for g in _elements(n) if (4 * g[0]) % n == 0]
    assert _rel_err(layer, x, n, blocks_in, blocks_out, exact) < 1e-12
    assert layer.equivariance_penalty().item() == 0.0


def test_rotation_layer_is_not_flip_equivariant_and_perturbed_weights_break_d4():
    """The check sees flips: a C4 layer passes the rotations only; relaxed weights away from
    equal break D4 equivariance, more for larger perturbations."""
    blocks = ("vector", "scalar")
    x = torch.randn(2, 3, 11, 11)
    c4 = RelaxedRotSteerConv2d(blocks, blocks, 5)
    assert _rel_err(c4, x, 4, blocks, blocks, [(k, 0) for k in range(4)]) < 1e-12
    assert _rel_err(c4, x, 4, blocks, blocks, [(0, 1)]) > 1e-2
    base = RelaxedDihedralSteerConv2d(blocks, blocks, 5)
    errs, pens = [], []
    for eps in (0.05, 0.2, 0.8):
        layer = RelaxedDihedralSteerConv2d(blocks, blocks, 5)
        layer.load_state_dict(base.state_dict())
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            layer.relaxed_weights.add_(eps * torch.randn(layer.relaxed_weights.shape, generator=g))
        errs.append(_rel_err(layer, x, 4, blocks, blocks, [(0, 1), (1, 1)]))
        pens.append(layer.equivariance_penalty().item())
    assert 1e-3 < errs[0] < errs[1] < errs[2]
    assert 0 < pens[0] < pens[1] < pens[2]


def test_vector_fields_are_the_plane_action_with_the_kits_flip():
    """escnn's D4 ``irrep(1, 1)`` flips (u, v) -> (u, -v); the layer's vector fields are the change of
    basis on which the flip is the kit's (u, v) -> (-u, v) (DESIGN.md)."""
    from aeqkit.nn.steerable import _element_table, _gspace

    d4 = get_group("D4")
    gs = _gspace(d4, None)
    ft = steer_field_type(vectors=1, group="D4")
    rep = ft.representations[0]
    table = _element_table(gs, d4)
    assert sorted(table) == sorted(d4.elements())
    for g, e in table.items():
        assert torch.allclose(torch.as_tensor(rep(e), dtype=torch.float64), d4.vector_rep(g), atol=1e-12)
    flip = table[(0, 1)]
    assert torch.allclose(torch.as_tensor(gs.irrep(1, 1)(flip), dtype=torch.float64),
                          torch.tensor([[1.0, 0.0], [0.0, -1.0]]), atol=1e-12)
    assert torch.allclose(torch.as_tensor(rep(flip), dtype=torch.float64),
                          torch.tensor([[-1.0, 0.0], [0.0, 1.0]]), atol=1e-12)


def test_counts_types_bias_and_gradients():
    layer = RelaxedDihedralSteerConv2d.from_counts((1, 1, 1), (0, 2, 1), 3)
    assert layer.in_channels == 2 + 8 + 1 and layer.out_channels == 16 + 1
    assert layer.in_type.blocks == ("vector", "regular", "scalar") and layer.in_type.size == 11
    assert layer.out_type.size == 17 and layer.bias.shape == (3,)
    same = RelaxedSteerConv2d(steer_field_type(vectors=1, regulars=1, trivials=1, group="D4"),
                              steer_field_type(regulars=2, trivials=1, group="D4"), 3, group="D4")
    assert same.num_coefficients == layer.num_coefficients
    x = torch.randn(2, 11, 9, 6)
    assert layer(x).shape == (2, 17, 9, 6)
    with torch.no_grad():
        layer.relaxed_weights.add_(0.1 * torch.randn_like(layer.relaxed_weights))
        layer.bias.fill_(0.1)
    (layer(x).pow(2).sum() + layer.equivariance_penalty()).backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert "group=D4" in repr(layer)


def test_bad_groups_raise():
    with pytest.raises(ValueError, match="group must be"):
        RelaxedSteerConv2d(("vector",), ("vector",), 3, group="translation")
    with pytest.raises(ValueError, match="group must be"):
        RelaxedSteerConv2d(("vector",), ("vector",), 3, group="Q8")
    with pytest.raises(ValueError, match="group_order"):
        RelaxedDihedralSteerConv2d(("vector",), ("vector",), 3, group_order=0)
    with pytest.raises(ValueError, match="not both"):
        steer_field_type(4, vectors=1, group="D4")
    with pytest.raises(ValueError, match="gspace|same group"):
        RelaxedDihedralSteerConv2d(steer_field_type(4, vectors=1), ("vector",), 3)
    with pytest.raises(ValueError, match="order"):
        RelaxedDihedralSteerConv2d(FieldType.regular(1, 4), ("vector",), 3)
