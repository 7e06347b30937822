"""Which symmetry breaks: irrep spectrum of relaxed weights over C_N or D_N (issue 3, item 6).

The relaxed weights ``w_l(h)`` of a group convolution are functions on the group ``G``; a layer is
exactly equivariant under ``u`` when ``w_l(u h) = w_l(h)`` for all ``h`` (left translation, see
:mod:`aeqkit.nn.gconv`), so the elements that survive form the stabiliser subgroup of ``w``.

* C_N: the discrete Fourier transform over ``h`` splits ``w`` onto the irreps of C_N (frequencies
  ``0..N//2``, the frequency ``k`` and ``N-k`` parts forming one real 2D irrep). Weights invariant
  under the subgroup C_M (``w(h + N/M) = w(h)``) only carry frequencies that are multiples of M.
* D_N (elements ``rot^k`` then ``rot^k o flip``): the 1-d irreps ``A1`` (trivial), ``A2`` (sign of
  the flips) and, for even N, ``B1`` / ``B2`` (sign ``(-1)^k`` of the rotation, times the flip sign
  for ``B2``), then the 2-d irreps ``E1 .. E_{(N-1)//2}`` (rotation frequency ``k``). A subgroup of
  D_N is C_M (rotations by ``2 pi / M``) or D_M with a reflection axis; the spectrum alone cannot
  tell reflection axes apart, so :func:`surviving_subgroup` projects the weights (kept on the
  spectrum) onto the functions invariant under each subgroup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from aeqkit.groups import CyclicGroup, DihedralGroup, FiniteGroup, as_finite_group

__all__ = ["IrrepSpectrum", "Subgroup", "irrep_spectrum", "surviving_subgroup", "subgroups"]


@dataclass(frozen=True)
class Subgroup:
    """A subgroup of C_N or D_N as :func:`surviving_subgroup` names it.

    Attributes:
        name: ``"C<M>"`` or ``"D<M>"`` (``D1``: one reflection; the kit's flip ``x -> -x``
            reflects across the y axis).
        rotation_order: M, the rotations by multiples of ``2 pi / M``.
        reflection_axis: angle (degrees, in ``[0, 180)``) of one reflection axis for ``D<M>``,
            ``None`` for ``C<M>``.
        elements: the elements of the parent group in the subgroup.
    """

    name: str
    rotation_order: int
    reflection_axis: float | None
    elements: tuple[Any, ...]
    #: whether ``str`` names the axis (False for D_N itself, which holds every axis)
    show_axis: bool = field(default=True, compare=False, repr=False)

    @property
    def order(self) -> int:
        """``|H|``."""
        return len(self.elements)

    def __str__(self) -> str:
        if self.reflection_axis is None or not self.show_axis:
            return self.name
        return f"{self.name} (axis {self.reflection_axis:g}°)"


@dataclass(frozen=True)
class IrrepSpectrum:
    """Energy of the relaxed weights per irrep of C_N (or D_N).

    Attributes:
        energy: float64 energy per irrep (Parseval-normalised, ``energy.sum() == (w**2).sum()``):
            C_N: ``(N//2 + 1,)`` at frequencies ``0..N//2``; D_N: one entry per irrep in the order
            of :attr:`labels`.
        group_order: N (the rotation order).
        group: the group (C_N when not given).
        weights: ``(rows, |G|)`` float64 weights the spectrum was computed from (D_N; used by
            :func:`surviving_subgroup` to tell reflection axes apart).
    """

    energy: torch.Tensor
    group_order: int
    group: FiniteGroup | None = None
    weights: torch.Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def is_dihedral(self) -> bool:
        return isinstance(self.group, DihedralGroup)

    @property
    def frequencies(self) -> list[int]:
        """Rotation frequency of each entry of :attr:`energy`."""
        if self.is_dihedral:
            n = self.group_order
            return [0, 0] + ([n // 2, n // 2] if n % 2 == 0 else []) + list(range(1, (n - 1) // 2 + 1))
        return list(range(self.group_order // 2 + 1))

    @property
    def labels(self) -> list[str]:
        """Irrep names: ``k=0 .. k=N//2`` (C_N); ``A1, A2, [B1, B2], E1, ...`` (D_N)."""
        if self.is_dihedral:
            n = self.group_order
            return ["A1", "A2"] + (["B1", "B2"] if n % 2 == 0 else []) + [
                f"E{k}" for k in range(1, (n - 1) // 2 + 1)]
        return [f"k={k}" for k in self.frequencies]

    @property
    def fraction(self) -> torch.Tensor:
        """Energy fractions per irrep (sum to 1)."""
        total = self.energy.sum()
        return self.energy / total.clamp_min(torch.finfo(self.energy.dtype).tiny)

    @property
    def breaking_fraction(self) -> torch.Tensor:
        """Fraction of energy off the trivial irrep (zero iff all weights are equal over h)."""
        return 1.0 - self.fraction[0]


def _dihedral_energy(w: torch.Tensor, n: int) -> torch.Tensor:
    """Energy per irrep of D_N of ``w: (rows, 2N)`` (rotations then flips, as DihedralGroup.elements)."""
    a = torch.fft.fft(w[:, :n], dim=-1)  # rotation part, frequency nu
    b = torch.fft.fft(w[:, n:], dim=-1)  # flip part
    one_d = []
    for nu in [0] + ([n // 2] if n % 2 == 0 else []):
        s, d = a[:, nu] + b[:, nu], a[:, nu] - b[:, nu]
        one_d += [(s.abs() ** 2).sum() / (2 * n), (d.abs() ** 2).sum() / (2 * n)]
    two_d = [((a[:, k].abs() ** 2 + a[:, n - k].abs() ** 2 + b[:, k].abs() ** 2
               + b[:, n - k].abs() ** 2).sum() / n) for k in range(1, (n - 1) // 2 + 1)]
    return torch.stack(one_d + two_d).to(torch.float64)


def irrep_spectrum(
    layer_or_relaxed_weights: object, group_order: int | None = None, group: object = None
) -> IrrepSpectrum:
    """Fourier transform of relaxed weights over the group axis -> energy per irrep.

    Args:
        layer_or_relaxed_weights: a layer with ``relaxed_weights`` (..., |G|) and ``group`` (or
            ``group_order`` for C_N), or the weights tensor itself (group axis last).
        group_order: N of C_N; required for a tensor unless it equals the last axis length.
        group: a finite group or name (``"D4"``), for a tensor of D_N weights (or to override).

    Shape:
        relaxed_weights: (..., |G|) -> energy: (num_irreps,) summed over the leading axes
    """
    w = getattr(layer_or_relaxed_weights, "relaxed_weights", layer_or_relaxed_weights)
    if not isinstance(w, torch.Tensor):
        raise ValueError(
            "expected a relaxed layer or a tensor of relaxed weights (..., |G|), "
            f"got {type(layer_or_relaxed_weights).__name__}"
        )
    grp = as_finite_group(group) if group is not None else None
    if grp is None:  # a layer's own finite group; other layers keep their group_order / last axis
        own = getattr(layer_or_relaxed_weights, "group", None)
        grp = own if isinstance(own, FiniteGroup) else None
    if isinstance(grp, DihedralGroup):
        n = grp.order
        if w.shape[-1] != grp.size or (group_order is not None and group_order != n):
            raise ValueError(
                f"relaxed weights of {grp.name} must have the group axis (size {grp.size}) last, "
                f"got shape {tuple(w.shape)}"
            )
        flat = w.detach().to(torch.float64).reshape(-1, grp.size)
        return IrrepSpectrum(_dihedral_energy(flat, n), n, grp, flat)
    n = group_order if group_order is not None else (
        grp.order if grp is not None else getattr(layer_or_relaxed_weights, "group_order", w.shape[-1]))
    if not isinstance(n, int) or n < 1 or w.shape[-1] != n:
        raise ValueError(
            f"relaxed weights must have the group axis (size group_order={n}) last, "
            f"got shape {tuple(w.shape)}"
        )
    flat = w.detach().to(torch.float64).reshape(-1, n)
    f = torch.fft.fft(flat, dim=-1)
    power = (f.abs() ** 2).sum(0) / n  # Parseval: sums to ||w||^2
    energy = torch.zeros(n // 2 + 1, dtype=torch.float64)
    for k in range(n):
        energy[min(k, n - k)] += power[k]
    return IrrepSpectrum(energy=energy, group_order=n, group=CyclicGroup(n), weights=flat)


def subgroups(group: object) -> list[Subgroup]:
    """Every subgroup of C_N (the C_M, M | N) or D_N (C_M and D_M with each reflection axis),
    largest first."""
    g = as_finite_group(group)
    n = g.order
    out = []
    for m in sorted((d for d in range(1, n + 1) if n % d == 0), reverse=True):
        step = n // m
        if isinstance(g, DihedralGroup):
            for j in range(step):  # reflections rot^(j + i step) o flip
                els = tuple((i * step, 0) for i in range(m)) + tuple(
                    ((j + i * step) % n, 1) for i in range(m))
                axis = (90.0 + 180.0 * j / n) % 180.0
                out.append(Subgroup(f"D{m}", m, axis, els, show_axis=m < n))
        out.append(Subgroup(f"C{m}", m, None, tuple(
            (i * step, 0) if isinstance(g, DihedralGroup) else i * step for i in range(m))))
    return sorted(out, key=lambda s: -s.order)


def _off_energy(w: torch.Tensor, group: FiniteGroup, sub: Subgroup) -> float:
    """``||w - P_H w||^2`` with ``(P_H w)(h) = mean_{u in H} w(u h)`` (left translation)."""
    table = group.cayley_table()
    rows = [group.index(u) for u in sub.elements]
    proj = torch.stack([w[:, table[r]] for r in rows]).mean(0)
    return float(((w - proj) ** 2).sum())


def surviving_subgroup(
    spectrum: IrrepSpectrum | torch.Tensor, tol: float = 1e-3, group_order: int | None = None
) -> int | Subgroup:
    """The largest subgroup whose invariant part carries all but ``tol`` of the energy.

    C_N: the order M of the largest C_M (M | N) whose allowed irreps (frequencies that are
    multiples of M) carry all but ``tol`` of the energy; N when the weights are equal over the
    group (no breaking), 1 when nothing survives. D_N (an :class:`IrrepSpectrum` of D_N weights):
    a :class:`Subgroup` (``D_N``, ``C_N``, ``D_M`` with its reflection axis, ``C_M``, ..., ``C1``),
    the largest ``H`` with ``||w - P_H w||^2 <= tol ||w||^2`` (ties: the smallest residual).
    """
    if not 0 <= tol < 1:
        raise ValueError(f"tol must be in [0, 1), got {tol}")
    if isinstance(spectrum, IrrepSpectrum) and spectrum.is_dihedral:
        grp, w = spectrum.group, spectrum.weights
        if w is None:
            raise ValueError("a D_N spectrum needs its weights (build it with irrep_spectrum)")
        total = float((w**2).sum())
        subs = subgroups(grp)
        if total == 0.0:
            return subs[0]
        best = None
        for sub in subs:
            if best is not None and sub.order < best[1].order:
                break
            off = _off_energy(w, grp, sub)
            if off <= tol * total and (best is None or off < best[0]):
                best = (off, sub)
        return best[1] if best is not None else subs[-1]
    if isinstance(spectrum, IrrepSpectrum):
        energy, n = spectrum.energy, spectrum.group_order
    else:
        if group_order is None:
            raise ValueError("pass group_order with a raw energy tensor (or an IrrepSpectrum)")
        energy, n = torch.as_tensor(spectrum, dtype=torch.float64), group_order
        if energy.shape != (n // 2 + 1,):
            raise ValueError(f"energy must have shape ({n // 2 + 1},), got {tuple(energy.shape)}")
    total = float(energy.sum())
    if total == 0.0:
        return n
    for m in sorted((d for d in range(1, n + 1) if n % d == 0), reverse=True):
        off = sum(float(energy[k]) for k in range(n // 2 + 1) if k % m != 0)
        if off <= tol * total:
            return m
    return 1
