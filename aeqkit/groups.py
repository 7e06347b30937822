"""Group actions on scalar, vector and regular feature fields: the one convention of aeqkit.

Convention (see also DESIGN.md and the README's picture):

* A field is a tensor ``x`` of shape ``(..., C, H, W)``; leading axes (batch, time) broadcast.
* The row axis ``H`` is **y pointing up** (row 0 at the bottom) and the column axis ``W`` is **x
  pointing right**, exactly PhiFlow's ``values.numpy('y,x')`` layout. Plot with ``origin="lower"``.
* Velocity channels are ``(u, v)`` = (x-component, y-component).
* A group element ``g`` acts as ``(g·f)(p) = ρ(g) f(g⁻¹ p)``: the grid is moved by ``g`` and the
  channels are mixed by the fibre representation ``ρ(g)`` (identity on scalars, the 2x2 matrix on
  vectors, the regular permutation of the field's group on regular features). A rotation by θ is
  counter-clockwise; for θ = k·90° the spatial part is ``torch.rot90(x, k, dims=(-1, -2))`` and
  ``(u, v) -> R_θ (u, v)``, e.g. ``(u, v) -> (-v, u)`` for 90°. (Rotating the grid by -θ but the
  components by +θ, as the paper's public code does on y-up arrays, is not a symmetry of the physics.)

The group is the central object. A :class:`FiniteGroup` (:class:`CyclicGroup` C_N,
:class:`DihedralGroup` D_N; every element is ``rot(θ) ∘ flip^m``) supplies, from its law and the
geometry of its elements,

* its regular representation ``ρ_reg(g)``: :meth:`FiniteGroup.regular_permutation`, ``(g·f)(h) =
  f(g⁻¹h)``, channels in the order of ``elements()`` (for C_N a roll by +k);
* its action on convolution kernels ``(g·K)(p) = K(g⁻¹p)``: :meth:`FiniteGroup.kernel_matrix` /
  :meth:`FiniteGroup.kernel_matrices` (exact permutations at multiples of 90°), from which the group
  convolutions of :mod:`aeqkit.nn` are built;
* its action on fields, :meth:`FiniteGroup.act`.

A :class:`FieldType` carries the group of its regular blocks (``FieldType.regular(n, group="D4")``;
an int ``group_order`` means C_N), so the path is FieldType -> group -> ``ρ_reg`` / kernel action
-> every action and every equivariance check (:mod:`aeqkit.equivariance` only calls ``act``). All
rotations and reflections go through one planar action (grid, vectors by
:meth:`FiniteGroup.spatial_matrix`, regular blocks by the permutation of the field group's element
with the same geometry, :meth:`FiniteGroup.find`): C4 acts on C8 or D4 regular fields, a flip on C8
regular fields is a ``ValueError`` naming both groups.

Other groups: :class:`SO2`, :class:`TranslationGroup`, :class:`ScaleGroup` and
:class:`UniformMotionGroup`; :func:`get_group` builds one from a name such as ``"C4"``, ``"D4"``,
``"SO2"``, ``"translation"``, ``"scaling"``. Functional forms: :func:`rot90_field`,
:func:`rotate_field`, :func:`reflect_field`, :func:`translate_field`, :func:`scale_field`,
:func:`uniform_motion`.

See also: notebook 00, section 1.
"""

from __future__ import annotations

import math
import numbers
import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "FieldType",
    "as_field_type",
    "as_finite_group",
    "Group",
    "FiniteGroup",
    "CyclicGroup",
    "DihedralGroup",
    "SO2",
    "TranslationGroup",
    "ScaleGroup",
    "UniformMotionGroup",
    "get_group",
    "GROUP_NAMES",
    "rotation_matrix",
    "rot90_field",
    "rotate_field",
    "reflect_field",
    "translate_field",
    "scale_field",
    "uniform_motion",
    "galilean_boost",
    "scale_steps",
    "kernel_rotation_matrices",
]

BLOCK_KINDS = ("scalar", "vector", "regular", "scale")


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldType:
    """How the channel axis of a field is typed: a tuple of blocks, and the group of its regular blocks.

    Each block is ``"scalar"`` (1 channel), ``"vector"`` (2 channels, ``(u, v)``), ``"regular"``
    (``group.size`` channels: a function ``f(h)`` on the finite group ``group``, in the order of
    ``group.elements()``; an element ``g`` acts as ``(g·f)(h) = f(g⁻¹h)``, i.e. through
    :meth:`FiniteGroup.regular_permutation`; for C_N a rotation by k steps rolls the block by +k) or
    ``"scale"`` (``num_scales`` channels: one feature per scale ``scale_step**s`` of a scale CNN, in
    the units of the input raised to ``scale_weight``: 1 for velocities, 0 for scalars). Rotations,
    reflections and translations move a scale block like scalars; the scaling ``λ = scale_step**m``
    multiplies it by ``λ**scale_weight`` and shifts its scale axis,
    ``(λ·h)[s](p) = λ^w h[s + m](λ p)``; scales shifted in from outside ``0..S-1`` are zero and
    masked (:meth:`ScaleGroup.channel_mask`).

    ``group`` is the :class:`FiniteGroup` of the regular blocks (a group or a name such as ``"D4"``);
    an int ``group_order`` alone means ``CyclicGroup(group_order)`` (the positional form
    ``FieldType(blocks, group_order)`` of earlier versions). ``group_order`` always reads as the
    number of channels of one regular block (``group.size``: N for C_N, 2N for D_N).

    Example: ``FieldType.vectors(10)`` types 10 stacked velocity frames, 20 channels;
    ``FieldType.regular(3, group="D4")`` three regular D4 fields, 24 channels;
    ``FieldType.scale_fields(24, 3, 2.0)`` the 72 channels of a dilation scale layer.
    """

    blocks: tuple[str, ...]
    group_order: int | None = None
    num_scales: int | None = None
    scale_step: float | None = None
    scale_weight: float = 1.0
    group: FiniteGroup | None = None

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        object.__setattr__(self, "blocks", blocks)
        for b in blocks:
            if b not in BLOCK_KINDS:
                raise ValueError(f"unknown field block {b!r}; accepted kinds: {', '.join(BLOCK_KINDS)}")
        group = self.group
        if group is not None:
            group = as_finite_group(group, "group")
            if self.group_order is not None and self.group_order != group.size:
                raise ValueError(f"conflicting group_order={self.group_order!r} and group={group.name} "
                                 f"(whose regular fields have {group.size} channels); pass one of them")
            object.__setattr__(self, "group", group)
            object.__setattr__(self, "group_order", group.size)
        elif isinstance(self.group_order, int) and not isinstance(self.group_order, bool) \
                and self.group_order >= 1:
            object.__setattr__(self, "group", CyclicGroup(self.group_order))
        if "regular" in blocks and (self.group_order is None or self.group_order < 1):
            raise ValueError("a FieldType with 'regular' blocks needs group_order >= 1 or a group, "
                             f"got group_order={self.group_order!r}")
        if "scale" in blocks and (not isinstance(self.num_scales, int) or self.num_scales < 1
                                  or not isinstance(self.scale_step, (int, float))
                                  or not self.scale_step > 1):
            raise ValueError("a FieldType with 'scale' blocks needs num_scales >= 1 and scale_step > 1, "
                             f"got num_scales={self.num_scales!r}, scale_step={self.scale_step!r}")

    @classmethod
    def scalars(cls, n: int = 1) -> FieldType:
        return cls(("scalar",) * n)

    @classmethod
    def vectors(cls, n: int = 1) -> FieldType:
        return cls(("vector",) * n)

    @classmethod
    def regular(cls, n: int, group_order: int | None = None, *,
                group: FiniteGroup | str | None = None) -> FieldType:
        """``n`` regular fields of ``group`` (a :class:`FiniteGroup` or a name such as ``"C8"``,
        ``"D4"``), or of ``CyclicGroup(group_order)`` when only the int ``group_order`` is given."""
        if group is None and group_order is None:
            raise ValueError("FieldType.regular needs group_order (N of C_N) or group (e.g. 'C8', 'D4')")
        return cls(("regular",) * n, group_order=group_order, group=group)

    @classmethod
    def scale_fields(cls, n: int, num_scales: int, scale_step: float, scale_weight: float = 1.0) -> FieldType:
        """``n`` scale features of ``num_scales`` scales each (scale axis innermost), in units of
        velocity (``scale_weight=1``) or of a scalar (0)."""
        return cls(("scale",) * n, num_scales=num_scales, scale_step=float(scale_step),
                   scale_weight=float(scale_weight))

    @property
    def size(self) -> int:
        """Number of channels ``C``."""
        return sum(self.block_size(b) for b in self.blocks)

    def block_size(self, kind: str) -> int:
        return {"scalar": 1, "vector": 2, "regular": self.group_order or 0,
                "scale": self.num_scales or 0}[kind]

    def __add__(self, other: FieldType) -> FieldType:
        if ("regular" in self.blocks and "regular" in other.blocks and self.group is not None
                and other.group is not None and self.group != other.group):
            raise ValueError("cannot concatenate regular fields of different groups "
                             f"({self.group.name} and {other.group.name}); different group orders "
                             f"({self.group_order} and {other.group_order}) or kinds")
        if ("scale" in self.blocks and "scale" in other.blocks
                and (self.num_scales, self.scale_step) != (other.num_scales, other.scale_step)):
            raise ValueError("cannot concatenate scale fields with different scale axes ("
                             f"{self.num_scales} x {self.scale_step} and "
                             f"{other.num_scales} x {other.scale_step})")
        weight = self.scale_weight if "scale" in self.blocks else other.scale_weight
        group = (self.group if "regular" in self.blocks else None) or \
            (other.group if "regular" in other.blocks else None) or self.group or other.group
        return FieldType(self.blocks + other.blocks, None if group else self.group_order or other.group_order,
                         self.num_scales or other.num_scales, self.scale_step or other.scale_step, weight,
                         group=group)

    def __repr__(self) -> str:
        parts, prev, count = [], None, 0
        for b in (*self.blocks, None):
            if b == prev:
                count += 1
                continue
            if prev is not None:
                parts.append(f"{count}x{prev}")
            prev, count = b, 1
        go = f", N={self.group.name if self.group else self.group_order}" if "regular" in self.blocks else ""
        go += f", S={self.num_scales} x {self.scale_step:g}" if "scale" in self.blocks else ""
        return f"FieldType({' + '.join(parts)}{go})"


