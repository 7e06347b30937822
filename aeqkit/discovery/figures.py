"""Plotly figure builders for symmetry discovery: results in, a figure out (widgets wrap these).

- :func:`generator_heatmaps`: learned vs true generator, side by side, on one colour scale.
- :func:`similarity_curve`: similarity (and optionally effective magnitude) over training.
- :func:`ring_figure`: the ring toy at a symmetry-breaking strength, real points and their
  randomly rotated copies, titled with the distinguishability accuracy (computed by
  :func:`aeqkit.explore.ring_rotation_sample`); ``ring_breaking_figure`` is the pair.

See also: notebook 05.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from aeqkit.explore import RingRotationSample, ring_rotation_sample
from aeqkit.viz.views import ComputedView

__all__ = ["generator_heatmaps", "similarity_curve", "ring_figure", "ring_breaking_figure"]


def _sign_align(learned: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Flip the learned generator's sign (and rescale) to best match the true one for display."""
    a, b = learned.flatten(), true.flatten()
    coef = (a @ b) / (a @ a).clamp_min(1e-12)
    return learned * coef


def _index_labels(n: int, labels: list[str] | tuple[str, ...] | None) -> list[str]:
    if labels is None:
        return ["x", "y"] if n == 2 else [str(i) for i in range(n)]
    if len(labels) != n:
        raise ValueError(f"expected {n} index labels (one per row/column), got {len(labels)}")
    return [str(v) for v in labels]


def generator_heatmaps(learned: torch.Tensor, true: torch.Tensor | None = None,
                       align: bool = True, title: str | None = None,
                       index_labels: list[str] | tuple[str, ...] | None = None) -> go.Figure:
    """Heatmaps of the learned generator(s) and, if given, the true one (shared colour scale).

    ``align`` rescales a single learned generator by the least-squares factor onto the true one
    (a generator is only defined up to scale and sign). Rows are the output index, columns the
    input index, row 0 at the top (matrix layout). Both axes are categorical: one tick per
    matrix index, labelled ``index_labels`` (default ``x, y`` for 2 x 2, else ``0 .. n-1``),
    never fractional positions; entries are printed in the cells up to 8 x 8.

    Shape:
        learned: (n, n) or (C, n, n); true: (n, n) or (K, n, n)
    """
    lm = torch.as_tensor(learned, dtype=torch.float64).detach()
    lm = lm[None] if lm.ndim == 2 else lm
    if lm.ndim != 3 or lm.shape[-1] != lm.shape[-2]:
        raise ValueError(f"learned must have shape (n, n) or (C, n, n), got {tuple(lm.shape)}")
    panels = [(f"learned L{i}" if lm.shape[0] > 1 else "learned", m) for i, m in enumerate(lm)]
    if true is not None:
        tm = torch.as_tensor(true, dtype=torch.float64).detach()
        tm = tm[None] if tm.ndim == 2 else tm
        if tm.shape[-1] != lm.shape[-1]:
            raise ValueError(f"true generator size {tm.shape[-1]} != learned size {lm.shape[-1]}")
        if align and lm.shape[0] == 1 and tm.shape[0] == 1:
            panels = [("learned (aligned to truth)", _sign_align(lm[0], tm[0]))]
        panels += [(f"true L{i}" if tm.shape[0] > 1 else "true", m) for i, m in enumerate(tm)]
    n = lm.shape[-1]
    names = _index_labels(n, index_labels)
    vmax = max(float(m.abs().max()) for _, m in panels) or 1.0
    # panel titles wrap onto two lines rather than run into their neighbours
    wrapped = [t.replace(" (", "<br>(") for t, _ in panels]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=wrapped,
                        horizontal_spacing=0.12)
    for k, (_, m) in enumerate(panels):
        fig.add_trace(
            go.Heatmap(z=m.numpy(), x=names, y=names, zmin=-vmax, zmax=vmax, colorscale="RdBu_r",
                       showscale=k == len(panels) - 1, colorbar={"thickness": 12},
                       text=[[f"{v:.2f}" for v in row] for row in m.tolist()],
                       texttemplate="%{text}" if n <= 8 else None),
            row=1, col=k + 1,
        )
        fig.update_xaxes(type="category", tickmode="array", tickvals=names, ticktext=names,
                         title_text="input index", row=1, col=k + 1)
        fig.update_yaxes(type="category", tickmode="array", tickvals=names, ticktext=names,
                         autorange="reversed", scaleanchor=f"x{k + 1 if k else ''}",
                         title_text="output index" if k == 0 else None, row=1, col=k + 1)
    cell = max(120, min(240, (880 - 100) // len(panels) - 60))
    fig.update_layout(title=title or "Discovered vs true Lie algebra generator",
                      height=cell + 170, width=min(900, (cell + 70) * len(panels) + 110),
                      margin=dict(t=110, b=50, l=70, r=30))
    return fig


def similarity_curve(history: dict[str, list[float]], thresholds: tuple[float, ...] = (0.99,),
                     show_magnitude: bool = False) -> go.Figure:
    """Similarity to the true generator over training steps (from ``DiscoveryResult.history``).

    Shape:
        history["step"], history["similarity"]: (E,)
    """
    if not history.get("similarity"):
        raise ValueError("history has no 'similarity' entries: pass true_generator to discover()")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=history["step"], y=history["similarity"], mode="lines+markers",
                             name="|cosine| to truth"))
    # Close thresholds (0.9 / 0.95 / 0.99 are 4-5% of the axis apart, less than a line of text):
    # their labels are staggered along the line, one per slot, so none overprints another.
    slots = len(thresholds)
    for i, t in enumerate(sorted(thresholds)):
        fig.add_hline(y=t, line_dash="dot", line_color="gray")
        fig.add_annotation(x=(i + 0.5) / slots, xref="paper", y=t, yref="y", text=f"{t:g}",
                           showarrow=False, yanchor="bottom", font={"size": 11, "color": "gray"},
                           bgcolor="rgba(255,255,255,0.7)")
    if show_magnitude and history.get("magnitude"):
        fig.add_trace(go.Scatter(x=history["step"], y=history["magnitude"], name="magnitude",
                                 yaxis="y2", line=dict(dash="dash")))
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", title="effective magnitude"))
    fig.update_layout(title="Similarity to the true generator during training",
                      xaxis_title="training step", yaxis_title="similarity",
                      yaxis_range=[0, 1.02], height=350, width=650)
    return fig


