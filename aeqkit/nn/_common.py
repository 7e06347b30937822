"""Shared helpers for :mod:`aeqkit.nn` (validation, pairwise L1, kernel rotation matrices)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

# the kernel action lives with the group (FiniteGroup.kernel_matrix); re-exported for old imports
from aeqkit.groups import _bilinear_rotation_matrix, kernel_rotation_matrices  # noqa: F401

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