def as_field_type(spec: FieldType | str | Sequence[str], channels: int,
                  group_order: int | None = None, group: FiniteGroup | str | None = None) -> FieldType:
    """Resolve ``spec`` against a channel count.

    ``spec`` may be a :class:`FieldType`, a kind name meaning "every channel is of this kind"
    (``"scalar"``, ``"vector"``, ``"regular"``), or a sequence of kind names. Regular blocks named by a
    string are regular fields of ``group`` (a :class:`FiniteGroup` or a name), else of
    ``CyclicGroup(group_order)``.
    """
    if isinstance(spec, FieldType):
        ft = spec
    elif isinstance(spec, str):
        if spec not in BLOCK_KINDS:
            raise ValueError(f"unknown field type {spec!r}; accepted: a FieldType or one of "
                             f"{', '.join(BLOCK_KINDS)}")
        if spec == "scalar":
            ft = FieldType.scalars(channels)
        elif spec == "vector":
            if channels % 2:
                raise ValueError(f"a vector field needs an even number of channels ((u, v) pairs), "
                                 f"got {channels} channels")
            ft = FieldType.vectors(channels // 2)
        else:
            if group is not None:
                group = as_finite_group(group, "group")
                group_order = group.size
            if group_order is None or channels % group_order:
                raise ValueError(f"regular fields need group_order dividing the channel count, got "
                                 f"{channels} channels and group_order={group_order}")
            ft = FieldType.regular(channels // group_order, group_order, group=group)
    else:
        ft = FieldType(tuple(spec), group_order, group=group)
    if ft.size != channels:
        raise ValueError(f"field type {ft!r} has {ft.size} channels but the tensor has {channels} "
                         "channels on axis -3 (expected shape (..., C, H, W))")
    return ft


def as_finite_group(group: Any, name: str = "group") -> FiniteGroup:
    """``group`` as a :class:`FiniteGroup`: a group object, or a name built by :func:`get_group`
    (``"C4"``, ``"C8"``, ``"D4"``, ``"reflection"`` = D1); ValueError naming ``name`` for infinite or
    unknown groups. The one validator of finite groups (field types, group convolutions)."""
    g = get_group(group) if isinstance(group, str) else group
    if not isinstance(g, FiniteGroup):
        raise ValueError(f"{name} must be a finite group of aeqkit.groups (C_N or D_N: e.g. 'C4', 'C8', "
                         f"'D4', 'D1', or a CyclicGroup / DihedralGroup), got {group!r}")
    return g


def _check_field(x: torch.Tensor, field_type: FieldType | str | Sequence[str],
                 check_finite: bool = True, group_order: int | None = None,
                 group: FiniteGroup | None = None) -> FieldType:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"expected a torch.Tensor of shape (..., C, H, W), got {type(x).__name__}")
    if x.ndim < 3:
        raise ValueError(f"expected a field of shape (..., C, H, W) with at least 3 dimensions, "
                         f"got shape {tuple(x.shape)}")
    if check_finite and (x.is_floating_point() or x.is_complex()) and not bool(torch.isfinite(x).all()):
        raise ValueError("field contains NaN or inf; expected finite values (clean the data first)")
    return as_field_type(field_type, x.shape[-3], group_order, group)


def _as_int(value: Any, name: str, accepted: str) -> int:
    """``value`` as a Python int if it is an integer (int, numpy or 0-dim integer tensor), else ValueError."""
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point() \
            and value.dtype != torch.bool:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer ({accepted}), got {value!r}")
    return int(value)


def _as_real(value: Any, name: str, accepted: str) -> float:
    """``value`` as a finite float, else ValueError naming ``name``."""
    if isinstance(value, torch.Tensor) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number ({accepted}), got {value!r}")
    return float(value)


def _as_pair(value: Any, name: str, accepted: str) -> tuple[float, float]:
    """``value`` as a pair of finite floats, else ValueError naming ``name``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{name} must be a pair ({accepted}), got {value!r}")
    return (_as_real(value[0], name, accepted), _as_real(value[1], name, accepted))


def rotation_matrix(theta: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The 2x2 counter-clockwise rotation ``R_θ``; exact entries for multiples of 90°."""
    q = theta / (math.pi / 2)
    if abs(q - round(q)) < 1e-12:
        c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][int(round(q)) % 4]
    else:
        c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, -s], [s, c]], dtype=dtype)


def _regular_element(ft: FieldType, angle: float, flip: bool, acting: str | None = None) -> Hashable:
    """The element of ``ft.group`` with the geometry ``rot(angle) ∘ flip^m``, else a ValueError naming both
    the acting element and the field's group (e.g. a 45° rotation on C4 fields, a flip on C8 fields)."""
    group = ft.group
    h = group.find(angle, flip) if group is not None else None
    if h is None:
        what = acting or (f"a rotation by {math.degrees(angle):.6g}°" + (" after a flip" if flip else ""))
        have = group.name if group is not None else f"order {ft.group_order}"
        hint = (f"use regular fields of a group containing it, e.g. "
                f"FieldType.regular(n, group='D{group.order}')"
                if flip and group is not None and not any(group.is_flip(e) for e in group.elements())
                else "use regular fields of a group containing it (e.g. a multiple of its order) or "
                "scalar/vector fields")
        raise ValueError(f"{what} does not act on the regular fields of {have}: {have} has no element "
                         f"rotating by {math.degrees(angle):.6g}°{' with a flip' if flip else ''}; {hint}")
    return h


