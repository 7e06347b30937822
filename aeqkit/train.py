"""Training and evaluation of forecasters under the paper's protocol (Sec. 5, App. A.1).

A forecaster maps 10 input frames to the next frame, ``(B, 10, 2, H, W) -> (B, 2, H, W)``
(DESIGN.md). :func:`fit` trains it with Adam on the multi-step autoregressive loss (predictions are
fed back as inputs for ``rollout_steps`` steps), learning-rate decay, the relaxed-weight
regularisers of Sec. 3.3 added unsquared, early stopping on the validation RMSE with the best
weights restored from a real copy, and atomic checkpoints. :func:`evaluate` rolls a model out
autoregressively and reports the RMSE overall and per horizon step (the paper reports 20-step RMSE).

RMSE convention: ``sqrt(mean((pred - target)**2))`` over samples, steps, channels and pixels
(overall) or over samples, channels and pixels at one step (``per_step``). With a ``mask`` (a bool
``(H, W)`` tensor of valid cells, default ``dataset.mask`` when the dataset has one) the means run
over valid cells only: invalid cells never contribute to a loss or a metric.

Trust: data are checked for NaN / inf before any training (on valid cells); a non-finite or
diverging loss or validation RMSE stops training with :class:`TrainingDiverged` (the model is left
holding its best weights so far, never the diverged ones); a best epoch worse than the initial
weights is reported with a :class:`TrainingWarning`.

Configuration and hooks (Lightning-style): the settings are one :class:`FitConfig` value
(``fit(model, train, valid, config)``; keyword arguments named like its fields still work and
override it); progress bar, early stopping and checkpoints are :class:`Callback` objects
(:class:`ProgressBar`, :class:`EarlyStopping`, :class:`Checkpoint`; the keywords ``progress``,
``patience`` and ``checkpoint`` create them). Callbacks see every epoch's metrics and may stop
training (``state.stop``) or raise (e.g. ``optuna.TrialPruned``), which propagates unchanged.
Seeding: ``fit(..., seed=s)`` seeds shuffling; build the model under
:func:`aeqkit.utils.seeded` to seed its initialisation too.

See also: notebooks 01, 03 and 04 (they train with :func:`fit`) and ``python -m aeqkit reproduce``.
"""

from __future__ import annotations

import inspect
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Subset

from aeqkit.io import atomic_save, verified_load
from aeqkit.utils import resolve_device, seed_everything

__all__ = [
    "LR_SCHEDULES",
    "BATCH_ORDERS",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "EvalResult",
    "FitConfig",
    "FitResult",
    "FitState",
    "ProgressBar",
    "check_dataset",
    "TrainingDiverged",
    "TrainingWarning",
    "evaluate",
    "extra_loss",
    "fit",
    "load_checkpoint",
    "rollout",
    "target_length",
]

INPUT_LENGTH = 10

#: Learning-rate schedules :func:`fit` accepts (``lr_schedule=``).
LR_SCHEDULES = ("step", "cosine", "plateau")

#: Minibatch orders :func:`fit` accepts (``batches=``).
BATCH_ORDERS = ("random", "orbits")



class TrainingDiverged(FloatingPointError):
    """Training stopped because the loss or the validation RMSE became non-finite or diverged.

    The model holds the best weights seen before the divergence (the initial ones if no epoch
    improved). Attributes: ``epoch`` (0-based), ``metric`` (``"train_loss"`` or
    ``"valid_rmse"``), ``value`` and ``history`` (the per-epoch metrics up to the failure).
    """

    def __init__(self, message: str, *, epoch: int, metric: str, value: float,
                 history: dict[str, list[float]] | None = None) -> None:
        super().__init__(message)
        self.epoch, self.metric, self.value = epoch, metric, value
        self.history = history or {}


class TrainingWarning(UserWarning):
    """Training finished but its result deserves attention (e.g. worse than the initial weights)."""


@dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        history: per-epoch lists ``train_loss`` (mean training objective: multi-step MSE plus the
            regulariser), ``train_mse`` (the MSE part alone), ``valid_rmse`` and ``lr``.
        best_epoch: 0-based epoch whose weights were restored (lowest validation RMSE).
        best_valid_rmse: validation RMSE of those weights.
        epochs_run: epochs actually trained (fewer than asked when early stopping triggered).
        stopped_early: whether patience ran out.
        seconds: wall-clock training time.
        device: the device trained on.
        checkpoint: path of the checkpoint written, if any.
        out_of_time: whether ``time_limit`` ended training.
        cpu_seconds: CPU time of this process during training (all threads; on a machine shared
            with other jobs it shows the work done better than ``seconds``).
        initial_valid_rmse: validation RMSE of the weights before training.
        lr_schedule: the learning-rate schedule used (:data:`LR_SCHEDULES`).
    """

    history: dict[str, list[float]]
    best_epoch: int
    best_valid_rmse: float
    epochs_run: int
    stopped_early: bool
    seconds: float
    device: str
    checkpoint: str | None = None
    out_of_time: bool = False
    cpu_seconds: float = 0.0
    initial_valid_rmse: float = math.nan
    lr_schedule: str = "plateau"

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "best_epoch": self.best_epoch,
            "best_valid_rmse": self.best_valid_rmse,
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "seconds": self.seconds,
            "device": self.device,
            "checkpoint": self.checkpoint,
            "out_of_time": self.out_of_time,
            "cpu_seconds": self.cpu_seconds,
            "initial_valid_rmse": self.initial_valid_rmse,
            "lr_schedule": self.lr_schedule,
        }


@dataclass
class EvalResult:
    """RMSE of an autoregressive rollout (Sec. 5, "20-step prediction RMSEs").

    Attributes:
        rmse: overall RMSE over all samples, steps, channels and pixels.
        per_step: RMSE at each horizon step ``1..steps`` (length ``steps``).
        steps: the horizon.
        num_samples: number of windows evaluated.
    """

    rmse: float
    per_step: list[float] = field(default_factory=list)
    steps: int = 0
    num_samples: int = 0

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return {"rmse": self.rmse, "per_step": list(self.per_step), "steps": self.steps,
                "num_samples": self.num_samples}


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def rollout(model: nn.Module, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Autoregressive forecast: predict one frame, append it to the window, drop the oldest, repeat.

    Args:
        model: a forecaster ``(B, T_in, 2, H, W) -> (B, 2, H, W)``.
        x: the input window.
        steps: number of frames to predict (>= 1).

    Returns:
        The predicted frames.

    Shape:
        x: (B, T_in, C, H, W); out: (B, steps, C, H, W)
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if x.ndim != 5:
        raise ValueError(f"expected an input window of shape (B, T_in, C, H, W), got {tuple(x.shape)}")
    preds = []
    window = x
    for _ in range(steps):
        y = model(window)
        if y.shape != window.shape[:1] + window.shape[2:]:
            raise ValueError(
                f"model returned shape {tuple(y.shape)}; expected (B, C, H, W) = "
                f"{tuple(window.shape[:1] + window.shape[2:])}"
            )
        preds.append(y)
        window = torch.cat([window[:, 1:], y.unsqueeze(1)], dim=1)
    return torch.stack(preds, dim=1)


def target_length(dataset: Dataset) -> int:
    """Number of target frames ``k`` of a dataset yielding ``(x: (10, 2, H, W), y: (k, 2, H, W))``."""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("dataset is empty; expected at least one (input, target) window")
    _, y = dataset[0]
    y = torch.as_tensor(y)
    return 1 if y.ndim == 3 else int(y.shape[0])


def _targets(y: torch.Tensor) -> torch.Tensor:
    return y.unsqueeze(1) if y.ndim == 4 else y


def extra_loss(model: nn.Module) -> torch.Tensor | float:
    """The model's regulariser / penalty terms (Sec. 3.3 and the baselines' priors), or 0.

    aeqkit forecasters (``aeqkit.models.Forecaster``) return them from ``extra_loss()`` already
    scaled by their ``alpha`` and unsquared; a model without ``extra_loss`` contributes 0.
    """
    fn = getattr(model, "extra_loss", None)
    return fn() if callable(fn) else 0.0


def _optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    try:
        from aeqkit.nn import param_groups
    except ImportError:  # aeqkit.nn not available: no relaxed weights to protect
        groups = [{"params": [p for p in model.parameters() if p.requires_grad],
                   "weight_decay": weight_decay}]
    else:
        groups = param_groups(model, weight_decay)
    return torch.optim.Adam(groups, lr=lr)


_INT_PARAMS = {"epochs", "batch_size", "lr_step", "rollout_steps", "steps", "valid_steps",
               "patience", "seed"}


def _check_positive(name: str, value: float | int, *, allow_zero: bool = False) -> None:
    """``value`` must be a finite number > 0 (>= 0 with ``allow_zero``); an int for counts."""
    bound = ">= 0" if allow_zero else "> 0"
    kind = "an integer" if name in _INT_PARAMS else "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            name in _INT_PARAMS and not isinstance(value, int)):
        raise TypeError(f"{name} must be {kind} {bound}, got {value!r} ({type(value).__name__})")
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not math.isfinite(value):
        raise ValueError(f"{name} must be {kind} {bound}, got {value!r}")


def _dataset_mask(dataset: Dataset) -> torch.Tensor | None:
    """``dataset.mask``, looking through ``Subset`` / ``ConcatDataset`` wrappers (whose parts
    must then agree)."""
    mask = getattr(dataset, "mask", None)
    if mask is not None:
        return mask
    if isinstance(dataset, Subset):
        return _dataset_mask(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        masks = [_dataset_mask(d) for d in dataset.datasets]
        if all(m is None for m in masks):
            return None
        first = masks[0]
        if any(m is None or first is None or not torch.equal(torch.as_tensor(m),
                                                              torch.as_tensor(first))
               for m in masks):
            raise ValueError("the parts of a ConcatDataset have different masks; pass mask= "
                             "explicitly (a bool (H, W) tensor of cells valid in every part)")
        return first
    return None


def _resolve_mask(mask: torch.Tensor | None, dataset: Dataset, name: str = "mask"
                  ) -> torch.Tensor | None:
    """The valid-cell mask to use: ``mask`` if given, else ``dataset.mask``, checked against the data.

    Shape:
        mask: (H, W) bool, True where a cell is valid.
    """
    if mask is None:
        mask = _dataset_mask(dataset)
        if mask is None:
            return None
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(mask)
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor of shape (H, W) (True = valid cell), got "
                        f"dtype {mask.dtype}")
    _, y = dataset[0]
    hw = tuple(torch.as_tensor(y).shape[-2:])
    if tuple(mask.shape) != hw:
        raise ValueError(f"{name} must have the data's grid shape (H, W) = {hw}, got "
                         f"{tuple(mask.shape)}")
    if not bool(mask.any()):
        raise ValueError(f"{name} marks no cell as valid; expected at least one True cell")
    return mask


def _fill_invalid(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Replace NaN / inf on invalid cells (outside ``mask``) by 0, so they cannot reach valid ones."""
    if mask is None:
        return x
    return torch.where(mask, x, torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))


