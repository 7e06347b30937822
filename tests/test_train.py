"""Tests for aeqkit.train: fit, best-weight restoration, checkpoints, evaluate, rollout."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from aeqkit.io import CorruptFileError
from aeqkit.train import evaluate, fit, load_checkpoint, rollout, target_length

H = W = 8


class WindowDataset(Dataset):
    """Sliding windows ``(x: (10, 2, H, W), y: (k, 2, H, W))`` over trajectories ``(N, T, 2, H, W)``."""

    def __init__(self, traj: torch.Tensor, k: int):
        self.traj, self.k = traj, k
        self.per = traj.shape[1] - 10 - k + 1

    def __len__(self) -> int:
        return self.traj.shape[0] * self.per

    def __getitem__(self, i: int):
        n, t = divmod(i, self.per)
        return self.traj[n, t : t + 10], self.traj[n, t + 10 : t + 10 + self.k]


class NegatedTargets(WindowDataset):
    """Windows whose targets are negated: fitting the training dynamics makes these worse."""

    def __getitem__(self, i: int):
        x, y = super().__getitem__(i)
        return x, -y


def advection(n: int, steps: int, seed: int) -> torch.Tensor:
    """Trajectories of a field shifted one cell per step along x, slightly damped."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, 2, H, W, generator=g)
    frames = [x0 * 0.98**t for t in range(steps)]
    frames = [torch.roll(f, shifts=t, dims=-1) for t, f in enumerate(frames)]
    return torch.stack(frames, dim=1)


class TinyConvNet(nn.Module):
    """Concatenate the 10 input frames and apply two periodic 3x3 convolutions."""

    def __init__(self, hidden: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(20, hidden, 3, padding=1, padding_mode="circular"),
            nn.ReLU(),
            nn.Conv2d(hidden, 2, 3, padding=1, padding_mode="circular"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1, 2))


class Damp(nn.Module):
    """A fixed linear forecaster: the last frame times ``c`` (for exact RMSE checks)."""

    def __init__(self, c: float):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c * x[:, -1]


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return TinyConvNet()


@pytest.fixture(scope="module")
def data():
    return (WindowDataset(advection(4, 16, seed=1), k=3), WindowDataset(advection(2, 16, seed=2), k=3))



def _fit(model: nn.Module, train, valid, **kwargs):
    """``fit`` with this file's defaults: batch 8, no early stopping, seed 0, CPU, no progress bar."""
    opts = dict(batch_size=8, patience=None, seed=0, device="cpu", progress=False)
    opts.update(kwargs)
    return fit(model, train, valid, **opts)

def test_fit_reduces_training_loss(data):
    train, valid = data
    model = _model()
    res = _fit(model, train, valid, epochs=15, lr=3e-3, lr_decay=0.95, rollout_steps=2)
    h = res.history
    assert len(h["train_loss"]) == len(h["valid_rmse"]) == len(h["lr"]) == res.epochs_run == 15
    assert h["train_loss"][-1] < 0.3 * h["train_loss"][0], h["train_loss"]
    assert res.best_valid_rmse == min(h["valid_rmse"])
    assert h["valid_rmse"][res.best_epoch] == res.best_valid_rmse
    assert h["lr"][1] == pytest.approx(3e-3 * 0.95)
    assert res.seconds > 0 and res.device == "cpu"
    # the model holds the best weights: evaluating reproduces the best validation RMSE
    assert evaluate(model, valid, steps=3).rmse == pytest.approx(res.best_valid_rmse, rel=1e-5)


def _params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_best_weights_are_a_real_copy_of_the_best_epoch(data):
    train, _ = data
    # validation targets are negated, so fitting the training data makes validation worse after
    # the first epoch: the best epoch is epoch 0, and training goes on for four more.
    valid = NegatedTargets(advection(2, 16, seed=2), k=3)
    kw = dict(batch_size=8, lr=3e-3, rollout_steps=1, patience=None, seed=0, device="cpu", progress=False)
    first = _model()
    fit(first, train, valid, epochs=1, **kw)
    restored = _model()
    res = fit(restored, train, valid, epochs=5, **kw)
    last = _model()
    fit(last, train, valid, epochs=5, restore_best=False, **kw)

    assert res.best_epoch == 0, res.history["valid_rmse"]
    assert torch.equal(_params(restored), _params(first))
    # a reference to the live state_dict would have followed training to the last epoch
    assert (_params(restored) - _params(last)).abs().max() > 1e-3


def test_early_stopping(data):
    train, _ = data
    valid = NegatedTargets(advection(2, 16, seed=2), k=3)
    res = _fit(_model(), train, valid, epochs=30, lr=3e-3, rollout_steps=1, patience=2)
    assert res.stopped_early
    assert res.epochs_run == res.best_epoch + 1 + 2 < 30


