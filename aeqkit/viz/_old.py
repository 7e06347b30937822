"""Pure plotly figure builders: plain parameters in, a ``go.Figure`` out.

Every interactive view of the notebook sequence is a thin ipywidgets shell
(:mod:`aeqkit.widgets`) over one of these functions, so tests can call them over
their control ranges without a front end. Conventions (see DESIGN.md):

- fields are arrays ``(..., C, H, W)`` with row 0 at the *bottom* (y up); heatmaps are
  drawn with plotly's default ``origin="lower"`` orientation, never flipped;
- fields are downsampled (``max_size`` pixels per axis) and animations capped
  (``max_frames``) so executed notebooks stay small;
- numbers a view wants to show beside the figure (e.g. an equivariance error) are stored
  in ``fig.layout.meta`` (a dict) so that widgets can display them as a readout.

Builders taking data (arrays, dicts of numbers) live in the first half of the module;
"view" builders that compute something from slider values (breaking strength, β, L, α,
group order) live in the second half and call the rest of :mod:`aeqkit`.

See also: notebooks 00-06; the method schematics are in :mod:`aeqkit.diagrams`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "MAX_FIGURE_WIDTH",
    "to_numpy",
    "downsample",
    "field_figure",
    "fields_grid",
    "equivariance_error_bars",
    "error_vs_strength",
    "relaxed_weights_figure",
    "irrep_spectrum_figure",
    "kernel_figure",
    "rollout_figure",
    "error_map_figure",
    "model_vs_data_error",
    "animation_gallery",
    "metric_table_figure",
    "toy_breaking_function",
    "breaking_strength_view",
    "heat_view",
    "relaxed_layer_view",
]

#: colour scales used across the sequence (one visual vocabulary)
FIELD_COLORSCALE = "RdBu_r"
MAGNITUDE_COLORSCALE = "Viridis"
ERROR_COLORSCALE = "Inferno"
MODEL_COLORS = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
)

_FIELD_KINDS = ("auto", "scalar", "magnitude", "quiver", "vector", "vorticity")

#: Widest figure (CSS px) any builder returns: a JupyterLab output area is 968 px wide in a
#: 1400 px window with the file browser open (measured in Chromium, JupyterLab 4).
MAX_FIGURE_WIDTH = 900
#: Tallest field panel (CSS px) of an animation, so a tall jet window does not fill the screen.
MAX_PANEL_HEIGHT = 420


# --------------------------------------------------------------------------- helpers


def to_numpy(x: Any) -> np.ndarray:
    """Convert a tensor / array / nested list to a float numpy array (detached, on CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"expected a numeric array or tensor, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def downsample(field: Any, max_size: int = 64) -> np.ndarray:
    """Stride a field so that each of its last two axes has at most ``max_size`` entries.

    Args:
        field: array or tensor ``(..., H, W)``.
        max_size: largest number of pixels kept per axis (>= 2).

    Shape:
        field: ``(..., H, W)`` -> ``(..., ceil(H / s), ceil(W / s))`` with one stride ``s``
        for both axes, so aspect ratio and orientation are kept.
    """
    arr = to_numpy(field)
    if arr.ndim < 2:
        raise ValueError(f"expected a field with at least 2 axes (..., H, W), got shape {arr.shape}")
    if int(max_size) < 2:
        raise ValueError(f"expected max_size >= 2, got {max_size}")
    stride = max(1, math.ceil(max(arr.shape[-2], arr.shape[-1]) / int(max_size)))
    return arr[..., ::stride, ::stride]


def _compact(z: Any, digits: int = 3) -> np.ndarray:
    """Round an image for display: ``digits`` significant digits relative to its largest value.

    Plotly serialises numpy arrays as base64 typed arrays; float32 halves them and rounding
    (3 digits = 0.1% of the colour range) changes nothing visible.
    """
    arr = to_numpy(z)
    peak = float(np.max(np.abs(arr))) if arr.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return arr.astype(np.float32)
    decimals = max(0, digits - 1 - int(math.floor(math.log10(peak))))
    return np.round(arr, decimals).astype(np.float32)  # float32: 4 bytes per value in base64


def _as_field(field: Any) -> np.ndarray:
    """Return ``(C, H, W)`` for a ``(H, W)`` or ``(C, H, W)`` field."""
    arr = to_numpy(field)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, 2):
        raise ValueError(
            "expected a scalar field (H, W) / (1, H, W) or a vector field (2, H, W), "
            f"got shape {tuple(arr.shape)}"
        )
    return arr


def _magnitude(field: np.ndarray) -> np.ndarray:
    """Pointwise norm of a ``(2, H, W)`` field, or the scalar itself for ``(1, H, W)``."""
    if field.shape[0] == 1:
        return field[0]
    return np.sqrt(field[0] ** 2 + field[1] ** 2)


def _vorticity(field: np.ndarray) -> np.ndarray:
    """Central-difference vorticity ``∂v/∂x - ∂u/∂y`` of a ``(2, H, W)`` field (y up)."""
    if field.shape[0] != 2:
        raise ValueError(f"vorticity needs a vector field (2, H, W), got {field.shape}")
    u, v = field
    return np.gradient(v, axis=1) - np.gradient(u, axis=0)


def _scalar_image(field: Any, kind: str) -> np.ndarray:
    """Reduce a field to the ``(H, W)`` image drawn for ``kind``."""
    arr = _as_field(field)
    if kind in ("auto", "scalar"):
        return arr[0] if arr.shape[0] == 1 else _magnitude(arr)
    if kind in ("magnitude", "vector", "quiver"):
        return _magnitude(arr)
    if kind == "vorticity":
        return _vorticity(arr)
    raise ValueError(f"expected kind in {_FIELD_KINDS}, got {kind!r}")


