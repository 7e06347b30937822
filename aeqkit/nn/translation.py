"""Relaxed translation convolution (paper Sec. 3.1 applied to translations, low rank of Sec. 3.2).

Full form (Eq. 4 with G = Z^2, ``w_l(h)`` indexed by the input position h):

    ``out(x) = sum_y sum_l Psi_l(y) w_l(x + y) f(x + y) = sum_l (Psi_l * (w_l . f))(x)``,

i.e. the input is reweighted by L spatial maps and convolved with L filter banks in one
``F.conv2d`` over ``L * C_in`` channels. Low-rank form (Eq. 8 with
``w_l(x, y) = sum_r a_r(x) b_{r,l}(y)``): ``out(x) = sum_r a_r(x) (K_r * f)(x)`` with
``K_r(y) = sum_l b_{r,l}(y) Psi_l(y)``; ``relaxed_weights`` is ``a`` (R, H, W).

The relaxed weights are spatially constant at initialisation, so the layer is then exactly a
convolution: equivariant to cyclic shifts with ``padding_mode="circular"``. They are tied to
``input_size``: inputs must have that size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aeqkit.groups import FieldType, TranslationGroup
from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    resolve_padding,
)
from aeqkit.nn.base import RelaxedLayer

__all__ = ["RelaxedTranslationConv2d"]


class RelaxedTranslationConv2d(RelaxedLayer):
    """Convolution with spatially varying filter-bank weights ``w_l(x)`` (relaxed translation).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size.
        num_filter_banks: L >= 1.
        input_size: ``(H, W)`` (or an int for square inputs) of the feature maps.
        rank: None for the full ``w_l(x)`` (L, H, W); R >= 1 for the low-rank form.
        padding: padding (``None``: ``kernel_size // 2``, keeps ``H, W``).
        bias: add a (spatially constant) bias.
        padding_mode: ``"circular"`` (default, cyclic-shift equivariant at init) or another
            ``nn.Conv2d`` mode.

    Shape:
        x: (B, in_channels, H, W) -> out: (B, out_channels, H, W)

    Attributes:
        relaxed_weights: (L, H, W) for the full form, (R, H, W) (``a_r(x)``) for the low rank;
            constant at init (ones, ``1/R`` for the low rank); the penalty compares positions.
        group: cyclic translations (``padding_mode="circular"``) or bounded ones.
    """

    relaxed_start_dim = 1  # compare weights over all positions (H, W), per filter bank / rank
    penalty_reduction = "mean"  # (HW)^2 pairs: see :meth:`equivariance_penalty`
    repr_fields = ("kernel_size", "num_filter_banks", "input_size", "rank", "padding_mode")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_filter_banks: int = 1,
        input_size: int | tuple[int, int] = 64,
        rank: int | None = None,
        padding: int | None = None,
        bias: bool = True,
        padding_mode: str = "circular",
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = k = check_kernel_size(kernel_size)
        self.num_filter_banks = L = check_positive_int(num_filter_banks, "num_filter_banks")
        if isinstance(input_size, int):
            input_size = (input_size, input_size)
        if len(input_size) != 2:
            raise ValueError(f"input_size must be an int or (H, W), got {input_size!r}")
        h, w = (check_positive_int(v, "input_size") for v in input_size)
        self.input_size = (h, w)
        self.rank = None if rank is None else check_positive_int(rank, "rank")
        self.padding = resolve_padding(padding, k)
        if self.padding != k // 2:
            raise ValueError(
                f"padding must be kernel_size // 2 = {k // 2} (same-size output for w(x)), "
                f"got {self.padding}"
            )
        self.padding_mode = check_padding_mode(padding_mode)
        self.weight = nn.Parameter(torch.empty(L, out_channels, in_channels, k, k))
        if self.rank is None:
            self.init_relaxed_weights((L, h, w))
            self.bank_weights = None
        else:
            self.init_relaxed_weights((self.rank, h, w), fill=1.0 / self.rank)
            # b_{r,l}(y): per rank, filter bank and kernel position
            self.bank_weights = nn.Parameter(torch.ones(self.rank, L, k, k))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.group = TranslationGroup(cyclic=self.padding_mode == "circular")
        self.in_type = FieldType.scalars(in_channels)
        self.out_type = FieldType.scalars(out_channels)
        #: exactly a convolution at equal relaxed weights: cyclic shifts with circular padding
        self.exact_groups = ("translation",) if self.padding_mode == "circular" else ()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        L, k = self.num_filter_banks, self.kernel_size
        bound = 1.0 / math.sqrt(self.in_channels * k * k * L)
        nn.init.uniform_(self.weight, -bound, bound)
        self.reset_relaxed_weights()
        if self.bank_weights is not None:
            with torch.no_grad():
                self.bank_weights.fill_(1.0)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def expanded_weight(self) -> torch.Tensor:
        """The spatially constant part of the kernel; the relaxed weights act per position.

        Full form: the ``L`` filter banks side by side, convolved with the reweighted input
        ``(w_l . f)``. Low rank: ``K_r(y) = sum_l b_{r,l}(y) Psi_l(y)``, whose outputs are mixed by
        ``a_r(x)``.

        Shape:
            out: (out_channels, L * in_channels, k, k) full; (R * out_channels, in_channels, k, k)
            low rank
        """
        L, o, c, k, _ = self.weight.shape
        if self.rank is None:
            return self.weight.permute(1, 0, 2, 3, 4).reshape(o, L * c, k, k)
        kernels = torch.einsum("rlxy,locxy->rocxy", self.bank_weights, self.weight)
        return kernels.reshape(self.rank * o, c, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.input_size
        self._check_input(x, self.in_channels)
        if tuple(x.shape[-2:]) != (h, w):
            raise ValueError(
                f"RelaxedTranslationConv2d expected (B, {self.in_channels}, {h}, {w}) "
                f"(input_size is fixed by the relaxed weights), got {tuple(x.shape)}"
            )
        if self.rank is None:
            xw = x.unsqueeze(1) * self.relaxed_weights.unsqueeze(1)  # (B, L, C, H, W)
            return self._conv(xw.flatten(1, 2), self.expanded_weight(), self.bias)
        y = self._conv(x, self.expanded_weight())
        y = y.unflatten(1, (self.rank, self.out_channels))  # (B, R, O, H, W)
        out = (y * self.relaxed_weights[None, :, None]).sum(1)
        if self.bias is not None:
            out = out + self.bias[:, None, None]
        return out

    def equivariance_penalty(self) -> torch.Tensor:
        """Unscaled ``sum_l mean_{g,h} |w_l(h) - w_l(g)|`` over the ``(HW)²`` ordered pairs of positions.

        Exact, computed by sorting (O(HW log HW)). The paper's sum over pairs is divided by ``(HW)²``:
        the sum grows as ``(HW)²`` while the data gradient on one ``w_l(h)`` shrinks as ``1/(HW)``,
        so the same ``alpha`` would pin the weights at high resolution; the mean keeps the
        penalty-to-data gradient ratio independent of the grid. (The base class's penalty with
        ``relaxed_start_dim = 1``, ``penalty_reduction = "mean"``.)
        """
        return super().equivariance_penalty()
