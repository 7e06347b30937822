"""Tests for aeqkit.train: fit, best-weight restoration, checkpoints, evaluate, rollout."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from toy_windows import ToyWindows as WindowDataset

from aeqkit.io import CorruptFileError
from aeqkit.train import (
    LR_SCHEDULES,
    TrainingDiverged,
    TrainingWarning,
    evaluate,
    fit,
    load_checkpoint,
    rollout,
    target_length,
)
from aeqkit.utils import seeded

H = W = 8



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
    with pytest.warns(TrainingWarning):  # every epoch is worse than the initial weights
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
    with pytest.warns(TrainingWarning):
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


# ---------------------------------------------------------------- trust: callbacks, masks, NaN, divergence


def test_callbacks_see_every_epoch_and_their_exceptions_propagate_unchanged(data):
    train, valid = data
    seen: list[tuple[int, dict]] = []
    res = _fit(_model(), train, valid, epochs=3, lr=3e-3, rollout_steps=1,
               callbacks=[lambda e, m: seen.append((e, m))])
    assert [e for e, _ in seen] == [0, 1, 2]
    for e, m in seen:
        assert {"train_loss", "valid_rmse", "lr", "train_mse", "best_valid_rmse"} <= set(m)
        assert m["valid_rmse"] == res.history["valid_rmse"][e]
        assert m["lr"] == res.history["lr"][e]

    class Prune(Exception):
        pass

    def prune_at_1(epoch, metrics):
        if epoch == 1:
            raise Prune(metrics["valid_rmse"])

    model = _model()
    with pytest.raises(Prune) as info:
        _fit(model, train, valid, epochs=5, lr=3e-3, rollout_steps=1, callbacks=[prune_at_1])
    assert type(info.value) is Prune
    # the model holds the best validated weights, not the ones of the interrupted epoch
    best = min(seen[0][1]["valid_rmse"], info.value.args[0])
    assert evaluate(model, valid, steps=3).rmse <= best * (1 + 1e-6)
    with pytest.raises(TypeError, match="callbacks"):
        _fit(_model(), train, valid, epochs=1, callbacks=[1])


def test_masked_cells_never_contribute(data):
    train, valid = data
    mask = torch.ones(H, W, dtype=torch.bool)
    mask[:2, :3] = False
    traj = advection(2, 15, seed=3)
    spoiled = traj.clone()
    spoiled[..., ~mask] = float("nan")
    model = Damp(0.9)
    clean = evaluate(model, WindowDataset(traj, k=4), steps=4, mask=mask)
    holes = evaluate(model, WindowDataset(spoiled, k=4), steps=4, mask=mask)
    assert holes.rmse == pytest.approx(clean.rmse, rel=1e-12)
    # manual RMSE over valid cells only (every window, step and channel)
    ds = WindowDataset(traj, k=4)
    sq, n = 0.0, 0
    for i in range(len(ds)):
        x, y = ds[i]
        for s in range(4):
            d = (0.9 ** (s + 1) * x[-1] - y[s]).double()[:, mask]
            sq, n = sq + float((d**2).sum()), n + d.numel()
    assert clean.rmse == pytest.approx(math.sqrt(sq / n), rel=1e-6)
    # the dataset's own mask attribute is the default
    spoiled_ds = WindowDataset(spoiled, k=4)
    spoiled_ds.mask = mask
    assert evaluate(model, spoiled_ds, steps=4).rmse == pytest.approx(clean.rmse, rel=1e-12)
    # fit trains through the holes; its losses are finite
    tr = WindowDataset(advection(4, 16, seed=1), k=3)
    tr.traj[..., ~mask] = float("inf")
    res = _fit(_model(), tr, valid, epochs=2, lr=3e-3, rollout_steps=1, mask=mask)
    assert all(math.isfinite(v) for v in res.history["train_loss"] + res.history["valid_rmse"])
    with pytest.raises(ValueError, match="mask"):
        evaluate(model, ds, steps=4, mask=torch.ones(H, W + 1, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask"):
        evaluate(model, ds, steps=4, mask=torch.ones(H, W))
    with pytest.raises(ValueError, match="mask"):
        evaluate(model, ds, steps=4, mask=torch.zeros(H, W, dtype=torch.bool))


@pytest.mark.parametrize("where", ["inputs", "targets"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_data_is_refused_before_training(data, where, value):
    train, _ = data
    traj = advection(2, 16, seed=2)
    t = 0 if where == "inputs" else 15  # frame 0 is only ever an input, frame 15 only a target
    traj[1, t, 0, 4, 5] = value
    bad = WindowDataset(traj, k=3)
    with pytest.raises(ValueError, match=f"evaluation {where}.*non-finite"):
        evaluate(Damp(1.0), bad, steps=3)
    model = _model()
    before = _params(model).clone()
    with pytest.raises(ValueError, match=f"validation data {where}"):
        _fit(model, train, bad, epochs=2)
    with pytest.raises(ValueError, match=f"training data {where}"):
        _fit(model, bad, train, epochs=2)
    assert torch.equal(_params(model), before)  # nothing was trained


class Exploding(TinyConvNet):
    """A forecaster whose output is scaled by a parameter with a large learning signal."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale**3 * super().forward(x)


