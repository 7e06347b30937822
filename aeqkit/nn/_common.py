"""Shared helpers for :mod:`aeqkit.nn`: the one copy of the hyperparameter validators (also used by
:mod:`aeqkit.models`), padded convolution, pairwise L1, kernel rotation matrices."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

# the kernel action lives with the group (FiniteGroup.kernel_matrix); re-exported for old imports
from aeqkit.groups import _bilinear_rotation_matrix, kernel_rotation_matrices  # noqa: F401

__all__ = [
    "check_positive_int",
    "check_kernel_size",
    "check_padding_mode",
    "PADDING_MODES",
    "MODEL_PADDING_MODES",
    "pad_conv2d",
    "pairwise_l1",
    "kernel_rotation_matrices",
    "field_blocks",
    "resolve_padding",
]

#: padding modes of every :mod:`aeqkit.nn` layer (those of ``nn.Conv2d`` / ``F.pad``)
PADDING_MODES = ("zeros", "circular", "reflect", "replicate")
#: the padding modes the model zoo offers (zero padding, or a periodic domain)
MODEL_PADDING_MODES = ("zeros", "circular")


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


def check_padding_mode(padding_mode: object, accepted: tuple[str, ...] = PADDING_MODES) -> str:
    """``padding_mode`` if it is one of ``accepted`` (default :data:`PADDING_MODES`), else ValueError.

    Layers accept every mode of ``nn.Conv2d``; models pass ``accepted=MODEL_PADDING_MODES``.
    """
    if not isinstance(padding_mode, str) or padding_mode not in accepted:
        raise ValueError(f"padding_mode must be one of {accepted}, got {padding_mode!r}")
    return padding_mode


def pad_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: int,
    padding_mode: str = "zeros",
    dilation: int = 1,
) -> torch.Tensor:
    """``F.conv2d`` with ``padding`` on every side in ``padding_mode`` (as ``nn.Conv2d`` pads).

    Shape:
        x: (B, C_in, H, W), weight: (C_out, C_in, k, k) -> (B, C_out, H', W')
    """
    if padding_mode != "zeros" and padding > 0:
        x = F.pad(x, (padding,) * 4, mode=padding_mode)
        return F.conv2d(x, weight, bias, dilation=dilation)
    return F.conv2d(x, weight, bias, padding=padding, dilation=dilation)


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
