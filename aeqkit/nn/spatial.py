"""Relaxed translation by spatial maps (paper Eq. 8): :class:`SpatialRelaxedWeights` ``a_r(x)`` and
:class:`RelaxedTranslationMix`, which wraps any layer into ``sum_r a_r(x) y_r(x)``.

With the low-rank weights ``w_l(x, y) = sum_r a_r(x) b_{r,l}(y)`` of Eq. 8,
``out(x) = sum_r a_r(x) (K_r * f)(x)``, where each ``K_r`` is a (relaxed) convolution with ``R``
times the output channels. RSteerTR / RSteerTS (:mod:`aeqkit.models.relaxed`) compose these.
"""

from __future__ import annotations

import torch
from torch import nn

from aeqkit.nn._common import check_positive_int
from aeqkit.nn.base import RelaxedLayer
from aeqkit.nn.basic import check_input_size

__all__ = ["SpatialRelaxedWeights", "RelaxedTranslationMix"]


class SpatialRelaxedWeights(RelaxedLayer):
    """The spatial maps ``a_r(x)`` of Eq. 8 as a relaxed layer of their own.

    ``relaxed_weights`` (R, H, W) start at ``1/R``; :meth:`equivariance_penalty` is the
    translation form of ``L_gconv`` averaged over the ``(HW)²`` ordered pairs of positions,
    ``sum_r mean_{x, x'} |a_r(x) - a_r(x')|`` (Sec. 3.3, not squared), 0 at initialisation with a
    zero gradient there (``relaxed_start_dim=1``, ``penalty_reduction="mean"`` of
    :class:`~aeqkit.nn.base.RelaxedLayer`). The paper's sum over pairs grows as ``(HW)²`` while the
    data gradient on one ``a_r(x)`` shrinks as ``1/(HW)``, so a fixed ``alpha`` would pin the
    weights at high resolution (gradient ratio penalty/MSE 9.9 at 16x16, 2,370 at 64x64 at
    ``alpha = 1e-4``); the mean keeps that ratio resolution-independent. Being a leaf provider of
    ``equivariance_penalty`` it is counted by ``aeqkit.nn.equivariance_penalty`` next to the
    wrapped layer's own penalty.

    Shape:
        relaxed_weights: (R, H, W)
    """

    relaxed_start_dim = 1
    penalty_reduction = "mean"

    def __init__(self, rank: int, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.rank = check_positive_int(rank, "rank")
        self.input_size = check_input_size(input_size)
        self.init_relaxed_weights((self.rank, *self.input_size), fill=1.0 / self.rank)

    def expanded_weight(self) -> torch.Tensor:
        """The maps ``a_r(x)`` themselves. Shape: (R, H, W)."""
        return self.relaxed_weights

    def extra_repr(self) -> str:
        return f"rank={self.rank}, input_size={self.input_size}"


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
