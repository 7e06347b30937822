"""Which symmetry breaks: irrep spectrum of relaxed C_N weights (issue 3, item 6).

The relaxed weights ``w_l(h)`` of a C_N group convolution are functions on the group; their
discrete Fourier transform over ``h`` splits them onto the irreps of C_N (frequencies
``0..N//2``, the frequency ``k`` and ``N-k`` parts forming one real 2D irrep). Weights invariant
under the subgroup C_M (``w(h + N/M) = w(h)``) only carry frequencies that are multiples of M, so
the largest such M with (almost) all energy on its allowed frequencies names the surviving
subgroup.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["IrrepSpectrum", "irrep_spectrum", "surviving_subgroup"]


@dataclass(frozen=True)
class IrrepSpectrum:
    """Energy of the relaxed weights per irrep of C_N.

    Attributes:
        energy: (N//2 + 1,) float64, energy at frequencies 0..N//2 (Parseval-normalised, so
            ``energy.sum() == (w**2).sum()``).
        group_order: N.
    """

    energy: torch.Tensor
    group_order: int

    @property
    def frequencies(self) -> list[int]:
        return list(range(self.group_order // 2 + 1))

    @property
    def fraction(self) -> torch.Tensor:
        """Energy fractions per frequency (sum to 1)."""
        total = self.energy.sum()
        return self.energy / total.clamp_min(torch.finfo(self.energy.dtype).tiny)

    @property
    def breaking_fraction(self) -> torch.Tensor:
        """Fraction of energy off the trivial irrep (zero iff all weights are equal over h)."""
        return 1.0 - self.fraction[0]


def irrep_spectrum(
    layer_or_relaxed_weights: object, group_order: int | None = None
) -> IrrepSpectrum:
    """DFT of relaxed weights over the group axis -> energy per irrep of C_N.

    Args:
        layer_or_relaxed_weights: a layer with ``relaxed_weights`` (..., N) and ``group_order``,
            or the weights tensor itself (group axis last).
        group_order: N; required for a tensor unless it equals the last axis length.

    Shape:
        relaxed_weights: (..., N) -> energy: (N//2 + 1,) summed over the leading axes
    """
    w = getattr(layer_or_relaxed_weights, "relaxed_weights", layer_or_relaxed_weights)
    if not isinstance(w, torch.Tensor):
        raise ValueError(
            "expected a relaxed layer or a tensor of relaxed weights (..., N), "
            f"got {type(layer_or_relaxed_weights).__name__}"
        )
    n = group_order if group_order is not None else getattr(
        layer_or_relaxed_weights, "group_order", w.shape[-1]
    )
    if not isinstance(n, int) or n < 1 or w.shape[-1] != n:
        raise ValueError(
            f"relaxed weights must have the group axis (size group_order={n}) last, "
            f"got shape {tuple(w.shape)}"
        )
    f = torch.fft.fft(w.detach().to(torch.float64).reshape(-1, n), dim=-1)
    power = (f.abs() ** 2).sum(0) / n  # Parseval: sums to ||w||^2
    energy = torch.zeros(n // 2 + 1, dtype=torch.float64)
    for k in range(n):
        energy[min(k, n - k)] += power[k]
    return IrrepSpectrum(energy=energy, group_order=n)


def surviving_subgroup(
    spectrum: IrrepSpectrum | torch.Tensor, tol: float = 1e-3, group_order: int | None = None
) -> int:
    """Order M of the largest C_M (M | N) whose allowed irreps carry all but ``tol`` of the energy.

    Frequencies allowed by C_M are the multiples of M. Returns N when the weights are equal
    over the group (no breaking) and 1 when nothing survives.
    """
    if isinstance(spectrum, IrrepSpectrum):
        energy, n = spectrum.energy, spectrum.group_order
    else:
        if group_order is None:
            raise ValueError("pass group_order with a raw energy tensor (or an IrrepSpectrum)")
        energy, n = torch.as_tensor(spectrum, dtype=torch.float64), group_order
        if energy.shape != (n // 2 + 1,):
            raise ValueError(f"energy must have shape ({n // 2 + 1},), got {tuple(energy.shape)}")
    if not 0 <= tol < 1:
        raise ValueError(f"tol must be in [0, 1), got {tol}")
    total = float(energy.sum())
    if total == 0.0:
        return n
    for m in sorted((d for d in range(1, n + 1) if n % d == 0), reverse=True):
        off = sum(float(energy[k]) for k in range(n // 2 + 1) if k % m != 0)
        if off <= tol * total:
            return m
    return 1
