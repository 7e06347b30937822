"""Hyperparameter sweeps on Optuna over the paper's Table 3 grid, on one machine or many.

``python -m aeqkit sweep table1 --symmetry rotation --models conv,rsteer --trials 20`` runs one
Optuna study per model over its search space (:func:`search_space`: learning rate, batch size,
hidden width, depth, filter banks for group models only, rollout steps, α for models with a
relaxation penalty only). The objective is the best **validation** RMSE of
:func:`aeqkit.train.fit` under the experiment's protocol (:mod:`aeqkit.reproduce`: its data, model
builder and profile settings; for the ``heat`` and ``jet`` studies their own protocol,
:func:`aeqkit.experiments.sweep_protocol`); test splits are never touched. A seeded TPE sampler proposes
settings, a median (or successive-halving) pruner stops poor trials from their per-epoch
validation RMSE, and ``load_if_exists`` makes an interrupted sweep resume where it stopped.

Storage: SQLite under ``build/sweeps/`` by default; any SQLAlchemy URL otherwise, e.g.
``postgresql://user:pw@host/db`` (needs the ``postgres`` extra, psycopg 3), so that the same
command started on several machines joins one study. ``--workers K`` starts K worker processes on
this machine against the same storage. Optuna does the bookkeeping; aeqkit writes no scheduler,
queue or storage of its own.

Results a person reads: ``build/sweeps/<study>.json`` (best trial, its ``build`` / ``fit`` keyword
arguments, every trial's state and value), :func:`study_settings` (the keyword arguments of
``aeqkit.models.build`` and ``aeqkit.train.fit`` from a finished study), plotly figures
(:func:`plot_history`, :func:`plot_importances`, :func:`plot_parallel`), and recorded settings
``aeqkit/settings/<profile>.json`` read by :func:`recorded_settings`, each naming the command,
trial count and validation score that chose it.

See also: README "Sweeps", :mod:`aeqkit.reproduce`, paper App. A.1 and Table 3.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import inspect
import json
import math
import multiprocessing
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from aeqkit.settings import (  # re-exported: the recorded settings a sweep writes
    FIT_KEYS,
    SETTINGS_DIR,
    record_settings,
    recorded_settings,
    settings_path,
    with_recorded_settings,
)

__all__ = [
    "FIT_KEYS",
    "SETTINGS_DIR",
    "SCALED_SPACE",
    "SPACES",
    "STUDIES",
    "TABLE3",
    "ModelSpace",
    "PostgresUnavailable",
    "SearchSpace",
    "SweepConfig",
    "add_arguments",
    "best_summary",
    "default_storage",
    "load_sweep",
    "main",
    "plot_history",
    "plot_importances",
    "plot_parallel",
    "matched_build",
    "MATCHED_SPACE",
    "record_settings",
    "recorded_settings",
    "run_sweep",
    "search_space",
    "settings_path",
    "study_name",
    "study_from_summary",
    "study_space",
    "study_settings",
    "suggest",
    "temporary_postgres",
    "with_recorded_settings",
    "toy_objective",
]

#: Paper App. A.1: every model stays below 10^7 trainable parameters; larger trials are pruned.
MAX_PARAMETERS = 10**7
#: Default folder of the SQLite storage and the result files.
DEFAULT_OUT = Path("build") / "sweeps"
PRUNERS = ("median", "halving", "none")
#: Experiments swept under their own study's protocol (:func:`aeqkit.experiments.sweep_protocol`)
#: instead of :mod:`aeqkit.reproduce`'s.
STUDIES = ("heat", "jet")
OBJECTIVES = ("experiment", "toy")


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the paper's Table 3 grid (or a scaled-down copy).

    Attributes:
        lr: ``(low, high)`` of the learning rate, sampled log-uniformly.
        batch_sizes: batch size choices.
        width_factors: hidden width as multiples of the profile's width of each model (Table 3:
            64-512 hidden channels against aeqkit's default 64).
        num_layers: ``(low, high)`` depth.
        num_filter_banks: ``(low, high)`` filter banks L, for models that have them (RGroup).
        rollout_steps: ``(low, high)`` autoregressive steps of the training loss (capped by the
            training windows' target length).
        alphas: α choices for models with a relaxation penalty (Sec. 3.3).
        kernel_sizes: kernel size choices; ``None``: the profile's kernel size.
        matched_budget: hold every trial at the profile's parameter budget (``param_budget``,
            ``figure4_budget`` for Figure 4): the width is not sampled but set by
            :func:`aeqkit.reproduce.matched_width` for the sampled depth, kernel size and banks, so
            that models are compared like with like at one parameter count (issue 10 item 5).
            Profiles without a budget fall back to ``width_factors``.
    """

    lr: tuple[float, float]
    batch_sizes: tuple[int, ...]
    width_factors: tuple[float, ...]
    num_layers: tuple[int, int]
    num_filter_banks: tuple[int, int]
    rollout_steps: tuple[int, int]
    alphas: tuple[float, ...]
    kernel_sizes: tuple[int, ...] | None = None
    matched_budget: bool = False


#: The paper's Table 3 (App. A.1).
TABLE3 = SearchSpace(lr=(1e-5, 1e-2), batch_sizes=(8, 16, 32, 64), width_factors=(1, 2, 4, 8),
                     num_layers=(3, 6), num_filter_banks=(1, 4), rollout_steps=(3, 6),
                     alphas=(0.0, 1e-2, 1e-4, 1e-6))
#: Table 3 scaled to a CPU budget: the rates that move in tens of epochs, half to twice the
#: profile's width, 2-4 layers, 1-3 banks, 2-4 rollout steps.
SCALED_SPACE = SearchSpace(lr=(1e-4, 1e-2), batch_sizes=(8, 16, 32), width_factors=(0.5, 1, 2),
                           num_layers=(2, 4), num_filter_banks=(1, 3), rollout_steps=(2, 4),
                           alphas=(0.0, 1e-2, 1e-4, 1e-6))
#: The medium profile's space: Table 3's training settings scaled to a CPU budget (lr 3e-4 to 1e-2,
#: batch 8-32, 2-5 layers, 3x3 or 5x5 kernels, 1-3 banks, 2-5 rollout steps, every α) with the
#: width held at the profile's parameter budget, so that every model is tuned at the same
#: parameter count.
MATCHED_SPACE = SearchSpace(lr=(3e-4, 1e-2), batch_sizes=(8, 16, 32), width_factors=(1,),
                            num_layers=(2, 5), num_filter_banks=(1, 3), rollout_steps=(2, 5),
                            alphas=(0.0, 1e-2, 1e-4, 1e-6), kernel_sizes=(3, 5),
                            matched_budget=True)
