"""Non-equivariant and translation-symmetry forecasters: MLP, ConvNet, and the translation
versions of Rpp, Combo and Lift (paper Sec. 3.4 and 5, Tables 1-2).

For translation, the strict equivariant model *is* the ConvNet (a CNN is a group convolution over
the translation group), exactly equivariant to cyclic shifts with ``padding_mode="circular"``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import (
    CoordConv2d,
    Forecaster,
    PlainConv2d,
    check_input_size,
    check_int,
    check_odd_kernel,
    check_padding_mode,
)

__all__ = ["MLPForecaster", "ConvForecaster", "RppTranslation", "ComboTranslation",
           "LiftTranslation", "ConvTrunk"]


class MLPForecaster(Forecaster):
    """Multi-layer perceptron on the flattened field (paper baseline "MLP").

    Linear ``2 T H W -> width``, ``num_layers - 2`` residual ``width -> width`` ReLU layers, linear
    ``width -> 2 H W``. Needs the grid size at build time (``input_size=(H, W)``). No symmetry.
    Parameters at 64x64, width 64, 4 layers: 5,783,744.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W), with (H, W) == input_size
    """

    name = "mlp"

    def __init__(self, input_size: tuple[int, int] = (64, 64), width: int | None = 64,
                 num_layers: int = 4, input_frames: int = 10, alpha: float = 0.0) -> None:
        size = check_input_size(input_size)
        super().__init__(input_frames, None, alpha, input_size=size)
        width = check_int(64 if width is None else width, "width")
        num_layers = check_int(num_layers, "num_layers", minimum=2)
        npix = size[0] * size[1]
        self.encoder = nn.Linear(self.in_channels * npix, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(num_layers - 2))
        self.decoder = nn.Linear(width, 2 * npix)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        b, _, h, w = z.shape
        y = F.relu(self.encoder(z.reshape(b, -1)))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y).reshape(b, 2, h, w)


class ConvTrunk(nn.Module):
    """Encoder conv, ``num_layers - 2`` residual ReLU conv layers, decoder conv to 2 channels.

    Shape:
        z: (B, C_in, H, W) -> (B, 2, H, W)
    """

    def __init__(self, in_channels: int, width: int, num_layers: int, kernel_size: int,
                 padding_mode: str) -> None:
        super().__init__()
        self.encoder = PlainConv2d(in_channels, width, kernel_size, padding_mode)
        self.hidden = nn.ModuleList(
            PlainConv2d(width, width, kernel_size, padding_mode) for _ in range(num_layers - 2)
        )
        self.decoder = PlainConv2d(width, 2, kernel_size, padding_mode)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.encoder(z))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y)


def _conv_args(width: object, num_layers: object, kernel_size: object,
               padding_mode: object) -> tuple[int, int, int, str]:
    width = 64 if width is None else width
    return (check_int(width, "width"), check_int(num_layers, "num_layers", minimum=2),
            check_odd_kernel(kernel_size), check_padding_mode(padding_mode))


class ConvForecaster(Forecaster):
    """Residual ConvNet (paper baseline "Conv"; the strict translation-equivariant model).

    Exactly equivariant to cyclic shifts with ``padding_mode="circular"``; not rotation
    equivariant (unconstrained kernels). Parameters (any grid), width 64, 5 layers, 5x5 kernels:
    342,658.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "conv"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", input_frames: int = 10, alpha: float = 0.0,
                 symmetry: str | None = None) -> None:
        super().__init__(input_frames, symmetry, alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        self.trunk = ConvTrunk(self.in_channels, width, num_layers, kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.trunk(z)


class RppTranslation(Forecaster):
    """Residual Pathway Prior for translation (Finzi et al. 2021b; paper Sec. 5 "Rpp").

    Sum of a ConvNet (the translation-equivariant pathway) and an MLP (the unconstrained
    pathway). :meth:`extra_loss` is the Gaussian prior ``alpha * sum ||W_mlp||^2`` on the
    unconstrained pathway only, pulling the model towards the equivariant one. The MLP makes it
    grid-size specific (``input_size``). Parameters at 64x64 (conv width 64, 5 layers; MLP width
    32, 3 layers): 3,235,522.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W), with (H, W) == input_size
    """

    name = "rpp"

    def __init__(self, input_size: tuple[int, int] = (64, 64), width: int | None = 64,
                 num_layers: int = 5, kernel_size: int = 5, padding_mode: str = "zeros",
                 mlp_width: int = 32, mlp_layers: int = 3, input_frames: int = 10,
                 alpha: float = 1e-4) -> None:
        size = check_input_size(input_size)
        super().__init__(input_frames, "translation", alpha, input_size=size)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        self.equivariant = ConvTrunk(self.in_channels, width, num_layers, kernel_size,
                                     padding_mode)
        self.residual = MLPForecaster(size, mlp_width, mlp_layers, input_frames)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.equivariant(z) + self.residual._predict(z)

    def extra_loss(self) -> torch.Tensor:
        penalty = sum(p.pow(2).sum() for p in self.residual.parameters())
        return self.alpha * penalty


class ComboTranslation(Forecaster):
    """Non-equivariant layers followed by equivariant ones, for translation (paper Sec. 3.4).

    The first ``num_nonequivariant`` layers are :class:`~aeqkit.models.base.CoordConv2d` (they see
    pixel coordinates, breaking translation symmetry, at any grid size); the rest is a ConvNet.
    Parameters, width 64, 5 layers, 1 non-equivariant layer: 345,858.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "combo"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", num_nonequivariant: int = 1,
                 input_frames: int = 10, alpha: float = 0.0) -> None:
        super().__init__(input_frames, "translation", alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        n_ne = check_int(num_nonequivariant, "num_nonequivariant")
        if n_ne > num_layers - 1:
            raise ValueError(
                f"num_nonequivariant must be between 1 and num_layers - 1 = {num_layers - 1}, "
                f"got {n_ne}")
        layers = [CoordConv2d(self.in_channels, width, kernel_size, padding_mode)]
        layers += [CoordConv2d(width, width, kernel_size, padding_mode) for _ in range(n_ne - 1)]
        self.nonequivariant = nn.ModuleList(layers)
        self.hidden = nn.ModuleList(PlainConv2d(width, width, kernel_size, padding_mode)
                                    for _ in range(num_layers - 1 - n_ne))
        self.decoder = PlainConv2d(width, 2, kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.nonequivariant[0](z))
        for layer in self.nonequivariant[1:]:
            y = y + F.relu(layer(y))
        for layer in self.hidden:
            y = y + F.relu(layer(y))
        return self.decoder(y)


class LiftTranslation(Forecaster):
    """Lift expansion for translation (Wang et al. 2021; paper Sec. 3.4 "Lift").

    A non-equivariant encoder (a :class:`~aeqkit.models.base.CoordConv2d`, position aware, any
    grid size) computes ``lift_channels`` extra channels that enter the ConvNet backbone next to
    the raw input; the backbone sees the same input as the encoder. Parameters, width 64,
    5 layers, 8 lift channels: 359,866.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "lift"

    def __init__(self, width: int | None = 64, num_layers: int = 5, kernel_size: int = 5,
                 padding_mode: str = "zeros", lift_channels: int = 8, input_frames: int = 10,
                 alpha: float = 0.0) -> None:
        super().__init__(input_frames, "translation", alpha)
        width, num_layers, kernel_size, padding_mode = _conv_args(
            width, num_layers, kernel_size, padding_mode)
        lift_channels = check_int(lift_channels, "lift_channels")
        self.encoder = CoordConv2d(self.in_channels, lift_channels, kernel_size, padding_mode)
        self.backbone = ConvTrunk(self.in_channels + lift_channels, width, num_layers,
                                  kernel_size, padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(torch.cat([z, F.relu(self.encoder(z))], dim=1))
