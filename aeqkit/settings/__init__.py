"""Recorded sweep settings: the per-model hyperparameters a profile takes from a finished sweep.

``aeqkit/settings/<profile>.json`` (with a ``.sha256`` sidecar) maps
``"<experiment>/<symmetry>/<model>"`` to ``{"build": kwargs of aeqkit.models.build, "fit": kwargs of
aeqkit.train.fit among lr / batch_size / rollout_steps, "chosen_by": {"command", "trials",
"valid_rmse", "study", "date", "commit", ...}}``; ``studies/<study>.json`` keeps each whole study
(every trial, for the figures of :mod:`aeqkit.sweep`). ``python -m aeqkit sweep ... --record``
writes them (:func:`record_settings`); :func:`aeqkit.reproduce.model_hparams` and the fit settings
of a reproduce run read them (:func:`with_recorded_settings`), and every result row names the
``chosen_by`` of its setting (``null`` for the profile's defaults).

This module imports nothing of aeqkit but :mod:`aeqkit.io`, so that :mod:`aeqkit.reproduce` can read
settings and :mod:`aeqkit.sweep` can write them without importing each other at module level.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "FIT_KEYS",
    "SETTINGS_DIR",
    "record_settings",
    "recorded_settings",
    "settings_path",
    "with_recorded_settings",
]

#: Keyword arguments of :func:`aeqkit.train.fit` a sweep chooses (and a recorded setting holds).
FIT_KEYS = ("lr", "batch_size", "rollout_steps")
#: Where recorded settings live (``<profile>.json`` with a ``.sha256`` sidecar): this folder.
SETTINGS_DIR = Path(__file__).resolve().parent


def settings_path(profile: str) -> Path:
    """``aeqkit/settings/<profile>.json``."""
    if not isinstance(profile, str) or not re.fullmatch(r"[a-z0-9_]+", profile):
        raise ValueError(f"profile must be a lower-case name such as 'quick', got {profile!r}")
    return SETTINGS_DIR / f"{profile}.json"


_CHOSEN_BY = {"command": str, "trials": int, "valid_rmse": float, "study": str, "date": str,
              "commit": str}


def _validate_entry(key: str, entry: Any, path: Path) -> None:
    from aeqkit.io import CorruptFileError

    def bad(why: str) -> CorruptFileError:
        return CorruptFileError(f"{path}: entry {key!r} {why}")

    if not re.fullmatch(r"[a-z0-9]+/[a-z]+/[a-z0-9_]+", key):
        raise bad("is not '<experiment>/<symmetry>/<model>'")
    if not isinstance(entry, dict) or not {"build", "fit", "chosen_by"} <= set(entry):
        raise bad("needs 'build', 'fit' and 'chosen_by'")
    build, fit, chosen = entry["build"], entry["fit"], entry["chosen_by"]
    if not isinstance(build, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float, str, bool)) and not
            (isinstance(v, float) and not math.isfinite(v)) for k, v in build.items()):
        raise bad("'build' must map names to finite numbers, strings or booleans")
    if "input_size" in build:
        raise bad("'build' must not hold input_size (it comes from the data)")
    if not isinstance(fit, dict) or not set(fit) <= set(FIT_KEYS) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in fit.values()):
        raise bad(f"'fit' must map a subset of {FIT_KEYS} to positive numbers")
    if not isinstance(chosen, dict):
        raise bad("'chosen_by' must be a dict")
    for k, typ in _CHOSEN_BY.items():
        v = chosen.get(k)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) if typ is float else \
            isinstance(v, typ) and not isinstance(v, bool)
        if not ok:
            raise bad(f"'chosen_by.{k}' must be a {typ.__name__}, got {v!r}")


def _load_settings(path: Path) -> dict[str, Any]:
    from aeqkit.io import CorruptFileError, verify

    verify(path)  # the SHA-256 sidecar written with it
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise CorruptFileError(f"{path} must hold a JSON object, got {type(data).__name__}")
    for key, entry in data.items():
        _validate_entry(key, entry, path)
    return data


def recorded_settings(profile: str, experiment: str, symmetry: str, model: str) -> dict | None:
    """The recorded sweep setting of a model, or ``None`` when none was recorded.

    Returns:
        ``{"build": {...}, "fit": {...}, "chosen_by": {"command", "trials", "valid_rmse",
        "study", "date", "commit", ...}}`` (a copy): ``build`` holds keyword arguments of
        ``aeqkit.models.build`` (without ``input_size``), ``fit`` those of ``aeqkit.train.fit``
        among ``lr``, ``batch_size``, ``rollout_steps``.

    Raises:
        ValueError: a malformed argument.
        aeqkit.io.CorruptFileError: the file does not match its checksum or its schema (it is
            parsed as JSON; nothing in it is executed).
    """
    for name, value in (("experiment", experiment), ("symmetry", symmetry), ("model", model)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    path = settings_path(profile)
    if not path.exists():
        return None
    entry = _load_settings(path).get(f"{experiment}/{symmetry}/{model}")
    return copy.deepcopy(entry) if entry is not None else None


def with_recorded_settings(profile: str, experiment: str, symmetry: str, model: str,
                           build: dict[str, Any], fit: dict[str, Any],
                           fallback: Sequence[str] = ()) -> tuple[dict, dict, dict | None]:
    """The profile's ``build`` / ``fit`` keyword arguments with a recorded sweep setting laid over
    them (``input_size`` and every other key are kept), and the setting's ``chosen_by`` (with the
    profile it came from), or the arguments unchanged and ``None`` when nothing is recorded.

    Args:
        fallback: profiles to try, in order, when ``profile`` has no recorded setting (e.g.
            ``("quick",)`` for a profile on the same data).
    """
    for prof in (profile, *fallback):
        rec = recorded_settings(prof, experiment, symmetry, model)
        if rec is not None:
            chosen = dict(rec["chosen_by"], profile=prof)
            return {**build, **rec["build"]}, {**fit, **rec["fit"]}, chosen
    return dict(build), dict(fit), None


def record_settings(summary: dict[str, Any], profile: str, path: str | os.PathLike | None = None
                    ) -> Path:
    """Add (or replace) a study's best setting in ``aeqkit/settings/<profile>.json`` (atomic, with
    a checksum sidecar, under a file lock so that concurrent sweeps do not lose entries).

    Args:
        summary: :func:`best_summary` of a study with a completed trial.
        profile: the profile the sweep ran under.
        path: another settings file (tests).
    """
    from filelock import FileLock

    from aeqkit.io import atomic_write_bytes

    best = summary.get("best")
    if not best:
        raise ValueError(f"study {summary.get('study')!r} has no completed trial to record")
    path = Path(path) if path is not None else settings_path(profile)
    key = f"{summary['experiment']}/{summary['symmetry']}/{summary['model']}"
    entry = {"build": best["build"], "fit": best["fit"],
             "chosen_by": {"command": summary.get("command") or "", "trials": summary["trials"],
                           "valid_rmse": best["value"], "study": summary["study"],
                           "date": summary["date"], "commit": summary["commit"],
                           "epochs_per_trial": summary.get("epochs_per_trial"),
                           "trial": best["number"], "parameters": best.get("parameters"),
                           "trial_seeds": summary.get("trial_seeds", 1),
                           "seed_values": best.get("seed_values")}}
    _validate_entry(key, entry, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import hashlib
    import tempfile

    lock = Path(tempfile.gettempdir()) / (
        "aeqkit-settings-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16] + ".lock")
    with FileLock(str(lock)):  # outside the package folder, so no lock file lands in it
        data = _load_settings(path) if path.exists() else {}
        data[key] = entry
        atomic_write_bytes(json.dumps(data, indent=1, sort_keys=True).encode() + b"\n", path)
        # the whole study, so that a reader can inspect (and plot) what chose the setting
        study_file = path.parent / "studies" / f"{summary['study']}.json"
        trimmed = {k: v for k, v in summary.items() if k not in ("file", "seconds_this_run")}
        atomic_write_bytes(json.dumps(trimmed, indent=1, sort_keys=True).encode() + b"\n",
                           study_file)
    return path