def _masked_sq(diff: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, int]:
    """Squared errors with invalid cells zeroed, and the number of valid values per ``(H, W)`` map.

    Shape:
        diff: (B, S, C, H, W); out: (B, S, C, H, W)
    """
    if mask is None:
        return diff**2, diff.shape[-1] * diff.shape[-2]
    return torch.where(mask, diff, 0.0) ** 2, int(mask.sum())


def _check_batch(t: torch.Tensor, mask: torch.Tensor | None, what: str, first_index: int) -> None:
    """Raise ``ValueError`` when ``t`` holds NaN / inf on valid cells (``mask``; all cells if None)."""
    bad = ~torch.isfinite(t)
    if mask is not None:
        bad = bad & mask
    if bool(bad.any()):
        where = torch.nonzero(bad)[0].tolist()
        raise ValueError(
            f"{what} holds {int(bad.sum())} non-finite values (NaN or inf) on valid cells, the "
            f"first in window {first_index + where[0]} at index {tuple(where[1:])}; expected finite "
            "values: clean the data, or pass mask=(H, W) bool tensor marking the valid cells"
        )


def check_dataset(dataset: Dataset, mask: torch.Tensor | None = None, name: str = "dataset",
                  batch_size: int = 256) -> None:
    """Raise ``ValueError`` naming ``name`` when inputs or targets hold NaN / inf on valid cells."""
    start = 0
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        _check_batch(x, mask, f"{name} inputs", start)
        _check_batch(y, mask, f"{name} targets", start)
        start += x.shape[0]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    steps: int = 20,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    mask: torch.Tensor | None = None,
) -> EvalResult:
    """RMSE of an autoregressive ``steps``-step rollout over a dataset, overall and per step.

    Args:
        model: a forecaster ``(B, 10, 2, H, W) -> (B, 2, H, W)``.
        dataset: yields ``(x, y)`` windows with at least ``steps`` target frames (build test splits
            with enough target frames, e.g. ``load_dataset(..., target_steps=20)``).
        steps: forecast horizon (the paper uses 20).
        batch_size: windows per forward pass.
        device: where to run; default: the model's device.
        mask: bool ``(H, W)``, True on valid cells; default ``dataset.mask`` if present. The RMSE
            averages over valid cells only (every sample, step and channel); NaN / inf on invalid
            cells are ignored (set to 0 in the inputs).

    Returns:
        An :class:`EvalResult` with ``rmse`` and ``per_step`` (length ``steps``).

    Raises:
        ValueError: bad arguments, too few target frames, or NaN / inf on valid cells of the
            inputs or targets (the message names the window).

    Shape:
        x: (10, 2, H, W); y: (k >= steps, 2, H, W); mask: (H, W)
    """
    _check_positive("steps", steps)
    _check_positive("batch_size", batch_size)
    k = target_length(dataset)
    if k < steps:
        raise ValueError(
            f"dataset has only {k} target frames per window but steps={steps} were requested; "
            f"expected steps <= {k} (load the split with more target steps)"
        )
    mask = _resolve_mask(mask, dataset)
    device = resolve_device(device, "device") if device is not None else _model_device(model)
    dev_mask = mask.to(device) if mask is not None else None
    was_training = model.training
    model.eval()
    model.to(device)
    sq = torch.zeros(steps, dtype=torch.float64)
    n_values = 0
    n_samples = 0
    try:
        for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            y = _targets(y)[:, :steps]
            _check_batch(x, mask, "evaluation inputs", n_samples)
            _check_batch(y, mask, "evaluation targets", n_samples)
            x = _fill_invalid(x.to(device), dev_mask)
            y = y.to(device)
            pred = rollout(model, x, steps)
            err, per_map = _masked_sq((pred - y).double(), dev_mask)
            sq += err.sum(dim=(0, 2, 3, 4)).cpu()
            n_values += y.shape[0] * y.shape[2] * per_map
            n_samples += x.shape[0]
    finally:
        model.train(was_training)
    per_step = torch.sqrt(sq / n_values)
    overall = math.sqrt(float(sq.sum()) / (n_values * steps))
    return EvalResult(rmse=overall, per_step=[float(v) for v in per_step], steps=steps,
                      num_samples=n_samples)


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A real copy of the weights (cloned tensors on CPU), not references that later update."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _zero_forecast_rmse(dataset: Dataset, steps: int, mask: torch.Tensor | None) -> float:
    """RMSE of predicting 0 everywhere (the targets' RMS): the scale divergence is judged against."""
    sq, n = 0.0, 0
    for _, y in DataLoader(dataset, batch_size=256, shuffle=False):
        y = _targets(y)[:, :steps].double()
        err, per_map = _masked_sq(y, mask)
        sq += float(err.sum())
        n += y.shape[0] * y.shape[1] * y.shape[2] * per_map
    return math.sqrt(sq / max(n, 1))


def _scheduler(optimizer: torch.optim.Optimizer, schedule: str, epochs: int,
               lr_decay: float | None, lr_step: int):
    if schedule == "step":
        lr_decay = 0.9 if lr_decay is None else lr_decay
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=lr_step, gamma=lr_decay)
    if schedule == "cosine":
        lr0 = optimizer.param_groups[0]["lr"]
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs,
                                                          eta_min=0.01 * lr0)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5 if lr_decay is None else lr_decay, patience=2)


