"""Shared pieces of the forecaster zoo: the :class:`Forecaster` base class and plain layers.

Every forecaster maps 10 input frames of a 2-channel velocity field to the next frame,
``(B, 10, 2, H, W) -> (B, 2, H, W)`` (DESIGN.md, "Forecasters"; paper Sec. 5). Frames are stacked
on the channel axis as ``(B, 20, H, W)`` with channel ``2 t + c`` (10 consecutive ``(u, v)``
vector fields), and the network predicts the increment added to the last input frame, which is
itself a vector field, so the skip keeps whatever equivariance the network has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Forecaster",
    "PADDING_MODES",
    "PlainConv2d",
    "CoordConv2d",
    "pad2d",
    "check_int",
    "check_odd_kernel",
    "check_padding_mode",
    "coordinate_channels",
    "check_input_size",
]

PADDING_MODES = ("zeros", "circular")


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as an int, else ValueError naming the expected range."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_odd_kernel(kernel_size: object) -> int:
    """Odd positive kernel size (an even kernel has no centre and cannot rotate exactly)."""
    k = check_int(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (1, 3, 5, ...), got {k}")
    return k


def check_padding_mode(padding_mode: object) -> str:
    """One of :data:`PADDING_MODES`."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    return str(padding_mode)


def check_input_size(input_size: object) -> tuple[int, int]:
    """``(H, W)`` as a pair of positive ints (an int ``n`` means ``(n, n)``)."""
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
    """Pad the last two axes by ``pad`` on every side, with zeros or circularly.

    Shape:
        x: (B, C, H, W) -> (B, C, H + 2 pad, W + 2 pad)
    """
    if pad == 0:
        return x
    mode = "constant" if padding_mode == "zeros" else "circular"
    return F.pad(x, (pad, pad, pad, pad), mode=mode)


class PlainConv2d(nn.Conv2d):
    """``nn.Conv2d`` with 'same' padding (zeros or circular) and an optional dilation.

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
        check_odd_kernel(kernel_size)
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


class Forecaster(nn.Module):
    """Base class: input validation, frame stacking, the last-frame skip and ``extra_loss``.

    Subclasses implement ``_predict(z)`` on the stacked frames ``z: (B, 2 T, H, W)`` returning the
    increment ``(B, 2, H, W)``; ``forward`` returns ``x[:, -1] + increment``.

    Attributes:
        input_frames: number of input frames T (10 in the paper).
        symmetry: ``"rotation"``, ``"translation"``, ``"scaling"`` or ``None``.
        alpha: weight of :meth:`extra_loss`.
        input_size: the ``(H, W)`` the model was built for where it needs one, else ``None``.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name: str = "forecaster"

    def __init__(self, input_frames: int = 10, symmetry: str | None = None, alpha: float = 0.0,
                 input_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.input_frames = check_int(input_frames, "input_frames")
        self.symmetry = symmetry
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        self.alpha = float(alpha)
        self.input_size = input_size

    @property
    def in_channels(self) -> int:
        """Stacked input channels ``2 T``."""
        return 2 * self.input_frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != self.input_frames or x.shape[2] != 2:
            raise ValueError(
                f"expected input of shape (B, {self.input_frames}, 2, H, W), got {tuple(x.shape)}"
            )
        if self.input_size is not None and tuple(x.shape[-2:]) != tuple(self.input_size):
            raise ValueError(
                f"{type(self).__name__} was built for input_size={tuple(self.input_size)} (H, W), "
                f"got {tuple(x.shape[-2:])}: build it with input_size=(H, W)"
            )
        b, t, c, h, w = x.shape
        z = x.reshape(b, t * c, h, w)
        return x[:, -1] + self._predict(z)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _zero(self) -> torch.Tensor:
        p = next(self.parameters())
        return torch.zeros((), dtype=p.dtype, device=p.device)

    def extra_loss(self) -> torch.Tensor:
        """Extra training loss (prior / hinge / Sec. 3.3 penalty), already scaled by ``alpha``.

        0 for models without one. Never squared for the Sec. 3.3 regularisers.
        """
        return self._zero()
