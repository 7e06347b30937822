"""The one scaffold of every relaxed layer (paper Sec. 3): :class:`RelaxedLayer`.

A relaxed layer mixes ``L`` filter banks with *relaxed weights* ``w`` indexed by a symmetry axis
(input group element for group convolutions, Eq. 4-5; kernel position for steerable ones, Eq. 7;
spatial position for translations). ``w`` starts at ones (or another constant), where the layer is
exactly equivariant; the Sec. 3.3 regulariser ``sum_{g,h} |w(h) - w(g)|`` pulls it back there.

What the subclasses share lives here: the ``relaxed_weights`` parameter (a frozen buffer when
``relaxed=False``), :meth:`RelaxedLayer.equivariance_penalty` through
:func:`aeqkit.nn._common.pairwise_l1` over the declared relaxed axis with a declared normalisation,
the abstract :meth:`RelaxedLayer.expanded_weight`, the ``group`` and the ``in_type`` / ``out_type``
field types (read by :func:`aeqkit.equivariance.layer_equivariance_report` as ``in_field_type`` /
``out_field_type``), the input-shape check and ``extra_repr``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from aeqkit.groups import FieldType, Group
from aeqkit.nn._common import pad_conv2d, pairwise_l1

__all__ = ["RelaxedLayer", "PENALTY_REDUCTIONS"]

#: how :meth:`RelaxedLayer.equivariance_penalty` normalises the pairwise sum
PENALTY_REDUCTIONS = ("sum", "mean")


class RelaxedLayer(nn.Module, ABC):
    """Base class of the relaxed (approximately equivariant) layers of :mod:`aeqkit.nn`.

    Subclasses call :meth:`init_relaxed_weights` in ``__init__`` and implement
    :meth:`expanded_weight`; they declare, as class attributes,

    * ``relaxed_start_dim``: the axes of ``relaxed_weights`` from this one to the last are the
      relaxed axis (flattened) over which the penalty compares weights; leading axes (filter banks,
      ranks) are summed over. ``-1`` (default): the last axis only.
    * ``penalty_reduction``: ``"sum"`` (the paper's sum over ordered pairs, default) or ``"mean"``
      (divided by the ``n**2`` ordered pairs, for relaxed axes whose length grows with the grid).
    * ``repr_fields``: attribute names shown by ``extra_repr`` after the channel counts.

    Layers with another regulariser (finite differences over kernel positions, Eq. 7) override
    :meth:`equivariance_penalty`.

    Attributes:
        relaxed_weights: the relaxed weights, a Parameter (``relaxed=True``) or a buffer.
        relaxed: whether ``relaxed_weights`` is trainable.
        group: the :class:`aeqkit.groups.Group` the layer is (approximately) equivariant to.
        in_type, out_type: :class:`aeqkit.groups.FieldType` of input and output channels
            (aliases ``in_field_type`` / ``out_field_type``).
    """

    relaxed_start_dim: int = -1
    penalty_reduction: str = "sum"
    repr_fields: tuple[str, ...] = ()

    group: Group | None = None
    in_type: FieldType | None = None
    out_type: FieldType | None = None

    # ---- field types ---------------------------------------------------------------------------
    @property
    def in_field_type(self) -> FieldType | None:
        """Alias of ``in_type`` (the name read by :mod:`aeqkit.equivariance`)."""
        return self.in_type

    @in_field_type.setter
    def in_field_type(self, value: FieldType | None) -> None:
        self.in_type = value

    @property
    def out_field_type(self) -> FieldType | None:
        """Alias of ``out_type``."""
        return self.out_type

    @out_field_type.setter
    def out_field_type(self, value: FieldType | None) -> None:
        self.out_type = value

    # ---- relaxed weights -----------------------------------------------------------------------
    def init_relaxed_weights(
        self, shape: Sequence[int], relaxed: bool = True, fill: float = 1.0
    ) -> None:
        """Create ``relaxed_weights`` of ``shape`` filled with ``fill`` (equivariant at init).

        ``relaxed=False`` registers a buffer instead of a Parameter (a strict layer).
        """
        if self.penalty_reduction not in PENALTY_REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}.penalty_reduction must be one of {PENALTY_REDUCTIONS}, "
                f"got {self.penalty_reduction!r}"
            )
        self.relaxed = bool(relaxed)
        self._relaxed_fill = float(fill)
        w = torch.full(tuple(shape), self._relaxed_fill)
        if self.relaxed:
            self.relaxed_weights = nn.Parameter(w)
        else:
            self.register_buffer("relaxed_weights", w)

    def reset_relaxed_weights(self) -> None:
        """Refill ``relaxed_weights`` with its initial constant (exact equivariance)."""
        with torch.no_grad():
            self.relaxed_weights.fill_(self._relaxed_fill)

    def equivariance_penalty(self) -> torch.Tensor:
        """Unscaled Sec. 3.3 regulariser ``sum_l sum_{g,h} |w_l(h) - w_l(g)|`` (L1, not squared).

        Pairs run over the relaxed axis (axes ``relaxed_start_dim`` onwards, flattened), the sum
        over the leading axes; ``penalty_reduction="mean"`` divides by the ``n**2`` ordered pairs.
        Zero iff the weights are constant along the relaxed axis.
        """
        w = self.relaxed_weights
        if w.dim() > 1:
            w = w.flatten(self.relaxed_start_dim)
        penalty = pairwise_l1(w, dim=-1)
        if self.penalty_reduction == "mean":
            penalty = penalty / w.shape[-1] ** 2
        return penalty

    # ---- the kernel ----------------------------------------------------------------------------
    @abstractmethod
    def expanded_weight(self) -> torch.Tensor:
        """The full kernel the layer convolves with (relaxed weights and filter banks combined)."""

    # ---- shared helpers ------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor, expected: int) -> None:
        """ValueError unless ``x`` has shape ``(B, expected, H, W)``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != expected:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"{type(self).__name__} expected input of shape (B, {expected}, H, W), got {shape}"
            )

    def _conv(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Convolve with the layer's ``padding`` / ``padding_mode`` (see :func:`pad_conv2d`)."""
        return pad_conv2d(x, weight, bias, self.padding, self.padding_mode)

    def extra_repr(self) -> str:
        head = f"{self.in_channels}, {self.out_channels}"
        fields = ", ".join(f"{name}={getattr(self, name)}" for name in self.repr_fields)
        return f"{head}, {fields}" if fields else head
