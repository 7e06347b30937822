"""Figure builder of notebook 07: discovery on a flow's breaking levels, the suggested model and the
relaxed weights' irrep spectrum side by side (a pure builder: it only draws what it receives).

See also: notebook 07, section 7 (the slider over the breaking level).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["discover_relax_figure"]


def _nearest(levels: Sequence[int], level: int) -> int:
    return min(levels, key=lambda k: (abs(k - level), k))


def discover_relax_figure(
    level: int = 0,
    *,
    levels: Sequence[int],
    data_error: Sequence[float],
    mismatch: Mapping[int, Sequence[float]],
    suggestions: Sequence[str],
    generators: Mapping[int, Any] | None = None,
    spectra: Mapping[int, Sequence[float]] | None = None,
    spectrum_order: int = 8,
    surviving: Mapping[int, int] | None = None,
) -> go.Figure:
    """Four panels for one breaking ``level``: (a) the discovered 2x2 generator, (b) mismatch of
    C_N-transformed pairs against the data's one-step equivariance error over all levels (the
    current level marked), (c) discovery's spectrum: mismatch per order N at this level,
    (d) the irrep spectrum (energy fraction per frequency) of a relaxed C_``spectrum_order`` model.

    Args:
        level: the breaking level shown (index into ``levels``).
        levels: the levels, e.g. ``range(10)``; ``data_error``: one-step data error per level.
        mismatch: ``{N: [mismatch per level]}`` (from :func:`~aeqkit.discovery.order_scan`).
        suggestions: one label per level (``ModelSuggestion.label()``).
        generators: ``{level: 2x2 matrix}`` where discovery ran (the nearest one is shown).
        spectra: ``{level: energy fractions per frequency 0..N//2}`` of the relaxed model's weights.
        surviving: ``{level: order}`` named by the spectrum (``aeqkit.nn.surviving_subgroup``).

    ``fig.layout.meta`` holds ``level``, ``suggestion``, ``mismatch_c4`` (or the smallest order's),
    ``generator_level`` and ``spectrum_level`` (the levels actually drawn) and ``surviving``.
    """
    levels = list(levels)
    if level not in levels:
        raise ValueError(f"level must be one of {levels}, got {level!r}")
    n = len(levels)
    if len(data_error) != n or len(suggestions) != n or any(len(v) != n for v in mismatch.values()):
        raise ValueError(f"data_error, suggestions and every mismatch list need one value per level ({n})")
    if not mismatch:
        raise ValueError("mismatch must hold at least one order")
    i = levels.index(level)
    fig = make_subplots(rows=1, cols=4, column_widths=[0.18, 0.32, 0.22, 0.28],
                        subplot_titles=("discovered generator L̂", "mismatch vs data error",
                                        "discovery: mismatch per C_N", "relaxed weights: irreps"))
    gen_level = None
    if generators:
        gen_level = _nearest(list(generators), level)
        m = [[float(v) for v in row] for row in generators[gen_level]]
        text = [[f"{v:.2f}" for v in r] for r in m[::-1]]
        fig.add_trace(go.Heatmap(z=m[::-1], x=["x", "y"], y=["y", "x"], zmin=-1.5, zmax=1.5,
                                 colorscale="RdBu", showscale=False, text=text,
                                 texttemplate="%{text}", name="L̂"), row=1, col=1)
    orders = sorted(mismatch)
    x_err = [max(float(e), 1e-8) for e in data_error]
    for n_ in orders:
        fig.add_trace(go.Scatter(x=x_err, y=list(mismatch[n_]), mode="lines+markers", name=f"C{n_}"),
                      row=1, col=2)
    fig.add_trace(go.Scatter(x=[x_err[i]], y=[mismatch[orders[0]][i]], mode="markers",
                             marker=dict(size=14, symbol="circle-open", color="black"),
                             name=f"level {level}", showlegend=False), row=1, col=2)
    fig.update_xaxes(type="log", title_text="one-step data equivariance error", row=1, col=2)
    fig.update_yaxes(title_text="mismatch", row=1, col=2)
    fig.add_trace(go.Bar(x=[f"C{n_}" for n_ in orders], y=[mismatch[n_][i] for n_ in orders],
                         name="mismatch", showlegend=False), row=1, col=3)
    spec_level = None
    if spectra:
        spec_level = _nearest(list(spectra), level)
        frac = list(spectra[spec_level])
        fig.add_trace(go.Bar(x=[str(k) for k in range(len(frac))], y=frac, name="energy fraction",
                             showlegend=False), row=1, col=4)
        fig.update_yaxes(type="log", row=1, col=4)
        fig.update_xaxes(title_text=f"frequency of C{spectrum_order}", row=1, col=4)
    surv = (surviving or {}).get(spec_level) if spec_level is not None else None
    title = f"level {level}: suggested {suggestions[i]}"
    if surv is not None:
        title += f" | relaxed C{spectrum_order} weights keep C{surv}"
    fig.update_layout(title=title, height=380, margin=dict(t=80, b=40, l=40, r=20),
                      meta={"level": level, "suggestion": suggestions[i],
                            "mismatch_c4": float(mismatch[4][i] if 4 in mismatch else mismatch[orders[0]][i]),
                            "generator_level": gen_level, "spectrum_level": spec_level,
                            "surviving": surv})
    return fig
