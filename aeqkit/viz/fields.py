"""Figure builders for fields: single fields, grids, kernels, rollouts, error maps, animations.

Each takes arrays / tensors ``(..., C, H, W)`` (row 0 at the bottom) and returns a ``go.Figure``;
``layout.meta`` records what was drawn (panel counts, colour ranges, the per-step RMSE and MAE
shown), never a computation's result that a widget needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aeqkit.viz.base import (
    _FIELD_KINDS,
    ERROR_COLORSCALE,
    FIELD_COLORSCALE,
    MAGNITUDE_COLORSCALE,
    MAX_FIGURE_WIDTH,
    MAX_PANEL_HEIGHT,
    _as_field,
    _compact,
    _fit_cells,
    _quiver_trace,
    _scalar_image,
    _square_axes,
    _wrap_title,
    downsample,
    to_numpy,
)

__all__ = [
    "field_figure",
    "fields_grid",
    "kernel_figure",
    "rollout_figure",
    "error_map_figure",
    "animation_gallery",
]


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


