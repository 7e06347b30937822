"""Constrained locally connected networks (CLCNN, paper Sec. 3.4).

A locally connected layer has the locality of a convolution but a separate kernel at every output
position, ``out(x) = sum_y Phi(x, y) in(x + y) + b(x)`` (Wadekar 2019), so it has no built-in
symmetry. CLCNN adds the kernel constraint of Eq. 3, extended to the position argument, as a hinge
loss (Sec. 3.4), unsquared:

    L_hinge = alpha * sum_h || rho_out(h) Phi(h^{-1} x, h^{-1} y) rho_in(h)^{-1} - Phi(x, y) ||

summed over layers, with ``h`` running over the generators/elements that the grid supports
exactly: the three non-trivial 90-degree rotations for ``symmetry="rotation"`` on square grids
(only 180 degrees on non-square ones), and the two unit cyclic shifts for
``symmetry="translation"`` and ``"scaling"`` (which make every position's kernel equal, i.e. a
convolution; the scale structure of the scaling CLCNN is built in, SESN-style, see
:mod:`aeqkit.models.sesn`). Kernels start at their symmetric projection (the group average), so
a CLCNN is exactly equivariant at initialisation and the hinge starts at 0.

Parameter counts at 64x64 (defaults: 3 layers, 3x3 kernels; width 2 regular C4 fields = 8
channels for rotation, 8 channels for translation, 6 channels per scale for scaling):
rotation 8,912,896; translation 8,912,896; scaling 7,127,040 (they scale with H*W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import Forecaster
from aeqkit.models.registry import register_model
from aeqkit.models.sesn import SESNTrunk
from aeqkit.nn._common import (
    MODEL_PADDING_MODES,
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
)
from aeqkit.nn.basic import check_input_size

# the layers moved to aeqkit.nn.local (issue 15); re-exported for old imports
from aeqkit.nn.local import LocallyConnected2d, rep_matrix

__all__ = ["LocallyConnected2d", "CLCNN", "rep_matrix"]


@register_model("clcnn", symmetries=("rotation", "translation", "scaling"), display_name="CLCNN",
                kind="unconstrained")
class CLCNN(Forecaster):
    """CLCNN forecaster: locally connected layers + the Sec. 3.4 hinge loss (``extra_loss``).

    ``symmetry="rotation"``: LC layers typed 10 vectors -> ``width`` regular C4 fields ->
    ... -> 1 vector, ReLU (pointwise on regular fields), rotation hinge. ``"translation"``: plain
    channels, translation hinge. ``"scaling"``: SESN-structured (dilations 1, 2, 4 with weights
    shared across scales, scale max-pool, bias-free) LC layers with the translation hinge, i.e.
    at zero hinge it is exactly the strict SESN-style model. Needs ``input_size``.

    ``width`` counts regular C4 fields (rotation, default 2), channels (translation, default 8)
    or channels per scale (scaling, default 6). Parameter counts grow with ``H W``; see the module
    docstring for 64x64 (below 10^7; the weights take about 36 MB). A configuration above
    ``max_parameters`` (default 10^7, the paper's budget, App. A.1) raises ValueError before any
    allocation: locally connected layers are huge, reduce ``width``, ``num_layers`` or
    ``kernel_size``.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W), with (H, W) == input_size
    """

    name = "clcnn"

    def __init__(self, symmetry: str = "rotation", input_size: tuple[int, int] = (64, 64),
                 width: int | None = None, num_layers: int = 3, kernel_size: int = 3,
                 padding_mode: str = "zeros", num_scales: int = 3, input_frames: int = 10,
                 alpha: float = 1e-4, symmetric_init: bool = True,
                 max_parameters: int | None = 10**7) -> None:
        size = check_input_size(input_size)
        super().__init__(input_frames, symmetry, alpha, input_size=size)
        if symmetry not in ("rotation", "translation", "scaling"):
            raise ValueError(f"CLCNN symmetry must be 'rotation', 'translation' or 'scaling', "
                             f"got {symmetry!r}")
        if width is None:
            width = {"rotation": 2, "translation": 8, "scaling": 6}[symmetry]
        width = check_positive_int(width, "width")
        num_layers = check_positive_int(num_layers, "num_layers", minimum=2)
        k = check_kernel_size(kernel_size)
        padding_mode = check_padding_mode(padding_mode, MODEL_PADDING_MODES)
        t = input_frames
        if symmetry == "rotation":
            hid = ("regular",) * width
            types = [("vector",) * t] + [hid] * (num_layers - 1) + [("vector",)]
            sizes = [2 * t] + [4 * width] * (num_layers - 1) + [2]
        else:
            types = [()] * (num_layers + 1)
            sizes = [2 * t] + [width] * (num_layers - 1) + [2]
        self.layer_types = types
        npix = size[0] * size[1]
        if symmetry == "scaling":
            window = min(2, num_scales)
            count = npix * (k * k * width * (2 * t + (num_layers - 2) * window * width) + 2 * width)
        else:
            count = npix * sum(sizes[i] * sizes[i + 1] * k * k + (sizes[i + 1] if i < num_layers - 1
                                                                   else 0)
                               for i in range(num_layers))
        if max_parameters is not None and count > max_parameters:
            raise ValueError(
                f"this CLCNN would have {count:,} parameters on a {size[0]}x{size[1]} grid, above "
                f"max_parameters={max_parameters:,} (the paper keeps every model below 10^7); "
                f"expected a smaller width (got {width}), num_layers (got {num_layers}) or "
                f"kernel_size (got {k}), or max_parameters=None")
        self.expected_parameters = count
        if symmetry == "scaling":
            self.trunk = SESNTrunk(2 * t, width, num_layers, k, padding_mode, num_scales,
                                   local_size=size)
            self.layers = nn.ModuleList(
                m for m in self.trunk.modules() if isinstance(m, LocallyConnected2d))
        else:
            self.layers = nn.ModuleList(
                LocallyConnected2d(sizes[i], sizes[i + 1], k, size, padding_mode,
                                   bias=i < num_layers - 1)
                for i in range(num_layers)
            )
        if symmetric_init:
            self.symmetrize_()

    def _sym_args(self, i: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        if self.symmetry == "rotation":
            return "rotation", self.layer_types[i], self.layer_types[i + 1]
        return "translation", (), ()

    def symmetrize_(self) -> None:
        """Project every layer onto its constraint set (the hinge becomes 0)."""
        for i, layer in enumerate(self.layers):
            layer.symmetrize_(*self._sym_args(i))

    def hinge(self) -> torch.Tensor:
        """Unscaled hinge loss summed over layers."""
        return torch.stack([layer.hinge(*self._sym_args(i))
                            for i, layer in enumerate(self.layers)]).sum()

    def extra_loss(self) -> torch.Tensor:
        return self.alpha * self.hinge()

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        if self.symmetry == "scaling":
            return self.trunk(z)
        y = F.relu(self.layers[0](z))
        for layer in self.layers[1:-1]:
            y = y + F.relu(layer(y))
        return self.layers[-1](y)
