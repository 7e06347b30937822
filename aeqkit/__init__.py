"""aeqkit: approximately equivariant networks for imperfectly symmetric dynamics.

A teaching and research kit around Wang, Walters & Yu (ICML 2022). Submodules are imported lazily so
that ``import aeqkit`` stays fast: ``aeqkit.groups``, ``aeqkit.equivariance``, ``aeqkit.nn``,
``aeqkit.models``, ``aeqkit.data``, ``aeqkit.train``, ``aeqkit.discovery``, ``aeqkit.viz``,
``aeqkit.widgets``, ``aeqkit.explore``. See README.md for the map.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"groups", "equivariance", "nn", "models", "data", "train", "discovery", "viz",
               "widgets", "explore", "io", "utils", "record", "notebooks", "reproduce", "paper",
               "harness", "experiments"}

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"aeqkit.{name}")
    raise AttributeError(f"module 'aeqkit' has no attribute {name!r}")
