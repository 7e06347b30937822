"""The group as the central object (issue 15, deliverable 1), checked against an independent model.

The independent dihedral group below is written with numpy only: an element of D_N is the 2x2 matrix
``R(2πk/N) F^m`` (``F = diag(-1, 1)``, the flip ``x -> -x``), composition is the matrix product, a
field on an ``n x n`` grid is moved by explicit coordinate maps ``out(p) = ρ(g) x(g⁻¹ p)`` with
``p = (column - c, row - c)`` (y up), and the regular representation is ``(g·f)(h) = f(g⁻¹h)`` read off
the matrices. None of it calls :mod:`aeqkit.groups` except to compare.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from aeqkit.equivariance import assert_equivariant, equivariance_error
from aeqkit.groups import (
    CyclicGroup,
    DihedralGroup,
    FieldType,
    FiniteGroup,
    as_field_type,
    get_group,
    kernel_rotation_matrices,
    reflect_field,
    rot90_field,
)


# --------------------------------------------------------------------------------------------
# An independent planar finite group (numpy matrices and coordinate maps)
# --------------------------------------------------------------------------------------------
class IndependentPlanar:
    """C_N (``flips=False``) or D_N as explicit 2x2 matrices, elements in aeqkit's order."""

    def __init__(self, n: int, flips: bool) -> None:
        self.n = n
        self.keys = [(k, m) for m in ((0, 1) if flips else (0,)) for k in range(n)]
        self.mats = [self.matrix(k, m) for k, m in self.keys]

    def matrix(self, k: int, m: int) -> np.ndarray:
        t = 2 * np.pi * k / self.n
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        return rot @ (np.diag([-1.0, 1.0]) if m else np.eye(2))

    def index_of(self, mat: np.ndarray) -> int:
        hits = [i for i, m in enumerate(self.mats) if np.allclose(m, mat, atol=1e-9)]
        assert len(hits) == 1
        return hits[0]

    def cayley(self) -> np.ndarray:
        return np.array([[self.index_of(a @ b) for b in self.mats] for a in self.mats])

    def regular_perm(self, i: int) -> np.ndarray:
        """``P`` with ``(g·f)[j] = f[P[j]]``, ``P[j] = index(g⁻¹ h_j)``."""
        ginv = np.linalg.inv(self.mats[i])
        return np.array([self.index_of(ginv @ h) for h in self.mats])

    def act(self, i: int, x: np.ndarray, blocks: list[str]) -> np.ndarray:
        """``out(p) = ρ(g) x(g⁻¹ p)`` on ``x: (C, n, n)`` pixel by pixel (exact elements only)."""
        g = np.rint(self.mats[i])
        assert np.allclose(self.mats[i], g), "the independent action moves pixels exactly only"
        ginv = np.rint(np.linalg.inv(g)).astype(int)
        n = x.shape[-1]
        c = (n - 1) / 2
        moved = np.empty_like(x)
        for r in range(n):
            for j in range(n):
                px, py = j - c, r - c
                sx, sy = ginv @ np.array([px, py])
                moved[:, r, j] = x[:, int(round(sy + c)), int(round(sx + c))]
        out, ch = [], 0
        for b in blocks:
            if b == "scalar":
                out.append(moved[ch:ch + 1])
                ch += 1
            elif b == "vector":
                out.append(np.einsum("ij,jhw->ihw", g, moved[ch:ch + 2]))
                ch += 2
            else:
                size = len(self.mats)
                out.append(moved[ch:ch + size][self.regular_perm(i)])
                ch += size
        return np.concatenate(out)


def _key(G: FiniteGroup, g) -> tuple[int, int]:
    return (g, 0) if isinstance(G, CyclicGroup) else g


GROUPS = ["C1", "C2", "C4", "C8", "D1", "D2", "D4", "D8"]


