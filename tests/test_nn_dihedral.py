"""Relaxed D_N group convolutions (D4, D2, D1 = reflections): exact at init under every element,
checked with the library's own actions on ``FieldType.regular(group=D4)`` fields; breaking the
relaxed weights breaks exactly the expected elements; the D_N spectrum names the survivor; the
expanded kernel against an independent dihedral implementation (numpy integer matrices)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import DihedralGroup, FieldType, get_group
from aeqkit.nn import (
    GroupPool,
    GroupToVector,
    RelaxedDihedralGroupConv2d,
    RelaxedDihedralLiftConv2d,
    RelaxedGroupConv2d,
    RelaxedLayer,
    RelaxedLiftConv2d,
    RelaxedRotGroupConv2d,
    irrep_spectrum,
    surviving_subgroup,
)
from aeqkit.nn.spectrum import Subgroup, subgroups

pytestmark = pytest.mark.usefixtures("float64_default")

TOL = 1e-12


def _errors(f, x, group, in_type, out_type) -> dict:
    """Per-element relative equivariance error (every element of the group; all act exactly)."""
    rep = equivariance_error(f, x, group, in_type=in_type, out_type=out_type, norm="relative")
    return {e.element: e.sup for e in rep.per_element}


# ---- an independent D_N: elements as integer 2x2 matrices, kernels moved by explicit index maps ----
def _mat(k: int, m: int, n: int) -> np.ndarray:
    """``rot(2 pi k / n) @ flip^m`` for n in {1, 2, 4} (integer entries), flip: x -> -x."""
    quarter = (4 * k) // n
    rot = np.linalg.matrix_power(np.array([[0, -1], [1, 0]]), quarter % 4)
    return rot @ (np.diag([-1, 1]) if m else np.eye(2, dtype=int))


def _move_kernel(kern: torch.Tensor, a: np.ndarray) -> torch.Tensor:
    """``(a.K)(p) = K(a^{-1} p)`` on the y-up grid (row = y, column = x), by explicit index maps."""
    k = kern.shape[-1]
    c = (k - 1) // 2
    inv = np.round(np.linalg.inv(a)).astype(int)
    out = torch.empty_like(kern)
    for r in range(k):
        for col in range(k):
            xs, ys = inv @ np.array([col - c, r - c])
            out[..., r, col] = kern[..., ys + c, xs + c]
    return out


def _independent_kernel(layer: RelaxedGroupConv2d, n: int) -> torch.Tensor:
    """``K[o, g, c, h] = sum_l w_l(h) g.Psi_l(g^{-1} h)`` with the group law from the matrices."""
    els = [(k, m) for m in (0, 1) for k in range(n)]
    mats = [_mat(k, m, n) for k, m in els]

    def index(a: np.ndarray) -> int:
        return next(i for i, b in enumerate(mats) if np.array_equal(a, b))

    L, o, c, size, k, _ = layer.weight.shape
    w = layer.relaxed_weights.detach()
    out = torch.zeros(o, size, c, size, k, k)
    for gi, g in enumerate(mats):
        ginv = np.round(np.linalg.inv(g)).astype(int)
        for hi, h in enumerate(mats):
            d = index(ginv @ h)
            psi = torch.einsum("l,locxy->ocxy", w[:, hi], layer.weight.detach()[:, :, :, d])
            out[:, gi, :, hi] = _move_kernel(psi, g)
    return out.reshape(o * size, c * size, k, k)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_expanded_kernel_matches_an_independent_dihedral_construction(n):
    torch.manual_seed(0)
    layer = RelaxedDihedralGroupConv2d(2, 3, 3, group_order=n, num_filter_banks=2)
    with torch.no_grad():
        layer.relaxed_weights.add_(0.3 * torch.randn_like(layer.relaxed_weights))
    torch.testing.assert_close(layer.expanded_weight().detach(), _independent_kernel(layer, n),
                               rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", ["D4", "D2", "D1"])
def test_group_conv_exact_at_init_under_every_element(name):
    G = get_group(name)
    layer = RelaxedGroupConv2d(2, 3, 5, group=name, num_filter_banks=3)
    assert isinstance(layer, RelaxedLayer) and layer.group == G and layer.group_size == G.size
    ft_in, ft_out = FieldType.regular(2, group=G), FieldType.regular(3, group=G)
    assert layer.in_type == ft_in and layer.out_type == ft_out
    x = torch.randn(2, ft_in.size, 11, 11)
    errs = _errors(layer, x, G, ft_in, ft_out)
    assert len(errs) == G.size
    assert max(errs.values()) < TOL
    assert layer.equivariance_penalty().item() == 0.0
    assert set(layer.exact_groups) == {name}


def test_dihedral_subclasses_are_the_group_conv_of_d_n():
    a = RelaxedDihedralGroupConv2d(1, 2, 3, group_order=4)
    b = RelaxedDihedralLiftConv2d(FieldType.vectors(1), 2, 3, group_order=1)
    assert a.group == DihedralGroup(4) and a.group_order == 4 and a.group_size == 8
    assert b.group == get_group("reflection") and b.out_type == FieldType.regular(2, group="D1")
    assert a(torch.randn(1, 8, 6, 6)).shape == (1, 16, 6, 6)
    assert "group=D4" in repr(a)


@pytest.mark.parametrize("name", ["D4", "D1", "D2", "D8"])
def test_lift_head_and_pool_exact_at_init(name):
    """Scalar + vector inputs lifted to D_N regular fields and projected back to a vector
    (``GroupToVector``: equivariant to reflections too) or pooled to invariant scalars."""
    G = get_group(name)
    ft = FieldType(("vector", "scalar", "vector"))
    lift = RelaxedLiftConv2d(ft, 3, 3, group=G, num_filter_banks=2)
    conv = RelaxedGroupConv2d(3, 3, 3, group=G, num_filter_banks=2)
    head, pool = GroupToVector(3, G), GroupPool(G)

    def to_vector(z):
        return head(torch.relu(conv(torch.relu(lift(z)))))

    def to_scalars(z):
        return pool(conv(lift(z)))

    x = torch.randn(2, ft.size, 12, 12)
    elements = G.exact_elements((12, 12))
    for f, out_type in ((lift, FieldType.regular(3, group=G)), (to_vector, FieldType.vectors(1)),
                        (to_scalars, FieldType.scalars(3))):
        rep = equivariance_error(f, x, G, in_type=ft, out_type=out_type, elements=elements,
                                 norm="relative")
        assert rep.sup < TOL, (name, out_type)
    assert head.exact_groups[0] == name


def test_group_to_vector_sees_reflections():
    """A D4 regular field that is constant on rotations but odd under the flip projects to a vector
    that a reflection maps to its mirror image (a C_N projection would not transform correctly)."""
    G = get_group("D4")
    head = GroupToVector(1, G)
    x = torch.randn(1, 8, 5, 5)
    for g in G.elements():
        torch.testing.assert_close(head(G.act(g, x, FieldType.regular(1, group=G))),
                                   G.act(g, head(x), "vector"), rtol=0, atol=1e-12)


def _set_weights(layer, values_of):
    with torch.no_grad():
        for i, g in enumerate(layer.group.elements()):
            layer.relaxed_weights[:, i] = values_of(g)


def test_breaking_the_flips_keeps_c4():
    """Relaxed weights constant on rotations, different on reflections: C4 survives, flips break."""
    G = get_group("D4")
    layer = RelaxedGroupConv2d(2, 2, 3, group=G, num_filter_banks=2)
    _set_weights(layer, lambda g: 1.0 if g[1] == 0 else 0.4)
    ft_in, ft_out = FieldType.regular(2, group=G), FieldType.regular(2, group=G)
    errs = _errors(layer, torch.randn(2, 16, 9, 9), G, ft_in, ft_out)
    assert all(errs[(k, 0)] < TOL for k in range(4))
    assert all(errs[(k, 1)] > 1e-3 for k in range(4))
    sub = surviving_subgroup(irrep_spectrum(layer))
    assert isinstance(sub, Subgroup) and str(sub) == "C4" and sub.order == 4
    spec = irrep_spectrum(layer)
    assert spec.labels == ["A1", "A2", "B1", "B2", "E1"]
    assert spec.fraction[2:].max() < 1e-15 and spec.fraction[1] > 0.01  # only the flip sign


def test_breaking_rotations_keeps_one_reflection_axis():
    """Weights with ``w(flip h) = w(h)`` but otherwise random: only the flip x -> -x (axis 90°)
    survives (and the identity)."""
    G = get_group("D4")
    torch.manual_seed(3)
    layer = RelaxedGroupConv2d(1, 2, 3, group=G)
    c = 1.0 + 0.5 * torch.rand(4)
    _set_weights(layer, lambda g: c[g[0]] if g[1] == 0 else c[G.compose((0, 1), g)[0]])
    ft_in, ft_out = FieldType.regular(1, group=G), FieldType.regular(2, group=G)
    errs = _errors(layer, torch.randn(2, 8, 9, 9), G, ft_in, ft_out)
    assert errs[(0, 1)] < TOL
    assert all(v > 1e-3 for g, v in errs.items() if g not in ((0, 0), (0, 1)))
    sub = surviving_subgroup(irrep_spectrum(layer))
    assert sub.name == "D1" and sub.reflection_axis == 90.0 and set(sub.elements) == {(0, 0), (0, 1)}


def test_spectrum_parseval_and_subgroups():
    for n in (1, 2, 3, 4, 6):
        w = torch.randn(3, 2 * n)
        spec = irrep_spectrum(w, group=f"D{n}")
        assert len(spec.energy) == len(spec.labels) == len(spec.frequencies)
        assert float(spec.energy.sum()) == pytest.approx(float((w**2).sum()), rel=1e-12)
        assert str(surviving_subgroup(spec)) == "C1"
        assert str(surviving_subgroup(irrep_spectrum(torch.ones(2, 2 * n), group=f"D{n}"))) == f"D{n}"
    names = [str(s) for s in subgroups("D4")]
    assert names[:2] == ["D4", "C4"] and "D1 (axis 45°)" in names and names[-1] == "C1"
    assert len(subgroups("D4")) == 10  # D4, C4, 2 x D2, C2, 4 x D1, C1
    # C_N spectra keep their integer answer
    assert surviving_subgroup(irrep_spectrum(RelaxedRotGroupConv2d(1, 1, 3, group_order=8))) == 8


@settings(max_examples=10, deadline=None)
@given(c_in=st.integers(1, 3), c_out=st.integers(1, 3), k=st.sampled_from([1, 3, 5]),
       banks=st.integers(1, 3), name=st.sampled_from(["D1", "D2", "D4"]))
def test_exact_at_init_hypothesis(c_in, c_out, k, banks, name):
    G = get_group(name)
    layer = RelaxedGroupConv2d(c_in, c_out, k, group=G, num_filter_banks=banks)
    ft_in, ft_out = FieldType.regular(c_in, group=G), FieldType.regular(c_out, group=G)
    x = torch.randn(1, ft_in.size, 8, 8)
    assert max(_errors(layer, x, G, ft_in, ft_out).values()) < TOL
    lift = RelaxedLiftConv2d(FieldType(("scalar",) * c_in + ("vector",)), c_out, k, group=G,
                             num_filter_banks=banks)
    ft = lift.in_type
    assert max(_errors(lift, torch.randn(1, ft.size, 8, 8), G, ft, ft_out).values()) < TOL


def test_bad_groups_raise():
    with pytest.raises(ValueError, match="finite group"):
        RelaxedGroupConv2d(1, 1, 3, group="SO2")
    with pytest.raises(ValueError, match="finite group"):
        RelaxedGroupConv2d(1, 1, 3, group="scaling")
    with pytest.raises(ValueError, match="group_order"):
        RelaxedDihedralGroupConv2d(1, 1, 3, group_order=0)
    with pytest.raises(ValueError, match="group_order >= 3"):
        RelaxedLiftConv2d(FieldType.vectors(1), 1, 3, group="C2")
    with pytest.raises(ValueError, match=r"\(B, 8, H, W\)"):
        RelaxedGroupConv2d(1, 1, 3, group="D4")(torch.randn(1, 4, 5, 5))
    with pytest.raises(ValueError, match="C_N or D_N"):
        irrep_spectrum(torch.ones(4), group="SO2")
