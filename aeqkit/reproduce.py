"""Reproduce the paper's Table 1, Table 2 and Figure 4 (Sec. 5) with aeqkit's data and models.

``python -m aeqkit reproduce table1 --symmetry rotation --profile quick`` trains each named model
on the named data set for each seed, evaluates the autoregressive RMSE on the test-future and
test-domain splits, prints mean ± std over seeds beside the paper's numbers (:mod:`aeqkit.paper`),
and writes ``<out>/<table>_<symmetry>_<profile>.json`` (every run, its history and the summary)
and ``.csv`` (the summary). Every table shows the closed-form baselines (persistence, a
least-squares stencil, its C4-tied version) beside the networks, and every network's parameter
count; networks without an explicit width are matched to the profile's parameter budget
(:func:`matched_width`). ``figure4`` trains a two-layer Conv, Equiv and RSteer (and fits the
stencil) on the ten levels of rotational symmetry breaking (Sec. 5.2), full-batch on orbit-balanced
splits, and reports each model's C4 equivariance error (L1, Def. 3.1, non-identity elements)
against the data's one-step error on the same windows (:func:`aeqkit.data.one_step_data_error`),
with the Sec. 5.2 trajectory error as a second quantity, Spearman's ρ (pooled and per seed), the
log-log slope over levels 1-9 and the level-0 / level-9 ratio.

Profiles: ``quick`` (32x32 data, 16x16 for Fig. 4, 10-step RMSE, 3-layer networks matched to
10,000 parameters, 2,500 for the two-layer Fig. 4 networks, 30 epochs, 1 seed by default),
``medium`` (the quick data with longer Fig. 4 trajectories, 3 seeds, 40 epochs, 60 for Fig. 4 at
5,000 parameters; at most ~20 min per table on 2 CPU cores) and ``full`` (the paper's protocol:
64x64 data, 20-step RMSE, 3 seeds, default widths; meant for a GPU). A fixed number of epochs (no
wall-clock limit unless ``profile_overrides={"time_limit": s}``) keeps results independent of
machine load. Measured results go to the reproduction ledger (:mod:`aeqkit.ledger`).

Experiment registry: :func:`experiment_specs` maps each experiment of ``python -m aeqkit reproduce``
(``table1``, ``table2``, ``figure4`` here; the ``heat`` and ``jet`` studies of
:mod:`aeqkit.experiments`) to its rows, data sets, profiles, default models and runner
(:func:`register_experiment` adds one; ``reproduce --list`` prints them). :data:`SYMMETRIES`,
:data:`DEFAULT_MODELS` (baselines first), :data:`KNOWN_MODELS` and :data:`BASELINES` are read from
it and from the model and data-set registries on each access. Every run is one call of
:func:`aeqkit.harness.train_and_evaluate` under :func:`fit_config`.

See also: notebook 03 (Table 1 and Fig. 4 through :func:`reproduce`, at the profile's scale or the
notebook's sizes via ``profile_overrides``) and :func:`aeqkit.train.fit`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from aeqkit import paper
from aeqkit.harness import (
    SPLITS,
    is_baseline_name,
    jsonable,
    mean_std,
    model_equivariance_error,
    train_and_evaluate,
)
from aeqkit.train import FitConfig, target_length
from aeqkit.utils import default_device, seed_everything, versions

__all__ = [
    "DEFAULT_MODELS",  # noqa: F822  (module __getattr__: derived from the registries)
    "EXPERIMENTS",  # noqa: F822
    "ExperimentSpec",
    "KNOWN_MODELS",  # noqa: F822
    "PROFILES",
    "Profile",
    "SYMMETRIES",  # noqa: F822
    "default_models",
    "experiment_specs",
    "experiments_table",
    "fit_config",
    "get_experiment_spec",
    "register_experiment",
    "run_experiment",
    "format_results",
    "equivariance_inputs",
    "experiment_setup",
    "model_equivariance_error",
    "model_hparams",
    "quick_width",
    "parse_models",
    "reproduce",
    "validate_request",
]

#: symmetry passed to ``aeqkit.models.build`` per experiment row; the combined models (RSteerTR,
#: RSteerTS) carry their symmetries in their names and take ``symmetry=None``.
_MODEL_SYMMETRY: dict[str, str | None] = {"combination": None}

#: The unconstrained network every table shows beside the strict and relaxed models ("Conv").
REFERENCE_NETWORK = "conv"

# ``EXPERIMENTS``, ``SYMMETRIES``, ``KNOWN_MODELS``, ``DEFAULT_MODELS`` and ``BASELINES`` are read
# from the experiment, model and data-set registries on every access (module ``__getattr__`` at
# the end of this file), so a model or data set registered later is listed too.


@dataclass(frozen=True)
class Profile:
    """Training and evaluation settings of a run profile (paper App. A.1 for ``full``).

    Attributes:
        name: ``"quick"`` or ``"full"``.
        seeds: default number of seeds.
        epochs, batch_size, lr, lr_decay, rollout_steps, patience: passed to :func:`~aeqkit.train.fit`.
        eval_steps: horizon of the test RMSE (the paper: 20).
        valid_steps: horizon of the validation RMSE used for early stopping.
        time_limit: wall-clock budget in seconds per fit (``None``: no limit).
        model_hparams: keyword arguments of ``aeqkit.models.build``: ``{"*": {...}, name: {...}}``
            (see :func:`model_hparams`; empty: the models' defaults).
        levels: the symmetry-breaking levels of Figure 4.
        param_budget: matched capacity: every network without an explicit ``width`` gets the width
            whose trainable-parameter count is closest to this budget (:func:`matched_width`);
            ``None``: the widths of ``model_hparams``.
        figure4_budget: ``param_budget`` of the Figure 4 networks (two layers, Sec. 5.2).
        figure4_epochs, figure4_hparams: epochs and build arguments of the Figure 4 fits (default:
            ``epochs`` and ``model_hparams``).
        figure4_batch_size: batch size of the Figure 4 fits; ``None``: the whole training set in
            one batch, so on an orbit-balanced split every step's loss is C4-invariant (a relaxed
            model then stays equivariant on symmetric data; minibatches of 16 leave 1e-4-3e-4 at
            level 0, measured).
        data_profile: the ``aeqkit.data`` profile of the data sets (default: ``name``).
        train_windows: train on at most this many evenly spread training windows
            (:func:`aeqkit.data.subsample`; notebook 03's quick table); ``None``: all.
        test_windows: evaluate on at most this many windows per test split; ``None``: all.
    """

    name: str
    seeds: int
    epochs: int
    batch_size: int
    lr: float
    lr_decay: float
    rollout_steps: int
    patience: int
    eval_steps: int
    valid_steps: int
    time_limit: float | None
    model_hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    levels: tuple[int, ...] = tuple(range(10))
    param_budget: int | None = None
    figure4_budget: int | None = None
    figure4_batch_size: int | None = None
    figure4_epochs: int | None = None
    figure4_hparams: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_profile: str | None = None
    train_windows: int | None = None
    test_windows: int | None = None


#: Figure 4 networks (Sec. 5.2: "two-layer ConvNet, E2CNN and RSteer"): 2 layers of 3x3 kernels.
_FIG4_HPARAMS = {"*": {"num_layers": 2, "kernel_size": 3}}

PROFILES: dict[str, Profile] = {
    "quick": Profile(name="quick", seeds=1, epochs=30, batch_size=16, lr=2e-3, lr_decay=0.95,
                     rollout_steps=3, patience=5, eval_steps=10, valid_steps=5, time_limit=None,
                     model_hparams={"*": {"num_layers": 3, "kernel_size": 3}}, param_budget=10_000,
                     figure4_budget=2_500, figure4_epochs=30, figure4_hparams=_FIG4_HPARAMS),
    # at most ~20 min per table on 2 CPU cores: the quick data, 3 seeds, longer training
    "medium": Profile(name="medium", seeds=3, epochs=40, batch_size=16, lr=2e-3, lr_decay=0.95,
                      rollout_steps=3, patience=10, eval_steps=10, valid_steps=5, time_limit=None,
                      model_hparams={"*": {"num_layers": 3, "kernel_size": 3}}, param_budget=10_000,
                      figure4_budget=5_000, figure4_epochs=60, figure4_hparams=_FIG4_HPARAMS),
    "full": Profile(name="full", seeds=3, epochs=100, batch_size=16, lr=1e-3, lr_decay=0.95,
                    rollout_steps=5, patience=10, eval_steps=20, valid_steps=5, time_limit=None,
                    figure4_hparams=_FIG4_HPARAMS),
}

def parse_models(spec: str | Sequence[str] | None, experiment: str, symmetry: str) -> list[str]:
    """Model names from ``"conv,equiv"`` (or a list); default: :data:`DEFAULT_MODELS`.

    Raises:
        ValueError: an unknown or repeated name, naming the accepted ones.
    """
    if spec is None or spec == "":
        return list(default_models(experiment, symmetry))
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in names if n]
    known = _known_models()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown model name(s) {unknown}; accepted: {', '.join(sorted(known))}")
    if len(set(names)) != len(names):
        raise ValueError(f"model names repeated in {names}; give each model once")
    if not names:
        raise ValueError(f"no model names in {spec!r}; accepted: {', '.join(sorted(known))}")
    return names


def _known_models() -> set[str]:
    """Every registered model's canonical name (:func:`aeqkit.models.registry.model_specs`)."""
    from aeqkit.models.registry import model_specs

    return set(model_specs())


def validate_request(experiment: str, symmetry: str, profile: str) -> None:
    """Raise ``ValueError`` naming the accepted values for an unknown experiment (of
    :func:`experiment_specs`), symmetry row or profile."""
    specs = experiment_specs()
    if experiment not in specs:
        raise ValueError(f"unknown experiment {experiment!r}; accepted: {', '.join(specs)}")
    spec = specs[experiment]
    if symmetry not in spec.datasets:
        raise ValueError(f"unknown symmetry {symmetry!r} for {experiment}; accepted: "
                         f"{', '.join(spec.datasets)}")
    if profile not in spec.profiles:
        raise ValueError(f"unknown profile {profile!r}; accepted: {', '.join(spec.profiles)}")


# --------------------------------------------------------------------------------------------
# one run


def equivariance_inputs(data, limit: int = 32, input_length: int = 10) -> torch.Tensor:
    """Input windows for measuring a trained model's equivariance error (Fig. 4).

    Drawn evenly from *every* simulation of the data set (``data.fields``), so the sample holds all
    C4 orientations in equal numbers, whichever simulations the split held out: the windows of
    :func:`aeqkit.data.equivariance_windows` (their next frame exists, so the data's one-step error
    :func:`aeqkit.data.one_step_data_error` is measured on the same windows). Falls back to the
    test-domain windows for data without ``fields``.

    Shape:
        out: (B <= limit, input_length, C, H, W)
    """
    fields = getattr(data, "fields", None)
    if fields is None:
        ds = data.splits["test_domain"]
        idx = torch.linspace(0, len(ds) - 1, min(limit, len(ds))).round().long().unique()
        return torch.stack([torch.as_tensor(ds[int(i)][0]) for i in idx])
    from aeqkit.data import equivariance_windows

    wins = equivariance_windows(data, limit, input_length)
    return torch.stack([fields[s, t:t + input_length] for s, t in wins])


def check_eval_steps(data: Any, eval_steps: int) -> None:
    """Raise ``ValueError`` before any training when a test split holds fewer than ``eval_steps``
    target frames per window (the horizon is never cut silently)."""
    for split in SPLITS:
        k = target_length(data.splits[split])
        if k < eval_steps:
            raise ValueError(f"eval_steps={eval_steps} but the {split} windows hold only {k} target "
                             f"frames; expected eval_steps <= {k} (load longer trajectories)")


def check_models_exist(names: Sequence[str], symmetry: str | None) -> None:
    """Raise ``ValueError`` (before any data generation) when a model does not exist for
    ``symmetry``, naming the models that do."""
    from aeqkit.models import available_models, model_symmetries

    for m in names:
        if symmetry not in model_symmetries(m):
            fits = sorted(n for n, syms in available_models().items() if symmetry in syms)
            raise ValueError(f"model {m!r} does not exist for symmetry {symmetry!r} (it exists "
                             f"for {model_symmetries(m)}); models for {symmetry!r}: "
                             f"{', '.join(fits)}")


def check_out_writable(out: str | os.PathLike) -> Path:
    """Create ``out`` and probe that a file can be written there, before any training.

    Raises:
        ValueError: naming ``--out`` / ``out`` and the reason, when it cannot be written.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        import tempfile

        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe-", suffix=".tmp"):
            pass
    except OSError as err:
        raise ValueError(f"--out {str(out)!r} is not a writable folder ({err.strerror or err}); "
                         "expected a folder this user can create files in") from None
    return out


def experiment_setup(experiment: str, symmetry: str) -> tuple[str, str | None]:
    """``(data set name for aeqkit.data.load_dataset, symmetry for aeqkit.models.build)`` of a row
    of an experiment (used by :mod:`aeqkit.sweep`)."""
    spec = experiment_specs().get(experiment)
    if spec is None or symmetry not in spec.datasets:
        validate_request(experiment, symmetry, next(iter(PROFILES)))
    return spec.datasets[symmetry], _MODEL_SYMMETRY.get(symmetry, symmetry)


def _default_load(name: str, profile: str, **overrides: Any):
    from aeqkit.data import load_dataset

    return load_dataset(name, profile=profile, **overrides)


def _default_build(name: str, symmetry: str | None, **hparams: Any) -> torch.nn.Module:
    from aeqkit.models import build

    return build(name, symmetry=symmetry, **hparams)


#: Group-model names whose ``width`` counts group fields (regular C_N or scale fields).
_GROUP_MODELS = ("equiv", "rpp", "combo", "lift", "rgroup", "rsteer", "rsteer_tr", "rsteer_ts",
                 "clcnn")


def quick_width(name: str, symmetry: str | None) -> int:
    """``width`` of the quick profile: about half the default channel count of each model family.

    aeqkit's defaults give every model about 64 channels per layer: Conv 64 channels, rotation
    group models 16 regular C4 fields (64 channels), scaling models 24 fields per scale,
    translation models 64 channels. The quick profile halves them; CLCNN, whose locally connected
    weights grow with the grid, gets about 2M parameters at 32x32 instead.
    """
    if name == "clcnn":  # locally connected: parameters grow with H*W, keep it ~2M at 32x32
        return {"rotation": 2, "translation": 8, "scaling": 6}.get(symmetry or "", 2)
    if name == "rsteer_tr" or (name in _GROUP_MODELS and symmetry == "rotation"):
        return 8
    if name == "rsteer_ts" or (name in _GROUP_MODELS and symmetry == "scaling"):
        return 12
    return 32


_WIDTH_CACHE: dict[tuple, int] = {}


def matched_width(name: str, symmetry: str | None, budget: int, hparams: dict[str, Any] | None = None,
                  build_fn: Callable[..., torch.nn.Module] | None = None,
                  widths: Sequence[int] = tuple(range(1, 65))) -> int:
    """The ``width`` whose trainable-parameter count is closest to ``budget`` (matched capacity).

    Parameter counts grow monotonically with width, so a bisection over ``widths`` needs about
    seven builds per model; results are memoised. ``hparams`` are the other build arguments.
    """
    from aeqkit.models import count_parameters

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive number of parameters, got {budget!r}")
    hp = {k: v for k, v in (hparams or {}).items() if k != "width"}
    key = (name, symmetry, budget, tuple(sorted((k, repr(v)) for k, v in hp.items())), build_fn)
    if key in _WIDTH_CACHE:
        return _WIDTH_CACHE[key]
    build_fn = build_fn or _default_build
    counts: dict[int, int] = {}

    def count(w: int) -> int:
        if w not in counts:
            counts[w] = count_parameters(build_fn(name, symmetry, width=w, **hp))
        return counts[w]

    lo, hi = 0, len(widths) - 1
    while lo < hi:  # first width whose count reaches the budget
        mid = (lo + hi) // 2
        if count(widths[mid]) < budget:
            lo = mid + 1
        else:
            hi = mid
    cands = [widths[i] for i in (lo - 1, lo) if 0 <= i < len(widths)]
    best = min(cands, key=lambda w: abs(count(w) - budget))
    _WIDTH_CACHE[key] = best
    return best


def model_hparams(prof: Profile, name: str, symmetry: str | None,
                  grid: tuple[int, int], figure4: bool = False, *, experiment: str | None = None,
                  row: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``aeqkit.models.build`` under a profile.

    ``prof.model_hparams`` (``prof.figure4_hparams`` for Figure 4) maps ``"*"`` (every model) and
    model names (overrides) to keyword dicts; ``width="quick"`` picks :func:`quick_width`; with
    ``experiment`` (and ``row``, the experiment's symmetry row, default ``symmetry``) the model's
    recorded sweep setting for ``prof.name`` (:func:`aeqkit.settings.with_recorded_settings`) is
    laid over them; with ``prof.param_budget`` a network still without a width gets
    :func:`matched_width` (for the recorded depth and kernel size). ``input_size`` is always the
    data's grid. Baselines take only ``input_size``. Without ``experiment``: the profile's own
    setting (what a sweep starts from).
    """
    if is_baseline_name(name):
        return {"input_size": grid}
    table = prof.figure4_hparams if figure4 and prof.figure4_hparams else prof.model_hparams
    kw = dict(table.get("*", {}))
    kw.update(table.get(name, {}))
    if kw.get("width") == "quick":
        kw["width"] = quick_width(name, symmetry)
    if experiment is not None:
        from aeqkit.settings import with_recorded_settings

        kw, _, _ = with_recorded_settings(prof.name, experiment, row or symmetry or "", name, kw, {})
    kw["input_size"] = grid
    budget = (prof.figure4_budget or prof.param_budget) if figure4 else prof.param_budget
    if "width" not in kw and budget is not None:
        kw["width"] = matched_width(name, symmetry, budget, kw)
    return kw


def _build(build_fn: Callable, name: str, symmetry: str | None, prof: Profile,
           grid: tuple[int, int], figure4: bool = False) -> torch.nn.Module:
    return build_fn(name, symmetry, **model_hparams(prof, name, symmetry, grid, figure4))


def _grid(dataset) -> tuple[int, int]:
    x, _ = dataset.splits["train"][0]
    return int(x.shape[-2]), int(x.shape[-1])


def fit_config(prof: Profile, train, valid, seed: int = 0, figure4: bool = False) -> FitConfig:
    """The :class:`~aeqkit.train.FitConfig` of a profile's networks (Figure 4: full-batch by
    default, its own epochs); the rollout and validation horizons are capped by the windows'
    target frames."""
    batch, epochs = prof.batch_size, prof.epochs
    if figure4:
        batch = prof.figure4_batch_size or len(train)
        epochs = prof.figure4_epochs or prof.epochs
    return FitConfig(epochs=epochs, batch_size=batch, lr=prof.lr, lr_decay=prof.lr_decay,
                     rollout_steps=min(prof.rollout_steps, target_length(train)),
                     valid_steps=min(prof.valid_steps, target_length(valid)),
                     patience=prof.patience, seed=seed, time_limit=prof.time_limit)


def _train_one(build_fn: Callable, model_name: str, symmetry: str, data, prof: Profile,
               seed: int, device: torch.device, progress: bool, with_ee: bool,
               models_out: dict | None = None, key: tuple = (), experiment: str | None = None,
               row: str | None = None) -> dict[str, Any]:
    """One run of a table or of Figure 4: build (seeded), :func:`aeqkit.harness.train_and_evaluate`
    on the profile's training windows, and the run's JSON record. With ``experiment`` (and
    ``row``, its symmetry row) the model's recorded sweep setting for the profile, if any, sets the
    build and fit settings (:mod:`aeqkit.settings`), and the record names its ``chosen_by``."""
    from aeqkit.data import subsample
    from aeqkit.settings import with_recorded_settings

    seed_everything(seed)
    hparams = model_hparams(prof, model_name, symmetry, _grid(data), with_ee, experiment=experiment,
                            row=row)
    model = build_fn(model_name, symmetry, **hparams)
    splits = dict(data.splits)
    splits["train"] = subsample(splits["train"], prof.train_windows)
    x = equivariance_inputs(data) if with_ee else None
    # the splits were checked to hold eval_steps target frames (check_eval_steps)
    cfg = fit_config(prof, splits["train"], splits["valid"], seed, with_ee)
    chosen = None
    if experiment is not None:  # lr, batch_size, rollout_steps of the recorded setting, if any
        _, rec, chosen = with_recorded_settings(prof.name, experiment, row or symmetry or "",
                                                model_name, {}, {})
        if "rollout_steps" in rec:
            rec["rollout_steps"] = min(rec["rollout_steps"], target_length(splits["train"]))
        cfg = replace(cfg, **rec)
    res = train_and_evaluate(model, splits, cfg,
                             eval_steps=prof.eval_steps, eval_batch_size=prof.batch_size,
                             test_limit=prof.test_windows, ee_inputs=x, device=device,
                             progress=progress)
    fit_info = res["fit"] if isinstance(res["fit"], dict) else res["fit"].to_dict()
    run: dict[str, Any] = {"model": model_name, "seed": seed, "parameters": res["parameters"],
                           "hparams": jsonable(hparams), "chosen_by": chosen, "fit": fit_info}
    for split in SPLITS:
        ev = res[split]
        run[split] = {"rmse": None, "steps": 0, "windows": 0} if ev is None else ev.to_dict()
    if with_ee:
        run["model_equivariance_error"] = res["model_equivariance_error"]
        with torch.no_grad():
            model.eval()
            scale = float(torch.cat([model(xb.to(device)).abs().flatten().cpu()
                                     for xb in x.split(prof.batch_size)]).mean())
        # the L1 error relative to the mean |output|: comparable across levels whose flows differ
        # in speed
        run["model_equivariance_error_relative"] = run["model_equivariance_error"] / scale
    run["seconds"] = res["seconds"]
    if models_out is not None:
        models_out[key] = model
    return run


# --------------------------------------------------------------------------------------------
# summaries


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    rho = float(spearmanr(a, b).statistic)
    return None if math.isnan(rho) else rho


def _summarise_table(experiment: str, symmetry: str, models: list[str],
                     runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for m in models:
        mine = [r for r in runs if r["model"] == m]
        for split in SPLITS:
            vals = [r[split]["rmse"] for r in mine]
            mean, std = mean_std(vals)
            ref = paper.paper_value(experiment, symmetry, split, m)
            ind = paper.independent_value(experiment, symmetry, split, m)
            rows.append({"model": m, "split": split, "mean": mean, "std": std, "n": len(vals),
                         "steps": mine[0][split]["steps"], "parameters": mine[0]["parameters"],
                         "values": vals, "chosen_by": mine[0].get("chosen_by"),
                         "paper_mean": ref[0] if ref else None,
                         "paper_std": ref[1] if ref else None,
                         "independent_mean": ind[0] if ind else None,
                         "independent_std": ind[1] if ind else None})
    return rows


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Least-squares slope of ``log y`` against ``log x`` (``None`` with < 2 positive pairs)."""
    pairs = [(math.log(a), math.log(b)) for a, b in zip(x, y) if a > 0 and b > 0]
    if len(pairs) < 2:
        return None
    mx = sum(p[0] for p in pairs) / len(pairs)
    my = sum(p[1] for p in pairs) / len(pairs)
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx


def _summarise_figure4(models: list[str], levels: Sequence[int],
                       runs: list[dict[str, Any]], data_ee: dict[int, float],
                       trajectory_ee: dict[int, float] | None = None) -> dict[str, Any]:
    """Rows per model and level, and per model: Spearman's ρ (pooled and per seed), the log-log
    slope of the model's error against the one-step data error over the levels > 0, the
    model/data ratios and the level-0 / last-level ratio (the issue's Fig. 4 targets)."""
    trajectory_ee = trajectory_ee or {}
    rows = []
    for m in models:
        for lv in levels:
            mine = [r for r in runs if r["model"] == m and r["level"] == lv]
            ee_mean, ee_std = mean_std([r["model_equivariance_error"] for r in mine])
            rel_mean, _ = mean_std([r["model_equivariance_error_relative"] for r in mine])
            dom = [r["test_domain"]["rmse"] for r in mine if r["test_domain"]["rmse"] is not None]
            rmse_mean, rmse_std = mean_std(dom) if dom else (None, None)
            rows.append({"model": m, "level": lv, "chosen_by": mine[0].get("chosen_by"),
                         "data_equivariance_error": data_ee[lv],
                         "trajectory_equivariance_error": trajectory_ee.get(lv),
                         "model_equivariance_error": ee_mean, "model_equivariance_error_std": ee_std,
                         "model_equivariance_error_relative": rel_mean,
                         "ratio_to_data": ee_mean / data_ee[lv] if data_ee[lv] > 0 else None,
                         "test_domain_rmse": rmse_mean, "test_domain_rmse_std": rmse_std,
                         "parameters": mine[0]["parameters"] if mine else None,
                         "n": len(mine)})
    rho, rho_rel, rho_seed, slope, slope_seed, level0_ratio = {}, {}, {}, {}, {}, {}
    broken = [lv for lv in levels if lv > 0]
    for m in models:
        mine = [r for r in rows if r["model"] == m]
        rho[m] = _spearman([r["data_equivariance_error"] for r in mine],
                           [r["model_equivariance_error"] for r in mine])
        rho_rel[m] = _spearman([r["data_equivariance_error"] for r in mine],
                               [r["model_equivariance_error_relative"] for r in mine])
        seeds = sorted({r["seed"] for r in runs if r["model"] == m})
        per = {sd: {r["level"]: r["model_equivariance_error"] for r in runs
                    if r["model"] == m and r["seed"] == sd} for sd in seeds}
        rho_seed[m] = {sd: _spearman([data_ee[lv] for lv in levels], [per[sd][lv] for lv in levels])
                       for sd in seeds}
        slope[m] = loglog_slope([data_ee[lv] for lv in broken],
                                [r["model_equivariance_error"] for r in mine if r["level"] in broken])
        slope_seed[m] = {sd: loglog_slope([data_ee[lv] for lv in broken], [per[sd][lv] for lv in broken])
                         for sd in seeds}
        if levels and levels[0] == 0 and len(levels) > 1 and mine[-1]["model_equivariance_error"] > 0:
            level0_ratio[m] = mine[0]["model_equivariance_error"] / mine[-1]["model_equivariance_error"]
    return {"rows": rows, "spearman": rho, "spearman_relative": rho_rel, "spearman_per_seed": rho_seed,
            "loglog_slope": slope, "loglog_slope_per_seed": slope_seed,
            "level0_over_last": level0_ratio,
            "data_error": "one-step (Def. 3.1 of the simulator's own step, same windows and L1 norm "
                          "as the models' error); trajectory_equivariance_error: Sec. 5.2"}


def _fmt(mean: float | None, std: float | None, digits: int = 3) -> str:
    if mean is None:
        return "—"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _fmt_e(mean: float, std: float | None) -> str:
    return f"{mean:.3e}" + (f" ± {std:.1e}" if std is not None else "")


def format_results(results: dict[str, Any]) -> str:
    """The printed table of a :func:`reproduce` result."""
    exp, sym, prof = results["experiment"], results["symmetry"], results["profile"]
    head = (f"{exp} ({sym}, profile {prof}, {results['seeds']} seed(s), "
            f"{results['seconds']:.0f} s wall, {results.get('cpu_seconds', 0):.0f} s CPU on "
            f"{results['device']})")
    lines = [head]
    if exp == "figure4":
        summ = results["summary"]
        lines.append(f"{'model':<12} {'params':>7} {'level':>5} {'data EE 1-step':>14} "
                     f"{'(trajectory)':>12} {'model EE':>22} {'model/data':>10} {'domain RMSE':>20}")
        for r in summ["rows"]:
            traj = r.get("trajectory_equivariance_error")
            ratio = r.get("ratio_to_data")
            lines.append(
                f"{paper.DISPLAY_NAMES.get(r['model'], r['model']):<12} {r.get('parameters') or 0:>7,} "
                f"{r['level']:>5} {r['data_equivariance_error']:>14.4g} "
                f"{'' if traj is None else f'{traj:.4g}':>12} "
                f"{_fmt_e(r['model_equivariance_error'], r['model_equivariance_error_std']):>22} "
                f"{'' if ratio is None else f'{ratio:.3g}':>10} "
                f"{_fmt(r['test_domain_rmse'], r['test_domain_rmse_std']):>20}")
        def _f(v: float | None) -> str:
            return "undefined" if v is None else f"{v:.3f}"

        for m, rho in summ["spearman"].items():
            per_seed = summ.get("spearman_per_seed", {}).get(m, {})
            lines.append(f"{m}: Spearman rho(data EE, model EE) {_f(rho)} (per seed "
                         + ", ".join(_f(v) for v in per_seed.values()) + "); log-log slope over "
                         f"levels > 0 {_f(summ.get('loglog_slope', {}).get(m))}; level 0 / last level "
                         f"{summ.get('level0_over_last', {}).get(m, float('nan')):.3g}")
        lines.append("data EE 1-step: Def. 3.1 of the simulator's own one-step map on the windows the "
                     "models are measured on (L1, non-identity C4 elements); (trajectory): Sec. 5.2's "
                     "error accumulated over whole trajectories, not comparable with a one-step model")
        return "\n".join(lines)
    steps = {r["split"]: r["steps"] for r in results["summary"]}
    lines.append(f"{'model':<12} {'params':>7} {'future RMSE':>17} {'(paper)':>14} {'domain RMSE':>17} "
                 f"{'(paper)':>14}   [{steps.get('test_future')}-step / "
                 f"{steps.get('test_domain')}-step rollouts]")
    for m in results["models"]:
        cells = []
        params = 0
        for split in SPLITS:
            r = next(r for r in results["summary"] if r["model"] == m and r["split"] == split)
            params = r.get("parameters") or 0
            cells.append(f"{_fmt(r['mean'], r['std']):>17} "
                         f"{'(' + _fmt(r['paper_mean'], r['paper_std'], 2) + ')':>14}")
        lines.append(f"{paper.DISPLAY_NAMES.get(m, m):<12} {params:>7,} " + " ".join(cells))
    lines.append("params: trainable parameters (closed-form baselines: the fitted stencil weights); "
                 "networks without an explicit width are matched to the profile's parameter budget")
    if exp == "table1":
        lines.append("paper: 64x64 PhiFlow 2.0.1 smoke, 20-step RMSE, 3 runs; aeqkit re-simulates "
                     "on PhiFlow 3.4, so compare orderings, not absolute values")
    else:
        lines.append("paper: real NASA PIV jet windows, 20-step RMSE; aeqkit's jet data here is "
                     "SYNTHETIC (aeqkit.data.jet), so compare orderings, not absolute values")
    return "\n".join(lines)


def _write_outputs(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    from aeqkit.io import atomic_write_bytes

    stem = f"{results['experiment']}_{results['symmetry']}_{results['profile']}"
    json_path = out / f"{stem}.json"
    csv_path = out / f"{stem}.csv"
    atomic_write_bytes(json.dumps(results, indent=1, default=str).encode(), json_path)
    rows = (results["summary"]["rows"] if results["experiment"] == "figure4"
            else results["summary"])
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    atomic_write_bytes(buf.getvalue().encode(), csv_path)
    return json_path, csv_path


# --------------------------------------------------------------------------------------------
# entry point


def reproduce(
    experiment: str,
    symmetry: str = "rotation",
    profile: str = "quick",
    seeds: int | Sequence[int] | None = None,
    models: str | Sequence[str] | None = None,
    out: str | os.PathLike | None = "build",
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    profile_overrides: dict[str, Any] | None = None,
    data_overrides: dict[str, Any] | None = None,
    load_fn: Callable[..., Any] | None = None,
    build_fn: Callable[..., torch.nn.Module] | None = None,
    models_out: dict | None = None,
) -> dict[str, Any]:
    """Train and evaluate the named models on the named data set (paper Sec. 5).

    Args:
        experiment: ``"table1"``, ``"table2"`` or ``"figure4"``.
        symmetry: a row of the experiment (:data:`SYMMETRIES`).
        profile: ``"quick"`` or ``"full"`` (:data:`PROFILES`).
        seeds: number of seeds (seeds 0, 1, ...) or the list of seeds; default: the profile's.
        models: ``"conv,equiv"`` or a list; default :data:`DEFAULT_MODELS`.
        out: folder for the JSON and CSV files (``None``: write nothing).
        device: default :func:`aeqkit.utils.default_device`.
        progress: tqdm bars during training.
        log: where progress lines go (default: stderr).
        profile_overrides: fields of :class:`Profile` to change (e.g. ``{"epochs": 2}``).
        data_overrides: keyword arguments for ``aeqkit.data.load_dataset``.
        load_fn: ``load_fn(name, profile, progress=..., **overrides)`` returning an object with
            ``.splits`` and ``.meta`` (default ``aeqkit.data.load_dataset``).
        build_fn: ``build_fn(name, symmetry, **hparams)`` (default ``aeqkit.models.build``).
        models_out: a dict that receives the trained models, keyed ``(name, seed)`` (Figure 4:
            ``(level, name, seed)``), e.g. for rollout figures (notebook 03).

    Returns:
        A JSON-serialisable dict: the request, every run, and the ``summary``.
    """
    validate_request(experiment, symmetry, profile)
    if experiment not in _paper_experiments():
        raise ValueError(f"{experiment!r} is not one of the paper's experiments "
                         f"({', '.join(_paper_experiments())}); run it with "
                         f"aeqkit.reproduce.run_experiment({experiment!r}, ...) or python -m aeqkit "
                         f"reproduce {experiment}")
    names = parse_models(models, experiment, symmetry)
    prof = PROFILES[profile]
    if profile_overrides:
        unknown = set(profile_overrides) - set(asdict(prof))
        if unknown:
            raise ValueError(f"unknown profile field(s) {sorted(unknown)}; accepted: "
                             f"{', '.join(asdict(prof))}")
        prof = replace(prof, **profile_overrides)
    seed_list = _seed_list(prof.seeds if seeds is None else seeds)
    n_seeds = len(seed_list)
    load_fn = load_fn or _default_load
    build_fn = build_fn or _default_build
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    device = torch.device(device) if device is not None else default_device()
    model_symmetry = _MODEL_SYMMETRY.get(symmetry, symmetry)
    data_name = experiment_specs()[experiment].datasets[symmetry]
    data_profile = prof.data_profile or profile
    overrides = dict(data_overrides or {})
    overrides.setdefault("eval_steps", prof.eval_steps)  # test windows long enough for the horizon
    if build_fn is _default_build:  # a model that does not exist for this row fails now
        check_models_exist(names, model_symmetry)
    if out is not None:
        check_out_writable(out)  # fail now, not after all the training

    start = time.perf_counter()
    cpu_start = time.process_time()
    runs: list[dict[str, Any]] = []
    if experiment == "figure4":
        levels = list(prof.levels)
        data_ee: dict[int, float] = {}
        trajectory_ee: dict[int, float] = {}
        datasets = {}
        for lv in levels:
            datasets[lv] = load_fn(data_name, data_profile, level=lv, progress=progress, **overrides)
            check_eval_steps(datasets[lv], prof.eval_steps)
            trajectory_ee[lv] = _data_equivariance_error(datasets[lv])
        _preflight(build_fn, names, model_symmetry, prof, _grid(datasets[levels[0]]), figure4=True)
        data_ee = _one_step_data_errors(datasets, trajectory_ee, log)
        total = len(levels) * len(names) * n_seeds
        for lv in levels:
            for m in names:
                for seed in seed_list:
                    t0 = time.perf_counter()
                    run = _reuse_closed_form(runs, m, seed, seed_list[0], lv) or _train_one(
                        build_fn, m, model_symmetry, datasets[lv], prof, seed, device, progress,
                        with_ee=True, models_out=models_out, key=(lv, m, seed),
                        experiment=experiment, row=symmetry)
                    run["level"] = lv
                    runs.append(run)
                    log(f"[{len(runs)}/{total}] level {lv} {m} seed {seed}: model EE "
                        f"{run['model_equivariance_error']:.4g} (data EE {data_ee[lv]:.4g}), "
                        f"domain RMSE {_fmt(run['test_domain']['rmse'], None, 4)} "
                        f"({time.perf_counter() - t0:.0f} s)")
        summary: Any = _summarise_figure4(names, levels, runs, data_ee, trajectory_ee)
        data_meta = {lv: jsonable(getattr(datasets[lv], "meta", {})) for lv in levels}
    else:
        data = load_fn(data_name, data_profile, progress=progress, **overrides)
        check_eval_steps(data, prof.eval_steps)
        _preflight(build_fn, names, model_symmetry, prof, _grid(data))
        total = len(names) * n_seeds
        for m in names:
            for seed in seed_list:
                t0 = time.perf_counter()
                run = _reuse_closed_form(runs, m, seed, seed_list[0]) or _train_one(
                    build_fn, m, model_symmetry, data, prof, seed, device, progress, with_ee=False,
                    models_out=models_out, key=(m, seed), experiment=experiment, row=symmetry)
                runs.append(run)
                log(f"[{len(runs)}/{total}] {m} seed {seed}: future RMSE "
                    f"{run['test_future']['rmse']:.4f}, domain RMSE "
                    f"{run['test_domain']['rmse']:.4f}, {run['fit']['epochs_run']} epochs "
                    f"({time.perf_counter() - t0:.0f} s)")
        summary = _summarise_table(experiment, symmetry, names, runs)
        data_meta = jsonable(getattr(data, "meta", {}))

    results = {
        "experiment": experiment, "symmetry": symmetry, "profile": profile, "seeds": n_seeds,
        "models": names, "dataset": data_name, "device": str(device),
        "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start,
        "threads": torch.get_num_threads(), "profile_settings": asdict(prof),
        "versions": versions(), "data_meta": data_meta, "runs": runs, "summary": summary,
    }
    if out is not None:
        try:
            json_path, csv_path = _write_outputs(results, Path(out))
            results["files"] = [str(json_path), str(csv_path)]
        except OSError as err:  # e.g. the disk filled up during training: keep the results
            results["write_error"] = f"could not write the results to {out}: {err}"
            log(results["write_error"])
    return results


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``seeds`` as a list: a count ``n`` is seeds ``0..n-1``; a list of distinct integers >= 0
    is itself."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be an integer >= 1 or a list of seeds, got {seeds!r}")
        return list(range(seeds))
    if isinstance(seeds, (list, tuple)) and seeds and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds) and len(
            set(seeds)) == len(seeds):
        return list(seeds)
    raise ValueError(f"seeds must be an integer >= 1 or a list of distinct integers >= 0, got "
                     f"{seeds!r}")


def _reuse_closed_form(runs: list[dict[str, Any]], model: str, seed: int, first_seed: int = 0,
                       level: int | None = None) -> dict[str, Any] | None:
    """A closed-form baseline does not depend on the seed: later seeds reuse the first seed's run."""
    prior = next((r for r in runs if r["model"] == model and r.get("level") == level
                  and r["fit"].get("closed_form")), None)
    if prior is None or seed == first_seed:
        return None
    return {**prior, "seed": seed, "seconds": 0.0, "reused_seed": prior["seed"]}


def _preflight(build_fn: Callable, names: list[str], symmetry: str, prof: Profile,
               grid: tuple[int, int], figure4: bool = False) -> None:
    """Build every model once before training anything, so a bad name or size fails early."""
    for m in names:
        try:
            _build(build_fn, m, symmetry, prof, grid, figure4)
        except ValueError as err:
            raise ValueError(f"cannot build model {m!r} for symmetry {symmetry!r} on a "
                             f"{grid[0]}x{grid[1]} grid: {err}") from err


def _one_step_data_errors(datasets: dict[int, Any], fallback: dict[int, float],
                          log: Callable[[str], None]) -> dict[int, float]:
    """The one-step data equivariance error of each level on the windows the models are measured
    on (:func:`aeqkit.data.one_step_data_errors`, one batched re-simulation for all levels); data
    without a smoke config (injected test data) fall back to the metadata's value."""
    from aeqkit.data import ForecastData, one_step_data_errors
    from aeqkit.data.smoke import SmokeConfig

    real = [lv for lv, d in datasets.items()
            if isinstance(d, ForecastData) and isinstance(d.config, SmokeConfig)]
    out = {lv: float(getattr(d, "meta", {}).get("one_step_equivariance_error", fallback[lv]))
           for lv, d in datasets.items() if lv not in real}
    if real:
        t0 = time.perf_counter()
        for lv, r in zip(real, one_step_data_errors([datasets[lv] for lv in real])):
            out[lv] = r["mean"]
        log(f"one-step data equivariance errors of levels {real}: "
            + ", ".join(f"{out[lv]:.3g}" for lv in real) + f" ({time.perf_counter() - t0:.0f} s)")
    return out


def _data_equivariance_error(data) -> float:
    """The data set's Sec. 5.2 trajectory equivariance error, from its metadata."""
    meta = getattr(data, "meta", {}) or {}
    for key in ("data_equivariance_error", "equivariance_error", "data_ee"):
        if key in meta:
            value = meta[key]
            value = getattr(value, "mean", value)
            return float(value)
    raise ValueError("the smoke_levels data set carries no 'data_equivariance_error' in its meta; "
                     f"found keys {sorted(meta)}")


# --------------------------------------------------------------------------------------------
# the experiment registry


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment of ``python -m aeqkit reproduce`` (listed by ``--list``).

    Attributes:
        name: the CLI name (``table1``, ``heat``, ...).
        title: what it reproduces (paper section, table or figure).
        datasets: symmetry row -> the data set it trains on (a name of :mod:`aeqkit.data`'s
            registry; the heat study builds orbit-balanced plates, :func:`aeqkit.experiments.heat_data`).
        profiles: the profile names it accepts.
        default_models: ``row -> model names`` trained when ``--models`` is not given (read from
            the model registry on each call).
        run: ``run(name, symmetry, profile, *, seeds, models, out, device, progress, log)`` ->
            JSON-ready results.
        format: ``results -> text`` printed by the CLI.
        paper: whether it is a table or figure of the paper's Sec. 5, run by :func:`reproduce`
            (and tuned by :mod:`aeqkit.sweep`); otherwise a study of :mod:`aeqkit.experiments`.
    """

    name: str
    title: str
    datasets: dict[str, str]
    profiles: tuple[str, ...]
    default_models: Callable[[str], tuple[str, ...]]
    run: Callable[..., dict[str, Any]]
    format: Callable[[dict[str, Any]], str]
    paper: bool = True


_EXPERIMENTS: dict[str, ExperimentSpec] = {}


def register_experiment(spec: ExperimentSpec) -> ExperimentSpec:
    """Add (or replace) an experiment; ``reproduce --list``, the CLI's choices and validation,
    :data:`SYMMETRIES` and :data:`DEFAULT_MODELS` follow."""
    if not isinstance(spec, ExperimentSpec):
        raise TypeError(f"spec must be an ExperimentSpec, got {type(spec).__name__}")
    experiment_specs()  # the built-in ones first, so they keep their place
    _EXPERIMENTS[spec.name] = spec
    return spec


def experiment_specs() -> dict[str, ExperimentSpec]:
    """Every registered experiment by name (the paper's first, then aeqkit's studies)."""
    if not _EXPERIMENTS:
        for spec in _builtin_experiments():
            _EXPERIMENTS[spec.name] = spec
    return dict(_EXPERIMENTS)


def get_experiment_spec(name: str) -> ExperimentSpec:
    """The :class:`ExperimentSpec` of ``name``; ``ValueError`` naming the accepted ones."""
    specs = experiment_specs()
    if name not in specs:
        raise ValueError(f"unknown experiment {name!r}; accepted: {', '.join(specs)}")
    return specs[name]


def _paper_experiments() -> tuple[str, ...]:
    return tuple(n for n, s in experiment_specs().items() if s.paper)


def row_baselines(experiment: str, symmetry: str) -> tuple[str, ...]:
    """The closed-form baselines of a row (``kind="baseline"`` in the model registry) that exist
    for its model symmetry; a baseline tied to a group (``stencil_c4``) only where the row's data
    set has that group (``aeqkit.data`` registry)."""
    from aeqkit.data.registry import dataset_specs
    from aeqkit.models.registry import model_specs

    spec = experiment_specs()[experiment]
    data = dataset_specs().get(spec.datasets.get(symmetry, ""))
    group = data.group if data is not None else None
    ms = _MODEL_SYMMETRY.get(symmetry, symmetry)
    return tuple(n for n, m in model_specs().items()
                 if m.kind == "baseline" and ms in m.symmetries
                 and m.fixed.get("tie") in (None, group))


def table_networks(symmetry: str, columns: Sequence[str]) -> tuple[str, ...]:
    """The networks a Table 1 row trains by default: the paper's columns that are the reference
    network (Conv) or strict or relaxed models (model registry ``kind``), built for ``symmetry``
    and not the same class as an earlier one (the strict translation model *is* Conv)."""
    from aeqkit.models.registry import model_specs

    specs, seen, out = model_specs(), set(), []
    for name in columns:
        m = specs.get(name)
        if m is None or symmetry not in m.symmetries:
            continue
        if name != REFERENCE_NETWORK and m.kind not in ("strict", "relaxed"):
            continue
        cls = m.classes.get(symmetry)
        if cls in seen:
            continue
        seen.add(cls)
        out.append(name)
    return tuple(out)


def default_models(experiment: str, symmetry: str) -> tuple[str, ...]:
    """Models trained for a row when none are named (:data:`DEFAULT_MODELS`), baselines first."""
    spec = get_experiment_spec(experiment)
    validate_request(experiment, symmetry, spec.profiles[0])
    return spec.default_models(symmetry)


#: Figure 4 (Sec. 5.2): "two-layer ConvNet, E2CNN and RSteer", beside the least-squares stencil.
_FIGURE4_MODELS = ("stencil", "conv", "equiv", "rsteer")


def _run_paper(name: str, symmetry: str, profile: str, **kw: Any) -> dict[str, Any]:
    return reproduce(name, symmetry, profile, **kw)


def _study_seeds(seeds: int | Sequence[int] | None) -> tuple[int, ...] | None:
    return None if seeds is None else tuple(_seed_list(seeds))


def _run_study(name: str, symmetry: str, profile: str, *, seeds: int | Sequence[int] | None = None,
               models: str | Sequence[str] | None = None, out: str | os.PathLike | None = "build",
               device: Any = None, progress: bool = False,
               log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The heat or jet study of :mod:`aeqkit.experiments` (CPU), written to
    ``<out>/<name>_<symmetry>_<profile>.json``."""
    from aeqkit import experiments

    names = None if models is None else parse_models(models, name, symmetry)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if name == "heat":
        res = experiments.heat_experiment(profile, models=names, seeds=_study_seeds(seeds), log=log)
    else:
        res = experiments.jet_experiment(profile, seeds=_study_seeds(seeds), symmetries=[symmetry],
                                         models=names, log=log)
    res["symmetry"] = symmetry
    if out is not None:
        from aeqkit.io import atomic_write_bytes

        path = check_out_writable(out) / f"{name}_{symmetry}_{profile}.json"
        try:
            atomic_write_bytes(json.dumps(jsonable(res), indent=1).encode(), path)
            res["files"] = [str(path)]
        except OSError as err:
            res["write_error"] = f"could not write the results to {out}: {err}"
    return res


def _format_study(results: dict[str, Any]) -> str:
    """Mean ± std per model (test-domain, test-future RMSE) and the study's claims."""
    from aeqkit import experiments

    blocks = ([(f"β={row['beta']}", row["runs"]) for row in results["betas"]]
              if results["experiment"] == "heat"
              else [(sym, b["runs"]) for sym, b in results["symmetries"].items()])
    lines = [f"{results['experiment']} (profile {results['profile']}, "
             f"{results.get('seconds', 0):.0f} s)"]
    for setting, runs in blocks:
        lines.append(f"{setting}: {'model':<12} {'params':>7} {'domain RMSE':>20} {'future RMSE':>20}")
        for m, s in experiments.summarise(runs).items():
            lines.append(f"{'':{len(setting) + 2}}{paper.DISPLAY_NAMES.get(m, m):<12} "
                         f"{s['parameters']:>7,} {_fmt(*s['test_domain'], 5):>20} "
                         f"{_fmt(*s['test_future'], 5):>20}")
    claims = (experiments.heat_claims if results["experiment"] == "heat"
              else experiments.jet_claims)(results)
    lines += [("HOLDS   " if c["holds"] else "FAILS   ") + c["claim"] + ": " + c["measured"]
              for c in claims]
    return "\n".join(lines)


def _builtin_experiments() -> list[ExperimentSpec]:
    from aeqkit.data.registry import dataset_specs

    data = dataset_specs()
    smoke = ("smoke_translation", "smoke_rotation", "smoke_scaling")
    paper_profiles = tuple(PROFILES)

    def table1(sym: str) -> tuple[str, ...]:
        return row_baselines("table1", sym) + table_networks(sym, paper.TABLE1_MODELS)

    def table2(sym: str) -> tuple[str, ...]:
        return row_baselines("table2", sym) + tuple(paper.TABLE2_MODELS[sym])

    def heat_models(sym: str) -> tuple[str, ...]:
        from aeqkit.experiments import HEAT_MODELS

        return tuple(HEAT_MODELS)

    def jet_models(sym: str) -> tuple[str, ...]:
        from aeqkit.experiments import JET_PROFILES, jet_model_names

        return jet_model_names(JET_PROFILES["medium"], sym)

    from aeqkit.experiments import HEAT_PROFILES, JET_PROFILES

    return [
        ExperimentSpec("table1", "Table 1 (Sec. 5.1): smoke plumes, future and domain RMSE",
                       {data[d].symmetry: d for d in smoke}, paper_profiles, table1, _run_paper,
                       format_results),
        ExperimentSpec("table2", "Table 2 (Sec. 5.3): jet flow (SYNTHETIC stand-in for the PIV "
                       "data)", {s: "jet" for s in paper.TABLE2_MODELS}, paper_profiles, table2,
                       _run_paper, format_results),
        ExperimentSpec("figure4", "Fig. 4 (Sec. 5.2): model vs data equivariance error over ten "
                       "symmetry-breaking levels", {data["smoke_levels"].symmetry: "smoke_levels"},
                       paper_profiles, lambda sym: _FIGURE4_MODELS, _run_paper, format_results),
        ExperimentSpec("heat", "heat diffusion on rotated plates (Fig. 2 / Sec. 5.2 applied to "
                       "heat; notebook 01)", {"rotation": "heat"}, tuple(HEAT_PROFILES),
                       heat_models, _run_study, _format_study, paper=False),
        ExperimentSpec("jet", "jet flow per symmetry (Table 2 analogue, SYNTHETIC; notebook 04)",
                       {s: "jet" for s in JET_PROFILES["medium"].symmetries}, tuple(JET_PROFILES),
                       jet_models, _run_study, _format_study, paper=False),
    ]


def run_experiment(name: str, symmetry: str = "rotation", profile: str = "quick",
                   **kw: Any) -> dict[str, Any]:
    """Run any registered experiment (``python -m aeqkit reproduce <name>``): the paper's through
    :func:`reproduce`, the heat / jet studies through :mod:`aeqkit.experiments`. ``kw``:
    ``seeds``, ``models``, ``out``, ``device``, ``progress``, ``log``."""
    validate_request(name, symmetry, profile)
    return get_experiment_spec(name).run(name, symmetry, profile, **kw)


def experiments_table() -> str:
    """The registry as text (``python -m aeqkit reproduce --list``)."""
    lines = []
    for name, spec in experiment_specs().items():
        lines.append(f"{name:<8} {spec.title}")
        lines.append(f"{'':<8} profiles: {', '.join(spec.profiles)}")
        for row, ds in spec.datasets.items():
            lines.append(f"{'':<8} {row:<12} data {ds:<18} models "
                         + ",".join(spec.default_models(row)))
    return "\n".join(lines)


def __getattr__(name: str) -> Any:
    # lists derived from the registries on each access (PEP 562), so they never drift from them
    if name == "EXPERIMENTS":
        return _paper_experiments()
    if name == "SYMMETRIES":
        return {n: tuple(s.datasets) for n, s in experiment_specs().items()}
    if name == "KNOWN_MODELS":
        from aeqkit.models.registry import model_specs

        return tuple(model_specs())
    if name == "DEFAULT_MODELS":
        return {n: {row: s.default_models(row) for row in s.datasets}
                for n, s in experiment_specs().items()}
    if name == "BASELINES":
        return {row: row_baselines(n, row) for n, s in experiment_specs().items() if s.paper
                for row in s.datasets}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
