"""Def. 2.1/3.1 metrics, assert_equivariant, data and per-layer errors, Prop. 3.2 and 3.3 numerically."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from aeqkit.equivariance import (
    assert_equivariant,
    data_equivariance_error,
    equivariance_error,
    layer_equivariance_report,
)
from aeqkit.groups import CyclicGroup, DihedralGroup, FieldType, get_group, rot90_field


def isotropic(x: torch.Tensor) -> torch.Tensor:
    """An exactly C4/D4-equivariant map on vector fields (cyclic 5-point stencil on each component)."""
    lap = sum(torch.roll(x, s, d) for s in (1, -1) for d in (-1, -2)) - 4 * x
    return x + 0.2 * lap + 0.1 * x * (x**2).sum(-3, keepdim=True)


def broken(beta: float):
    """``isotropic`` plus a position-dependent forcing of strength ``beta`` that breaks rotation."""
    def f(x):
        H, W = x.shape[-2:]
        ramp = torch.linspace(0, 1, W, dtype=x.dtype).expand(H, W)
        return isotropic(x) + beta * ramp * x
    return f


def symmetrize(f, G, ft="vector"):
    """The group average ``1/|G| Σ g⁻¹ f(g x)``: an exactly equivariant approximator of ``f``."""
    def fs(x):
        return sum(G.act(G.inverse(g), f(G.act(g, x, ft)), ft) for g in G.elements()) / len(G.elements())
    return fs


X = torch.randn(6, 2, 12, 12, dtype=torch.float64)


def test_equivariant_map_has_zero_error_and_report_structure():
    rep = equivariance_error(isotropic, X, "D4", norm="l1")
    assert rep.sup < 1e-14 and len(rep.per_element) == 8
    assert all(e.exact for e in rep.per_element)
    assert_equivariant(isotropic, X, DihedralGroup(4))
    assert_equivariant(isotropic, X.float(), "C4")  # float32 tolerance


@pytest.mark.parametrize("norm", ["l1", "l2", "linf", "relative"])
def test_error_grows_with_breaking_strength(norm):
    errs = [equivariance_error(broken(b), X, "C4", norm=norm).sup for b in (0.0, 0.01, 0.1, 1.0)]
    assert errs[0] < 1e-12 and errs[1] > 1e-4
    assert errs[1] < errs[2] < errs[3]


def test_assert_equivariant_raises_with_report():
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(broken(0.1), X, "C4")


def test_identity_element_has_zero_error_and_mean_le_sup():
    rep = equivariance_error(broken(0.3), X, "C4")
    assert rep.per_element[0].sup == 0.0
    assert rep.mean <= rep.sup and rep.worst.sup == rep.sup


def test_interpolated_elements_mask_lost_corners():
    rep = equivariance_error(isotropic, X, "C8", norm="l1")
    interp = [e for e in rep.per_element if not e.exact]
    assert len(interp) == 4 and all(0.6 < e.valid_fraction < 0.9 for e in interp)
    exact_only = equivariance_error(isotropic, X, "C8", exact_only=True)
    assert len(exact_only.per_element) == 4 and exact_only.sup < 1e-14


def test_data_equivariance_error_zero_for_exact_orbits_and_grows_with_breaking():
    traj = torch.randn(5, 2, 10, 10, dtype=torch.float64)
    orbit = torch.stack([rot90_field(traj, k) for k in range(4)])
    assert data_equivariance_error(orbit, [0, 1, 2, 3], "C4") < 1e-15
    noisy = orbit.clone()
    noisy[2] *= 1.1
    e1 = data_equivariance_error(noisy, [0, 1, 2, 3], "C4")
    noisy[2] = orbit[2] * 1.3
    e2 = data_equivariance_error(noisy, [0, 1, 2, 3], "C4")
    assert 0 < e1 < e2
    with pytest.raises(ValueError, match="one group element per simulation"):
        data_equivariance_error(orbit, [0, 1], "C4")


def test_prop_3_2_equivariant_approximator_errs_by_half_the_equivariance_error():
    """Prop. 3.2: an exactly equivariant f_θ errs by ≥ ‖f‖_EE / 2 at some point of the orbit set."""
    G = CyclicGroup(4)
    for beta in (0.05, 0.3, 1.0):
        f = broken(beta)
        orbit = torch.cat([G.act(g, X) for g in G.elements()])  # a G-closed sample set
        eps = equivariance_error(f, orbit, G, norm="l2").sup
        # two different equivariant approximators: the group average, and the unbroken model
        for f_theta in (symmetrize(f, G), isotropic):
            assert equivariance_error(f_theta, X, G, norm="l2").sup < 1e-12
            d = (f(orbit) - f_theta(orbit)).pow(2).flatten(1).mean(1).sqrt()
            assert d.max() >= eps / 2 - 1e-12


def test_prop_3_3_equivariance_errors_converge_with_model_error():
    """Prop. 3.3: ‖f - f_θ‖∞ ≤ c implies |‖f‖_EE - ‖f_θ‖_EE| ≤ 2c (+ε) for a G-invariant norm."""
    G = CyclicGroup(4)
    f = broken(0.4)
    orbit = torch.cat([G.act(g, X) for g in G.elements()])
    ee_f = equivariance_error(f, orbit, G, norm="l2").sup
    for c_scale in (1e-3, 1e-2, 1e-1):
        noise = torch.nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular").double()

        def f_theta(x, noise=noise, c_scale=c_scale):
            return f(x) + c_scale * torch.tanh(noise(x))

        with torch.no_grad():
            c = (f(orbit) - f_theta(orbit)).pow(2).flatten(1).mean(1).sqrt().max()
        ee_t = equivariance_error(f_theta, orbit, G, norm="l2").sup
        assert abs(ee_f - ee_t) <= 2 * float(c) + 1e-12


class _Typed(nn.Module):
    def __init__(self):
        super().__init__()
        self.eq = nn.Identity()
        self.eq.in_field_type = self.eq.out_field_type = "vector"
        self.conv = nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular").double()
        self.conv.in_field_type = self.conv.out_field_type = FieldType.vectors(1)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.conv(self.eq(x)))


def test_layer_report_finds_the_non_equivariant_layer():
    rows = {r.name: r for r in layer_equivariance_report(_Typed(), X[:3], "C4")}
    assert rows["eq"].local < 1e-14 and rows["conv"].local > 1e-3
    assert rows["act"].local is None  # types unknown: listed, not guessed


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least 4 dims"):
        equivariance_error(isotropic, X[0], "C4")
    with pytest.raises(ValueError, match="unknown norm"):
        equivariance_error(isotropic, X, "C4", norm="l3")
    with pytest.raises(ValueError, match="NaN"):
        equivariance_error(isotropic, X * float("nan"), "C4")
    with pytest.raises(ValueError, match="accepted names"):
        equivariance_error(isotropic, X, "icosahedral")
    with pytest.raises(ValueError, match="even number of channels"):
        equivariance_error(lambda x: x, torch.randn(2, 3, 4, 4), get_group("C4"))


def test_means_are_over_non_identity_elements_with_per_element_values_kept():
    """Issue 12 item 4: before the fix the C4 mean was exactly 3/4 (D4: 7/8) of this."""
    for name, n in (("C4", 4), ("D4", 8)):
        rep = equivariance_error(broken(0.3), X, name)
        non_id = [e for e in rep.per_element if not e.is_identity]
        assert len(rep.per_element) == n and len(non_id) == n - 1
        assert rep.per_element[0].is_identity and rep.per_element[0].sup == 0.0
        assert rep.mean == pytest.approx(sum(e.mean for e in non_id) / (n - 1), rel=1e-12)
        assert rep.mean == pytest.approx(sum(e.mean for e in rep.per_element) / (n - 1), rel=1e-12)
        assert rep.to_dict()["per_element"][0]["is_identity"]


def test_heat_translation_error_averages_non_identity_shifts_only():
    from aeqkit.data import heat

    assert heat.heat_equivariance_error(0.0, resolution=12, steps=3, group="translation") < 1e-13
    cfg = heat.HeatConfig(resolution=12, steps=3, num_sims=2, beta=0.5, seed=0)
    kappa, T0 = heat.diffusivity(cfg), heat.heat_initial_conditions(cfg)
    rep = equivariance_error(lambda x: heat.simulate_heat(x, cfg, kappa=kappa)[:, -1], T0, "C4",
                             in_type="scalar", out_type="scalar")
    non_id = [e.mean for e in rep.per_element[1:]]
    got = heat.heat_equivariance_error(0.5, resolution=12, steps=3, group="C4")
    assert got == pytest.approx(sum(non_id) / 3, rel=1e-9) and got > 1e-4


def test_valid_mask_scores_only_cells_whose_preimage_is_valid():
    H = 12
    mask = torch.ones(H, H, dtype=torch.bool)
    mask[3:6, 2:7] = False  # an "island" of invalid cells: not C4-symmetric
    ramp = torch.linspace(0, 1, H, dtype=torch.float64).expand(H, H)

    def f(x):  # exactly equivariant on valid cells, junk on invalid ones
        return isotropic(x) + 10 * ramp * (~mask)

    plain = equivariance_error(f, X, "C4")
    assert plain.sup > 0.1
    masked = equivariance_error(f, X, "C4", valid_mask=mask)
    assert masked.sup < 1e-14
    for e in masked.per_element:
        if not e.is_identity:
            expect = mask & rot90_field(mask[None].double(), e.element, "scalar")[0].bool()
            assert e.valid_fraction == pytest.approx(float(expect.double().mean()))
    # junk that leaks one cell into valid cells (a stencil reading invalid inputs) needs erode=1
    def g(x):
        junk = torch.zeros_like(x)
        junk[..., 3:6, 2:7] = torch.randn(x.shape[0], 2, 3, 5, dtype=x.dtype)
        return isotropic(x + junk)

    assert equivariance_error(g, X, "C4", valid_mask=mask).sup > 1e-3
    assert equivariance_error(g, X, "C4", valid_mask=mask, erode=1).sup < 1e-14
    with pytest.raises(ValueError, match="valid_mask must be a bool tensor of shape"):
        equivariance_error(f, X, "C4", valid_mask=mask.double())
    with pytest.raises(ValueError, match="erode"):
        equivariance_error(f, X, "C4", valid_mask=mask, erode=-1)


def test_interpolated_elements_get_their_own_mask_and_say_so():
    rep = equivariance_error(isotropic, X, "SO2", elements=[0.0, math.pi / 4, math.pi / 2])
    acts = {e.label: e.action for e in rep.per_element}
    assert acts == {"0°": "exact", "45°": "interpolated", "90°": "exact"}
    assert rep.per_element[1].valid_fraction < 0.9 and "interpolated" in str(rep)


def test_erosion_also_removes_cells_next_to_the_grid_edge():
    from aeqkit.equivariance import erode_mask

    full = torch.ones(5, 5, dtype=torch.bool)
    inner = erode_mask(full, 1)
    assert int(inner.sum()) == 9 and bool(inner[1:4, 1:4].all())
    # a zero-padded (non-periodic) stencil under a 45° rotation: exact nowhere near the edge or the
    # lost corners, so erode=1 only removes cells, it never adds any
    rep0 = equivariance_error(isotropic, X, "C8", elements=[1], erode=0)
    rep1 = equivariance_error(isotropic, X, "C8", elements=[1], erode=1)
    assert rep1.per_element[0].valid_fraction < rep0.per_element[0].valid_fraction
