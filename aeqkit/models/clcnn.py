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

import math

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.models.base import (
    Forecaster,
    check_input_size,
    check_int,
    check_odd_kernel,
    check_padding_mode,
    pad2d,
)
from aeqkit.models.registry import register_model

__all__ = ["LocallyConnected2d", "CLCNN", "rep_matrix"]


def rep_matrix(blocks: tuple[str, ...], k: int, group_order: int = 4) -> torch.Tensor:
    """Matrix of the rotation by ``k`` steps of C_N on channels typed by ``blocks``.

    ``"scalar"``: 1; ``"vector"``: ``R(2 pi k / N)``; ``"regular"``: the roll by ``+k``
    (``out[i] = in[i - k]``, DESIGN.md).

    Shape:
        out: (C, C), float64
    """
    mats = []
    n = group_order
    for b in blocks:
        if b == "scalar":
            mats.append(torch.ones(1, 1, dtype=torch.float64))
        elif b == "vector":
            t = 2 * math.pi * k / n
            c, s = round(math.cos(t), 15), round(math.sin(t), 15)
            mats.append(torch.tensor([[c, -s], [s, c]], dtype=torch.float64))
        elif b == "regular":
            p = torch.zeros(n, n, dtype=torch.float64)
            idx = torch.arange(n)
            p[idx, (idx - k) % n] = 1.0
            mats.append(p)
        else:
            raise ValueError(f"block must be 'scalar', 'vector' or 'regular', got {b!r}")
    return torch.block_diag(*mats)