#: Space per profile of :data:`aeqkit.reproduce.PROFILES`; any other profile uses
#: :data:`SCALED_SPACE`.
SPACES: dict[str, SearchSpace] = {"full": TABLE3, "medium": MATCHED_SPACE}


@dataclass(frozen=True)
class ModelSpace:
    """The concrete choices of one model's study (stored in the study, checked on resume);
    ``default`` is the profile's own setting (the parts inside the space), tried first. With a
    ``budget`` the width is not sampled: each trial gets the width matched to ``budget``
    parameters (``widths`` then holds the profile's matched width, for reference)."""

    model: str
    widths: tuple[int, ...]
    lr: tuple[float, float]
    batch_sizes: tuple[int, ...]
    num_layers: tuple[int, int]
    rollout_steps: tuple[int, int]
    num_filter_banks: tuple[int, int] | None
    alphas: tuple[float, ...] | None
    base: dict[str, Any] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=dict)
    kernel_sizes: tuple[int, ...] | None = None
    budget: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = json.loads(json.dumps(asdict(self)))
        for k in ("kernel_sizes", "budget"):  # absent when unused: older studies still resume
            if out[k] is None:
                del out[k]
        return out


def _probe(model: str, symmetry: str | None, build_kw: dict[str, Any],
           build_fn: Callable[..., Any]) -> tuple[int | None, float | None]:
    """(default filter banks or None, default α when the model has a relaxation penalty, else
    None) of a model, from one built instance."""
    m = build_fn(model, symmetry, **build_kw)
    param = inspect.signature(type(m).__init__).parameters.get("num_filter_banks")
    banks = param.default if param is not None and isinstance(param.default, int) else None
    alpha = getattr(m, "alpha", 0.0)
    relaxed = isinstance(alpha, (int, float)) and float(alpha) > 0
    return banks, float(alpha) if relaxed else None


def search_space(model: str, symmetry: str | None, profile: str, grid: tuple[int, int],
                 max_rollout: int, build_fn: Callable[..., Any] | None = None,
                 space: SearchSpace | None = None, figure4: bool = False) -> ModelSpace:
    """The search space of one model under a profile (paper Table 3, per-model).

    Widths are the profile's width of the model (:func:`aeqkit.reproduce.model_hparams`) times
    ``space.width_factors``; filter banks only for models whose class takes ``num_filter_banks``
    (RGroup); α only for models built with a positive ``alpha`` (the relaxed models, RPP's prior and
    CLCNN's hinge); rollout steps capped by ``max_rollout`` (the training target length). The
    profile's own setting (``default``) is enqueued as a new study's first trial.
    """
    from aeqkit import reproduce as rep

    space = space or SPACES.get(profile, SCALED_SPACE)
    prof = rep.PROFILES[profile]
    budget = ((prof.figure4_budget or prof.param_budget) if figure4 else prof.param_budget) \
        if space.matched_budget else None
    if figure4 and "figure4" in inspect.signature(rep.model_hparams).parameters:
        base = rep.model_hparams(prof, model, symmetry, grid, figure4=True)
    else:
        base = rep.model_hparams(prof, model, symmetry, grid)
    width = base.get("width")
    if width is None:  # the models' defaults are about twice the quick widths (quick_width)
        width = 2 * rep.quick_width(model, symmetry)
    widths = tuple(sorted({max(1, int(round(width * f))) for f in space.width_factors}))
    banks, alpha = _probe(model, symmetry, base, build_fn or rep._default_build)
    lo, hi = space.rollout_steps
    if max_rollout < 1:
        raise ValueError(f"max_rollout must be >= 1, got {max_rollout}")
    rollout = (min(lo, max_rollout), min(hi, max_rollout))
    # the profile's own setting, evaluated first so that a sweep can only improve on it
    default: dict[str, Any] = {"width": width, "num_layers": base.get("num_layers"),
                               "num_filter_banks": banks, "alpha": alpha, "lr": prof.lr,
                               "batch_size": prof.batch_size,
                               "rollout_steps": min(prof.rollout_steps, max_rollout)}
    return _model_space_of(model, space, base, default, widths, rollout, space.batch_sizes,
                           banks, alpha, budget)


def _model_space_of(model: str, space: SearchSpace, base: dict[str, Any],
                    default: dict[str, Any], widths: tuple[int, ...], rollout: tuple[int, int],
                    batch_sizes: tuple[int, ...], banks: int | None, alpha: float | None,
                    budget: int | None) -> ModelSpace:
    """The :class:`ModelSpace` of one model: ``default`` (trial 0) kept only where it lies in the
    space, ``base`` without the sampled keywords; with a ``budget`` the width is matched per
    trial, not sampled (:func:`matched_build`)."""
    default = dict(default)
    if budget is not None:  # the width follows from the budget, trial by trial
        widths = (default.pop("width"),)
    if space.kernel_sizes is not None:
        default["kernel_size"] = base.get("kernel_size")
    ranges = {"num_layers": space.num_layers, "num_filter_banks": space.num_filter_banks,
              "lr": space.lr, "rollout_steps": rollout}
    choices = {"width": widths, "alpha": space.alphas, "batch_size": batch_sizes,
               "kernel_size": space.kernel_sizes or ()}
    default = {k: v for k, v in default.items() if v is not None and (
        (k in ranges and ranges[k][0] <= v <= ranges[k][1]) or (k in choices and v in choices[k]))}
    sampled = ("width", "num_layers", "input_size") + (
        ("kernel_size",) if space.kernel_sizes is not None else ())
    base = {k: v for k, v in base.items() if k not in sampled}
    return ModelSpace(model=model, widths=widths, lr=space.lr, batch_sizes=batch_sizes,
                      num_layers=space.num_layers, rollout_steps=rollout,
                      num_filter_banks=space.num_filter_banks if banks is not None else None,
                      alphas=space.alphas if alpha is not None else None, base=base,
                      default=default, kernel_sizes=space.kernel_sizes, budget=budget)


