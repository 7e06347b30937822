"""Discovery on fields (issue 17): the 2x2 action on fields, pairs, the order scan, suggest_model and
the notebook 07 figure builder. Synthetic C4-orbit data stand in for the smoke levels (fast)."""

from __future__ import annotations

import math

import pytest
import torch

from aeqkit.discovery import fields as ff
from aeqkit.discovery.figures_fields import discover_relax_figure
from aeqkit.discovery.suggest import ModelSuggestion, build_suggested, suggest_model
from aeqkit.groups import rot90_field, rotate_field

J = torch.tensor([[0.0, -1.0], [1.0, 0.0]])


def _rot(theta: float, b: int = 1, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.linalg.matrix_exp(theta * J.to(dtype)).expand(b, 2, 2)


def _orbit_fields(breaking: float = 0.0, size: int = 12, steps: int = 8, seed: int = 0) -> torch.Tensor:
    """Four C4 orientations of one smooth vector field, each decaying and drifting in its own
    frame at a rate that differs per orientation by ``breaking`` (0: an exactly C4-symmetric
    data set). Shape: (4, steps, 2, size, size)"""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.avg_pool2d(torch.randn(1, 2, size + 4, size + 4, generator=g), 5, 1)[0]
    sims = []
    for k in range(4):
        rate = 0.9 * (1 + breaking * (-1.0, -1 / 3, 1 / 3, 1.0)[k])
        traj = torch.stack([base * rate**t + 0.05 * t * breaking * k for t in range(steps)])
        sims.append(rot90_field(traj, k))
    return torch.stack(sims)


def test_transform_fields_quarter_turn_is_rot90_and_vector_components_rotate() -> None:
    f = torch.randn(3, 2, 2, 10, 10)
    out = ff.transform_fields(f, _rot(math.pi / 2, 3), mask=False)
    assert torch.allclose(out, rot90_field(f, 1), atol=1e-5)
    # any angle agrees with aeqkit.groups.rotate_field inside the disk
    out = ff.transform_fields(f.double(), _rot(0.4, 3, torch.float64))
    ref = rotate_field(f.double(), 0.4) * ff.disk_mask(10, 10, torch.float64)
    assert torch.allclose(out, ref, atol=1e-10)
    # a scalar field is only resampled; the identity leaves the disk unchanged
    s = torch.randn(2, 1, 9, 9)
    assert torch.allclose(ff.transform_fields(s, torch.eye(2).expand(2, 2, 2), "scalar"),
                          s * ff.disk_mask(9, 9), atol=1e-6)


def test_transform_fields_rejects_bad_input() -> None:
    f = torch.randn(2, 2, 8, 8)
    with pytest.raises(ValueError, match="field_type"):
        ff.transform_fields(f, _rot(0.1, 2), "tensor")
    with pytest.raises(ValueError, match="g must have shape"):
        ff.transform_fields(f, _rot(0.1, 3))
    with pytest.raises(ValueError, match="even number"):
        ff.transform_fields(torch.randn(2, 3, 8, 8), _rot(0.1, 2))


def test_field_pairs_shapes_and_training_sims_only() -> None:
    fields = _orbit_fields(steps=6)
    x, y = ff.field_pairs(fields, input_length=2)
    assert x.shape == (4 * 4, 2, 2, 12, 12) and y.shape == (16, 2, 12, 12)
    assert torch.equal(x[1, 1], fields[0, 2]) and torch.equal(y[1], fields[0, 3])

    class Data:  # a loaded set: discovery only sees meta["train_sims"]
        meta = {"train_sims": [0, 1]}

    Data.fields = fields
    x, _ = ff.field_pairs(Data(), input_length=1)
    assert x.shape[0] == 2 * 5
    with pytest.raises(ValueError, match="input_length"):
        ff.field_pairs(fields, input_length=6)


def test_order_scan_finds_c4_on_symmetric_orbit_and_breaking_is_monotone() -> None:
    mism, orders = [], []
    for b in (0.0, 0.1, 0.3, 0.6):
        x, y = ff.field_pairs(_orbit_fields(b), 1)
        scan = ff.order_scan(x, y, orders=(2, 4, 8), tol=1e-3)
        mism.append(scan.mismatch[4])
        orders.append(scan.order)
        assert scan.mismatch[8] > 0.1  # 45° turns never give data pairs
    assert mism[0] < 1e-4 and orders[0] == 4
    assert all(o == 1 for o in orders[1:])
    assert all(a < b for a, b in zip(mism, mism[1:]))


def test_pair_mismatch_zero_for_identity_and_excludes_self() -> None:
    x, y = ff.field_pairs(_orbit_fields(0.2), 1)
    assert ff.pair_mismatch(x, y, x, y) < 1e-12
    assert ff.pair_mismatch(x, y, x, y, exclude_self=True) > 0.0


def _isotropic_pairs(n: int = 256, size: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random vector fields with an isotropic (Gaussian) spectrum, independent components:
    their distribution is invariant under every rotation (and not under scaling or shears);
    the dynamics ``y = 0.9 x`` commute with rotations."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, 2, size, size, generator=g)
    k = torch.fft.fftfreq(size)
    filt = torch.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * 0.12**2))
    x = torch.fft.ifft2(torch.fft.fft2(w) * filt).real
    x = x / x.std()
    return x[:, None], 0.9 * x