class LocallyConnected2d(nn.Module):
    """Unshared convolution: one ``(C_out, C_in, k, k)`` kernel and bias per output pixel.

    Implemented with ``F.unfold`` and one einsum. ``dilation`` spreads the kernel taps (used by the
    SESN-structured scaling CLCNN).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: odd kernel size.
        input_size: ``(H, W)``; the layer only accepts that grid.
        padding_mode: ``"zeros"`` or ``"circular"`` ('same' padding).
        dilation: spacing of the kernel taps.

    Attributes:
        weight: (H, W, C_out, C_in, k, k), ``Phi(x, y)``.
        bias: (H, W, C_out).

    Shape:
        x: (B, C_in, H, W) -> (B, C_out, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 input_size: tuple[int, int], padding_mode: str = "zeros", dilation: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels")
        self.out_channels = check_int(out_channels, "out_channels")
        self.kernel_size = check_odd_kernel(kernel_size)
        self.input_size = check_input_size(input_size)
        self.padding_mode = check_padding_mode(padding_mode)
        self.dilation = check_int(dilation, "dilation")
        h, w = self.input_size
        k = self.kernel_size
        bound = 1.0 / math.sqrt(in_channels * k * k)
        kernel = torch.empty(out_channels, in_channels, k, k).uniform_(-bound, bound)
        self.weight = nn.Parameter(kernel.expand(h, w, -1, -1, -1, -1).clone())
        self.bias = nn.Parameter(torch.zeros(h, w, out_channels)) if bias else None
        # taps that read the zero padding (x + d*y outside the grid) multiply zeros: they never get a
        # data gradient, so they are held at zero and left out of the hinge
        self.register_buffer("tap_support", self._tap_support(), persistent=False)
        with torch.no_grad():
            self.weight.mul_(self._support_mask(self.weight))

    def _tap_support(self) -> torch.Tensor:
        """Bool ``(H, W, k, k)``: tap ``y`` of the kernel at ``x`` reads a grid cell (not padding)."""
        h, w = self.input_size
        k, d = self.kernel_size, self.dilation
        if self.padding_mode != "zeros":
            return torch.ones(h, w, k, k, dtype=torch.bool)
        off = (torch.arange(k) - k // 2) * d
        rows = (torch.arange(h)[:, None] + off[None, :] >= 0) & (torch.arange(h)[:, None] + off[None, :] < h)
        cols = (torch.arange(w)[:, None] + off[None, :] >= 0) & (torch.arange(w)[:, None] + off[None, :] < w)
        return rows[:, None, :, None] & cols[None, :, None, :]

    def _support_mask(self, weight: torch.Tensor) -> torch.Tensor:
        return self.tap_support[:, :, None, None].to(weight.dtype)

    def forward(self, x: torch.Tensor, dilation: int | None = None) -> torch.Tensor:
        h, w = self.input_size
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != (h, w):
            raise ValueError(f"LocallyConnected2d expected (B, {self.in_channels}, {h}, {w}), "
                             f"got {tuple(x.shape)}")
        k = self.kernel_size
        d = self.dilation if dilation is None else dilation
        cols = F.unfold(pad2d(x, d * (k // 2), self.padding_mode), k, dilation=d)
        wmat = self.weight.reshape(h * w, self.out_channels, self.in_channels * k * k)
        out = torch.einsum("bjp,poj->bop", cols, wmat).reshape(x.shape[0], -1, h, w)
        if self.bias is not None:
            out = out + self.bias.permute(2, 0, 1)
        return out

    def transformed(self, k: int, rho_out: torch.Tensor, rho_in: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``rho_out Phi(g^{-1} x, g^{-1} y) rho_in^{-1}`` for the rotation ``g`` by ``k`` x 90 deg.

        Shape:
            out: weight (H', W', C_out, C_in, k, k), bias (H', W', C_out)
        """
        w = torch.rot90(self.weight, k, dims=(-1, -2))        # kernel offsets y
        w = torch.rot90(w, k, dims=(1, 0))                    # positions x
        ro = rho_out.to(device=w.device, dtype=w.dtype)
        ri = rho_in.to(device=w.device, dtype=w.dtype)
        w = torch.einsum("ab,hwbcpq,dc->hwadpq", ro, w, ri)    # rho_in^{-1} = rho_in^T
        b = None
        if self.bias is not None:
            b = torch.einsum("ab,hwb->hwa", ro, torch.rot90(self.bias, k, dims=(1, 0)))
        return w, b

    def symmetrize_(self, symmetry: str, in_blocks: tuple[str, ...] = (),
                    out_blocks: tuple[str, ...] = ()) -> None:
        """Project the weights onto the constraint set (average over the group orbit)."""
        with torch.no_grad():
            if symmetry == "rotation":
                ks = _rotation_steps(self.input_size)
                ws, bs = [], []
                for k in ks:
                    w, b = self.transformed(k, rep_matrix(out_blocks, k), rep_matrix(in_blocks, k))
                    ws.append(w)
                    bs.append(b)
                self.weight.copy_(torch.stack(ws).mean(0))
                if self.bias is not None:
                    self.bias.copy_(torch.stack(bs).mean(0))
            else:
                self.weight.copy_(self.weight.mean(dim=(0, 1), keepdim=True).expand_as(self.weight))
                if self.bias is not None:
                    self.bias.copy_(self.bias.mean(dim=(0, 1), keepdim=True).expand_as(self.bias))
            # dead taps (padding) back to zero: the grid's rotations map them to dead taps, so the
            # rotation hinge stays 0; the translation hinge skips them
            self.weight.mul_(self._support_mask(self.weight))

    def hinge(self, symmetry: str, in_blocks: tuple[str, ...] = (),
              out_blocks: tuple[str, ...] = ()) -> torch.Tensor:
        """Unscaled hinge ``sum_h ||T_h Phi - Phi||`` (Frobenius norm, not squared; Sec. 3.4)."""
        terms = []
        if symmetry == "rotation":
            for k in _rotation_steps(self.input_size)[1:]:
                w, b = self.transformed(k, rep_matrix(out_blocks, k), rep_matrix(in_blocks, k))
                diff = (w - self.weight).pow(2).sum()
                if self.bias is not None:
                    diff = diff + (b - self.bias).pow(2).sum()
                terms.append(_safe_sqrt(diff))
        else:
            sup = self.tap_support[:, :, None, None]
            for dims in (0, 1):
                both = sup & torch.roll(sup, 1, dims=dims)  # pairs of live taps only
                diff = torch.where(both, torch.roll(self.weight, 1, dims=dims) - self.weight,
                                   self.weight.new_zeros(())).pow(2).sum()
                if self.bias is not None:
                    diff = diff + (torch.roll(self.bias, 1, dims=dims) - self.bias).pow(2).sum()
                terms.append(_safe_sqrt(diff))
        return torch.stack(terms).sum()

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"input_size={self.input_size}, dilation={self.dilation}")


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a finite (zero) gradient at 0, so the hinge can be trained from its minimum."""
    safe = torch.where(x > 0, x, torch.ones_like(x))
    return torch.where(x > 0, safe.sqrt(), torch.zeros_like(x))


def _rotation_steps(size: tuple[int, int]) -> list[int]:
    """Rotations (in 90-degree steps) mapping the grid onto itself: C4 if square, else C2."""
    return [0, 1, 2, 3] if size[0] == size[1] else [0, 2]


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
        width = check_int(width, "width")
        num_layers = check_int(num_layers, "num_layers", minimum=2)
        k = check_odd_kernel(kernel_size)
        padding_mode = check_padding_mode(padding_mode)
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
            from aeqkit.models.sesn import SESNTrunk

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
