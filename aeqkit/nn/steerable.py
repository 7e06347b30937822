"""Relaxed steerable convolution on escnn kernel bases, C_N, D_N and SO(2) (paper Sec. 3.2, Eq. 6-7).

The equivariant kernel basis ``{Phi_b}`` of ``escnn.nn.R2Conv`` (on ``rot2dOnR2(N)`` for C_N,
``flipRot2dOnR2(N)`` for D_N, or ``rot2dOnR2(-1)`` with a bandlimit for SO(2)) is sampled once at
construction and kept as a buffer. The kernel is

    ``Phi(y) = sum_b (w_b(y) * c_b) Phi_b(y)``                      (Eq. 7)

with steerable coefficients ``weight`` (``c_b``, one per field pair and basis element, ordinary
parameters) and ``relaxed_weights`` ``w_b(y)`` over kernel positions (or over the angle of
``y`` with ``relax="angle"``), all ones at initialisation, so the layer is exactly an escnn
steerable convolution there. ``forward`` builds the full kernel with one einsum per pair of
representation types and applies one ``F.conv2d``.

Orientation: escnn lays its kernel grid with the row index pointing *down* (``y = -row``), while
aeqkit's rows point up (DESIGN.md). The sampled basis is therefore flipped along the row axis;
after that escnn's coordinates ``(x, y)`` are aeqkit's, and each escnn group element is the aeqkit
element with the same action on the plane (``gspace.basespace_action(g) == group.vector_rep(g)``).
Vector fields are that action (for D_N escnn's ``irrep(1, 1)`` in the basis where the flip is
``(u, v) -> (-u, v)``, the kit's convention); regular fields of D_N are reordered to the channel
order of the aeqkit group's elements. The layer is thus equivariant under ``aeqkit.groups``
actions (checked in ``tests/test_nn_steerable.py`` and ``tests/test_nn_steerable_dihedral.py``
with aeqkit's own actions, not escnn's).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from aeqkit.groups import SO2, CyclicGroup, DihedralGroup, FieldType, Group, get_group
from aeqkit.nn._common import (
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
    field_blocks,
    resolve_padding,
)
from aeqkit.nn.base import RelaxedLayer

__all__ = [
    "RelaxedSteerConv2d",
    "RelaxedRotSteerConv2d",
    "RelaxedDihedralSteerConv2d",
    "steer_field_type",
    "angle_bins",
]

RELAX_MODES = ("position", "angle", None)
STEER_GROUPS = "'C<N>' (e.g. 'C4'), 'D<N>' (e.g. 'D4'), 'SO2', or such an aeqkit.groups group"


def _escnn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import escnn.gspaces as gspaces
        import escnn.nn as enn
    return gspaces, enn


_GSPACE_CACHE: dict[tuple, object] = {}
_BASIS_CACHE: dict[tuple, torch.Tensor] = {}


def _steer_group(group: object) -> CyclicGroup | DihedralGroup | SO2:
    """The aeqkit group of a steerable layer: C_N, D_N or SO(2), from a name or a group object."""
    if isinstance(group, str):
        try:
            group = get_group(group)
        except ValueError as err:
            raise ValueError(f"group must be {STEER_GROUPS}, got {group!r}") from err
    if not isinstance(group, (CyclicGroup, DihedralGroup, SO2)):
        raise ValueError(f"group must be {STEER_GROUPS}, got {group!r}")
    return group


def _group_key(group: CyclicGroup | DihedralGroup | SO2, maximum_frequency: int | None) -> tuple:
    if isinstance(group, SO2):
        return ("SO2", maximum_frequency)
    return (group.name, None)


def _gspace(group: CyclicGroup | DihedralGroup | SO2, maximum_frequency: int | None):
    """escnn gspace of ``group`` (cached, so that field types built twice are compatible)."""
    key = _group_key(group, maximum_frequency)
    if key not in _GSPACE_CACHE:
        gspaces, _ = _escnn()
        if isinstance(group, SO2):
            _GSPACE_CACHE[key] = gspaces.rot2dOnR2(-1, maximum_frequency=maximum_frequency)
        elif isinstance(group, DihedralGroup):
            # flips about the y axis (axis = pi/2): x -> -x, the kit's reflection
            _GSPACE_CACHE[key] = gspaces.flipRot2dOnR2(group.order, axis=math.pi / 2)
        else:
            _GSPACE_CACHE[key] = gspaces.rot2dOnR2(group.order)
    return _GSPACE_CACHE[key]


def _vector_repr(gs, group):
    """The escnn representation of aeqkit's ``"vector"`` fields: how the group acts on the plane."""
    return gs.basespace_action if isinstance(group, DihedralGroup) else gs.irrep(1)