def test_discover_fields_finds_rotation_on_isotropic_fields() -> None:
    x, y = _isotropic_pairs()
    res = ff.discover_fields(x, y, steps=150, batch_size=32, seed=0)
    assert res.matrix.shape == (2, 2)
    assert abs(float(res.matrix.norm()) - math.sqrt(2)) < 1e-9
    assert len(res.history["cosine"]) == 15
    assert res.rotation_cosine > 0.9, res.rotation_cosine
    assert res.discrete_order is None and res.step_angle == 1.0


def test_int_grid_generator_samples_integer_multiples_of_its_step() -> None:
    gen = ff.FieldGenerator(coef_dist="int_grid", step=math.pi / 2, learn_scale=True, grid_max=2)
    z = gen.sample_coefficients(64)
    assert torch.equal(z, z.round()) and z.abs().max() <= 2
    with torch.no_grad():
        gen.raw_basis.copy_(J[None])
    g = gen.group_elements(torch.tensor([[1.0]]))
    assert torch.allclose(g[0], torch.linalg.matrix_exp(math.pi / 2 * J), atol=1e-6)
    res = ff.FieldDiscoveryResult(gen)
    assert abs(res.discrete_order - 4.0) < 1e-5 and res.rotation_cosine > 0.999999


def test_cyclic_transform_snaps_a_near_rotation_generator() -> None:
    x, y = ff.field_pairs(_orbit_fields(0.0), 1)
    near = torch.tensor([[0.03, -1.0], [0.98, -0.02]])  # a discovered generator, |cosine| ~ 0.9995
    for gen in (None, near, -near):
        assert ff.order_scan(x, y, generator=gen, orders=(4,)).mismatch[4] < 1e-4


def test_cyclic_transform_needs_a_rotation_part() -> None:
    with pytest.raises(ValueError, match="rotation part"):
        ff.cyclic_transform(4, torch.eye(2))
    with pytest.raises(ValueError, match="order"):
        ff.cyclic_transform(1)


def _scan(m: dict[int, float]) -> ff.OrderScan:
    return ff.OrderScan(sorted(m), m, {}, 0.1, 1, 1e-3)


def test_suggest_model_strict_relaxed_none_and_alpha_falls_with_breaking() -> None:
    s = suggest_model(_scan({2: 1e-5, 4: 2e-5, 8: 0.7}))
    assert (s.name, s.group_order, s.relaxed, s.alpha) == ("rgroup", 4, False, 1e-2)
    s = suggest_model(_scan({2: 1e-5, 4: 2e-5, 8: 0.7}), strict_model="equiv")
    assert (s.name, s.group_order, s.relaxed, s.alpha) == ("equiv", 4, False, None)
    alphas = []
    for m4 in (0.01, 0.1, 0.4):
        s = suggest_model(_scan({2: m4, 4: m4, 8: 0.7}))
        assert (s.name, s.group_order, s.relaxed) == ("rgroup", 4, True)
        alphas.append(s.alpha)
    assert alphas[0] > alphas[1] > alphas[2] and 1e-5 <= alphas[2] and alphas[0] <= 1e-2
    s = suggest_model(_scan({2: 0.65, 4: 0.66, 8: 0.7}))
    assert (s.name, s.symmetry, s.group_order) == ("conv", None, 1)
    # C2 survives, C4 does not
    s = suggest_model(_scan({2: 1e-4, 4: 0.5, 8: 0.7}))
    assert (s.name, s.group_order, s.relaxed) == ("equiv", 2, False)


