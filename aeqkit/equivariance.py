"""How far a function, a model, a layer or a data set is from equivariant (paper Def. 2.1 and 3.1).

For a function ``f`` with input type ``ρ_X`` and output type ``ρ_Y`` the equivariance error of one
sample ``x`` and group element ``g`` is ``‖f(ρ_X(g) x) - ρ_Y(g) f(x)‖``; Def. 3.1 takes the sup over
``x`` and ``g``. :func:`equivariance_error` reports the sup and the mean over samples and elements, and
both per element. Norms (per sample, over all channel and grid entries):

* ``"l1"``: mean absolute difference (the normalised L1 of the paper's Fig. 4 and Sec. 5.2),
* ``"l2"``: root mean square difference,
* ``"linf"``: largest absolute difference,
* ``"relative"``: ``‖f(gx) - g f(x)‖₂ / ‖g f(x)‖₂``.

The report's ``sup`` and ``mean`` are over the **non-identity** elements (the identity scores zero for
any deterministic ``f`` and would dilute the mean by ``(|G|-1)/|G|``); the identity's own entry stays in
``per_element`` as a sanity check.

Masks: for elements acting by interpolation (e.g. 45° rotations, scalings) only cells whose source lies
inside the grid are compared (the lost corners are masked out and reported as ``valid_fraction``). A
caller's ``valid_mask`` (bool ``(H, W)``, e.g. land or missing data) restricts the comparison to cells
``p`` where both ``p`` and its preimage ``g⁻¹p`` are valid (``mask ∧ g·mask``). ``erode=r`` further drops
cells within ``r`` cells of an invalid one or of the grid's edge, for an ``f`` whose receptive field has
radius ``r`` (its zero padding is then never compared).
Each element's entry says whether it acted ``"exact"`` or ``"interpolated"``.

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

from aeqkit.groups import FieldType, Group, as_field_type, get_group

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
        diff = torch.where(m, diff, torch.zeros((), dtype=diff.dtype, device=diff.device))
        ref = torch.where(m, ref, torch.zeros((), dtype=ref.dtype, device=ref.device))
        count = m.reshape(B, -1).sum(1).clamp_min(1).to(diff.dtype)
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
    action: str = "exact"  # "exact" or "interpolated": how the group acted on this grid
    is_identity: bool = False


@dataclass
class EquivarianceReport:
    """The result of :func:`equivariance_error`: sup and mean over samples and non-identity elements, and
    per element (identity included)."""

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
                                 "mean": e.mean, "exact": e.exact, "valid_fraction": e.valid_fraction,
                                 "action": e.action, "is_identity": e.is_identity}
                                for e in self.per_element]}

    def __str__(self) -> str:
        lines = [f"equivariance error over {self.group} ({self.norm}, non-identity elements): "
                 f"sup={self.sup:.3e} mean={self.mean:.3e}"]
        for e in self.per_element:
            # the action's kind, not the error's: "exact" means the grid was moved without interpolation
            tag = f"{e.action} action"
            tag += f", {100 * e.valid_fraction:.0f}% valid" if e.valid_fraction < 1 else ""
            tag += ", identity" if e.is_identity else ""
            lines.append(f"  {e.label:>14}: sup={e.sup:.3e} mean={e.mean:.3e} ({tag})")
        return "\n".join(lines)


def _resolve_elements(group: Group, elements: Sequence[Hashable] | None, exact_only: bool,
                      shape: tuple[int, int]) -> list[Hashable]:
    els = list(group.elements()) if elements is None else [group.check_element(g) for g in elements]
    if exact_only:
        els = [g for g in els if group.is_exact(g, shape)]
    if not els:
        raise ValueError(f"no group elements to test for {group} (exact_only={exact_only}, grid {shape})")
    return els


def _is_identity(group: Group, g: Hashable) -> bool:
    return bool(group.equal(g, group.identity))


def summarize(per: Sequence[ElementError]) -> tuple[float, float]:
    """``(sup, mean)`` over the non-identity entries of ``per`` (all entries if every one is the identity)."""
    use = [e for e in per if not e.is_identity] or list(per)
    return max(e.sup for e in use), sum(e.mean for e in use) / len(use)


def _check_mask(valid_mask: torch.Tensor | None, shape: tuple[int, int]) -> torch.Tensor | None:
    if valid_mask is None:
        return None
    if not isinstance(valid_mask, torch.Tensor) or valid_mask.dtype != torch.bool or \
            tuple(valid_mask.shape) != tuple(shape):
        got = (f"{valid_mask.dtype} of shape {tuple(valid_mask.shape)}"
               if isinstance(valid_mask, torch.Tensor) else type(valid_mask).__name__)
        raise ValueError(f"valid_mask must be a bool tensor of shape (H, W)={tuple(shape)} "
                         f"(True = valid cell), got {got}")
    if not bool(valid_mask.any()):
        raise ValueError("valid_mask has no valid cell; expected at least one True")
    return valid_mask


def erode_mask(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Drop cells of a bool ``(H, W)`` mask within ``radius`` cells (Chebyshev) of an invalid cell or
    of the grid's edge (what lies outside the grid, e.g. zero padding, counts as invalid)."""
    if radius <= 0:
        return mask
    bad = (~mask).to(torch.float32)[None, None]
    bad = torch.nn.functional.pad(bad, (radius,) * 4, value=1.0)
    grown = torch.nn.functional.max_pool2d(bad, 2 * radius + 1, stride=1)[0, 0] > 0
    return mask & ~grown