@pytest.mark.parametrize("name", GROUPS)
def test_composition_inverse_and_cayley_table_match_matrices(name):
    G = get_group(name)
    ind = IndependentPlanar(G.order, isinstance(G, DihedralGroup))
    assert G.size == len(ind.keys) == len(G.elements())
    assert [_key(G, g) for g in G.elements()] == ind.keys
    assert [G.index(g) for g in G.elements()] == list(range(G.size))
    for i, a in enumerate(G.elements()):
        assert np.allclose(G.spatial_matrix(a).numpy(), ind.mats[i], atol=1e-12)
        assert torch.equal(G.spatial_matrix(a), G.vector_rep(a))
        assert np.allclose(G.spatial_matrix(G.inverse(a)).numpy(), np.linalg.inv(ind.mats[i]), atol=1e-12)
        assert G.is_flip(a) == bool(ind.keys[i][1])
        assert math.isclose(G.rotation_angle(a), 2 * math.pi * ind.keys[i][0] / G.order)
        assert G.find(G.rotation_angle(a), G.is_flip(a)) == a
        for j, b in enumerate(G.elements()):
            assert G.index(G.compose(a, b)) == ind.index_of(ind.mats[i] @ ind.mats[j])
    assert torch.equal(G.cayley_table(), torch.as_tensor(ind.cayley()))


@pytest.mark.parametrize("name", GROUPS)
def test_regular_permutation_is_a_homomorphism_and_matches_the_independent_one(name):
    G = get_group(name)
    ind = IndependentPlanar(G.order, isinstance(G, DihedralGroup))
    els = G.elements()
    for i, a in enumerate(els):
        P = G.regular_permutation(a)
        assert P.dtype == torch.long and P.shape == (G.size,)
        assert torch.equal(P, torch.as_tensor(ind.regular_perm(i)))
        for b in els:
            # ρ(a)(ρ(b) f) = f[P_b][P_a] = f[P_b[P_a]] must be ρ(ab) f = f[P_ab]
            assert torch.equal(G.regular_permutation(b)[P], G.regular_permutation(G.compose(a, b)))
    assert torch.equal(G.regular_permutation(G.identity), torch.arange(G.size))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_cyclic_regular_permutation_is_a_roll_by_plus_k(n):
    G = CyclicGroup(n)
    f = torch.arange(n)
    for k in G.elements():
        assert torch.equal(f[G.regular_permutation(k)], torch.roll(f, k))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), a=st.integers(0, 100), b=st.integers(0, 100), ma=st.integers(0, 1),
       mb=st.integers(0, 1))
def test_dihedral_law_matches_matrix_products(n, a, b, ma, mb):
    G, ind = DihedralGroup(n), IndependentPlanar(n, True)
    ga, gb = (a % n, ma), (b % n, mb)
    ia, ib = ind.keys.index(ga), ind.keys.index(gb)
    assert G.index(G.compose(ga, gb)) == ind.index_of(ind.mats[ia] @ ind.mats[ib])
    assert G.index(G.inverse(ga)) == ind.index_of(np.linalg.inv(ind.mats[ia]))


def _typed(G: FiniteGroup) -> tuple[FieldType, list[str]]:
    ft = FieldType(("scalar", "vector", "regular", "scalar", "regular"), group=G)
    return ft, list(ft.blocks)


@pytest.mark.parametrize("name", ["C4", "D1", "D2", "D4"])
def test_action_on_scalar_vector_and_regular_fields_equals_the_independent_action(name):
    G = get_group(name)
    ind = IndependentPlanar(G.order, isinstance(G, DihedralGroup))
    ft, blocks = _typed(G)
    x = torch.randn(ft.size, 7, 7, dtype=torch.float64)
    for i, g in enumerate(G.elements()):
        want = ind.act(i, x.numpy(), blocks)
        assert np.array_equal(G.act(g, x, ft).numpy(), want), (name, g)
        assert np.array_equal(G.act(g, x[None], ft)[0].numpy(), want)  # a leading batch axis broadcasts
    assert ft.size == 1 + 2 + G.size + 1 + G.size