def study_space(model: str, symmetry: str | None, protocol: Any,
                space: SearchSpace | None = None) -> ModelSpace:
    """The search space of one model of a heat / jet study (:mod:`aeqkit.experiments`).

    As :func:`search_space`, from the study's protocol (``protocol``:
    :func:`aeqkit.experiments.sweep_protocol`): its per-model keywords as the base, its own
    setting (width, depth, kernel, α, lr, batch size, rollout) as trial 0, its batch size among the
    choices; with ``space.matched_budget`` every trial's width matched to the study's
    ``param_budget``. α is searched for models whose class default is relaxed (α > 0), even where
    the study sets α = 0.
    """
    from aeqkit import reproduce as rep

    space = space or SCALED_SPACE
    build_def, fit_def = protocol.defaults(model)
    grid, max_rollout = protocol.grid, protocol.max_rollout
    budget = protocol.param_budget if space.matched_budget else None
    width = build_def.get("width") or 2 * rep.quick_width(model, symmetry)
    widths = tuple(sorted({max(1, int(round(width * f))) for f in space.width_factors}))
    probe = {k: v for k, v in build_def.items() if k != "alpha"}
    banks, alpha = _probe(model, symmetry, dict(probe, input_size=grid), rep._default_build)
    if alpha is not None and "alpha" in build_def:
        alpha = float(build_def["alpha"])
    if max_rollout < 1:
        raise ValueError(f"max_rollout must be >= 1, got {max_rollout}")
    lo, hi = space.rollout_steps
    rollout = (min(lo, max_rollout), min(hi, max_rollout))
    batch_sizes = tuple(sorted({*space.batch_sizes, int(fit_def["batch_size"])}))
    default: dict[str, Any] = {"width": width, "num_layers": build_def.get("num_layers"),
                               "num_filter_banks": build_def.get("num_filter_banks", banks),
                               "alpha": alpha, **fit_def}
    return _model_space_of(model, space, build_def, default, widths, rollout, batch_sizes,
                           banks, alpha, budget)


