"""Relaxed group convolutions on any finite group of the library (paper Sec. 3.1, Eq. 4-5).

One layer pair serves every finite planar group ``G`` (C_N rotations, D_N rotations and
reflections, D_1 reflections only): :class:`RelaxedGroupConv2d` (regular -> regular, Eq. 5) and
:class:`RelaxedLiftConv2d` (scalar / vector fields -> regular, Eq. 4). The group object supplies
everything the layer needs:

* the Cayley table, from which ``d = g^{-1} h`` indexes the filter bank ``Psi_l(g^{-1} h)`` (the
  regular permutation ``rho_reg(g)``, ``(g.f)(h) = f(g^{-1} h)``, is the same table read by row);
* its action on kernel grids, ``[g.Psi](y) = Psi(g^{-1} y)`` as ``(|G|, k*k, k*k)`` matrices: exact
  permutations for rotations by multiples of 90 degrees (with or without a flip), bilinear
  interpolation for other angles;
* its 2x2 matrices on vectors, for the vector lift and :class:`GroupToVector`.

Regular features are stored as ``(B, C*|G|, H, W)`` with the group axis innermost, in the order of
``group.elements()`` (DESIGN.md); for C_N a rotation by ``k`` steps rolls every block by ``+k``.

The relaxed kernel of Eq. 4 is ``Psi(g, h) = sum_l w_l(h) Psi_l(g^{-1} h)`` with ``w_l(h)`` indexed
by the *input* group element ``h``. The expanded ``(C_out*|G|, C_in*|G|, k, k)`` kernel is built in
``expanded_weight`` by an einsum and one gather (exact case) or an einsum against the kernel
matrices (interpolated case), and applied with a single ``F.conv2d``: there is no Python loop over
group elements. With equal relaxed weights the layer is exactly equivariant under every element that
acts exactly on the grid (multiples of 90 degrees, with their flips).

The C_N instances :class:`RelaxedRotGroupConv2d` / :class:`RelaxedRotLiftConv2d` (``group_order=N``)
and the D_N instances :class:`RelaxedDihedralGroupConv2d` / :class:`RelaxedDihedralLiftConv2d`
(``group_order=N``; ``group_order=1`` is D_1, the reflection group) are thin subclasses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import CyclicGroup, DihedralGroup, FieldType, FiniteGroup, as_finite_group
from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    field_blocks,
    resolve_padding,
)
from aeqkit.nn.base import RelaxedLayer

__all__ = [
    "RelaxedGroupConv2d",
    "RelaxedLiftConv2d",
    "RelaxedRotGroupConv2d",
    "RelaxedRotLiftConv2d",
    "RelaxedDihedralGroupConv2d",
    "RelaxedDihedralLiftConv2d",
    "GroupToVector",
    "RotGroupToVector",
    "GroupPool",
    "lift_matrix",
    "vector_lift_rows",
    "exact_group_elements",
    "exactly_equivariant_rotations",
]


# ------------------------------------------------------------------------------------------------
# The group as the layer sees it
# ------------------------------------------------------------------------------------------------
def _geometry(group: FiniteGroup) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotation angle (radians, CCW, float64) and flip flag (bool) of every element, in
    ``group.elements()`` order: each element is ``rot(angle) o flip^m`` with flip ``x -> -x``."""
    els = group.elements()
    angles = torch.tensor([group.rotation_angle(g) for g in els], dtype=torch.float64)
    return angles, torch.tensor([bool(group.is_flip(g)) for g in els])


def _offset_table(group: FiniteGroup) -> torch.Tensor:
    """``d[i, j] = index(g_i^{-1} h_j)``: the filter-bank element joining output ``g_i`` to input
    ``h_j``. Row ``i`` is the regular permutation ``rho_reg(g_i)``."""
    return torch.stack([group.regular_permutation(g) for g in group.elements()])


def exact_group_elements(group: object) -> list:
    """Elements of a finite group that act exactly on a square grid (rotations by multiples of 90
    degrees, with or without a flip): the elements a relaxed group conv is exactly equivariant to
    (``group.exact_elements()``)."""
    return as_finite_group(group).exact_elements()


def exactly_equivariant_rotations(group_order: int) -> list[int]:
    """Group elements (rotation steps) of C_N that rotate the grid exactly (multiples of 90 deg);
    ``CyclicGroup(N).exact_elements()``, kept for compatibility (see :func:`exact_group_elements`)."""
    return CyclicGroup(check_positive_int(group_order, "group_order")).exact_elements()