@pytest.mark.parametrize("name", ["C4", "C8", "D1", "D2", "D4"])
def test_action_is_a_homomorphism_on_regular_fields(name):
    G = get_group(name)
    ft, _ = _typed(G)
    x = torch.randn(2, ft.size, 8, 8, dtype=torch.float64)
    exact = G.exact_elements()
    assert exact == [g for g in G.elements() if G.is_exact(g)]
    for a in exact:
        for b in exact:
            assert torch.equal(G.act(a, G.act(b, x, ft), ft), G.act(G.compose(a, b), x, ft)), (a, b)
        assert torch.equal(G.act(G.inverse(a), G.act(a, x, ft), ft), x)
    # the string "regular" means regular fields of the acting group
    r = torch.randn(2, 2 * G.size, 8, 8, dtype=torch.float64)
    for a in exact:
        assert torch.equal(G.act(a, r, "regular"), G.act(a, r, FieldType.regular(2, group=G)))


def test_exact_elements_and_non_square_grids():
    assert CyclicGroup(8).exact_elements() == [0, 2, 4, 6]
    assert DihedralGroup(4).exact_elements((6, 8)) == [(0, 0), (2, 0), (0, 1), (2, 1)]
    assert DihedralGroup(3).exact_elements() == [(0, 0), (0, 1)]
    assert len(DihedralGroup(8).exact_elements()) == 8


