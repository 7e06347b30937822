"""Approximately equivariant forecasters built on the relaxed layers of :mod:`aeqkit.nn`
(paper Sec. 3.1-3.3 and 5): RGroup, RSteer, RSteerTR and RSteerTS.

Every relaxed layer starts with equal relaxed weights, so each model here is exactly equivariant
at initialisation (for the group elements its layers implement exactly) and :meth:`extra_loss`
(``alpha`` times the unsquared Sec. 3.3 regularisers, via ``aeqkit.nn.equivariance_penalty``)
starts at 0.

RSteerTR / RSteerTS use Eq. 8 with the low-rank weights ``w_l(x, y) = sum_r a_r(x) b_{r,l}(y)``:
``out(x) = sum_r a_r(x) (K_r * f)(x)`` where each ``K_r`` is a relaxed steerable kernel (its
positional weights are ``b_r``), implemented by :class:`RelaxedTranslationMix` as one relaxed
steerable convolution with ``R`` times the output channels, mixed by the spatial maps ``a_r(x)``
(:class:`SpatialRelaxedWeights`, constant ``1/R`` at initialisation, penalised by the translation
form of ``L_gconv`` averaged over pairs, ``sum_r mean_{x, x'} |a_r(x) - a_r(x')|``).
"""

from __future__ import annotations

import importlib

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import (
    Forecaster,
    check_input_size,
    check_int,
    check_odd_kernel,
    check_padding_mode,
)
from aeqkit.models.registry import register_model

__all__ = ["RGroupForecaster", "RSteerForecaster", "RelaxedTranslationMix",
           "SpatialRelaxedWeights", "nn_layer", "model_penalty"]

_NN_SUBMODULES = ("gconv", "steerable", "translation", "scale", "scaling", "regularizers",
                  "regularisers")


def nn_layer(name: str):
    """A layer class (or function) of :mod:`aeqkit.nn` by name, with a clear error if missing."""
    mod = importlib.import_module("aeqkit.nn")
    if hasattr(mod, name):
        return getattr(mod, name)
    for sub in _NN_SUBMODULES:
        try:
            m = importlib.import_module(f"aeqkit.nn.{sub}")
        except ImportError:
            continue
        if hasattr(m, name):
            return getattr(m, name)
    raise ImportError(f"aeqkit.nn provides no {name!r}; the relaxed models need it")


def model_penalty(model: nn.Module) -> torch.Tensor:
    """Unscaled sum of the ``equivariance_penalty()`` of every relaxed layer inside ``model``."""
    try:
        fn = nn_layer("equivariance_penalty")
    except ImportError:
        fn = None
    if fn is not None:
        return fn(model, 1.0)
    terms = [m.equivariance_penalty() for m in model.modules()
             if m is not model and callable(getattr(m, "equivariance_penalty", None))]
    return torch.stack(terms).sum()


class _RelaxedForecaster(Forecaster):
    def extra_loss(self) -> torch.Tensor:
        """``alpha`` times the unsquared Sec. 3.3 regularisers of all relaxed layers (0 at init)."""
        if self.alpha == 0.0:
            return self._zero()
        return self.alpha * model_penalty(self)


