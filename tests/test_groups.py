"""Group laws and the orientation convention of aeqkit.groups (float64, exact elements)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aeqkit.groups import (
    SO2,
    CyclicGroup,
    DihedralGroup,
    FieldType,
    ScaleGroup,
    TranslationGroup,
    UniformMotionGroup,
    get_group,
    reflect_field,
    rot90_field,
    rotate_field,
    scale_field,
    translate_field,
    uniform_motion,
)

MIXED = FieldType(("scalar", "vector", "scalar", "vector"))


def field(C=6, H=8, W=8, B=2):
    return torch.randn(B, C, H, W, dtype=torch.float64)


@pytest.mark.parametrize("name", ["C1", "C2", "C4", "D1", "D2", "D4", "C8", "D8"])
def test_action_is_a_homomorphism_on_exact_elements(name):
    G = get_group(name)
    x = field()
    for a in G.elements():
        for b in G.elements():
            if not (G.is_exact(a) and G.is_exact(b)):
                continue
            lhs = G.act(a, G.act(b, x, MIXED), MIXED)
            rhs = G.act(G.compose(a, b), x, MIXED)
            assert torch.allclose(lhs, rhs, atol=1e-12), (a, b)
        if G.is_exact(a):
            back = G.act(G.inverse(a), G.act(a, x, MIXED), MIXED)
            assert torch.allclose(back, x, atol=1e-12)
            assert G.equal(G.compose(a, G.inverse(a)), G.identity)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), a=st.integers(0, 100), b=st.integers(0, 100), ma=st.integers(0, 1),
       mb=st.integers(0, 1))
def test_dihedral_multiplication_matches_vector_rep(n, a, b, ma, mb):
    G = DihedralGroup(n)
    ga, gb = (a % n, ma), (b % n, mb)
    assert torch.allclose(G.vector_rep(G.compose(ga, gb)), G.vector_rep(ga) @ G.vector_rep(gb), atol=1e-12)
    assert torch.allclose(G.vector_rep(G.inverse(ga)) @ G.vector_rep(ga), torch.eye(2, dtype=torch.float64),
                          atol=1e-12)


@pytest.mark.parametrize("G", [CyclicGroup(4), DihedralGroup(4), CyclicGroup(2)])
def test_constant_field_transforms_by_vector_rep(G):
    c = torch.zeros(2, 6, 6, dtype=torch.float64)
    c[0], c[1] = 0.3, -0.7
    for g in G.elements():
        out = G.act(g, c)
        assert torch.allclose(out, (G.vector_rep(g) @ c[:, 0, 0])[:, None, None].expand_as(out), atol=1e-12)


def test_rot90_matches_torch_rot90_on_scalars_and_rotates_vectors_ccw():
    s = torch.randn(3, 1, 5, 5)
    for k in range(4):
        assert torch.equal(rot90_field(s, k, "scalar"), torch.rot90(s, k, dims=(-1, -2)))
    # a uniform field pointing +x (east) rotated by +90° points +y (north): (u, v) -> (-v, u)
    east = torch.zeros(2, 5, 5)
    east[0] = 1.0
    north = rot90_field(east, 1, "vector")
    assert torch.equal(north[:, 2, 2], torch.tensor([0.0, 1.0]))
    # a bump east of the centre moves north of the centre (row axis points +y)
    bump = torch.zeros(1, 5, 5)
    bump[0, 2, 4] = 1.0  # row 2 (centre y), column 4 (east)
    moved = rot90_field(bump, 1, "scalar")
    assert moved[0, 4, 2] == 1.0  # row 4 (north), column 2 (centre x)


def test_rotating_by_a_vortex_keeps_a_vortex():
    # a counter-clockwise vortex u = -y, v = x is invariant under rotations about its centre
    n = 9
    yy, xx = torch.meshgrid(torch.arange(n) - 4.0, torch.arange(n) - 4.0, indexing="ij")
    vortex = torch.stack([-yy, xx]).double()
    for k in range(4):
        assert torch.allclose(rot90_field(vortex, k), vortex)
    # the paper-code convention (grid by -90°, components by +90°) does not keep it
    grid_minus = torch.rot90(vortex, 1, dims=(-2, -1))
    comp_plus = torch.stack([-grid_minus[1], grid_minus[0]])
    assert not torch.allclose(comp_plus, vortex)


def test_interpolated_rotation_agrees_with_exact_and_reports_lost_corners():
    x = field(C=2, H=12, W=12)
    exact = rot90_field(x, 1)
    from aeqkit.groups import _grid_resample, rotation_matrix

    interp, mask = _grid_resample(x, rotation_matrix(-math.pi / 2))
    interp = torch.einsum("ij,bjhw->bihw", rotation_matrix(math.pi / 2), interp)
    assert torch.allclose(interp, exact, atol=1e-12) and bool(mask.all())
    out, mask45 = rotate_field(x, math.pi / 4, return_mask=True)
    lost = 1 - mask45.double().mean()
    assert 0.15 < lost < 0.35  # the four corners of a square rotated by 45° (0.17 in the continuum)
    assert torch.all(out[..., ~mask45] == 0)
    # SO(2) rotation by 30° then 60° is close to 90° on a smooth field away from the corners
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 33), torch.linspace(-1, 1, 33), indexing="ij")
    smooth = torch.stack([torch.exp(-4 * (xx - 0.2) ** 2 - 6 * yy**2), xx * yy]).double()
    G = SO2()
    two = G.act(math.pi / 3, G.act(math.pi / 6, smooth))
    one = G.act(math.pi / 2, smooth)
    inner = (xx**2 + yy**2) < 0.6
    assert (two - one)[:, inner].abs().max() < 2e-2


def test_reflection_signs_and_involution():
    x = field(C=2)
    r = reflect_field(x)
    assert torch.equal(r[:, 0], -x[:, 0].flip(-1)) and torch.equal(r[:, 1], x[:, 1].flip(-1))
    assert torch.equal(reflect_field(r), x)
    D = DihedralGroup(4)
    # flip ∘ rot(k) = rot(-k) ∘ flip
    for k in range(4):
        assert torch.allclose(D.act((0, 1), D.act((k, 0), x)), D.act(((-k) % 4, 1), x))


def test_translations_cyclic_and_bounded():
    x = field(C=3, H=6, W=7)
    T = TranslationGroup()
    for a in T.elements():
        for b in T.elements():
            assert torch.equal(T.act(a, T.act(b, x, "scalar"), "scalar"), T.act(T.compose(a, b), x, "scalar"))
    out = translate_field(x, (2, -1), "scalar", cyclic=False, fill=-5.0)
    assert torch.equal(out[..., :, :2], torch.full_like(out[..., :, :2], -5.0))  # x entered from the west
    assert torch.equal(out[..., 0:5, 2:], x[..., 1:6, 0:5])
    half = translate_field(translate_field(x, (0.5, 0.0), "scalar"), (0.5, 0.0), "scalar")
    assert torch.allclose(half, torch.roll(x, 1, dims=-1), atol=1e-10)


def test_scaling_group_and_time_factor():
    S = ScaleGroup()
    assert S.compose(2.0, 0.5) == 1.0 and S.time_factor(2.0) == 4.0
    assert torch.allclose(S.vector_rep(2.0), 2 * torch.eye(2, dtype=torch.float64))
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 41), torch.linspace(-1, 1, 41), indexing="ij")
    w = torch.stack([torch.sin(xx) * torch.cos(yy), xx * yy]).double()
    out = scale_field(w, 0.5)
    # out(p) = 0.5 * w(0.5 p): at the centre value halves; at grid point p=(20 cells right) it
    # equals 0.5 * w at 10 cells right
    assert torch.allclose(out[:, 20, 40], 0.5 * w[:, 20, 30], atol=1e-10)
    double = scale_field(scale_field(w, 0.8), 1.25)
    inner = (xx.abs() < 0.7) & (yy.abs() < 0.7)
    assert (double - w)[:, inner].abs().max() < 5e-3


def test_uniform_motion_is_a_group_action():
    x = field(C=2, H=8, W=8)
    U = UniformMotionGroup(t=1.0, velocities=[(1.0, 0.0), (0.0, 2.0), (-1.0, -1.0)])
    for a in U.elements():
        for b in U.elements():
            assert torch.allclose(U.act(a, U.act(b, x)), U.act(U.compose(a, b), x), atol=1e-12)
    boosted = uniform_motion(torch.zeros(2, 4, 4), (0.5, -0.25), t=0.0)
    assert torch.allclose(boosted[:, 1, 1], torch.tensor([0.5, -0.25]))


def test_regular_fields_roll_with_rotation():
    G = CyclicGroup(4)
    ft = FieldType.regular(2, 4)
    x = torch.randn(1, 8, 5, 5, dtype=torch.float64)
    y = G.act(1, x, ft)
    expect = torch.rot90(x, 1, dims=(-1, -2)).reshape(1, 2, 4, 5, 5).roll(1, dims=2).reshape(1, 8, 5, 5)
    assert torch.equal(y, expect)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: rot90_field(torch.randn(5, 5)), "at least 3 dimensions"),
        (lambda: rot90_field(torch.randn(3, 5, 5), 1, "vector"), "even number of channels"),
        (lambda: get_group("hexagonal"), "accepted names"),
        (lambda: rot90_field(torch.randn(2, 5, 6), 1), "square grid"),
        (lambda: rot90_field(torch.full((2, 4, 4), float("nan"))), "NaN"),
        (lambda: rot90_field(torch.randn(4, 5, 5), 1, MIXED), "has 6 channels but the tensor has 4"),
        (lambda: FieldType(("tensor",)), "accepted kinds"),
        (lambda: CyclicGroup(0), "group order"),
        (lambda: scale_field(torch.randn(2, 4, 4), -1.0), "> 0"),
    ],
)
def test_bad_input_raises_value_error_naming_the_expectation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: rot90_field(torch.randn(2, 4, 4), 1.5), "k must be an integer"),
        (lambda: rot90_field(torch.randn(2, 4, 4), 1.0), "k must be an integer"),
        (lambda: CyclicGroup(4).act(1.5, torch.randn(2, 4, 4)), "element of C4 must be an integer"),
        (lambda: CyclicGroup(4).is_exact(0.5), "element of C4"),
        (lambda: DihedralGroup(4).act((1, 2), torch.randn(2, 4, 4)), r"m in \{0, 1\}"),
        (lambda: DihedralGroup(4).act(1, torch.randn(2, 4, 4)), "must be a pair"),
        (lambda: SO2().act(float("nan"), torch.randn(2, 4, 4)), "finite real"),
        (lambda: ScaleGroup().act(-2.0, torch.randn(2, 4, 4)), "λ > 0"),
        (lambda: TranslationGroup().act((1, float("inf")), torch.randn(2, 4, 4)), "finite"),
        (lambda: UniformMotionGroup().act("fast", torch.randn(2, 4, 4)), "pair"),
        (lambda: get_group("C4", order=8), "conflicting group order"),
        (lambda: get_group("reflection", order=4), "conflicting group order"),
        (lambda: get_group(CyclicGroup(4), order=8), "keyword arguments"),
    ],
)
def test_group_elements_and_options_are_validated(call, match):
    """Issue 13 item 10: these were silently accepted (k=1.5 acted as k=1, C4.act(1.5) rotated 135°)."""
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_like_elements_are_accepted():
    x = field(C=2)
    assert torch.equal(rot90_field(x, torch.tensor(1)), rot90_field(x, 1))
    assert torch.equal(CyclicGroup(4).act(5, x), CyclicGroup(4).act(1, x))  # k taken mod N
    assert get_group("C4", order=4).order == 4


@pytest.mark.parametrize("name", ["C4", "D4", "C8"])
def test_quarter_turns_on_non_square_grids_refuse_unless_interpolation_is_asked_for(name):
    """Issue 14 item 5: C4 on a (H, W) grid with H != W used to fall back to interpolation silently."""
    from aeqkit.equivariance import equivariance_error

    x = torch.randn(2, 2, 8, 12, dtype=torch.float64)
    G = get_group(name)
    quarter = {"C4": 1, "D4": (1, 0), "C8": 2}[name]
    with pytest.raises(ValueError, match=r"square grid.*\(8, 12\).*interpolate_nonsquare=True"):
        G.act(quarter, x)
    with pytest.raises(ValueError, match=r"\(8, 12\)"):
        equivariance_error(lambda t: t, x, G)
    half = (G.order // 2, 0) if name == "D4" else G.order // 2  # 180° is exact on any grid
    assert torch.equal(G.act(half, G.act(half, x)), x)
    Gi = get_group(name, interpolate_nonsquare=True)
    rep = equivariance_error(lambda t: t, x, Gi)
    acts = {e.label: e.action for e in rep.per_element}
    assert acts["90°"] == "interpolated" and acts["180°"] == "exact"
    assert "interpolated" in str(rep)