def suggest(trial, space: ModelSpace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sample one setting: ``(build keyword arguments, fit keyword arguments)``.

    ``build`` holds the profile's other model settings (e.g. ``kernel_size``) but not
    ``input_size``, which comes from the data; with ``space.budget`` it has no ``width`` either
    (:func:`matched_build` adds it).
    """
    build = dict(space.base)
    if space.budget is None:
        build["width"] = trial.suggest_categorical("width", list(space.widths))
    build["num_layers"] = trial.suggest_int("num_layers", *space.num_layers)
    if space.kernel_sizes is not None:
        build["kernel_size"] = trial.suggest_categorical("kernel_size", list(space.kernel_sizes))
    if space.num_filter_banks is not None:
        build["num_filter_banks"] = trial.suggest_int("num_filter_banks", *space.num_filter_banks)
    if space.alphas is not None:
        build["alpha"] = trial.suggest_categorical("alpha", list(space.alphas))
    fit = {"lr": trial.suggest_float("lr", *space.lr, log=True),
           "batch_size": trial.suggest_categorical("batch_size", list(space.batch_sizes)),
           "rollout_steps": trial.suggest_int("rollout_steps", *space.rollout_steps)}
    return build, fit


# --------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class SweepConfig:
    """One sweep request (what ``python -m aeqkit sweep`` parses).

    Attributes:
        experiment, symmetry, models, profile: as for ``python -m aeqkit reproduce``.
        trials: total trials per model's study (finished ones count: a resumed sweep runs the
            rest).
        storage: SQLAlchemy URL; ``None``: ``sqlite:///<out>/sweeps.db``.
        study: study name prefix (the model name is appended); default
            ``<experiment>-<symmetry>-<profile>``.
        workers: worker processes on this machine.
        seed: sampler seed (worker ``i`` uses ``seed + i``) and the models' initialisation seed.
        epochs: epochs per trial (default: the profile's).
        pruner: ``"median"``, ``"halving"`` or ``"none"``.
        out: folder of the SQLite file and the result JSON files.
        objective: ``"experiment"`` (train and validate) or ``"toy"`` (an analytic function of
            the same space taking ``toy_seconds`` of CPU: tests and storage benchmarks).
        level: symmetry-breaking level for ``figure4``.
        device: ``"cpu"``, ``"cuda"`` ... (default automatic); with several GPUs worker ``i``
            uses GPU ``i mod n``.
        record: write the best settings into ``aeqkit/settings/<profile>.json``.
        trial_seeds: score each trial by its mean best validation RMSE over this many seeds
            (``seed`` ... ``seed + trial_seeds - 1``: initialisation and batch order), so that a
            setting that wins for one seed only is not chosen; the pruner follows the first seed.
    """

    experiment: str
    symmetry: str = "rotation"
    models: tuple[str, ...] = ()
    trials: int = 20
    profile: str = "quick"
    storage: str | None = None
    study: str | None = None
    workers: int = 1
    seed: int = 0
    epochs: int | None = None
    pruner: str = "median"
    out: str = str(DEFAULT_OUT)
    objective: str = "experiment"
    toy_seconds: float = 0.0
    level: int = 0
    device: str | None = None
    progress: bool = True
    record: bool = False
    command: str | None = None
    trial_seeds: int = 1

    def validated(self) -> SweepConfig:
        """A copy with the model names resolved; ``ValueError`` naming accepted values otherwise."""
        from aeqkit import reproduce as rep

        rep.validate_request(self.experiment, self.symmetry, self.profile)
        is_baseline = getattr(rep, "is_baseline_name", lambda name: False)
        if not self.models:  # the experiment's networks; closed-form baselines have nothing to tune
            models = tuple(m for m in rep.parse_models(None, self.experiment, self.symmetry)
                           if not is_baseline(m))
        else:
            models = tuple(rep.parse_models(list(self.models), self.experiment, self.symmetry))
            fixed = [m for m in models if is_baseline(m)]
            if fixed:
                raise ValueError(f"{', '.join(fixed)}: closed-form baseline(s) with no "
                                 "hyperparameters to sweep; give network models")
        for name, value, low in (("trials", self.trials, 1), ("workers", self.workers, 1),
                                 ("seed", self.seed, 0), ("trial_seeds", self.trial_seeds, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.epochs is not None and (isinstance(self.epochs, bool)
                                        or not isinstance(self.epochs, int) or self.epochs < 1):
            raise ValueError(f"epochs must be an integer >= 1 or None, got {self.epochs!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"unknown pruner {self.pruner!r}; accepted: {', '.join(PRUNERS)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; accepted: "
                             f"{', '.join(OBJECTIVES)}")
        if not (self.toy_seconds >= 0 and math.isfinite(self.toy_seconds)):
            raise ValueError(f"toy_seconds must be a finite number >= 0, got {self.toy_seconds!r}")
        if self.study is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", self.study):
            raise ValueError(f"study must use letters, digits, '.', '_' or '-', got {self.study!r}")
        if self.storage is not None:
            _check_storage_url(self.storage)
        return replace(self, models=models)


def _check_storage_url(url: str) -> None:
    if not isinstance(url, str) or not re.match(r"^[a-z][a-z0-9+]*://", url):
        raise ValueError(f"storage must be an SQLAlchemy URL such as sqlite:///build/sweeps/s.db or "
                         f"postgresql://user:password@host:5432/db, got {url!r}")
    if url.startswith("postgresql"):
        import importlib.util

        if not (importlib.util.find_spec("psycopg") or importlib.util.find_spec("psycopg2")):
            raise ValueError("a postgresql storage needs psycopg: pip install 'aeqkit[postgres]'")


def default_storage(out: str | os.PathLike = DEFAULT_OUT) -> str:
    """``sqlite:///<out>/sweeps.db`` (absolute path; the folder is created)."""
    folder = Path(out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'sweeps.db'}"


def _sqlalchemy_url(url: str) -> str:
    """``postgresql://`` through psycopg 3 when psycopg2 is not installed."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _public_url(url: str) -> str:
    """The storage URL without its password (for files a person reads)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _storage(url: str, heartbeat: bool = True):
    import optuna

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    else:
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
    if heartbeat:  # a killed worker's trial is marked FAIL after the grace period, not left RUNNING
        kwargs.update(heartbeat_interval=20, grace_period=90)
    return optuna.storages.RDBStorage(_sqlalchemy_url(url), **kwargs)


def study_name(cfg: SweepConfig, model: str) -> str:
    """``<prefix>-<model>``; prefix ``cfg.study`` or ``<experiment>-<symmetry>-<profile>``."""
    prefix = cfg.study or f"{cfg.experiment}-{cfg.symmetry}-{cfg.profile}"
    return f"{prefix}-{model}"


def _pruner(name: str, epochs: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, epochs // 4))
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, epochs // 8))
    return optuna.pruners.NopPruner()


def _open_study(cfg: SweepConfig, model: str, storage_url: str, worker: int, epochs: int):
    import optuna

    with _quiet_experimental():
        study = optuna.create_study(storage=_storage(storage_url),
                                    study_name=study_name(cfg, model),
                                    sampler=optuna.samplers.RandomSampler(seed=cfg.seed),
                                    pruner=_pruner(cfg.pruner, epochs), direction="minimize",
                                    load_if_exists=True)
        # seeded by the request, the worker and the study's progress: a fresh study is
        # reproducible, and a resumed one does not replay its first random settings
        done = len(study.get_trials(deepcopy=False))
        study.sampler = optuna.samplers.TPESampler(seed=cfg.seed + 1000 * worker + 100_003 * done,
                                                   n_startup_trials=5, multivariate=True)
    return study


@contextlib.contextmanager
def _quiet_experimental():
    """Optuna flags heartbeats and multivariate TPE as experimental on every use; we rely on
    both knowingly, so silence that one warning category here (only here)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


# --------------------------------------------------------------------------------------------
# objectives


def toy_objective(trial, space: ModelSpace, seconds: float = 0.0, epochs: int = 5) -> float:
    """An analytic stand-in over the same space: ``(log10 lr + 3)^2 + 0.01 width/width_max``,
    reported per "epoch" for the pruner, after ``seconds`` of CPU work (a busy loop, as a real
    trial would load a core). Used by tests and the storage benchmark."""
    import optuna

    build, fit = suggest(trial, space)
    value = (math.log10(fit["lr"]) + 3) ** 2 + \
        0.01 * build.get("width", space.widths[0]) / max(space.widths)
    t_end = time.process_time() + seconds
    x = 0.0
    while time.process_time() < t_end:
        for i in range(1000):
            x += i * 1e-9
    for epoch in range(epochs):
        trial.report(value * (1 + 1.0 / (epoch + 1)), epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    trial.set_user_attr("build", build)
    trial.set_user_attr("fit", fit)
    return value


class _ExperimentObjective:
    """Train one model under the experiment's protocol; return its best validation RMSE."""

    def __init__(self, cfg: SweepConfig, model: str, space: ModelSpace, data: Any,
                 build_fn: Callable[..., Any], model_symmetry: str | None, device: Any) -> None:
        from aeqkit import reproduce as rep
        from aeqkit.train import fit, target_length

        self.cfg, self.model, self.space, self.data = cfg, model, space, data
        self.build_fn, self.model_symmetry, self.device = build_fn, model_symmetry, device
        accepted = inspect.signature(fit).parameters
        self.has_callbacks = "callbacks" in accepted
        if cfg.experiment in STUDIES:  # data: the study's SweepProtocol (its FitConfig, builder)
            self.fit_base = dict(data.fit_base)
            if cfg.epochs is not None:
                self.fit_base["epochs"] = cfg.epochs
            self.grid = data.grid
            return
        prof = rep.PROFILES[cfg.profile]
        # the profile's training settings that fit takes (epochs, patience, schedule, ...)
        self.fit_base = {k: v for k, v in asdict(prof).items() if k in accepted}
        if cfg.epochs is not None:
            self.fit_base["epochs"] = cfg.epochs
        valid = data.splits["valid"]
        self.fit_base["valid_steps"] = min(prof.valid_steps, target_length(valid))
        self.grid = rep._grid(data)

    def __call__(self, trial) -> float:
        import optuna

        from aeqkit.models import count_parameters
        from aeqkit.utils import seeded

        build, fit_kw = suggest(trial, self.space)
        build = matched_build(self.model, self.model_symmetry, self.space, build, self.grid,
                              self.build_fn)
        trial.set_user_attr("build", build)
        trial.set_user_attr("fit", fit_kw)
        with seeded(self.cfg.seed):
            net = self.build_fn(self.model, self.model_symmetry, input_size=self.grid, **build)
        n_params = int(count_parameters(net))
        trial.set_user_attr("parameters", n_params)
        if n_params > MAX_PARAMETERS:
            trial.set_user_attr("pruned_because", f"{n_params} parameters > {MAX_PARAMETERS}")
            raise optuna.TrialPruned()

        values: list[float] = []
        for k in range(self.cfg.trial_seeds):
            seed = self.cfg.seed + k
            if k > 0:  # a fresh initialisation for every further seed
                with seeded(seed):
                    net = self.build_fn(self.model, self.model_symmetry, input_size=self.grid,
                                        **build)
            res = self._fit_one(trial, net, fit_kw, seed, report=k == 0)
            values.append(float(res.best_valid_rmse))
            if not math.isfinite(values[-1]):
                raise optuna.TrialPruned()
        if len(values) > 1:
            trial.set_user_attr("seed_values", values)
        return float(sum(values) / len(values))

    def _fit_one(self, trial, net, fit_kw: dict[str, Any], seed: int, report: bool):
        """Train one initialisation; ``report``: per-epoch validation RMSE to the pruner."""
        import optuna

        from aeqkit.train import fit

        def report_fn(epoch: int, metrics: dict[str, float]) -> None:
            trial.report(float(metrics["valid_rmse"]), epoch)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch)
                raise optuna.TrialPruned()

        kw = dict(self.fit_base, **fit_kw)
        if self.has_callbacks and report:
            kw["callbacks"] = (report_fn,)
        try:
            # fit's warnings (e.g. "the best epoch is worse than the initial weights") describe a
            # poor setting: keep them with the trial instead of printing one per trial
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = fit(net, self.data.splits["train"], self.data.splits["valid"],
                          seed=seed, device=self.device, progress=False, **kw)
        except ArithmeticError as err:  # TrainingDiverged / FloatingPointError: a bad setting
            trial.set_user_attr("pruned_because", f"diverged (seed {seed}): {str(err)[:200]}")
            raise optuna.TrialPruned() from err
        if caught:
            trial.set_user_attr("warnings", [str(w.message)[:300] for w in caught[:5]])
        if report:
            trial.set_user_attr("epochs_run", res.epochs_run)
            trial.set_user_attr("best_epoch", res.best_epoch)
            trial.set_user_attr("seconds", res.seconds)
            if not self.has_callbacks:  # older fit: report afterwards, for the figures
                for epoch, v in enumerate(res.history["valid_rmse"]):
                    trial.report(float(v), epoch)
        return res


def matched_build(model: str, symmetry: str | None, space: ModelSpace, build: dict[str, Any],
                  grid: tuple[int, int], build_fn: Callable[..., Any] | None = None
                  ) -> dict[str, Any]:
    """``build`` with the width matched to ``space.budget`` parameters for its sampled depth,
    kernel size and banks (:func:`aeqkit.reproduce.matched_width`); unchanged without a budget."""
    if space.budget is None or "width" in build:
        return build
    from aeqkit import reproduce as rep

    width = rep.matched_width(model, symmetry, space.budget, dict(build, input_size=grid),
                              build_fn=build_fn)
    return dict(build, width=width)


def _load_data(cfg: SweepConfig, load_fn: Callable[..., Any] | None):
    """The row's data (heat / jet: the study's :class:`aeqkit.experiments.SweepProtocol`)."""
    from aeqkit import reproduce as rep

    if cfg.experiment in STUDIES:
        from aeqkit import experiments

        return experiments.sweep_protocol(cfg.experiment, cfg.symmetry, cfg.profile,
                                          load_fn=load_fn)
    name, _ = rep.experiment_setup(cfg.experiment, cfg.symmetry)
    kw: dict[str, Any] = {"progress": False}
    if cfg.experiment == "figure4":
        kw["level"] = cfg.level
    prof = rep.PROFILES[cfg.profile]
    data_profile = getattr(prof, "data_profile", None) or cfg.profile
    return (load_fn or rep._default_load)(name, data_profile, **kw)


def _model_space(cfg: SweepConfig, model: str, data: Any,
                 build_fn: Callable[..., Any] | None) -> ModelSpace:
    from aeqkit import reproduce as rep
    from aeqkit.train import target_length

    _, model_symmetry = rep.experiment_setup(cfg.experiment, cfg.symmetry)
    if data is not None and cfg.experiment in STUDIES:
        return study_space(model, model_symmetry, data, SPACES.get(cfg.profile, SCALED_SPACE))
    if data is None:  # the toy objective: the space of a 32x32 grid
        grid, max_rollout = (32, 32), 6
    else:
        grid, max_rollout = rep._grid(data), target_length(data.splits["train"])
    return search_space(model, model_symmetry, cfg.profile, grid, max_rollout, build_fn=build_fn,
                        figure4=cfg.experiment == "figure4")


def _objective(cfg: SweepConfig, model: str, worker: int,
               load_fn: Callable[..., Any] | None = None,
               build_fn: Callable[..., Any] | None = None) -> Callable[[Any], float]:
    from aeqkit import reproduce as rep
    from aeqkit.utils import default_device

    if cfg.objective == "toy":
        space = _model_space(cfg, model, None, build_fn)
        epochs = cfg.epochs or 5
        return lambda trial: toy_objective(trial, space, cfg.toy_seconds, epochs)
    data = _load_data(cfg, load_fn)
    space = _model_space(cfg, model, data, build_fn)
    _, model_symmetry = rep.experiment_setup(cfg.experiment, cfg.symmetry)
    device = _worker_device(cfg.device, worker) if cfg.device is not None else default_device()
    if cfg.experiment in STUDIES:
        build_fn = data.build_fn  # the study's builder: its keywords, zero output layer
    return _ExperimentObjective(cfg, model, space, data, build_fn or rep._default_build,
                                model_symmetry, device)


def _worker_device(device: str, worker: int):
    import torch

    if device == "cuda" and torch.cuda.device_count() > 1:
        return torch.device(f"cuda:{worker % torch.cuda.device_count()}")
    return torch.device(device)


# --------------------------------------------------------------------------------------------
# running


def _counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    out = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name.lower()] += 1
    return out