def test_regular_fields_of_a_group_are_acted_on_by_subgroup_elements():
    """C4 ⊂ C8, C4 ⊂ D4, D4 ⊂ D8 and D1 ⊂ D4: an element acts through the field group's own element."""
    x8 = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    assert torch.equal(CyclicGroup(4).act(1, x8, FieldType.regular(2, 8)),
                       CyclicGroup(8).act(2, x8, FieldType.regular(2, 8)))
    xd4 = torch.randn(1, 8, 5, 5, dtype=torch.float64)
    d4 = FieldType.regular(1, group="D4")
    assert torch.equal(CyclicGroup(4).act(3, xd4, d4), DihedralGroup(4).act((3, 0), xd4, d4))
    assert torch.equal(DihedralGroup(1).act((0, 1), xd4, d4), DihedralGroup(4).act((0, 1), xd4, d4))
    assert torch.equal(reflect_field(xd4, d4), DihedralGroup(4).act((0, 1), xd4, d4))
    assert torch.equal(rot90_field(xd4, 1, d4), DihedralGroup(4).act((1, 0), xd4, d4))
    xd8 = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    d8 = FieldType.regular(1, group="D8")
    assert torch.equal(DihedralGroup(4).act((1, 1), xd8, d8), DihedralGroup(8).act((2, 1), xd8, d8))
    # D4 rotations act on C8 regular fields as C8's elements 0, 2, 4, 6 (the behaviour before issue 15)
    assert torch.equal(DihedralGroup(4).act((1, 0), x8, FieldType.regular(2, 8)),
                       CyclicGroup(8).act(2, x8, FieldType.regular(2, 8)))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: DihedralGroup(4).act((0, 1), torch.randn(8, 5, 5), FieldType.regular(1, 8)), r"D4.*C8"),
        (lambda: reflect_field(torch.randn(4, 5, 5), FieldType.regular(1, 4)), r"C4.*group='D4'"),
        (lambda: CyclicGroup(8).act(1, torch.randn(4, 5, 5), FieldType.regular(1, 4)), r"C8 element 45°.*C4"),
        (lambda: DihedralGroup(8).act((1, 0), torch.randn(8, 5, 5), FieldType.regular(1, group="D4")),
         r"D8 element 45°.*D4"),
        (lambda: FieldType.regular(1, 4, group="D4"), "conflicting group_order"),
        (lambda: FieldType.regular(1), "group_order .* or group"),
        (lambda: FieldType.regular(1, group="D4") + FieldType.regular(1, 8), "different groups"),
        (lambda: FieldType.regular(1, group="SO2"), "group must be a finite group"),
    ],
)
def test_regular_fields_outside_their_group_raise_naming_both_groups(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_field_type_carries_its_group():
    d4 = FieldType.regular(3, group="D4")
    assert d4.group == DihedralGroup(4) and d4.group_order == 8 and d4.size == 24
    assert repr(d4) == "FieldType(3xregular, N=D4)"
    assert FieldType.regular(2, 8).group == CyclicGroup(8)  # an int group_order means C_N
    assert FieldType(("regular", "scalar"), 4) == FieldType(("regular", "scalar"), group=CyclicGroup(4))
    assert FieldType.regular(1, group=DihedralGroup(4)) == FieldType.regular(1, group="D4")
    assert FieldType.regular(1, 8) != FieldType.regular(1, group="D4")  # same channels, other group
    assert len({FieldType.regular(2, 4), FieldType.regular(2, group="C4"), d4}) == 2  # hashable
    both = FieldType.vectors(1) + d4
    assert both.group == DihedralGroup(4) and both.size == 26
    assert FieldType.scalars(2).group is None
    assert as_field_type("regular", 16, group="D4") == FieldType.regular(2, group="D4")
    assert as_field_type("regular", 16, group_order=8) == FieldType.regular(2, 8)
    assert DihedralGroup(4) == get_group("D4", interpolate_nonsquare=True) != CyclicGroup(4)


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["C4", "C8", "D1", "D2", "D4", "D8"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_kernel_matrix_is_the_scalar_action_and_a_homomorphism_on_exact_elements(name, k):
    G = get_group(name)
    mats = G.kernel_matrices(k)
    assert mats.shape == (G.size, k * k, k * k) and mats.dtype == torch.float64
    K = torch.randn(1, k, k, dtype=torch.float64)
    exact = G.exact_elements()
    for a in exact:
        Ma = G.kernel_matrix(a, k)
        assert torch.equal(Ma, mats[G.index(a)])
        assert torch.equal((Ma @ K.reshape(-1)).reshape(1, k, k), G.act(a, K, "scalar"))
        for b in exact:
            assert torch.equal(Ma @ G.kernel_matrix(b, k), G.kernel_matrix(G.compose(a, b), k))
    # non-exact elements: exact quarter turns apart (C8: 45° and 135°)
    for a in G.elements():
        if not G.is_exact(a):
            q = G.find(G.rotation_angle(a) + math.pi / 2, G.is_flip(a))
            if q is not None and G.is_exact(G.compose(q, G.inverse(a))):
                lhs = G.kernel_matrix(q, k)
                rhs = G.kernel_matrix(G.compose(q, G.inverse(a)), k) @ G.kernel_matrix(a, k)
                assert torch.allclose(lhs, rhs, atol=1e-15)


def test_kernel_rotation_matrices_are_the_cyclic_kernel_matrices_and_stay_importable():
    from aeqkit.nn._common import kernel_rotation_matrices as old_import

    for n in (1, 2, 3, 4, 6, 8):
        assert torch.equal(kernel_rotation_matrices(5, n), CyclicGroup(n).kernel_matrices(5))
        assert torch.equal(old_import(5, n), CyclicGroup(n).kernel_matrices(5))
    m = CyclicGroup(8).kernel_matrices(3)
    m.zero_()  # a caller's in-place edit does not reach the cache
    assert CyclicGroup(8).kernel_matrices(3).abs().sum() > 0


# --------------------------------------------------------------------------------------------
# The library's actions test a hand-built D4 layer
# --------------------------------------------------------------------------------------------
def _lift(G: FiniteGroup, psi: torch.Tensor, inverse: bool = False):
    """Lifting convolution ``out[c, g](p) = Σ_q (g·ψ_c)(q - p) x(q)`` (paper Eq. 4, exact weights);
    ``inverse=True`` uses ``g⁻¹·ψ`` instead (a wrong convention the check must catch)."""
    k = psi.shape[-1]
    mats = G.kernel_matrices(k).to(psi.dtype)  # (|G|, k*k, k*k)
    if inverse:
        mats = mats[[G.index(G.inverse(g)) for g in G.elements()]]
    kern = torch.einsum("gij,ocj->ogci", mats, psi.flatten(-2)).reshape(-1, psi.shape[1], k, k)
    return lambda x: F.conv2d(x, kern, padding=k // 2)


def _group_conv(G: FiniteGroup, psi: torch.Tensor):
    """Group convolution ``out[c, g](p) = Σ_{h, q} ψ_c(g⁻¹h, g⁻¹(q - p)) f(h, q)`` (paper Eq. 5): the
    kernel of output element ``g`` is ``g·ψ`` acting on ``ψ`` as a regular field (``G.act``)."""
    c_in, k = psi.shape[1] // G.size, psi.shape[-1]
    ft = FieldType.regular(c_in, group=G)
    kern = torch.stack([G.act(g, psi, ft) for g in G.elements()], dim=1).reshape(-1, c_in * G.size, k, k)
    return lambda x: F.conv2d(x, kern, padding=k // 2)


def test_the_library_actions_test_a_hand_built_d4_lifting_and_group_convolution():
    torch.manual_seed(0)
    G = DihedralGroup(4)
    x = torch.randn(2, 1, 9, 9, dtype=torch.float64)
    lift = _lift(G, torch.randn(3, 1, 3, 3, dtype=torch.float64))
    reg3, reg2 = FieldType.regular(3, group=G), FieldType.regular(2, group=G)
    rep = assert_equivariant(lift, x, G, "scalar", reg3)
    assert rep.sup < 1e-12 and len(rep.per_element) == 8
    gconv = _group_conv(G, torch.randn(2, 3 * G.size, 3, 3, dtype=torch.float64))
    h = lift(x)
    assert assert_equivariant(gconv, h, G, reg3, reg2).sup < 1e-12
    assert assert_equivariant(lambda t: gconv(lift(t)), x, G, "scalar", reg2).sup < 1e-12
    # the same layer is not equivariant if its output is read with the C8 (wrong-group) regular type
    assert equivariance_error(lift, x, CyclicGroup(4), "scalar", FieldType.regular(3, 8)).sup > 1e-2
    # a kernel transformed with the wrong convention (g instead of g⁻¹) breaks the check
    bad = _lift(G, torch.randn(3, 1, 3, 3, dtype=torch.float64), inverse=True)
    rep_bad = equivariance_error(bad, x, G, "scalar", reg3)
    assert rep_bad.sup > 1e-2


def test_a_c8_lifting_convolution_is_exact_on_quarter_turns_only():
    torch.manual_seed(1)
    G = CyclicGroup(8)
    lift = _lift(G, torch.randn(2, 1, 5, 5, dtype=torch.float64))
    ft = FieldType.regular(2, 8)
    x = torch.randn(2, 1, 11, 11, dtype=torch.float64)
    assert assert_equivariant(lift, x, G, "scalar", ft).sup < 1e-12  # exact elements 0, 90, 180, 270°
    # 45° kernels are interpolated: approximately equivariant on a smooth field (measured 0.157)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 33), torch.linspace(-1, 1, 33), indexing="ij")
    smooth = (torch.exp(-4 * (xx - 0.2) ** 2 - 6 * yy**2) + xx * yy).double()[None, None]
    rep = equivariance_error(lift, smooth, G, "scalar", ft, elements=[1, 3], erode=2, norm="relative")
    assert 1e-3 < rep.sup < 0.3