def _acted(group: Group, g: Hashable, x: torch.Tensor, ftype: Any, times: Any, check_finite: bool = True):
    if getattr(group, "time_dependent", False):
        return group.act(g, x, ftype, check_finite=check_finite, times=times)
    return group.act(g, x, ftype, check_finite=check_finite)


def _transport_mask(group: Group, g: Hashable, mask: torch.Tensor, times: Sequence[Any]) -> torch.Tensor:
    """``g·mask``: True where the preimage of a cell under ``g`` is valid (all bilinear sources valid)."""
    out = torch.ones_like(mask)
    m = mask.to(torch.float64)[None, None]
    for t in times:
        moved = _acted(group, g, m, "scalar", t, check_finite=False)[0, 0]
        out &= moved > 1 - 1e-9
    return out


def element_mask(group: Group, g: Hashable, shape: tuple[int, int], valid_mask: torch.Tensor | None = None,
                 erode: int = 0, times: Sequence[Any] = (None,)) -> torch.Tensor | None:
    """The bool ``(H, W)`` mask on which element ``g`` is scored (``None``: every cell).

    Cells that come from outside the grid under an interpolated action (the group's ``valid_mask``),
    cells that are invalid or whose preimage is invalid (``valid_mask ∧ g·valid_mask``), then eroded by
    ``erode`` cells (also from the grid's edge). ``times``: for time-dependent groups, the times at
    which ``g`` acts (all of them must map valid cells to valid cells).
    """
    mask = None
    if not group.is_exact(g, shape):
        mask = group.valid_mask(g, shape)
    if valid_mask is not None:
        vm = valid_mask.cpu() & _transport_mask(group, g, valid_mask.cpu(), times)
        mask = vm if mask is None else mask & vm
    if erode > 0:
        mask = erode_mask(torch.ones(shape, dtype=torch.bool) if mask is None else mask, int(erode))
    return mask


def _channel_mask(group: Group, g: Hashable, ftype: Any, channels: int) -> torch.Tensor | None:
    ft = ftype if isinstance(ftype, FieldType) else as_field_type(ftype, channels)
    return group.channel_mask(g, ft)


def _defined_cells(group: Group, g: Hashable, ftype: Any, shape: torch.Size) -> torch.Tensor | None:
    """Bool ``(C, H, W)`` mask of the entries of ``act(g, h)`` that are defined (``None``: all)."""
    C, H, W = shape[-3], shape[-2], shape[-1]
    spatial = None if group.is_exact(g, (H, W)) else group.valid_mask(g, (H, W))
    chan = _channel_mask(group, g, ftype, C)
    if spatial is None and chan is None:
        return None
    spatial = torch.ones(H, W, dtype=torch.bool) if spatial is None else spatial
    chan = torch.ones(C, dtype=torch.bool) if chan is None else chan
    return chan[:, None, None] & spatial[None]