def _quiver_trace(
    field: np.ndarray, quiver_max: int, color: str = "white", head_px: int = 9
) -> go.Scatter:
    """Arrows of a ``(2, H, W)`` field as one line trace: shaft segments separated by NaN.

    Each arrow is three points ``(x0, y0), (x1, y1), NaN``; the tip ``(x1, y1)`` carries an
    ``"arrow"`` marker oriented along the shaft (``angleref="previous"``), so ``u`` and ``-u``
    are told apart by their heads. Tails and NaN points get size-0 markers.
    """
    sub = downsample(field, quiver_max)
    stride_y = field.shape[-2] / sub.shape[-2]
    stride_x = field.shape[-1] / sub.shape[-1]
    u, v = sub
    peak = float(np.max(np.sqrt(u**2 + v**2))) or 1.0
    scale = 0.9 * min(stride_x, stride_y) / peak
    ys, xs = np.meshgrid(
        np.arange(sub.shape[-2]) * math.ceil(stride_y),
        np.arange(sub.shape[-1]) * math.ceil(stride_x),
        indexing="ij",
    )
    x0, y0 = xs.ravel(), ys.ravel()
    x1, y1 = x0 + scale * u.ravel(), y0 + scale * v.ravel()
    nan = np.full_like(x0, np.nan, dtype=np.float64)
    xl = np.round(np.stack([x0, x1, nan], axis=1).ravel(), 2).astype(np.float32)
    yl = np.round(np.stack([y0, y1, nan], axis=1).ravel(), 2).astype(np.float32)
    moving = np.hypot(x1 - x0, y1 - y0) > 1e-9  # no head on a zero-length arrow
    sizes = np.stack([np.zeros_like(x0), np.where(moving, head_px, 0), np.zeros_like(x0)], axis=1)
    return go.Scatter(
        x=xl, y=yl, mode="lines+markers", line={"color": color, "width": 1.5}, hoverinfo="skip",
        marker={"symbol": "arrow", "angleref": "previous", "size": sizes.ravel().astype(np.int8),
                "color": color, "line": {"width": 0}},
        showlegend=False, name="velocity",
    )


def spans_decades(values: Any, decades: float = 2.0, zero_rtol: float = 1e-12) -> bool:
    """True when the positive ``values`` span at least ``decades`` orders of magnitude.

    Values at or below ``zero_rtol`` times the largest one are numerical zeros (float64
    rounding of an exact symmetry) and do not count, so a curve that starts at 1e-17 and then
    grows linearly stays on a linear axis, while E2CNN's 4e-8 beside a ConvNet's 0.1 does not.
    """
    arr = np.abs(to_numpy(values).ravel())
    arr = arr[np.isfinite(arr)]
    if arr.size == 0 or float(arr.max()) <= 0.0:
        return False
    top = float(arr.max())
    kept = arr[arr > zero_rtol * top]
    return bool(kept.size > 1 and math.log10(top / float(kept.min())) >= decades)


def _log_range(values: Any, zero_rtol: float = 1e-12) -> list[float]:
    """Log10 axis range covering the non-zero ``values`` with a little padding."""
    arr = np.abs(to_numpy(values).ravel())
    arr = arr[np.isfinite(arr)]
    top = float(arr.max())
    low = float(arr[arr > zero_rtol * top].min())
    return [math.log10(low) - 0.3, math.log10(top) + 0.3]


def _resolve_log(log: bool | str, values: Any, name: str) -> bool:
    if log == "auto":
        return spans_decades(values)
    if isinstance(log, bool):
        return log
    raise ValueError(f"expected {name} to be True, False or 'auto', got {log!r}")


def _wrap_title(text: str, width_px: float, size: float = 16) -> str:
    """Break ``text`` at spaces into lines of at most ``width_px`` (0.6 em per character)."""
    per_line = max(4, int(width_px / (0.6 * size)))
    if len(text) <= per_line or " " not in text:
        return text
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join([*lines, line])


