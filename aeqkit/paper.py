"""The paper's published numbers, as data (Wang, Walters, Yu, ICML 2022).

Transcribed from the paper text (``shared/seeds/000_*.txt``), Sec. 5.1 Table 1 (synthetic smoke
plumes) and Sec. 5.3 Table 2 (NASA jet flow). Each entry is ``(mean, std)`` of the 20-step
autoregressive prediction RMSE over 3 runs; ``None`` marks a "—" cell of the paper. Model keys are
the names of :func:`aeqkit.models.build` (lower case); :data:`DISPLAY_NAMES` (derived from the
model registry, :func:`aeqkit.models.model_specs`) maps them back to the paper's column headers.

Note the paper's data (64x64 PhiFlow 2.0.1 smoke, real PIV jet windows) is not what aeqkit
generates (PhiFlow 3.4 re-simulations, a synthetic jet), so these numbers are a reference for the
*ordering* of the models, not a target for the absolute values.
"""

from __future__ import annotations

__all__ = [
    "DISPLAY_NAMES",  # noqa: F822  (module __getattr__: derived from the model registry)
    "display_names",
    "SPLITS",
    "TABLE1",
    "TABLE1_MODELS",
    "TABLE2",
    "TABLE2_MODELS",
    "INDEPENDENT",
    "independent_value",
    "paper_value",
]

#: Test splits of the paper's tables: ``future`` (later times of the training simulations) and
#: ``domain`` (held-out simulations or regions).
SPLITS: tuple[str, ...] = ("future", "domain")

def display_names() -> dict[str, str]:
    """The paper's column header of every registered model (``{"rgroup": "RGroup", ...}``),
    read from the model registry (``register_model(..., display_name=...)``)."""
    from aeqkit.models.registry import model_specs

    return {name: spec.display_name for name, spec in model_specs().items()}


def __getattr__(name: str) -> object:
    # DISPLAY_NAMES is derived from the model registry, on first use (importing this module
    # stays free of torch); `from aeqkit.paper import DISPLAY_NAMES` works as before
    if name == "DISPLAY_NAMES":
        return display_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Column order of Table 1.
TABLE1_MODELS: tuple[str, ...] = (
    "mlp", "conv", "equiv", "rpp", "combo", "clcnn", "lift", "rgroup", "rsteer",
)

# Table 1: prediction RMSE on three synthetic smoke plume data sets (Sec. 5.1).
# For translation, Conv *is* the equivariant model (its column is "—") and there is no RSteer.
TABLE1: dict[str, dict[str, dict[str, tuple[float, float] | None]]] = {
    "translation": {
        "future": {
            "mlp": (1.56, 0.08), "conv": None, "equiv": (0.94, 0.02), "rpp": (0.92, 0.01),
            "combo": (1.02, 0.02), "clcnn": (0.92, 0.01), "lift": (0.87, 0.03),
            "rgroup": (0.71, 0.01), "rsteer": None,
        },
        "domain": {
            "mlp": (1.79, 0.13), "conv": None, "equiv": (0.68, 0.05), "rpp": (0.93, 0.01),
            "combo": (0.98, 0.01), "clcnn": (0.89, 0.01), "lift": (0.70, 0.00),
            "rgroup": (0.62, 0.02), "rsteer": None,
        },
    },
    "rotation": {
        "future": {
            "mlp": (1.38, 0.06), "conv": (1.21, 0.01), "equiv": (1.05, 0.06), "rpp": (0.96, 0.10),
            "combo": (1.07, 0.00), "clcnn": (0.96, 0.05), "lift": (0.82, 0.08),
            "rgroup": (0.82, 0.01), "rsteer": (0.80, 0.00),
        },
        "domain": {
            "mlp": (1.34, 0.03), "conv": (1.10, 0.05), "equiv": (0.76, 0.02), "rpp": (0.83, 0.01),
            "combo": (0.82, 0.02), "clcnn": (0.84, 0.10), "lift": (0.68, 0.09),
            "rgroup": (0.73, 0.02), "rsteer": (0.67, 0.01),
        },
    },
    "scaling": {
        "future": {
            "mlp": (2.40, 0.02), "conv": (0.83, 0.01), "equiv": (0.75, 0.03), "rpp": (0.81, 0.09),
            "combo": (0.78, 0.04), "clcnn": (1.03, 0.01), "lift": (0.85, 0.01),
            "rgroup": (0.76, 0.04), "rsteer": (0.70, 0.01),
        },
        "domain": {
            "mlp": (1.81, 0.18), "conv": (0.95, 0.02), "equiv": (0.87, 0.02), "rpp": (0.86, 0.05),
            "combo": (0.85, 0.01), "clcnn": (0.83, 0.05), "lift": (0.77, 0.02),
            "rgroup": (0.86, 0.12), "rsteer": (0.73, 0.01),
        },
    },
}

