"""Relaxed scale group convolutions (paper Sec. 3.1 for scaling; SESN-style steerable, Sec. 3.2).

Scale features are regular features of a truncated discrete scale group, stored as
``(B, C*S, H, W)`` with the scale axis innermost (like the group axis of DESIGN.md).

Two families:

* :class:`RelaxedScaleLiftConv2d` / :class:`RelaxedScaleGroupConv2d`: the scale group acts on a
  kernel by **dilation** by ``2^s``. This is exact on the grid in the following sense (tested): for
  any 2x up-sampling ``up`` of the input that keeps the original samples at even positions
  (``up(x)[2i, 2j] = x[i, j]``: nearest, zero insertion or a smoother interpolant),
  ``out(up(x))[:, c, s+1][::2, ::2] == out(x)[:, c, s]``, for the lifting layer at every
  ``s < S-1`` and, for a group layer mixing ``scale_size`` neighbouring scales, at every
  ``s <= S - 1 - scale_size`` (the top scales are truncated, as in any finite scale CNN).
  Scaling by 2 through *down*-sampling a smooth input is only approximate.
* :class:`RelaxedScaleSteerConv2d`: a Hermite-Gaussian scale-steerable basis sampled at scales
  ``sigma_s`` on one ``k x k`` grid (SESN, Sosnovik et al. 2020) with relaxed weights over kernel
  positions. Its scale equivariance is approximate (continuous-domain exact, sampling and
  truncation errors on the grid). The basis must be neither undersampled (``sigma`` below ~0.7
  cells) nor cut off by the grid at the largest scale; measured worst relative error of the
  factor-2 test (4 seeds, smooth 32x32 input, scales 1, sqrt 2, 2, Hermite order 1): k = 3 at
  least 0.21 for any sigma (refused), k = 5 0.05 (sigma 0.7-0.8), k = 7 0.012-0.015 (sigma 0.8-0.9),
  k = 9 0.003 (sigma 0.9); order 2 needs sigma >= 0.9 and k >= 9 (0.04). The defaults (order 1,
  :func:`default_scale_sigma`) follow these numbers and the constructor refuses combinations
  outside them. It is exactly equivariant to cyclic shifts with circular padding.

All relaxed weights are ones at initialisation and every scale is used in ``forward`` (every
scale receives gradient). The layers have **no bias by default**: the Navier-Stokes scaling
multiplies velocities by ``λ``, so a scale-equivariant map must be homogeneous,
``f(λ x) = λ f(x)``, which a bias breaks in a way the relaxed-weight penalty cannot see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import FieldType, ScaleGroup
from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    pad_conv2d,
)
from aeqkit.nn.base import RelaxedLayer

__all__ = [
    "RelaxedScaleLiftConv2d",
    "RelaxedScaleGroupConv2d",
    "RelaxedScaleSteerConv2d",
    "hermite_gaussian_basis",
    "default_scale_sigma",
    "scale_axis_group",
]


def lifted_input_type(channels: int) -> FieldType:
    """Type of the plain input of a scale lifting layer: ``(u, v)`` velocity pairs when ``channels``
    is even (as the forecasters feed it), scalars otherwise."""
    return FieldType.vectors(channels // 2) if channels % 2 == 0 else FieldType.scalars(channels)


def scale_feature_type(fields: int, num_scales: int, scale_step: float, lifted_from: FieldType | None = None
                       ) -> FieldType:
    """Scale features in the units of what was lifted (velocity units unless lifted from scalars)."""
    weight = 0.0 if lifted_from is not None and "vector" not in lifted_from.blocks else 1.0
    return FieldType.scale_fields(fields, num_scales, scale_step, weight)


def scale_axis_group(num_scales: int, scale_step: float) -> ScaleGroup:
    """The scalings that move a scale axis of ``num_scales`` scales ``scale_step**s`` by whole steps:
    ``scale_step**m`` for ``|m| < num_scales`` (the group of a scale layer, ``layer.group``)."""
    return ScaleGroup(tuple(float(scale_step) ** m for m in range(1 - num_scales, num_scales)))


class RelaxedScaleGroupConv2d(RelaxedLayer):
    """Relaxed scale group convolution by dilation, regular -> regular scale features.

    ``out(x, s) = sum_{d < D} sum_l w_l(s + d) [dilate_{2^s} Psi_l(d)] * f(., s + d)``, with
    ``w_l(h)`` indexed by the input scale ``h = s + d`` (Eq. 4). Truncated at the top scale.

    Args:
        in_channels: regular input fields (channels per scale).
        out_channels: regular output fields.
        kernel_size: odd base kernel size (scale s uses dilation ``2^s``).
        num_scales: S.
        scale_size: D, number of neighbouring input scales mixed (1 <= D <= S).
        num_filter_banks: L.
        bias: per output field, shared over scales (default off: a bias breaks ``f(λx) = λ f(x)``).
        relaxed: False freezes ``relaxed_weights`` at ones (strict scale group conv).
        padding_mode: ``"zeros"`` (exact under the up-sampling identity) or ``"circular"``.

    Shape:
        x: (B, in_channels * S, H, W) -> out: (B, out_channels * S, H, W)

    Attributes:
        relaxed_weights: (L, S), ones at init; the penalty compares them over scales.
        weight: (L, out_channels, in_channels, D, k, k).
        group: the scalings by powers of 2 that move the scale axis (:func:`scale_axis_group`).
    """

    _lifting = False
    repr_fields = ("kernel_size", "num_scales", "scale_size", "num_filter_banks", "relaxed")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_scales: int = 3,
        scale_size: int = 2,
        num_filter_banks: int = 1,
        bias: bool = False,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = k = check_kernel_size(kernel_size)
        self.num_scales = s = check_positive_int(num_scales, "num_scales")
        self.scale_size = d = check_positive_int(scale_size, "scale_size")
        if d > s:
            raise ValueError(f"scale_size must be in 1..num_scales={s}, got {d}")
        self.num_filter_banks = L = check_positive_int(num_filter_banks, "num_filter_banks")
        self.padding_mode = check_padding_mode(padding_mode)
        self.weight = nn.Parameter(torch.empty(L, out_channels, in_channels, d, k, k))
        self.init_relaxed_weights((L, s), relaxed=relaxed)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        # scale axis: dilation 2^s, so one step of the axis is a factor 2 (FieldType "scale" blocks)
        self.group = scale_axis_group(s, 2.0)
        if self._lifting:
            self.in_type = lifted_input_type(in_channels)
            self.out_type = scale_feature_type(out_channels, s, 2.0, self.in_type)
        else:
            self.in_type = scale_feature_type(in_channels, s, 2.0)
            self.out_type = scale_feature_type(out_channels, s, 2.0)
        #: groups this layer is exactly equivariant to with equal relaxed weights (scalings by powers
        #: of 2 on odd grids, compared where nothing undefined is read; cyclic shifts if circular)
        self.exact_groups = ("scaling",) + (("translation",) if self.padding_mode == "circular" else ())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        L, _, c, d, k, _ = self.weight.shape
        bound = 1.0 / math.sqrt(c * d * k * k * L)
        nn.init.uniform_(self.weight, -bound, bound)
        self.reset_relaxed_weights()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _expected_channels(self) -> int:
        return self.in_channels * (1 if self._lifting else self.num_scales)

    def expanded_weight(self) -> torch.Tensor:
        """Kernels per output scale before dilation, ``sum_l w_l(s + d) Psi_l(d)`` (Eq. 4).

        Output scale ``s`` convolves input scales ``s + d`` with dilation ``2^s``; offsets past the
        top scale (``s + d >= S``) are zero (truncated).

        Shape:
            out: (S, out_channels, in_channels, D, k, k) (``D = 1`` when lifting)
        """
        S, D = self.num_scales, self.scale_size
        w = self.relaxed_weights.to(self.weight.dtype)
        kerns = []
        for s in range(S):
            if self._lifting:
                kerns.append(torch.einsum("l,locxy->ocxy", w[:, s], self.weight[:, :, :, 0])[:, :, None])
                continue
            dd = min(D, S - s)
            kern = torch.einsum("ld,locdxy->ocdxy", w[:, s : s + dd], self.weight[:, :, :, :dd])
            kerns.append(F.pad(kern, (0, 0, 0, 0, 0, D - dd)) if dd < D else kern)
        return torch.stack(kerns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x, self._expected_channels())
        S, D, k = self.num_scales, self.scale_size, self.kernel_size
        full = self.expanded_weight()
        outs = []
        if not self._lifting:
            xs = x.unflatten(1, (self.in_channels, S))
        for s in range(S):
            dil = 2**s
            if self._lifting:
                kern, inp = full[s, :, :, 0], x
            else:
                dd = min(D, S - s)
                kern = full[s, :, :, :dd].flatten(1, 2)
                inp = xs[:, :, s : s + dd].flatten(1, 2)
            outs.append(pad_conv2d(inp, kern, None, dil * (k // 2), self.padding_mode, dil))
        out = torch.stack(outs, 2)  # (B, O, S, H, W)
        if self.bias is not None:
            out = out + self.bias[None, :, None, None, None]
        return out.flatten(1, 2)


class RelaxedScaleLiftConv2d(RelaxedScaleGroupConv2d):
    """Relaxed scale lifting convolution by dilation: plain fields -> scale features.

    ``out(x, s) = sum_l w_l(s) [dilate_{2^s} Psi_l] * f``; relaxed weights ``(L, S)`` indexed by
    the scale (the lifted input is constant over scales).

    Shape:
        x: (B, in_channels, H, W) -> out: (B, out_channels * S, H, W)
    """

    _lifting = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_scales: int = 3,
        num_filter_banks: int = 1,
        bias: bool = False,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            num_scales=num_scales,
            scale_size=1,
            num_filter_banks=num_filter_banks,
            bias=bias,
            relaxed=relaxed,
            padding_mode=padding_mode,
        )


@lru_cache(maxsize=64)
def _hermite_norm2(n: int) -> float:
    """``int H_n(x)^2 exp(-2 x^2) dx`` (numerical quadrature on a fine grid)."""
    x = np.linspace(-10.0, 10.0, 20001)
    h = np.polynomial.hermite.Hermite.basis(n)(x)
    return float((h**2 * np.exp(-2 * x**2)).sum() * (x[1] - x[0]))


def hermite_gaussian_basis(kernel_size: int, sigma: float, max_order: int) -> torch.Tensor:
    """Hermite-Gaussian functions ``sigma^-2 H_n(x/sigma) H_m(y/sigma) exp(-(x^2+y^2)/sigma^2)``.

    All ``0 <= n, m <= max_order`` (SESN's basis), sampled on the centred ``k x k`` grid (rows y up,
    columns x).
    The ``sigma^-2`` factor makes ``conv(f(./lam), psi_{lam sigma})(x) = conv(f, psi_sigma)(x/lam)``
    in the continuum (SESN's scale-steerability). Each function is divided by its continuous L2
    norm at ``sigma = 1`` (independent of k and sigma), so the relative scaling is preserved.

    Shape:
        out: (P, k, k), float64, ``P = (max_order + 1)^2``
    """
    k = kernel_size
    c = (k - 1) / 2
    coords = np.arange(k) - c
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    out = []
    for n in range(max_order + 1):
        for m in range(max_order + 1):
            hn = np.polynomial.hermite.Hermite.basis(n)
            hm = np.polynomial.hermite.Hermite.basis(m)
            vals = hn(xx / sigma) * hm(yy / sigma) * np.exp(-(xx**2 + yy**2) / sigma**2) / sigma**2
            out.append(vals / np.sqrt(_hermite_norm2(n) * _hermite_norm2(m)))
    return torch.as_tensor(np.stack(out), dtype=torch.float64)


#: Hermite order -> (smallest sigma in cells, grid reach ``(k - 1) / 2 >= reach * sigma * max(scales)``,
#: largest default sigma), from the factor-2 measurements in the module docstring.
_SIGMA_RULES = {0: (0.7, 1.3, 0.9), 1: (0.7, 1.3, 0.9), 2: (0.9, 2.0, 1.0)}


def _sigma_rule(max_order: int) -> tuple[float, float, float]:
    return _SIGMA_RULES.get(max_order, (0.9 + 0.1 * (max_order - 2), 2.0 + 0.3 * (max_order - 2), 1.1))


def default_scale_sigma(kernel_size: int, scales: Sequence[float], max_order: int = 1) -> float:
    """The base width ``sigma`` (cells) used by :class:`RelaxedScaleSteerConv2d` when none is given.

    The widest basis function that the ``k x k`` grid holds at the largest scale, capped (measured:
    factor-2 relative error <= 0.06 for k >= 5 at Hermite order 1). ``ValueError`` when no width
    works (e.g. ``k = 3`` with scales up to 2: use ``kernel_size >= 5``).
    """
    lo, reach, cap = _sigma_rule(max_order)
    top = max(scales)
    sigma = min(cap, (kernel_size - 1) / 2 / (reach * top))
    if sigma < lo:
        need = 2 * math.ceil(reach * lo * top) + 1
        raise ValueError(
            f"kernel_size={kernel_size} is too small for a scale-steerable basis of Hermite order "
            f"{max_order} at scales up to {top:g} (the basis is undersampled or cut off: factor-2 "
            f"scale error > 0.1); use kernel_size >= {need}")
    return sigma


class RelaxedScaleSteerConv2d(RelaxedLayer):
    """Relaxed scale-steerable convolution on a Hermite-Gaussian basis (SESN-style, Eq. 7).

    Kernel for output scale s and input-scale offset d:
    ``K_{s,d}(y) = sum_b c_b w_b(y) psi_{sigma_s, b}(y)`` (``c`` per field pair, offset and basis,
    ``w`` the relaxed weights over positions, ones at init). Lifting (``lift=True``) maps plain
    fields to scale features; otherwise scale features with ``scale_size`` neighbouring input
    scales (truncated at the top). One ``F.conv2d`` per forward.

    Args:
        in_channels, out_channels: fields per scale (or plain input channels when lifting).
        kernel_size: odd kernel size, shared by all scales (>= 5 for scales up to 2).
        scales: relative scales ``lam_s`` (``sigma_s = sigma * lam_s``), increasing, first 1.
        sigma: base width in cells (default :func:`default_scale_sigma`: 0.77 for k = 5, 0.9 for
            k >= 7); refused if the basis would be undersampled or cut off at the largest scale.
        max_order: Hermite order per axis (default 1: 4 basis functions; order 2, 9 functions as
            SESN, needs k >= 9 at scales up to 2).
        scale_size: D for scale -> scale layers.
        lift: plain input (True) or scale-feature input (False).
        relax: ``"position"`` or ``None`` (strict SESN layer).
        bias: default off (a bias breaks ``f(λx) = λ f(x)``); padding_mode: ``"circular"`` for exact
            cyclic shifts.

    Shape:
        x: (B, in_channels [* S], H, W) -> out: (B, out_channels * S, H, W)

    Attributes:
        relaxed_weights: (O, C, D, n_supported) ``w_b(y)`` where the basis lives, ones at init
            (:meth:`relaxed_weight_grid`: the full ``(O, C, D, P, k*k)`` view).
        group: the scalings by powers of the scale step (:func:`scale_axis_group`), approximate.
    """

    repr_fields = ("kernel_size", "scales", "sigma", "lift", "scale_size", "relax")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 7,
        scales: Sequence[float] = (1.0, 2**0.5, 2.0),
        sigma: float | None = None,
        max_order: int | None = None,
        scale_size: int = 1,
        lift: bool = False,
        relax: str | None = "position",
        bias: bool = False,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if relax not in ("position", None):
            raise ValueError(f"relax must be 'position' or None, got {relax!r}")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = k = check_kernel_size(kernel_size)
        scales = tuple(float(v) for v in scales)
        if not scales or any(v <= 0 for v in scales) or list(scales) != sorted(set(scales)):
            raise ValueError(f"scales must be positive and strictly increasing, got {scales}")
        self.scales = scales
        S = len(scales)
        self.max_order = 1 if max_order is None else check_positive_int(max_order, "max_order", minimum=0)
        if sigma is None:
            self.sigma = default_scale_sigma(k, scales, self.max_order)
        else:
            self.sigma = float(sigma)
            lo, reach, _ = _sigma_rule(self.max_order)
            fits = (k - 1) / 2 >= reach * self.sigma * max(scales) - 1e-12
            if not math.isfinite(self.sigma) or self.sigma < lo or not fits:
                raise ValueError(
                    f"sigma={sigma!r} does not fit a {k}x{k} grid at scales up to {max(scales):g} with "
                    f"Hermite order {self.max_order}: need {lo} <= sigma <= "
                    f"{(k - 1) / 2 / (reach * max(scales)):.3g} (else undersampled or cut off, factor-2 "
                    "scale error > 0.1); omit sigma for the measured default")
        self.lift = bool(lift)
        self.scale_size = D = 1 if self.lift else check_positive_int(scale_size, "scale_size")
        if D > S:
            raise ValueError(f"scale_size must be in 1..len(scales)={S}, got {D}")
        self.relax = relax
        self.padding_mode = check_padding_mode(padding_mode)
        basis = torch.stack(
            [hermite_gaussian_basis(k, self.sigma * lam, self.max_order) for lam in scales]
        )  # (S, P, k, k)
        self.register_buffer(
            "basis", basis.flatten(2).to(torch.get_default_dtype()), persistent=False
        )
        P = basis.shape[1]
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, D, P))
        # w_b(y) only matters where the basis function b is non-zero at y for some scale (odd Hermite
        # orders vanish on the centre row/column): only those are parameters
        support = (basis.abs() > 1e-12).any(0).flatten(1)  # (P, k*k)
        self.register_buffer("relaxed_support", support, persistent=False)
        # relaxed weights at the supported (basis, position) pairs, ``(O, C, D, n_supported)``
        # (:meth:`relaxed_weight_grid` gives the full ``(O, C, D, P, k*k)`` view); ones if strict
        shape = (out_channels, in_channels, D, P, 1) if relax is None else \
            (out_channels, in_channels, D, int(support.sum()))
        self.init_relaxed_weights(shape, relaxed=relax is not None)
        # band[s, d, h] = 1 if h == s + d: scatters offsets to absolute input scales
        band = torch.zeros(S, D, S)
        for s in range(S):
            for d in range(D):
                if s + d < S:
                    band[s, d, s + d] = 1.0
        self.register_buffer("band", band.to(torch.get_default_dtype()), persistent=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        ratios = [b / a for a, b in zip(scales, scales[1:])]
        step = ratios[0] if ratios and all(abs(r - ratios[0]) < 1e-9 for r in ratios) and ratios[0] > 1 \
            else None
        if step is None:  # not a geometric scale axis: the scaling action is undefined on it
            self.group = None
            self.in_type = FieldType.scalars(in_channels * (1 if self.lift else S))
            self.out_type = FieldType.scalars(out_channels * S)
        else:
            self.group = scale_axis_group(S, step)
            if self.lift:
                self.in_type = lifted_input_type(in_channels)
                self.out_type = scale_feature_type(out_channels, S, step, self.in_type)
            else:
                self.in_type = scale_feature_type(in_channels, S, step)
                self.out_type = scale_feature_type(out_channels, S, step)
        #: exact only for cyclic shifts (circular padding); scalings are approximate (sampled basis)
        self.exact_groups = ("translation",) if self.padding_mode == "circular" else ()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            b = self.basis
            norm2 = b.pow(2).sum(-1).mean().clamp_min(1e-12)
            _, c, d, p = self.weight.shape
            std = 1.0 / math.sqrt(c * d * p * float(norm2))
            self.weight.normal_(0.0, std)
            self.reset_relaxed_weights()
            if self.bias is not None:
                self.bias.zero_()

    def relaxed_weight_grid(self) -> torch.Tensor:
        """Relaxed weights per basis function and position, 1 where the basis vanishes.

        Shape: (O, C, D, P, k*k) (``(O, C, D, P, 1)`` for the strict layer).
        """
        rw = self.relaxed_weights
        if self.relax is None:
            return rw
        o, c, d, _ = rw.shape
        grid = rw.new_ones(o, c, d, *self.relaxed_support.shape)
        return grid.masked_scatter(self.relaxed_support.expand_as(grid), rw.reshape(-1))

    def positional_weights(self) -> torch.Tensor:
        """Effective ``c_b w_b(y)``. Shape: (O, C, D, P, k*k)."""
        return self.weight[..., None] * self.relaxed_weight_grid()

    def expanded_weight(self) -> torch.Tensor:
        """Shape: (O*S, C*S, k, k) for scale input, (O*S, C, k, k) when lifting."""
        k, S = self.kernel_size, len(self.scales)
        cw = self.positional_weights()
        kern = torch.einsum("ocdpy,spy->oscdy", cw, self.basis.to(cw.dtype))  # (O,S,C,D,kk)
        o, c = self.out_channels, self.in_channels
        if self.lift:
            return kern[:, :, :, 0].reshape(o * S, c, k, k)
        full = torch.einsum("oscdy,sdh->oschy", kern, self.band.to(kern.dtype))
        return full.reshape(o * S, c * S, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S = len(self.scales)
        self._check_input(x, self.in_channels * (1 if self.lift else S))
        bias = None if self.bias is None else self.bias.repeat_interleave(S)
        return pad_conv2d(x, self.expanded_weight(), bias, self.kernel_size // 2, self.padding_mode)

    def equivariance_penalty(self) -> torch.Tensor:
        """Unscaled ``||dw/dm||_1 + ||dw/dn||_1`` over neighbouring kernel positions where the basis
        function is non-zero at both (Sec. 3.3, not squared); zero for the strict layer."""
        k = self.kernel_size
        if self.relax is None:
            return self.weight.sum() * 0.0
        w = self.positional_weights()
        w = w.reshape(*w.shape[:-1], k, k)
        if k == 1:
            return w.sum() * 0.0
        sup = self.relaxed_support.reshape(-1, k, k)  # pairs of positions where the basis lives
        zero = w.new_zeros(())
        dm = torch.where(sup[:, 1:, :] & sup[:, :-1, :], (w[..., 1:, :] - w[..., :-1, :]).abs(), zero)
        dn = torch.where(sup[:, :, 1:] & sup[:, :, :-1], (w[..., :, 1:] - w[..., :, :-1]).abs(), zero)
        return dm.sum() + dn.sum()