def _fiber(x: torch.Tensor, ft: FieldType, vec: torch.Tensor, scalar: float = 1.0, angle: float = 0.0,
           flip: bool = False, scale_factor: float = 1.0, scale_shift: int = 0,
           acting: str | None = None) -> torch.Tensor:
    """Apply the fibre representation block-wise on the channel axis -3.

    Scalars are multiplied by ``scalar``, vectors by the 2x2 ``vec``; a regular block is permuted by
    ``ft.group.regular_permutation(h)`` where ``h`` is the element of the field's own group with the
    geometry ``rot(angle) ∘ flip^m`` (:meth:`FiniteGroup.find`; ValueError naming ``acting`` if there is
    none). Scale blocks are multiplied by ``scale_factor`` and shifted on their scale axis,
    ``out[s] = in[s + scale_shift]`` (zero where ``s + scale_shift`` falls outside ``0..S-1``).
    """
    perm = None
    if "regular" in ft.blocks:
        h = _regular_element(ft, angle, flip, acting)
        if not ft.group.equal(h, ft.group.identity):
            perm = ft.group._permutation(h)
    identity_vec = bool(torch.equal(vec, torch.eye(2, dtype=vec.dtype)))
    if identity_vec and scalar == 1.0 and perm is None \
            and ("scale" not in ft.blocks or (scale_factor == 1.0 and scale_shift == 0)):
        return x
    out, c = [], 0
    for b in ft.blocks:
        n = ft.block_size(b)
        blk = x[..., c:c + n, :, :]
        if b == "scalar":
            blk = blk * scalar if scalar != 1.0 else blk
        elif b == "vector":
            m = vec.to(dtype=x.dtype, device=x.device)
            blk = torch.einsum("ij,...jhw->...ihw", m, blk)
        elif b == "scale":
            blk = blk * scale_factor if scale_factor != 1.0 else blk
            if scale_shift:
                shifted = torch.zeros_like(blk)
                lo, hi = max(0, -scale_shift), min(n, n - scale_shift)
                if lo < hi:
                    shifted[..., lo:hi, :, :] = blk[..., lo + scale_shift:hi + scale_shift, :, :]
                blk = shifted
        elif perm is not None:  # (ρ_reg(h) f)[i] = f[P[i]]
            blk = blk.index_select(-3, perm.to(x.device))
        out.append(blk)
        c += n
    return torch.cat(out, dim=-3)


def scale_steps(ft: FieldType, lam: float) -> int:
    """The shift ``m`` of the scale axis for a scaling by ``λ = scale_step**m`` (0 without scale blocks)."""
    if "scale" not in ft.blocks or lam == 1.0:
        return 0
    m = math.log(lam) / math.log(ft.scale_step)
    if abs(m - round(m)) > 1e-9:
        raise ValueError(f"scale factor {lam:g} is not a whole number of steps of the scale axis "
                         f"(scale_step={ft.scale_step:g}) of {ft!r}; use a power of {ft.scale_step:g}")
    return int(round(m))


