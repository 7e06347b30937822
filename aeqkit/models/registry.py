"""The open model registry: every forecaster registers itself with :func:`register_model`.

A model is registered in its own file, on its class::

    @register_model("mymodel", symmetries=("rotation", None), display_name="MyModel",
                    kind="relaxed")
    class MyForecaster(Forecaster):
        def __init__(self, symmetry="rotation", width=16, ...): ...

and from then on :func:`aeqkit.models.build`, :func:`aeqkit.models.available_models`, the CLI,
``aeqkit.reproduce``, ``aeqkit.paper.DISPLAY_NAMES`` and the tests that parametrise over
:func:`model_specs` know it (adding a model touches its own file and one test). The accepted
keyword names (:attr:`ModelSpec.hparams`) are read from the class signature, so they never drift
from the code.

This module imports no model (no import cycle): the zoo's modules import it, and the package
``aeqkit.models``, which Python imports before this module, imports the zoo.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "SYMMETRIES",
    "ModelSpec",
    "register_model",
    "model_specs",
    "get_model_spec",
    "model_aliases",
    "resolve_name",
    "normalise_name",
]

#: Symmetry labels a model can be registered for (``None``: no symmetry, e.g. the plain MLP).
#: ``"dihedral"`` is D4 (90-degree rotations and reflections, a symmetry of Navier-Stokes).
SYMMETRIES: tuple[str, ...] = ("rotation", "translation", "scaling", "dihedral")

#: ``baseline``: closed form, not trained by ``fit``; ``unconstrained``: no built-in symmetry
#: beyond translation, or only a soft one (prior, hinge, non-equivariant layers); ``strict``:
#: exactly equivariant; ``relaxed``: relaxed weights (paper Sec. 3), exactly equivariant at
#: initialisation with ``extra_loss() == 0`` there.
KINDS: tuple[str, ...] = ("baseline", "unconstrained", "strict", "relaxed")

#: Letters of the paper's suffixed names (``RGroupT``, ``LiftR``, ``RppS``, ``RGroupD``).
SUFFIXES: dict[str, str] = {"t": "translation", "r": "rotation", "s": "scaling", "d": "dihedral"}


def normalise_name(name: str) -> str:
    """Case-, ``_``- and ``-``-insensitive key of a model name or alias."""
    return name.strip().lower().replace("-", "").replace("_", "")


def _signature_names(target: Callable) -> tuple[frozenset[str], bool]:
    """Named keyword parameters of ``target`` (without ``self``) and whether it takes ``**kw``."""
    params = inspect.signature(target).parameters.values()
    names = frozenset(p.name for p in params
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: how to build it and what it accepts.

    Attributes:
        name: canonical lower-case name (``"rgroup"``).
        display_name: the paper's column header (``"RGroup"``).
        symmetries: accepted symmetry labels; the first is the default.
        kind: one of :data:`KINDS`.
        hparams: keyword names accepted for some symmetry (read from the class signatures, less
            ``symmetry`` and the keywords the registration fixes). See :meth:`accepted_hparams`.
        factory: ``factory(symmetry, **hparams) -> Forecaster`` (also sets ``model.symmetry``).
        aliases: ``(alias, implied symmetry or None)`` pairs, the paper's suffixed names included.
        classes: the class built for each symmetry.
        fixed: keywords the registration passes and a user may not (``{"tie": "C4"}``).
        takes_network_hparams: the class takes ``**kwargs`` and ignores the networks'
            hyper-parameters (closed-form baselines), so one profile can build every model.
    """

    name: str
    display_name: str
    symmetries: tuple[str | None, ...]
    kind: str
    hparams: frozenset[str]
    factory: Callable[..., Any] = field(repr=False, compare=False)
    aliases: tuple[tuple[str, str | None], ...] = ()
    classes: Mapping[str | None, type] = field(default_factory=dict, repr=False, compare=False)
    fixed: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    takes_network_hparams: bool = False

    def accepted_hparams(self, symmetry: str | None) -> frozenset[str]:
        """Keyword names :func:`aeqkit.models.build` accepts for ``symmetry``.

        Models taking ``**kwargs`` (the closed-form baselines) accept every network's names too.
        """
        names, _ = _signature_names(self.classes[symmetry])
        names = (names - {"symmetry"}) - set(self.fixed)
        if self.takes_network_hparams:
            for spec in _REGISTRY.values():
                if not spec.takes_network_hparams:
                    names |= spec.hparams
        return frozenset(names)


_REGISTRY: dict[str, ModelSpec] = {}
_ALIASES: dict[str, tuple[str, str | None]] = {}


def _check_symmetries(symmetries: object, name: str) -> tuple[str | None, ...]:
    syms = tuple(symmetries) if isinstance(symmetries, (tuple, list)) else ()
    if not syms or any(s is not None and s not in SYMMETRIES for s in syms) or \
            len(set(syms)) != len(syms):
        raise ValueError(f"register_model({name!r}): symmetries must be a non-empty sequence of "
                         f"distinct values from {(None, *SYMMETRIES)}, got {symmetries!r}")
    return syms