@dataclass(frozen=True)
class FitConfig:
    """The training settings of :func:`fit` as one value (for profiles, sweeps and ledgers).

    Pass it as ``fit(model, train, valid, config)``; keyword arguments of :func:`fit` with a
    field's name override it for one call. Per-call objects (device, checkpoint path, callbacks,
    mask, progress bar) stay arguments of :func:`fit`. Change a field with
    ``dataclasses.replace(cfg, lr=3e-3)``; ``asdict(cfg)`` is JSON-ready. The defaults are
    :func:`fit`'s.

    Example::

        cfg = FitConfig(epochs=30, lr=2e-3, rollout_steps=3, patience=5)
        result = fit(model, data.splits["train"], data.splits["valid"], cfg, device="cpu")
    """

    epochs: int = 50
    batch_size: int = 16
    lr: float = 1e-3
    lr_decay: float | None = None
    lr_step: int | None = None
    lr_schedule: str | None = None
    weight_decay: float = 0.0
    rollout_steps: int = 3
    valid_steps: int | None = None
    alpha: float | None = None
    patience: int | None = 10
    seed: int = 0
    grad_clip: float | None = None
    restore_best: bool = True
    time_limit: float | None = None
    divergence_factor: float | None = 10.0
    batches: str = "random"

    def fit(self, model: nn.Module, train_ds: Dataset, valid_ds: Dataset,
            **per_call: Any) -> FitResult:
        """:func:`fit` with these settings; ``per_call``: ``device``, ``checkpoint``,
        ``progress``, ``callbacks``, ``mask`` (a settings field given here is an error)."""
        clash = sorted(set(per_call) & {f.name for f in fields(self)})
        if clash:
            raise TypeError(f"{clash} are FitConfig fields; use dataclasses.replace(config, ...)")
        return fit(model, train_ds, valid_ds, self, **per_call)

    def check(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad setting (no data needed)."""
        _check_config(self)


@dataclass
class FitState:
    """What a :class:`Callback` sees of a running :func:`fit` (and may change: ``stop``).

    Attributes:
        model: the model being trained; config: the settings.
        epoch: the 0-based epoch just validated (-1 before the first).
        history: the per-epoch lists of :class:`FitResult`.
        improved: whether this epoch's validation RMSE is the best so far.
        best_epoch, best_valid_rmse, best_state: the best epoch, its RMSE and a cloned copy of
            its weights (the initial weights until an epoch is validated).
        initial_valid_rmse: validation RMSE of the weights before training.
        stop: set to True to end training after this epoch; stopped_early: set by
            :class:`EarlyStopping` when patience ran out.
    """

    model: nn.Module
    config: FitConfig
    epoch: int = -1
    history: dict[str, list[float]] = field(default_factory=dict)
    improved: bool = False
    best_epoch: int = -1
    best_valid_rmse: float = math.inf
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)
    initial_valid_rmse: float = math.nan
    stop: bool = False
    stopped_early: bool = False


class Callback:
    """A :func:`fit` callback object (Lightning-style hooks); override the ones you need.

    ``on_fit_start(state)`` once before the first epoch; ``on_epoch_end(state, metrics)`` after
    each epoch's validation (``metrics``: ``"epoch"``, ``"train_loss"``, ``"train_mse"``,
    ``"valid_rmse"``, ``"lr"``, ``"best_valid_rmse"``); ``on_fit_end(state, error)`` always,
    with the exception that ended training (``None`` on success). An exception raised by a hook
    propagates out of :func:`fit` unchanged (e.g. ``optuna.TrialPruned``). A plain function
    ``cb(epoch, metrics)`` in ``callbacks`` is called as ``on_epoch_end``.
    """

    def on_fit_start(self, state: FitState) -> None:
        """Called once, after the initial validation, before the first epoch."""

    def on_epoch_end(self, state: FitState, metrics: dict[str, float]) -> None:
        """Called after each epoch's validation and best-weights bookkeeping."""

    def on_fit_end(self, state: FitState, error: BaseException | None) -> None:
        """Called once when training ends, normally (``error=None``) or by an exception."""


class _EpochFunction(Callback):
    """A plain ``cb(epoch, metrics)`` function as a callback."""

    def __init__(self, fn: Callable[[int, dict[str, float]], object]) -> None:
        self.fn = fn

    def on_epoch_end(self, state: FitState, metrics: dict[str, float]) -> None:
        self.fn(state.epoch, dict(metrics))


