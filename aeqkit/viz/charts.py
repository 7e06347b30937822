"""Chart builders: equivariance errors per element and against a strength, relaxed weights, irrep
spectra, model-against-data errors (Fig. 4) and metric tables.

Each takes numbers already computed (by :mod:`aeqkit.equivariance`, :mod:`aeqkit.explore`,
:mod:`aeqkit.reproduce`, ...) and returns a ``go.Figure``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from aeqkit.viz.base import (
    FIELD_COLORSCALE,
    MAX_FIGURE_WIDTH,
    MODEL_COLORS,
    _log_range,
    _resolve_log,
    to_numpy,
)

__all__ = [
    "equivariance_error_bars",
    "error_vs_strength",
    "relaxed_weights_figure",
    "irrep_spectrum_figure",
    "model_vs_data_error",
    "metric_table_figure",
]


def _labelled_values(
    values: Mapping[str, float] | Sequence[float] | Any, labels: Sequence[str] | None
) -> tuple[list[str], np.ndarray]:
    if isinstance(values, Mapping):
        names = [str(k) for k in values.keys()]
        vals = to_numpy([float(v) for v in values.values()])
    else:
        vals = to_numpy(values).ravel()
        names = [str(x) for x in (labels if labels is not None else range(len(vals)))]
    if len(names) != len(vals):
        raise ValueError(f"expected {len(vals)} labels, got {len(names)}")
    return names, vals


def equivariance_error_bars(
    per_element: Mapping[str, float] | Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    title: str = "Equivariance error per group element",
    norm: str = "L1",
    tolerance: float | None = None,
    log_y: bool | str = "auto",
) -> go.Figure:
    """Bar chart of the equivariance error for each group element (Def. 3.1, per g).

    Args:
        per_element: ``{element label: error}`` or a sequence (then ``labels`` names them).
        labels: element labels when ``per_element`` is a sequence.
        title: figure title.
        norm: norm name shown on the y axis.
        tolerance: optional horizontal line (e.g. a float32 tolerance).
        log_y: logarithmic y axis: True, False or ``"auto"`` (log when the errors span two
            decades or more, e.g. E2CNN's 1e-7 beside a ConvNet's 0.1; :func:`spans_decades`).

    Returns:
        figure with one bar trace; ``layout.meta`` holds ``sup``, ``mean`` (over elements) and
        ``log_y``.
    """
    names, vals = _labelled_values(per_element, labels)
    if len(vals) == 0:
        raise ValueError("expected at least one group element, got none")
    fig = go.Figure(
        go.Bar(x=names, y=vals, marker_color=MODEL_COLORS[0], name="error",
               text=[f"{v:.2e}" for v in vals], textposition="outside")
    )
    if tolerance is not None:
        fig.add_hline(y=float(tolerance), line_dash="dot", annotation_text="tolerance")
    top = float(np.max(vals)) if len(vals) else 0.0
    log_y = _resolve_log(log_y, vals, "log_y")
    if log_y:  # the numbers printed above the bars need headroom on a log axis too
        low, high = _log_range(vals)
        y_range = [low, high + 0.4]
    else:
        y_range = [0, max(top * 1.25, 1e-12)]
    fig.update_layout(
        title=title, xaxis_title="group element g", yaxis_title=f"error ({norm})",
        yaxis_range=y_range, yaxis_type="log" if log_y else "linear", width=520, height=360,
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        meta={"sup": top, "mean": float(np.mean(vals)), "log_y": log_y},
    )
    return fig


def error_vs_strength(
    strengths: Sequence[float],
    errors: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    current: float | None = None,
    xlabel: str = "symmetry-breaking strength",
    ylabel: str = "equivariance error",
    title: str | None = None,
    log_y: bool | str = "auto",
) -> go.Figure:
    """Error against a relaxation / breaking strength, one line per series.

    Args:
        strengths: x values (e.g. breaking strength, β, α, the ten levels).
        errors: one sequence (same length) or ``{series name: sequence}``.
        current: draw a vertical line here (the slider's value).
        xlabel, ylabel, title: labels.
        log_y: logarithmic y axis: True, False or ``"auto"`` (log when the errors span two
            decades or more, :func:`spans_decades`).

    Shape:
        strengths: ``(S,)``; each series ``(S,)``.
    """
    xs = to_numpy(strengths).ravel()
    series = errors if isinstance(errors, Mapping) else {"error": errors}
    everything = np.concatenate([to_numpy(v).ravel() for v in series.values()] or [np.zeros(1)])
    log_y = _resolve_log(log_y, everything, "log_y")
    fig = go.Figure()
    for i, (name, ys) in enumerate(series.items()):
        ys = to_numpy(ys).ravel()
        if ys.shape != xs.shape:
            raise ValueError(
                f"expected series {name!r} to have {len(xs)} values (one per strength), got {len(ys)}"
            )
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=str(name),
                                 line={"color": MODEL_COLORS[i % len(MODEL_COLORS)]}))
    if current is not None:
        fig.add_vline(x=float(current), line_dash="dash", line_color="gray")
    fig.update_layout(
        title=title, xaxis_title=xlabel, yaxis_title=ylabel, width=520, height=360,
        margin={"l": 60, "r": 10, "t": 50 if title else 20, "b": 50},
        yaxis_type="log" if log_y else "linear",
        yaxis_exponentformat="power",
        meta={"current": None if current is None else float(current), "log_y": log_y},
    )
    if log_y:
        fig.update_yaxes(range=_log_range(everything))
    return fig


def relaxed_weights_figure(
    relaxed_weights: Any,
    *,
    element_labels: Sequence[str] | None = None,
    title: str = "Relaxed weights w_l(h)",
    xlabel: str = "group element h",
) -> go.Figure:
    """Heatmap of relaxed weights: filter bank ``l`` (rows) against group element ``h``.

    Equal columns mean the layer is exactly equivariant (paper Eq. 4-5, Sec. 3.1); the
    column spread is stored as ``layout.meta["spread"]`` (max over banks of max - min).

    Args:
        relaxed_weights: ``(L, N)`` array/tensor, or ``(..., L, N)`` (leading axes averaged),
            or ``(N,)`` for a single bank.
        element_labels: labels of the ``N`` group elements (default ``h0 .. h{N-1}``).
        title, xlabel: labels.

    Shape:
        relaxed_weights: ``(L, N)``.
    """
    w = to_numpy(relaxed_weights)
    if w.ndim == 1:
        w = w[None]
    if w.ndim < 2:
        raise ValueError(f"expected relaxed weights of shape (L, N), got {w.shape}")
    while w.ndim > 2:
        w = w.mean(axis=0)
    n = w.shape[1]
    labels = list(element_labels) if element_labels is not None else [f"h{i}" for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"expected {n} element labels, got {len(labels)}")
    spread = float(np.max(w.max(axis=1) - w.min(axis=1)))
    fig = go.Figure(
        go.Heatmap(
            z=w, x=labels, y=[f"l={i + 1}" for i in range(w.shape[0])],
            colorscale=FIELD_COLORSCALE, zmid=float(w.mean()),
            text=np.round(w, 3), texttemplate="%{text}", colorbar={"thickness": 12},
        )
    )
    fig.update_layout(
        title=title, xaxis_title=xlabel, yaxis_title="filter bank l",
        width=min(900, 140 + 60 * n), height=140 + 40 * w.shape[0],
        margin={"l": 60, "r": 10, "t": 50, "b": 50}, meta={"spread": spread},
    )
    return fig


def irrep_spectrum_figure(
    spectrum: Mapping[str, float] | Sequence[float],
    *,
    labels: Sequence[str] | None = None,
    allowed: Sequence[str] | None = None,
    title: str = "Relaxed weights on the irreps of C_N",
) -> go.Figure:
    """Bar chart of the energy of the relaxed weights on each irrep (Fourier over the group).

    Weight only on the trivial irrep means an exactly equivariant layer; weight on irrep
    ``k`` means the symmetry is broken to the subgroup whose elements fix that frequency.

    Args:
        spectrum: ``{irrep label: energy}`` or a sequence (then ``labels`` names the irreps,
            default ``k=0, 1, ...``).
        labels: irrep labels for a sequence.
        allowed: labels of irreps allowed by an expected subgroup (drawn in a second colour).
        title: figure title.

    Returns:
        figure; ``layout.meta["fraction"]`` maps each irrep to its share of the total energy.
    """
    names, vals = _labelled_values(
        spectrum, labels if labels is not None or isinstance(spectrum, Mapping)
        else [f"k={i}" for i in range(len(to_numpy(spectrum).ravel()))]
    )
    allowed_set = set(allowed or [])
    colors = [MODEL_COLORS[2] if n in allowed_set else MODEL_COLORS[0] for n in names]
    total = float(vals.sum()) or 1.0
    fig = go.Figure(go.Bar(x=names, y=vals, marker_color=colors, name="energy"))
    fig.update_layout(
        title=title, xaxis_title="irrep", yaxis_title="energy", width=480, height=340,
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        meta={"fraction": {n: float(v) / total for n, v in zip(names, vals)}},
    )
    return fig



def model_vs_data_error(
    data_errors: Sequence[float],
    model_errors: Mapping[str, Sequence[float]],
    *,
    title: str = "Model equivariance error vs data equivariance error",
    log: bool | str = "auto",
    x_title: str = "one-step data equivariance error",
) -> go.Figure:
    """Fig. 4: each model's equivariance error against the data's, with the diagonal y = x.

    A model that learned the data's amount of symmetry lies near the diagonal; a strictly
    equivariant model lies on the x axis.

    Args:
        data_errors: data equivariance error per data set / level ``(S,)``.
        model_errors: ``{model name: (S,)}`` model equivariance errors.
        title: figure title.
        log: logarithmic axes: True, False or ``"auto"`` (log when the errors span two decades
            or more, e.g. E2CNN's 4e-8 beside a ConvNet's 0.1; :func:`spans_decades`). On log
            axes, model errors below the y range (exact zeros) are drawn on its bottom edge as
            down triangles (``layout.meta["clipped"]`` counts them); data errors of exactly 0
            (a symmetric level) sit on the left edge as left triangles.
        x_title: what the data error is. Compare like with like: the one-step error of the
            data's own step (``aeqkit.data.one_step_data_error``), in the model's norm.
    """
    xs = to_numpy(data_errors).ravel()
    series = {}
    for name, ys in model_errors.items():
        ys = to_numpy(ys).ravel()
        if ys.shape != xs.shape:
            raise ValueError(
                f"expected model {name!r} to have {len(xs)} errors (one per data set), "
                f"got {len(ys)}"
            )
        series[str(name)] = ys
    x_zero = xs <= 0
    everything = np.concatenate([xs, *series.values()]) if len(xs) else np.ones(1)
    log = _resolve_log(log, everything, "log")
    hi = float(everything.max()) if len(xs) else 1.0
    lo, axis_range, clipped = 0.0, None, 0
    if log:
        axis_range = _log_range(everything)
        x_range = _log_range(xs[~x_zero]) if bool((~x_zero).any()) else axis_range
        lo = 10 ** axis_range[0]
        xs = np.where(x_zero, 10 ** x_range[0], xs)
    fig = go.Figure()
    for i, (name, ys) in enumerate(series.items()):
        below = ys < lo * 1.0001 if log else np.zeros(ys.shape, dtype=bool)
        clipped += int(below.sum())
        fig.add_trace(go.Scatter(
            x=xs, y=np.where(below, lo, ys), mode="lines+markers", name=name,
            line={"color": MODEL_COLORS[i % len(MODEL_COLORS)]},
            marker={"symbol": np.where(below, "triangle-down",
                                       np.where(x_zero & log, "triangle-left", "circle")).tolist()},
            customdata=ys, hovertemplate=f"{name}: data %{{x:.3g}}, model %{{customdata:.3g}}<extra></extra>",
        ))
    diag = [min(lo, 10 ** x_range[0]), hi] if log else [0.0, hi]
    fig.add_trace(go.Scatter(x=diag, y=diag, mode="lines", name="y = x",
                             line={"dash": "dot", "color": "gray"}))
    fig.update_layout(
        title=title, xaxis_title=x_title,
        yaxis_title="model equivariance error", width=560, height=420,
        xaxis_type="log" if log else "linear", yaxis_type="log" if log else "linear",
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        meta={"log": log, "clipped": clipped},
    )
    if log:
        fig.update_xaxes(range=x_range, exponentformat="power")
        fig.update_yaxes(range=axis_range, exponentformat="power")
    return fig



def metric_table_figure(
    rows: Sequence[Mapping[str, Any]], *, title: str | None = None, digits: int = 3
) -> go.Figure:
    """A plotly table of dict rows (e.g. Table 1 / Table 2 with the paper's numbers beside).

    Args:
        rows: list of dicts with the same keys (column order from the first row).
        title: figure title.
        digits: significant digits for floats.
    """
    if not rows:
        raise ValueError("expected at least one row, got none")
    cols = list(rows[0].keys())

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else f"{v:.{digits}g}"
        return "—" if v is None else str(v)

    cells = [[fmt(r.get(c)) for r in rows] for c in cols]
    fig = go.Figure(go.Table(header={"values": cols, "fill_color": "#dde"},
                             cells={"values": cells, "align": "left"}))
    fig.update_layout(title=title, width=min(MAX_FIGURE_WIDTH, 120 * len(cols) + 60),
                      height=80 + 28 * (len(rows) + 1) + (40 if title else 0),
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10})
    return fig


