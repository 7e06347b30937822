"""How far a function, a model, a layer or a data set is from equivariant (paper Def. 2.1 and 3.1).

For a function ``f`` with input type ``ρ_X`` and output type ``ρ_Y`` the equivariance error of one
sample ``x`` and group element ``g`` is ``‖f(ρ_X(g) x) - ρ_Y(g) f(x)‖``; Def. 3.1 takes the sup over
``x`` and ``g``. :func:`equivariance_error` reports the sup and the mean over samples and elements, and
both per element. Norms (per sample, over all channel and grid entries):

* ``"l1"``: mean absolute difference (the normalised L1 of the paper's Fig. 4 and Sec. 5.2),
* ``"l2"``: root mean square difference,
* ``"linf"``: largest absolute difference,
* ``"relative"``: ``‖f(gx) - g f(x)‖₂ / ‖g f(x)‖₂``.

For elements acting by interpolation (e.g. 45° rotations) only pixels whose source lies inside the
grid on both sides are compared (the lost corners are masked out and reported as ``valid_fraction``).

See also: notebook 00, sections 2-3.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from aeqkit.groups import FieldType, Group, get_group

__all__ = [
    "NORMS",
    "ElementError",
    "EquivarianceReport",
    "equivariance_error",
    "assert_equivariant",
    "default_tolerance",
    "LayerError",
    "layer_equivariance_report",
    "data_equivariance_error",
]

log = logging.getLogger(__name__)

NORMS = ("l1", "l2", "linf", "relative")

#: Default tolerances for :func:`assert_equivariant`, keyed by dtype (relative to the output scale).
TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-9,
    torch.float32: 1e-4,
    torch.float16: 5e-2,
    torch.bfloat16: 5e-2,
}


def default_tolerance(dtype: torch.dtype) -> float:
    """The tolerance used by :func:`assert_equivariant` for ``dtype``."""
    if dtype not in TOLERANCES:
        raise ValueError(f"no default tolerance for dtype {dtype}; accepted: {list(TOLERANCES)}")
    return TOLERANCES[dtype]


def _per_sample(diff: torch.Tensor, ref: torch.Tensor, norm: str, mask: torch.Tensor | None) -> torch.Tensor:
    """Reduce ``diff`` of shape (B, ...) to one number per sample."""
    B = diff.shape[0]
    if mask is not None:
        m = mask.to(diff.device).expand_as(diff)
        diff = diff * m
        ref = ref * m
        count = m.reshape(B, -1).sum(1).clamp_min(1)
    else:
        count = torch.full((B,), diff[0].numel(), dtype=diff.dtype, device=diff.device)
    d = diff.reshape(B, -1)
    if norm == "l1":
        return d.abs().sum(1) / count
    if norm == "l2":
        return (d.pow(2).sum(1) / count).sqrt()
    if norm == "linf":
        return d.abs().amax(1)
    if norm == "relative":
        return d.norm(dim=1) / ref.reshape(B, -1).norm(dim=1).clamp_min(1e-30)
    raise ValueError(f"unknown norm {norm!r}; accepted: {', '.join(NORMS)}")


@dataclass
class ElementError:
    """Error statistics for one group element."""

    element: Hashable
    label: str
    sup: float
    mean: float
    per_sample: list[float]
    exact: bool
    valid_fraction: float = 1.0


@dataclass
class EquivarianceReport:
    """The result of :func:`equivariance_error`: sup and mean over samples and elements, and per element."""

    group: str
    norm: str
    sup: float
    mean: float
    per_element: list[ElementError] = field(default_factory=list)

    @property
    def worst(self) -> ElementError:
        """The element with the largest error."""
        return max(self.per_element, key=lambda e: e.sup)

    def by_label(self) -> dict[str, ElementError]:
        return {e.label: e for e in self.per_element}

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "norm": self.norm, "sup": self.sup, "mean": self.mean,
                "per_element": [{"element": str(e.element), "label": e.label, "sup": e.sup,
                                 "mean": e.mean, "exact": e.exact, "valid_fraction": e.valid_fraction}
                                for e in self.per_element]}

    def __str__(self) -> str:
        lines = [f"equivariance error over {self.group} ({self.norm}): sup={self.sup:.3e} "
                 f"mean={self.mean:.3e}"]
        for e in self.per_element:
            tag = "exact" if e.exact else f"interp, {100 * e.valid_fraction:.0f}% valid"
            lines.append(f"  {e.label:>14}: sup={e.sup:.3e} mean={e.mean:.3e} ({tag})")
        return "\n".join(lines)


def _resolve_elements(group: Group, elements: Sequence[Hashable] | None, exact_only: bool,
                      shape: tuple[int, int]) -> list[Hashable]:
    els = list(group.elements()) if elements is None else list(elements)
    if exact_only:
        els = [g for g in els if group.is_exact(g, shape)]
    if not els:
        raise ValueError(f"no group elements to test for {group} (exact_only={exact_only}, grid {shape})")
    return els


@torch.no_grad()
def equivariance_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    group: Group | str,
    in_type: FieldType | str = "vector",
    out_type: FieldType | str = "vector",
    elements: Sequence[Hashable] | None = None,
    norm: str = "l1",
    exact_only: bool = False,
) -> EquivarianceReport:
    """Equivariance error of ``f`` on the samples ``x`` (Def. 3.1), per group element.

    Args:
        f: a function or module mapping fields to fields.
        x: samples along the first axis.
        group: a :class:`~aeqkit.groups.Group` or a name for :func:`~aeqkit.groups.get_group`.
        in_type, out_type: field types of the input and output channel axes (axis -3).
        elements: elements to test (default: all of a finite group, a grid for continuous ones).
        norm: ``"l1"`` (mean absolute, paper Fig. 4), ``"l2"`` (RMS), ``"linf"`` or ``"relative"``.
        exact_only: test only elements that act without interpolation.

    Shape:
        ``x: (B, ..., C_in, H, W)``, ``f(x): (B, ..., C_out, H', W')``.

    Returns:
        An :class:`EquivarianceReport` with ``.sup``, ``.mean`` and ``.per_element``.
    """
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; accepted: {', '.join(NORMS)}")
    group = get_group(group)
    if not isinstance(x, torch.Tensor) or x.ndim < 4:
        raise ValueError("x must be a batch of fields of shape (B, ..., C, H, W) with at least 4 dims, "
                         f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf; expected finite samples")
    y = f(x)
    if not isinstance(y, torch.Tensor) or y.ndim < 4 or y.shape[0] != x.shape[0]:
        raise ValueError(f"f must return a tensor (B, ..., C, H, W) with the same batch size; got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    shape_in, shape_out = tuple(x.shape[-2:]), tuple(y.shape[-2:])
    els = _resolve_elements(group, elements, exact_only, shape_in)
    per: list[ElementError] = []
    for g in els:
        lhs = f(group.act(g, x, in_type))
        rhs = group.act(g, y, out_type, check_finite=False)
        exact = group.is_exact(g, shape_in) and group.is_exact(g, shape_out)
        mask = None
        valid = 1.0
        if not exact:
            m_out = group.valid_mask(g, shape_out).to(y.device)
            # pixels whose output depends on lost input corners are also unreliable: erode by the
            # input-side mask mapped through the same element
            m_in = group.valid_mask(g, shape_in).to(y.device)
            mask = m_out & m_in if shape_in == shape_out else m_out
            valid = float(mask.float().mean())
        errs = _per_sample((lhs - rhs).to(torch.float64), rhs.to(torch.float64), norm, mask)
        per.append(ElementError(g, group.label(g), float(errs.max()), float(errs.mean()),
                                errs.tolist(), exact, valid))
    sup = max(e.sup for e in per)
    mean = sum(e.mean for e in per) / len(per)
    report = EquivarianceReport(group.name, norm, sup, mean, per)
    log.debug("%s", report)
    return report


def assert_equivariant(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    group: Group | str,
    in_type: FieldType | str = "vector",
    out_type: FieldType | str = "vector",
    elements: Sequence[Hashable] | None = None,
    tol: float | None = None,
    exact_only: bool = True,
) -> EquivarianceReport:
    """Assert ``f`` is equivariant on ``x`` (like e3nn's ``assert_equivariant``); return the report.

    The test uses the ``linf`` norm relative to the output scale ``max(1, max|f(x)|)``; the default
    tolerance depends on ``x.dtype`` (see :data:`TOLERANCES`). Only exactly acting elements are tested
    unless ``exact_only=False``.
    """
    tol = default_tolerance(x.dtype) if tol is None else tol
    report = equivariance_error(f, x, group, in_type, out_type, elements, norm="linf", exact_only=exact_only)
    with torch.no_grad():
        scale = max(1.0, float(f(x).abs().max()))
    if report.sup > tol * scale:
        raise AssertionError(f"not equivariant within tol={tol:g} (x scale {scale:.3g}):\n{report}")
    return report


@dataclass
class LayerError:
    """Per-layer entry of :func:`layer_equivariance_report`."""

    name: str
    module: str
    in_type: str
    out_type: str
    local: float | None  # error of the layer alone on its own input: ‖L(g h) - g L(h)‖
    propagated: float | None  # error of the feature map: ‖F(g x) - g F(x)‖ (accumulated up to here)


def _layer_types(module: nn.Module, field_types: dict[str, tuple[Any, Any]] | None, name: str):
    if field_types and name in field_types:
        return field_types[name]
    fi = getattr(module, "in_field_type", None)
    fo = getattr(module, "out_field_type", None)
    return (fi, fo) if fi is not None and fo is not None else None


@torch.no_grad()
def layer_equivariance_report(
    model: nn.Module,
    x: torch.Tensor,
    group: Group | str,
    elements: Sequence[Hashable] | None = None,
    in_type: FieldType | str = "vector",
    field_types: dict[str, tuple[Any, Any]] | None = None,
    norm: str = "l1",
    exact_only: bool = True,
) -> list[LayerError]:
    """Per-layer equivariance errors of ``model`` on ``x``, found with forward hooks.

    A submodule is reported when its field types are known, from ``field_types[name] = (in, out)``
    or from its attributes ``in_field_type`` / ``out_field_type``. For each such layer two numbers are
    given, both the max over elements of the mean over samples: ``local``, the layer alone on its
    recorded input, and ``propagated``, the feature map's error after this layer (which accumulates the
    errors of earlier layers). Layers with unknown types are listed with ``None``.

    Shape: ``x: (B, ..., C, H, W)``.
    """
    group = get_group(group)
    els = _resolve_elements(group, elements, exact_only, tuple(x.shape[-2:]))
    names = {m: n for n, m in model.named_modules() if n}
    captured: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def hook(mod, inp, out):
        if isinstance(out, torch.Tensor) and inp and isinstance(inp[0], torch.Tensor):
            captured.setdefault(names[mod], []).append((inp[0], out))

    leaves = [m for m in model.modules() if m is not model and not list(m.children())
              or _layer_types(m, field_types, names.get(m, "")) is not None]
    handles = [m.register_forward_hook(hook) for m in leaves if m in names]
    try:
        model(x)
        base = {k: v[0] for k, v in captured.items()}
        transformed = []
        for g in els:
            captured.clear()
            model(group.act(g, x, in_type))
            transformed.append({k: v[0] for k, v in captured.items()})
    finally:
        for h in handles:
            h.remove()
    out: list[LayerError] = []
    for mod in leaves:
        name = names.get(mod)
        if name is None or name not in base:
            continue
        types = _layer_types(mod, field_types, name)
        if types is None:
            out.append(LayerError(name, type(mod).__name__, "?", "?", None, None))
            continue
        ti, to = types
        h_in, h_out = base[name]
        local, prop = 0.0, 0.0
        for g, tr in zip(els, transformed):
            lhs = mod(group.act(g, h_in, ti))
            rhs = group.act(g, h_out, to, check_finite=False)
            local = max(local, float(_per_sample((lhs - rhs).double(), rhs.double(), norm, None).mean()))
            if name in tr:
                d = tr[name][1] - rhs
                prop = max(prop, float(_per_sample(d.double(), rhs.double(), norm, None).mean()))
        out.append(LayerError(name, type(mod).__name__, repr(ti), repr(to), local, prop))
    return out


@torch.no_grad()
def data_equivariance_error(
    trajectories: torch.Tensor,
    elements: Sequence[Hashable],
    group: Group | str,
    field_type: FieldType | str = "vector",
    norm: str = "l1",
) -> float:
    """Data equivariance error of a set of simulations related by group elements (paper Sec. 5.2).

    Simulation ``s`` was set up as the reference set-up transformed by ``elements[s]``. Each is mapped
    back with ``elements[s]⁻¹`` and the error is the mean, over all pairs of simulations and all time
    steps, of the per-frame ``norm`` of their difference (``"l1"``: mean absolute difference). For
    exactly symmetric physics it is ~0.

    Shape: ``trajectories: (S, T, C, H, W)`` with ``S == len(elements) >= 2``.
    """
    group = get_group(group)
    if trajectories.ndim != 5:
        raise ValueError(f"trajectories must have shape (S, T, C, H, W), got {tuple(trajectories.shape)}")
    S = trajectories.shape[0]
    if len(elements) != S or S < 2:
        raise ValueError(f"need one group element per simulation and at least 2 simulations; got "
                         f"{S} simulations and {len(elements)} elements")
    back = torch.stack([group.act(group.inverse(g), trajectories[s], field_type)
                        for s, g in enumerate(elements)])
    masks = [group.valid_mask(group.inverse(g), tuple(trajectories.shape[-2:])) for g in elements]
    total, count = 0.0, 0
    for i in range(S):
        for j in range(i + 1, S):
            m = (masks[i] & masks[j]).to(back.device)
            d = (back[i] - back[j]).to(torch.float64)
            e = _per_sample(d, back[j].to(torch.float64), norm, m)
            total += float(e.sum())
            count += e.numel()
    val = total / count
    if not math.isfinite(val):
        raise ValueError("data equivariance error is not finite: check the trajectories for NaN/inf")
    return val