class ProgressBar(Callback):
    """A tqdm bar over epochs with the last training loss and validation RMSE (``progress=True``)."""

    def __init__(self, leave: bool = False) -> None:
        self.leave = leave
        self.bar = None

    def on_fit_start(self, state: FitState) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.config.epochs, desc=f"fit {type(state.model).__name__}",
                        leave=self.leave)

    def on_epoch_end(self, state: FitState, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{metrics['train_loss']:.4g}",
                                 valid=f"{metrics['valid_rmse']:.4g}")

    def on_fit_end(self, state: FitState, error: BaseException | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EarlyStopping(Callback):
    """Stop when the validation RMSE has not improved for ``patience`` epochs (``patience=``).

    Args:
        patience: epochs without improvement before stopping (an integer >= 1).
    """

    def __init__(self, patience: int) -> None:
        _check_positive("patience", patience)
        self.patience = patience
        self.bad_epochs = 0

    def on_fit_start(self, state: FitState) -> None:
        self.bad_epochs = 0

    def on_epoch_end(self, state: FitState, metrics: dict[str, float]) -> None:
        self.bad_epochs = 0 if state.improved else self.bad_epochs + 1
        if not state.improved and self.bad_epochs >= self.patience:
            state.stop = state.stopped_early = True


class Checkpoint(Callback):
    """Write the best weights atomically whenever validation improves, and at the end
    (``checkpoint=``); load with :func:`load_checkpoint`.

    The folder must be writable (checked here, before any training); a write that fails later
    (full disk) is a :class:`TrainingWarning` and stops further writes, not a lost run.

    Args:
        path: the checkpoint file (a SHA-256 sidecar is written beside it: :mod:`aeqkit.io`).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        _check_checkpoint_path(self.path)
        self.ok = True

    def on_fit_start(self, state: FitState) -> None:
        self.ok = True

    def _save(self, state: FitState) -> None:
        if self.ok:
            self.ok = _save_checkpoint(self.path, state.best_state, state.best_epoch,
                                       state.best_valid_rmse, state.history)

    def on_epoch_end(self, state: FitState, metrics: dict[str, float]) -> None:
        if state.improved:
            self._save(state)

    def on_fit_end(self, state: FitState, error: BaseException | None) -> None:
        if error is None:
            self.ok = True  # the final write is tried even after a failed one
            self._save(state)


_PER_CALL = ("device", "checkpoint", "progress", "mask")


def _check_config(cfg: FitConfig) -> None:
    """Every setting's type and range, naming the parameter and the accepted values."""
    if cfg.lr_schedule is not None and cfg.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES} or None, got "
                         f"{cfg.lr_schedule!r}")
    schedule = _schedule_of(cfg)
    if schedule != "step" and cfg.lr_step is not None:
        raise ValueError(f"lr_step applies to lr_schedule='step' only, got lr_step={cfg.lr_step} "
                         f"with lr_schedule={schedule!r}")
    if schedule == "cosine" and cfg.lr_decay is not None:
        raise ValueError(f"lr_decay is not used by lr_schedule='cosine', got "
                         f"lr_decay={cfg.lr_decay}; expected None")
    for name in ("epochs", "batch_size", "lr", "rollout_steps"):
        _check_positive(name, getattr(cfg, name))
    _check_positive("weight_decay", cfg.weight_decay, allow_zero=True)
    _check_positive("seed", cfg.seed, allow_zero=True)
    for name in ("lr_step", "grad_clip", "patience", "valid_steps", "lr_decay", "time_limit",
                 "divergence_factor"):
        if getattr(cfg, name) is not None:
            _check_positive(name, getattr(cfg, name))
    if cfg.lr_decay is not None and not 0 < cfg.lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1] (the schedule's factor), got {cfg.lr_decay}")
    if cfg.divergence_factor is not None and not (cfg.divergence_factor > 1
                                                  and math.isfinite(cfg.divergence_factor)):
        raise ValueError(f"divergence_factor must be a finite number > 1 or None, got "
                         f"{cfg.divergence_factor!r}")
    if not isinstance(cfg.batches, str) or cfg.batches not in BATCH_ORDERS:
        raise ValueError(f"batches must be one of {BATCH_ORDERS}, got {cfg.batches!r}")
    alpha = cfg.alpha
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
                              or not (alpha >= 0 and math.isfinite(alpha))):
        raise ValueError(f"alpha must be a finite number >= 0 or None, got {alpha!r}")


def _check_orbit_batches(train_ds: Dataset, batch_size: int) -> None:
    """``ValueError`` unless ``train_ds`` can be cut into orbit-complete batches (``batches="orbits"``)."""
    from aeqkit.data.windows import OrbitBatchSampler, _window_orbit_keys, orbit_hint

    if _window_orbit_keys(train_ds) is None:
        raise ValueError(f"batches='orbits' needs a training set with orbit labels (a WindowDataset with "
                         f"orbits, or a Subset of one), got {type(train_ds).__name__} without them; "
                         f"{orbit_hint()}; use batches='random' otherwise")
    OrbitBatchSampler(train_ds, batch_size)  # uneven (orbit, start) groups: its ValueError


def _schedule_of(cfg: FitConfig) -> str:
    """The schedule ``lr_schedule=None`` stands for: ``"step"`` when ``lr_decay`` or ``lr_step``
    is given (the behaviour before the default changed), else ``"plateau"``."""
    if cfg.lr_schedule is not None:
        return cfg.lr_schedule
    return "step" if cfg.lr_decay is not None or cfg.lr_step is not None else "plateau"


def _resolve_config(config: FitConfig | None, settings: dict[str, Any]) -> FitConfig:
    """``config`` (default :class:`FitConfig`) with the keyword ``settings`` applied."""
    if config is not None and not isinstance(config, FitConfig):
        raise TypeError(f"config must be an aeqkit.train.FitConfig or None, got "
                        f"{type(config).__name__}")
    names = [f.name for f in fields(FitConfig)]
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise TypeError(f"fit() got unknown keyword argument(s) {unknown}; accepted: "
                        f"{', '.join(names + list(_PER_CALL) + ['callbacks'])}")
    return replace(config or FitConfig(), **settings)


def _callback_list(callbacks: Any, cfg: FitConfig, checkpoint: str | os.PathLike | None,
                   progress: bool) -> list[Callback]:
    """The callbacks of one fit: the progress bar and checkpoint of the keywords, the caller's
    (functions wrapped), then early stopping (``cfg.patience``) unless the caller passed one."""
    if not callable(callbacks) and not isinstance(callbacks, (str, bytes)) and hasattr(
            callbacks, "__iter__"):
        callbacks = tuple(callbacks)  # a generator is read once
    if not isinstance(callbacks, tuple) or not all(
            isinstance(cb, Callback) or callable(cb) for cb in callbacks):
        raise TypeError("callbacks must be a sequence of aeqkit.train.Callback objects or "
                        "callables cb(epoch, metrics) (wrap a single one in a list), got "
                        f"{callbacks!r}")
    given = [cb if isinstance(cb, Callback) else _EpochFunction(cb) for cb in callbacks]
    out: list[Callback] = []
    if progress and not any(isinstance(cb, ProgressBar) for cb in given):
        out.append(ProgressBar())
    if checkpoint is not None:
        out.append(Checkpoint(checkpoint))
    out.extend(given)
    if cfg.patience is not None and not any(isinstance(cb, EarlyStopping) for cb in given):
        out.append(EarlyStopping(cfg.patience))
    return out


