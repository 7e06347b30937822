"""The LieGAN discriminator: an MLP on the concatenated pair ``(x, y)`` returning a logit.

Trained with ``BCEWithLogitsLoss`` (real pairs labelled 1, transformed pairs 0); see the slides'
"Loss function" ``min_Φ max_D E[log D(x, y) + log(1 - D(Φ(x, y)))]``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LieDiscriminator"]


class LieDiscriminator(nn.Module):
    """MLP ``D(x, y) -> logit``; ``x`` and ``y`` are flattened per sample and concatenated.

    Args:
        in_features: ``x[0].numel() + y[0].numel()``.
        hidden: width of the hidden layers.
        num_layers: number of hidden layers (LeakyReLU(0.2) after each).

    Shape:
        x: (B, ...); y: (B, ...); out: (B,)
    """

    def __init__(self, in_features: int, hidden: int = 128, num_layers: int = 2) -> None:
        super().__init__()
        if in_features < 1 or hidden < 1 or num_layers < 1:
            raise ValueError(
                f"in_features, hidden and num_layers must be >= 1, got {in_features}, {hidden}, "
                f"{num_layers}"
            )
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.in_features = in_features
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        xy = torch.cat([x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)], dim=1)
        if xy.shape[1] != self.in_features:
            raise ValueError(
                f"pair has {xy.shape[1]} features, discriminator expects {self.in_features}"
            )
        return self.model(xy).squeeze(-1)