def test_checkpoint_written_atomically_and_verified(tmp_path, data):
    train, valid = data
    path = tmp_path / "ckpt" / "model.pt"
    model = _model()
    res = _fit(model, train, valid, epochs=3, lr=3e-3, rollout_steps=2, checkpoint=path)
    assert res.checkpoint == str(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt", "model.pt.sha256"]
    fresh = _model(seed=123)
    assert not torch.equal(_params(fresh), _params(model))
    ckpt = load_checkpoint(fresh, path)
    assert torch.equal(_params(fresh), _params(model))
    assert ckpt["epoch"] == res.best_epoch
    assert ckpt["valid_rmse"] == pytest.approx(res.best_valid_rmse)
    # a truncated file is refused
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptFileError):
        load_checkpoint(fresh, path)


def test_evaluate_matches_manual_computation():
    traj = advection(2, 15, seed=3)
    ds = WindowDataset(traj, k=4)
    model = Damp(0.9)
    res = evaluate(model, ds, steps=4, batch_size=3)
    assert res.steps == 4 and len(res.per_step) == 4 and res.num_samples == len(ds) == 4
    # manual: the rollout of "c times the last frame" is c^s times the last input frame
    sq = torch.zeros(4, dtype=torch.float64)
    for i in range(len(ds)):
        x, y = ds[i]
        for s in range(4):
            sq[s] += ((0.9 ** (s + 1) * x[-1] - y[s]).double() ** 2).sum()
    n = len(ds) * 2 * H * W
    manual = torch.sqrt(sq / n)
    assert res.per_step == pytest.approx(manual.tolist(), rel=1e-6)
    assert res.rmse == pytest.approx(math.sqrt(float(sq.sum()) / (4 * n)), rel=1e-6)
    # fewer steps use the prefix of the targets
    assert evaluate(model, ds, steps=2).per_step == pytest.approx(manual[:2].tolist(), rel=1e-6)


def test_evaluate_rejects_horizon_longer_than_targets():
    ds = WindowDataset(advection(1, 14, seed=0), k=3)
    assert target_length(ds) == 3
    with pytest.raises(ValueError, match="target frames"):
        evaluate(Damp(1.0), ds, steps=20)


def test_rollout_feeds_predictions_back():
    x = torch.randn(2, 10, 2, H, W)
    out = rollout(Damp(0.5), x, 3)
    assert out.shape == (2, 3, 2, H, W)
    torch.testing.assert_close(out[:, 2], 0.125 * x[:, -1])
    with pytest.raises(ValueError, match="steps"):
        rollout(Damp(0.5), x, 0)


class Penalised(TinyConvNet):
    """A model with an unsquared penalty ``alpha |r|`` on a parameter unused by the forward pass."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha
        self.r = nn.Parameter(torch.tensor(1.0))

    def extra_loss(self) -> torch.Tensor:
        return self.alpha * self.r.abs()


def test_extra_loss_is_added_and_minimised(data):
    train, valid = data
    torch.manual_seed(0)
    model = Penalised(alpha=0.0)
    res = _fit(model, train, valid, epochs=3, lr=0.05, rollout_steps=1, restore_best=False)
    assert res.history["train_loss"] == res.history["train_mse"]
    assert float(model.r.detach()) == 1.0  # no penalty, no gradient: r untouched
    torch.manual_seed(0)
    model = Penalised(alpha=0.0)
    res = _fit(model, train, valid, epochs=3, lr=0.05, rollout_steps=1, alpha=1.0, restore_best=False)
    assert model.alpha == 1.0
    gap = res.history["train_loss"][0] - res.history["train_mse"][0]
    assert 0.8 < gap <= 1.0  # |r| starts at 1 and shrinks during the first epoch
    # r has no other gradient than the penalty's: 6 Adam steps of ~lr each pull it towards 0
    assert abs(float(model.r.detach())) < 0.8


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rollout_steps=4), "rollout_steps"),
        (dict(lr=0.0), "lr"),
        (dict(lr_decay=1.5), "lr_decay"),
        (dict(patience=0), "patience"),
        (dict(epochs=0), "epochs"),
        (dict(valid_steps=5), "valid_steps"),
        (dict(alpha=0.1), "alpha"),  # TinyConvNet has no alpha attribute
        (dict(alpha=-1.0), "alpha"),
    ],
)
def test_fit_rejects_bad_arguments(data, kwargs, match):
    train, valid = data
    with pytest.raises(ValueError, match=match):
        fit(_model(), train, valid, progress=False, device="cpu", **kwargs)


class WithRelaxed(TinyConvNet):
    """Two parameters with zero loss gradient, one named like a relaxed weight (aeqkit.nn)."""

    def __init__(self):
        super().__init__()
        self.relaxed_weights = nn.Parameter(torch.ones(3))
        self.other = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + 0.0 * (self.relaxed_weights.sum() + self.other.sum())


def test_weight_decay_spares_relaxed_weights(data):
    train, valid = data
    torch.manual_seed(0)
    model = WithRelaxed()
    # Adam's weight decay adds wd * p to the (zero) gradient: the decayed parameter moves by ~lr
    # per step, while the relaxed weights must not move at all.
    fit(model, train, valid, epochs=2, batch_size=8, lr=0.05, weight_decay=1.0, rollout_steps=1,
        patience=None, seed=0, device="cpu", progress=False, restore_best=False)
    assert torch.equal(model.relaxed_weights.detach(), torch.ones(3))
    assert float(model.other.detach().max()) < 0.9