def ring_figure(sample: RingRotationSample) -> go.Figure:
    """The ring toy's points and their rotated copies, titled with the distinguishability.

    ``layout.meta`` records what the title prints (``breaking``, ``distinguishability``).

    Args:
        sample: from :func:`aeqkit.explore.ring_rotation_sample`.
    """
    x, gx = sample.points.numpy(), sample.rotated.numpy()
    title = f"Ring toy, breaking b = {sample.breaking:.2f}"
    meta: dict[str, float] = {"breaking": sample.breaking}
    if sample.distinguishability is not None:
        acc = sample.distinguishability
        # two short lines: the whole title fits the figure's width
        title += (f"<br><sup>rotated copies told apart with accuracy {acc:.3f} "
                  "(0.5: symmetric)</sup>")
        meta["distinguishability"] = acc
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers", name="data",
                             marker=dict(size=4, opacity=0.7)))
    fig.add_trace(go.Scatter(x=gx[:, 0], y=gx[:, 1], mode="markers", name="rotated copies",
                             marker=dict(size=4, opacity=0.5, symbol="x")))
    fig.update_layout(title=title, xaxis=dict(range=[-1.5, 1.5], title="x"),
                      yaxis=dict(range=[-1.5, 1.5], scaleanchor="x", title="y"),
                      height=480, width=560, margin=dict(t=90), meta=meta,
                      legend=dict(orientation="h", y=-0.15))
    return fig


#: ``ring_breaking_figure(breaking, n_samples=1200, magnitude=3.0, seed=0, with_accuracy=True)``:
#: :func:`aeqkit.explore.ring_rotation_sample` then :func:`ring_figure` (a
#: :class:`aeqkit.viz.ComputedView`; its readout ``distinguishability`` is the sample's).
ring_breaking_figure = ComputedView(ring_rotation_sample, ring_figure, name="ring_breaking_figure")