def _rotation_group(group_order: object) -> CyclicGroup | SO2:
    """C_N for ``group_order=N``, SO(2) for ``-1`` (the ``group_order`` of the rotation layers)."""
    if isinstance(group_order, bool) or not isinstance(group_order, int) or group_order == 0 or (
        group_order < -1
    ):
        raise ValueError(
            f"group_order must be a positive integer N (C_N) or -1 (SO(2)), got {group_order!r}"
        )
    return SO2() if group_order == -1 else CyclicGroup(group_order)


def _dihedral_group(group_order: object) -> DihedralGroup:
    check_positive_int(group_order, "group_order")
    return DihedralGroup(group_order)


def _validated_gspace(group: CyclicGroup | DihedralGroup | SO2, maximum_frequency: int | None):
    if isinstance(group, SO2):
        if maximum_frequency is None:
            raise ValueError("SO(2) (group_order=-1) needs a bandlimit: maximum_frequency >= 1")
        check_positive_int(maximum_frequency, "maximum_frequency")
        return _gspace(group, maximum_frequency)
    return _gspace(group, None)


def _check_vectors(group) -> None:
    if isinstance(group, CyclicGroup) and group.order in (1, 2):
        raise ValueError(f"vector fields need group_order >= 3 or -1, got {group.order}")


def steer_field_type(
    group_order: int | None = None,
    vectors: int = 0,
    regulars: int = 0,
    trivials: int = 0,
    maximum_frequency: int | None = None,
    group: str | Group | None = None,
):
    """An escnn field type from counts, in the order vectors, regular fields, trivial fields.

    Vectors are the group's action on the plane (channels ``(u, v)``, aeqkit's ``"vector"``; for
    D_N a flip maps ``(u, v) -> (-u, v)``), regular fields are regular representations (aeqkit's
    ``"regular"``: a C_N rotation rolls them by +k), trivial fields are scalars. The group is
    ``group`` (``"C4"``, ``"D4"``, ``"SO2"`` or an aeqkit group) or ``group_order`` (N for C_N,
    -1 for SO(2); default C4). SO(2) has no regular fields.
    """
    if group is not None and group_order is not None:
        raise ValueError(f"pass group ({group!r}) or group_order ({group_order!r}), not both")
    g = _steer_group(group) if group is not None else _rotation_group(
        4 if group_order is None else group_order)
    gs = _validated_gspace(g, maximum_frequency)
    for name, v in (("vectors", vectors), ("regulars", regulars), ("trivials", trivials)):
        check_positive_int(v, name, minimum=0)
    if vectors + regulars + trivials == 0:
        raise ValueError("a field type needs at least one field (vectors, regulars or trivials > 0)")
    if isinstance(g, SO2) and regulars:
        raise ValueError("SO(2) (group_order=-1) has no regular fields; use vectors or trivials")
    if vectors:
        _check_vectors(g)
    _, enn = _escnn()
    reprs = [_vector_repr(gs, g)] * vectors + [gs.regular_repr] * regulars + [gs.trivial_repr] * trivials
    return enn.FieldType(gs, reprs)


def _count_blocks(counts: Sequence[int], name: str) -> tuple[str, ...]:
    """Block names of ``(vectors, regulars, trivials)`` counts, in that order."""
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence) or len(counts) != 3:
        raise ValueError(f"{name} must be (vectors, regulars, trivials), got {counts!r}")
    v, r, t = (check_positive_int(c, f"{name} entry", minimum=0) for c in counts)
    return ("vector",) * v + ("regular",) * r + ("scalar",) * t


