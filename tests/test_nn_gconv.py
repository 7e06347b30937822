"""Relaxed C_N group convolutions: exact equivariance at init, measurable relaxation, shapes, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import FieldType
from aeqkit.nn import (
    GroupPool,
    RelaxedRotGroupConv2d,
    RelaxedRotLiftConv2d,
    RotGroupToVector,
    exactly_equivariant_rotations,
)

pytestmark = pytest.mark.usefixtures("float64_default")


def _perturb(module: torch.nn.Module, eps: float, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w = module.relaxed_weights
        w.add_(eps * torch.randn(w.shape, generator=g, dtype=w.dtype))


def _rot_err(f, x, n, in_type, out_type, elements=None):
    rep = equivariance_error(
        f,
        x,
        f"C{n}",
        in_type=in_type,
        out_type=out_type,
        elements=elements or exactly_equivariant_rotations(n),
        norm="relative",
    )
    return rep


@pytest.mark.parametrize("n", [4, 8])
@pytest.mark.parametrize("num_banks", [1, 3])
def test_group_conv_exact_at_init_and_relaxed_after(n, num_banks):
    layer = RelaxedRotGroupConv2d(3, 4, 3, group_order=n, num_filter_banks=num_banks)
    x = torch.randn(2, 3 * n, 11, 11)
    ft_in, ft_out = FieldType.regular(3, n), FieldType.regular(4, n)
    rep = _rot_err(layer, x, n, ft_in, ft_out)
    assert len(rep.per_element) == 4  # identity, 90, 180, 270 degrees
    assert rep.sup < 1e-5
    assert layer.equivariance_penalty().item() == 0.0
    errs = []
    for eps in (0.05, 0.2, 0.8):
        m = RelaxedRotGroupConv2d(3, 4, 3, group_order=n, num_filter_banks=num_banks)
        m.load_state_dict(layer.state_dict())
        _perturb(m, eps)
        errs.append(_rot_err(m, x, n, ft_in, ft_out).sup)
        assert m.equivariance_penalty().item() > 0
    assert errs[0] > 1e-3
    assert errs[0] < errs[1] < errs[2]


def test_strict_group_conv_has_frozen_weights():
    layer = RelaxedRotGroupConv2d(2, 2, 3, relaxed=False)
    assert "relaxed_weights" not in dict(layer.named_parameters())
    x = torch.randn(1, 8, 9, 9)
    assert _rot_err(layer, x, 4, FieldType.regular(2, 4), FieldType.regular(2, 4)).sup < 1e-12


def test_interpolated_rotation_is_approximate_for_45_degrees():
    """N=8: 45 degree elements rotate kernels by interpolation; error is small but not exact."""
    layer = RelaxedRotGroupConv2d(2, 2, 5, group_order=8)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 33), torch.linspace(-1, 1, 33), indexing="ij")
    blob = torch.exp(-((xx - 0.1) ** 2 + (yy + 0.2) ** 2) / 0.1)
    x = blob.expand(1, 16, 33, 33) * torch.linspace(0.5, 1.5, 16)[None, :, None, None]
    rep = _rot_err(layer, x, 8, FieldType.regular(2, 8), FieldType.regular(2, 8), elements=[1, 3])
    assert 1e-6 < rep.sup < 0.5


@pytest.mark.parametrize("n", [4, 8])
def test_lift_scalars_and_vectors_exact(n):
    ft = FieldType(("vector", "scalar", "vector"))
    layer = RelaxedRotLiftConv2d(ft, 3, 5, group_order=n, num_filter_banks=2)
    x = torch.randn(2, ft.size, 12, 12)
    rep = _rot_err(layer, x, n, ft, FieldType.regular(3, n))
    assert rep.sup < 1e-5
    _perturb(layer, 0.3)
    assert _rot_err(layer, x, n, ft, FieldType.regular(3, n)).sup > 1e-3


def test_lift_vector_is_frequency_one():
    """Sec. 3.1: a lifted vector is ``a cos(2 pi i/N) + b sin(2 pi i/N)``, i.e. pure frequency 1 over
    the group; a 1x1 relaxed group conv at init can only rephase/rescale it, never add frequencies."""
    n = 8
    layer = RelaxedRotLiftConv2d(FieldType.vectors(1), 1, 1, group_order=n, bias=False)
    x = torch.tensor([0.3, -1.2]).view(1, 2, 1, 1)
    spec = torch.fft.fft(layer(x).flatten()).abs()
    assert spec[1] > 1e-3
    off = torch.cat([spec[:1], spec[2 : n - 1]])
    assert off.max() < 1e-12
    _perturb(layer, 0.5)
    spec = torch.fft.fft(layer(x).flatten()).abs()
    assert torch.cat([spec[:1], spec[2 : n - 1]]).max() > 1e-3  # relaxed: other frequencies appear


def test_full_pipeline_vector_to_vector_and_pool():
    n = 4
    ft = FieldType.vectors(2)
    lift = RelaxedRotLiftConv2d(ft, 4, 3, group_order=n)
    conv = RelaxedRotGroupConv2d(4, 4, 3, group_order=n, num_filter_banks=2)
    head = RotGroupToVector(4, n)
    pool = GroupPool(n)

    def model(z):
        return head(torch.relu(conv(torch.relu(lift(z)))))

    x = torch.randn(2, 4, 10, 10)
    assert _rot_err(model, x, n, ft, FieldType.vectors(1)).sup < 1e-5

    def inv(z):
        return pool(conv(lift(z)))

    assert _rot_err(inv, x, n, ft, FieldType.scalars(4)).sup < 1e-5


@settings(max_examples=8, deadline=None)
@given(h=st.integers(5, 13), w=st.integers(5, 13), k=st.sampled_from([1, 3, 5]))
def test_non_square_inputs_and_180_rotation(h, w, k):
    n = 4
    layer = RelaxedRotGroupConv2d(1, 2, k, group_order=n, num_filter_banks=2)
    x = torch.randn(1, n, h, w)
    y = layer(x)
    assert y.shape == (1, 2 * n, h, w)
    rep = _rot_err(layer, x, n, FieldType.regular(1, n), FieldType.regular(2, n), elements=[2])
    assert rep.sup < 1e-5


def test_gradients_reach_every_parameter():
    ft = FieldType(("scalar", "vector"))
    model = torch.nn.Sequential(
        RelaxedRotLiftConv2d(ft, 2, 3, num_filter_banks=2),
        torch.nn.ReLU(),
        RelaxedRotGroupConv2d(2, 2, 3, num_filter_banks=2),
        torch.nn.ReLU(),  # (a bias constant over the group axis projects to zero without it)
        RotGroupToVector(2, 4),
    )
    # break the symmetry slightly so relaxed-weight gradients are generic
    for m in model:
        if hasattr(m, "relaxed_weights"):
            _perturb(m, 0.1)
    loss = model(torch.randn(2, 3, 8, 6)).pow(2).sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_group_axis_innermost_layout():
    """Rolling the group axis of the input by one step equals rotating by 90 deg then undoing it."""
    layer = RelaxedRotGroupConv2d(2, 3, 3)
    w = layer.expanded_weight()
    assert w.shape == (12, 8, 3, 3)
    # output element g, input element h: kernel for (g+1, h+1) is the rot90 of kernel (g, h)
    w6 = w.reshape(3, 4, 2, 4, 3, 3)
    torch.testing.assert_close(w6[:, 1, :, 2], torch.rot90(w6[:, 0, :, 1], 1, dims=(-1, -2)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group_order": 0},
        {"group_order": -4},
        {"num_filter_banks": 0},
        {"kernel_size": 4},
        {"kernel_size": 0},
        {"padding_mode": "mirror"},
        {"in_channels": 0},
    ],
)
def test_bad_hyperparameters_raise(kwargs):
    args = {"in_channels": 2, "out_channels": 2, "kernel_size": 3}
    args.update(kwargs)
    with pytest.raises(ValueError):
        RelaxedRotGroupConv2d(**args)


def test_bad_types_and_inputs_raise():
    with pytest.raises(ValueError, match="group_order >= 3"):
        RelaxedRotLiftConv2d(FieldType.vectors(1), 2, 3, group_order=2)
    with pytest.raises(ValueError, match="scalar"):
        RelaxedRotLiftConv2d(FieldType.regular(1, 4), 2, 3)
    with pytest.raises(ValueError, match="FieldType"):
        RelaxedRotLiftConv2d(3, 2, 3)
    layer = RelaxedRotGroupConv2d(2, 2, 3)
    with pytest.raises(ValueError, match=r"\(B, 8, H, W\)"):
        layer(torch.randn(1, 6, 5, 5))
    with pytest.raises(ValueError):
        GroupPool(4)(torch.randn(1, 6, 5, 5))
    with pytest.raises(ValueError):
        RotGroupToVector(2, 4)(torch.randn(1, 6, 5, 5))


def test_layer_field_types_feed_layer_equivariance_report():
    from aeqkit.equivariance import layer_equivariance_report

    ft = FieldType.vectors(1)
    model = torch.nn.Sequential(
        RelaxedRotLiftConv2d(ft, 2, 3), torch.nn.ReLU(), RelaxedRotGroupConv2d(2, 2, 3),
        torch.nn.ReLU(), RotGroupToVector(2, 4),
    )
    _perturb(model[2], 0.5)
    rows = {r.name: r for r in layer_equivariance_report(model, torch.randn(2, 2, 9, 9), "C4",
                                                         in_type=ft)}
    assert rows["0"].local < 1e-9 and rows["4"].local < 1e-9
    assert rows["2"].local > 1e-3  # the perturbed layer is the one that breaks


# ---- the one group conv: C_N instances, the group object, shared validators ----------------------
def test_c_n_instances_are_the_generic_group_conv_bit_for_bit():
    from aeqkit.nn import GroupToVector, RelaxedGroupConv2d, RelaxedLiftConv2d

    for make_old, make_new, x in (
        (lambda: RelaxedRotGroupConv2d(2, 3, 3, group_order=8, num_filter_banks=2),
         lambda: RelaxedGroupConv2d(2, 3, 3, group="C8", num_filter_banks=2), torch.randn(2, 16, 7, 7)),
        (lambda: RelaxedRotLiftConv2d(FieldType(("vector", "scalar")), 3, 5, group_order=4),
         lambda: RelaxedLiftConv2d(FieldType(("vector", "scalar")), 3, 5, group="C4"),
         torch.randn(2, 3, 7, 7)),
        (lambda: RotGroupToVector(3, 6), lambda: GroupToVector(3, "C6"), torch.randn(2, 18, 4, 4)),
    ):
        torch.manual_seed(0)
        old = make_old()
        torch.manual_seed(0)
        new = make_new()
        assert torch.equal(old(x), new(x))


def test_kernel_and_fibre_tables_come_from_the_group():
    from aeqkit.groups import get_group
    from aeqkit.nn import RelaxedGroupConv2d

    for name in ("C4", "C8", "D4", "D1"):
        layer = RelaxedGroupConv2d(1, 1, 3, group=name)
        g = get_group(name)
        torch.testing.assert_close(layer.rotation_matrices, g.kernel_matrices(3), rtol=0, atol=0)
        for i, e in enumerate(g.elements()):
            assert torch.equal(layer.d_index[i], g.regular_permutation(e))


def test_group_pool_takes_a_group():
    from aeqkit.groups import get_group

    x = torch.randn(2, 3 * 8, 4, 4)
    torch.testing.assert_close(GroupPool(get_group("D4"))(x), x.unflatten(1, (3, 8)).mean(2))
    torch.testing.assert_close(GroupPool("D4", reduction="max")(x), x.unflatten(1, (3, 8)).amax(2))
    assert GroupPool(4).group_order == 4 and GroupPool("D2").group_order == 4
    with pytest.raises(ValueError, match="finite group"):
        GroupPool("SO2")


def test_shared_validators_and_padded_conv():
    from aeqkit.nn._common import MODEL_PADDING_MODES, PADDING_MODES, check_padding_mode, pad_conv2d

    for mode in PADDING_MODES:
        assert check_padding_mode(mode) == mode
        conv = torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
        x = torch.randn(1, 2, 6, 5)
        torch.testing.assert_close(pad_conv2d(x, conv.weight, conv.bias, 1, mode), conv(x))
    assert check_padding_mode("circular", accepted=MODEL_PADDING_MODES) == "circular"
    with pytest.raises(ValueError, match="zeros"):
        check_padding_mode("reflect", accepted=MODEL_PADDING_MODES)
    with pytest.raises(ValueError, match="padding_mode"):
        check_padding_mode(None)