# --------------------------------------------------------------------------------------------
# Spatial transforms
# --------------------------------------------------------------------------------------------
def _grid_resample(x: torch.Tensor, inv: torch.Tensor, mode: str = "bilinear",
                   center: tuple[float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``out(p) = x(inv @ p)`` with p relative to the grid centre, in pixel units (x right, y up).

    Returns the resampled tensor and a boolean ``(H, W)`` mask of pixels whose source lies inside the grid.
    """
    *lead, C, H, W = x.shape
    cy, cx = center if center is not None else ((H - 1) / 2, (W - 1) / 2)
    dtype = x.dtype if x.is_floating_point() else torch.float32
    ii = torch.arange(H, dtype=dtype, device=x.device) - cy
    jj = torch.arange(W, dtype=dtype, device=x.device) - cx
    yy, xx = torch.meshgrid(ii, jj, indexing="ij")
    inv = inv.to(dtype=dtype, device=x.device)
    xs = inv[0, 0] * xx + inv[0, 1] * yy + cx
    ys = inv[1, 0] * xx + inv[1, 1] * yy + cy
    eps = 1e-6
    mask = (xs >= -eps) & (xs <= W - 1 + eps) & (ys >= -eps) & (ys <= H - 1 + eps)
    gx = 2 * xs / max(W - 1, 1) - 1
    gy = 2 * ys / max(H - 1, 1) - 1
    grid = torch.stack([gx, gy], dim=-1)
    flat = x.reshape(-1, C, H, W).to(dtype)
    out = F.grid_sample(flat, grid.expand(flat.shape[0], H, W, 2), mode=mode, padding_mode="zeros",
                        align_corners=True)
    out = out * mask.to(out.dtype)  # lost pixels are exactly zero, not a partial bilinear blend
    return out.reshape(*lead, C, H, W).to(x.dtype), mask


_FLIP = torch.diag(torch.tensor([-1.0, 1.0], dtype=torch.float64))


def _planar_act(x: torch.Tensor, ft: FieldType, angle: float, flip: bool = False, mode: str = "bilinear",
                acting: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``rot(angle) ∘ flip^m`` on a typed field: the one planar action behind every rotation/reflection.

    The grid is flipped (``x -> -x``, the W axis), then rotated counter-clockwise: exactly by
    ``torch.rot90`` for multiples of 90° (of 180° on non-square grids), else by bilinear resampling with
    the corners from outside zero-filled; then the fibre: vectors by ``R_θ F^m``, regular blocks by the
    regular permutation of the matching element of ``ft.group`` (:func:`_fiber`).

    Returns ``(out, mask)`` with the bool ``(H, W)`` mask of pixels whose source lay inside the grid.
    """
    H, W = x.shape[-2:]
    y = x.flip(-1) if flip else x
    q = angle / (math.pi / 2)
    if abs(q - round(q)) < 1e-12 and (H == W or int(round(q)) % 2 == 0):
        k = int(round(q)) % 4
        y = torch.rot90(y, k, dims=(-1, -2)) if k else y
        rot = rotation_matrix(k * math.pi / 2)
        mask = torch.ones(H, W, dtype=torch.bool, device=x.device)
    else:
        y, mask = _grid_resample(y, rotation_matrix(-angle), mode=mode)
        rot = rotation_matrix(angle)
    vec = rot @ _FLIP if flip else rot
    return _fiber(y, ft, vec, angle=angle, flip=flip, acting=acting), mask


def rot90_field(x: torch.Tensor, k: int = 1, field_type: FieldType | str = "vector",
                check_finite: bool = True) -> torch.Tensor:
    """Rotate a field by ``k`` quarter turns counter-clockwise, exactly (no interpolation).

    Shape: ``x: (..., C, H, W)`` -> same; ``H == W`` is required for odd ``k``.
    Regular blocks must belong to a group containing the quarter turn (C_N, D_N with 4 | N·k).
    """
    ft = _check_field(x, field_type, check_finite)
    k = _as_int(k, "k", "a whole number of quarter turns, e.g. 1 for 90°") % 4
    if k % 2 and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"a 90° rotation needs a square grid (H == W), "
                         f"got H={x.shape[-2]}, W={x.shape[-1]}; "
                         "use rotate_field for interpolated rotations or a 180° rotation")
    return _planar_act(x, ft, k * math.pi / 2)[0]


def rotate_field(x: torch.Tensor, theta: float, field_type: FieldType | str = "vector",
                 mode: str = "bilinear", return_mask: bool = False, check_finite: bool = True):
    """Rotate a field counter-clockwise by any angle ``theta`` (radians) about the grid centre.

    Multiples of 90° are exact (``torch.rot90``) on square grids; other angles are
    interpolated with ``grid_sample`` and the corners that rotate in from outside the grid are
    zero-filled. With ``return_mask=True`` also returns the ``(H, W)`` bool mask of pixels that are
    valid (their source lay inside the grid): its complement is the lost corners.

    Shape: ``x: (..., C, H, W)`` -> same (and mask ``(H, W)``).
    """
    ft = _check_field(x, field_type, check_finite)
    out, mask = _planar_act(x, ft, theta, mode=mode)
    return (out, mask) if return_mask else out


def reflect_field(x: torch.Tensor, field_type: FieldType | str = "vector",
                  check_finite: bool = True) -> torch.Tensor:
    """Reflect ``x -> -x`` (flip the W axis); vectors map ``(u, v) -> (-u, v)``.

    Regular blocks are permuted by the flip of their group (D_N, ``(0, 1)``); regular fields of a group
    without reflections (C_N) raise a ValueError.

    Shape: ``x: (..., C, H, W)`` -> same.
    """
    ft = _check_field(x, field_type, check_finite)
    return _planar_act(x, ft, 0.0, flip=True, acting="the reflection x -> -x")[0]


def translate_field(x: torch.Tensor, shift: tuple[float, float], field_type: FieldType | str = "vector",
                    cyclic: bool = True, fill: float = 0.0, check_finite: bool = True) -> torch.Tensor:
    """Translate a field by ``shift = (dx, dy)`` grid cells: ``out(p) = x(p - shift)``.

    Integer shifts are exact (``torch.roll`` when ``cyclic``, else shifted with ``fill`` entering from the
    boundary). Non-integer cyclic shifts use a Fourier phase shift (exact for band-limited fields).
    Channel values are unchanged (translations act trivially on the fibre).

    Shape: ``x: (..., C, H, W)`` -> same.
    """
    _check_field(x, field_type, check_finite)
    dx, dy = float(shift[0]), float(shift[1])
    if dx.is_integer() and dy.is_integer():
        dx, dy = int(dx), int(dy)
        if cyclic:
            return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        H, W = x.shape[-2:]
        out = torch.full_like(x, fill)
        ys_dst, ys_src = slice(max(dy, 0), H + min(dy, 0)), slice(max(-dy, 0), H - max(dy, 0))
        xs_dst, xs_src = slice(max(dx, 0), W + min(dx, 0)), slice(max(-dx, 0), W - max(dx, 0))
        if abs(dy) < H and abs(dx) < W:
            out[..., ys_dst, xs_dst] = x[..., ys_src, xs_src]
        return out
    if not cyclic:  # bilinear resampling of out(p) = x(p - s), fill entering from outside
        H, W = x.shape[-2:]
        ii = torch.arange(H, dtype=x.dtype, device=x.device) - dy
        jj = torch.arange(W, dtype=x.dtype, device=x.device) - dx
        yy, xx = torch.meshgrid(ii, jj, indexing="ij")
        grid = torch.stack([2 * xx / max(W - 1, 1) - 1, 2 * yy / max(H - 1, 1) - 1], dim=-1)
        flat = x.reshape(-1, *x.shape[-3:])
        out = F.grid_sample(flat, grid.expand(flat.shape[0], H, W, 2), mode="bilinear",
                            padding_mode="zeros", align_corners=True)
        valid = (xx >= 0) & (xx <= W - 1) & (yy >= 0) & (yy <= H - 1)
        out = torch.where(valid, out, torch.full_like(out, fill))
        return out.reshape(x.shape)
    H, W = x.shape[-2:]
    fy = torch.fft.fftfreq(H, device=x.device, dtype=torch.float64)
    fx = torch.fft.fftfreq(W, device=x.device, dtype=torch.float64)
    phase = torch.exp(-2j * math.pi * (fy[:, None] * dy + fx[None, :] * dx))
    out = torch.fft.ifft2(torch.fft.fft2(x.to(torch.float64)) * phase).real
    return out.to(x.dtype)


def scale_field(x: torch.Tensor, lam: float, field_type: FieldType | str = "vector",
                mode: str = "bilinear", return_mask: bool = False, check_finite: bool = True):
    """Scale a field about the grid centre: ``out(p) = λ_f · x(λ p)``.

    This is the spatial part of the Navier-Stokes scaling symmetry ``w -> λ w(λ x, λ² t)``: vector
    channels are multiplied by ``λ``, scalars are resampled unchanged, scale blocks are multiplied by
    ``λ`` and their scale axis shifted by ``log(λ) / log(scale_step)`` steps. For ``λ < 1`` the border comes
    from outside the grid and is zero-filled (``return_mask=True`` reports the valid pixels); for
    trajectories use :meth:`ScaleGroup.time_factor` (``λ²``).

    Shape: ``x: (..., C, H, W)`` -> same (and mask ``(H, W)``).
    """
    ft = _check_field(x, field_type, check_finite)
    if not lam > 0:
        raise ValueError(f"scale factor must be > 0, got {lam}")
    if lam == 1.0:
        out, mask = x, torch.ones(x.shape[-2:], dtype=torch.bool, device=x.device)
    else:
        shift = scale_steps(ft, lam)
        y, mask = _grid_resample(x, torch.eye(2, dtype=torch.float64) * lam, mode=mode)
        out = _fiber(y, ft, torch.eye(2, dtype=torch.float64) * lam,
                     scale_factor=lam ** ft.scale_weight, scale_shift=shift)
    return (out, mask) if return_mask else out


def uniform_motion(x: torch.Tensor, velocity: tuple[float, float], t: float | Sequence[float],
                   field_type: FieldType | str = "vector", cyclic: bool = True,
                   check_finite: bool = True) -> torch.Tensor:
    """Galilean boost of a velocity field at time ``t``: ``w'(p, t) = w(p - c t, t) + c``.

    ``velocity = c = (c_x, c_y)`` in grid cells per unit time. Scalars are only translated. ``t`` is
    one time for all of ``x`` (a snapshot) or a sequence of times, one per frame on axis -4
    (a window or trajectory ``(..., T, C, H, W)`` whose frame ``i`` lies at ``t[i]``): each frame is
    shifted by its own ``c·t[i]``, which is what maps solutions to solutions (see
    :func:`galilean_boost`). Non-integer shifts on a periodic grid are Fourier phase shifts.

    Shape: ``x: (..., C, H, W)`` -> same.
    """
    ft = _check_field(x, field_type, check_finite)
    cx, cy = _as_pair(velocity, "velocity", "a pair (c_x, c_y) in grid cells per unit time")
    if "regular" in ft.blocks or "scale" in ft.blocks:
        raise ValueError("uniform motion is defined on scalar and vector fields only, got " + repr(ft))
    if isinstance(t, torch.Tensor):
        t = t.tolist()
    if isinstance(t, Sequence) and not isinstance(t, (str, bytes)):
        times = [_as_real(ti, "t", "a time or one time per frame on axis -4") for ti in t]
        if x.ndim < 4 or x.shape[-4] != len(times):
            raise ValueError(f"t has {len(times)} times but x has shape {tuple(x.shape)}; expected one "
                             "time per frame on axis -4 of (..., T, C, H, W)")
        frames = [uniform_motion(x.select(-4, i), (cx, cy), ti, ft, cyclic, check_finite=False)
                  for i, ti in enumerate(times)]
        return torch.stack(frames, dim=-4)
    t = _as_real(t, "t", "a time or one time per frame on axis -4")
    y = translate_field(x, (cx * t, cy * t), ft, cyclic=cyclic, check_finite=False)
    add: list[float] = []
    for b in ft.blocks:
        add += [cx, cy] if b == "vector" else [0.0]
    return y + torch.tensor(add, dtype=x.dtype, device=x.device)[:, None, None]


def galilean_boost(w: torch.Tensor, velocity: tuple[float, float], dt: float = 1.0, t0: float = 0.0,
                   field_type: FieldType | str = "vector", cyclic: bool = True) -> torch.Tensor:
    """Boost a trajectory ``w: (..., T, C, H, W)`` (frame ``i`` at time ``t0 + i·dt``) by ``c``.

    ``w'(p, t_i) = w(p - c t_i, t_i) + c``: if ``w`` solves a Galilean-invariant equation (Navier-Stokes,
    viscous Burgers) on a periodic domain, so does ``w'``. Shifting every frame by the same ``c·t`` is
    not a symmetry; this is the relation to test a flow map with (see :class:`UniformMotionGroup`).

    See also: notebook 00, section "Uniform motion"; :func:`aeqkit.data.burgers.simulate_burgers`.
    """
    if not isinstance(w, torch.Tensor) or w.ndim < 4:
        raise ValueError("w must be a trajectory of shape (..., T, C, H, W), got "
                         f"{tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__}")
    dt = _as_real(dt, "dt", "the time between frames")
    t0 = _as_real(t0, "t0", "the time of frame 0")
    times = [t0 + i * dt for i in range(w.shape[-4])]
    return uniform_motion(w, velocity, times, field_type, cyclic=cyclic)


# --------------------------------------------------------------------------------------------
# Kernel actions (the grid of a k x k convolution kernel, y up, centre pixel at the origin)
# --------------------------------------------------------------------------------------------
_KERNEL_MATRICES: dict[tuple[type, int, int], torch.Tensor] = {}


def _bilinear_rotation_matrix(kernel_size: int, angle: float) -> torch.Tensor:
    """Matrix ``M`` (k*k, k*k) with ``vec(K') = M vec(K)``, ``K'(p) = K(R_{-angle} p)``.

    Bilinear interpolation, zero outside the kernel support. Row axis is y (up), column axis x.
    """
    k = kernel_size
    c = (k - 1) / 2.0
    m = torch.zeros(k * k, k * k, dtype=torch.float64)
    cos, sin = math.cos(angle), math.sin(angle)
    for r in range(k):
        for col in range(k):
            x, y = col - c, r - c
            # source point R^{-1} p
            xs = cos * x + sin * y
            ys = -sin * x + cos * y
            cs, rs = xs + c, ys + c
            c0, r0 = math.floor(cs), math.floor(rs)
            for dr in (0, 1):
                for dc in (0, 1):
                    rr, cc = r0 + dr, c0 + dc
                    if 0 <= rr < k and 0 <= cc < k:
                        wgt = (1 - abs(rs - rr)) * (1 - abs(cs - cc))
                        if wgt > 1e-12:
                            m[r * k + col, rr * k + cc] += wgt
    return m


def _quarter_bilinear_matrix(kernel_size: int, s: int, n: int) -> torch.Tensor:
    """Kernel rotation by ``2π s / n``: an exact quarter-turn permutation (``torch.rot90(K, q, dims=(-1,
    -2))``) composed with a bilinear rotation by the residual angle."""
    k = kernel_size
    eye = torch.eye(k * k, dtype=torch.float64).reshape(k * k, k, k)
    quarter, rem = divmod(4 * s, n)
    base = torch.eye(k * k, dtype=torch.float64)
    if rem:
        base = _bilinear_rotation_matrix(k, (math.pi / 2) * rem / n)
    # rot90 of each basis kernel: columns of the permutation P
    perm = torch.rot90(eye, quarter, dims=(-1, -2)).reshape(k * k, k * k).T
    return perm @ base


def kernel_rotation_matrices(kernel_size: int, group_order: int) -> torch.Tensor:
    """Matrices rotating a k x k kernel by ``2 pi i / N`` counter-clockwise, i = 0..N-1:
    ``CyclicGroup(N).kernel_matrices(k)`` (see :meth:`FiniteGroup.kernel_matrix`).

    Multiples of 90 degrees are exact permutations (``torch.rot90(K, q, dims=(-1, -2))``, the
    DESIGN.md orientation); other angles are a 90-degree permutation composed with a bilinear
    interpolation by the residual angle, so the matrices for ``i`` and ``i + N/4`` differ by an exact
    rot90 whenever 4 divides N.

    Shape:
        out: (N, k*k, k*k), float64
    """
    return CyclicGroup(group_order).kernel_matrices(kernel_size)


# --------------------------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------------------------
class Group(ABC):
    """A symmetry group acting on fields ``(..., C, H, W)``.

    Subclasses give ``elements`` (all of them for finite groups, a grid for continuous ones),
    ``compose(a, b)`` (apply ``b`` first, then ``a``), ``inverse``, ``identity``, ``act`` and
    ``vector_rep`` (the 2x2 matrix by which an element acts on vector components).
    """

    name: str = "group"
    is_finite: bool = False

    @abstractmethod
    def elements(self, n: int | None = None) -> list[Hashable]: ...

    @property
    @abstractmethod
    def identity(self) -> Hashable: ...

    @abstractmethod
    def compose(self, a: Any, b: Any) -> Hashable: ...

    @abstractmethod
    def inverse(self, a: Any) -> Hashable: ...

    @abstractmethod
    def act(self, g: Any, x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True) -> torch.Tensor: ...

    @abstractmethod
    def vector_rep(self, g: Any) -> torch.Tensor: ...

    def is_exact(self, g: Any, shape: tuple[int, int] | None = None) -> bool:
        """Whether ``act(g, ·)`` involves no interpolation (on a grid of ``shape``)."""
        return False

    def valid_mask(self, g: Any, shape: tuple[int, int]) -> torch.Tensor:
        """Bool ``(H, W)`` mask of pixels of ``act(g, x)`` that come from inside the grid."""
        return torch.ones(shape, dtype=torch.bool)

    def check_element(self, g: Any) -> Hashable:
        """``g`` in the group's canonical form; ``ValueError`` naming the accepted elements otherwise."""
        return g

    def channel_mask(self, g: Any, field_type: FieldType) -> torch.Tensor | None:
        """Bool ``(C,)`` mask of channels of ``act(g, x)`` that are defined (``None``: all of them).

        Only scalings of scale fields lose channels (scales shifted in from outside the scale axis).
        """
        return None

    def action_kind(self, g: Any, shape: tuple[int, int]) -> str:
        """``"exact"`` or ``"interpolated"``: how ``act(g, ·)`` acts on a grid of ``shape`` (for reports)."""
        return "exact" if self.is_exact(g, shape) else "interpolated"

    def equal(self, a: Any, b: Any) -> bool:
        return a == b

    def label(self, g: Any) -> str:
        return str(g)

    def __repr__(self) -> str:
        return self.name


class FiniteGroup(Group):
    """A finite group of planar isometries of the grid: the central object of aeqkit.

    Every element is ``rot(θ) ∘ flip^m`` (flip: ``x -> -x``), given by :meth:`rotation_angle` /
    :meth:`rotation_steps` and :meth:`is_flip`. From this geometry and the group law (``compose``,
    ``inverse``, the fixed order of ``elements()``) follow

    * the action on fields (:meth:`act`: grid, vectors by :meth:`spatial_matrix`, regular blocks by
      :meth:`regular_permutation` of the field type's own group, found by :meth:`find`),
    * the regular representation ``(ρ_reg(g) f)(h) = f(g⁻¹h)`` (:meth:`regular_permutation`,
      :meth:`cayley_table`),
    * the action on convolution kernels ``(g·K)(p) = K(g⁻¹p)`` (:meth:`kernel_matrix`,
      :meth:`kernel_matrices`), from which group convolutions (paper Eq. 4-5) are built,

    so a layer typed with ``FieldType.regular(n, group=G)`` is tested by the same ``G.act``.
    Subclasses: :class:`CyclicGroup` (C_N) and :class:`DihedralGroup` (D_N). Two groups are equal when
    they have the same type and order.
    """

    is_finite = True
    order: int
    interpolate_nonsquare: bool = False

    @property
    @abstractmethod
    def size(self) -> int:
        """``|G|``: N for C_N, 2N for D_N (the channels of one regular field)."""

    @abstractmethod
    def elements(self, n: int | None = None) -> list[Hashable]:
        """All ``|G|`` elements in the fixed order that indexes regular fields."""

    @abstractmethod
    def rotation_steps(self, g: Any) -> tuple[int, int]:
        """``(s, n)`` with ``0 <= s < n``: the rotation part of ``g`` is by ``2π s / n``."""

    @abstractmethod
    def is_flip(self, g: Any) -> bool:
        """Whether ``g`` contains the reflection ``x -> -x`` (``g = rot(θ) ∘ flip``)."""

    def rotation_angle(self, g: Any) -> float:
        """Counter-clockwise angle θ (radians, in ``[0, 2π)``) of the rotation part of ``g``."""
        s, n = self.rotation_steps(g)
        return 2 * math.pi * s / n

    def index(self, g: Any) -> int:
        """Position of ``g`` in :meth:`elements` (the channel of ``g`` in a regular field)."""
        return self._index()[self.check_element(g)]

    def _index(self) -> dict[Hashable, int]:
        cache = self.__dict__.setdefault("_cache", {})
        if "index" not in cache:
            cache["index"] = {g: i for i, g in enumerate(self.elements())}
        return cache["index"]

    def find(self, angle: float, flip: bool = False) -> Hashable | None:
        """The element ``rot(angle) ∘ flip^m`` of this group (angle in radians, mod 2π), or ``None``."""
        for g in self.elements():
            d = (self.rotation_angle(g) - float(angle)) % (2 * math.pi)
            if bool(self.is_flip(g)) == bool(flip) and min(d, 2 * math.pi - d) < 1e-9:
                return g
        return None

    def spatial_matrix(self, g: Any) -> torch.Tensor:
        """The 2x2 matrix ``R_θ F^m`` of ``g`` on the plane (float64; exact entries at multiples of 90°)."""
        g = self.check_element(g)
        rot = rotation_matrix(self.rotation_angle(g))
        return rot @ _FLIP if self.is_flip(g) else rot

    def vector_rep(self, g: Any) -> torch.Tensor:
        return self.spatial_matrix(g)

    def _permutation(self, g: Any) -> torch.Tensor:
        cache = self.__dict__.setdefault("_cache", {})
        key = ("perm", self.check_element(g))
        if key not in cache:
            idx, els, ginv = self._index(), self.elements(), self.inverse(self.check_element(g))
            cache[key] = torch.tensor([idx[self.compose(ginv, h)] for h in els], dtype=torch.long)
        return cache[key]

    def regular_permutation(self, g: Any) -> torch.Tensor:
        """``P`` (LongTensor ``(|G|,)``) with ``(ρ_reg(g) f)[i] = f[P[i]]``, ``P[i] = index(g⁻¹ e_i)``.

        This is ``(g·f)(h) = f(g⁻¹h)``; ``ρ_reg(a) ρ_reg(b) = ρ_reg(ab)``. For C_N it is a roll by +k.
        """
        return self._permutation(g).clone()

    def cayley_table(self) -> torch.Tensor:
        """LongTensor ``(|G|, |G|)``: entry ``[i, j]`` is the index of ``compose(e_i, e_j)``."""
        idx, els = self._index(), self.elements()
        return torch.tensor([[idx[self.compose(a, b)] for b in els] for a in els], dtype=torch.long)

    def kernel_matrix(self, g: Any, kernel_size: int) -> torch.Tensor:
        """``M`` (float64 ``(k*k, k*k)``) with ``vec(g·K) = M vec(K)``, ``(g·K)(p) = K(g⁻¹p)``.

        On the y-up kernel grid of DESIGN.md (row-major ``vec``). Multiples of 90° (with or without the
        flip) are exact permutations; other angles are an exact quarter turn composed with a bilinear
        interpolation by the residual angle (zero outside the support), so the matrices of elements
        that differ by a quarter turn differ by an exact permutation.
        """
        k = _as_int(kernel_size, "kernel_size", "a kernel size >= 1")
        if k < 1:
            raise ValueError(f"kernel_size must be an integer >= 1, got {kernel_size!r}")
        g = self.check_element(g)
        s, n = self.rotation_steps(g)
        m = _quarter_bilinear_matrix(k, s, n)
        if self.is_flip(g):  # (rot ∘ flip)·K = rot·(flip·K); flip·K = K.flip(x)
            eye = torch.eye(k * k, dtype=torch.float64).reshape(k * k, k, k)
            m = m @ eye.flip(-1).reshape(k * k, k * k).T
        return m

    def kernel_matrices(self, kernel_size: int) -> torch.Tensor:
        """:meth:`kernel_matrix` of every element, stacked in ``elements()`` order: ``(|G|, k*k, k*k)``
        float64 (computed once per group type, order and kernel size; a fresh copy is returned)."""
        key = (type(self), self.order, kernel_size)
        if key not in _KERNEL_MATRICES:
            _KERNEL_MATRICES[key] = torch.stack([self.kernel_matrix(g, kernel_size) for g in self.elements()])
        return _KERNEL_MATRICES[key].clone()

    def exact_elements(self, shape: tuple[int, int] | None = None) -> list[Hashable]:
        """The elements acting without interpolation (on a grid of ``shape``): multiples of 90°
        (of 180° on a non-square grid), with or without the flip."""
        return [g for g in self.elements() if self.is_exact(g, shape)]

    def is_exact(self, g: Any, shape: tuple[int, int] | None = None) -> bool:
        s, n = self.rotation_steps(self.check_element(g))
        if shape is not None and shape[0] != shape[1]:
            return (2 * s) % n == 0
        return (4 * s) % n == 0

    def _check_grid(self, g: Any, shape: tuple[int, int]) -> None:
        """Refuse an exact-looking quarter turn on a non-square grid unless interpolation was asked for."""
        s, n = self.rotation_steps(g)
        quarter = (4 * s) % n == 0 and ((4 * s) // n) % 2 == 1
        if quarter and shape[0] != shape[1] and not self.interpolate_nonsquare:
            raise ValueError(
                f"{self.name} element {self.label(g)} is an exact 90° rotation only on a square grid, got "
                f"a grid of shape (H, W)={tuple(shape)}; crop or regrid to a square, or build the group "
                f"with interpolate_nonsquare=True (get_group('{self.name}', interpolate_nonsquare=True)) "
                "to use the interpolated rotation")

    def valid_mask(self, g: Any, shape: tuple[int, int]) -> torch.Tensor:
        g = self.check_element(g)
        self._check_grid(g, tuple(shape))
        if self.is_exact(g, shape):
            return torch.ones(shape, dtype=torch.bool)
        return _grid_resample(torch.zeros(1, 1, *shape), rotation_matrix(-self.rotation_angle(g)))[1]

    def act(self, g: Any, x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True) -> torch.Tensor:
        """``(g·f)(p) = ρ(g) f(g⁻¹p)`` on ``x: (..., C, H, W)``; a ``"regular"`` field type means
        regular fields of this group; a :class:`FieldType` may carry another group whose elements
        include ``g``'s geometry (C4 acting on C8 or D4 regular fields)."""
        g = self.check_element(g)
        ft = _check_field(x, field_type, check_finite, group=self)
        self._check_grid(g, tuple(x.shape[-2:]))
        return _planar_act(x, ft, self.rotation_angle(g), self.is_flip(g),
                           acting=f"{self.name} element {self.label(g)}")[0]

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.order == other.order

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.order))