#: Models of Table 2 per symmetry group, in the paper's column order. The paper's headers are
#: Translation: Conv, Lift, RGroup; Rotation: E2CNN, Lift, RSteer; Scaling: SESN, Rpp, RSteer;
#: Combination: RSteerTR, RSteerTS. E2CNN and SESN are aeqkit's strict ``equiv`` model for the
#: rotation and scaling symmetry respectively.
TABLE2_MODELS: dict[str, tuple[str, ...]] = {
    "translation": ("conv", "lift", "rgroup"),
    "rotation": ("equiv", "lift", "rsteer"),
    "scaling": ("equiv", "rpp", "rsteer"),
    "combination": ("rsteer_tr", "rsteer_ts"),
}

# Table 2: prediction RMSE on the experimental jet flow data (Sec. 5.3).
TABLE2: dict[str, dict[str, dict[str, tuple[float, float] | None]]] = {
    "translation": {
        "future": {"conv": (0.22, 0.06), "lift": (0.17, 0.02), "rgroup": (0.15, 0.00)},
        "domain": {"conv": (0.23, 0.06), "lift": (0.18, 0.02), "rgroup": (0.16, 0.01)},
    },
    "rotation": {
        "future": {"equiv": (0.21, 0.02), "lift": (0.18, 0.02), "rsteer": (0.17, 0.01)},
        "domain": {"equiv": (0.27, 0.03), "lift": (0.21, 0.04), "rsteer": (0.16, 0.01)},
    },
    "scaling": {
        "future": {"equiv": (0.15, 0.00), "rpp": (0.16, 0.06), "rsteer": (0.14, 0.01)},
        "domain": {"equiv": (0.16, 0.01), "rpp": (0.16, 0.07), "rsteer": (0.15, 0.00)},
    },
    "combination": {
        "future": {"rsteer_tr": (0.14, 0.01), "rsteer_ts": (0.14, 0.02)},
        "domain": {"rsteer_tr": (0.15, 0.01), "rsteer_ts": (0.15, 0.00)},
    },
}

_TABLES = {"table1": TABLE1, "table2": TABLE2}


def paper_value(
    table: str, symmetry: str, split: str, model: str
) -> tuple[float, float] | None:
    """The paper's ``(mean, std)`` RMSE for one cell, or ``None`` where the paper has none.

    Args:
        table: ``"table1"`` or ``"table2"``.
        symmetry: a row group of the table (``"translation"``, ``"rotation"``, ``"scaling"``, and
            ``"combination"`` for Table 2).
        split: ``"future"`` or ``"domain"`` (``"test_future"`` / ``"test_domain"`` also accepted).
        model: an aeqkit model name, e.g. ``"rsteer"``.

    Returns:
        ``(mean, std)`` or ``None`` (a "—" cell or a model the paper did not report there).

    Raises:
        ValueError: for an unknown table, symmetry or split.
    """
    if table not in _TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {sorted(_TABLES)}")
    data = _TABLES[table]
    if symmetry not in data:
        raise ValueError(
            f"unknown symmetry {symmetry!r} for {table}; expected one of {sorted(data)}"
        )
    key = split.removeprefix("test_")
    if key not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    return data[symmetry][key].get(model)


#: An independent reproduction of the paper's rotation smoke experiment (Table 1, rotation row),
#: as reported in aeqkit's issue 10: 20-step RMSE, mean ± std over 3 runs. It could not
#: reproduce the other cells (RGroup's settings were never published).
INDEPENDENT: dict[str, dict[str, dict[str, dict[str, tuple[float, float]]]]] = {
    "table1": {
        "rotation": {
            "future": {"rgroup": (0.88, 0.03), "rsteer": (0.82, 0.00)},
            "domain": {"rgroup": (0.90, 0.04), "rsteer": (0.67, 0.00)},
        },
    },
}


def independent_value(table: str, symmetry: str, split: str, model: str) -> tuple[float, float] | None:
    """The independent reproduction's ``(mean, std)`` for one cell, or ``None`` where none exists."""
    return (INDEPENDENT.get(table, {}).get(symmetry, {}).get(split.removeprefix("test_"), {})
            .get(model))