def _fit_cells(cols: int, cell_px: int, extra_px: int) -> int:
    """Panel size (px) so that ``cols`` panels plus ``extra_px`` fit in :data:`MAX_FIGURE_WIDTH`."""
    return int(max(40, min(int(cell_px), (MAX_FIGURE_WIDTH - extra_px) // max(1, cols))))


def _square_axes(fig: go.Figure, rows: int, cols: int) -> None:
    """Equal aspect ratio on every subplot, no tick labels (fields are images)."""
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            fig.update_xaxes(showticklabels=False, row=r, col=c)
            fig.update_yaxes(
                showticklabels=False, scaleanchor=_axis_ref(fig, r, c), row=r, col=c
            )


def _axis_ref(fig: go.Figure, row: int, col: int) -> str:
    """Name of the x axis of subplot (row, col), e.g. ``"x3"`` (for ``scaleanchor``)."""
    try:
        ref = fig.get_subplot(row, col)
        name = ref.xaxis.plotly_name  # 'xaxis', 'xaxis2', ...
        return "x" + name[len("xaxis"):]
    except Exception:  # pragma: no cover - plotly internals changed
        return "x"


# --------------------------------------------------------------------------- data builders


def field_figure(
    field: Any,
    *,
    kind: str = "auto",
    title: str | None = None,
    max_size: int = 64,
    quiver_max: int = 16,
    colorscale: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
) -> go.Figure:
    """One field as a heatmap (origin lower), with arrows for vector fields.

    Args:
        field: ``(H, W)`` / ``(1, H, W)`` scalar or ``(2, H, W)`` velocity ``(u, v)``.
        kind: ``"auto"`` (scalar heatmap, or magnitude + arrows for vectors), ``"scalar"``,
            ``"magnitude"`` (norm only), ``"quiver"`` / ``"vector"`` (norm + arrows),
            ``"vorticity"``.
        title: figure title.
        max_size: pixels per axis kept in the heatmap.
        quiver_max: arrows per axis.
        colorscale, zmin, zmax: heatmap colour scale and range.

    Shape:
        field: ``(C, H, W)`` with ``C in {1, 2}``, row 0 at the bottom.
    """
    if kind not in _FIELD_KINDS:
        raise ValueError(f"expected kind in {_FIELD_KINDS}, got {kind!r}")
    arr = _as_field(field)
    image = downsample(_scalar_image(arr, kind), max_size)
    stride = arr.shape[-1] / image.shape[-1]
    xs = np.arange(image.shape[-1]) * math.ceil(stride)
    ys = np.arange(image.shape[-2]) * math.ceil(stride)
    if colorscale is None:
        colorscale = (
            FIELD_COLORSCALE if (arr.shape[0] == 1 or kind == "vorticity")
            else MAGNITUDE_COLORSCALE
        )
    fig = go.Figure(
        go.Heatmap(z=_compact(image), x=xs, y=ys, colorscale=colorscale, zmin=zmin, zmax=zmax,
                   colorbar={"thickness": 12})
    )
    if arr.shape[0] == 2 and kind in ("auto", "quiver", "vector"):
        fig.add_trace(_quiver_trace(arr, quiver_max))
    fig.update_layout(
        title=title, width=420, height=400, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        meta={"kind": kind, "shape": list(arr.shape)},
    )
    fig.update_xaxes(showticklabels=False, range=[xs[0] - 0.5, xs[-1] + 0.5], constrain="domain")
    fig.update_yaxes(showticklabels=False, scaleanchor="x", range=[ys[0] - 0.5, ys[-1] + 0.5])
    return fig


def fields_grid(
    fields: Sequence[Any],
    *,
    titles: Sequence[str] | None = None,
    rows: int | None = None,
    cols: int | None = None,
    kind: str = "auto",
    max_size: int = 48,
    shared_scale: bool = True,
    colorscale: str | None = None,
    row_titles: Sequence[str] | None = None,
    title: str | None = None,
    cell_px: int = 170,
    quiver_max: int = 12,
) -> go.Figure:
    """A grid of field heatmaps with one shared colour scale (Fig. 2/3/5 layouts).

    Args:
        fields: sequence of fields ``(H, W)`` / ``(C, H, W)``, filled row by row.
        titles: one subplot title per field.
        rows, cols: grid shape (default: one row).
        kind: how vector fields are reduced (see :func:`field_figure`).
        max_size: pixels per axis kept per panel.
        shared_scale: one colour range for all panels (needed to compare panels).
        colorscale: heatmap colour scale.
        row_titles: labels written left of each row.
        title: figure title.
        cell_px: panel size in pixels.
        quiver_max: arrows per axis when ``kind`` is ``"quiver"`` / ``"vector"``.

    Shape:
        each field: ``(C, H, W)`` with ``C in {1, 2}``.
    """
    if len(fields) == 0:
        raise ValueError("expected at least one field, got an empty sequence")
    n = len(fields)
    if rows is None and cols is None:
        rows, cols = 1, n
    elif rows is None:
        rows = math.ceil(n / cols)
    elif cols is None:
        cols = math.ceil(n / rows)
    if rows * cols < n:
        raise ValueError(f"grid {rows}x{cols} cannot hold {n} fields")
    images = [downsample(_scalar_image(f, kind), max_size) for f in fields]
    if colorscale is None:
        signed = any(float(np.min(im)) < 0 for im in images)
        colorscale = FIELD_COLORSCALE if signed else MAGNITUDE_COLORSCALE
    zmin = zmax = None
    if shared_scale:
        zmin = float(min(np.min(im) for im in images))
        zmax = float(max(np.max(im) for im in images))
        if colorscale == FIELD_COLORSCALE and zmin < 0 < zmax:
            bound = max(-zmin, zmax)
            zmin, zmax = -bound, bound
        if zmax <= zmin:
            zmax = zmin + 1e-12
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=list(titles) if titles else None,
        row_titles=list(row_titles) if row_titles else None,
        horizontal_spacing=0.02, vertical_spacing=0.06 if titles else 0.02,
    )
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        full = _as_field(fields[i])
        step = math.ceil(full.shape[-1] / im.shape[-1])
        fig.add_trace(
            go.Heatmap(
                z=_compact(im), x=np.arange(im.shape[-1]) * step, y=np.arange(im.shape[-2]) * step,
                colorscale=colorscale, zmin=zmin, zmax=zmax,
                showscale=(i == 0) and shared_scale, colorbar={"thickness": 12},
            ),
            row=r + 1, col=c + 1,
        )
        if kind in ("quiver", "vector") and full.shape[0] == 2:
            fig.add_trace(_quiver_trace(full, quiver_max), row=r + 1, col=c + 1)
    _square_axes(fig, rows, cols)
    cell_px = _fit_cells(cols, cell_px, 100)
    fig.update_layout(
        title=title, width=100 + cell_px * cols, height=60 + cell_px * rows,
        margin={"l": 40 if row_titles else 10, "r": 10, "t": 60 if title else 30, "b": 10},
        meta={"zmin": zmin, "zmax": zmax, "n_panels": n},
    )
    if row_titles:  # put row titles on the left
        for ann in fig.layout.annotations:
            if ann.text in row_titles and ann.textangle == 90:
                ann.update(x=-0.02, xanchor="right", textangle=-90)
    return fig


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


def kernel_figure(
    kernels: Any,
    *,
    element_labels: Sequence[str] | None = None,
    title: str = "Kernels Ψ_l(g⁻¹h)",
    max_banks: int = 4,
    max_elements: int = 8,
    row_labels: Sequence[str] | None = None,
) -> go.Figure:
    """Kernels as small heatmaps: rows are filter banks (or output elements), columns group elements.

    Args:
        kernels: ``(k, k)``, ``(N, k, k)`` or ``(L, N, k, k)`` (e.g. one input/output channel
            of a group conv kernel, rotated for each group element).
        element_labels: column labels.
        title: figure title.
        max_banks, max_elements: caps on rows / columns drawn.
        row_labels: row labels (default ``l=1 .. l=L``, filter banks); pass e.g.
            ``[f"g={g}" for g in range(N)]`` when the rows are output group elements (the
            full kernel ``Ψ(g, h)`` of a group conv, Eq. 4).

    Shape:
        kernels: ``(L, N, k, k)``.
    """
    k = to_numpy(kernels)
    while k.ndim < 4:
        k = k[None]
    if k.ndim != 4:
        raise ValueError(f"expected kernels of shape (L, N, k, k), got {k.shape}")
    k = k[:max_banks, :max_elements]
    banks, n = k.shape[:2]
    labels = list(element_labels)[:n] if element_labels is not None else [f"g{i}" for i in range(n)]
    rows = list(row_labels)[:banks] if row_labels is not None else [f"l={b + 1}" for b in range(banks)]
    if len(rows) != banks:
        raise ValueError(f"expected {banks} row labels (one per kernel row), got {len(rows)}")
    fields = [k[b, i] for b in range(banks) for i in range(n)]
    fig = fields_grid(
        fields, titles=labels + [""] * (len(fields) - n), rows=banks, cols=n,
        colorscale=FIELD_COLORSCALE, max_size=32, title=title, cell_px=110,
        row_titles=rows if banks > 1 else None,
    )
    fig.update_layout(meta={**fig.layout.meta, "banks": banks, "elements": n, "row_labels": rows})
    return fig


def _check_rollout(target: Any, predictions: Mapping[str, Any]) -> tuple[np.ndarray, dict]:
    tgt = to_numpy(target)
    if tgt.ndim != 4:
        raise ValueError(f"expected target of shape (T, C, H, W), got {tgt.shape}")
    preds = {}
    for name, p in predictions.items():
        arr = to_numpy(p)
        if arr.shape != tgt.shape:
            raise ValueError(
                f"expected prediction {name!r} to have the target's shape {tgt.shape}, "
                f"got {arr.shape}"
            )
        preds[str(name)] = arr
    return tgt, preds


def rollout_figure(
    target: Any,
    predictions: Mapping[str, Any],
    *,
    steps: Sequence[int] = (1, 5, 10, 20),
    kind: str = "magnitude",
    title: str = "Target and predictions",
    max_size: int = 48,
) -> go.Figure:
    """Fig. 3 layout: target and each model's prediction at the given rollout steps.

    Args:
        target: ground-truth rollout ``(T, C, H, W)`` (step 1 is index 0).
        predictions: ``{model name: (T, C, H, W)}``.
        steps: 1-based steps shown as columns; steps beyond ``T`` are dropped.
        kind: field reduction (``"magnitude"``, ``"vorticity"``, ...).
        title: figure title.
        max_size: pixels per axis kept per panel.

    Returns:
        figure; ``layout.meta["rmse"]`` maps each model to its RMSE per shown step.
    """
    tgt, preds = _check_rollout(target, predictions)
    shown = [int(s) for s in steps if 1 <= int(s) <= tgt.shape[0]]
    if not shown:
        raise ValueError(f"expected steps within 1..{tgt.shape[0]}, got {list(steps)}")
    rows = {"Target": tgt, **preds}
    fields, titles = [], []
    for r, (_, arr) in enumerate(rows.items()):
        for s in shown:
            fields.append(arr[s - 1])
            titles.append(f"step {s}" if r == 0 else "")
    fig = fields_grid(
        fields, titles=titles, rows=len(rows), cols=len(shown), kind=kind, max_size=max_size,
        row_titles=list(rows), title=title, cell_px=150,
    )
    rmse = {
        name: [float(np.sqrt(np.mean((arr[s - 1] - tgt[s - 1]) ** 2))) for s in shown]
        for name, arr in preds.items()
    }
    fig.update_layout(meta={**fig.layout.meta, "steps": shown, "rmse": rmse})
    return fig


def error_map_figure(
    target: Any,
    predictions: Mapping[str, Any],
    *,
    title: str = "Target velocity norm and prediction MAE",
    max_size: int = 64,
) -> go.Figure:
    """Fig. 5 layout: the target's mean velocity norm, then each model's mean absolute error map.

    The MAE map of a model is ``mean over steps and components of |prediction - target|``.

    Args:
        target: ``(T, 2, H, W)`` ground truth over the rollout.
        predictions: ``{model name: (T, 2, H, W)}``.
        title: figure title.
        max_size: pixels per axis kept per panel.

    Returns:
        figure; ``layout.meta["mae"]`` maps each model to its overall MAE.
    """
    tgt, preds = _check_rollout(target, predictions)
    norm = np.sqrt(np.sum(tgt**2, axis=1)).mean(axis=0)
    maps = {name: np.abs(p - tgt).mean(axis=(0, 1)) for name, p in preds.items()}
    n = 1 + len(maps)
    fig = make_subplots(rows=1, cols=n, subplot_titles=["Target |v|", *maps.keys()],
                        horizontal_spacing=0.03)
    fig.add_trace(go.Heatmap(z=_compact(downsample(norm, max_size)), colorscale=MAGNITUDE_COLORSCALE,
                             colorbar={"x": -0.08, "thickness": 10}), row=1, col=1)
    emax = float(max((m.max() for m in maps.values()), default=1.0)) or 1.0
    for i, m in enumerate(maps.values()):
        fig.add_trace(go.Heatmap(z=_compact(downsample(m, max_size)), colorscale=ERROR_COLORSCALE,
                                 zmin=0.0, zmax=emax, showscale=(i == 0),
                                 colorbar={"thickness": 10}), row=1, col=i + 2)
    _square_axes(fig, 1, n)
    width = min(MAX_FIGURE_WIDTH, 80 + 180 * n)
    # panel width left by the margins and the two colour bars; the height follows the field's
    # aspect (a 62 x 23 jet window is tall), capped at MAX_PANEL_HEIGHT
    panel = (width - 160) / n * 0.97
    aspect = tgt.shape[-2] / max(tgt.shape[-1], 1)
    fig.update_layout(
        title=title, width=width, height=90 + int(min(panel * aspect, MAX_PANEL_HEIGHT)),
        margin={"l": 50, "r": 10, "t": 70, "b": 10},
        meta={"mae": {k: float(v.mean()) for k, v in maps.items()}},
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


def animation_gallery(
    frames: Any | Mapping[str, Any],
    *,
    max_frames: int = 16,
    max_size: int = 40,
    kind: str = "magnitude",
    title: str = "Gallery",
    frame_ms: int = 500,
    colorbar_title: str | None = None,
) -> go.Figure:
    """Animated heatmaps (play button + slider) of one or several trajectories.

    Frames are subsampled evenly to at most ``max_frames`` and each panel to ``max_size``
    pixels per axis, so the figure stays small in an executed notebook. All panels share one
    colour range and one colour bar (right), and fit :data:`MAX_FIGURE_WIDTH` together.

    Args:
        frames: ``(T, C, H, W)`` or ``{name: (T, C, H, W)}`` (panels side by side, same T).
        max_frames: cap on animation frames.
        max_size: pixels per axis kept per panel.
        kind: field reduction for vector fields.
        title: figure title.
        frame_ms: milliseconds per frame when playing (>= 50; the default plays 10 frames in
            5 s, slow enough to follow a plume).
        colorbar_title: colour bar label (default from ``kind``, e.g. ``"|v|"``).

    Shape:
        frames: ``(T, C, H, W)`` with ``C in {1, 2}``.
    """
    if int(frame_ms) < 50:
        raise ValueError(f"expected frame_ms >= 50 (milliseconds per frame), got {frame_ms}")
    series = frames if isinstance(frames, Mapping) else {"": frames}
    arrays = {str(k): to_numpy(v) for k, v in series.items()}
    lengths = {a.shape[0] for a in arrays.values()}
    if any(a.ndim != 4 for a in arrays.values()) or len(lengths) != 1:
        raise ValueError(
            "expected trajectories of shape (T, C, H, W) with the same T, got "
            f"{ {k: a.shape for k, a in arrays.items()} }"
        )
    if int(max_frames) < 1:
        raise ValueError(f"expected max_frames >= 1, got {max_frames}")
    t_total = lengths.pop()
    idx = np.unique(np.linspace(0, t_total - 1, min(int(max_frames), t_total)).round().astype(int))
    images = {
        k: np.stack([downsample(_scalar_image(a[t], kind), max_size) for t in idx])
        for k, a in arrays.items()
    }
    zmin = float(min(im.min() for im in images.values()))
    zmax = float(max(im.max() for im in images.values()))
    n = len(images)
    if colorbar_title is None:
        colorbar_title = {"vorticity": "ω", "scalar": "value"}.get(kind, "|v|")
    colorbar = {"thickness": 12, "title": {"text": colorbar_title, "side": "right"},
                "x": 1.01, "xanchor": "left", "len": 0.9}
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(images) if n > 1 else None,
                        horizontal_spacing=0.02)
    for i, im in enumerate(images.values()):
        fig.add_trace(go.Heatmap(z=_compact(im[0]), zmin=zmin, zmax=zmax, colorscale=MAGNITUDE_COLORSCALE,
                                 showscale=(i == 0), colorbar=colorbar),
                      row=1, col=i + 1)
    fig.frames = [
        go.Frame(data=[go.Heatmap(z=_compact(im[j]), zmin=zmin, zmax=zmax) for im in images.values()],
                 traces=list(range(n)), name=str(int(t)))
        for j, t in enumerate(idx)
    ]
    steps = [
        {"method": "animate", "label": str(int(t)),
         "args": [[str(int(t))], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                  "transition": {"duration": 0}}]}
        for t in idx
    ]
    first = next(iter(images.values()))
    aspect = first.shape[-2] / max(first.shape[-1], 1)  # H / W of a panel
    cell = _fit_cells(n, 260, 110)
    cell = max(40, min(cell, int(MAX_PANEL_HEIGHT / aspect)))  # tall fields: cap the height
    for ann in fig.layout.annotations:  # panel titles wrap rather than run into each other
        ann.text = _wrap_title(ann.text, cell - 8, 16)
    extra = 20 * max([a.text.count("<br>") for a in fig.layout.annotations] or [0])
    fig.update_layout(
        title={"text": title, "yref": "container", "y": 0.99, "yanchor": "top"},
        width=110 + cell * n, height=80 + 100 + extra + int(cell * aspect),
        margin={"l": 10, "r": 90, "t": 70 + extra, "b": 100},
        updatemenus=[{
            "type": "buttons", "showactive": False, "x": 0.0, "y": -0.05, "xanchor": "left",
            "direction": "left", "pad": {"r": 10, "t": 30},
            "buttons": [
                {"label": "▶", "method": "animate",
                 "args": [None, {"frame": {"duration": int(frame_ms), "redraw": True},
                                 "fromcurrent": True, "transition": {"duration": 0}}]},
                {"label": "❚❚", "method": "animate",
                 "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]},
            ],
        }],
        sliders=[{"steps": steps, "x": 0.12, "len": 0.88, "y": -0.02, "active": 0,
                  "currentvalue": {"prefix": "t = "}}],
        meta={"frames": len(idx), "frame_index": [int(t) for t in idx], "frame_ms": int(frame_ms)},
    )
    _square_axes(fig, 1, n)
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


# --------------------------------------------------------------------------- view builders
# These compute something from slider values with the rest of aeqkit (imported lazily so
# the data builders above need only numpy and plotly).


def toy_breaking_function(strength: float, *, size: int = 16) -> Callable:
    """A toy map on scalar fields that is C4-equivariant plus ``strength`` times a part that is not.

    ``f(x) = blur(x) + strength * (ramp ⊙ x)`` where ``blur`` is an isotropic 3x3 average
    (commutes with 90° rotations) and ``ramp`` is a fixed field increasing along +x, which
    singles out a direction (paper Def. 2.1: ``f`` is ε-approximately equivariant with ε
    proportional to ``strength``).

    Args:
        strength: symmetry-breaking strength (>= 0).
        size: grid size of the ramp (inputs must be ``size x size``).

    Shape:
        input: ``(..., 1, size, size)`` -> output ``(..., 1, size, size)``.
    """
    import torch
    import torch.nn.functional as F

    if strength < 0:
        raise ValueError(f"expected strength >= 0, got {strength}")
    ramp = torch.linspace(-1.0, 1.0, size, dtype=torch.float64).expand(size, size)

    def f(x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-3]
        flat = x.reshape(-1, 1, x.shape[-2], x.shape[-1])
        kernel = torch.full((1, 1, 3, 3), 1.0 / 9.0, dtype=flat.dtype)
        blurred = F.conv2d(F.pad(flat, (1, 1, 1, 1), mode="circular"), kernel)
        out = blurred + strength * ramp.to(flat.dtype) * flat
        return out.reshape(*lead, 1, x.shape[-2], x.shape[-1])

    return f


def breaking_strength_view(
    strength: float = 0.5,
    *,
    max_strength: float = 1.0,
    n_points: int = 11,
    size: int = 16,
    seed: int = 0,
) -> go.Figure:
    """Notebook 00 slider view: equivariance error of :func:`toy_breaking_function` under C4.

    Left: the error per group element at ``strength``; right: the sup error against the
    strength over ``[0, max_strength]`` with the current value marked. Zero strength gives
    zero error (up to float64 rounding); the error grows linearly with the strength.

    Args:
        strength: current breaking strength (slider value).
        max_strength: right end of the curve.
        n_points: points on the curve.
        size: grid size of the random test fields.
        seed: seed of the random test fields.

    Returns:
        figure with ``layout.meta["equivariance_error"]`` (sup over g and samples, L1 mean
        per sample) and ``layout.meta["per_element"]``.
    """
    import torch

    from aeqkit.equivariance import equivariance_error
    from aeqkit.groups import FieldType, get_group

    group = get_group("C4")
    ftype = FieldType.scalars(1)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 1, size, size, generator=gen, dtype=torch.float64)

    def measure(s: float):
        return equivariance_error(toy_breaking_function(s, size=size), x, group,
                                  in_type=ftype, out_type=ftype)

    report = measure(strength)
    per = {str(k): float(v) for k, v in _per_element_items(report)}
    grid = np.linspace(0.0, max(max_strength, strength), n_points)
    curve = [float(measure(float(s)).sup) for s in grid]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[
        f"per group element (strength {strength:.2f})", "sup error vs strength"])
    fig.add_trace(go.Bar(x=list(per), y=list(per.values()), marker_color=MODEL_COLORS[0],
                         name="per element"), row=1, col=1)
    fig.add_trace(go.Scatter(x=grid, y=curve, mode="lines+markers", name="sup over g",
                             line={"color": MODEL_COLORS[1]}), row=1, col=2)
    fig.add_trace(go.Scatter(x=[strength], y=[float(report.sup)], mode="markers",
                             marker={"size": 14, "color": "black", "symbol": "x"},
                             name="current"), row=1, col=2)
    fig.update_yaxes(range=[0, max(curve) * 1.1 + 1e-12], row=1, col=1)
    fig.update_xaxes(title_text="g", row=1, col=1)
    fig.update_xaxes(title_text="breaking strength", row=1, col=2)
    fig.update_layout(width=min(860, MAX_FIGURE_WIDTH), height=380, showlegend=False,
                      title=f"C4 equivariance error {float(report.sup):.4g} at strength {strength:.2f}",
                      margin={"l": 50, "r": 10, "t": 80, "b": 50},
                      meta={"equivariance_error": float(report.sup), "per_element": per,
                            "strength": float(strength)})
    return fig