def test_divergence_stops_with_a_clear_error_and_keeps_good_weights(data):
    train, valid = data
    torch.manual_seed(0)
    model = Exploding()
    initial = evaluate(model, valid, steps=3).rmse
    with pytest.raises(TrainingDiverged, match="lower lr") as info:
        _fit(model, train, valid, epochs=20, lr=5.0, rollout_steps=3)
    assert isinstance(info.value, FloatingPointError)  # the old exception type still catches it
    assert info.value.metric in {"train_loss", "valid_rmse"}
    after = evaluate(model, valid, steps=3).rmse
    assert math.isfinite(after) and after <= initial * (1 + 1e-6)


def test_worse_than_initial_is_reported(data):
    train, _ = data
    valid = NegatedTargets(advection(2, 16, seed=2), k=3)
    with pytest.warns(TrainingWarning, match="worse than the initial"):
        res = _fit(_model(), train, valid, epochs=2, lr=3e-3, rollout_steps=1)
    assert res.initial_valid_rmse < res.best_valid_rmse


def test_seeded_makes_initialisation_reproducible_without_touching_outer_streams(data):
    train, valid = data
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    with seeded(7):
        a = TinyConvNet()
    assert torch.equal(torch.rand(3), expected_next)  # the caller's stream is untouched
    with seeded(7):
        b = TinyConvNet()
    with seeded(8):
        c = TinyConvNet()
    assert torch.equal(_params(a), _params(b)) and not torch.equal(_params(a), _params(c))
    ra = _fit(a, train, valid, epochs=2, lr=3e-3, rollout_steps=1, seed=7)
    rb = _fit(b, train, valid, epochs=2, lr=3e-3, rollout_steps=1, seed=7)
    assert ra.history == rb.history and torch.equal(_params(a), _params(b))


@pytest.mark.parametrize("schedule", LR_SCHEDULES)
def test_lr_schedules(data, schedule):
    train, valid = data
    res = _fit(_model(), train, valid, epochs=6, lr=3e-3, rollout_steps=1, lr_schedule=schedule)
    lrs = res.history["lr"]
    assert lrs[0] == pytest.approx(3e-3) and res.lr_schedule == schedule
    assert all(b <= a * (1 + 1e-12) for a, b in zip(lrs, lrs[1:]))
    if schedule != "plateau":
        assert lrs[-1] < lrs[0]
    with pytest.raises(ValueError, match="lr_schedule"):
        _fit(_model(), train, valid, epochs=1, lr_schedule="linear")


def test_default_schedule_is_plateau_unless_a_step_decay_is_asked_for(data):
    train, valid = data
    assert _fit(_model(), train, valid, epochs=1, rollout_steps=1).lr_schedule == "plateau"
    res = _fit(_model(), train, valid, epochs=2, lr=1e-3, rollout_steps=1, lr_decay=0.5)
    assert res.lr_schedule == "step" and res.history["lr"] == pytest.approx([1e-3, 5e-4])
    with pytest.raises(ValueError, match="lr_decay"):
        _fit(_model(), train, valid, epochs=1, lr_schedule="cosine", lr_decay=0.9)
    with pytest.raises(ValueError, match="lr_step"):
        _fit(_model(), train, valid, epochs=1, lr_schedule="plateau", lr_step=2)