def _as_escnn_type(t: object, gs, group) -> object:
    """Accept an escnn FieldType, an aeqkit FieldType or a sequence of block names."""
    _, enn = _escnn()
    if isinstance(t, enn.FieldType):
        if t.gspace != gs:
            raise ValueError(
                f"field type lives on {t.gspace}, but the layer uses {gs}; build both with the "
                "same group_order (or group) and maximum_frequency (see steer_field_type)"
            )
        return t
    blocks = field_blocks(t)
    if "regular" in blocks:
        _check_regular_type(t, group)
    reprs = []
    for b in blocks:
        if b == "scalar":
            reprs.append(gs.trivial_repr)
        elif b == "vector":
            _check_vectors(group)
            reprs.append(_vector_repr(gs, group))
        elif b == "regular":
            if isinstance(group, SO2):
                raise ValueError("SO(2) (group_order=-1) has no regular fields")
            reprs.append(gs.regular_repr)
        else:
            raise ValueError(f"field blocks must be 'scalar', 'vector' or 'regular', got {b!r}")
    if not reprs:
        raise ValueError("field type must contain at least one field")
    return enn.FieldType(gs, reprs)


def _check_regular_type(t: object, group) -> None:
    """Regular blocks of an aeqkit FieldType must be regular fields of the layer's group."""
    t_group = getattr(t, "group", None)
    if isinstance(group, SO2) or t_group is None:
        return
    if t_group != group:
        raise ValueError(
            f"field type has regular fields of {t_group.name} (group_order={t_group.size}), but the "
            f"layer's group is {group.name} (order {group.size}); use the same group"
        )


def _to_aeqkit_type(t, gs, group) -> FieldType | None:
    """The aeqkit FieldType of an escnn field type (None when a field has no aeqkit name)."""
    names = {gs.trivial_repr.name: "scalar", "regular": "regular"}
    if not (isinstance(group, CyclicGroup) and group.order in (1, 2)):
        names[_vector_repr(gs, group).name] = "vector"
    blocks = []
    for r in t.representations:
        if r.name not in names:
            return None
        blocks.append(names[r.name])
    return FieldType(tuple(blocks), group=group if "regular" in blocks else None)


def _element_table(gs, group) -> dict:
    """aeqkit element -> escnn element of the same action on the plane (C_N, D_N)."""
    table = {}
    for e in gs.fibergroup.elements:
        m = torch.as_tensor(gs.basespace_action(e), dtype=torch.float64)
        for g in group.elements():
            if torch.allclose(m, group.vector_rep(g), atol=1e-6):
                table[g] = e
                break
    if len(table) != group.size:
        raise RuntimeError(f"escnn's {gs} does not match aeqkit's {group.name}")  # pragma: no cover
    return table


def _regular_order(gs, group) -> torch.Tensor | None:
    """escnn channel of each aeqkit regular channel (aeqkit: channel ``i`` is ``elements()[i]``,
    ``(g f)(h) = f(g^-1 h)``); ``None`` when the orders agree."""
    if isinstance(group, SO2):
        return None
    elements = list(gs.fibergroup.elements)
    e0 = elements.index(gs.fibergroup.identity)
    table = _element_table(gs, group)
    index = []
    for g in group.elements():
        column = torch.as_tensor(gs.regular_repr(table[g]), dtype=torch.float64)[:, e0]
        index.append(int(column.argmax()))
    idx = torch.tensor(index)
    return None if torch.equal(idx, torch.arange(len(index))) else idx


