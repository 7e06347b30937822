"""The SESN-style trunk (Sosnovik et al. 2020; paper Sec. 5 "Equiv" for scaling): a scale lift,
residual scale group convolutions and a scale projection, composed from the strict
scale-equivariant layers of :mod:`aeqkit.nn.sesn` (dilated kernels as the scale action; their exact
properties and the measured approximate scale equivariance of the whole model are documented there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import PathwayTrunk
from aeqkit.nn._common import check_positive_int

# the layers moved to aeqkit.nn.sesn (issue 15: every layer class lives in aeqkit.nn);
# re-exported for old imports
from aeqkit.nn.sesn import (
    ScaleGroupConv2d,
    ScaleLiftConv2d,
    ScaleProjection,
    upsample_blocks,
)

__all__ = ["ScaleLiftConv2d", "ScaleGroupConv2d", "ScaleProjection", "SESNTrunk",
           "upsample_blocks"]


class SESNTrunk(PathwayTrunk):
    """Scale lift, ``num_layers - 2`` residual scale group convs (ReLU), scale projection.

    With ``residual_pathway=True`` (Rpp) every layer also has an unconstrained, bias-free plain
    convolution on the same channels, whose output is added; ``pathway_parameters()`` lists them.

    Shape:
        z: (B, C_in, H, W) -> (B, 2, H, W)
    """

    def __init__(self, in_channels: int, width: int, num_layers: int, kernel_size: int,
                 padding_mode: str = "zeros", num_scales: int = 3, scale_window: int = 2,
                 local_size: tuple[int, int] | None = None,
                 residual_pathway: bool = False) -> None:
        super().__init__()
        s = check_positive_int(num_scales, "num_scales")
        self.width = width
        self.lift = ScaleLiftConv2d(in_channels, width, kernel_size, s, padding_mode, local_size)
        self.hidden = nn.ModuleList(
            ScaleGroupConv2d(width, width, kernel_size, s, scale_window, padding_mode, local_size)
            for _ in range(num_layers - 2))
        self.project = ScaleProjection(width, 2, s, local_size)
        self._build_pathway(in_channels, width * s, num_layers, kernel_size, padding_mode,
                            residual_pathway)

    def _layer(self, i: int, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._with_pathway(i, module(x), x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self._layer(0, self.lift, z))
        for i, layer in enumerate(self.hidden, start=1):
            y = y + F.relu(self._layer(i, layer, y))
        return self._layer(len(self.hidden) + 1, self.project, y)