def vector_lift_rows(group: object) -> torch.Tensor:
    """Rows ``r(h) = rho(h) e`` (``(|G|, 2)``, float64) lifting a vector ``v`` to ``f(h) = r(h) . v``.

    ``rho(h) = group.spatial_matrix(h) = R(theta_h) F^m``, so ``f(u^{-1} h) = r(h) . (rho(u) v)``:
    the lift commutes with every element. ``e = (1, 0)`` (giving the paper's
    ``a cos(theta_h) + b sin(theta_h)`` for C_N) unless its orbit does not span the plane (D_1, D_2),
    where ``e = (1, 1)/sqrt(2)``; C_1 and C_2 cannot lift a vector. The rows are computed from
    ``rotation_angle`` / ``is_flip`` with ``torch.cos`` / ``torch.sin`` (as the C_N lift always was,
    so C_N layers are bit-identical to before; ``spatial_matrix`` rounds multiples of 90 degrees to
    exact zeros, a ~1e-17 difference).
    """
    g = as_finite_group(group)
    ang, flip = _geometry(g)
    cos, sin = torch.cos(ang), torch.sin(ang)
    rows = torch.stack([torch.where(flip, -cos, cos), torch.where(flip, -sin, sin)], dim=-1)
    if torch.linalg.matrix_rank(rows) < 2:
        s = torch.where(flip, -1.0, 1.0).to(torch.float64)
        rows = torch.stack([s * cos - sin, s * sin + cos], dim=-1) / math.sqrt(2.0)
    if torch.linalg.matrix_rank(rows) < 2:
        raise ValueError(
            f"lifting vector fields needs group_order >= 3 for C_N (got {g}); C_1 and C_2 "
            "cannot represent a 2D vector in their regular representation"
        )
    return rows


def lift_matrix(blocks: tuple[str, ...], group: int | object) -> torch.Tensor:
    """Fixed linear map lifting typed fields to regular fields of ``group`` (paper Sec. 3.1).

    A scalar ``s`` lifts to the constant ``f(h) = s``; a vector ``v`` to ``f(h) = rho(h) e . v``
    (:func:`vector_lift_rows`; for C_N ``a cos(2 pi i / N) + b sin(2 pi i / N)``). The trainable
    factor ``c`` of the paper is absorbed by the convolution weights that follow. Both commute with
    the :mod:`aeqkit.groups` actions. ``group`` may be an int N (C_N, as before).

    Shape:
        out: (num_fields * |G|, in_channels), float64
    """
    g = CyclicGroup(check_positive_int(group, "group_order")) if isinstance(group, int) \
        else as_finite_group(group)
    n = g.size
    size = sum(1 if b == "scalar" else 2 for b in blocks)
    m = torch.zeros(len(blocks) * n, size, dtype=torch.float64)
    rows = None
    col = 0
    for f, b in enumerate(blocks):
        if b == "scalar":
            m[f * n : (f + 1) * n, col] = 1.0
            col += 1
        elif b == "vector":
            rows = vector_lift_rows(g) if rows is None else rows
            m[f * n : (f + 1) * n, col : col + 2] = rows
            col += 2
        else:
            raise ValueError(
                f"input field blocks must be 'scalar' or 'vector' for a lifting layer, got {b!r}"
            )
    return m


def _regular_type(channels: int, group: FiniteGroup) -> FieldType:
    return FieldType.regular(channels, group=group)


