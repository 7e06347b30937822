"""Plain (non-relaxed) layers the model zoo composes: 'same'-padded convolutions, a
coordinate-aware convolution, and the grid-size validator.

Shape convention: ``(B, C, H, W)`` with the row axis pointing up (DESIGN.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.nn._common import check_kernel_size, check_padding_mode

__all__ = ["PlainConv2d", "CoordConv2d", "pad2d", "coordinate_channels", "check_input_size"]


def check_input_size(input_size: object) -> tuple[int, int]:
    """``(H, W)`` as a pair of positive ints (an int ``n`` means ``(n, n)``), else ValueError."""
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        input_size = (input_size, input_size)
    if (
        not isinstance(input_size, (tuple, list))
        or len(input_size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in input_size)
    ):
        raise ValueError(f"input_size must be a pair (H, W) of positive ints, got {input_size!r}")
    return int(input_size[0]), int(input_size[1])


def pad2d(x: torch.Tensor, pad: int, padding_mode: str) -> torch.Tensor:
    """Pad the last two axes by ``pad`` on every side in ``padding_mode`` (as ``nn.Conv2d`` pads:
    ``"zeros"``, ``"circular"``, ``"reflect"``, ``"replicate"``).

    Shape:
        x: (B, C, H, W) -> (B, C, H + 2 pad, W + 2 pad)
    """
    if pad == 0:
        return x
    mode = "constant" if padding_mode == "zeros" else padding_mode
    return F.pad(x, (pad, pad, pad, pad), mode=mode)


class PlainConv2d(nn.Conv2d):
    """``nn.Conv2d`` with 'same' padding (any mode of ``nn.Conv2d``) and an optional dilation.

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H, W)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        padding_mode: str = "zeros",
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        check_kernel_size(kernel_size)
        self.same_pad = dilation * (kernel_size // 2)
        self.pad_mode = check_padding_mode(padding_mode)
        super().__init__(in_channels, out_channels, kernel_size, padding=0, dilation=dilation,
                         bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(pad2d(x, self.same_pad, self.pad_mode))


def coordinate_channels(x: torch.Tensor) -> torch.Tensor:
    """Two channels holding the normalised pixel coordinates ``(x, y)`` in ``[-1, 1]``.

    Shape:
        x: (B, C, H, W) -> (B, 2, H, W)
    """
    b, _, h, w = x.shape
    ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y]).expand(b, 2, h, w)


class CoordConv2d(nn.Module):
    """A convolution that also sees the pixel coordinates, so it is *not* translation equivariant.

    Works for any input size (coordinates are normalised to ``[-1, 1]``). Used as the
    non-equivariant layer of the translation Combo and Lift models (paper Sec. 3.4).

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        self.conv = PlainConv2d(in_channels + 2, out_channels, kernel_size, padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x, coordinate_channels(x)], dim=1))