class CyclicGroup(FiniteGroup):
    """C_N: rotations by ``2πk/N``, elements integers ``k`` (taken mod N). Exact for multiples of 90°.

    A quarter turn (90°, 270°) is exact only on a square grid. On a non-square ``(H, W)`` grid it is
    refused with a ``ValueError`` naming the shape, unless ``interpolate_nonsquare=True`` asks for the
    interpolated rotation (lost corners masked; reports then say ``"interpolated"``). Elements that are
    not multiples of 90° (e.g. 45° in C8) are always interpolated. Regular fields: ``|G| = N``
    channels, rolled by +k by the element k.
    """

    def __init__(self, order: int = 4, interpolate_nonsquare: bool = False) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"group order must be an int >= 1, got {order!r}")
        self.order = order
        self.interpolate_nonsquare = bool(interpolate_nonsquare)
        self.name = f"C{order}"

    @property
    def size(self) -> int:
        return self.order

    def check_element(self, g: Any) -> int:
        return _as_int(g, f"element of {self.name}", f"an integer k for a rotation by k·360°/{self.order}") \
            % self.order

    def elements(self, n: int | None = None) -> list[int]:
        return list(range(self.order))

    @property
    def identity(self) -> int:
        return 0

    def compose(self, a: int, b: int) -> int:
        return (a + b) % self.order

    def inverse(self, a: int) -> int:
        return (-a) % self.order

    def rotation_steps(self, g: int) -> tuple[int, int]:
        return (self.check_element(g), self.order)

    def is_flip(self, g: int) -> bool:
        return False

    def angle(self, g: int) -> float:
        return 2 * math.pi * g / self.order

    def label(self, g: int) -> str:
        deg = 360 * (g % self.order) / self.order
        return f"{deg:g}°"


