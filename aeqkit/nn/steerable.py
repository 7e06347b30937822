"""Relaxed rotation-steerable convolution on escnn kernel bases (paper Sec. 3.2, Eq. 6-7).

The equivariant kernel basis ``{Phi_b}`` of ``escnn.nn.R2Conv`` (for C_N or SO(2) with a
bandlimit) is sampled once at construction and kept as a buffer. The kernel is

    ``Phi(y) = sum_b (w_b(y) * c_b) Phi_b(y)``                      (Eq. 7)

with steerable coefficients ``weight`` (``c_b``, one per field pair and basis element, ordinary
parameters) and ``relaxed_weights`` ``w_b(y)`` over kernel positions (or over the angle of
``y`` with ``relax="angle"``), all ones at initialisation, so the layer is exactly an escnn
steerable convolution there. ``forward`` builds the full kernel with one einsum per pair of
representation types and applies one ``F.conv2d``.

Orientation: escnn lays its kernel grid with the row index pointing *down* (``y = -row``), while
aeqkit's rows point up (DESIGN.md). The sampled basis is therefore flipped along the row axis;
representations are unchanged. With this, the layer is equivariant under ``aeqkit.groups``
actions (checked in ``tests/test_nn_steerable.py`` with aeqkit's own actions, not escnn's).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    resolve_padding,
)

__all__ = ["RelaxedRotSteerConv2d", "steer_field_type", "angle_bins"]

RELAX_MODES = ("position", "angle", None)


def _escnn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import escnn.gspaces as gspaces
        import escnn.nn as enn
    return gspaces, enn


_GSPACE_CACHE: dict[tuple[int, int | None], object] = {}
_BASIS_CACHE: dict[tuple, torch.Tensor] = {}


def _gspace(group_order: int, maximum_frequency: int | None):
    key = (group_order, maximum_frequency)
    if key not in _GSPACE_CACHE:
        gspaces, _ = _escnn()
        if group_order == -1:
            _GSPACE_CACHE[key] = gspaces.rot2dOnR2(-1, maximum_frequency=maximum_frequency)
        else:
            _GSPACE_CACHE[key] = gspaces.rot2dOnR2(group_order)
    return _GSPACE_CACHE[key]


def steer_field_type(
    group_order: int = 4,
    vectors: int = 0,
    regulars: int = 0,
    trivials: int = 0,
    maximum_frequency: int | None = None,
):
    """An escnn field type from counts, in the order vectors, regular fields, trivial fields.

    Vectors are escnn's frequency-1 irrep (channels ``(u, v)``, aeqkit's ``"vector"``), regular
    fields are C_N regular representations (aeqkit's ``"regular"``: a rotation rolls them by +k),
    trivial fields are scalars. SO(2) (``group_order=-1``) has no regular fields.
    """
    gs = _validated_gspace(group_order, maximum_frequency)
    for name, v in (("vectors", vectors), ("regulars", regulars), ("trivials", trivials)):
        check_positive_int(v, name, minimum=0)
    if vectors + regulars + trivials == 0:
        raise ValueError("a field type needs at least one field (vectors, regulars or trivials > 0)")
    if group_order == -1 and regulars:
        raise ValueError("SO(2) (group_order=-1) has no regular fields; use vectors or trivials")
    if vectors and group_order in (1, 2):
        raise ValueError(f"vector fields need group_order >= 3 or -1, got {group_order}")
    _, enn = _escnn()
    reprs = [gs.irrep(1)] * vectors + [gs.regular_repr] * regulars + [gs.trivial_repr] * trivials
    return enn.FieldType(gs, reprs)


def _validated_gspace(group_order: int, maximum_frequency: int | None):
    if isinstance(group_order, bool) or not isinstance(group_order, int) or group_order == 0 or (
        group_order < -1
    ):
        raise ValueError(
            f"group_order must be a positive integer N (C_N) or -1 (SO(2)), got {group_order!r}"
        )
    if group_order == -1:
        if maximum_frequency is None:
            raise ValueError("SO(2) (group_order=-1) needs a bandlimit: maximum_frequency >= 1")
        check_positive_int(maximum_frequency, "maximum_frequency")
    return _gspace(group_order, maximum_frequency if group_order == -1 else None)


def _as_escnn_type(t: object, gs, group_order: int):
    """Accept an escnn FieldType, an aeqkit FieldType or a sequence of block names."""
    _, enn = _escnn()
    if isinstance(t, enn.FieldType):
        if t.gspace != gs:
            raise ValueError(
                f"field type lives on {t.gspace}, but the layer uses {gs}; build both with the "
                "same group_order / maximum_frequency (see steer_field_type)"
            )
        return t
    from aeqkit.nn._common import field_blocks

    blocks = field_blocks(t)
    t_order = getattr(t, "group_order", None)
    if "regular" in blocks and t_order is not None and t_order != group_order:
        raise ValueError(
            f"field type has regular fields of order {t_order}, but the layer's group_order is "
            f"{group_order}; use the same order"
        )
    reprs = []
    for b in blocks:
        if b == "scalar":
            reprs.append(gs.trivial_repr)
        elif b == "vector":
            if group_order in (1, 2):
                raise ValueError(f"vector fields need group_order >= 3 or -1, got {group_order}")
            reprs.append(gs.irrep(1))
        elif b == "regular":
            if group_order == -1:
                raise ValueError("SO(2) (group_order=-1) has no regular fields")
            reprs.append(gs.regular_repr)
        else:
            raise ValueError(f"field blocks must be 'scalar', 'vector' or 'regular', got {b!r}")
    if not reprs:
        raise ValueError("field type must contain at least one field")
    return enn.FieldType(gs, reprs)


def _to_aeqkit_type(t, group_order: int):
    from aeqkit.groups import FieldType

    names = {"irrep_0": "scalar", "irrep_1": "vector", "regular": "regular"}
    blocks = []
    for r in t.representations:
        if r.name not in names:
            return None
        blocks.append(names[r.name])
    return FieldType(tuple(blocks), group_order if "regular" in blocks else None)


def _pair_basis(gs, in_repr, out_repr, kernel_size: int, key: tuple) -> torch.Tensor:
    """Sampled escnn basis for one (input, output) representation pair, rows flipped to y-up.

    Shape:
        out: (P, out_size, in_size, k*k), float64
    """
    if key in _BASIS_CACHE:
        return _BASIS_CACHE[key]
    _, enn = _escnn()
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)  # escnn's basis code assumes float32 defaults
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = enn.R2Conv(
                enn.FieldType(gs, [in_repr]),
                enn.FieldType(gs, [out_repr]),
                kernel_size,
                bias=False,
                initialize=False,
            )
        p = conv.weights.numel()
        k = kernel_size
        if p == 0:
            basis = torch.zeros(0, out_repr.size, in_repr.size, k * k, dtype=torch.float64)
        else:
            with torch.no_grad():
                eye = torch.eye(p, dtype=conv.weights.dtype)
                basis = torch.stack([conv.basisexpansion(eye[j]) for j in range(p)])
            basis = basis.reshape(p, out_repr.size, in_repr.size, k, k).flip(-2)
            basis = basis.reshape(p, out_repr.size, in_repr.size, k, k).double()
            basis = _symmetrize(basis, gs, in_repr, out_repr).reshape(p, out_repr.size, -1, k * k)
    finally:
        torch.set_default_dtype(prev)
    _BASIS_CACHE[key] = basis
    return basis


def _symmetrize(basis: torch.Tensor, gs, in_repr, out_repr) -> torch.Tensor:
    """Average the float32-sampled basis over the exact 90-degree rotations in the group.

    ``Phi(y) <- mean_k rho_out(g_k) Phi(R_k^{-1} y) rho_in(g_k)^{-1}`` (float64), which removes
    escnn's float32 sampling error for the elements that act exactly on the grid.
    """
    n = gs.fibergroup.order()
    if n == -1 or n % 4 == 0:
        steps = 4
    elif n % 2 == 0:
        steps = 2
    else:
        return basis
    acc = torch.zeros_like(basis)
    for q in range(steps):
        quarter = q * 4 // steps
        if n == -1:
            g = gs.fibergroup.element(quarter * math.pi / 2)
        else:
            g = gs.fibergroup.element(quarter * n // 4)
        # quarter turns act by signed permutations: snap escnn's ~1e-16 numerical noise
        r_out = torch.as_tensor(out_repr(g), dtype=torch.float64).round()
        r_in_inv = torch.as_tensor(in_repr(~g), dtype=torch.float64).round()
        rotated = torch.rot90(basis, quarter, dims=(-1, -2))
        acc = acc + torch.einsum("ab,pbcxy,cd->padxy", r_out, rotated, r_in_inv)
    return acc / steps


def angle_bins(kernel_size: int) -> torch.Tensor:
    """One-hot assignment of kernel positions to angle bins (``theta = atan2(y)``), centre apart.

    Bin 0 is the centre (no angle); the other bins are the distinct angles of the grid points.

    Shape:
        out: (num_bins, k*k), float64
    """
    k = kernel_size
    c = (k - 1) / 2
    angles = []
    for r in range(k):
        for col in range(k):
            if r == c and col == c:
                angles.append(None)
            else:
                angles.append(round(math.atan2(r - c, col - c) % (2 * math.pi), 9))
    unique = sorted({a for a in angles if a is not None})
    a = torch.zeros(len(unique) + 1, k * k, dtype=torch.float64)
    for p, ang in enumerate(angles):
        a[0 if ang is None else unique.index(ang) + 1, p] = 1.0
    return a


class RelaxedRotSteerConv2d(nn.Module):
    """Relaxed rotation-steerable convolution (paper Eq. 7) on escnn's C_N / SO(2) kernel basis.

    Args:
        in_type: escnn ``FieldType`` (see :func:`steer_field_type`), an ``aeqkit.groups.FieldType``
            or a sequence of block names (``"scalar"``, ``"vector"``, ``"regular"``).
        out_type: same, for the output.
        kernel_size: odd kernel size.
        group_order: N for C_N, or -1 for SO(2) (then ``maximum_frequency`` is required).
        maximum_frequency: bandlimit of the SO(2) irreps.
        relax: ``"position"`` (``w(y)`` per kernel position), ``"angle"`` (``w(theta)``, the centre
            keeps its own weight) or ``None`` (strict steerable convolution, no relaxed weights).
        padding: zero padding (``None``: ``kernel_size // 2``).
        bias: bias on trivial and regular output fields only (constant over a regular field), so
            it keeps equivariance; vector fields get none.
        padding_mode: as in ``nn.Conv2d``.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_type.size, H', W')

    Attributes:
        weight: (M,) steerable coefficients ``c``, one per (output field, input field, basis).
        relaxed_weights: (M, num_positions) ``w(y)`` (or (M, num_angle_bins)), ones at init.
    """

    def __init__(
        self,
        in_type: object,
        out_type: object,
        kernel_size: int,
        group_order: int = 4,
        maximum_frequency: int | None = None,
        relax: str | None = "position",
        padding: int | None = None,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if relax not in RELAX_MODES:
            raise ValueError(f"relax must be one of {RELAX_MODES}, got {relax!r}")
        gs = _validated_gspace(group_order, maximum_frequency)
        self.kernel_size = k = check_kernel_size(kernel_size)
        self.group_order = group_order
        self.maximum_frequency = maximum_frequency
        self.relax = relax
        self.padding = resolve_padding(padding, k)
        self.padding_mode = check_padding_mode(padding_mode)
        self.in_type = _as_escnn_type(in_type, gs, group_order)
        self.out_type = _as_escnn_type(out_type, gs, group_order)
        self.in_channels = self.in_type.size
        self.out_channels = self.out_type.size
        #: aeqkit field types (None when a field has no aeqkit name, e.g. SO(2) frequency 2)
        self.in_field_type = _to_aeqkit_type(self.in_type, group_order)
        self.out_field_type = _to_aeqkit_type(self.out_type, group_order)
        #: groups the layer is exactly equivariant to with equal relaxed weights
        self.exact_groups = (f"C{group_order}",) + (
            ("translation",) if self.padding_mode == "circular" and self.padding == k // 2 else ())

        in_reprs, out_reprs = self.in_type.representations, self.out_type.representations
        in_offsets = [0]
        for r in in_reprs:
            in_offsets.append(in_offsets[-1] + r.size)
        out_offsets = [0]
        for r in out_reprs:
            out_offsets.append(out_offsets[-1] + r.size)
        in_names = sorted({r.name for r in in_reprs})
        out_names = sorted({r.name for r in out_reprs})
        by_name = {r.name: r for r in list(in_reprs) + list(out_reprs)}
        self._pairs: list[tuple[int, int, int, int, int, int]] = []
        total = 0
        homogeneous = len(in_names) == 1 and len(out_names) == 1
        self._homogeneous = homogeneous
        for on in out_names:
            o_fields = [j for j, r in enumerate(out_reprs) if r.name == on]
            for inn in in_names:
                i_fields = [j for j, r in enumerate(in_reprs) if r.name == inn]
                key = (group_order, maximum_frequency, inn, on, k)
                basis = _pair_basis(gs, by_name[inn], by_name[on], k, key)
                p = basis.shape[0]
                if p == 0:
                    continue
                t = len(self._pairs)
                # kept in float64 (cast to the weights' dtype in forward) so that a model
                # built in float32 and moved to float64 is exactly equivariant there too
                self.register_buffer(f"basis_{t}", basis.clone(), persistent=False)
                o_idx = torch.cat(
                    [torch.arange(out_offsets[j], out_offsets[j + 1]) for j in o_fields]
                )
                i_idx = torch.cat([torch.arange(in_offsets[j], in_offsets[j + 1]) for j in i_fields])
                self.register_buffer(f"out_index_{t}", o_idx, persistent=False)
                self.register_buffer(f"in_index_{t}", i_idx, persistent=False)
                m = len(o_fields) * len(i_fields) * p
                self._pairs.append((total, m, len(o_fields), len(i_fields), p, t))
                total += m
        if total == 0:
            raise ValueError(
                f"no equivariant kernel exists from {self.in_type} to {self.out_type} at "
                f"kernel_size={k} (escnn basis is empty)"
            )
        self.num_coefficients = total
        self.weight = nn.Parameter(torch.empty(total))
        if relax == "position":
            assign = torch.eye(k * k, dtype=torch.float64)
        elif relax == "angle":
            assign = angle_bins(k)
        else:
            assign = torch.ones(1, k * k, dtype=torch.float64)
        self.register_buffer(
            "position_assignment", assign.to(torch.get_default_dtype()), persistent=False
        )
        # a relaxed weight w_b(y) only matters where its basis kernel Phi_b(y) is non-zero (escnn's
        # kernels vanish e.g. at the centre for non-zero frequencies): only those are parameters
        support = torch.zeros(total, k * k, dtype=torch.bool)
        for off, m, no, ni, p, t in self._pairs:
            nz = (getattr(self, f"basis_{t}").abs() > 1e-12).flatten(1, 2).any(1)  # (p, k*k)
            support[off:off + m] = nz[None, None].expand(no, ni, p, k * k).reshape(m, k * k)
        unit_support = (support.double() @ assign.T) > 0 if relax is not None else support[:, :1] | True
        self.register_buffer("position_support", support, persistent=False)
        self.register_buffer("relaxed_support", unit_support, persistent=False)
        if relax is None:
            self.register_buffer("relaxed_weights", torch.ones(total, 1))
        else:
            #: the relaxed weights ``w_b(y)`` (or ``w_b(θ)``) at supported units, flattened; see
            #: :meth:`relaxed_weight_grid` for the full ``(M, units)`` view
            self.relaxed_weights = nn.Parameter(torch.ones(int(unit_support.sum())))
        # bias on trivial fields and (constant over) regular fields
        bias_cols = []
        for j, r in enumerate(out_reprs):
            if r.name in ("irrep_0", "regular"):
                col = torch.zeros(self.out_channels, dtype=torch.float64)
                col[out_offsets[j] : out_offsets[j + 1]] = 1.0
                bias_cols.append(col)
        if bias and bias_cols:
            self.register_buffer(
                "bias_expansion",
                torch.stack(bias_cols, 1).to(torch.get_default_dtype()),
                persistent=False,
            )
            self.bias = nn.Parameter(torch.zeros(len(bias_cols)))
        else:
            self.bias = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-style init of the coefficients (basis elements are normalised by escnn)."""
        with torch.no_grad():
            for off, m, _no, ni, p, t in self._pairs:
                basis = getattr(self, f"basis_{t}")
                in_size = basis.shape[2]
                # variance of a kernel entry ~ sum_b c_b^2 |Phi_b|^2; aim for 1 / fan_in
                norm2 = basis.pow(2).sum(dim=(1, 3)).mean().clamp_min(1e-12)
                fan_in = ni * in_size
                std = math.sqrt(1.0 / (fan_in * float(norm2) * p) * in_size)
                self.weight[off : off + m].normal_(0.0, std)
            self.relaxed_weights.fill_(1.0)
            if self.bias is not None:
                self.bias.zero_()

    def relaxed_weight_grid(self) -> torch.Tensor:
        """Relaxed weights per coefficient and unit (position or angle bin); 1 where unsupported.

        Shape:
            out: (M, k*k) for ``relax="position"``, (M, bins) for ``"angle"``, (M, 1) strict
        """
        rw = self.relaxed_weights
        if self.relax is None:
            return rw
        grid = rw.new_ones(self.relaxed_support.shape)
        return grid.masked_scatter(self.relaxed_support, rw)

    def positional_weights(self) -> torch.Tensor:
        """Effective ``w(y) * c`` per coefficient and kernel position.

        Shape:
            out: (M, k*k)
        """
        rw = self.relaxed_weight_grid()
        if self.relax == "position":
            pos = rw
        else:
            pos = rw @ self.position_assignment.to(rw.dtype)
        return pos * self.weight[:, None]

    def expanded_weight(self) -> torch.Tensor:
        """The full ``(out_channels, in_channels, k, k)`` kernel of Eq. 7."""
        k = self.kernel_size
        coeff = self.positional_weights()
        if self._homogeneous:
            off, m, no, ni, p, t = self._pairs[0]
            basis = getattr(self, f"basis_{t}")
            c = coeff.reshape(no, ni, p, k * k)
            kern = torch.einsum("oiby,bpqy->opiqy", c, basis.to(c.dtype))
            return kern.reshape(self.out_channels, self.in_channels, k, k)
        kern = coeff.new_zeros(self.out_channels, self.in_channels, k * k)
        for off, m, no, ni, p, t in self._pairs:
            basis = getattr(self, f"basis_{t}")
            c = coeff[off : off + m].reshape(no, ni, p, k * k)
            block = torch.einsum("oiby,bpqy->opiqy", c, basis.to(c.dtype))
            block = block.reshape(no * basis.shape[1], ni * basis.shape[2], k * k)
            o_idx = getattr(self, f"out_index_{t}")
            i_idx = getattr(self, f"in_index_{t}")
            kern = kern.index_put((o_idx[:, None], i_idx[None, :]), block)
        return kern.reshape(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"RelaxedRotSteerConv2d expected (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        weight = self.expanded_weight()
        bias = None
        if self.bias is not None:
            bias = self.bias_expansion.to(self.bias.dtype) @ self.bias
        if self.padding_mode != "zeros" and self.padding > 0:
            p = self.padding
            x = F.pad(x, (p, p, p, p), mode=self.padding_mode)
            return F.conv2d(x, weight, bias)
        return F.conv2d(x, weight, bias, padding=self.padding)

    def equivariance_penalty(self) -> torch.Tensor:
        """Unscaled Sec. 3.3 regulariser ``||dw/dm||_1 + ||dw/dn||_1`` (finite differences of the
        effective positional weights over the kernel grid; L1, not squared), over pairs of
        neighbouring positions where the coefficient's basis kernel is non-zero at both."""
        k = self.kernel_size
        w = self.positional_weights().reshape(-1, k, k)
        if k == 1:
            return w.sum() * 0.0
        sup = self.position_support.reshape(-1, k, k)
        zero = w.new_zeros(())
        dm = torch.where(sup[:, 1:, :] & sup[:, :-1, :], (w[:, 1:, :] - w[:, :-1, :]).abs(), zero).sum()
        dn = torch.where(sup[:, :, 1:] & sup[:, :, :-1], (w[:, :, 1:] - w[:, :, :-1]).abs(), zero).sum()
        return dm + dn

    @classmethod
    def from_counts(
        cls,
        in_counts: Sequence[int],
        out_counts: Sequence[int],
        kernel_size: int,
        group_order: int = 4,
        maximum_frequency: int | None = None,
        **kwargs,
    ) -> RelaxedRotSteerConv2d:
        """Build from ``(vectors, regulars, trivials)`` counts, e.g. ``from_counts((2,0,0), (0,8,0), 3)``."""
        if len(in_counts) != 3 or len(out_counts) != 3:
            raise ValueError("in_counts / out_counts must be (vectors, regulars, trivials)")
        fi = steer_field_type(group_order, *in_counts, maximum_frequency=maximum_frequency)
        fo = steer_field_type(group_order, *out_counts, maximum_frequency=maximum_frequency)
        return cls(fi, fo, kernel_size, group_order, maximum_frequency, **kwargs)

    def extra_repr(self) -> str:
        g = f"C{self.group_order}" if self.group_order > 0 else f"SO2(max_freq={self.maximum_frequency})"
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, group={g}, "
            f"relax={self.relax}, coefficients={self.num_coefficients}"
        )