def _finished(study) -> int:
    c = _counts(study)
    return c["complete"] + c["pruned"]


def _optimize(cfg: SweepConfig, model: str, storage_url: str, n_trials: int, worker: int,
              load_fn=None, build_fn=None, progress: bool = False) -> None:
    """Run up to ``n_trials`` trials in this process, stopping when the study has ``cfg.trials``
    finished trials (other workers or machines count)."""
    import optuna
    from optuna.trial import TrialState

    inner = _objective(cfg, model, worker, load_fn, build_fn)
    host = socket.gethostname()

    def objective(trial) -> float:
        trial.set_user_attr("worker", f"{host}:{os.getpid()}:{worker}")
        return inner(trial)

    epochs = cfg.epochs or _profile_epochs(cfg)
    study = _open_study(cfg, model, storage_url, worker, epochs)
    stop = optuna.study.MaxTrialsCallback(cfg.trials, states=(TrialState.COMPLETE,
                                                              TrialState.PRUNED))
    study.optimize(objective, n_trials=n_trials, callbacks=[stop], gc_after_trial=False,
                   show_progress_bar=progress, catch=())


def _profile_epochs(cfg: SweepConfig) -> int:
    if cfg.objective == "toy":
        return 5
    if cfg.experiment in STUDIES:
        from aeqkit import experiments as ex

        profiles = ex.HEAT_PROFILES if cfg.experiment == "heat" else ex.JET_PROFILES
        return profiles[cfg.profile].epochs
    from aeqkit import reproduce as rep

    return rep.PROFILES[cfg.profile].epochs


def _worker_main(cfg_dict: dict[str, Any], model: str, storage_url: str, n_trials: int,
                 worker: int) -> None:
    """Entry point of a worker process (spawned: a fresh interpreter, one torch thread)."""
    import logging

    import optuna
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    optuna.logging.set_verbosity(logging.WARNING)
    cfg = SweepConfig(**cfg_dict)
    _sigterm_as_interrupt()
    _exit_with_parent()
    _optimize(cfg, model, storage_url, n_trials, worker)


