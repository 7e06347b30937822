"""Sec. 3.3 regularisers, optimiser parameter groups and the irrep spectrum of relaxed weights."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from aeqkit.groups import FieldType
from aeqkit.nn import (
    GroupPool,
    RelaxedRotGroupConv2d,
    RelaxedRotLiftConv2d,
    RelaxedRotSteerConv2d,
    RelaxedScaleGroupConv2d,
    RelaxedTranslationConv2d,
    equivariance_penalty,
    irrep_spectrum,
    param_groups,
    relaxed_layers,
    relaxed_parameters,
    surviving_subgroup,
)


def _zoo() -> nn.Module:
    return nn.ModuleDict(
        {
            "lift": RelaxedRotLiftConv2d(FieldType.vectors(1), 2, 3, num_filter_banks=2),
            "gconv": RelaxedRotGroupConv2d(2, 2, 3, num_filter_banks=2),
            "strict": RelaxedRotGroupConv2d(2, 2, 3, relaxed=False),
            "scale": RelaxedScaleGroupConv2d(2, 2, 3),
            "trans": RelaxedTranslationConv2d(2, 2, 3, 2, input_size=8, rank=2),
            "steer": RelaxedRotSteerConv2d(FieldType.vectors(1), FieldType.vectors(1), 3),
            "plain": nn.Conv2d(2, 2, 3),
        }
    )


def test_penalty_zero_at_init_positive_after_and_linear_in_alpha():
    model = _zoo()
    assert len(relaxed_layers(model)) == 6
    assert equivariance_penalty(model, 0.5).item() == 0.0
    with torch.no_grad():
        for p in relaxed_parameters(model):
            p.add_(0.1 * torch.randn_like(p))
    p1 = equivariance_penalty(model, 1.0)
    assert p1.item() > 0
    torch.testing.assert_close(equivariance_penalty(model, 0.25), 0.25 * p1)
    manual = sum(m.equivariance_penalty() for m in relaxed_layers(model))
    torch.testing.assert_close(p1, manual)
    p1.backward()
    for m in relaxed_layers(model):
        if isinstance(m.relaxed_weights, nn.Parameter):
            assert m.relaxed_weights.grad.abs().sum() > 0


def test_penalty_gradient_is_symmetric_at_ties():
    layer = RelaxedRotGroupConv2d(1, 1, 3, group_order=4)
    layer.equivariance_penalty().backward()
    assert torch.all(layer.relaxed_weights.grad == 0)
    with torch.no_grad():
        layer.relaxed_weights.copy_(torch.tensor([[1.0, 2.0, 1.0, 2.0]]))
    layer.relaxed_weights.grad = None
    layer.equivariance_penalty().backward()
    g = layer.relaxed_weights.grad[0]
    assert g[0] == g[2] and g[1] == g[3] and g[0] < 0 < g[1]


def test_group_penalty_is_unsquared_pairwise_l1():
    layer = RelaxedRotGroupConv2d(1, 1, 3, group_order=4, num_filter_banks=2)
    with torch.no_grad():
        layer.relaxed_weights.copy_(torch.tensor([[1.0, 2.0, 1.0, 1.0], [0.0, 0.0, 0.0, 3.0]]))
    # bank 0: |2-1| for 3 partners, both orders -> 6; bank 1: |3-0| x 3 x 2 -> 18
    assert layer.equivariance_penalty().item() == pytest.approx(24.0)
    with torch.no_grad():
        layer.relaxed_weights.mul_(2)
    assert layer.equivariance_penalty().item() == pytest.approx(48.0)  # linear, not squared


def test_no_double_counting_with_aggregating_container():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = RelaxedRotGroupConv2d(1, 1, 3)

        def equivariance_penalty(self):
            return self.a.equivariance_penalty()

    net = Net()
    with torch.no_grad():
        net.a.relaxed_weights[0, 0] = 2.0
    assert equivariance_penalty(net).item() == pytest.approx(net.a.equivariance_penalty().item())


def test_param_groups_exclude_relaxed_weights_from_weight_decay():
    model = _zoo()
    groups = param_groups(model, 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    relaxed_ids = {id(p) for p in groups[1]["params"]}
    assert relaxed_ids == {id(p) for p in relaxed_parameters(model)}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    opt = torch.optim.AdamW(groups, lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = sum((p * 0).sum() for p in model.parameters())  # zero gradients: decay only
        loss.backward()
        opt.step()
    for p in relaxed_parameters(model):  # relaxed weights untouched by decay
        assert torch.all(p == p.flatten()[0])
    with pytest.raises(ValueError, match="weight_decay"):
        param_groups(model, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        equivariance_penalty(model, -1.0)


def test_penalty_on_meta_device_and_empty_model():
    layer = RelaxedRotGroupConv2d(1, 1, 3).to("meta")
    assert equivariance_penalty(layer).device.type == "meta"
    assert equivariance_penalty(nn.Conv2d(1, 1, 3)).item() == 0.0


def test_spectrum_of_known_weights():
    n = 4
    w = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    s = irrep_spectrum(w, group_order=n)
    assert s.energy.tolist() == pytest.approx([4.0, 0.0, 0.0])
    assert surviving_subgroup(s) == 4
    c2 = torch.tensor([[1.0, 0.5, 1.0, 0.5]])  # invariant under a 180 degree shift
    s = irrep_spectrum(c2, n)
    assert s.energy[1].item() == pytest.approx(0.0, abs=1e-12) and s.energy[2] > 0
    assert s.energy.sum().item() == pytest.approx((c2**2).sum().item())  # Parseval
    assert surviving_subgroup(s) == 2
    c1 = torch.tensor([[1.0, 0.5, 0.2, 0.1]])
    assert surviving_subgroup(irrep_spectrum(c1, n)) == 1
    # C6: period 3 over the group = invariant under the 180 degree shift -> C2 survives
    assert surviving_subgroup(irrep_spectrum(torch.ones(2, 6) + torch.tensor([0, 0, 1, 0, 0, 1.0]))) == 2
    # period 2 = invariant under 120 degree shifts -> C3 survives
    assert surviving_subgroup(irrep_spectrum(torch.ones(2, 6) + torch.tensor([0, 1, 0, 1, 0, 1.0]))) == 3
    with pytest.raises(ValueError):
        irrep_spectrum(torch.ones(2, 5), group_order=4)
    with pytest.raises(ValueError):
        surviving_subgroup(torch.ones(3))


@functools.lru_cache(maxsize=4)
def _train_toy(target_kernel: torch.Tensor, alpha: float = 0.0, steps: int = 60, seed: int = 0):
    """Tiny relaxed C4 model trained on smooth random scalar fields closed under 180 deg rotations."""
    torch.manual_seed(seed)
    x = torch.nn.functional.avg_pool2d(torch.randn(8, 1, 16, 16), 3, 1, 1)
    x = torch.cat([x, torch.rot90(x, 2, dims=(-1, -2))])  # data set closed under C2
    y = torch.nn.functional.conv2d(x, torch.tensor(target_kernel).view(1, 1, 3, 3), padding=1)
    model = nn.Sequential(
        RelaxedRotLiftConv2d(FieldType.scalars(1), 2, 3, num_filter_banks=2),
        nn.ReLU(),
        RelaxedRotGroupConv2d(2, 2, 3, num_filter_banks=2),
        GroupPool(4),
        nn.Conv2d(2, 1, 1),
    ).double()
    x, y = x.double(), y.double()
    opt = torch.optim.Adam(param_groups(model, 0.0), lr=3e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = (model(x) - y).pow(2).mean() + equivariance_penalty(model, alpha)
        loss.backward()
        opt.step()
    return model, (model(x) - y).pow(2).mean().item()


C2_TARGET = ((0.0, 0, 0), (0.25, 0.5, 0.25), (0, 0, 0))  # a square becomes a rectangle
C1_TARGET = ((0.0, 0, 0), (0, 1 / 3, 2 / 3), (0, 0, 0))  # one-sided: breaks C2 as well


@pytest.mark.slow
def test_training_on_c2_toy_only_grows_c2_irreps():
    model, _ = _train_toy(C2_TARGET)
    for layer in (model[0], model[2]):
        spec = irrep_spectrum(layer)
        frac = spec.fraction
        assert frac[1] < 1e-10  # frequency 1 (forbidden by C2) never gains weight
        assert frac[2] > 1e-4  # frequency 2 (allowed by C2) does
        assert surviving_subgroup(spec, tol=1e-6) == 2
    # control: a target that also breaks C2 grows frequency 1
    model1, _ = _train_toy(C1_TARGET)
    assert max(irrep_spectrum(m).fraction[1] for m in (model1[0], model1[2])) > 1e-4


@pytest.mark.slow
def test_regulariser_reduces_symmetry_breaking():
    free, _ = _train_toy(C2_TARGET, alpha=0.0)
    reg, _ = _train_toy(C2_TARGET, alpha=1e-2)
    b_free = sum(irrep_spectrum(m).breaking_fraction for m in (free[0], free[2]))
    b_reg = sum(irrep_spectrum(m).breaking_fraction for m in (reg[0], reg[2]))
    assert b_reg < 0.5 * b_free
    # (no exact C2 claim here: the L1 subgradient turns round-off differences between tied
    # weights into full-size sign steps, so frequency 1 reaches ~1e-5 of the energy with alpha > 0)


def test_relaxed_layer_base_declares_axis_and_normalisation():
    """One scaffold: ones at init (penalty zero), a buffer when strict, the pairwise L1 over the
    declared relaxed axis with the declared normalisation; ``expanded_weight`` is abstract."""
    from aeqkit.nn import RelaxedLayer
    from aeqkit.nn._common import pairwise_l1

    class Spatial(RelaxedLayer):
        relaxed_start_dim = 1
        penalty_reduction = "mean"

        def __init__(self, relaxed=True):
            super().__init__()
            self.in_channels = self.out_channels = 1
            self.init_relaxed_weights((2, 3, 4), relaxed, fill=0.5)

        def expanded_weight(self):
            return self.relaxed_weights

    layer = Spatial()
    assert isinstance(layer.relaxed_weights, torch.nn.Parameter)
    assert torch.equal(layer.relaxed_weights, torch.full((2, 3, 4), 0.5))
    assert layer.equivariance_penalty().item() == 0.0
    with torch.no_grad():
        layer.relaxed_weights.copy_(torch.randn(2, 3, 4))
    w = layer.relaxed_weights.flatten(1)
    naive = sum((w[r, :, None] - w[r, None, :]).abs().sum() for r in range(2)) / 12**2
    torch.testing.assert_close(layer.equivariance_penalty(), naive)
    torch.testing.assert_close(layer.equivariance_penalty() * 144, pairwise_l1(w))
    layer.reset_relaxed_weights()
    assert layer.equivariance_penalty().item() == 0.0
    strict = Spatial(relaxed=False)
    assert "relaxed_weights" not in dict(strict.named_parameters())
    assert "relaxed_weights" in dict(strict.named_buffers())
    with pytest.raises(TypeError):
        RelaxedLayer()
