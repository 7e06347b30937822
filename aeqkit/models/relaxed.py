"""Approximately equivariant forecasters composed from the relaxed layers of :mod:`aeqkit.nn`
(paper Sec. 3.1-3.3 and 5): RGroup, RSteer, RSteerTR and RSteerTS, for rotations (C_N),
rotations and reflections (``symmetry="dihedral"``, D_N), scalings and translations.

Every relaxed layer starts with equal relaxed weights, so each model here is exactly equivariant
at initialisation (for the group elements its layers implement exactly) and :meth:`extra_loss`
(``alpha`` times the unsquared Sec. 3.3 regularisers, :func:`aeqkit.nn.equivariance_penalty`)
starts at 0. The rotation and dihedral models take their group from the symmetry and
``group_order`` (:func:`model_group`: ``CyclicGroup(N)`` or ``DihedralGroup(N)``); the layers'
kernels, field types and actions all follow from that group object.

RSteerTR / RSteerTS use Eq. 8 with the low-rank weights ``w_l(x, y) = sum_r a_r(x) b_{r,l}(y)``:
``out(x) = sum_r a_r(x) (K_r * f)(x)`` where each ``K_r`` is a relaxed steerable kernel (its
positional weights are ``b_r``), implemented by :class:`aeqkit.nn.spatial.RelaxedTranslationMix`
as one relaxed steerable convolution with ``R`` times the output channels, mixed by the spatial
maps ``a_r(x)`` (:class:`aeqkit.nn.spatial.SpatialRelaxedWeights`, constant ``1/R`` at
initialisation, penalised by the translation form of ``L_gconv`` averaged over pairs,
``sum_r mean_{x, x'} |a_r(x) - a_r(x')|``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import CyclicGroup, DihedralGroup, FiniteGroup
from aeqkit.models.base import Forecaster
from aeqkit.models.registry import register_model
from aeqkit.nn import (
    GroupToVector,
    RelaxedGroupConv2d,
    RelaxedLiftConv2d,
    RelaxedScaleGroupConv2d,
    RelaxedScaleLiftConv2d,
    RelaxedScaleSteerConv2d,
    RelaxedSteerConv2d,
    RelaxedTranslationConv2d,
    equivariance_penalty,
)
from aeqkit.nn._common import (
    MODEL_PADDING_MODES,
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
)
from aeqkit.nn.basic import check_input_size
from aeqkit.nn.sesn import ScaleProjection

# moved to aeqkit.nn.spatial (issue 15: every layer class lives in aeqkit.nn); re-exported
from aeqkit.nn.spatial import RelaxedTranslationMix, SpatialRelaxedWeights

__all__ = ["RGroupForecaster", "RSteerForecaster", "RelaxedTranslationMix",
           "SpatialRelaxedWeights", "model_penalty", "model_group", "scale_steer_kernel_size"]

#: The unscaled Sec. 3.3 penalty of a model (old name): ``aeqkit.nn.equivariance_penalty``
#: with ``alpha=1``; one function, not two.
model_penalty = equivariance_penalty

#: Default width of the rotation / dihedral models in regular fields: 64 channels per pixel for
#: C4 (16 fields) and D4 (8 fields), as the ConvNet's 64 channels (16 fields for any C_N).
_DEFAULT_FIELDS = {"rotation": 16, "dihedral": 8}


def model_group(symmetry: str, group_order: int) -> FiniteGroup:
    """The finite group of a rotation / dihedral model: ``CyclicGroup(N)`` or ``DihedralGroup(N)``.

    ``N >= 3`` (the regular-to-vector projection needs the group's vectors to span the plane).
    """
    n = check_positive_int(group_order, "group_order", minimum=3)
    return DihedralGroup(n) if symmetry == "dihedral" else CyclicGroup(n)


class _RelaxedForecaster(Forecaster):
    def extra_loss(self) -> torch.Tensor:
        """``alpha`` times the unsquared Sec. 3.3 regularisers of all relaxed layers (0 at init)."""
        if self.alpha == 0.0:
            return self._zero()
        return equivariance_penalty(self, self.alpha)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.lift(z))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        y = self.last(y)
        return y if self.projection is None else self.projection(y)


@register_model("rgroup", symmetries=("rotation", "translation", "scaling", "dihedral"),
                display_name="RGroup", kind="relaxed")
class RGroupForecaster(_RelaxedForecaster):
    """RGroup: relaxed group convolutions (paper Eq. 4-5) with ``num_filter_banks`` L.

    ``symmetry="rotation"`` / ``"dihedral"``: a relaxed lifting conv from 10 vector fields to
    ``width`` regular fields of the group G (:func:`model_group`: C_N or D_N, ``group_order`` N),
    ``num_layers - 2`` residual relaxed group convs (ReLU), a relaxed group conv and an
    equivariant regular-to-vector projection (:class:`aeqkit.nn.GroupToVector`). Default width:
    16 C_N fields (64 channels for C4) or 8 D_N fields (64 channels for D4), L = 3.
    ``"translation"``: relaxed translation convs (spatially varying ``w_l(x)``, or low rank with
    ``rank``), width 64 channels; needs
    ``input_size``. ``"scaling"``: relaxed scale lifting and group convs (``aeqkit.nn``), width 24
    per scale, no biases, so the model is homogeneous (``f(λx) = λ f(x)``, the velocity factor of
    the NS scaling) for any weights.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "rgroup"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", num_filter_banks: int = 3,
                 group_order: int = 4, num_scales: int = 3, rank: int | None = None,
                 input_size: tuple[int, int] = (64, 64), input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        if symmetry not in ("rotation", "translation", "scaling", "dihedral"):
            raise ValueError(f"RGroup symmetry must be 'rotation', 'translation', 'scaling' or "
                             f"'dihedral', got {symmetry!r}")
        size = check_input_size(input_size) if symmetry == "translation" else None
        super().__init__(input_frames, symmetry, alpha, input_size=size)
        num_layers = check_positive_int(num_layers, "num_layers", minimum=2)
        k = check_kernel_size(kernel_size)
        padding_mode = check_padding_mode(padding_mode, MODEL_PADDING_MODES)
        L = check_positive_int(num_filter_banks, "num_filter_banks")
        t = input_frames
        self.projection = None
        if symmetry in ("rotation", "dihedral"):
            group = model_group(symmetry, group_order)
            f = check_positive_int(_DEFAULT_FIELDS[symmetry] if width is None else width,
                                   "width")
            kw = {"group": group, "num_filter_banks": L, "padding_mode": padding_mode}
            self.lift = RelaxedLiftConv2d(("vector",) * t, f, k, **kw)
            self.hidden = nn.ModuleList(RelaxedGroupConv2d(f, f, k, **kw)
                                        for _ in range(num_layers - 2))
            # no bias on the last group conv: a bias is constant over the group axis, and
            # GroupToVector (sum_h f(h) rho(h) e) cancels it, so it never gets a gradient
            self.last = RelaxedGroupConv2d(f, f, k, bias=False, **kw)
            self.projection = GroupToVector(f, group)
        elif symmetry == "translation":
            w = check_positive_int(64 if width is None else width, "width")
            kw = {"num_filter_banks": L, "input_size": size, "rank": rank,
                  "padding_mode": padding_mode}
            self.lift = RelaxedTranslationConv2d(2 * t, w, k, **kw)
            self.hidden = nn.ModuleList(RelaxedTranslationConv2d(w, w, k, **kw)
                                        for _ in range(num_layers - 2))
            self.last = RelaxedTranslationConv2d(w, 2, k, **kw)
        else:
            w = check_positive_int(24 if width is None else width, "width")
            s = check_positive_int(num_scales, "num_scales")
            # no biases: a bias breaks the homogeneity f(λx) = λ f(x) of the NS scaling
            kw = {"num_scales": s, "num_filter_banks": L, "padding_mode": padding_mode,
                  "bias": False}
            self.lift = RelaxedScaleLiftConv2d(2 * t, w, k, **kw)
            self.hidden = nn.ModuleList(RelaxedScaleGroupConv2d(w, w, k, **kw)
                                        for _ in range(num_layers - 2))
            self.last = RelaxedScaleGroupConv2d(w, w, k, **kw)
            self.projection = ScaleProjection(w, 2, s)


@register_model("rsteer_ts", symmetries=("scaling", "translation", None), display_name="RSteerTS",
                kind="relaxed", paper_suffixes=False, fixed={"symmetry": "scaling"},
                defaults={"translation_rank": 2})
@register_model("rsteer_tr", symmetries=("rotation", "translation", None), display_name="RSteerTR",
                kind="relaxed", paper_suffixes=False, fixed={"symmetry": "rotation"},
                defaults={"translation_rank": 2})
@register_model("rsteer", symmetries=("rotation", "scaling", "dihedral"), display_name="RSteer",
                kind="relaxed")
class RSteerForecaster(_RelaxedForecaster):
    """RSteer: relaxed steerable convolutions (paper Eq. 7), optionally with relaxed translation.

    ``symmetry="rotation"`` / ``"dihedral"``: :class:`aeqkit.nn.RelaxedSteerConv2d` layers on the
    group of :func:`model_group` (C_N or D_N), 10 vector fields -> ``width`` regular fields -> ...
    -> 1 vector field, ReLU on regular fields, ``relax="position"`` (``w(y)``) or ``"angle"``
    (``w(theta)``); default width 16 C_N fields or 8 D_N fields (64 channels for C4 / D4). ``"scaling"``:
    ``RelaxedScaleSteerConv2d`` layers (no biases: homogeneous; kernel size at least 5, see
    :func:`scale_steer_kernel_size`). With ``translation_rank=R`` (RSteerTR / RSteerTS) every
    layer is wrapped in a :class:`~aeqkit.nn.spatial.RelaxedTranslationMix` (Eq. 8, low rank R)
    and the model needs ``input_size``.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "rsteer"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 relax: str = "position", num_scales: int = 3, translation_rank: int | None = None,
                 input_size: tuple[int, int] = (64, 64), input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        if symmetry not in ("rotation", "scaling", "dihedral"):
            raise ValueError(f"RSteer symmetry must be 'rotation', 'scaling' or 'dihedral', got "
                             f"{symmetry!r}")
        size = None if translation_rank is None else check_input_size(input_size)
        super().__init__(input_frames, symmetry, alpha, input_size=size)
        num_layers = check_positive_int(num_layers, "num_layers", minimum=2)
        k = check_kernel_size(kernel_size)
        padding_mode = check_padding_mode(padding_mode, MODEL_PADDING_MODES)
        rank = None if translation_rank is None else check_positive_int(translation_rank,
                                                                        "translation_rank")
        t = input_frames
        self.projection = None
        if symmetry in ("rotation", "dihedral"):
            group = model_group(symmetry, group_order)
            f = check_positive_int(_DEFAULT_FIELDS[symmetry] if width is None else width,
                                   "width")
            types = [("vector",) * t] + [("regular",) * f] * (num_layers - 1) + [("vector",)]
            sizes = [2 * t] + [f * group.size] * (num_layers - 1) + [2]
            r = 1 if rank is None else rank

            def make(i: int) -> nn.Module:
                layer = RelaxedSteerConv2d(types[i], types[i + 1] * r, k, group=group,
                                           relax=relax, padding_mode=padding_mode)
                return layer if rank is None else RelaxedTranslationMix(layer, sizes[i + 1],
                                                                        rank, size)

            layers = [make(i) for i in range(num_layers)]
        else:
            w = check_positive_int(24 if width is None else width, "width")
            layers = _scale_steer_layers(2 * t, w, num_layers, k, num_scales, padding_mode, rank,
                                         size)
            self.projection = ScaleProjection(w, 2, num_scales)
        self.lift = layers[0]
        self.hidden = nn.ModuleList(layers[1:-1])
        self.last = layers[-1]


#: Smallest kernel that holds a scale-steerable basis at scales up to 2 (a 3x3 grid cannot: factor-2
#: scale error >= 0.21 for any width, see :mod:`aeqkit.nn.scale`).
MIN_SCALE_STEER_KERNEL = 5


def scale_steer_kernel_size(kernel_size: int) -> int:
    """Kernel size of the scale-steerable layers of a model asked for ``kernel_size``: at least 5."""
    return max(int(kernel_size), MIN_SCALE_STEER_KERNEL)


def _scale_steer_layers(in_channels, width, num_layers, k, num_scales, padding_mode, rank, size):
    """Relaxed scale-steerable lift + scale layers (``aeqkit.nn.RelaxedScaleSteerConv2d``, scales
    ``2^(s/2)``, neighbouring-scale window 2, Hermite order 1, default width ``sigma``, no bias),
    optionally translation-mixed (Eq. 8). ``k`` below 5 is raised to 5 (:func:`scale_steer_kernel_size`)."""
    s_count = check_positive_int(num_scales, "num_scales")
    k = scale_steer_kernel_size(k)
    scales = tuple(2.0 ** (s / 2) for s in range(s_count))
    r = 1 if rank is None else rank
    layers = []
    for i in range(num_layers):
        c_in = in_channels if i == 0 else width
        layer = RelaxedScaleSteerConv2d(c_in, width * r, k, scales=scales, lift=i == 0,
                                        scale_size=1 if i == 0 else min(2, s_count),
                                        padding_mode=padding_mode, bias=False)
        if rank is not None:
            layer = RelaxedTranslationMix(layer, width * s_count, rank, size)
        layers.append(layer)
    return layers