def _exit_with_parent(poll_seconds: float = 1.0) -> None:
    """A worker whose parent died without passing a signal on (SIGKILL, OOM killer) would run its
    trial to the end as an orphan: a daemon thread watches the parent and SIGTERMs this worker, so
    its running trial is marked FAIL and a rerun resumes."""
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="aeqkit-sweep-parent-watch", daemon=True).start()


def _sigterm_as_interrupt() -> None:
    """Treat SIGTERM (a cluster scheduler's preemption, ``kill``) like Ctrl-C, so that Optuna
    marks the running trial FAIL at once and a rerun resumes cleanly."""
    import signal
    import threading

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _split(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _run_workers(cfg: SweepConfig, model: str, storage_url: str, remaining: int,
                 log: Callable[[str], None]) -> None:
    """K spawned worker processes share ``remaining`` trials exactly (``n // K`` each, the rest one
    more), so together they run exactly ``remaining`` trials."""
    ctx = multiprocessing.get_context("spawn")
    shares = [s for s in _split(remaining, cfg.workers) if s > 0]
    cfg_dict = asdict(replace(cfg, progress=False))
    cfg_dict["models"] = tuple(cfg_dict["models"])
    procs = [ctx.Process(target=_worker_main, args=(cfg_dict, model, storage_url, s, i),
                         name=f"aeqkit-sweep-{model}-{i}") for i, s in enumerate(shares)]
    for p in procs:
        p.start()
    bar = None
    try:
        if cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.trials, desc=f"sweep {model} ({len(procs)} workers)")
        study = None
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            if bar is not None:
                import optuna

                study = study or optuna.load_study(study_name=study_name(cfg, model),
                                                   storage=_storage(storage_url, heartbeat=False))
                bar.n = _finished(study)
                bar.refresh()
    except KeyboardInterrupt:
        # Ctrl-C reaches the workers too; a SIGTERM to this process does not: pass it on, so that
        # each worker's Optuna marks its running trial FAIL (a rerun resumes), then wait
        for p in procs:
            p.join(timeout=10)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
        raise
    finally:
        for p in procs:
            p.join()
        if bar is not None:
            bar.close()
    bad = [(p.name, p.exitcode) for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"sweep worker(s) failed: {bad}; the finished trials are kept, run the "
                           "same command again to resume")
    log(f"{model}: {len(procs)} workers done")


def run_sweep(cfg: SweepConfig, *, log: Callable[[str], None] | None = None,
              load_fn: Callable[..., Any] | None = None,
              build_fn: Callable[..., Any] | None = None) -> dict[str, dict[str, Any]]:
    """Run (or resume) one study per model and write ``<out>/<study>.json`` for each.

    Args:
        cfg: the request (:class:`SweepConfig`).
        log: where progress lines go (default: stderr).
        load_fn, build_fn: stand-ins for the data loader and model builder (tests; in-process
            only, i.e. ``workers=1``), with :func:`aeqkit.reproduce.reproduce`'s signatures;
            heat / jet take ``load_fn`` only (:func:`aeqkit.experiments.sweep_protocol`).

    Returns:
        ``{model: best_summary(...)}``.

    Raises:
        ValueError: a bad request, before any training.
    """
    import logging

    import optuna

    cfg = cfg.validated()
    if cfg.workers > 1 and (load_fn is not None or build_fn is not None):
        raise ValueError("load_fn / build_fn work in-process only; use workers=1")
    if cfg.experiment in STUDIES and build_fn is not None:
        raise ValueError(f"{cfg.experiment} trials build models as the study does "
                         "(aeqkit.experiments.sweep_protocol); build_fn is not taken")
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    storage_url = cfg.storage or default_storage(cfg.out)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(logging.WARNING)
    command = cfg.command or _command(cfg)
    if cfg.objective == "experiment":  # generate / verify the data cache once, build every model
        data = _load_data(cfg, load_fn)
        for m in cfg.models:
            _model_space(cfg, m, data, build_fn)
    results: dict[str, dict[str, Any]] = {}
    for model in cfg.models:
        epochs = cfg.epochs or _profile_epochs(cfg)
        study = _open_study(cfg, model, storage_url, 0, epochs)
        with _quiet_experimental():
            optuna.storages.fail_stale_trials(study)
        space = _model_space(cfg, model, data if cfg.objective == "experiment" else None,
                             build_fn)
        _check_space(study, cfg, model, space, epochs)
        if not study.get_trials(deepcopy=False) and space.default:
            study.enqueue_trial(space.default)  # trial 0: the profile's own setting
        c = _counts(study)
        remaining = max(0, cfg.trials - c["complete"] - c["pruned"] - c["running"])
        log(f"study {study.study_name}: {c['complete']} complete, {c['pruned']} pruned, "
            f"{c['running']} running, {c['fail']} failed; running {remaining} more "
            f"({cfg.workers} worker(s)) on {_public_url(storage_url)}")
        t0 = time.perf_counter()
        if remaining > 0:
            if cfg.workers == 1:
                _optimize(cfg, model, storage_url, remaining, 0, load_fn, build_fn,
                          progress=cfg.progress)
            else:
                _run_workers(cfg, model, storage_url, remaining, log)
        study = optuna.load_study(study_name=study.study_name,
                                  storage=_storage(storage_url, heartbeat=False))
        summary = best_summary(study, command=command, storage=storage_url)
        summary["seconds_this_run"] = time.perf_counter() - t0
        path = _write_json(summary, out / f"{study.study_name}.json")
        summary["file"] = str(path)
        best = summary["best"]
        log(f"{model}: best validation RMSE {best['value']:.4g} (trial {best['number']}) "
            f"of {summary['trials']} finished trials -> {path}" if best else
            f"{model}: no completed trial yet -> {path}")
        if cfg.record and best:
            record_settings(summary, cfg.profile)
            log(f"{model}: recorded in {settings_path(cfg.profile)}")
        results[model] = summary
    return results


