"""Relaxed rotation group convolutions on C_N (paper Sec. 3.1, Eq. 4-5).

Regular features are stored as ``(B, C*N, H, W)`` with the group axis innermost (DESIGN.md): a
rotation by ``k`` steps rotates the grid counter-clockwise (``torch.rot90(x, k, dims=(-1, -2))``)
and rolls every regular block by ``+k``.

The relaxed kernel of Eq. 4 is ``Psi(g, h) = sum_l w_l(h) Psi_l(g^{-1} h)`` with ``w_l(h)`` indexed by
the *input* group element ``h``. The expanded ``(C_out*N, C_in*N, k, k)`` kernel is built in
``forward`` by two einsums against buffers (a group-index gather and the kernel rotation
matrices) and applied with a single ``F.conv2d``: there is no Python loop over group elements.
Rotations by multiples of 90 degrees are exact permutations of the kernel; for other angles
(N not dividing 4) the kernel is rotated by bilinear interpolation, so only the rotations by
multiples of 90 degrees (those in C_N) are exactly equivariant on the grid.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import FieldType
from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    field_blocks,
    kernel_rotation_matrices,
    pairwise_l1,
    resolve_padding,
)

__all__ = [
    "RelaxedRotGroupConv2d",
    "RelaxedRotLiftConv2d",
    "RotGroupToVector",
    "GroupPool",
    "lift_matrix",
    "exactly_equivariant_rotations",
]


def exactly_equivariant_rotations(group_order: int) -> list[int]:
    """Group elements (rotation steps) of C_N that rotate the grid exactly (multiples of 90 deg)."""
    return [k for k in range(group_order) if (4 * k) % group_order == 0]


def lift_matrix(blocks: tuple[str, ...], group_order: int) -> torch.Tensor:
    """Fixed linear map lifting typed fields to regular fields of C_N (paper Sec. 3.1).

    A scalar ``s`` lifts to the constant ``f(i) = s``; a vector ``(a, b)`` lifts to
    ``f(i) = a cos(2 pi i / N) + b sin(2 pi i / N)`` (the trainable factor ``c`` of the paper is
    absorbed by the convolution weights that follow). Both commute with the DESIGN.md actions.

    Shape:
        out: (num_fields * N, in_channels), float64
    """
    n = group_order
    ang = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    size = sum(1 if b == "scalar" else 2 for b in blocks)
    m = torch.zeros(len(blocks) * n, size, dtype=torch.float64)
    col = 0
    for f, b in enumerate(blocks):
        if b == "scalar":
            m[f * n : (f + 1) * n, col] = 1.0
            col += 1
        elif b == "vector":
            if n < 3:
                raise ValueError(
                    f"lifting vector fields needs group_order >= 3 (got {n}); C_1 and C_2 "
                    "cannot represent a 2D vector in their regular representation"
                )
            m[f * n : (f + 1) * n, col] = torch.cos(ang)
            m[f * n : (f + 1) * n, col + 1] = torch.sin(ang)
            col += 2
        else:
            raise ValueError(
                f"input field blocks must be 'scalar' or 'vector' for a lifting layer, got {b!r}"
            )
    return m


class RelaxedRotGroupConv2d(nn.Module):
    """Relaxed C_N group convolution, regular -> regular features (paper Eq. 4-5).

    ``out(x, g) = sum_y sum_h sum_l w_l(h) [R_g Psi_l(g^{-1} h)](y) f(x + y, h)``.
    With all ``relaxed_weights`` equal (the initialisation, or ``relaxed=False``) it is an
    ordinary C_N group convolution, exactly equivariant to rotations by multiples of 90 degrees
    (and to translations with circular padding).

    Args:
        in_channels: number of regular input fields (channels per group element).
        out_channels: number of regular output fields.
        kernel_size: odd spatial kernel size.
        group_order: N of C_N, any N >= 1. Kernel rotations by multiples of 90 degrees are exact
            permutations, other angles bilinear interpolation (see
            :func:`exactly_equivariant_rotations`).
        num_filter_banks: L, the number of kernels combined by the relaxed weights.
        padding: spatial zero padding (``None``: ``kernel_size // 2``).
        bias: add a bias per output field (shared over the group axis, so equivariant).
        relaxed: if False, ``relaxed_weights`` is a frozen buffer of ones (strict group conv).
        padding_mode: as in ``nn.Conv2d``; ``"circular"`` makes cyclic shifts exact.

    Shape:
        x: (B, in_channels * N, H, W) -> out: (B, out_channels * N, H', W')

    Attributes:
        relaxed_weights: (L, N), ``w_l(h)`` indexed by input element h, ones at init.
        weight: (L, out_channels, in_channels, N, k, k), ``Psi_l(d)`` for ``d = g^{-1} h``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group_order: int = 4,
        num_filter_banks: int = 1,
        padding: int | None = None,
        bias: bool = True,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_kernel_size(kernel_size)
        self.group_order = check_positive_int(group_order, "group_order")
        self.num_filter_banks = check_positive_int(num_filter_banks, "num_filter_banks")
        self.padding = resolve_padding(padding, self.kernel_size)
        self.padding_mode = check_padding_mode(padding_mode)
        self.relaxed = bool(relaxed)
        n, k, L = self.group_order, self.kernel_size, self.num_filter_banks
        self.weight = nn.Parameter(torch.empty(L, out_channels, self._kernel_in_fields(), n, k, k))
        ones = torch.ones(L, n)
        if self.relaxed:
            self.relaxed_weights = nn.Parameter(ones)
        else:
            self.register_buffer("relaxed_weights", ones)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        #: aeqkit field types, read by ``aeqkit.equivariance.layer_equivariance_report``
        self.in_field_type = FieldType.regular(self.in_channels, n)
        self.out_field_type = FieldType.regular(self.out_channels, n)
        #: groups the layer is exactly equivariant to with equal relaxed weights (C_N: on its exact
        #: elements, the multiples of 90°; cyclic shifts with circular 'same' padding)
        self.exact_groups = (f"C{n}",) + (
            ("translation",) if self.padding_mode == "circular" and self.padding == k // 2 else ())
        idx = torch.arange(n)
        # d_index[i, j] = (j - i) mod N, i = output element g, j = input element h
        self.register_buffer("d_index", (idx[None, :] - idx[:, None]) % n, persistent=False)
        rot = kernel_rotation_matrices(k, n)
        self.register_buffer(
            "rotation_matrices", rot.to(torch.get_default_dtype()), persistent=False
        )
        # exact case (every kernel rotation is a permutation): one flat gather index mapping
        # (g, h, p) of the expanded kernel to (h, d = h - g, q = perm_g(p)) of the combined banks
        self._exact = bool(torch.all((rot == 0) | (rot == 1)))
        if self._exact:
            perm = rot.argmax(dim=-1)  # (N, kk): source position q for target p
            g, h, p = torch.meshgrid(
                torch.arange(n), torch.arange(n), torch.arange(k * k), indexing="ij"
            )
            flat = (h * n + (h - g) % n) * (k * k) + perm[g, p]
            self.register_buffer("gather_index", flat.reshape(-1), persistent=False)
        self.reset_parameters()

    def _kernel_in_fields(self) -> int:
        return self.in_channels

    def _fan_in(self) -> int:
        return self._kernel_in_fields() * self.group_order * self.kernel_size**2

    def reset_parameters(self) -> None:
        """Uniform init like ``nn.Conv2d``, scaled by ``1/sqrt(L)`` so the bank sum keeps its std."""
        bound = 1.0 / math.sqrt(self._fan_in() * self.num_filter_banks)
        nn.init.uniform_(self.weight, -bound, bound)
        with torch.no_grad():
            self.relaxed_weights.fill_(1.0)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def expanded_weight(self) -> torch.Tensor:
        """The full kernel of Eq. 4 as one tensor.

        Shape:
            out: (out_channels * N, in_fields * N, k, k); row index ``o*N + g``, column ``c*N + h``.
        """
        L, o, c, n, k, _ = self.weight.shape
        w = self.relaxed_weights.to(self.weight.dtype)
        psi = self.weight.reshape(L, o, c, n, k * k)
        # combine filter banks for every input element h and every offset d: (o, c, h, d, q)
        comb = torch.einsum("locdq,lh->ochdq", psi, w)
        if self._exact:
            flat = comb.reshape(o, c, n * n * k * k).index_select(-1, self.gather_index)
            kernel = flat.reshape(o, c, n, n, k * k).permute(0, 2, 1, 3, 4)
            return kernel.reshape(o * n, c * n, k, k)
        # gather d = (h - g) mod N: (o, c, g, h, q)
        h_idx = torch.arange(n, device=psi.device).expand(n, n)
        gathered = comb[:, :, h_idx, self.d_index]
        rot = self.rotation_matrices.to(psi.dtype)
        kernel = torch.einsum("ocghq,gpq->ogchp", gathered, rot)
        return kernel.reshape(o * n, c * n, k, k)

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        bias = None
        if self.bias is not None:
            bias = self.bias.repeat_interleave(self.group_order)
        if self.padding_mode != "zeros" and self.padding > 0:
            p = self.padding
            x = F.pad(x, (p, p, p, p), mode=self.padding_mode)
            return F.conv2d(x, weight, bias)
        return F.conv2d(x, weight, bias, padding=self.padding)

    def _check_input(self, x: torch.Tensor, expected: int) -> None:
        if x.dim() != 4 or x.shape[1] != expected:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (B, {expected}, H, W), "
                f"got {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x, self.in_channels * self.group_order)
        return self._conv(x, self.expanded_weight())

    def equivariance_penalty(self) -> torch.Tensor:
        """Unscaled Sec. 3.3 regulariser ``sum_l sum_{g,h} |w_l(h) - w_l(g)|`` (not squared)."""
        return pairwise_l1(self.relaxed_weights, dim=-1)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"group_order={self.group_order}, num_filter_banks={self.num_filter_banks}, "
            f"padding={self.padding}, relaxed={self.relaxed}"
        )


class RelaxedRotLiftConv2d(RelaxedRotGroupConv2d):
    """Relaxed lifting convolution: typed scalar / vector fields -> regular C_N features.

    Each input field is lifted pointwise to a regular field (scalars as constants, vectors as
    ``a cos(2 pi i/N) + b sin(2 pi i/N)``, paper Sec. 3.1) and then convolved with the relaxed
    group kernel of Eq. 4 (``w_l(h)`` indexed by the lifted element h). The fixed lift is folded
    into the kernel, so ``forward`` is still one ``F.conv2d`` on the raw input.

    Args:
        in_type: ``aeqkit.groups.FieldType`` of scalar / vector blocks (or a sequence of names).
        out_channels, kernel_size, group_order, num_filter_banks, padding, bias, relaxed,
        padding_mode: as in :class:`RelaxedRotGroupConv2d`.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_channels * N, H', W')
    """

    def __init__(
        self,
        in_type: object,
        out_channels: int,
        kernel_size: int,
        group_order: int = 4,
        num_filter_banks: int = 1,
        padding: int | None = None,
        bias: bool = True,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        blocks = field_blocks(in_type)
        if not blocks:
            raise ValueError("in_type must contain at least one 'scalar' or 'vector' field")
        n = check_positive_int(group_order, "group_order")
        lift = lift_matrix(blocks, n)
        self.in_type = in_type
        self.in_blocks = blocks
        super().__init__(
            len(blocks),
            out_channels,
            kernel_size,
            group_order=n,
            num_filter_banks=num_filter_banks,
            padding=padding,
            bias=bias,
            relaxed=relaxed,
            padding_mode=padding_mode,
        )
        self.register_buffer("lift", lift.to(torch.get_default_dtype()), persistent=False)
        self.in_field_type = FieldType(blocks)

    def expanded_weight(self) -> torch.Tensor:
        """Shape: out: (out_channels * N, in_type.size, k, k)."""
        w = super().expanded_weight()
        return torch.einsum("apxy,pc->acxy", w, self.lift.to(w.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x, self.lift.shape[1])
        return self._conv(x, self.expanded_weight())


class RotGroupToVector(nn.Module):
    """Regular C_N features -> one 2D vector field (the inverse of the vector lift, equivariant).

    ``v(x) = (2/N) sum_c a_c sum_i f_c(x, i) (cos(2 pi i/N), sin(2 pi i/N))`` with trainable
    per-field weights ``a_c``; a roll of the group axis by k rotates ``v`` by ``2 pi k / N``.

    Shape:
        x: (B, in_channels * N, H, W) -> out: (B, 2, H, W)
    """

    def __init__(self, in_channels: int, group_order: int = 4) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.group_order = check_positive_int(group_order, "group_order", minimum=3)
        n = self.group_order
        ang = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
        proj = torch.stack([torch.cos(ang), torch.sin(ang)]) * (2.0 / n)
        self.register_buffer("projection", proj.to(torch.get_default_dtype()), persistent=False)
        self.weight = nn.Parameter(torch.empty(self.in_channels))
        nn.init.uniform_(self.weight, -1.0, 1.0)
        self.in_field_type = FieldType.regular(self.in_channels, n)
        self.out_field_type = FieldType.vectors(1)
        self.exact_groups = (f"C{n}", "translation")  # pointwise in space

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.group_order
        if x.dim() != 4 or x.shape[1] != self.in_channels * n:
            raise ValueError(
                f"RotGroupToVector expected (B, {self.in_channels * n}, H, W), got {tuple(x.shape)}"
            )
        kernel = torch.einsum("c,vi->vci", self.weight, self.projection.to(self.weight.dtype))
        kernel = kernel.reshape(2, self.in_channels * n, 1, 1).to(x.dtype)
        return F.conv2d(x, kernel)


class GroupPool(nn.Module):
    """Pool regular features over the group axis -> invariant scalar fields.

    Args:
        group_order: N, the length of the innermost group axis.
        reduction: ``"mean"`` or ``"max"``.

    Shape:
        x: (B, C * N, H, W) -> out: (B, C, H, W)
    """

    def __init__(self, group_order: int, reduction: str = "mean") -> None:
        super().__init__()
        self.group_order = check_positive_int(group_order, "group_order")
        if reduction not in ("mean", "max"):
            raise ValueError(f"reduction must be 'mean' or 'max', got {reduction!r}")
        self.reduction = reduction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.group_order
        if x.dim() < 3 or x.shape[-3] % n:
            raise ValueError(f"GroupPool expected (..., C*{n}, H, W), got {tuple(x.shape)}")
        y = x.unflatten(-3, (x.shape[-3] // n, n))
        return y.mean(dim=-3) if self.reduction == "mean" else y.amax(dim=-3)