def fit(
    model: nn.Module,
    train_ds: Dataset,
    valid_ds: Dataset,
    config: FitConfig | None = None,
    *,
    device: str | torch.device | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback | Callable[[int, dict[str, float]], object]] = (),
    mask: torch.Tensor | None = None,
    **settings: Any,
) -> FitResult:
    """Train a forecaster with the multi-step autoregressive loss (Sec. 5, App. A.1).

    Each batch is rolled out for ``rollout_steps`` steps, feeding predictions back as inputs, and
    the loss is the mean over steps of the MSE, plus the unsquared regularisers of Sec. 3.3
    (see :func:`extra_loss`). Adam (relaxed weights excluded from weight decay via
    ``aeqkit.nn.param_groups``), a learning-rate schedule (``lr_schedule``), early stopping when
    the validation RMSE has not improved for ``patience`` epochs, and the best epoch's weights
    restored from a cloned copy at the end.

    Before training, both datasets are checked for NaN / inf on valid cells (``ValueError``) and the
    initial weights' validation RMSE is measured. Training stops with :class:`TrainingDiverged`
    when the training loss or the validation RMSE is non-finite, or when the validation RMSE
    exceeds ``divergence_factor`` times the larger of the initial RMSE and the zero forecast's;
    the model then holds the best weights seen so far. If the best epoch is still worse than the
    initial weights, a :class:`TrainingWarning` says so.

    Args:
        model: forecaster ``(B, 10, 2, H, W) -> (B, 2, H, W)``; trained in place. Its
            initialisation is the caller's: build it under ``aeqkit.utils.seeded(seed)`` to make
            it reproducible.
        train_ds, valid_ds: datasets of ``(x: (10, 2, H, W), y: (k, 2, H, W))`` windows.
        config: the training settings (:class:`FitConfig`); default ``FitConfig()``. Keyword
            arguments named like its fields override it for this call (an unknown keyword is a
            ``TypeError`` listing the accepted ones).
        device: ``"cpu"``, ``"cuda"`` ...; default :func:`aeqkit.utils.default_device`.
        checkpoint: shorthand for ``callbacks=[Checkpoint(checkpoint)]``: the best weights written
            atomically (kill-safe, with a SHA-256 sidecar: see :mod:`aeqkit.io`) whenever
            validation improves and at the end; load with :func:`load_checkpoint`. Its folder must
            be writable (checked before training); a write that fails later (full disk) is a
            :class:`TrainingWarning`, not a lost run.
        progress: shorthand for ``callbacks=[ProgressBar()]`` (a tqdm bar over epochs).
        callbacks: :class:`Callback` objects (:class:`ProgressBar`, :class:`EarlyStopping`,
            :class:`Checkpoint`, your own) and/or functions ``cb(epoch, metrics)`` called after
            each epoch's validation with ``metrics`` holding ``"epoch"``, ``"train_loss"``,
            ``"train_mse"``, ``"valid_rmse"``, ``"lr"`` (the rate used during the epoch) and
            ``"best_valid_rmse"``. An exception raised by a callback propagates out of ``fit``
            unchanged (e.g. ``optuna.TrialPruned``); the model then holds the best weights so far
            (with ``restore_best``). An :class:`EarlyStopping` given here replaces ``patience``.
        mask: bool ``(H, W)``, True on valid cells; default ``train_ds.mask`` / ``valid_ds.mask``
            when present. Losses and RMSEs average over valid cells only.
        **settings: fields of :class:`FitConfig`:

            * ``epochs`` (maximum), ``batch_size`` (windows per step), ``lr`` (initial rate);
            * ``lr_schedule``: ``"plateau"`` (multiply ``lr`` by ``lr_decay``, default 0.5, when
              the validation RMSE has not improved for 2 epochs), ``"step"`` (``lr`` times
              ``lr_decay``, default 0.9, every ``lr_step`` epochs, default 1) or ``"cosine"``
              (cosine annealing from ``lr`` to ``lr / 100`` over ``epochs``). Default ``None``:
              ``"step"`` when ``lr_decay`` or ``lr_step`` is given, else ``"plateau"``, which gave
              the lowest validation RMSE on small data (``benchmarks/bench_lr_schedules.py``);
              ``lr_decay`` in ``(0, 1]`` is not used by ``"cosine"``;
            * ``weight_decay``: Adam weight decay (never applied to relaxed weights);
            * ``rollout_steps``: autoregressive steps in the training loss (the paper tunes 3-6);
              must not exceed the training targets' length; ``valid_steps``: rollout horizon of
              the validation RMSE (default: every target frame of ``valid_ds``);
            * ``alpha``: regulariser weight; ``None`` keeps the model's (the usual way:
              ``aeqkit.models.build(name, alpha=...)``), a number sets ``model.alpha``;
            * ``patience``: epochs without validation improvement before stopping
              (:class:`EarlyStopping`); ``None`` disables;
            * ``seed``: seeds shuffling (not the model's initialisation: see
              :func:`aeqkit.utils.seeded`);
            * ``grad_clip``: clip the gradient norm to this value when given;
            * ``restore_best``: load the best epoch's weights at the end (else keep the last
              epoch's; the checkpoint always holds the best);
            * ``time_limit``: wall-clock budget in seconds; training stops after the epoch that
              exceeds it (``FitResult.out_of_time``);
            * ``divergence_factor``: the validation RMSE limit, as a multiple of the larger of
              the initial RMSE and the zero forecast's; ``None`` checks only for non-finite values;
            * ``batches``: the minibatch order. ``"random"`` (default): ``batch_size`` windows
              drawn by a shuffle. ``"orbits"``: orbit-complete batches
              (:class:`aeqkit.data.OrbitBatchSampler`): each batch is whole ``(orbit, start)``
              groups, i.e. the same window in every orientation of a base simulation
              (``ceil(batch_size / group size)`` groups per batch), so on exactly symmetric data
              every step's loss is invariant under the group, its gradient equivariant, and the
              relaxed weights of a model initialised equivariant stay tied up to round-off (paper
              Sec. 3, Def. 3.1); random minibatches break the symmetry by SGD noise. Needs a
              training set with orbit labels (:attr:`aeqkit.data.WindowDataset.orbits`).

    Returns:
        A :class:`FitResult`; the model holds the best epoch's weights.

    Raises:
        ValueError: bad arguments, or NaN / inf on valid cells of the data (before training).
        TypeError: an unknown keyword, or a setting of the wrong type.
        TrainingDiverged: the loss or the validation RMSE became non-finite or diverged.

    Shape:
        x: (B, 10, 2, H, W); y: (B, k, 2, H, W); model(x): (B, 2, H, W); mask: (H, W)
    """
    cfg = _resolve_config(config, settings)
    _check_config(cfg)
    lr_schedule = _schedule_of(cfg)
    lr_step = 1 if cfg.lr_step is None else cfg.lr_step
    cbs = _callback_list(callbacks, cfg, checkpoint, progress)
    k_train = target_length(train_ds)
    if cfg.rollout_steps > k_train:
        raise ValueError(
            f"rollout_steps={cfg.rollout_steps} but the training windows have only {k_train} "
            f"target frames; expected rollout_steps <= {k_train}"
        )
    k_valid = target_length(valid_ds)
    valid_steps = k_valid if cfg.valid_steps is None else cfg.valid_steps
    if not 1 <= valid_steps <= k_valid:
        raise ValueError(f"valid_steps must be in 1..{k_valid} (validation target frames), "
                         f"got {valid_steps}")
    if cfg.alpha is not None and not hasattr(model, "alpha"):
        raise ValueError(
            f"alpha={cfg.alpha} was given but {type(model).__name__} has no 'alpha' attribute; "
            "expected an aeqkit forecaster (aeqkit.models.build) or alpha=None"
        )
    train_mask = _resolve_mask(mask, train_ds)
    valid_mask = _resolve_mask(mask, valid_ds)
    # NaN / inf in the data would make every epoch's RMSE NaN: refuse before any training
    check_dataset(train_ds, train_mask, "training data")
    check_dataset(valid_ds, valid_mask, "validation data")
    if cfg.batches == "orbits":
        _check_orbit_batches(train_ds, cfg.batch_size)
    if cfg.alpha is not None:
        model.alpha = float(cfg.alpha)

    generator = seed_everything(cfg.seed)
    device = resolve_device(device, "device")
    model.to(device)
    optimizer = _optimizer(model, cfg.lr, cfg.weight_decay)
    scheduler = _scheduler(optimizer, lr_schedule, cfg.epochs, cfg.lr_decay, lr_step)
    if cfg.batches == "orbits":
        from aeqkit.data.windows import OrbitBatchSampler

        loader = DataLoader(train_ds, batch_sampler=OrbitBatchSampler(train_ds, cfg.batch_size, generator))
    else:
        loader = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, generator=generator,
                            drop_last=False)
    dev_mask = train_mask.to(device) if train_mask is not None else None

    def validate() -> float:
        return evaluate(model, valid_ds, steps=valid_steps, batch_size=cfg.batch_size,
                        device=device, mask=valid_mask).rmse

    history: dict[str, list[float]] = {"train_loss": [], "train_mse": [], "valid_rmse": [],
                                       "lr": []}
    initial_rmse = validate()
    if not math.isfinite(initial_rmse):
        raise TrainingDiverged(
            f"the initial weights give a validation RMSE of {initial_rmse} on finite data; "
            "expected a finite value: check the model's initialisation",
            epoch=-1, metric="valid_rmse", value=initial_rmse, history=history)
    limit = math.inf
    if cfg.divergence_factor is not None:
        limit = cfg.divergence_factor * max(initial_rmse,
                                            _zero_forecast_rmse(valid_ds, valid_steps, valid_mask))
    # the initial weights until an epoch is validated
    state = FitState(model=model, config=cfg, history=history, best_state=_clone_state(model),
                     initial_valid_rmse=initial_rmse)
    out_of_time = False
    start = time.perf_counter()
    cpu_start = time.process_time()
    error: BaseException | None = None
    started: list[Callback] = []
    try:
        for cb in cbs:
            cb.on_fit_start(state)
            started.append(cb)
        for epoch in range(cfg.epochs):
            state.epoch = epoch
            model.train()
            total, total_mse, n = 0.0, 0.0, 0
            epoch_lr = optimizer.param_groups[0]["lr"]
            for x, y in loader:
                x = _fill_invalid(x.to(device), dev_mask)
                y = _targets(y.to(device))[:, :cfg.rollout_steps]
                pred = rollout(model, x, cfg.rollout_steps)
                err, per_map = _masked_sq(pred - y, dev_mask)
                mse = err.sum() / (y.shape[0] * y.shape[1] * y.shape[2] * per_map)
                loss = mse + extra_loss(model)
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"training loss became {float(loss)} at epoch {epoch} (lr {epoch_lr:.2g}); "
                        "expected a finite value: lower lr, set grad_clip, or check the model",
                        epoch=epoch, metric="train_loss", value=float(loss), history=history)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                total += float(loss.detach()) * x.shape[0]
                total_mse += float(mse.detach()) * x.shape[0]
                n += x.shape[0]
            history["lr"].append(epoch_lr)
            valid_rmse = validate()
            history["train_loss"].append(total / n)
            history["train_mse"].append(total_mse / n)
            history["valid_rmse"].append(valid_rmse)
            if not math.isfinite(valid_rmse) or valid_rmse > limit:
                raise TrainingDiverged(
                    f"validation RMSE {valid_rmse:.4g} at epoch {epoch} (lr {epoch_lr:.2g}) "
                    + ("is not finite" if not math.isfinite(valid_rmse) else
                       f"exceeds {cfg.divergence_factor:g} x the initial / zero-forecast scale "
                       f"({limit:.4g})")
                    + f"; initial RMSE {initial_rmse:.4g}. The model now holds "
                    + (f"epoch {state.best_epoch}'s weights" if state.best_epoch >= 0 else
                       "its initial weights")
                    + " (the best so far): lower lr or set grad_clip",
                    epoch=epoch, metric="valid_rmse", value=valid_rmse, history=history)
            if lr_schedule == "plateau":
                scheduler.step(valid_rmse)
            else:
                scheduler.step()
            state.improved = valid_rmse < state.best_valid_rmse
            if state.improved:
                state.best_valid_rmse, state.best_epoch = valid_rmse, epoch
                state.best_state = _clone_state(model)
            metrics = {"epoch": float(epoch), "train_loss": history["train_loss"][-1],
                       "train_mse": history["train_mse"][-1], "valid_rmse": valid_rmse,
                       "lr": epoch_lr, "best_valid_rmse": state.best_valid_rmse}
            for cb in cbs:
                cb.on_epoch_end(state, metrics)
            if state.stop:
                break
            if cfg.time_limit is not None and time.perf_counter() - start > cfg.time_limit:
                out_of_time = True
                break
    except BaseException as err:
        # a diverged loss (always), a callback's exception (e.g. optuna.TrialPruned) or an
        # interrupt (with restore_best): never leave diverged or half-trained weights behind
        error = err
        if cfg.restore_best or isinstance(err, TrainingDiverged):
            model.load_state_dict(state.best_state)
        raise
    finally:
        for cb in started:
            cb.on_fit_end(state, error)

    if cfg.restore_best:
        model.load_state_dict(state.best_state)
    seconds = time.perf_counter() - start
    best_epoch, best_rmse = state.best_epoch, state.best_valid_rmse
    if best_rmse > initial_rmse:
        warnings.warn(
            f"the best epoch ({best_epoch}) has a validation RMSE of {best_rmse:.4g}, worse than "
            f"the initial weights' {initial_rmse:.4g}: training did not help on this validation "
            "set (lower lr, check that train and validation data follow the same dynamics)",
            TrainingWarning, stacklevel=2)
    ckpt = next((cb for cb in cbs if isinstance(cb, Checkpoint)), None)
    return FitResult(history=history, best_epoch=best_epoch, best_valid_rmse=best_rmse,
                     epochs_run=len(history["valid_rmse"]), stopped_early=state.stopped_early,
                     out_of_time=out_of_time, cpu_seconds=time.process_time() - cpu_start,
                     seconds=seconds, device=str(device),
                     checkpoint=str(ckpt.path) if ckpt is not None and ckpt.ok else None,
                     initial_valid_rmse=initial_rmse, lr_schedule=lr_schedule)


