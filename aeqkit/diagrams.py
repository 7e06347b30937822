"""Schematics of the three methods, drawn by code as plotly figures (no pasted images).

- :func:`relaxed_group_conv_diagram`: relaxed group convolution (paper Sec. 3.1, Eq. 4-5): the
  ``L`` kernel banks ``Ψ_l`` against the group elements ``h``, each pair weighted by ``w_l(h)``,
  summed into the kernel ``Ψ(g, h)``.
- :func:`relaxed_steerable_diagram`: relaxed steerable convolution (Sec. 3.2, Eq. 7): basis
  kernels ``Φ_l(y)`` times position weights ``w_l(y)``, summed into the kernel ``Φ(y)``. The
  kernels are computed, not sketched: equal weights give a rotation-symmetric ``Φ``.
- :func:`liegan_diagram`: the LieGAN loop (Yang et al. 2023): the generator samples a group
  element ``g = exp(Σ z_i L_i)``, transforms data pairs, and a discriminator tells transformed
  from real pairs; both losses flow back.

Each builder takes plain parameters, returns a ``go.Figure`` at most
:data:`aeqkit.viz.MAX_FIGURE_WIDTH` wide, and stores what it drew in ``layout.meta``
(``boxes``: labels of the drawn boxes, ``arrows``: ``[from, to]`` pairs, plus the
method's sizes) so tests can check the picture's structure.

See also: notebooks 02 (relaxed layers) and 05 (LieGAN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from aeqkit.viz import FIELD_COLORSCALE, MAX_FIGURE_WIDTH, MODEL_COLORS, to_numpy

__all__ = [
    "relaxed_group_conv_diagram",
    "relaxed_steerable_diagram",
    "liegan_diagram",
]

_BOX_FILL = "#eef2fb"
_BOX_LINE = "#50617f"
_ARROW = "#50617f"
_FONT = 12


class _Canvas:
    """A figure with hidden axes over ``[0, width] x [0, height]`` data units, plus a log."""

    def __init__(self, width: float, height: float, px_width: int, px_height: int | None,
                 title: str) -> None:
        if px_width > MAX_FIGURE_WIDTH:
            raise ValueError(f"expected px_width <= {MAX_FIGURE_WIDTH}, got {px_width}")
        if px_height is None:  # one data unit as many pixels up as across: square images
            px_height = 60 + round((px_width - 20) * height / width)
        self.fig = go.Figure()
        self.fig.update_layout(
            title={"text": title, "x": 0.02}, width=px_width, height=px_height,
            margin={"l": 10, "r": 10, "t": 50, "b": 10}, showlegend=False,
            plot_bgcolor="white", paper_bgcolor="white",
        )
        hidden = {"visible": False, "fixedrange": True}
        self.fig.update_xaxes(range=[0, width], **hidden)
        self.fig.update_yaxes(range=[0, height], **hidden)
        self.boxes: list[str] = []
        self.arrows: list[list[str]] = []
        self._centres: list[tuple[float, float, str]] = []

    def box(self, x0: float, y0: float, x1: float, y1: float, text: str, *,
            fill: str = _BOX_FILL, font_size: int = _FONT, font_color: str = "#1b2538",
            name: str | None = None, dash: str = "solid") -> str:
        """Draw a rounded-looking box with centred text; return its name (for arrows)."""
        self.fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, fillcolor=fill,
                           line={"color": _BOX_LINE, "width": 1.2, "dash": dash}, layer="below")
        self.fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False,
                                font={"size": font_size, "color": font_color})
        label = name or text
        self.boxes.append(label)
        self._centres.append(((x0 + x1) / 2, (y0 + y1) / 2, text))
        return label

    def text(self, x: float, y: float, text: str, *, size: int = _FONT, anchor: str = "center",
             color: str = "#1b2538") -> None:
        self.fig.add_annotation(x=x, y=y, text=text, showarrow=False, xanchor=anchor,
                                font={"size": size, "color": color})

    def arrow(self, x0: float, y0: float, x1: float, y1: float, *, source: str, target: str,
              label: str | None = None, color: str = _ARROW, dash: bool = False) -> None:
        """An arrow from ``(x0, y0)`` to ``(x1, y1)`` (data units), logged as source -> target."""
        self.fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                                showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.6,
                                arrowcolor=color, text="")
        if dash:  # a dashed shaft drawn over the solid one reads as a feedback path
            self.fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1,
                               line={"color": "white", "width": 1.6, "dash": "dot"})
        if label:
            self.text((x0 + x1) / 2, (y0 + y1) / 2, label, size=11, color=color)
        self.arrows.append([source, target])

    def image(self, z: np.ndarray, x0: float, y0: float, size: float, *, zmax: float,
              colorscale: str = FIELD_COLORSCALE) -> None:
        """A small ``(K, K)`` array drawn as a heatmap in the square ``[x0, x0+size] x [y0, y0+size]``."""
        k = z.shape[-1]
        step = size / k
        self.fig.add_trace(go.Heatmap(
            z=np.round(z, 4).astype(np.float32), x0=x0 + step / 2, dx=step, y0=y0 + step / 2, dy=step,
            zmin=-zmax, zmax=zmax, colorscale=colorscale, showscale=False, hoverinfo="skip",
        ))
        self.fig.add_shape(type="rect", x0=x0, y0=y0, x1=x0 + size, y1=y0 + size,
                           line={"color": _BOX_LINE, "width": 1})

    def finish(self, **meta: Any) -> go.Figure:
        if self._centres:  # hovering a box repeats its text (and gives the figure one data trace)
            xs, ys, texts = zip(*self._centres, strict=True)
            self.fig.add_trace(go.Scatter(
                x=list(xs), y=list(ys), mode="markers", marker={"size": 18, "opacity": 0},
                hovertext=[t.replace("<br>", " ") for t in texts], hoverinfo="text", name="boxes",
            ))
        self.fig.update_layout(meta={"boxes": list(self.boxes), "arrows": list(self.arrows), **meta})
        return self.fig


def _weight_colors(w: np.ndarray) -> list[list[str]]:
    """Colours of relaxed weights on the diverging scale, centred at their mean."""
    spread = float(np.max(np.abs(w - w.mean()))) or 1.0
    pos = np.clip(0.5 + 0.5 * (w - w.mean()) / spread, 0.0, 1.0)
    return [sample_colorscale(FIELD_COLORSCALE, list(row)) for row in pos]


def relaxed_group_conv_diagram(
    num_filter_banks: int = 3,
    group_order: int = 4,
    relaxed_weights: Any | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """Relaxed group convolution (Eq. 4-5) as a grid: kernel banks ``l`` x group elements ``h``.

    Row ``l`` holds the bank ``Ψ_l``; column ``h`` a rotation by ``360°·h/N``. Cell ``(l, h)``
    shows the relaxed weight ``w_l(h)`` (coloured on a scale centred at the weights' mean), and
    each column sums ``Σ_l w_l(h) Ψ_l(g⁻¹h)`` into the kernel ``Ψ(g, h)`` (Eq. 4), which the
    convolution sums over ``h`` against ``f(h)`` (Eq. 5). Equal columns (``w_l(h) = w_l``) make
    the layer exactly equivariant; the subtitle says which case is drawn.

    Args:
        num_filter_banks: L (1-6).
        group_order: N of C_N (2-8).
        relaxed_weights: ``(L, N)`` weights to show (e.g. a trained layer's
            ``relaxed_weights``); default: an illustrative relaxed pattern ``1 + 0.3 cos(...)``.
        title: figure title.

    Returns:
        figure; ``layout.meta`` holds ``boxes``, ``arrows``, ``banks``, ``elements``,
        ``weights`` ``(L, N)`` and ``equivariant`` (all columns equal).
    """
    L, N = int(num_filter_banks), int(group_order)
    if not 1 <= L <= 6:
        raise ValueError(f"expected num_filter_banks in 1..6, got {num_filter_banks}")
    if not 2 <= N <= 8:
        raise ValueError(f"expected group_order in 2..8, got {group_order}")
    if relaxed_weights is None:
        ll, hh = np.meshgrid(np.arange(L), np.arange(N), indexing="ij")
        w = 1.0 + 0.3 * np.cos(2 * np.pi * hh / N + ll)
    else:
        w = to_numpy(relaxed_weights)
        if w.shape != (L, N):
            raise ValueError(f"expected relaxed_weights of shape (L, N) = ({L}, {N}), got {w.shape}")
    equivariant = bool(np.allclose(w, w[:, :1]))
    cv = _Canvas(10.0, 5.6, 860, None, title or "Relaxed group convolution (Sec. 3.1, Eq. 4-5)")
    top, cell_h = 5.0, min(0.62, 3.2 / L)
    x_grid, cell_w = 2.3, min(1.0, 4.6 / N)
    colors = _weight_colors(w)
    cv.text(0.85, top + 0.35, "<b>kernel banks</b>", size=12)
    cv.text(x_grid + N * cell_w / 2, top + 0.35,
            "<b>relaxed weights w<sub>l</sub>(h)</b> for each group element h", size=12)
    for j in range(N):
        cv.text(x_grid + (j + 0.5) * cell_w, top + 0.05, f"{round(360 * j / N)}°", size=11)
    for i in range(L):
        y1 = top - 0.2 - i * cell_h
        y0 = y1 - 0.85 * cell_h
        cv.box(0.2, y0, 1.5, y1, f"Ψ<sub>{i + 1}</sub>", name=f"Psi_{i + 1}")
        cv.arrow(1.5, (y0 + y1) / 2, x_grid - 0.05, (y0 + y1) / 2, source=f"Psi_{i + 1}",
                 target=f"row {i + 1}")
        for j in range(N):
            x0 = x_grid + j * cell_w
            font = "white" if abs(w[i, j] - w.mean()) > 0.6 * (np.abs(w - w.mean()).max() or 1) else "#1b2538"
            cv.box(x0 + 0.03, y0, x0 + cell_w - 0.03, y1, f"{w[i, j]:.2f}",
                   fill=colors[i][j], font_size=11, font_color=font, name=f"w_{i + 1}({j})")
    bottom = top - 0.2 - L * cell_h
    out_y1, out_y0 = bottom - 0.35, bottom - 0.95
    for j in range(N):
        x0 = x_grid + j * cell_w
        cv.arrow(x0 + cell_w / 2, bottom + 0.05, x0 + cell_w / 2, out_y1, source=f"column {j}",
                 target=f"Psi(g,{j})")
        cv.box(x0 + 0.03, out_y0, x0 + cell_w - 0.03, out_y1, f"Ψ(g,{j})", fill="#fff6e0",
               name=f"Psi(g,{j})")
    x_right = x_grid + N * cell_w
    cv.text(x_grid + N * cell_w / 2, out_y0 - 0.3,
            "Eq. 4:  Ψ(g, h) = Σ<sub>l</sub> w<sub>l</sub>(h) Ψ<sub>l</sub>(g⁻¹h)", size=12)
    cv.box(x_right + 0.5, out_y0 - 0.1, 9.8, out_y1 + 0.1,
           "[f ⋆ Ψ](g) = Σ<sub>h</sub> f(h) Ψ(g, h)<br>(Eq. 5)", fill="#e8f5e9", name="output")
    cv.arrow(x_right, (out_y0 + out_y1) / 2, x_right + 0.5, (out_y0 + out_y1) / 2,
             source="Psi(g,h)", target="output")
    note = ("all columns equal: the layer is exactly G-equivariant" if equivariant
            else "columns differ: equivariance is relaxed (equal columns ⇔ exactly equivariant)")
    cv.text(0.2, out_y0 - 0.8, note, size=11, anchor="left", color=MODEL_COLORS[3])
    cv.text(0.2, out_y0 - 1.2, f"L = {L} kernel banks × N = {N} group elements = {L * N} relaxed weights; "
            "each bank is shared by all h, rotated to g⁻¹h", size=11, anchor="left")
    low = out_y0 - 1.45  # crop the canvas below the notes (keeps one data unit square)
    cv.fig.update_yaxes(range=[low, 5.6])
    cv.fig.update_layout(height=60 + round(840 * (5.6 - low) / 10.0))
    return cv.finish(banks=L, elements=N, weights=w.tolist(), equivariant=equivariant)


def _radial_basis(num_basis: int, kernel_size: int) -> np.ndarray:
    """Rotation-invariant basis kernels ``(L, K, K)``: Gaussian rings of growing radius."""
    c = (kernel_size - 1) / 2
    yy, xx = np.mgrid[0:kernel_size, 0:kernel_size] - c
    r = np.hypot(xx, yy)
    radii = np.linspace(0.0, c, num_basis)
    width = max(c / max(num_basis - 1, 1), 0.6) * 0.6
    basis = np.exp(-((r[None] - radii[:, None, None]) ** 2) / (2 * width**2))
    return basis / basis.max(axis=(1, 2), keepdims=True)


def relaxed_steerable_diagram(
    num_basis: int = 3,
    kernel_size: int = 5,
    breaking: float = 0.5,
    *,
    title: str | None = None,
) -> go.Figure:
    """Relaxed steerable convolution (Eq. 7): basis kernels times position weights, summed.

    Top row: ``L`` basis kernels ``Φ_l(y)`` (here rotation-invariant Gaussian rings, as an
    equivariant basis for scalar fields). Middle row: their weights ``w_l(y)``, one number per
    kernel position ``y``: ``1 + breaking · (u_l · y) / c``, a tilt along a direction ``u_l``
    that differs per basis kernel and breaks rotation symmetry (drawn as ``w_l(y) - 1``).
    Right: ``Φ(y) = Σ_l w_l(y) ⊙ Φ_l(y)``, computed, which the layer convolves with
    ``f_in``. ``breaking = 0`` gives constant weights (an ordinary steerable convolution, Eq. 6)
    and a rotation-symmetric ``Φ``; ``layout.meta["kernel_rotation_error"]`` is
    ``max |Φ - rot90(Φ)| / max |Φ|``.

    Args:
        num_basis: L (1-5).
        kernel_size: K (odd, 3-9).
        breaking: size of the position dependence of the weights (>= 0).
        title: figure title.

    Returns:
        figure; ``layout.meta`` holds ``boxes``, ``arrows``, ``basis``, ``kernel_size``,
        ``breaking`` and ``kernel_rotation_error``.
    """
    L, K = int(num_basis), int(kernel_size)
    if not 1 <= L <= 5:
        raise ValueError(f"expected num_basis in 1..5, got {num_basis}")
    if K % 2 == 0 or not 3 <= K <= 9:
        raise ValueError(f"expected an odd kernel_size in 3..9, got {kernel_size}")
    if not math.isfinite(float(breaking)) or breaking < 0:
        raise ValueError(f"expected breaking >= 0, got {breaking}")
    basis = _radial_basis(L, K)
    c = (K - 1) / 2
    yy, xx = np.mgrid[0:K, 0:K] - c  # row index = y (up), column index = x
    angles = 2 * np.pi * np.arange(L) / max(L, 1) + np.pi / 6
    tilt = np.cos(angles)[:, None, None] * xx[None] + np.sin(angles)[:, None, None] * yy[None]
    weights = 1.0 + float(breaking) * tilt / c
    kernel = np.sum(weights * basis, axis=0)
    rot_err = float(np.max(np.abs(kernel - np.rot90(kernel))) / (np.max(np.abs(kernel)) or 1.0))
    cv = _Canvas(10.0, 5.5, 860, None, title or "Relaxed steerable convolution (Sec. 3.2, Eq. 7)")
    size = min(1.25, 5.6 / L - 0.55)
    gap = size + 0.55
    x_first = 1.6
    y_basis, y_weight = 3.85, 1.75
    cv.text(0.75, y_basis + size / 2, "basis<br>Φ<sub>l</sub>(y)", size=12)
    cv.text(0.75, y_weight + size / 2, "position<br>weights<br>w<sub>l</sub>(y)", size=12)
    zb = float(np.abs(basis).max())
    zw = float(np.abs(weights).max())
    for i in range(L):
        x0 = x_first + i * gap
        cv.image(basis[i], x0, y_basis, size, zmax=zb)
        cv.boxes.append(f"Phi_{i + 1}")
        cv.text(x0 + size / 2, y_basis + size + 0.2, f"Φ<sub>{i + 1}</sub>", size=12)
        cv.image(weights[i] - 1.0 if breaking > 0 else 0 * weights[i], x0, y_weight, size,
                 zmax=max(zw - 1.0, 1e-9))
        cv.boxes.append(f"w_{i + 1}")
        cv.text(x0 + size / 2, y_weight - 0.22, f"w<sub>{i + 1}</sub>(y)", size=12)
        cv.text(x0 + size / 2, (y_basis + y_weight + size) / 2, "⊙", size=18)
        if i < L - 1:
            cv.text(x0 + size + 0.275, (y_basis + y_weight + size) / 2, "+", size=16)
    x_end = x_first + (L - 1) * gap + size
    k_size = 1.9
    kx0, ky0 = 7.0, 2.5
    cv.arrow(x_end + 0.15, 3.45, kx0 - 0.15, 3.45, source="sum over l", target="Phi")
    cv.text((x_end + kx0) / 2, 3.75, "Σ<sub>l</sub>", size=14, color=_ARROW)
    cv.image(kernel, kx0, ky0, k_size, zmax=float(np.abs(kernel).max()))
    cv.boxes.append("Phi")
    cv.text(kx0 + k_size / 2, ky0 + k_size + 0.25, "Φ(y) = Σ<sub>l</sub> w<sub>l</sub>(y) ⊙ Φ<sub>l</sub>(y)",
            size=12)
    cv.text(kx0 + k_size / 2, ky0 - 0.3, "f<sub>out</sub> = f<sub>in</sub> ⋆ Φ  (Eq. 7)", size=12)
    state = ("w constant in y: ordinary steerable conv (Eq. 6), Φ rotation-symmetric"
             if breaking == 0 else
             f"w varies with y (breaking {breaking:g}): Φ changes under rotation by "
             f"{rot_err:.0%}")
    cv.text(0.2, 0.6, state, size=11, anchor="left", color=MODEL_COLORS[3])
    cv.text(0.2, 0.2, "The Sec. 3.3 regulariser penalises differences of w<sub>l</sub>(y) across y.",
            size=11, anchor="left")
    return cv.finish(basis=L, kernel_size=K, breaking=float(breaking),
                     kernel_rotation_error=rot_err)


def liegan_diagram(
    num_generators: int = 1,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """The LieGAN loop: generator samples ``g``, transforms pairs, discriminator judges.

    Boxes (left to right): data pairs ``(x, y)``; the generator (basis ``L_1..L_C``, coefficients
    ``z ~ N(0, σ²)``, ``g = exp(Σ z_i L_i)``); transformed pairs ``(ρ_X(g)x, ρ_Y(g)y)``; the
    discriminator ``D``, which also sees real pairs; its verdict. Dashed arrows carry the two
    losses back: ``D`` learns to tell transformed from real pairs, the generator learns ``L_i``
    so that ``D`` cannot — at equilibrium the basis spans the data's symmetry.

    Args:
        num_generators: C, the number of Lie algebra basis elements drawn (1-4).
        labels: optional names of the data (default ``("x", "y")``).
        title: figure title.

    Returns:
        figure; ``layout.meta`` holds ``boxes``, ``arrows`` (including the two feedback
        arrows ``["discriminator", "generator"]`` and ``["verdict", "discriminator"]``) and
        ``generators``.
    """
    C = int(num_generators)
    if not 1 <= C <= 4:
        raise ValueError(f"expected num_generators in 1..4, got {num_generators}")
    if labels is None:
        labels = ("x", "y")
    if isinstance(labels, str) or len(labels) != 2:
        raise ValueError(f"expected two data labels (input, output), got {labels!r}")
    x, y = (str(v) for v in labels)
    basis = ", ".join(f"L<sub>{i + 1}</sub>" for i in range(C))
    zs = ", ".join(f"z<sub>{i + 1}</sub>" for i in range(C))
    cv = _Canvas(10.0, 5.0, 880, 380,
                 title or "LieGAN: learning a symmetry with a generator and a discriminator")
    data = cv.box(0.1, 2.9, 1.7, 3.9, f"data pair<br>({x}, {y})", name="data")
    gen = cv.box(2.2, 2.6, 4.5, 4.2,
                 f"<b>generator</b><br>basis {basis}<br>{zs} ~ N(0, σ²)<br>"
                 "g = exp(Σ z<sub>i</sub> L<sub>i</sub>)",
                 fill="#fff6e0", name="generator")
    fake = cv.box(5.0, 2.9, 6.9, 3.9, f"transformed<br>(ρ(g){x}, ρ(g){y})", name="transformed")
    real = cv.box(5.0, 0.9, 6.9, 1.9, f"real pair<br>({x}, {y})", name="real")
    disc = cv.box(7.4, 1.8, 8.7, 3.0, "<b>discriminator</b><br>D", fill="#e8f5e9", name="discriminator")
    verdict = cv.box(8.9, 1.9, 9.9, 2.9, "real or<br>transformed?", name="verdict")
    cv.arrow(1.7, 3.4, 2.2, 3.4, source=data, target=gen)
    cv.arrow(4.5, 3.4, 5.0, 3.4, source=gen, target=fake)
    cv.arrow(6.9, 3.4, 7.6, 3.0, source=fake, target=disc)
    cv.arrow(6.9, 1.4, 7.6, 1.8, source=real, target=disc)
    cv.arrow(8.7, 2.4, 8.9, 2.4, source=disc, target=verdict)
    # feedback: the two losses
    cv.arrow(9.4, 1.9, 8.1, 1.8, source=verdict, target=disc, color=MODEL_COLORS[2], dash=True)
    cv.text(8.9, 1.25, "D loss: tell them apart", size=11, color=MODEL_COLORS[2])
    # the generator's loss goes up from D, left above the boxes, and down into the generator
    for x0, y0, x1, y1 in ((8.05, 3.0, 8.05, 4.5), (8.05, 4.5, 3.35, 4.5)):
        cv.fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1,
                         line={"color": MODEL_COLORS[1], "width": 1.6, "dash": "dot"})
    cv.arrow(3.35, 4.5, 3.35, 4.2, source=disc, target=gen, color=MODEL_COLORS[1])
    cv.text(5.7, 4.72, "generator loss: fool D  →  update L<sub>i</sub>", size=11,
            color=MODEL_COLORS[1])
    cv.text(0.1, 0.35, "At equilibrium D cannot tell transformed from real pairs: the learned "
            "L<sub>i</sub> span the data's symmetry (e.g. the rotation generator of SO(2)).",
            size=11, anchor="left")
    return cv.finish(generators=C)
