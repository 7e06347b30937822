"""The one train-and-evaluate step every experiment runs (Table 1, Table 2, Fig. 4, heat, jet).

:func:`train_and_evaluate` fits a built model (Adam with :func:`aeqkit.train.fit` under a
:class:`~aeqkit.train.FitConfig` for networks, least squares for the closed-form baselines),
evaluates the autoregressive RMSE on the test-future and test-domain splits (Sec. 5) and, when
given input windows, the model's C4 equivariance error (Def. 2.1 in L1, as in Fig. 4).
:mod:`aeqkit.reproduce` (``python -m aeqkit reproduce``) and :mod:`aeqkit.experiments` (notebooks
01, 04) both call it and only format its result; :func:`mean_std` and :func:`jsonable` are their
shared summary helpers.

See also: notebooks 01, 03 and 04, ``python -m aeqkit reproduce --list``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from aeqkit.train import FitConfig, evaluate, fit

__all__ = ["SPLITS", "is_baseline_name", "jsonable", "mean_std", "model_equivariance_error",
           "train_and_evaluate"]

#: The test splits every experiment reports (Sec. 5: future times, held-out domains).
SPLITS: tuple[str, ...] = ("test_future", "test_domain")


def is_baseline_name(name: str) -> bool:
    """Whether ``name`` is a closed-form baseline (``kind="baseline"`` in the model registry:
    fitted by least squares, not trained)."""
    from aeqkit.models.registry import model_specs

    spec = model_specs().get(name)
    return spec is not None and spec.kind == "baseline"


def model_equivariance_error(model: torch.nn.Module, x: torch.Tensor, group: str = "C4",
                             batch_size: int = 16) -> float:
    """Mean L1 equivariance error of a trained forecaster over the non-identity elements
    (paper Def. 2.1 with the L1 norm, as in Fig. 4).

    Shape:
        x: (B, 10, 2, H, W) input windows (square grid for C4).
    """
    from aeqkit.equivariance import equivariance_error
    from aeqkit.groups import get_group

    grp = get_group(group)
    elements = [g for g in grp.elements() if not grp.equal(g, grp.identity)]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, n = 0.0, 0
    try:
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size].to(device)
            rep = equivariance_error(model, xb, grp, in_type="vector", out_type="vector",
                                     elements=elements, norm="l1")
            total += rep.mean * xb.shape[0]
            n += xb.shape[0]
    finally:
        model.train(was_training)
    return total / n


def train_and_evaluate(model: torch.nn.Module, splits: Mapping[str, Any], config: FitConfig, *,
                       eval_steps: int, eval_batch_size: int = 32, test_limit: int | None = None,
                       ee_inputs: torch.Tensor | None = None,
                       device: str | torch.device | None = None, progress: bool = False,
                       baseline_valid_steps: int | None = None) -> dict[str, Any]:
    """Fit a built model on ``splits["train"]`` and evaluate it on both test splits.

    Args:
        model: a forecaster ``(B, 10, 2, H, W) -> (B, 2, H, W)`` built (and seeded) by the caller;
            a closed-form baseline (``aeqkit.models.baselines``) is solved by least squares.
        splits: ``"train"``, ``"valid"``, ``"test_future"``, ``"test_domain"`` window datasets.
        config: the training settings of :func:`aeqkit.train.fit` (networks only).
        eval_steps: horizon of the test RMSE (the paper: 20).
        eval_batch_size: windows per forward pass in evaluation.
        test_limit: evaluate on at most this many evenly spread windows per test split
            (:func:`aeqkit.data.subsample`); ``None``: all.
        ee_inputs: input windows ``(B, 10, 2, H, W)`` for the model's C4 equivariance error.
        device, progress: passed to :func:`aeqkit.train.fit`.
        baseline_valid_steps: horizon of a baseline's validation RMSE (``None``: not measured).

    Returns:
        ``{"parameters", "fit": FitResult | dict (baseline: ``closed_form``, ``seconds``),
        "valid_rmse", "test_future": EvalResult | None, "test_domain": EvalResult | None,
        "model_equivariance_error": float | None, "seconds"}`` (``None`` for an empty split).
    """
    from aeqkit.data import subsample
    from aeqkit.models import count_parameters
    from aeqkit.models.baselines import fit_baseline, is_baseline

    t0 = time.perf_counter()
    out: dict[str, Any] = {"parameters": count_parameters(model)}
    if is_baseline(model):
        out["fit"] = {"closed_form": True, "epochs_run": 0, **fit_baseline(model, splits["train"])}
        out["valid_rmse"] = (None if baseline_valid_steps is None else
                             evaluate(model, splits["valid"], steps=baseline_valid_steps).rmse)
    else:
        res = fit(model, splits["train"], splits["valid"], config, device=device,
                  progress=progress)
        out["fit"] = res
        out["valid_rmse"] = res.best_valid_rmse
    for split in SPLITS:
        ds = splits[split]
        ds = subsample(ds, test_limit) if test_limit else ds
        out[split] = (None if len(ds) == 0 else
                      evaluate(model, ds, steps=eval_steps, batch_size=eval_batch_size))
    out["model_equivariance_error"] = (None if ee_inputs is None else
                                       model_equivariance_error(model, ee_inputs))
    out["seconds"] = time.perf_counter() - t0
    return out


def mean_std(values: Sequence[float], ddof: int = 1) -> tuple[float, float | None]:
    """Mean and standard deviation (``ddof=1``: sample, ``0``: population) of a list of numbers;
    the std is ``None`` when fewer than ``ddof + 1`` values (one value: ``None`` with ``ddof=1``,
    0.0 with ``ddof=0``)."""
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        raise ValueError("values must hold at least one number, got an empty sequence")
    mean = sum(vals) / n
    if n <= ddof:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - ddof))


def jsonable(obj: Any) -> Any:
    """Plain JSON types: dict keys become strings, tensors and arrays lists (or their shape when
    large), results with ``to_dict`` dicts, non-finite floats strings; anything else ``str``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, torch.Tensor):
        return jsonable(obj.tolist()) if obj.numel() <= 64 else f"tensor{tuple(obj.shape)}"
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return str(obj)