class SpatialRelaxedWeights(nn.Module):
    """The spatial maps ``a_r(x)`` of Eq. 8 as a relaxed layer of their own.

    ``relaxed_weights`` (R, H, W) start at ``1/R``; :meth:`equivariance_penalty` is the
    translation form of ``L_gconv`` averaged over the ``(HW)²`` ordered pairs of positions,
    ``sum_r mean_{x, x'} |a_r(x) - a_r(x')|`` (Sec. 3.3, not squared), 0 at initialisation with a
    zero gradient there. The paper's sum over pairs grows as ``(HW)²`` while the data gradient on
    one ``a_r(x)`` shrinks as ``1/(HW)``, so a fixed ``alpha`` would pin the weights at high
    resolution (gradient ratio penalty/MSE 9.9 at 16x16, 2,370 at 64x64 at ``alpha = 1e-4``);
    the mean keeps that ratio resolution-independent. Being a leaf provider of
    ``equivariance_penalty`` it is counted by ``aeqkit.nn.equivariance_penalty`` next to the
    wrapped layer's own penalty.

    Shape:
        relaxed_weights: (R, H, W)
    """

    def __init__(self, rank: int, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.rank = check_int(rank, "rank")
        self.input_size = check_input_size(input_size)
        self.relaxed_weights = nn.Parameter(torch.full((self.rank, *self.input_size),
                                                       1.0 / self.rank))

    def equivariance_penalty(self) -> torch.Tensor:
        """``sum_r mean_{x, x'} |a_r(x) - a_r(x')|`` (exact, O(n log n), tied weights get tied
        gradients: ``aeqkit.nn.pairwise_l1``)."""
        from aeqkit.nn._common import pairwise_l1

        w = self.relaxed_weights.flatten(1)
        return pairwise_l1(w, dim=-1) / w.shape[-1] ** 2


class RelaxedTranslationMix(nn.Module):
    """Low-rank relaxed translation around any layer (paper Eq. 8): ``sum_r a_r(x) y_r(x)``.

    ``layer`` must output ``rank * out_channels`` channels (rank-major); the spatial maps
    ``a_r(x)`` (``spatial.relaxed_weights``, a :class:`SpatialRelaxedWeights`) start at ``1/R``,
    so at initialisation the mix is the mean of the ``R`` outputs: as equivariant as ``layer``, and
    translation equivariant.

    Shape:
        x: (B, C_in, H, W) -> (B, out_channels, H, W), with (H, W) == input_size
    """

    def __init__(self, layer: nn.Module, out_channels: int, rank: int,
                 input_size: tuple[int, int]) -> None:
        super().__init__()
        self.layer = layer
        self.out_channels = out_channels
        self.spatial = SpatialRelaxedWeights(rank, input_size)
        self.rank = self.spatial.rank
        self.input_size = self.spatial.input_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(f"RelaxedTranslationMix expected a {self.input_size} grid (its "
                             f"input_size), got {tuple(x.shape[-2:])}")
        y = self.layer(x)
        y = y.unflatten(1, (self.rank, self.out_channels))
        a = self.spatial.relaxed_weights
        return (y * a[None, :, None].to(y.dtype)).sum(1)


@register_model("rgroup", symmetries=("rotation", "translation", "scaling"), display_name="RGroup",
                kind="relaxed")
class RGroupForecaster(_RelaxedForecaster):
    """RGroup: relaxed group convolutions (paper Eq. 4-5) with ``num_filter_banks`` L.

    ``symmetry="rotation"``: a relaxed lifting conv from 10 vector fields to ``width`` regular C_N
    fields, ``num_layers - 2`` residual relaxed group convs (ReLU), a relaxed group conv and an
    equivariant regular-to-vector projection. Default width 16 fields (64 channels for C4), L = 3.
    ``"translation"``: relaxed translation convs (spatially varying ``w_l(x)``, or low rank with
    ``rank``), width 64 channels; needs ``input_size``. ``"scaling"``: relaxed scale lifting and
    group convs (``aeqkit.nn``), width 24 per scale, no biases, so the model is homogeneous
    (``f(λx) = λ f(x)``, the velocity factor of the NS scaling) for any weights.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "rgroup"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", num_filter_banks: int = 3,
                 group_order: int = 4, num_scales: int = 3, rank: int | None = None,
                 input_size: tuple[int, int] = (64, 64), input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        if symmetry not in ("rotation", "translation", "scaling"):
            raise ValueError(f"RGroup symmetry must be 'rotation', 'translation' or 'scaling', "
                             f"got {symmetry!r}")
        size = check_input_size(input_size) if symmetry == "translation" else None
        super().__init__(input_frames, symmetry, alpha, input_size=size)
        num_layers = check_int(num_layers, "num_layers", minimum=2)
        k = check_odd_kernel(kernel_size)
        padding_mode = check_padding_mode(padding_mode)
        L = check_int(num_filter_banks, "num_filter_banks")
        t = input_frames
        self.projection = None
        if symmetry == "rotation":
            n = check_int(group_order, "group_order", minimum=3)
            f = check_int(16 if width is None else width, "width")
            lift_cls = nn_layer("RelaxedRotLiftConv2d")
            gconv_cls = nn_layer("RelaxedRotGroupConv2d")
            kw = {"group_order": n, "num_filter_banks": L, "padding_mode": padding_mode}
            self.lift = lift_cls(("vector",) * t, f, k, **kw)
            self.hidden = nn.ModuleList(gconv_cls(f, f, k, **kw) for _ in range(num_layers - 2))
            # no bias on the last group conv: a bias is constant over the group axis, and
            # RotGroupToVector (sum_i f(i) (cos, sin)(2πi/N)) cancels it, so it never gets a gradient
            self.last = gconv_cls(f, f, k, bias=False, **kw)
            self.projection = nn_layer("RotGroupToVector")(f, n)
        elif symmetry == "translation":
            w = check_int(64 if width is None else width, "width")
            tconv = nn_layer("RelaxedTranslationConv2d")
            kw = {"num_filter_banks": L, "input_size": size, "rank": rank,
                  "padding_mode": padding_mode}
            self.lift = tconv(2 * t, w, k, **kw)
            self.hidden = nn.ModuleList(tconv(w, w, k, **kw) for _ in range(num_layers - 2))
            self.last = tconv(w, 2, k, **kw)
        else:
            w = check_int(24 if width is None else width, "width")
            s = check_int(num_scales, "num_scales")
            lift_cls = nn_layer("RelaxedScaleLiftConv2d")
            gconv_cls = nn_layer("RelaxedScaleGroupConv2d")
            self.lift, self.hidden, self.last, self.projection = _scale_stack(
                lift_cls, gconv_cls, 2 * t, w, num_layers, k, s, L, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.lift(z))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        y = self.last(y)
        return y if self.projection is None else self.projection(y)


def _scale_stack(lift_cls, gconv_cls, in_channels, width, num_layers, k, num_scales, L,
                 padding_mode):
    """Relaxed scale lift, hidden scale group convs, last group conv, scale max-pool + 1x1."""
    from aeqkit.models.sesn import ScaleProjection

    lift = _build_scale(lift_cls, in_channels, width, k, num_scales, L, padding_mode)
    hidden = nn.ModuleList(_build_scale(gconv_cls, width, width, k, num_scales, L, padding_mode)
                           for _ in range(num_layers - 2))
    last = _build_scale(gconv_cls, width, width, k, num_scales, L, padding_mode)
    return lift, hidden, last, ScaleProjection(width, 2, num_scales)


def _build_scale(cls, in_channels, out_channels, k, num_scales, L, padding_mode):
    import inspect

    params = inspect.signature(cls).parameters
    kw = {}
    for name, value in (("num_scales", num_scales), ("num_filter_banks", L),
                        ("padding_mode", padding_mode)):
        if name in params:
            kw[name] = value
    if "bias" in params:  # a bias breaks the homogeneity f(λx) = λ f(x) of the NS scaling
        kw["bias"] = False
    return cls(in_channels, out_channels, k, **kw)


@register_model("rsteer_ts", symmetries=("scaling", "translation", None), display_name="RSteerTS",
                kind="relaxed", paper_suffixes=False, fixed={"symmetry": "scaling"},
                defaults={"translation_rank": 2})
@register_model("rsteer_tr", symmetries=("rotation", "translation", None), display_name="RSteerTR",
                kind="relaxed", paper_suffixes=False, fixed={"symmetry": "rotation"},
                defaults={"translation_rank": 2})
@register_model("rsteer", symmetries=("rotation", "scaling"), display_name="RSteer", kind="relaxed")
class RSteerForecaster(_RelaxedForecaster):
    """RSteer: relaxed steerable convolutions (paper Eq. 7), optionally with relaxed translation.

    ``symmetry="rotation"``: ``RelaxedRotSteerConv2d`` layers, 10 vector fields -> ``width``
    regular C_N fields -> ... -> 1 vector field, ReLU on regular fields, ``relax="position"``
    (``w(y)``) or ``"angle"`` (``w(theta)``). ``"scaling"``: ``RelaxedScaleSteerConv2d`` layers
    (no biases: homogeneous; kernel size at least 5, see :func:`scale_steer_kernel_size`).
    With ``translation_rank=R`` (RSteerTR / RSteerTS) every layer is wrapped in a
    :class:`RelaxedTranslationMix` (Eq. 8, low rank R) and the model needs ``input_size``.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "rsteer"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 relax: str = "position", num_scales: int = 3, translation_rank: int | None = None,
                 input_size: tuple[int, int] = (64, 64), input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        if symmetry not in ("rotation", "scaling"):
            raise ValueError(f"RSteer symmetry must be 'rotation' or 'scaling', got {symmetry!r}")
        size = None if translation_rank is None else check_input_size(input_size)
        super().__init__(input_frames, symmetry, alpha, input_size=size)
        num_layers = check_int(num_layers, "num_layers", minimum=2)
        k = check_odd_kernel(kernel_size)
        padding_mode = check_padding_mode(padding_mode)
        rank = None if translation_rank is None else check_int(translation_rank,
                                                               "translation_rank")
        t = input_frames
        self.projection = None
        if symmetry == "rotation":
            n = check_int(group_order, "group_order", minimum=3)
            f = check_int(16 if width is None else width, "width")
            steer = nn_layer("RelaxedRotSteerConv2d")
            types = [("vector",) * t] + [("regular",) * f] * (num_layers - 1) + [("vector",)]
            sizes = [2 * t] + [f * n] * (num_layers - 1) + [2]
            r = 1 if rank is None else rank

            def make(i: int) -> nn.Module:
                layer = steer(types[i], types[i + 1] * r, k, group_order=n, relax=relax,
                              padding_mode=padding_mode)
                return layer if rank is None else RelaxedTranslationMix(layer, sizes[i + 1],
                                                                        rank, size)

            layers = [make(i) for i in range(num_layers)]
        else:
            w = check_int(24 if width is None else width, "width")
            layers = _scale_steer_layers(2 * t, w, num_layers, k, num_scales, padding_mode, rank,
                                         size)
            from aeqkit.models.sesn import ScaleProjection

            self.projection = ScaleProjection(w, 2, num_scales)
        self.lift = layers[0]
        self.hidden = nn.ModuleList(layers[1:-1])
        self.last = layers[-1]

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.lift(z))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        y = self.last(y)
        return y if self.projection is None else self.projection(y)


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
    steer = nn_layer("RelaxedScaleSteerConv2d")
    s_count = check_int(num_scales, "num_scales")
    k = scale_steer_kernel_size(k)
    scales = tuple(2.0 ** (s / 2) for s in range(s_count))
    r = 1 if rank is None else rank
    layers = []
    for i in range(num_layers):
        c_in = in_channels if i == 0 else width
        layer = steer(c_in, width * r, k, scales=scales, lift=i == 0,
                      scale_size=1 if i == 0 else min(2, s_count), padding_mode=padding_mode,
                      bias=False)
        if rank is not None:
            layer = RelaxedTranslationMix(layer, width * s_count, rank, size)
        layers.append(layer)
    return layers