NAN = float("nan")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(lr=NAN), ValueError, "lr"),
        (dict(lr=float("inf")), ValueError, "lr"),
        (dict(lr="0.1"), TypeError, "lr"),
        (dict(epochs=True), TypeError, "epochs"),
        (dict(epochs=1.5), TypeError, "epochs"),
        (dict(batch_size="16"), TypeError, "batch_size"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(weight_decay=-1e-3), ValueError, "weight_decay"),
        (dict(weight_decay=NAN), ValueError, "weight_decay"),
        (dict(grad_clip=-1.0), ValueError, "grad_clip"),
        (dict(grad_clip=NAN), ValueError, "grad_clip"),
        (dict(time_limit=NAN), ValueError, "time_limit"),
        (dict(time_limit="5"), TypeError, "time_limit"),
        (dict(patience=2.5), TypeError, "patience"),
        (dict(valid_steps=0), ValueError, "valid_steps"),
        (dict(rollout_steps=0), ValueError, "rollout_steps"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(lr_decay=0.0), ValueError, "lr_decay"),
        (dict(lr_decay=NAN), ValueError, "lr_decay"),
        (dict(lr_schedule="linear"), ValueError, "lr_schedule"),
        (dict(divergence_factor=0.5), ValueError, "divergence_factor"),
        (dict(divergence_factor="big"), TypeError, "divergence_factor"),
        (dict(device="potato"), ValueError, "device"),
        (dict(device="cuda:99"), ValueError, "device"),
        (dict(callbacks=print), TypeError, "callbacks"),
        (dict(callbacks="abc"), TypeError, "callbacks"),
        (dict(mask=torch.ones(H, W)), TypeError, "mask"),
        (dict(mask=torch.ones(3, 3, dtype=torch.bool)), ValueError, "mask"),
        (dict(checkpoint="/proc/aeqkit-no/x.pt"), ValueError, "checkpoint"),
        (dict(alpha=float("inf")), ValueError, "alpha"),
        (dict(alpha=NAN), ValueError, "alpha"),
    ],
    ids=lambda v: None,
)
def test_fit_names_every_bad_argument_before_training(data, kwargs, error, match):
    train, valid = data
    model = _model()
    before = _params(model).clone()
    opts = dict(epochs=2, rollout_steps=1, progress=False, device="cpu")
    opts.update(kwargs)
    with pytest.raises(error, match=match):
        fit(model, train, valid, **opts)
    assert torch.equal(_params(model), before)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(steps=0), ValueError, "steps"), (dict(steps=1.5), TypeError, "steps"),
    (dict(batch_size=-1), ValueError, "batch_size"), (dict(device="potato"), ValueError, "device"),
    (dict(mask=torch.ones(H, W, dtype=torch.bool)[None]), ValueError, "mask"),
])
def test_evaluate_names_every_bad_argument(data, kwargs, error, match):
    _, valid = data
    with pytest.raises(error, match=match):
        evaluate(Damp(1.0), valid, **{"steps": 3, **kwargs})


def test_the_mask_of_a_wrapped_dataset_is_found():
    from torch.utils.data import ConcatDataset, Subset

    mask = torch.ones(H, W, dtype=torch.bool)
    mask[0] = False
    traj = advection(2, 15, seed=3)
    traj[..., 0, :] = float("nan")
    ds = WindowDataset(traj, k=4)
    ds.mask = mask
    direct = evaluate(Damp(0.9), ds, steps=4).rmse
    assert math.isfinite(direct)
    assert evaluate(Damp(0.9), Subset(ds, range(len(ds))), steps=4).rmse == pytest.approx(direct)
    assert evaluate(Damp(0.9), ConcatDataset([ds, ds]), steps=4).rmse == pytest.approx(direct)
    other = WindowDataset(traj, k=4)
    other.mask = ~mask
    with pytest.raises(ValueError, match="different masks"):
        evaluate(Damp(0.9), ConcatDataset([ds, other]), steps=4)


