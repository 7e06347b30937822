"""Figures of the interactive views' results, and the views as ``compute -> draw`` pairs.

The computations live in :mod:`aeqkit.explore` and return result objects; the builders here only
draw them:

=========================================  ==============================================
compute (:mod:`aeqkit.explore`)             draw (this module)
=========================================  ==============================================
``breaking_strength_sweep(strength)``      :func:`breaking_strength_figure` (notebook 00)
``heat_rotation_run(beta)``                :func:`heat_figure` (notebook 01, Fig. 2)
``train_relaxed_layer(pattern, ...)``      :func:`relaxed_layer_figure` (notebook 02)
=========================================  ==============================================

A :class:`ComputedView` pairs the two; :func:`aeqkit.widgets.interactive_view` puts sliders on its
parameters and reads its readout from the result object. ``breaking_strength_view``,
``heat_view`` and ``relaxed_layer_view`` are those pairs under their former names: calling one
still returns the figure (backward compatible), e.g. ``heat_view(0.3) ==
heat_figure(heat_rotation_run(0.3))``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aeqkit import explore
from aeqkit.explore import BreakingStrengthSweep, HeatRotationRun, RelaxedLayerRun
from aeqkit.viz.base import (
    ERROR_COLORSCALE,
    FIELD_COLORSCALE,
    MAX_FIGURE_WIDTH,
    MODEL_COLORS,
    _compact,
    _square_axes,
    downsample,
    to_numpy,
)

__all__ = [
    "ComputedView",
    "breaking_strength_figure",
    "heat_figure",
    "relaxed_layer_figure",
    "breaking_strength_view",
    "heat_view",
    "relaxed_layer_view",
]


class ComputedView:
    """A view as two steps: ``compute(**params) -> result`` then ``draw(result, **options) -> go.Figure``.

    Keyword arguments that ``draw`` names (besides the result) go to ``draw``, all others to
    ``compute``. Calling the view returns the figure; :meth:`run` returns ``(result, figure)``.

    Args:
        compute: the computation (e.g. :func:`aeqkit.explore.heat_rotation_run`).
        draw: the figure builder of its result (e.g. :func:`heat_figure`).
        name: the view's name (CSS class suffix in :func:`aeqkit.widgets.interactive_view`);
            default ``compute``'s name.
    """

    def __init__(self, compute: Callable[..., Any], draw: Callable[..., go.Figure],
                 name: str | None = None) -> None:
        if not callable(compute) or not callable(draw):
            raise TypeError(f"expected callables compute and draw, got {compute!r} and {draw!r}")
        self.compute = compute
        self.draw = draw
        self.__name__ = name or getattr(compute, "__name__", "view")
        params = list(inspect.signature(draw).parameters.values())[1:]
        self.draw_options = frozenset(
            p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        )

    def run(self, *args: Any, **params: Any) -> tuple[Any, go.Figure]:
        """Compute the result for ``params`` and draw it: ``(result, figure)``."""
        options = {k: params.pop(k) for k in list(params) if k in self.draw_options}
        result = self.compute(*args, **params)
        fig = self.draw(result, **options)
        if not isinstance(fig, go.Figure):
            raise TypeError(f"expected draw to return a go.Figure, got {type(fig).__name__}")
        return result, fig

    def __call__(self, *args: Any, **params: Any) -> go.Figure:
        return self.run(*args, **params)[1]

    def __repr__(self) -> str:
        return (f"ComputedView({getattr(self.compute, '__name__', self.compute)!r} -> "
                f"{getattr(self.draw, '__name__', self.draw)!r})")


# --------------------------------------------------------------------------- notebook 00


def breaking_strength_figure(sweep: BreakingStrengthSweep) -> go.Figure:
    """Left: the error per group element at the sweep's strength; right: sup error against strength.

    Args:
        sweep: from :func:`aeqkit.explore.breaking_strength_sweep`.
    """
    per, strength = sweep.per_element, sweep.strength
    fig = make_subplots(rows=1, cols=2, subplot_titles=[
        f"per group element (strength {strength:.2f})", "sup error vs strength"])
    fig.add_trace(go.Bar(x=list(per), y=list(per.values()), marker_color=MODEL_COLORS[0],
                         name="per element"), row=1, col=1)
    fig.add_trace(go.Scatter(x=list(sweep.strengths), y=list(sweep.curve), mode="lines+markers",
                             name="sup over g", line={"color": MODEL_COLORS[1]}), row=1, col=2)
    fig.add_trace(go.Scatter(x=[strength], y=[sweep.equivariance_error], mode="markers",
                             marker={"size": 14, "color": "black", "symbol": "x"},
                             name="current"), row=1, col=2)
    fig.update_yaxes(range=[0, max(sweep.curve) * 1.1 + 1e-12], row=1, col=1)
    fig.update_xaxes(title_text="g", row=1, col=1)
    fig.update_xaxes(title_text="breaking strength", row=1, col=2)
    fig.update_layout(width=min(860, MAX_FIGURE_WIDTH), height=380, showlegend=False,
                      title=f"{sweep.group} equivariance error {sweep.equivariance_error:.4g} "
                            f"at strength {strength:.2f}",
                      margin={"l": 50, "r": 10, "t": 80, "b": 50})
    return fig


# --------------------------------------------------------------------------- notebook 01


def heat_figure(run: HeatRotationRun, *, diff_zmax: float = 0.4) -> go.Figure:
    """Fig. 2: temperature snapshots at β = 0 (top) and at the run's β, and the rotation differences.

    Args:
        run: from :func:`aeqkit.explore.heat_rotation_run`.
        diff_zmax: top of the difference map's colour range, fixed for every β so that slider
            positions compare (the largest difference at the slider's β = 0.9, 32 x 32, 40
            steps, is 0.36); larger differences saturate.
    """
    if not float(diff_zmax) > 0.0:
        raise ValueError(f"expected diff_zmax > 0, got {diff_zmax}")
    temps, diffs = to_numpy(run.temperatures), to_numpy(run.differences)
    n = len(run.snapshots) + 1
    titles = [f"t = {s}" for s in run.snapshots] + ["|R⁻¹f(RT₀) − f(T₀)|"] + [""] * n
    fig = make_subplots(rows=2, cols=n, subplot_titles=titles,
                        row_titles=["β = 0", f"β = {run.beta:.2f}"],
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    tmin, tmax = float(temps.min()), float(temps.max())
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
        title=f"Heat diffusion (Fig. 2) — data equivariance error {run.data_equivariance_error:.4g}",
        width=min(MAX_FIGURE_WIDTH, 80 + 190 * n), height=460,
        margin={"l": 60, "r": 10, "t": 70, "b": 10},
    )
    return fig


# --------------------------------------------------------------------------- notebook 02


def relaxed_layer_figure(run: RelaxedLayerRun) -> go.Figure:
    """The fitted student's relaxed weights, their irrep energy off the trivial irrep (C_N: ``k >= 1``)
    and its error per exactly acting element.

    Args:
        run: from :func:`aeqkit.explore.train_relaxed_layer`.
    """
    w = to_numpy(run.relaxed_weights)
    spectrum, labels = list(run.spectrum), list(run.spectrum_labels)
    first = "k ≥ 1" if labels[1:2] == ["k=1"] else "non-trivial"
    fig = make_subplots(rows=1, cols=3, column_widths=[0.4, 0.3, 0.3], horizontal_spacing=0.09,
                        subplot_titles=["relaxed weights w_l(h)", f"irrep energy ({first})",
                                        "error per exact element" if run.group.size != run.group_order
                                        else "error per rotation"])
    # the colour bar lies horizontally under the weights panel, clear of the other panels' axes
    left, right = fig.layout.xaxis.domain
    fig.add_trace(go.Heatmap(z=w, x=list(run.element_labels),
                             y=[f"l={i + 1}" for i in range(w.shape[0])],
                             colorscale=FIELD_COLORSCALE, zmid=1.0,
                             colorbar={"orientation": "h", "x": (left + right) / 2, "xanchor": "center",
                                       "len": 0.9 * (right - left), "y": -0.2, "yanchor": "top",
                                       "thickness": 10}),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=labels[1:], y=spectrum[1:], marker_color=MODEL_COLORS[2]), row=1, col=2)
    fig.update_yaxes(exponentformat="e", row=1, col=2)  # 8e-05, not plotly's SI "80µ"
    fig.update_yaxes(exponentformat="e", row=1, col=3)
    fig.add_trace(go.Bar(x=list(run.per_element), y=list(run.per_element.values()),
                         marker_color=MODEL_COLORS[1]), row=1, col=3)
    fig.update_layout(
        width=MAX_FIGURE_WIDTH, height=400, showlegend=False,
        margin={"l": 50, "r": 10, "t": 60, "b": 90},
        title=f"{run.group.name}, L = {run.num_filter_banks}, α = {run.alpha:g}: "
              f"fit loss {run.loss:.2e}, equivariance error {run.equivariance_error:.4g}",
    )
    return fig


# --------------------------------------------------------------------------- the views


def _relaxed_layer_slider(
    num_filter_banks: int = 2,
    alpha: float = 0.0,
    group_order: int = 4,
    *,
    breaking: float = 0.5,
    steps: int = 80,
    size: int = 12,
    seed: int = 0,
) -> RelaxedLayerRun:
    """Notebook 02's sliders (L, α, N) on :func:`aeqkit.explore.train_relaxed_layer`'s default
    teacher, which breaks C_N to C_{N/2}."""
    return explore.train_relaxed_layer(
        group_order=group_order, num_filter_banks=num_filter_banks, alpha=alpha, breaking=breaking,
        steps=steps, size=size, seed=seed)


#: notebook 00: ``strength`` -> :class:`~aeqkit.explore.BreakingStrengthSweep` -> figure
breaking_strength_view = ComputedView(explore.breaking_strength_sweep, breaking_strength_figure,
                                      name="breaking_strength_view")
#: notebook 01: ``beta`` -> :class:`~aeqkit.explore.HeatRotationRun` -> figure
heat_view = ComputedView(explore.heat_rotation_run, heat_figure, name="heat_view")
#: notebook 02: ``(num_filter_banks, alpha, group_order)`` -> :class:`~aeqkit.explore.RelaxedLayerRun`
relaxed_layer_view = ComputedView(_relaxed_layer_slider, relaxed_layer_figure, name="relaxed_layer_view")