# ------------------------------------------------------------------------------------------------
# Layers
# ------------------------------------------------------------------------------------------------
class RelaxedGroupConv2d(RelaxedLayer):
    """Relaxed group convolution on a finite group G, regular -> regular features (Eq. 4-5).

    ``out(x, g) = sum_y sum_h sum_l w_l(h) [g.Psi_l(g^{-1} h)](y) f(x + y, h)``.
    With all ``relaxed_weights`` equal (the initialisation, or ``relaxed=False``) it is an
    ordinary G group convolution, exactly equivariant under every element of G that acts exactly
    on the grid (see :func:`exact_group_elements`), and to translations with circular padding.

    Args:
        in_channels: number of regular input fields (``|G|`` channels each).
        out_channels: number of regular output fields.
        kernel_size: odd spatial kernel size.
        group: a finite group or its name: ``"C4"``, ``"C8"``, ``"D4"``, ``"D1"`` (reflections), ...
        num_filter_banks: L, the number of kernels combined by the relaxed weights.
        padding: spatial padding (``None``: ``kernel_size // 2``).
        bias: add a bias per output field (shared over the group axis, so equivariant).
        relaxed: if False, ``relaxed_weights`` is a frozen buffer of ones (strict group conv).
        padding_mode: as in ``nn.Conv2d``; ``"circular"`` makes cyclic shifts exact.

    Shape:
        x: (B, in_channels * |G|, H, W) -> out: (B, out_channels * |G|, H', W')

    Attributes:
        relaxed_weights: (L, |G|), ``w_l(h)`` indexed by input element h, ones at init.
        weight: (L, out_channels, in_channels, |G|, k, k), ``Psi_l(d)`` for ``d = g^{-1} h``.
        group: the group; ``group_order`` its rotation order N; ``group_size`` ``|G|``.
    """

    repr_fields = ("kernel_size", "group", "num_filter_banks", "padding", "relaxed")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        group: object = "C4",
        num_filter_banks: int = 1,
        padding: int | None = None,
        bias: bool = True,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.group = as_finite_group(group)
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_kernel_size(kernel_size)
        self.group_order = self.group.order
        self.group_size = n = self.group.size
        self.num_filter_banks = check_positive_int(num_filter_banks, "num_filter_banks")
        self.padding = resolve_padding(padding, self.kernel_size)
        self.padding_mode = check_padding_mode(padding_mode)
        k, L = self.kernel_size, self.num_filter_banks
        self.weight = nn.Parameter(torch.empty(L, out_channels, self._kernel_in_fields(), n, k, k))
        self.init_relaxed_weights((L, n), relaxed)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.in_type = _regular_type(self.in_channels, self.group)
        self.out_type = _regular_type(self.out_channels, self.group)
        #: groups the layer is exactly equivariant to with equal relaxed weights (on their exact
        #: elements; cyclic shifts with circular 'same' padding)
        self.exact_groups = (self.group.name,) + (
            ("translation",) if self.padding_mode == "circular" and self.padding == k // 2 else ())
        # d_index[i, j] = index(g_i^{-1} h_j), i = output element g, j = input element h
        d_index = _offset_table(self.group)
        self.register_buffer("d_index", d_index, persistent=False)
        mats = self.group.kernel_matrices(k)
        self.register_buffer(
            "rotation_matrices", mats.to(torch.get_default_dtype()), persistent=False
        )
        # exact case (every kernel transform is a permutation): one flat gather index mapping
        # (g, h, p) of the expanded kernel to (h, d = g^{-1} h, q = perm_g(p)) of the combined banks
        self._exact = bool(torch.all((mats == 0) | (mats == 1)))
        if self._exact:
            perm = mats.argmax(dim=-1)  # (|G|, kk): source position q for target p
            g, h, p = torch.meshgrid(
                torch.arange(n), torch.arange(n), torch.arange(k * k), indexing="ij"
            )
            flat = (h * n + d_index[g, h]) * (k * k) + perm[g, p]
            self.register_buffer("gather_index", flat.reshape(-1), persistent=False)
        self.reset_parameters()

    def _kernel_in_fields(self) -> int:
        return self.in_channels

    def _fan_in(self) -> int:
        return self._kernel_in_fields() * self.group_size * self.kernel_size**2

    def reset_parameters(self) -> None:
        """Uniform init like ``nn.Conv2d``, scaled by ``1/sqrt(L)`` so the bank sum keeps its std."""
        bound = 1.0 / math.sqrt(self._fan_in() * self.num_filter_banks)
        nn.init.uniform_(self.weight, -bound, bound)
        self.reset_relaxed_weights()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def expanded_weight(self) -> torch.Tensor:
        """The full kernel of Eq. 4 as one tensor.

        Shape:
            out: (out_channels * |G|, in_fields * |G|, k, k); row ``o*|G| + g``, column ``c*|G| + h``.
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
        # gather d = g^{-1} h: (o, c, g, h, q)
        h_idx = torch.arange(n, device=psi.device).expand(n, n)
        gathered = comb[:, :, h_idx, self.d_index]
        rot = self.rotation_matrices.to(psi.dtype)
        kernel = torch.einsum("ocghq,gpq->ogchp", gathered, rot)
        return kernel.reshape(o * n, c * n, k, k)

    def _bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias.repeat_interleave(self.group_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x, self.in_channels * self.group_size)
        return self._conv(x, self.expanded_weight(), self._bias())


class RelaxedLiftConv2d(RelaxedGroupConv2d):
    """Relaxed lifting convolution on a finite group G: scalar / vector fields -> regular features.

    Each input field is lifted pointwise to a regular field (scalars as constants, vectors as
    ``f(h) = rho(h) e . v``, paper Sec. 3.1; :func:`lift_matrix`) and then convolved with the relaxed
    group kernel of Eq. 4 (``w_l(h)`` indexed by the lifted element h). The fixed lift is folded
    into the kernel, so ``forward`` is one ``F.conv2d`` on the raw input.

    Args:
        in_type: ``aeqkit.groups.FieldType`` of scalar / vector blocks (or a sequence of names).
        out_channels, kernel_size, group, num_filter_banks, padding, bias, relaxed, padding_mode:
            as in :class:`RelaxedGroupConv2d`.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_channels * |G|, H', W')
    """

    def __init__(
        self,
        in_type: object,
        out_channels: int,
        kernel_size: int,
        group: object = "C4",
        num_filter_banks: int = 1,
        padding: int | None = None,
        bias: bool = True,
        relaxed: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        blocks = field_blocks(in_type)
        if not blocks:
            raise ValueError("in_type must contain at least one 'scalar' or 'vector' field")
        grp = as_finite_group(group)
        lift = lift_matrix(blocks, grp)
        self.in_blocks = blocks
        super().__init__(
            len(blocks),
            out_channels,
            kernel_size,
            group=grp,
            num_filter_banks=num_filter_banks,
            padding=padding,
            bias=bias,
            relaxed=relaxed,
            padding_mode=padding_mode,
        )
        self.register_buffer("lift", lift.to(torch.get_default_dtype()), persistent=False)
        self.in_type = FieldType(blocks)

    def expanded_weight(self) -> torch.Tensor:
        """Shape: out: (out_channels * |G|, in_type.size, k, k)."""
        w = super().expanded_weight()
        return torch.einsum("apxy,pc->acxy", w, self.lift.to(w.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x, self.lift.shape[1])
        return self._conv(x, self.expanded_weight(), self._bias())


class RelaxedRotGroupConv2d(RelaxedGroupConv2d):
    """Relaxed C_N group convolution (:class:`RelaxedGroupConv2d` with ``group=CyclicGroup(N)``).

    Rotations by multiples of 90 degrees act on kernels as exact permutations, other angles by
    bilinear interpolation (see :func:`exactly_equivariant_rotations`).

    Shape:
        x: (B, in_channels * N, H, W) -> out: (B, out_channels * N, H', W')
    """

    repr_fields = ("kernel_size", "group_order", "num_filter_banks", "padding", "relaxed")

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
        super().__init__(in_channels, out_channels, kernel_size,
                         CyclicGroup(check_positive_int(group_order, "group_order")),
                         num_filter_banks, padding, bias, relaxed, padding_mode)


class RelaxedRotLiftConv2d(RelaxedLiftConv2d):
    """Relaxed C_N lifting convolution (:class:`RelaxedLiftConv2d` with ``group=CyclicGroup(N)``);
    vectors lift to ``a cos(2 pi i/N) + b sin(2 pi i/N)``.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_channels * N, H', W')
    """

    repr_fields = RelaxedRotGroupConv2d.repr_fields

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
        super().__init__(in_type, out_channels, kernel_size,
                         CyclicGroup(check_positive_int(group_order, "group_order")),
                         num_filter_banks, padding, bias, relaxed, padding_mode)


class RelaxedDihedralGroupConv2d(RelaxedGroupConv2d):
    """Relaxed D_N group convolution (rotations by ``2 pi k / N`` and reflections ``x -> -x``);
    ``group_order=1`` is D_1, the reflection group. Regular fields have ``2N`` channels, in the
    order ``(k, 0)`` then ``(k, 1)`` of :meth:`aeqkit.groups.DihedralGroup.elements`.

    Shape:
        x: (B, in_channels * 2N, H, W) -> out: (B, out_channels * 2N, H', W')
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
        super().__init__(in_channels, out_channels, kernel_size,
                         DihedralGroup(check_positive_int(group_order, "group_order")),
                         num_filter_banks, padding, bias, relaxed, padding_mode)