def _make_factory(classes: Mapping[str | None, type], fixed: Mapping[str, Any],
                  defaults: Mapping[str, Any]) -> Callable[..., Any]:
    def factory(symmetry: str | None, **hparams: Any) -> Any:
        cls = classes[symmetry]
        kwargs = {**defaults, **hparams, **fixed}
        if "symmetry" in _signature_names(cls)[0] and "symmetry" not in fixed:
            kwargs["symmetry"] = symmetry
        model = cls(**kwargs)
        model.symmetry = symmetry  # the label (RSteerTR builds a rotation RSteer, label None, ...)
        return model

    return factory


def register_model(
    name: str,
    *,
    symmetries: Sequence[str | None],
    display_name: str,
    kind: str,
    aliases: Sequence[str | tuple[str, str | None]] = (),
    paper_suffixes: bool = True,
    classes: Mapping[str | None, type] | None = None,
    fixed: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[[type], type]:
    """Class decorator registering a forecaster under ``name`` (decorators may be stacked).

    Args:
        name: canonical name, lower case (``"rgroup"``).
        symmetries: accepted symmetry labels (values of :data:`SYMMETRIES` or ``None``); the
            first is the default of :func:`aeqkit.models.build`.
        display_name: the paper's column header, for tables (``aeqkit.paper.DISPLAY_NAMES``).
        kind: one of :data:`KINDS`.
        aliases: extra names, each a string (no implied symmetry) or ``(alias, symmetry)``.
        paper_suffixes: also register ``name + letter`` for each accepted symmetry (``rgroupt``,
            ``rgroupr``, ``rgroups``, ``rgroupd``; letters :data:`SUFFIXES`).
        classes: per-symmetry replacement of the decorated class (``{"translation":
            ConvForecaster}``: the strict translation model is the ConvNet).
        fixed: keywords always passed and not accepted from users (may include ``symmetry``,
            then the accepted label differs from what the class is built for).
        defaults: keywords with a registry default a user may override.

    Raises:
        ValueError: a repeated name or alias, an unknown kind or symmetry.
    """
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"register_model: name must be a non-empty lower-case string, got {name!r}")
    syms = _check_symmetries(symmetries, name)
    if kind not in KINDS:
        raise ValueError(f"register_model({name!r}): kind must be one of {KINDS}, got {kind!r}")

    def decorate(cls: type) -> type:
        per_sym = {s: (classes or {}).get(s, cls) for s in syms}
        fix, dflt = dict(fixed or {}), dict(defaults or {})
        names: set[str] = set()
        var_kw = False
        for target in set(per_sym.values()):
            n, v = _signature_names(target)
            names |= n
            var_kw |= v
        hparams = frozenset((names | set(dflt)) - {"symmetry"} - set(fix))
        pairs: list[tuple[str, str | None]] = []
        for a in aliases:
            alias, implied = (a, None) if isinstance(a, str) else (a[0], a[1])
            if implied is not None and implied not in syms:
                raise ValueError(f"register_model({name!r}): alias {alias!r} implies symmetry "
                                 f"{implied!r}, not one of {syms}")
            pairs.append((normalise_name(alias), implied))
        if paper_suffixes:
            for letter, sym in SUFFIXES.items():
                if sym in syms:
                    pairs.append((normalise_name(name) + letter, sym))
        key = normalise_name(name)
        taken = {normalise_name(n) for n in _REGISTRY} | set(_ALIASES)
        clash = [k for k in (key, *(p[0] for p in pairs)) if k in taken]
        if clash:
            raise ValueError(f"register_model({name!r}): name or alias {clash} is already "
                             f"registered; known: {sorted(taken)}")
        _REGISTRY[name] = ModelSpec(
            name=name, display_name=display_name, symmetries=syms, kind=kind, hparams=hparams,
            factory=_make_factory(per_sym, fix, dflt), aliases=tuple(pairs), classes=per_sym,
            fixed=fix, takes_network_hparams=var_kw)
        for alias, implied in pairs:
            _ALIASES[alias] = (name, implied)
        return cls

    return decorate


def model_specs() -> dict[str, ModelSpec]:
    """Every registered model by canonical name (networks first, closed-form baselines last).

    Complete once this module is imported: importing ``aeqkit.models.registry`` first runs
    ``aeqkit/models/__init__.py``, which imports the zoo's modules (their decorators register).
    """
    ordered = sorted(_REGISTRY.values(), key=lambda s: s.kind == "baseline")
    return {s.name: s for s in ordered}


def _known_names() -> str:
    lines = [f"{n} (symmetry: {', '.join(str(s) for s in spec.symmetries)})"
             for n, spec in model_specs().items()]
    return "; ".join(lines) + "; aliases: " + ", ".join(sorted(_ALIASES))


def resolve_name(name: str) -> tuple[ModelSpec, str | None]:
    """``(spec, implied symmetry or None)`` of a canonical name or alias (case-insensitive)."""
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string; known models: {_known_names()}")
    specs = model_specs()
    key = normalise_name(name)
    by_norm = {normalise_name(n): n for n in specs}
    if key in by_norm:
        return specs[by_norm[key]], None
    if key in _ALIASES:
        canonical, implied = _ALIASES[key]
        return specs[canonical], implied
    raise ValueError(f"unknown model {name!r}; known models: {_known_names()}")


def get_model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a model name or alias (``"RGroupT"`` gives ``rgroup``'s)."""
    return resolve_name(name)[0]


def model_aliases() -> dict[str, tuple[str, str | None]]:
    """Alias -> (canonical name, implied symmetry or ``None``)."""
    model_specs()
    return dict(_ALIASES)