def _per_element_items(report: Any) -> list[tuple[str, float]]:
    """(label, error) pairs from an :class:`aeqkit.equivariance` report's ``per_element``."""
    per = report.per_element
    if isinstance(per, list | tuple) and per and hasattr(per[0], "label"):
        return [(str(e.label), float(e.sup)) for e in per]
    if isinstance(per, Mapping):
        return [(str(k), float(v)) for k, v in per.items()]
    vals = to_numpy(per).ravel()
    return [(f"g{i}", float(v)) for i, v in enumerate(vals)]


def heat_view(
    beta: float = 0.5,
    *,
    size: int = 32,
    steps: int = 40,
    snapshots: Sequence[int] = (0, 20, 39),
    seed: int = 0,
    diff_zmax: float = 0.4,
) -> go.Figure:
    """Notebook 01 slider view (Fig. 2): heat diffusion with uniform κ (top) and κ varied by β.

    Each row simulates one initial temperature ``T0`` with :mod:`aeqkit.data.heat`; the last
    column is ``|R⁻¹ f(R T0) − f(T0)|`` for the 90° rotation ``R`` (the flow map's equivariance
    error at the last step): zero for β = 0, growing with β.

    Args:
        beta: strength of the diffusion coefficient's variation, ``0 <= beta < 1``.
        size: grid size.
        steps: saved frames per simulation.
        snapshots: frame indices drawn as columns (those ``>= steps`` are dropped).
        seed: initial-condition seed.
        diff_zmax: top of the difference map's colour range, fixed for every β so that slider
            positions compare (the largest difference at the slider's β = 0.9, 32 x 32, 40
            steps, is 0.36); larger differences saturate.

    Returns:
        figure with ``layout.meta["data_equivariance_error"]`` (C4, L1, mean over elements, from
        :func:`aeqkit.data.heat.heat_equivariance_error`) and ``["beta"]``.
    """
    import torch

    from aeqkit.data import heat

    if not 0.0 <= float(beta) < 1.0:
        raise ValueError(f"expected beta in [0, 1), got {beta}")
    if not float(diff_zmax) > 0.0:
        raise ValueError(f"expected diff_zmax > 0, got {diff_zmax}")
    shown = [int(s) for s in snapshots if 0 <= int(s) < steps]
    if not shown:
        raise ValueError(f"expected snapshots within 0..{steps - 1}, got {list(snapshots)}")
    rows = [0.0, float(beta)]
    temps, diffs = [], []
    for b in rows:
        cfg = heat.HeatConfig(resolution=size, steps=steps, num_sims=1, beta=b, seed=seed)
        kappa = heat.diffusivity(cfg)
        t0 = heat.heat_initial_conditions(cfg)
        traj = heat.simulate_heat(t0, cfg, kappa=kappa)[0]  # (T, 1, H, W)
        rot = heat.simulate_heat(torch.rot90(t0, 1, dims=(-1, -2)), cfg, kappa=kappa)[0, -1]
        diffs.append((torch.rot90(rot, -1, dims=(-1, -2)) - traj[-1]).abs()[0])
        temps.append([traj[s, 0] for s in shown])
    err = float(heat.heat_equivariance_error(float(beta), resolution=size, steps=steps,
                                             group="C4", seed=seed))
    n = len(shown) + 1
    titles = [f"t = {s}" for s in shown] + ["|R⁻¹f(RT₀) − f(T₀)|"] + [""] * n
    fig = make_subplots(rows=2, cols=n, subplot_titles=titles, row_titles=["β = 0", f"β = {beta:.2f}"],
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    tmin = float(min(float(t.min()) for row in temps for t in row))
    tmax = float(max(float(t.max()) for row in temps for t in row))
    for r in range(2):
        for c, t in enumerate(temps[r]):
            fig.add_trace(go.Heatmap(z=_compact(downsample(t, 48)), colorscale="Hot", zmin=tmin, zmax=tmax,
                                     showscale=(r == 0 and c == 0),
                                     colorbar={"thickness": 10, "x": -0.06}),
                          row=r + 1, col=c + 1)
        fig.add_trace(go.Heatmap(z=_compact(downsample(diffs[r], 48)), colorscale=ERROR_COLORSCALE,
                                 zmin=0.0, zmax=float(diff_zmax), showscale=(r == 0),
                                 colorbar={"thickness": 10, "tickformat": ".2~f",
                                           "exponentformat": "e"}),
                      row=r + 1, col=n)
    _square_axes(fig, 2, n)
    fig.update_layout(
        title=f"Heat diffusion (Fig. 2) — data equivariance error {err:.4g}",
        width=min(MAX_FIGURE_WIDTH, 80 + 190 * n), height=460,
        margin={"l": 60, "r": 10, "t": 70, "b": 10},
        meta={"data_equivariance_error": err, "beta": float(beta),
              "max_rotation_difference": float(diffs[1].max()), "diff_zmax": float(diff_zmax)},
    )
    return fig


def relaxed_layer_view(
    num_filter_banks: int = 2,
    alpha: float = 0.0,
    group_order: int = 4,
    *,
    breaking: float = 0.5,
    steps: int = 80,
    size: int = 12,
    seed: int = 0,
) -> go.Figure:
    """Notebook 02 slider view: fit a relaxed C_N group conv and look inside it.

    A teacher :class:`aeqkit.nn.gconv.RelaxedRotGroupConv2d` (one regular field in and out, 3x3
    kernels) has relaxed weights ``1 + breaking · (-1)^h``: it breaks C_N down to C_{N/2}
    (the irrep ``k = N/2``). A student with ``num_filter_banks`` banks, exactly equivariant at
    initialisation, is fitted for ``steps`` Adam steps on ``MSE + alpha · penalty`` (Sec. 3.3).
    Panels: the student's relaxed weights, their irrep spectrum (``k >= 1``), and its
    equivariance error per exactly-acting rotation.

    Args:
        num_filter_banks: L of the student.
        alpha: weight of the Sec. 3.3 regulariser (unsquared L1 over pairs of elements).
        group_order: N of C_N (even: 2, 4, 6, 8, ...).
        breaking: the teacher's symmetry breaking (0: an exactly C_N-equivariant teacher).
        steps: Adam steps.
        size: grid size of the random regular input fields.
        seed: seed of teacher, student and data.

    Returns:
        figure; ``layout.meta`` holds ``equivariance_error`` (student, after fitting, L1 sup
        over the 90° rotations in C_N), ``init_equivariance_error``, ``loss``, ``penalty``,
        ``spectrum`` (energy per irrep ``k = 0 .. N//2``, :func:`aeqkit.nn.irrep_spectrum`),
        ``dominant_irrep`` (argmax over k >= 1), ``breaking_fraction`` and
        ``surviving_subgroup`` (order M of the C_M keeping 95% of the energy).
    """
    import torch

    from aeqkit.equivariance import equivariance_error
    from aeqkit.groups import FieldType, get_group
    from aeqkit.nn import RelaxedRotGroupConv2d, irrep_spectrum, surviving_subgroup

    n = int(group_order)
    if n < 2 or n % 2:
        raise ValueError(f"expected an even group_order >= 2, got {group_order}")
    if alpha < 0 or breaking < 0:
        raise ValueError(f"expected alpha >= 0 and breaking >= 0, got {alpha}, {breaking}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    teacher = RelaxedRotGroupConv2d(1, 1, 3, group_order=n, num_filter_banks=1, bias=False,
                                    padding_mode="circular").double()
    student = RelaxedRotGroupConv2d(1, 1, 3, group_order=n, num_filter_banks=int(num_filter_banks),
                                    bias=False, padding_mode="circular").double()
    with torch.no_grad():
        sign = torch.tensor([(-1.0) ** h for h in range(n)], dtype=torch.float64)
        teacher.relaxed_weights.copy_(1.0 + breaking * sign[None])
    x = torch.randn(16, n, size, size, generator=gen, dtype=torch.float64)
    y = teacher(x).detach()
    group = get_group(f"C{n}")
    ftype = FieldType.regular(1, n)

    def error(model: torch.nn.Module) -> Any:
        with torch.no_grad():
            return equivariance_error(model, x[:4], group, in_type=ftype, out_type=ftype,
                                      exact_only=True)

    init_err = float(error(student).sup)
    opt = torch.optim.Adam(student.parameters(), lr=0.05)
    loss = torch.tensor(0.0)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = torch.mean((student(x) - y) ** 2)
        (loss + alpha * student.equivariance_penalty()).backward()
        opt.step()
    rep = error(student)
    w = student.relaxed_weights.detach()
    spec = irrep_spectrum(student)
    spectrum = to_numpy(spec.energy)
    labels = [f"k={k}" for k in range(len(spectrum))]
    per = _per_element_items(rep)
    fig = make_subplots(rows=1, cols=3, column_widths=[0.4, 0.3, 0.3], horizontal_spacing=0.09,
                        subplot_titles=["relaxed weights w_l(h)", "irrep energy (k ≥ 1)",
                                        "error per rotation"])
    # the colour bar lies horizontally under the weights panel, clear of the other panels' axes
    left, right = fig.layout.xaxis.domain
    fig.add_trace(go.Heatmap(z=to_numpy(w), x=[f"h{i}" for i in range(n)],
                             y=[f"l={i + 1}" for i in range(w.shape[0])],
                             colorscale=FIELD_COLORSCALE, zmid=1.0,
                             colorbar={"orientation": "h", "x": (left + right) / 2, "xanchor": "center",
                                       "len": 0.9 * (right - left), "y": -0.2, "yanchor": "top",
                                       "thickness": 10}),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=labels[1:], y=spectrum[1:], marker_color=MODEL_COLORS[2]), row=1, col=2)
    fig.update_yaxes(exponentformat="e", row=1, col=2)  # 8e-05, not plotly's SI "80µ"
    fig.update_yaxes(exponentformat="e", row=1, col=3)
    fig.add_trace(go.Bar(x=[p[0] for p in per], y=[p[1] for p in per],
                         marker_color=MODEL_COLORS[1]), row=1, col=3)
    fig.update_layout(
        width=MAX_FIGURE_WIDTH, height=400, showlegend=False,
        margin={"l": 50, "r": 10, "t": 60, "b": 90},
        title=f"C{n}, L = {num_filter_banks}, α = {alpha:g}: fit loss {float(loss.detach()):.2e}, "
              f"equivariance error {float(rep.sup):.4g}",
        meta={"equivariance_error": float(rep.sup), "init_equivariance_error": init_err,
              "loss": float(loss.detach()), "penalty": float(student.equivariance_penalty().detach()),
              "spectrum": [float(v) for v in spectrum],
              "dominant_irrep": int(np.argmax(spectrum[1:]) + 1) if len(spectrum) > 1 else 0,
              "breaking_fraction": float(spec.breaking_fraction),
              "surviving_subgroup": int(surviving_subgroup(spec, tol=0.05)),
              "group_order": n, "num_filter_banks": int(num_filter_banks), "alpha": float(alpha)},
    )
    return fig
