"""Soft-equivariance regularisers and optimiser parameter groups (paper Sec. 3.3).

``equivariance_penalty(model, alpha)`` sums ``alpha * layer.equivariance_penalty()`` over every
relaxed layer (unsquared, on whatever device the model lives, never skipped);
``param_groups(model, weight_decay)`` keeps relaxed weights out of weight decay, which would
otherwise pull them towards zero (a fault of the paper's public code).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

__all__ = [
    "RELAXED_PARAMETER_NAMES",
    "relaxed_layers",
    "relaxed_parameters",
    "equivariance_penalty",
    "param_groups",
]

#: Parameter names treated as symmetry-breaking weights (no weight decay).
RELAXED_PARAMETER_NAMES = ("relaxed_weights", "bank_weights")


def relaxed_layers(model: nn.Module) -> list[nn.Module]:
    """Modules that provide ``equivariance_penalty()`` and have no descendant that does.

    Taking the innermost providers avoids double counting when a container also defines an
    aggregating ``equivariance_penalty``.
    """
    providers = [m for m in model.modules() if callable(getattr(m, "equivariance_penalty", None))]
    out = []
    for m in providers:
        inner = [c for c in m.modules() if c is not m and c in providers]
        if not inner:
            out.append(m)
    return out


def relaxed_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    """Trainable relaxed weights of every layer (parameters named in ``RELAXED_PARAMETER_NAMES``)."""
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] in RELAXED_PARAMETER_NAMES and id(p) not in seen:
            seen.add(id(p))
            yield p


def equivariance_penalty(model: nn.Module, alpha: float = 1.0) -> torch.Tensor:
    """``alpha * sum`` of the Sec. 3.3 regulariser over every relaxed layer of ``model``.

    Returns a 0-dim tensor on the model's device (zero if the model has no relaxed layer).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) \
            or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    total = None
    for m in relaxed_layers(model):
        term = m.equivariance_penalty()
        total = term if total is None else total + term.to(total.device)
    if total is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        dtype = p.dtype if p is not None else torch.get_default_dtype()
        return torch.zeros((), device=device, dtype=dtype)
    return alpha * total


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Optimiser parameter groups: relaxed weights with ``weight_decay=0``, the rest with
    ``weight_decay``. Empty groups are dropped.

    Example:
        ``torch.optim.AdamW(param_groups(model, 1e-4), lr=1e-3)``
    """
    if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a non-negative number, got {weight_decay!r}")
    relaxed = list(relaxed_parameters(model))
    ids = {id(p) for p in relaxed}
    others = [p for p in model.parameters() if id(p) not in ids]
    groups = []
    if others:
        groups.append({"params": others, "weight_decay": float(weight_decay)})
    if relaxed:
        groups.append({"params": relaxed, "weight_decay": 0.0})
    return groups
