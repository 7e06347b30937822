"""Strict scale-equivariant layers, SESN-style (Sosnovik et al. 2020; paper Sec. 5 "Equiv" for
scaling), with dilated kernels as the scale action; composed by
:class:`aeqkit.models.sesn.SESNTrunk`.

A lifting layer applies one kernel ``W`` at ``S`` scales by dilating it by ``2^s``
(``out[s] = W_{2^s} * x``); a scale group convolution mixes a window of neighbouring scales,
``out[s] = sum_j W_{j, 2^s} * in[s + j]``; the projection max-pools over scales. Scale features are
stored as ``(B, C * S, H, W)`` with the scale axis innermost, like regular group features.

Exact property (tested): for the block-replicating upsampling ``U`` (each pixel -> 2x2 block),
``W_{2d} * (U x) = U (W_d * x)`` with zero or circular 'same' padding, so the lifting layer
satisfies ``lift(U x)[s] = U lift(x)[s - 1]`` for ``s >= 1`` and a scale group convolution
satisfies ``out(U in)[s] = U out(in)[s - 1]`` whenever the whole scale window fits
(``s - 1 + window <= S``). The layers have no bias, so with ReLU the model is positively
homogeneous (``f(l x) = l f(x)`` for ``l > 0``, the velocity factor of the Navier-Stokes scaling).
The finite scale range makes the whole model only approximately scale equivariant (as SESN):
every layer is exact (``layer_equivariance_report`` with the declared ``"scale"`` field types, a
factor 2 on an odd grid: 0 to rounding), but a scaling shifts the scale axis, so the top scale
leaves and a new bottom scale enters, and the max over scales in :class:`ScaleProjection` sees
different sets of scales. Measured (random weights N(0, 0.3), width 8, 3 layers, smooth 65x65
windows, relative error of the increment in the interior, 16 cells from the edge, 3 seeds): SESN
0.19-0.50 (factor 0.5) and 0.30-0.79 (factor 2), a plain ConvNet 0.29-1.43 and 0.52-4.2. No
finite-scale pooling makes it exact; more scales than the data's scale content shrink the effect.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.nn._common import check_kernel_size, check_padding_mode, check_positive_int, pad_conv2d
from aeqkit.nn.local import LocallyConnected2d
from aeqkit.nn.scale import lifted_input_type, scale_feature_type

__all__ = ["ScaleLiftConv2d", "ScaleGroupConv2d", "ScaleProjection", "upsample_blocks"]


def _exact_groups(padding_mode: str, local_size: tuple[int, int] | None, scaling: bool = True
                  ) -> tuple[str, ...]:
    """Groups a (shared-kernel) scale layer is exactly equivariant to; none for locally connected."""
    if local_size is not None:
        return ()
    return (("scaling",) if scaling else ()) + (("translation",) if padding_mode == "circular" else ())


def upsample_blocks(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor (each pixel becomes a block).

    Shape:
        x: (..., H, W) -> (..., factor H, factor W)
    """
    return x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


class _DilatedKernel(nn.Module):
    """One kernel applied at several dilations, shared (conv) or per position (locally connected)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding_mode: str,
                 local_size: tuple[int, int] | None) -> None:
        super().__init__()
        self.kernel_size = check_kernel_size(kernel_size)
        self.padding_mode = check_padding_mode(padding_mode)
        if local_size is None:
            bound = 1.0 / math.sqrt(in_channels * kernel_size**2)
            self.weight = nn.Parameter(
                torch.empty(out_channels, in_channels, kernel_size, kernel_size).uniform_(-bound,
                                                                                           bound))
            self.local = None
        else:
            self.local = LocallyConnected2d(in_channels, out_channels, kernel_size, local_size,
                                            padding_mode, bias=False)

    def forward(self, x: torch.Tensor, dilation: int) -> torch.Tensor:
        if self.local is not None:
            return self.local(x, dilation=dilation)
        pad = dilation * (self.kernel_size // 2)
        return pad_conv2d(x, self.weight, None, pad, self.padding_mode, dilation=dilation)


class ScaleLiftConv2d(nn.Module):
    """Lift plain channels to scale features: ``out[:, c, s] = (W dilated by 2^s) * x``.

    Args:
        in_channels, out_channels: channel counts (out_channels fields of S scales each).
        kernel_size: odd base kernel size.
        num_scales: S (dilations 1, 2, ..., 2^(S-1)).
        padding_mode: ``"zeros"`` or ``"circular"``.
        local_size: ``(H, W)`` for a locally connected version (CLCNN), else ``None``.

    Shape:
        x: (B, C_in, H, W) -> (B, C_out * S, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, num_scales: int = 3,
                 padding_mode: str = "zeros", local_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.kernel = _DilatedKernel(in_channels, out_channels, kernel_size, padding_mode,
                                     local_size)
        #: field types for ``aeqkit.equivariance.layer_equivariance_report`` (scale axis: factor 2)
        self.in_field_type = lifted_input_type(in_channels)
        self.out_field_type = scale_feature_type(out_channels, self.num_scales, 2.0, self.in_field_type)
        self.exact_groups = _exact_groups(padding_mode, local_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [self.kernel(x, 2**s) for s in range(self.num_scales)]
        return torch.stack(outs, dim=2).flatten(1, 2)


class ScaleGroupConv2d(nn.Module):
    """Scale group convolution: ``out[s] = sum_{j < window, s + j < S} W_j(2^s) * in[s + j]``.

    Shape:
        x: (B, C_in * S, H, W) -> (B, C_out * S, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, num_scales: int = 3,
                 scale_window: int = 2, padding_mode: str = "zeros",
                 local_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.scale_window = check_positive_int(scale_window, "scale_window")
        self.kernel = _DilatedKernel(in_channels * self.scale_window, out_channels, kernel_size,
                                     padding_mode, local_size)
        self.in_field_type = scale_feature_type(self.in_channels, self.num_scales, 2.0)
        self.out_field_type = scale_feature_type(out_channels, self.num_scales, 2.0)
        self.exact_groups = _exact_groups(padding_mode, local_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s_count, win = self.num_scales, self.scale_window
        b, _, h, w = x.shape
        feats = x.reshape(b, self.in_channels, s_count, h, w)
        # zero scales above the top one: the window is truncated, not wrapped
        feats = F.pad(feats, (0, 0, 0, 0, 0, win - 1))
        outs = []
        for s in range(s_count):
            window = feats[:, :, s : s + win].transpose(1, 2).reshape(b, win * self.in_channels,
                                                                       h, w)
            outs.append(self.kernel(window, 2**s))
        return torch.stack(outs, dim=2).flatten(1, 2)


class ScaleProjection(nn.Module):
    """Max-pool over scales, then a bias-free 1x1 map to ``out_channels`` (plain channels).

    Shape:
        x: (B, C_in * S, H, W) -> (B, C_out, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, num_scales: int,
                 local_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_scales = num_scales
        self.kernel = _DilatedKernel(in_channels, out_channels, 1, "zeros", local_size)
        self.in_field_type = scale_feature_type(in_channels, num_scales, 2.0)
        self.out_field_type = lifted_input_type(out_channels)
        # the max over a truncated scale axis is not scale equivariant (scales leave and enter)
        self.exact_groups = _exact_groups("circular", local_size, scaling=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        pooled = x.reshape(b, self.in_channels, self.num_scales, h, w).amax(dim=2)
        return self.kernel(pooled, 1)