def _taint(h: torch.Tensor, defined: torch.Tensor | None) -> torch.Tensor:
    """``h`` with undefined entries set to NaN, so everything computed from them is NaN too."""
    if defined is None:
        return h
    return torch.where(defined.to(h.device), h, torch.full((), float("nan"), dtype=h.dtype, device=h.device))


def _flat_times(t: Any) -> list[Any]:
    if t is None:
        return [None]
    if isinstance(t, (int, float)):
        return [t]
    return list(t)


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
    valid_mask: torch.Tensor | None = None,
    erode: int = 0,
    in_times: float | Sequence[float] | None = None,
    out_times: float | Sequence[float] | None = None,
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
        valid_mask: optional bool ``(H, W)`` mask of valid cells (input and output share the grid); an
            element is scored only where the cell and its preimage are valid (``mask ∧ g·mask``).
        erode: drop cells within this many cells of an invalid one or of the grid's edge (the
            receptive-field radius of ``f``).
        in_times, out_times: for time-dependent groups (uniform motion) the times of the input and
            output frames (a number, or one per frame on axis -4). Default: the forecasting convention,
            input frames at ``0, dt, ..`` and the output one step after the last input frame.

    Shape:
        ``x: (B, ..., C_in, H, W)``, ``f(x): (B, ..., C_out, H', W')``; ``valid_mask: (H, W)``.

    Returns:
        An :class:`EquivarianceReport`; ``.sup`` and ``.mean`` are over the non-identity elements and
        ``.per_element`` lists every element with its action (``"exact"``/``"interpolated"``).
    """
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; accepted: {', '.join(NORMS)}")
    group = get_group(group)
    if not isinstance(x, torch.Tensor) or x.ndim < 4:
        raise ValueError("x must be a batch of fields of shape (B, ..., C, H, W) with at least 4 dims, "
                         f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf; expected finite samples")
    if isinstance(erode, bool) or not isinstance(erode, int) or erode < 0:
        raise ValueError(f"erode must be an int >= 0 (cells), got {erode!r}")
    shape_in = tuple(x.shape[-2:])
    valid_mask = _check_mask(valid_mask, shape_in)
    els = _resolve_elements(group, elements, exact_only, shape_in)
    y = f(x)
    if not isinstance(y, torch.Tensor) or y.ndim < 4 or y.shape[0] != x.shape[0]:
        raise ValueError(f"f must return a tensor (B, ..., C, H, W) with the same batch size; got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    shape_out = tuple(y.shape[-2:])
    if valid_mask is not None and shape_out != shape_in:
        raise ValueError(f"valid_mask needs f to keep the grid: input grid {shape_in}, "
                         f"output grid {shape_out}")
    timed = getattr(group, "time_dependent", False)
    if timed:
        if in_times is None:
            in_times = group.default_times(x, 0)
        if out_times is None:
            out_times = group.default_times(y, x.shape[-4] if x.ndim >= 5 else 1)
    per: list[ElementError] = []
    for g in els:
        lhs = f(_acted(group, g, x, in_type, in_times))
        rhs = _acted(group, g, y, out_type, out_times, check_finite=False)
        exact = group.is_exact(g, shape_in) and group.is_exact(g, shape_out)
        times = _flat_times(in_times) + _flat_times(out_times) if timed else [None]
        mask = element_mask(group, g, shape_out, valid_mask, erode, times)
        cmask = _channel_mask(group, g, out_type, y.shape[-3])
        if cmask is not None:  # scale channels shifted in from outside the scale axis
            mask = cmask[:, None, None] & (torch.ones(shape_out, dtype=torch.bool) if mask is None else mask)
        valid = 1.0 if mask is None else float(mask.float().mean())
        if mask is not None and not bool(mask.any()):
            raise ValueError(f"no cell left to score element {group.label(g)} (mask, lost corners and "
                             f"erode={erode} remove every cell of the {shape_out} grid)")
        errs = _per_sample((lhs - rhs).to(torch.float64), rhs.to(torch.float64), norm, mask)
        action = "exact" if exact else "interpolated"
        per.append(ElementError(g, group.label(g), float(errs.max()), float(errs.mean()),
                                errs.tolist(), exact, valid, action, _is_identity(group, g)))
    sup, mean = summarize(per)
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
    """Per-layer entry of :func:`layer_equivariance_report`.

    ``local`` / ``propagated`` are ``None`` for layers with unknown field types and NaN where no
    entry was left to score (every output depends on something undefined, e.g. a max over a
    truncated scale axis under a scale shift).
    """

    name: str
    module: str
    in_type: str
    out_type: str
    local: float | None  # error of the layer alone on its own input: ‖L(g h) - g L(h)‖
    propagated: float | None  # error of the feature map: ‖F(g x) - g F(x)‖ (accumulated up to here)
    actions: tuple[str, ...] = ()  # "exact" / "interpolated" per element


def _layer_types(module: nn.Module, field_types: dict[str, tuple[Any, Any]] | None, name: str):
    if field_types and name in field_types:
        return field_types[name]
    fi = getattr(module, "in_field_type", None)
    fo = getattr(module, "out_field_type", None)
    return (fi, fo) if fi is not None and fo is not None else None


def _masked_mean(lhs: torch.Tensor, rhs: torch.Tensor, norm: str, mask: torch.Tensor | None) -> float:
    """Mean over samples of the ``norm`` of ``lhs - rhs`` on ``mask ∧ finite(lhs)`` (NaN if empty)."""
    finite = torch.isfinite(lhs)
    m = finite if mask is None else finite & mask.to(lhs.device)
    if not bool(m.any()):
        return float("nan")
    if bool(m.all()):
        m = None
    return float(_per_sample((lhs - rhs).double(), rhs.double(), norm, m).mean())


def _nanmax(values: Sequence[float]) -> float:
    """Largest non-NaN value (0 for no values, NaN if all are NaN)."""
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else (float("nan") if values else 0.0)


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
    given, both the max over non-identity elements of the mean over samples: ``local``, the layer
    alone on its recorded input, and ``propagated``, the feature map's error after this layer (which
    accumulates the errors of earlier layers). Layers with unknown types are listed with ``None``.

    Elements that do not act exactly (interpolated rotations, scalings) leave some entries of
    ``g·h`` undefined: pixels from outside the grid and, for scale fields, scales from outside the
    scale axis. Those entries are set to NaN before the layer (or model) runs, and only outputs that
    stay finite, i.e. do not depend on anything undefined, are compared (an exact erosion by the
    layer's receptive field). The layers must therefore be local (convolutions, pointwise maps).

    Shape: ``x: (B, ..., C, H, W)``.
    """
    group = get_group(group)
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; accepted: {', '.join(NORMS)}")
    els = _resolve_elements(group, elements, exact_only, tuple(x.shape[-2:]))
    els = [g for g in els if not _is_identity(group, g)] or els
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
            gx = _taint(group.act(g, x, in_type), _defined_cells(group, g, in_type, x.shape))
            model(gx)
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
        locals_, props, actions = [], [], []
        for g, tr in zip(els, transformed):
            exact = group.is_exact(g, tuple(h_in.shape[-2:])) and group.is_exact(g, tuple(h_out.shape[-2:]))
            actions.append("exact" if exact else "interpolated")
            lhs = mod(_taint(group.act(g, h_in, ti), _defined_cells(group, g, ti, h_in.shape)))
            rhs = group.act(g, h_out, to, check_finite=False)
            defined = _defined_cells(group, g, to, h_out.shape)
            locals_.append(_masked_mean(lhs, rhs, norm, defined))
            if name in tr:
                props.append(_masked_mean(tr[name][1], rhs, norm, defined))
        out.append(LayerError(name, type(mod).__name__, repr(ti), repr(to), _nanmax(locals_),
                              _nanmax(props), tuple(actions)))
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
