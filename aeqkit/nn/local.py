"""Locally connected layers (paper Sec. 3.4, CLCNN): a separate kernel at every output position,
``out(x) = sum_y Phi(x, y) in(x + y) + b(x)`` (Wadekar 2019), with the projection onto the kernel
constraint of Eq. 3 extended to positions (:meth:`LocallyConnected2d.symmetrize_`) and its hinge
(:meth:`LocallyConnected2d.hinge`, unsquared). Composed by :class:`aeqkit.models.clcnn.CLCNN`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import CyclicGroup
from aeqkit.nn._common import check_kernel_size, check_padding_mode, check_positive_int
from aeqkit.nn.basic import check_input_size, pad2d

__all__ = ["LocallyConnected2d", "rep_matrix"]


def rep_matrix(blocks: tuple[str, ...], k: int, group_order: int = 4) -> torch.Tensor:
    """Matrix of the rotation by ``k`` steps of C_N on channels typed by ``blocks``.

    ``"scalar"``: 1; ``"vector"``: ``R(2 pi k / N)``; ``"regular"``: ``ρ_reg(k)``, the roll by
    ``+k`` (``out[i] = in[i - k]``, DESIGN.md). Both come from the group object
    (:meth:`aeqkit.groups.FiniteGroup.vector_rep`, :meth:`~aeqkit.groups.FiniteGroup.regular_permutation`).

    Shape:
        out: (C, C), float64
    """
    group = CyclicGroup(group_order)
    mats = []
    for b in blocks:
        if b == "scalar":
            mats.append(torch.ones(1, 1, dtype=torch.float64))
        elif b == "vector":
            mats.append(group.vector_rep(k % group_order))
        elif b == "regular":
            perm = group.regular_permutation(k % group_order)
            mats.append(torch.eye(group_order, dtype=torch.float64)[perm])
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
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_kernel_size(kernel_size)
        self.input_size = check_input_size(input_size)
        self.padding_mode = check_padding_mode(padding_mode)
        self.dilation = check_positive_int(dilation, "dilation")
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
