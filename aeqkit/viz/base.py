"""Shared vocabulary of the figure builders: colours, sizes, array helpers, axis helpers.

Conventions (see DESIGN.md): fields are arrays ``(..., C, H, W)`` with row 0 at the *bottom*
(y up), drawn with plotly's default ``origin="lower"``; fields are downsampled (``max_size``
pixels per axis) and images rounded (:func:`_compact`) so executed notebooks stay small.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "FIELD_COLORSCALE",
    "MAGNITUDE_COLORSCALE",
    "ERROR_COLORSCALE",
    "MODEL_COLORS",
    "MAX_FIGURE_WIDTH",
    "MAX_PANEL_HEIGHT",
    "to_numpy",
    "downsample",
    "spans_decades",
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