def _check_space(study, cfg: SweepConfig, model: str, space: ModelSpace, epochs: int) -> None:
    meta = {"experiment": cfg.experiment, "symmetry": cfg.symmetry, "model": model,
            "profile": cfg.profile, "epochs_per_trial": epochs, "objective": cfg.objective,
            "level": cfg.level if cfg.experiment == "figure4" else None,
            "trial_seeds": cfg.trial_seeds, "space": space.to_json()}
    stored = study.user_attrs.get("aeqkit")

    def searched(m: dict[str, Any]) -> dict[str, Any]:  # ``default`` only seeds trial 0
        return {"trial_seeds": 1, **m,  # studies made before trial_seeds existed used one
                "space": {k: v for k, v in m["space"].items() if k != "default"}}

    if stored is None:
        study.set_user_attr("aeqkit", meta)
    elif searched(stored) != searched(meta):
        diff = sorted(k for k in meta if searched(stored).get(k) != searched(meta)[k])
        raise ValueError(f"study {study.study_name!r} was created with different settings "
                         f"({', '.join(diff)}); give a new --study name or the same settings")


def _command(cfg: SweepConfig) -> str:
    parts = ["python", "-m", "aeqkit", "sweep", cfg.experiment, "--symmetry", cfg.symmetry,
             "--models", ",".join(cfg.models), "--trials", str(cfg.trials), "--profile",
             cfg.profile, "--seed", str(cfg.seed), "--pruner", cfg.pruner]
    if cfg.epochs is not None:
        parts += ["--epochs", str(cfg.epochs)]
    if cfg.workers > 1:
        parts += ["--workers", str(cfg.workers)]
    if cfg.study:
        parts += ["--study", cfg.study]
    if cfg.experiment == "figure4":
        parts += ["--level", str(cfg.level)]
    if cfg.trial_seeds > 1:
        parts += ["--trial-seeds", str(cfg.trial_seeds)]
    if cfg.record:
        parts += ["--record"]
    return shlex.join(parts)


# --------------------------------------------------------------------------------------------
# a throwaway PostgreSQL server (tests, benchmarks, trying a shared study on one machine)


class PostgresUnavailable(RuntimeError):
    """What is missing to start a local PostgreSQL server (binaries, psycopg, a non-root user)."""


def _pg_bin() -> Path | None:
    import shutil

    for cand in [shutil.which("initdb"), *sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))]:
        if cand and Path(cand).exists():
            return Path(cand).resolve().parent
    return None


@contextlib.contextmanager
def temporary_postgres(run_as: str = "nobody"):
    """Start a PostgreSQL server on 127.0.0.1 (a free port, trust authentication) in a temporary
    folder and yield its URL ``postgresql://aeqkit@127.0.0.1:<port>/postgres``; the server is
    stopped and the folder removed on exit. As root, the server runs as ``run_as`` (initdb refuses
    root), switched with ``setpriv`` or ``runuser``.

    Raises:
        PostgresUnavailable: naming what is missing (PostgreSQL binaries, psycopg, the user or a
            way to switch to it).
    """
    import importlib.util
    import shutil
    import tempfile

    pg_bin = _pg_bin()
    if pg_bin is None:
        raise PostgresUnavailable("PostgreSQL binaries (initdb, pg_ctl) not found; install the "
                                  "Debian 'postgresql' package")
    if not (importlib.util.find_spec("psycopg") or importlib.util.find_spec("psycopg2")):
        raise PostgresUnavailable("psycopg is not installed; pip install 'aeqkit[postgres]'")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        import pwd

        try:
            owner = pwd.getpwnam(run_as)
        except KeyError:
            raise PostgresUnavailable(f"running as root and no user {run_as!r} to run "
                                      "PostgreSQL as (initdb refuses root)") from None
        switch = shutil.which("setpriv") or shutil.which("runuser")
        if switch is None:
            raise PostgresUnavailable("running as root and neither setpriv nor runuser to switch "
                                      f"to {run_as!r}")
        prefix = ([switch, f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups"]
                  if switch.endswith("setpriv") else [switch, "-u", run_as, "--"])
    folder = Path(tempfile.mkdtemp(prefix="aeqkit-pg-", dir="/tmp" if Path("/tmp").is_dir()
                                   else None))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, HOME=str(folder))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(prefix + list(args), cwd=folder, env=env, check=check,
                              capture_output=True, text=True, timeout=120)

    started = False
    try:
        try:
            run(str(pg_bin / "initdb"), "-D", str(data), "-U", "aeqkit", "--auth=trust",
                "-E", "UTF8", "--no-instructions")
            run(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                "-t", "60", "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start")
        except subprocess.CalledProcessError as err:
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            raise RuntimeError(f"could not start PostgreSQL: {err.stderr or err.stdout}"
                               f"{log[-2000:]}") from None
        started = True
        yield f"postgresql://aeqkit@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop",
                check=False)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# results


def load_sweep(name: str, storage: str | None = None):
    """Load a study by name (default storage: :func:`default_storage`)."""
    import optuna

    url = storage or default_storage()
    return optuna.load_study(study_name=name, storage=_storage(url, heartbeat=False))


def _distributions(space: dict[str, Any]) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {"width": CategoricalDistribution(list(space["widths"])),
                           "kernel_size": CategoricalDistribution(list(space.get("kernel_sizes")
                                                                       or [3])),
                           "num_layers": IntDistribution(*space["num_layers"]),
                           "lr": FloatDistribution(*space["lr"], log=True),
                           "batch_size": CategoricalDistribution(list(space["batch_sizes"])),
                           "rollout_steps": IntDistribution(*space["rollout_steps"])}
    if space.get("num_filter_banks"):
        out["num_filter_banks"] = IntDistribution(*space["num_filter_banks"])
    if space.get("alphas"):
        out["alpha"] = CategoricalDistribution(list(space["alphas"]))
    return out


def study_from_summary(summary: dict[str, Any] | str | os.PathLike):
    """An in-memory Optuna study rebuilt from a result file (:func:`best_summary`, e.g.
    ``build/sweeps/<study>.json`` or ``aeqkit/settings/studies/<study>.json``): its completed and
    pruned trials with their settings, values and per-epoch validation RMSE, so that the figures
    can be drawn without the storage (a notebook on a fresh clone)."""
    import optuna
    from optuna.trial import TrialState, create_trial

    if not isinstance(summary, dict):
        summary = json.loads(Path(summary).read_text(encoding="utf-8"))
    if "space" not in summary or "all_trials" not in summary:
        raise ValueError("expected a sweep result with 'space' and 'all_trials' (best_summary)")
    dists = _distributions(summary["space"])
    study = optuna.create_study(study_name=summary.get("study"), direction="minimize")
    for t in summary["all_trials"]:
        if t["state"] not in ("COMPLETE", "PRUNED"):
            continue
        params = t["params"]
        study.add_trial(create_trial(
            state=TrialState[t["state"]], value=t["value"] if t["state"] == "COMPLETE" else None,
            params=params, distributions={k: dists[k] for k in params},
            intermediate_values={int(k): v for k, v in (t.get("intermediate") or {}).items()}))
    return study