def _pair_basis(gs, group, in_repr, out_repr, kernel_size: int, key: tuple) -> torch.Tensor:
    """Sampled escnn basis for one (input, output) representation pair, rows flipped to y-up,
    channels in aeqkit's order.

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
            basis = _symmetrize(basis, gs, group, in_repr, out_repr)
            order = _regular_order(gs, group)
            if order is not None and out_repr.name == "regular":
                basis = basis[:, order]
            if order is not None and in_repr.name == "regular":
                basis = basis[:, :, order]
            basis = basis.reshape(p, out_repr.size, -1, k * k)
    finally:
        torch.set_default_dtype(prev)
    _BASIS_CACHE[key] = basis
    return basis


def _symmetrize(basis: torch.Tensor, gs, group, in_repr, out_repr) -> torch.Tensor:
    """Average the float32-sampled basis over the group elements that act exactly on the grid.

    ``Phi(y) <- mean_g rho_out(g) Phi(g^{-1} y) rho_in(g)^{-1}`` over ``group.exact_elements()``
    (rotations by multiples of 90 degrees, with the flip ``x -> -x`` for D_N; SO(2): its quarter
    turns), with ``Phi(g^{-1} y)`` from ``group.kernel_matrix`` (a permutation), in float64, which
    removes escnn's float32 sampling error for the elements that act exactly on the grid.
    """
    k = basis.shape[-1]
    if isinstance(group, SO2):
        quarters = CyclicGroup(4)
        pairs = [(quarters.kernel_matrix(q, k), gs.fibergroup.element(q * math.pi / 2)) for q in range(4)]
    else:
        exact = group.exact_elements()
        if len(exact) < 2:
            return basis
        table = _element_table(gs, group)
        pairs = [(group.kernel_matrix(g, k), table[g]) for g in exact]
    acc = torch.zeros_like(basis)
    for kmat, g in pairs:
        # these elements act by signed permutations: snap escnn's ~1e-16 numerical noise
        r_out = torch.as_tensor(out_repr(g), dtype=torch.float64).round()
        r_in_inv = torch.as_tensor(in_repr(~g), dtype=torch.float64).round()
        moved = torch.einsum("yz,pbcz->pbcy", kmat, basis.flatten(-2)).reshape(basis.shape)
        acc = acc + torch.einsum("ab,pbcxy,cd->padxy", r_out, moved, r_in_inv)
    return acc / len(pairs)


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


class RelaxedSteerConv2d(RelaxedLayer):
    """Relaxed steerable convolution (paper Eq. 7) on escnn's C_N, D_N or SO(2) kernel basis.

    Args:
        in_type: escnn ``FieldType`` (see :func:`steer_field_type`), an ``aeqkit.groups.FieldType``
            or a sequence of block names (``"scalar"``, ``"vector"``, ``"regular"``).
        out_type: same, for the output.
        kernel_size: odd kernel size.
        group: ``"C<N>"`` (rotations), ``"D<N>"`` (rotations and the flip ``x -> -x``), ``"SO2"``
            (then ``maximum_frequency`` is required), or such an ``aeqkit.groups`` group.
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
        group: the aeqkit group (``CyclicGroup``, ``DihedralGroup`` or ``SO2``).
        group_order: N (rotations by ``2 pi / N``; -1 for SO(2)).
        in_type, out_type: aeqkit field types (None when a field has no aeqkit name, e.g. an
            SO(2) frequency-2 field); ``in_escnn_type`` / ``out_escnn_type`` are escnn's.
    """

    repr_fields = ("kernel_size", "group", "relax", "num_coefficients")

    def __init__(
        self,
        in_type: object,
        out_type: object,
        kernel_size: int,
        group: str | Group = "C4",
        maximum_frequency: int | None = None,
        relax: str | None = "position",
        padding: int | None = None,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if relax not in RELAX_MODES:
            raise ValueError(f"relax must be one of {RELAX_MODES}, got {relax!r}")
        group = _steer_group(group)
        gs = _validated_gspace(group, maximum_frequency)
        self.group = group
        self.kernel_size = k = check_kernel_size(kernel_size)
        self.group_order = -1 if isinstance(group, SO2) else group.order
        self.maximum_frequency = maximum_frequency if isinstance(group, SO2) else None
        self.relax = relax
        self.padding = resolve_padding(padding, k)
        self.padding_mode = check_padding_mode(padding_mode)
        self.in_escnn_type = _as_escnn_type(in_type, gs, group)
        self.out_escnn_type = _as_escnn_type(out_type, gs, group)
        self.in_channels = self.in_escnn_type.size
        self.out_channels = self.out_escnn_type.size
        self.in_type = _to_aeqkit_type(self.in_escnn_type, gs, group)
        self.out_type = _to_aeqkit_type(self.out_escnn_type, gs, group)
        if isinstance(group, SO2):
            self.repr_fields = ("kernel_size", "group", "maximum_frequency", "relax", "num_coefficients")
        #: groups the layer is exactly equivariant to with equal relaxed weights (SO(2): its
        #: quarter turns, C4)
        self.exact_groups = ("C4" if isinstance(group, SO2) else group.name,) + (
            ("translation",) if self.padding_mode == "circular" and self.padding == k // 2 else ())

        in_reprs, out_reprs = self.in_escnn_type.representations, self.out_escnn_type.representations
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
        group_key = _group_key(group, self.maximum_frequency)
        for on in out_names:
            o_fields = [j for j, r in enumerate(out_reprs) if r.name == on]
            for inn in in_names:
                i_fields = [j for j, r in enumerate(in_reprs) if r.name == inn]
                key = (*group_key, inn, on, k)
                basis = _pair_basis(gs, group, by_name[inn], by_name[on], k, key)
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
                f"no equivariant kernel exists from {self.in_escnn_type} to {self.out_escnn_type} "
                f"at kernel_size={k} (escnn basis is empty)"
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
        # the relaxed weights ``w_b(y)`` (or ``w_b(θ)``) at supported units, flattened (see
        # :meth:`relaxed_weight_grid` for the full ``(M, units)`` view); a buffer of ones if strict
        shape = (total, 1) if relax is None else (int(unit_support.sum()),)
        self.init_relaxed_weights(shape, relaxed=relax is not None)
        # bias on trivial fields and (constant over) regular fields
        bias_cols = []
        for j, r in enumerate(out_reprs):
            if r.name in (gs.trivial_repr.name, "regular"):
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
            self.reset_relaxed_weights()
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
        self._check_input(x, self.in_channels)
        bias = None
        if self.bias is not None:
            bias = self.bias_expansion.to(self.bias.dtype) @ self.bias
        return self._conv(x, self.expanded_weight(), bias)

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
        *args,
        **kwargs,
    ) -> RelaxedSteerConv2d:
        """Build from ``(vectors, regulars, trivials)`` counts, e.g. ``from_counts((2,0,0), (0,8,0), 3)``;
        further arguments as the constructor's (``group=`` / ``group_order=``, ``relax=``, ...)."""
        fi = _count_blocks(in_counts, "in_counts")
        fo = _count_blocks(out_counts, "out_counts")
        return cls(fi, fo, kernel_size, *args, **kwargs)