class DihedralGroup(FiniteGroup):
    """D_N: elements ``(k, m)`` acting as ``rot(2πk/N) ∘ flip^m`` with flip ``x -> -x``.

    ``elements()`` is ``[(k, 0) for k] + [(k, 1) for k]``: a regular field has ``2N`` channels in
    that order. D1 is the reflection group ``{id, flip}``.
    """

    def __init__(self, order: int = 4, interpolate_nonsquare: bool = False) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"group order must be an int >= 1, got {order!r}")
        self.order = order
        self.interpolate_nonsquare = bool(interpolate_nonsquare)
        self.rotations = CyclicGroup(order, interpolate_nonsquare)
        self.name = f"D{order}"

    @property
    def size(self) -> int:
        return 2 * self.order

    def check_element(self, g: Any) -> tuple[int, int]:
        accepted = f"a pair (k, m): rotation by k·360°/{self.order} after m in {{0, 1}} flips"
        if isinstance(g, (str, bytes)) or not isinstance(g, Sequence) or len(g) != 2:
            raise ValueError(f"element of {self.name} must be {accepted}, got {g!r}")
        k = _as_int(g[0], f"rotation index of a {self.name} element", accepted)
        m = _as_int(g[1], f"flip index of a {self.name} element", accepted)
        if m not in (0, 1):
            raise ValueError(f"element of {self.name} must be {accepted}, got m={m}")
        return (k % self.order, m)

    def elements(self, n: int | None = None) -> list[tuple[int, int]]:
        return [(k, m) for m in (0, 1) for k in range(self.order)]

    @property
    def identity(self) -> tuple[int, int]:
        return (0, 0)

    def compose(self, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        k1, m1 = a
        k2, m2 = b
        return ((k1 + (-1) ** m1 * k2) % self.order, m1 ^ m2)

    def inverse(self, a: tuple[int, int]) -> tuple[int, int]:
        k, m = a
        return ((-k) % self.order, 0) if m == 0 else (k % self.order, 1)

    def rotation_steps(self, g: tuple[int, int]) -> tuple[int, int]:
        return (self.check_element(g)[0], self.order)

    def is_flip(self, g: tuple[int, int]) -> bool:
        return self.check_element(g)[1] == 1

    def label(self, g: tuple[int, int]) -> str:
        k, m = g
        return f"{360 * k / self.order:g}°" + (" ∘ flip" if m else "")


class SO2(Group):
    """SO(2): rotations by any angle θ (radians), by interpolation except multiples of 90°.

    ``elements(n)`` gives ``n`` equally spaced angles (default 8).
    """

    name = "SO2"

    def elements(self, n: int | None = None) -> list[float]:
        n = 8 if n is None else n
        return [2 * math.pi * i / n for i in range(n)]

    @property
    def identity(self) -> float:
        return 0.0

    def compose(self, a: float, b: float) -> float:
        return (a + b) % (2 * math.pi)

    def inverse(self, a: float) -> float:
        return (-a) % (2 * math.pi)

    def equal(self, a: float, b: float) -> bool:
        d = (a - b) % (2 * math.pi)
        return min(d, 2 * math.pi - d) < 1e-9

    def check_element(self, g: Any) -> float:
        return _as_real(g, "element of SO2", "an angle in radians")

    def vector_rep(self, g: float) -> torch.Tensor:
        return rotation_matrix(g)

    def is_exact(self, g: float, shape: tuple[int, int] | None = None) -> bool:
        q = self.check_element(g) / (math.pi / 2)
        ok = abs(q - round(q)) < 1e-12
        if shape is not None and shape[0] != shape[1]:
            ok = ok and int(round(q)) % 2 == 0
        return ok

    def valid_mask(self, g: float, shape: tuple[int, int]) -> torch.Tensor:
        if self.is_exact(g, shape):
            return torch.ones(shape, dtype=torch.bool)
        return _grid_resample(torch.zeros(1, 1, *shape), rotation_matrix(-g))[1]

    def act(self, g: float, x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True) -> torch.Tensor:
        return rotate_field(x, self.check_element(g), field_type, check_finite=check_finite)

    def label(self, g: float) -> str:
        return f"{math.degrees(g):.4g}°"


class _AdditiveGroup(Group):
    """Shared structure of groups of 2D offsets (translations, boosts): addition, trivial on vectors."""

    @property
    def identity(self) -> tuple[float, float]:
        return (0, 0)

    def compose(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return (a[0] + b[0], a[1] + b[1])

    def inverse(self, a: tuple[float, float]) -> tuple[float, float]:
        return (-a[0], -a[1])

    def vector_rep(self, g: tuple[float, float]) -> torch.Tensor:
        return torch.eye(2, dtype=torch.float64)

    def check_element(self, g: Any) -> tuple[float, float]:
        return _as_pair(g, f"element of {self.name}", "a pair of finite numbers (x, y)")


class TranslationGroup(_AdditiveGroup):
    """Translations by ``(dx, dy)`` grid cells; cyclic (periodic domains) or with ``fill`` (bounded).

    ``elements()`` gives a small default set of shifts unless ``shifts`` is passed.
    """

    def __init__(self, cyclic: bool = True, shifts: Sequence[tuple[int, int]] | None = None,
                 fill: float = 0.0) -> None:
        self.cyclic = cyclic
        self.fill = fill
        self.shifts = [tuple(s) for s in shifts] if shifts is not None else [
            (0, 0), (1, 0), (0, 1), (-3, 2), (5, -7)]
        self.name = "translation" if cyclic else "translation(bounded)"

    def elements(self, n: int | None = None) -> list[tuple[int, int]]:
        return list(self.shifts)

    def is_exact(self, g: tuple[float, float], shape: tuple[int, int] | None = None) -> bool:
        g = self.check_element(g)
        return float(g[0]).is_integer() and float(g[1]).is_integer()

    def valid_mask(self, g: tuple[float, float], shape: tuple[int, int]) -> torch.Tensor:
        if self.cyclic:
            return torch.ones(shape, dtype=torch.bool)
        ones = torch.ones(1, 1, *shape)
        return translate_field(ones, g, "scalar", cyclic=False, fill=0.0)[0, 0] > 0.5

    def act(self, g: tuple[float, float], x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True) -> torch.Tensor:
        return translate_field(x, self.check_element(g), field_type, cyclic=self.cyclic, fill=self.fill,
                               check_finite=check_finite)


class ScaleGroup(Group):
    """Scalings ``w -> λ w(λ x)`` (the spatial part of the Navier-Stokes scaling symmetry).

    Elements are factors ``λ > 0``; composition multiplies. :meth:`time_factor` gives ``λ²``, the
    factor by which time is rescaled in the full symmetry ``w_λ(x, t) = λ w(λ x, λ² t)``.
    """

    name = "scaling"

    def __init__(self, factors: Sequence[float] = (0.5, 0.75, 1.0, 1.5, 2.0)) -> None:
        if any(not f > 0 for f in factors):
            raise ValueError(f"scale factors must be > 0, got {list(factors)}")
        self.factors = list(factors)

    def elements(self, n: int | None = None) -> list[float]:
        return list(self.factors)

    @property
    def identity(self) -> float:
        return 1.0

    def compose(self, a: float, b: float) -> float:
        return a * b

    def inverse(self, a: float) -> float:
        return 1.0 / a

    def equal(self, a: float, b: float) -> bool:
        return abs(a - b) < 1e-12 * max(abs(a), 1.0)

    def check_element(self, g: Any) -> float:
        lam = _as_real(g, "element of the scaling group", "a factor λ > 0")
        if not lam > 0:
            raise ValueError(f"element of the scaling group must be a factor λ > 0, got {g!r}")
        return lam

    def vector_rep(self, g: float) -> torch.Tensor:
        return torch.eye(2, dtype=torch.float64) * self.check_element(g)

    @staticmethod
    def time_factor(g: float) -> float:
        """``λ²``: frame ``t`` of the scaled solution is frame ``λ² t`` of the original."""
        return g * g

    def is_exact(self, g: float, shape: tuple[int, int] | None = None) -> bool:
        return g == 1.0

    def valid_mask(self, g: float, shape: tuple[int, int]) -> torch.Tensor:
        if g == 1.0:
            return torch.ones(shape, dtype=torch.bool)
        return _grid_resample(torch.zeros(1, 1, *shape), torch.eye(2, dtype=torch.float64) * g)[1]

    def act(self, g: float, x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True) -> torch.Tensor:
        return scale_field(x, self.check_element(g), field_type, check_finite=check_finite)

    def channel_mask(self, g: float, field_type: FieldType) -> torch.Tensor | None:
        if not isinstance(field_type, FieldType) or "scale" not in field_type.blocks:
            return None
        m = scale_steps(field_type, self.check_element(g))
        keep = []
        for b in field_type.blocks:
            n = field_type.block_size(b)
            keep += [0 <= s + m < n for s in range(n)] if b == "scale" else [True] * n
        return torch.tensor(keep, dtype=torch.bool)


class UniformMotionGroup(_AdditiveGroup):
    """Galilean boosts ``w(x, t) -> w(x - c t, t) + c`` (slides: NS symmetries).

    Elements are velocities ``c = (c_x, c_y)`` in cells per unit time; composition adds them. A boost
    acts differently at different times, so a flow map ``f`` from frames at times ``t_in`` to frames at
    ``t_out`` is equivariant when ``f(B_c(t_in) x) = B_c(t_out) f(x)``. ``act(g, x)`` boosts a snapshot
    at the group's time ``t``; ``act(g, x, times=[...])`` boosts frame ``i`` on axis -4 at ``times[i]``.
    :func:`aeqkit.equivariance.equivariance_error` applies the input and output times (by default the
    forecasting convention: input frames at ``0, dt, ..., (T-1)·dt``, output at the next step).
    """

    name = "uniform_motion"
    time_dependent = True

    def __init__(self, t: float = 1.0, velocities: Sequence[tuple[float, float]] | None = None,
                 dt: float = 1.0) -> None:
        self.t = _as_real(t, "t", "the time at which a snapshot is boosted")
        self.dt = _as_real(dt, "dt", "the time between frames, > 0")
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 (the time between frames), got {dt!r}")
        self.velocities = [self.check_element(v) for v in velocities] if velocities is not None else [
            (0.0, 0.0), (1.0, 0.0), (0.0, -2.0), (0.5, 0.5)]

    def elements(self, n: int | None = None) -> list[tuple[float, float]]:
        return list(self.velocities)

    def is_exact(self, g: tuple[float, float], shape: tuple[int, int] | None = None) -> bool:
        g = self.check_element(g)
        return float(g[0] * self.t).is_integer() and float(g[1] * self.t).is_integer()

    def default_times(self, x: torch.Tensor, after: int = 0) -> float | list[float]:
        """Times of ``x`` under the forecasting convention: frames on axis -4 at ``(after + i)·dt`` for a
        5-D ``(B, T, C, H, W)``; a 4-D batch of snapshots lies at ``after·dt``."""
        if x.ndim >= 5:
            return [(after + i) * self.dt for i in range(x.shape[-4])]
        return after * self.dt

    def act(self, g: tuple[float, float], x: torch.Tensor, field_type: FieldType | str = "vector",
            check_finite: bool = True, times: float | Sequence[float] | None = None) -> torch.Tensor:
        g = self.check_element(g)
        return uniform_motion(x, g, self.t if times is None else times, field_type, check_finite=check_finite)


GROUP_NAMES = ("C<N> (e.g. C4, C8)", "D<N> (e.g. D4)", "SO2", "rotation (=C4)", "reflection (=D1)",
               "translation", "translation_bounded", "scaling", "uniform_motion")


def get_group(name: str | Group, **kwargs: Any) -> Group:
    """Build a group from its name (case-insensitive); a :class:`Group` is returned unchanged.

    Keyword arguments that contradict the name (``get_group("C4", order=8)``) or that the group does
    not take raise ``ValueError``/``TypeError`` instead of being ignored.

    Accepted: ``"C<N>"``, ``"D<N>"``, ``"SO2"``, ``"rotation"`` (C4, or ``order=N``),
    ``"reflection"`` (D1), ``"translation"``, ``"translation_bounded"``, ``"scaling"``,
    ``"uniform_motion"``. Extra keyword arguments go to the group's constructor.
    """
    if isinstance(name, Group):
        if kwargs:
            raise ValueError(f"get_group got a Group instance ({name}) and keyword arguments "
                             f"{sorted(kwargs)}; build the group with them instead")
        return name
    if not isinstance(name, str):
        raise ValueError(f"group must be a Group or a name, got {type(name).__name__}; "
                         f"accepted names: {', '.join(GROUP_NAMES)}")
    key = name.strip().lower().replace("(", "").replace(")", "").replace("-", "_")
    m = re.fullmatch(r"([cd])(\d+)", key)
    if m:
        order = int(m.group(2))
        if order < 1:
            raise ValueError(f"group order must be >= 1 in {name!r}")
        if "order" in kwargs and kwargs.pop("order") != order:
            raise ValueError(f"conflicting group order: the name {name!r} says order={order} but "
                             "order= was also passed; pass one of them")
        return CyclicGroup(order, **kwargs) if m.group(1) == "c" else DihedralGroup(order, **kwargs)
    if key in {"so2", "so_2"}:
        return SO2(**kwargs)
    if key == "rotation":
        return CyclicGroup(kwargs.pop("order", 4), **kwargs)
    if key == "reflection":
        if kwargs.pop("order", 1) != 1:
            raise ValueError(f"conflicting group order: {name!r} is D1 (one flip); use 'D<N>' for "
                             "rotations and reflections")
        return DihedralGroup(1, **kwargs)
    if key == "translation":
        return TranslationGroup(**kwargs)
    if key == "translation_bounded":
        return TranslationGroup(cyclic=False, **kwargs)
    if key in {"scaling", "scale"}:
        return ScaleGroup(**kwargs)
    if key in {"uniform_motion", "galilean"}:
        return UniformMotionGroup(**kwargs)
    raise ValueError(f"unknown group {name!r}; accepted names: {', '.join(GROUP_NAMES)}")