def study_settings(study) -> dict[str, dict[str, Any]]:
    """``{"build": kwargs of aeqkit.models.build, "fit": kwargs of aeqkit.train.fit}`` of the best
    trial (``input_size`` is the data's and is not included).

    Raises:
        ValueError: the study has no completed trial.
    """
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        raise ValueError(f"study {study.study_name!r} has no completed trial yet")
    best = study.best_trial
    return {"build": dict(best.user_attrs["build"]), "fit": dict(best.user_attrs["fit"])}


def best_summary(study, command: str | None = None, storage: str | None = None) -> dict[str, Any]:
    """A JSON-serialisable summary: the request, the best trial and its settings, every trial."""
    from optuna.trial import TrialState

    meta = dict(study.user_attrs.get("aeqkit", {}))
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append({"number": t.number, "state": t.state.name, "value": t.value,
                       "params": t.params,
                       "seconds": (t.duration.total_seconds() if t.duration else None),
                       "parameters": t.user_attrs.get("parameters"),
                       "epochs_run": t.user_attrs.get("epochs_run"),
                       "worker": t.user_attrs.get("worker"),
                       "intermediate": {str(k): v for k, v in
                                        sorted(t.intermediate_values.items())},
                       "note": t.user_attrs.get("pruned_because"),
                       "warnings": t.user_attrs.get("warnings"),
                       "seed_values": t.user_attrs.get("seed_values")})
    done = [t for t in trials if t["state"] == TrialState.COMPLETE.name]
    best = None
    if done:
        bt = study.best_trial
        best = {"number": bt.number, "value": bt.value, "params": bt.params,
                **study_settings(study), "parameters": bt.user_attrs.get("parameters"),
                "seed_values": bt.user_attrs.get("seed_values")}
    counts = _counts(study)
    return {"study": study.study_name, "storage": _public_url(storage) if storage else None,
            "command": command, **meta, "trials": counts["complete"] + counts["pruned"],
            "counts": counts, "best": best, "date": _now(), "commit": _commit(),
            "all_trials": trials}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _write_json(obj: Any, path: Path) -> Path:
    from aeqkit.io import atomic_write_bytes

    return atomic_write_bytes(json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n", path)


# --------------------------------------------------------------------------------------------
# recorded settings


# (read and written by :mod:`aeqkit.settings`, re-exported here: settings_path, recorded_settings,
# with_recorded_settings, record_settings)


# --------------------------------------------------------------------------------------------
# figures (plotly; Optuna's own optuna.visualization)


def _message_figure(title: str, text: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False)
    return fig


def _n_complete(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def plot_history(study):
    """Optimisation history: validation RMSE of every completed trial and the best so far."""
    from optuna.visualization import plot_optimization_history

    fig = plot_optimization_history(study, target_name="validation RMSE")
    fig.update_layout(title=f"{study.study_name}: optimisation history")
    return fig


def plot_importances(study):
    """Hyperparameter importances (fANOVA) for the validation RMSE; a message figure when fewer
    than two trials completed."""
    from optuna.visualization import plot_param_importances

    title = f"{study.study_name}: hyperparameter importances"
    if _n_complete(study) < 2:
        return _message_figure(title, "needs at least two completed trials")
    fig = plot_param_importances(study, target_name="validation RMSE")
    fig.update_layout(title=title)
    return fig


def plot_parallel(study):
    """Parallel coordinates of the sampled settings, coloured by validation RMSE."""
    from optuna.visualization import plot_parallel_coordinate

    title = f"{study.study_name}: parallel coordinates"
    if _n_complete(study) < 1:
        return _message_figure(title, "needs at least one completed trial")
    fig = plot_parallel_coordinate(study, target_name="validation RMSE")
    fig.update_layout(title=title)
    return fig


# --------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m aeqkit sweep``."""
    from aeqkit import reproduce as rep

    parser.add_argument("experiment", help=f"which table or figure ({', '.join(rep.EXPERIMENTS)}) "
                                           f"or study ({', '.join(STUDIES)}: its own protocol)")
    parser.add_argument("--symmetry", default="rotation", help="a row of the experiment")
    parser.add_argument("--models", default=None,
                        help="comma-separated model names (default: the experiment's)")
    parser.add_argument("--trials", type=int, default=20, help="trials per model's study")
    parser.add_argument("--profile", default="quick", help=f"one of {', '.join(rep.PROFILES)}")
    parser.add_argument("--storage", default=None,
                        help="SQLAlchemy URL shared by workers, e.g. postgresql://u:pw@host/db "
                             "(default: sqlite under --out)")
    parser.add_argument("--study", default=None,
                        help="study name prefix (default <experiment>-<symmetry>-<profile>)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trial-seeds", type=int, default=1,
                        help="score each trial by its mean validation RMSE over this many seeds")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per trial (default: the profile's)")
    parser.add_argument("--pruner", default="median", help=f"one of {', '.join(PRUNERS)}")
    parser.add_argument("--level", type=int, default=0, help="figure4: symmetry-breaking level")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder of results and SQLite file")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: automatic)")
    parser.add_argument("--record", action="store_true",
                        help="write the best settings into aeqkit/settings/<profile>.json")
    parser.add_argument("--objective", default="experiment", help=argparse.SUPPRESS)
    parser.add_argument("--toy-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    """Run ``python -m aeqkit sweep``; a bad request exits 2 with a one-line message."""
    from aeqkit.utils import configure_threads

    models = tuple(m.strip() for m in args.models.split(",")) if args.models else ()
    cfg = SweepConfig(experiment=args.experiment, symmetry=args.symmetry, models=models,
                      trials=args.trials, profile=args.profile, storage=args.storage,
                      study=args.study, workers=args.workers, seed=args.seed, epochs=args.epochs,
                      pruner=args.pruner, out=args.out, objective=args.objective,
                      toy_seconds=args.toy_seconds, level=args.level, device=args.device,
                      progress=not args.no_progress, record=args.record,
                      trial_seeds=args.trial_seeds)
    try:
        cfg = cfg.validated()
    except ValueError as err:
        print(f"python -m aeqkit sweep: error: {err}", file=sys.stderr)
        return 2
    configure_threads(cfg.profile)
    _sigterm_as_interrupt()
    try:
        results = run_sweep(cfg)
    except ValueError as err:  # e.g. resuming a study with other settings
        print(f"python -m aeqkit sweep: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    for model, s in results.items():
        best = s["best"]
        line = (f"{model:<10} best validation RMSE {best['value']:.4g} with build {best['build']} "
                f"fit {best['fit']}" if best else f"{model:<10} no completed trial")
        print(f"{line}  [{s['trials']} trials, {s['file']}]")
    return 0
