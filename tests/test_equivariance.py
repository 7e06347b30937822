"""Def. 2.1/3.1 metrics, assert_equivariant, data and per-layer errors, Prop. 3.2 and 3.3 numerically."""

from __future__ import annotations

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
