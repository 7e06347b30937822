"""Training and evaluation of forecasters under the paper's protocol (Sec. 5, App. A.1).

A forecaster maps 10 input frames to the next frame, ``(B, 10, 2, H, W) -> (B, 2, H, W)``
(DESIGN.md). :func:`fit` trains it with Adam on the multi-step autoregressive loss (predictions are
fed back as inputs for ``rollout_steps`` steps), learning-rate decay, the relaxed-weight
regularisers of Sec. 3.3 added unsquared, early stopping on the validation RMSE with the best
weights restored from a real copy, and atomic checkpoints. :func:`evaluate` rolls a model out
autoregressively and reports the RMSE overall and per horizon step (the paper reports 20-step RMSE).

RMSE convention: ``sqrt(mean((pred - target)**2))`` over samples, steps, channels and pixels
(overall) or over samples, channels and pixels at one step (``per_step``).

See also: notebook 05 (forecasting) and ``python -m aeqkit reproduce``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from aeqkit.io import atomic_save, verified_load
from aeqkit.utils import default_device, seed_everything

__all__ = [
    "EvalResult",
    "FitResult",
    "evaluate",
    "extra_loss",
    "fit",
    "load_checkpoint",
    "rollout",
    "target_length",
]

INPUT_LENGTH = 10


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


def _check_positive(name: str, value: float | int, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    steps: int = 20,
    batch_size: int = 32,
    device: str | torch.device | None = None,
) -> EvalResult:
    """RMSE of an autoregressive ``steps``-step rollout over a dataset, overall and per step.

    Args:
        model: a forecaster ``(B, 10, 2, H, W) -> (B, 2, H, W)``.
        dataset: yields ``(x, y)`` windows with at least ``steps`` target frames (build test splits
            with enough target frames, e.g. ``load_dataset(..., target_steps=20)``).
        steps: forecast horizon (the paper uses 20).
        batch_size: windows per forward pass.
        device: where to run; default: the model's device.

    Returns:
        An :class:`EvalResult` with ``rmse`` and ``per_step`` (length ``steps``).

    Shape:
        x: (10, 2, H, W); y: (k >= steps, 2, H, W)
    """
    _check_positive("steps", steps)
    _check_positive("batch_size", batch_size)
    k = target_length(dataset)
    if k < steps:
        raise ValueError(
            f"dataset has only {k} target frames per window but steps={steps} were requested; "
            f"expected steps <= {k} (load the split with more target steps)"
        )
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    model.to(device)
    sq = torch.zeros(steps, dtype=torch.float64)
    n_values = 0
    n_samples = 0
    try:
        for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            x = x.to(device)
            y = _targets(y.to(device))[:, :steps]
            pred = rollout(model, x, steps)
            sq += ((pred - y).double() ** 2).sum(dim=(0, 2, 3, 4)).cpu()
            n_values += y[:, 0].numel()
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


def fit(
    model: nn.Module,
    train_ds: Dataset,
    valid_ds: Dataset,
    *,
    epochs: int = 50,
    batch_size: int = 16,
    lr: float = 1e-3,
    lr_decay: float = 0.9,
    lr_step: int = 1,
    weight_decay: float = 0.0,
    rollout_steps: int = 3,
    valid_steps: int | None = None,
    alpha: float | None = None,
    patience: int | None = 10,
    seed: int = 0,
    device: str | torch.device | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    grad_clip: float | None = None,
    restore_best: bool = True,
    time_limit: float | None = None,
) -> FitResult:
    """Train a forecaster with the multi-step autoregressive loss (Sec. 5, App. A.1).

    Each batch is rolled out for ``rollout_steps`` steps, feeding predictions back as inputs, and
    the loss is the mean over steps of the MSE, plus the unsquared regularisers of Sec. 3.3
    (see :func:`extra_loss`). Adam (relaxed weights excluded from weight decay via
    ``aeqkit.nn.param_groups``), learning rate multiplied by ``lr_decay`` every ``lr_step`` epochs
    (``lr_step=1`` is exponential decay), early stopping when the validation RMSE has not improved
    for ``patience`` epochs, and the best epoch's weights restored from a cloned copy at the end.

    Args:
        model: forecaster ``(B, 10, 2, H, W) -> (B, 2, H, W)``; trained in place.
        train_ds, valid_ds: datasets of ``(x: (10, 2, H, W), y: (k, 2, H, W))`` windows.
        epochs: maximum number of epochs.
        batch_size: windows per step.
        lr: initial learning rate.
        lr_decay: StepLR factor ``gamma`` in ``(0, 1]``.
        lr_step: StepLR period in epochs.
        weight_decay: Adam weight decay (never applied to relaxed weights).
        rollout_steps: autoregressive steps in the training loss (the paper tunes 3-6); must not
            exceed the training targets' length.
        valid_steps: rollout horizon of the validation RMSE; default: every target frame of
            ``valid_ds``.
        alpha: regulariser weight. ``None`` keeps the ``alpha`` the model was built with (the
            usual way: ``aeqkit.models.build(name, alpha=...)``); a number sets ``model.alpha``
            before training (the model must have that attribute). See :func:`extra_loss`.
        patience: epochs without validation improvement before stopping; ``None`` disables.
        seed: seeds shuffling and any randomness during training.
        device: ``"cpu"``, ``"cuda"`` ...; default :func:`aeqkit.utils.default_device`.
        checkpoint: path written atomically (with a SHA-256 sidecar) whenever validation improves
            and at the end; load with :func:`load_checkpoint`.
        progress: show a tqdm bar over epochs.
        grad_clip: clip the gradient norm to this value when given.
        restore_best: load the best epoch's weights at the end (else keep the last epoch's; the
            checkpoint always holds the best).
        time_limit: wall-clock budget in seconds; training stops after the epoch that exceeds it
            (``FitResult.out_of_time``). ``None``: no limit.

    Returns:
        A :class:`FitResult`; the model holds the best epoch's weights.

    Shape:
        x: (B, 10, 2, H, W); y: (B, k, 2, H, W); model(x): (B, 2, H, W)
    """
    for name, value in [("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                        ("lr_step", lr_step), ("rollout_steps", rollout_steps)]:
        _check_positive(name, value)
    _check_positive("weight_decay", weight_decay, allow_zero=True)
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1] (StepLR gamma), got {lr_decay}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be > 0 seconds or None, got {time_limit!r}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be >= 1 or None, got {patience}")
    k_train = target_length(train_ds)
    if rollout_steps > k_train:
        raise ValueError(
            f"rollout_steps={rollout_steps} but the training windows have only {k_train} target "
            f"frames; expected rollout_steps <= {k_train}"
        )
    k_valid = target_length(valid_ds)
    valid_steps = k_valid if valid_steps is None else valid_steps
    if not 1 <= valid_steps <= k_valid:
        raise ValueError(f"valid_steps must be in 1..{k_valid} (validation target frames), "
                         f"got {valid_steps}")

    if alpha is not None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
            raise ValueError(f"alpha must be a number >= 0 or None, got {alpha!r}")
        if not hasattr(model, "alpha"):
            raise ValueError(
                f"alpha={alpha} was given but {type(model).__name__} has no 'alpha' attribute; "
                "expected an aeqkit forecaster (aeqkit.models.build) or alpha=None"
            )
        model.alpha = float(alpha)

    generator = seed_everything(seed)
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    optimizer = _optimizer(model, lr, weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=lr_step, gamma=lr_decay)
    loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=generator,
                        drop_last=False)
    ckpt_path = Path(checkpoint) if checkpoint is not None else None

    history: dict[str, list[float]] = {"train_loss": [], "train_mse": [], "valid_rmse": [],
                                       "lr": []}
    best_rmse = math.inf
    best_epoch = -1
    best_state = _clone_state(model)
    bad_epochs = 0
    stopped_early = False
    out_of_time = False
    start = time.perf_counter()
    cpu_start = time.process_time()

    from tqdm.auto import tqdm

    bar = tqdm(range(epochs), desc=f"fit {type(model).__name__}", disable=not progress,
               leave=False)
    for epoch in bar:
        model.train()
        total, total_mse, n = 0.0, 0.0, 0
        for x, y in loader:
            x = x.to(device)
            y = _targets(y.to(device))[:, :rollout_steps]
            pred = rollout(model, x, rollout_steps)
            mse = torch.mean((pred - y) ** 2)
            loss = mse + extra_loss(model)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {float(loss)} at epoch {epoch}; expected a finite "
                    f"value: lower lr (now {optimizer.param_groups[0]['lr']:.2g}) or check the data"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            total += float(loss.detach()) * x.shape[0]
            total_mse += float(mse.detach()) * x.shape[0]
            n += x.shape[0]
        history["lr"].append(optimizer.param_groups[0]["lr"])
        scheduler.step()
        valid_rmse = evaluate(model, valid_ds, steps=valid_steps, batch_size=batch_size,
                              device=device).rmse
        history["train_loss"].append(total / n)
        history["train_mse"].append(total_mse / n)
        history["valid_rmse"].append(valid_rmse)
        bar.set_postfix(loss=f"{total / n:.4g}", valid=f"{valid_rmse:.4g}")
        if valid_rmse < best_rmse:
            best_rmse, best_epoch, bad_epochs = valid_rmse, epoch, 0
            best_state = _clone_state(model)
            if ckpt_path is not None:
                _save_checkpoint(ckpt_path, best_state, best_epoch, best_rmse, history)
        else:
            bad_epochs += 1
            if patience is not None and bad_epochs >= patience:
                stopped_early = True
                break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            out_of_time = True
            break
    bar.close()

    if restore_best:
        model.load_state_dict(best_state)
    seconds = time.perf_counter() - start
    if ckpt_path is not None:
        _save_checkpoint(ckpt_path, best_state, best_epoch, best_rmse, history)
    return FitResult(history=history, best_epoch=best_epoch, best_valid_rmse=best_rmse,
                     epochs_run=len(history["valid_rmse"]), stopped_early=stopped_early,
                     out_of_time=out_of_time, cpu_seconds=time.process_time() - cpu_start,
                     seconds=seconds, device=str(device),
                     checkpoint=str(ckpt_path) if ckpt_path is not None else None)


def _save_checkpoint(path: Path, state: dict[str, torch.Tensor], epoch: int, rmse: float,
                     history: dict[str, list[float]]) -> None:
    atomic_save({"state_dict": state, "epoch": epoch, "valid_rmse": rmse,
                 "history": {k: list(v) for k, v in history.items()}}, path)


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