def _fit_signature() -> inspect.Signature:
    """``fit``'s signature with every :class:`FitConfig` field as a keyword-only parameter (what
    ``**settings`` accepts), for ``help(fit)`` and IDEs."""
    sig = inspect.signature(fit)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                 annotation=f.type) for f in fields(FitConfig)]
    return sig.replace(parameters=params)


fit.__signature__ = _fit_signature()  # type: ignore[attr-defined]


def _save_checkpoint(path: Path, state: dict[str, torch.Tensor], epoch: int, rmse: float,
                     history: dict[str, list[float]]) -> bool:
    """Write a checkpoint; on a full disk or lost permission warn and return False (training goes
    on: the model in memory still holds the result, and the previous checkpoint stays valid)."""
    try:
        atomic_save({"state_dict": state, "epoch": epoch, "valid_rmse": rmse,
                     "history": {k: list(v) for k, v in history.items()}}, path)
    except OSError as err:
        warnings.warn(f"could not write the checkpoint {path} ({err}); training continues and "
                      "the model in memory holds the best weights. Free space or choose another "
                      "checkpoint path", TrainingWarning, stacklevel=3)
        return False
    return True


def _check_checkpoint_path(path: Path) -> None:
    """Refuse an unwritable checkpoint location before training starts."""
    if path.is_dir():
        raise ValueError(f"checkpoint must be a file path, got the folder {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"checkpoint folder {path.parent} cannot be created ({err}); expected a "
                         "writable location") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint folder {path.parent} is not writable; expected a writable "
                         "location")


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> dict:
    """Verify a checkpoint written by :func:`fit` against its checksum and load it into ``model``.

    Returns:
        The checkpoint dict (``state_dict``, ``epoch``, ``valid_rmse``, ``history``).

    Raises:
        aeqkit.io.CorruptFileError: when the file is truncated, altered or has no checksum.
    """
    ckpt = verified_load(path)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not an aeqkit checkpoint; expected a dict with 'state_dict'")
    model.load_state_dict(ckpt["state_dict"])
    return ckpt
