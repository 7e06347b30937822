"""The :class:`Forecaster` base class of the zoo (the plain layers live in :mod:`aeqkit.nn.basic`).

Every forecaster maps 10 input frames of a 2-channel velocity field to the next frame,
``(B, 10, 2, H, W) -> (B, 2, H, W)`` (DESIGN.md, "Forecasters"; paper Sec. 5). Frames are stacked
on the channel axis as ``(B, 20, H, W)`` with channel ``2 t + c`` (10 consecutive ``(u, v)``
vector fields), and the network predicts the increment added to the last input frame, which is
itself a vector field, so the skip keeps whatever equivariance the network has.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aeqkit.nn._common import MODEL_PADDING_MODES, check_positive_int

# the plain layers moved to aeqkit.nn.basic (issue 15: every layer class lives in aeqkit.nn);
# re-exported here for old imports
from aeqkit.nn.basic import (  # noqa: F401
    CoordConv2d,
    PlainConv2d,
    check_input_size,
    coordinate_channels,
    pad2d,
)

__all__ = [
    "Forecaster",
    "PADDING_MODES",
    "PlainConv2d",
    "CoordConv2d",
    "pad2d",
    "coordinate_channels",
    "check_input_size",
    "check_alpha",
    "PathwayTrunk",
]

def check_alpha(alpha: object) -> float:
    """``alpha`` (weight of ``extra_loss()``) as a float, ValueError unless a finite number >= 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) \
            or alpha < 0:
        raise ValueError(f"alpha (weight of the equivariance penalty / extra loss) must be a finite "
                         f"number >= 0, got {alpha!r}")
    return float(alpha)


#: Padding modes of the model zoo (``aeqkit.nn._common.MODEL_PADDING_MODES``): zeros or periodic.
PADDING_MODES = MODEL_PADDING_MODES


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
        self.input_frames = check_positive_int(input_frames, "input_frames")
        self.symmetry = symmetry
        self.alpha = check_alpha(alpha)
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


class PathwayTrunk(nn.Module):
    """Base of the trunks with an optional residual pathway (Rpp; Finzi et al. 2021b): every layer
    ``i`` may have an unconstrained, bias-free :class:`~aeqkit.nn.basic.PlainConv2d` on the same
    input, whose output is added (:meth:`_with_pathway`); :meth:`pathway_parameters` lists them
    for the Gaussian prior of ``extra_loss``. Subclasses: ``EscnnTrunk``, ``SESNTrunk``.
    """

    # (no class-level ``pathway = None``: it would shadow the registered submodule)

    def _build_pathway(self, in_channels: int, hidden: int, num_layers: int, kernel_size: int,
                       padding_mode: str, enabled: bool) -> None:
        """``in_channels -> hidden -> ... -> 2`` plain convolutions, ``num_layers`` of them."""
        if not enabled:
            self.pathway = None
            return
        sizes = [in_channels] + [hidden] * (num_layers - 1) + [2]
        self.pathway = nn.ModuleList(
            PlainConv2d(sizes[i], sizes[i + 1], kernel_size, padding_mode, bias=False)
            for i in range(num_layers))

    def _with_pathway(self, i: int, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``y`` (layer ``i``'s output on ``x``) plus the pathway's, if any."""
        return y if self.pathway is None else y + self.pathway[i](x)

    def pathway_parameters(self) -> list[nn.Parameter]:
        """Parameters of the unconstrained pathway (empty unless ``residual_pathway``)."""
        return [] if self.pathway is None else list(self.pathway.parameters())