class RelaxedRotSteerConv2d(RelaxedSteerConv2d):
    """Relaxed rotation-steerable convolution: :class:`RelaxedSteerConv2d` on C_N (or SO(2)).

    Args as :class:`RelaxedSteerConv2d`, with ``group_order`` N for C_N or -1 for SO(2) (then
    ``maximum_frequency`` is required) in place of ``group``.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_type.size, H', W')
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
        super().__init__(in_type, out_type, kernel_size, _rotation_group(group_order),
                         maximum_frequency, relax, padding, bias, padding_mode)


class RelaxedDihedralSteerConv2d(RelaxedSteerConv2d):
    """Relaxed dihedral-steerable convolution: :class:`RelaxedSteerConv2d` on D_N (rotations by
    ``2 pi k / N`` and the flip ``x -> -x``; D1 is the flip alone), escnn's ``flipRot2dOnR2(N)``.

    Args as :class:`RelaxedSteerConv2d`, with ``group_order`` N (rotations in D_N) in place of
    ``group``. Vector fields flip as ``(u, v) -> (-u, v)``; regular fields have ``2N`` channels,
    channel ``i`` the element ``DihedralGroup(N).elements()[i]``.

    Shape:
        x: (B, in_type.size, H, W) -> out: (B, out_type.size, H', W')
    """

    def __init__(
        self,
        in_type: object,
        out_type: object,
        kernel_size: int,
        group_order: int = 4,
        relax: str | None = "position",
        padding: int | None = None,
        bias: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__(in_type, out_type, kernel_size, _dihedral_group(group_order), None,
                         relax, padding, bias, padding_mode)
