"""Record named numbers in an executed notebook so the papermill regression suite can band them.

``record("heat_data_ee_beta0", 1e-7)`` displays a small text line for the reader and stores the value
under the mimetype ``application/vnd.aeqkit.metric+json`` in the cell's outputs;
:func:`read_records` reads every recorded value back from an executed ``.ipynb``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

__all__ = ["METRIC_MIMETYPE", "record", "read_records"]

METRIC_MIMETYPE = "application/vnd.aeqkit.metric+json"


def _to_number(value: Any) -> float | int | bool | str:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"recorded value must be finite, got {value}")
    return value


def record(name: str, value: Any) -> float | int | bool | str:
    """Record ``value`` (a number, bool or short string) under ``name``; returns the stored value."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"metric name must be an identifier-like string, got {name!r}")
    v = _to_number(value)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            text = f"{name} = {v:.6g}" if isinstance(v, float) else f"{name} = {v}"
            display({METRIC_MIMETYPE: {"name": name, "value": v}, "text/plain": text}, raw=True)
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks extra
        pass
    return v


def read_records(nb_path: str | os.PathLike) -> dict[str, Any]:
    """All values recorded in an executed notebook, ``{name: value}`` (later records win)."""
    with open(nb_path) as fh:
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
    return out
