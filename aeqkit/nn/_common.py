"""Shared helpers for :mod:`aeqkit.nn` (validation, pairwise L1, kernel rotation matrices)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "check_positive_int",
    "check_kernel_size",
    "check_padding_mode",
    "pairwise_l1",
    "kernel_rotation_matrices",
    "field_blocks",
    "resolve_padding",
]

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, raising ValueError unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_kernel_size(kernel_size: object) -> int:
    """Odd positive kernel size (even kernels have no centre pixel and cannot rotate exactly)."""
    k = check_positive_int(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (1, 3, 5, ...), got {k}")
    return k


def check_padding_mode(padding_mode: str) -> str:
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    return padding_mode


def resolve_padding(padding: int | None, kernel_size: int) -> int:
    """``None`` means 'same' padding ``kernel_size // 2``."""
    if padding is None:
        return kernel_size // 2
    return check_positive_int(padding, "padding", minimum=0)


def pairwise_l1(w: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``sum_{g,h} |w(h) - w(g)|`` over all ordered pairs along ``dim``, summed over other axes.

    Exact, in O(n log n): ``sum_{g,h} |w(h) - w(g)| = 2 sum_h w(h) (#{w < w(h)} - #{w > w(h)})``.
    The counts are computed without gradient, so the gradient is the symmetric subgradient of
    ``|.|``: tied weights (e.g. all equal at initialisation) get equal gradients, and the
    regulariser alone never breaks a symmetry that the weights already have.

    Shape:
        w: (..., n, ...) -> scalar
    """
    w = w.movedim(dim, -1)
    flat = w.reshape(-1, w.shape[-1])
    with torch.no_grad():
        s, _ = torch.sort(flat, dim=-1)
        less = torch.searchsorted(s, flat.contiguous(), right=False)
        greater = flat.shape[-1] - torch.searchsorted(s, flat.contiguous(), right=True)
        coef = (less - greater).to(flat.dtype)
    return 2.0 * (flat * coef).sum()


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


def kernel_rotation_matrices(kernel_size: int, group_order: int) -> torch.Tensor:
    """Matrices rotating a k x k kernel by ``2 pi i / N`` counter-clockwise, i = 0..N-1.

    Multiples of 90 degrees are exact permutations (``torch.rot90(K, q, dims=(-1, -2))``, the
    DESIGN.md orientation); other angles are a 90-degree permutation composed with a bilinear
    interpolation by the residual angle, so the matrices for ``i`` and ``i + N/4`` differ by an exact
    rot90 whenever 4 divides N.

    Shape:
        out: (N, k*k, k*k), float64
    """
    k, n = kernel_size, group_order
    eye = torch.eye(k * k, dtype=torch.float64).reshape(k * k, k, k)
    mats = []
    for i in range(n):
        quarter, rem = divmod(4 * i, n)
        base = torch.eye(k * k, dtype=torch.float64)
        if rem:
            base = _bilinear_rotation_matrix(k, (math.pi / 2) * rem / n)
        # rot90 of each basis kernel: columns of the permutation P
        perm = torch.rot90(eye, quarter, dims=(-1, -2)).reshape(k * k, k * k).T
        mats.append(perm @ base)
    return torch.stack(mats)


def field_blocks(field_type: object) -> tuple[str, ...]:
    """Block names (``"scalar"``, ``"vector"``, ``"regular"``) of an ``aeqkit.groups.FieldType``.

    Also accepts a plain sequence of block names.
    """
    blocks = getattr(field_type, "blocks", None)
    if blocks is None and isinstance(field_type, Sequence) and not isinstance(field_type, str):
        blocks = field_type
    if blocks is None:
        raise ValueError(
            "expected an aeqkit.groups.FieldType (or a sequence of 'scalar'/'vector' block names), "
            f"got {type(field_type).__name__}"
        )
    names = []
    for b in blocks:
        name = getattr(b, "kind", getattr(b, "name", b))
        names.append(str(name))
    return tuple(names)