class RelaxedDihedralLiftConv2d(RelaxedLiftConv2d):
    """Relaxed D_N lifting convolution (``group_order=1``: D_1); see :class:`RelaxedLiftConv2d`.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_channels * 2N, H', W')
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
        super().__init__(in_type, out_channels, kernel_size,
                         DihedralGroup(check_positive_int(group_order, "group_order")),
                         num_filter_banks, padding, bias, relaxed, padding_mode)


def _group_or_order(group: object, minimum: int = 1) -> FiniteGroup:
    """A finite group from a group / name, or from an int N meaning C_N (checked >= ``minimum``)."""
    if isinstance(group, int) and not isinstance(group, bool):
        return CyclicGroup(check_positive_int(group, "group_order", minimum=minimum))
    return as_finite_group(group)


class GroupToVector(nn.Module):
    """Regular features of a finite group G -> one 2D vector field (the adjoint of the vector lift).

    ``v(x) = (2/|G|) sum_c a_c sum_h f_c(x, h) rho(h) e`` with trainable per-field weights ``a_c``
    (:func:`vector_lift_rows`; for C_N ``e = (1, 0)``: ``sum_i f_c(x, i) (cos, sin)(2 pi i/N)``).
    Equivariant to every element of G, reflections included: ``f(u^{-1} .)`` maps to ``rho(u) v``.

    Args:
        in_channels: number of regular input fields.
        group: a finite group or name (``"C4"``, ``"D4"``, ...), or an int N for C_N (N >= 3).

    Shape:
        x: (B, in_channels * |G|, H, W) -> out: (B, 2, H, W)
    """

    def __init__(self, in_channels: int, group: object = 4) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.group = _group_or_order(group, minimum=3)
        self.group_order = self.group.order
        self.group_size = n = self.group.size
        proj = vector_lift_rows(self.group).T * (2.0 / n)
        self.register_buffer("projection", proj.to(torch.get_default_dtype()), persistent=False)
        self.weight = nn.Parameter(torch.empty(self.in_channels))
        nn.init.uniform_(self.weight, -1.0, 1.0)
        self.in_field_type = _regular_type(self.in_channels, self.group)
        self.out_field_type = FieldType.vectors(1)
        self.exact_groups = (self.group.name, "translation")  # pointwise in space

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.group_size
        if x.dim() != 4 or x.shape[1] != self.in_channels * n:
            raise ValueError(
                f"{type(self).__name__} expected (B, {self.in_channels * n}, H, W), "
                f"got {tuple(x.shape)}"
            )
        kernel = torch.einsum("c,vi->vci", self.weight, self.projection.to(self.weight.dtype))
        kernel = kernel.reshape(2, self.in_channels * n, 1, 1).to(x.dtype)
        return F.conv2d(x, kernel)


class RotGroupToVector(GroupToVector):
    """C_N instance of :class:`GroupToVector` (``group_order=N >= 3``), the historical name."""

    def __init__(self, in_channels: int, group_order: int = 4) -> None:
        super().__init__(in_channels, CyclicGroup(check_positive_int(group_order, "group_order",
                                                                     minimum=3)))


class GroupPool(nn.Module):
    """Pool regular features over the group axis -> invariant scalar fields.

    Args:
        group: a finite group or its name (pools over its ``|G|`` elements), or an int N, the
            length of the innermost group axis (C_N).
        reduction: ``"mean"`` or ``"max"``.

    Shape:
        x: (B, C * |G|, H, W) -> out: (B, C, H, W)
    """

    def __init__(self, group: object, reduction: str = "mean") -> None:
        super().__init__()
        self.group = _group_or_order(group)
        #: the length of the group axis, ``|G|``
        self.group_order = self.group.size
        if reduction not in ("mean", "max"):
            raise ValueError(f"reduction must be 'mean' or 'max', got {reduction!r}")
        self.reduction = reduction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.group_order
        if x.dim() < 3 or x.shape[-3] % n:
            raise ValueError(f"GroupPool expected (..., C*{n}, H, W), got {tuple(x.shape)}")
        y = x.unflatten(-3, (x.shape[-3] // n, n))
        return y.mean(dim=-3) if self.reduction == "mean" else y.amax(dim=-3)