def test_build_seed_makes_a_model_reproducible():
    from aeqkit.models import build

    kw = dict(symmetry="rotation", width=4, num_layers=2, kernel_size=3)
    a, b, c = build("conv", seed=3, **kw), build("conv", seed=3, **kw), build("conv", seed=4, **kw)
    assert torch.equal(_params(a), _params(b)) and not torch.equal(_params(a), _params(c))
    with pytest.raises(ValueError, match="seed"):
        build("conv", seed=-1, **kw)


def test_fit_config_mirrors_fit_and_trains_the_same(data):
    import dataclasses
    import inspect

    from aeqkit.train import FitConfig

    params = inspect.signature(fit).parameters
    for f in dataclasses.fields(FitConfig):
        assert f.name in params and params[f.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert f.default == params[f.name].default, f.name
    train, valid = data
    cfg = FitConfig(epochs=2, batch_size=8, lr=3e-3, rollout_steps=1, patience=None)
    a, b = _model(), _model()
    ra = cfg.fit(a, train, valid, device="cpu", progress=False)
    rb = fit(b, train, valid, epochs=2, batch_size=8, lr=3e-3, rollout_steps=1, patience=None,
             device="cpu", progress=False)
    assert ra.history == rb.history and torch.equal(_params(a), _params(b))
    with pytest.raises(TypeError, match="lr"):
        cfg.fit(_model(), train, valid, lr=1.0)


def test_fit_takes_a_config_with_keyword_overrides_and_names_unknown_keywords(data):
    from aeqkit.train import FitConfig

    train, valid = data
    cfg = FitConfig(epochs=3, batch_size=8, lr=3e-3, rollout_steps=1, patience=None)
    a, b = _model(), _model()
    ra = fit(a, train, valid, cfg, epochs=2, device="cpu", progress=False)
    rb = fit(b, train, valid, epochs=2, batch_size=8, lr=3e-3, rollout_steps=1, patience=None,
             device="cpu", progress=False)
    assert ra.epochs_run == 2 and ra.history == rb.history
    with pytest.raises(TypeError, match="epoch.*accepted: epochs"):
        fit(_model(), train, valid, cfg, epoch=2, device="cpu", progress=False)
    with pytest.raises(TypeError, match="config"):
        fit(_model(), train, valid, {"epochs": 2}, device="cpu", progress=False)
    with pytest.raises(ValueError, match="lr"):
        FitConfig(lr=-1.0).check()


def test_callback_objects_stop_checkpoint_and_see_the_state(data, tmp_path):
    from aeqkit.train import Callback, Checkpoint, EarlyStopping, load_checkpoint

    train, valid = data

    class StopAt(Callback):
        def __init__(self):
            self.events = []

        def on_fit_start(self, state):
            self.events.append("start")

        def on_epoch_end(self, state, metrics):
            self.events.append(state.epoch)
            state.stop = state.epoch == 1

        def on_fit_end(self, state, error):
            self.events.append(("end", error))

    stop = StopAt()
    path = tmp_path / "best.pt"
    res = _fit(_model(), train, valid, epochs=5, lr=3e-3, rollout_steps=1,
               callbacks=[stop, Checkpoint(path)])
    assert res.epochs_run == 2 and stop.events == ["start", 0, 1, ("end", None)]
    assert res.checkpoint == str(path) and load_checkpoint(_model(), path)["epoch"] == res.best_epoch
    # EarlyStopping(patience) as an object is the patience= keyword
    a = _fit(_model(), train, valid, epochs=30, lr=0.05, rollout_steps=1, patience=2)
    b = _fit(_model(), train, valid, epochs=30, lr=0.05, rollout_steps=1,
             callbacks=[EarlyStopping(2)])
    assert a.history == b.history and a.stopped_early == b.stopped_early
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0)
    with pytest.raises(ValueError, match="checkpoint"):
        Checkpoint(tmp_path)
