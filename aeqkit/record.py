"""Notebook harness: record named numbers, check papermill parameters, skip a notebook cleanly.

``record("heat_data_ee_beta0", 1e-7)`` returns the value and shows nothing in the notebook. When
the notebook is executed by ``tools/run_notebooks.py``, the runner points ``AEQKIT_RECORD_FILE``
at a JSON-lines file; each record appends ``{"name", "value"}`` to it, and the runner stores the
collected values in the executed notebook's metadata (``metadata.aeqkit.metrics``), where
:func:`read_records` finds them (it also reads the display-output form of older executed
notebooks, mimetype ``application/vnd.aeqkit.metric+json``).

:func:`check_parameters` validates the ``parameters`` cell (``PROFILE``, ``SEED``) so that
``papermill -p PROFILE slow`` stops with a message naming the accepted profiles;
:class:`SkipNotebook` ends a notebook that cannot run here (e.g. a data package is missing),
which the runner reports as *skipped*, not *failed*.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = [
    "METRIC_MIMETYPE", "RECORD_FILE_ENV", "PROFILES", "SkipNotebook", "check_parameters", "record",
    "read_records", "read_record_file",
]

METRIC_MIMETYPE = "application/vnd.aeqkit.metric+json"
RECORD_FILE_ENV = "AEQKIT_RECORD_FILE"
PROFILES = ("quick", "full")


class SkipNotebook(Exception):
    """Raise in a notebook that cannot run on this machine; the runner reports it as skipped.

    In JupyterLab it shows a one-line message instead of a traceback.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = str(reason)

    def _render_traceback_(self) -> list[str]:  # IPython hook: no traceback for a planned skip
        return [f"SkipNotebook: {self.reason}"]


def check_parameters(profile: Any, seed: Any, profiles: tuple[str, ...] = PROFILES) -> None:
    """Validate a notebook's ``PROFILE`` and ``SEED`` parameters (papermill may inject anything).

    Raises:
        ValueError: ``profile`` not in ``profiles`` or ``seed`` not a non-negative integer; the
            message names the parameter and the accepted values.
    """
    if not isinstance(profile, str) or profile not in profiles:
        raise ValueError(f"PROFILE must be one of {list(profiles)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"SEED must be a non-negative integer, got {seed!r}")


def _to_number(value: Any) -> float | int | bool | str:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"recorded value must be a number, bool or string, got {type(value).__name__}"
                        ) from None
    if not math.isfinite(value):
        raise ValueError(f"recorded value must be finite, got {value}")
    return value


def record(name: str, value: Any) -> float | int | bool | str:
    """Record ``value`` (a number, bool or short string) under ``name``; returns the stored value.

    Prints and displays nothing. Under the notebook runner (``AEQKIT_RECORD_FILE`` set) the value
    is appended to that file; otherwise it is only validated and returned.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"metric name must be an identifier-like string, got {name!r}")
    v = _to_number(value)
    target = os.environ.get(RECORD_FILE_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": v}) + "\n")
    return v


def read_record_file(path: str | os.PathLike) -> dict[str, Any]:
    """The values appended to a record file, ``{name: value}`` (later records win)."""
    out: dict[str, Any] = {}
    p = Path(path)
    if not p.exists():
        return out
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a killed kernel
            continue
        if isinstance(d, dict) and "name" in d and "value" in d:
            out[d["name"]] = d["value"]
    return out


def read_records(nb_path: str | os.PathLike) -> dict[str, Any]:
    """All values recorded in an executed notebook, ``{name: value}`` (later records win).

    Reads ``metadata.aeqkit.metrics`` (written by the runner) and, for older executed notebooks,
    outputs of mimetype :data:`METRIC_MIMETYPE`.
    """
    with open(nb_path, encoding="utf-8") as fh:
        nb = json.load(fh)
    out: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if METRIC_MIMETYPE in data:
                d = data[METRIC_MIMETYPE]
                if isinstance(d, str):
                    d = json.loads(d)
                out[d["name"]] = d["value"]
    out.update(nb.get("metadata", {}).get("aeqkit", {}).get("metrics", {}))
    return out