def test_suggest_model_rejects_bad_input_and_builds() -> None:
    with pytest.raises(TypeError, match="OrderScan"):
        suggest_model({4: 0.1})
    with pytest.raises(ValueError, match="strict_tol"):
        suggest_model(_scan({4: 0.1, 8: 0.7}), strict_tol=-1)
    with pytest.raises(ValueError, match="strict_model"):
        suggest_model(_scan({4: 0.1, 8: 0.7}), strict_model="e2cnn")
    with pytest.raises(ValueError, match="alpha_min"):
        suggest_model(_scan({4: 0.1, 8: 0.7}), alpha_min=1.0, alpha_max=0.1)
    s = suggest_model(_scan({2: 0.1, 4: 0.1, 8: 0.7}))
    model = build_suggested(s, seed=0, width=2, num_layers=2, kernel_size=3)
    assert model.name == "rgroup" and model(torch.randn(1, 10, 2, 8, 8)).shape == (1, 2, 8, 8)
    assert s.build_kwargs() == {"group_order": 4, "alpha": s.alpha}
    assert isinstance(ModelSuggestion("conv", None, 1, False, None, None, "").label(), str)


def test_discover_relax_figure_over_its_levels() -> None:
    levels = list(range(4))
    kw = dict(levels=levels, data_error=[0.0, 0.01, 0.02, 0.03],
              mismatch={4: [0.0, 0.1, 0.2, 0.3], 8: [0.7] * 4},
              suggestions=["strict C4", "relaxed", "relaxed", "conv"],
              generators={0: J, 3: -J}, spectra={0: [0.9, 0, 0, 0, 0.1], 3: [0.5, 0.2, 0.1, 0.1, 0.1]},
              surviving={0: 4, 3: 1})
    for lv in levels:
        fig = discover_relax_figure(lv, **kw)
        meta = fig.layout.meta
        assert meta["level"] == lv and meta["suggestion"] == kw["suggestions"][lv]
        assert meta["mismatch_c4"] == kw["mismatch"][4][lv]
        assert meta["generator_level"] == (0 if lv <= 1 else 3)
        assert meta["surviving"] == (4 if lv <= 1 else 1)
    with pytest.raises(ValueError, match="level"):
        discover_relax_figure(7, **kw)


def test_compare_models_trains_each_candidate_and_reports_test_domain_rmse() -> None:
    from aeqkit.data.windows import ForecastData, make_splits
    from aeqkit.discovery.suggest import compare_models

    fields = torch.cat([_orbit_fields(0.0, size=8, steps=24, seed=0),
                        _orbit_fields(0.0, size=8, steps=24, seed=1)])
    splits, info = make_splits(fields, input_length=10, target_length=2, eval_steps=2,
                               orbits=[0] * 4 + [1] * 4, seed=0)
    data = ForecastData("synthetic", fields, splits, {**info, "eval_steps": 2})
    cands = {"relaxed C4": ModelSuggestion("rgroup", "rotation", 4, True, 1e-3, None, ""),
             "cnn": ModelSuggestion("conv", None, 1, False, None, None, "")}
    out = compare_models(data, cands, seeds=(0,), budget=1500, epochs=1)
    assert set(out) == set(cands)
    for v in out.values():
        assert math.isfinite(v["rmse"]) and v["rmse"] > 0 and len(v["models"]) == 1
        assert 500 < v["parameters"] < 3000  # matched to the budget
    with pytest.raises(TypeError, match="ModelSuggestion"):
        compare_models(data, {"x": "conv"})
    with pytest.raises(ValueError, match="candidates"):
        compare_models(data, {})


def test_discover_fields_is_seeded_and_uses_the_shared_gan_step(monkeypatch) -> None:
    """Same seed, same run bit for bit (the one GANStep of aeqkit.discovery.train drives it)."""
    from aeqkit.discovery import train as dtrain

    x, y = _isotropic_pairs(n=32, size=8)
    a = ff.discover_fields(x, y, steps=12, batch_size=8, eval_every=4, seed=3, identity_weight=0.5)
    b = ff.discover_fields(x, y, steps=12, batch_size=8, eval_every=4, seed=3, identity_weight=0.5)
    c = ff.discover_fields(x, y, steps=12, batch_size=8, eval_every=4, seed=4, identity_weight=0.5)
    assert a.history == b.history and torch.equal(a.matrix, b.matrix)
    assert a.history["d_loss"] != c.history["d_loss"]
    calls = []
    original = dtrain.GANStep.__call__

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dtrain.GANStep, "__call__", counting)
    ff.discover_fields(x, y, steps=5, batch_size=8, seed=0)
    assert len(calls) == 5
