"""The open registry of forecasting data sets: one :class:`DatasetSpec` per name.

A data set registers itself once, in its own module, and everything that lists data sets derives
from here: :func:`aeqkit.data.load_dataset` / :func:`aeqkit.data.windows.dataset_config`,
:data:`aeqkit.data.DATASET_NAMES` and :data:`aeqkit.data.PROFILES`, the CLI and the docs.
The built-in sets (heat, the smoke plumes, the synthetic jet) are registered in
:mod:`aeqkit.data.catalog`; a user's set is one call (or decorator) in the user's own file::

    @dataclass(frozen=True)
    class WaveConfig:
        resolution: int = 32
        steps: int = 40
        seed: int = 0
        name: str = "wave"              # file-name stem of the cache

    @register_dataset("wave", config=WaveConfig, profiles={"quick": {"resolution": 16}},
                      symmetry="translation", group="translation", description="toy waves")
    def generate_wave(config: WaveConfig, progress: bool = True):
        fields = ...                        # (S, T, C, H, W) float32
        return {"fields": fields}, {"field_type": "vector", "group": "translation"}

    data = load_dataset("wave", "quick")    # generated once, cached under data/, split into windows

Generation is cached by the config's hash (:func:`aeqkit.data.cache.cached`), so a registration
never changes the cache key of a set: the key is its config.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aeqkit.groups import Group, get_group

__all__ = [
    "DatasetSpec",
    "WINDOW_DEFAULTS",
    "WINDOW_PROFILES",
    "WINDOW_KEYS",
    "register_dataset",
    "unregister_dataset",
    "dataset_specs",
    "get_dataset_spec",
    "dataset_orbits",
    "dataset_table",
]

#: Window settings of every set (paper Sec. 5: 10 input frames, 80/20 simulations, 25% future).
WINDOW_DEFAULTS: Mapping[str, Any] = MappingProxyType(dict(
    input_length=10, future_fraction=0.25, test_domain_fraction=0.2, valid_fraction=0.1, split_seed=0,
    balance_orbits=True, eval_steps=20, target_length=5))

#: Window settings per profile (over :data:`WINDOW_DEFAULTS`): ``quick`` and ``medium`` evaluate
#: 10-step rollouts, ``full`` the paper's 20 steps. A spec may override them (``DatasetSpec.windows``).
WINDOW_PROFILES: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "quick": MappingProxyType(dict(eval_steps=10, target_length=5)),
    "medium": MappingProxyType(dict(eval_steps=10, target_length=5)),
    "full": MappingProxyType(dict(eval_steps=20, target_length=5)),
})

#: Keyword arguments of ``load_dataset`` that set windows rather than the generating config.
WINDOW_KEYS: tuple[str, ...] = tuple(WINDOW_DEFAULTS)

_SPECS: dict[str, DatasetSpec] = {}


def dataset_orbits(meta: Mapping[str, Any]) -> list[Any] | None:
    """The orbit label of each simulation of a generated set, or ``None`` without group structure.

    ``meta["orbits"]`` when a generator provides it (e.g. heat with rotated plates); else, for C4
    sets (smoke rotation / levels), the base-inflow index ``meta["position_index"]``: the four
    orientations of one inflow form one orbit. The ``orbits`` hook of the built-in sets with group
    structure (:func:`aeqkit.data.make_splits` keeps orbits whole and balanced).
    """
    if meta.get("orbits") is not None:
        return list(meta["orbits"])
    if meta.get("group") == "C4" and meta.get("position_index") is not None:
        return list(meta["position_index"])
    return None


def _config_fields(config: type) -> set[str]:
    return {f.name for f in dataclasses.fields(config)}


@dataclass(frozen=True)
class DatasetSpec:
    """Everything :func:`aeqkit.data.load_dataset` needs to know about one named data set.

    Attributes:
        name: the name ``load_dataset`` takes (e.g. ``"smoke_rotation"``).
        config: the generating config class, a dataclass (frozen: its hash is the cache key).
        generate: ``generate(config, progress=bool) -> ({"fields": (S, T, C, H, W), ...}, meta)``.
        profiles: ``{profile: {config field: value}}``: the config of each profile the set has.
        symmetry: the symmetry the set probes (``"rotation"``, ``"translation"``, ``"scaling"``,
            ``"reflection"``, ...): the symmetry its knob breaks.
        group: name of the :mod:`aeqkit.groups` group relating its simulations (``get_group(group)``).
        orbits: ``orbits(meta) -> labels | None``: one orbit label per simulation for
            orbit-balanced splits (:func:`aeqkit.data.make_splits`); ``None``: no orbit structure.
        description: one line for listings (CLI, docs).
        make_config: builds the config from a profile's fields and the overrides (default:
            ``config(**fields)``; the jet uses ``JetConfig.from_profile``).
        num_frames: ``num_frames(config) -> T`` (default: ``config.steps``), checked against the
            windows before anything is generated.
        levels: number of sub-sets selected by ``load_dataset(..., level=k)`` (``0``: no ``level=``).
        select_level: ``select_level(fields, meta, level) -> (fields, meta)`` for sets with levels
            (one cached generation serves every level).
        windows: ``{profile: {window key: value}}`` overriding :data:`WINDOW_PROFILES`.
        fixed_fields: config fields set by the registration that ``load_dataset`` may not override.
    """

    name: str
    config: type
    generate: Callable[..., tuple[dict[str, Any], dict[str, Any]]]
    profiles: Mapping[str, Mapping[str, Any]]
    symmetry: str
    group: str
    orbits: Callable[[Mapping[str, Any]], Sequence[Any] | None] | None = None
    description: str = ""
    make_config: Callable[..., Any] | None = None
    num_frames: Callable[[Any], int] | None = None
    levels: int = 0
    select_level: Callable[..., tuple[Any, dict[str, Any]]] | None = None
    windows: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fixed_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def accepted_overrides(self) -> list[str]:
        """Config fields ``load_dataset`` accepts as keyword arguments (besides :data:`WINDOW_KEYS`)."""
        return sorted(_config_fields(self.config) - set(self.fixed_fields))

    def get_group(self) -> Group:
        """The :class:`aeqkit.groups.Group` relating the simulations of this set."""
        return get_group(self.group)

    def window_settings(self, profile: str) -> dict[str, Any]:
        """The window settings of ``profile``: defaults, then the profile's, then this set's."""
        win = dict(WINDOW_DEFAULTS)
        win.update(WINDOW_PROFILES.get(profile, {}))
        win.update(self.windows.get(profile, {}))
        return win

    def build_config(self, profile: str, overrides: Mapping[str, Any]) -> Any:
        """The generating config of ``profile`` updated by ``overrides`` (config fields only).

        Raises ``ValueError`` naming the accepted profiles or fields.
        """
        self.check_profile(profile)
        bad = sorted(set(overrides) - set(self.accepted_overrides))
        if bad:
            raise ValueError(f"unknown option(s) {bad} for {self.name!r}; accepted: "
                             f"{sorted(set(self.accepted_overrides) | set(WINDOW_KEYS))}")
        kwargs = dict(self.profiles[profile])
        kwargs.update(overrides)
        return (self.make_config or self.config)(**kwargs)

    def check_profile(self, profile: str) -> None:
        """Raise ``ValueError`` naming this set's profiles unless it has ``profile``."""
        if not isinstance(profile, str) or profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r} for data set {self.name!r}; accepted: "
                             f"{', '.join(self.profiles)}")

    def frames(self, config: Any) -> int:
        """Frames per trajectory of ``config``."""
        return int(self.num_frames(config) if self.num_frames is not None else config.steps)

    def check_level(self, level: int | None) -> None:
        """Raise ``ValueError`` unless ``level`` fits this set (required iff it has levels)."""
        if self.levels:
            if level is None or isinstance(level, bool) or not isinstance(level, int) \
                    or not 0 <= level < self.levels:
                raise ValueError(f"{self.name} needs level=0..{self.levels - 1}, got level={level!r}")
        elif level is not None:
            with_levels = [n for n, s in _SPECS.items() if s.levels]
            raise ValueError(f"level= only applies to data sets with levels ({', '.join(with_levels)}), "
                             f"not {self.name!r}")


def _validate(spec: DatasetSpec) -> None:
    if not isinstance(spec.name, str) or not spec.name.isidentifier():
        raise ValueError(f"name must be an identifier-like string (e.g. 'my_flow'), got {spec.name!r}")
    if not (isinstance(spec.config, type) and dataclasses.is_dataclass(spec.config)):
        raise TypeError(f"config must be a dataclass type (its frozen instances are the cache keys), got "
                        f"{spec.config!r}")
    for label in ("generate", "orbits", "make_config", "num_frames", "select_level"):
        value = getattr(spec, label)
        if value is not None and not callable(value):
            raise TypeError(f"{label} must be callable, got {type(value).__name__}")
    if spec.generate is None:
        raise TypeError("generate must be callable: generate(config, progress=bool) -> (data, meta)")
    if not isinstance(spec.profiles, Mapping) or not spec.profiles:
        raise ValueError(f"profiles must be a non-empty mapping {{profile: {{config field: value}}}}, got "
                         f"{spec.profiles!r}")
    accepted = _config_fields(spec.config)
    if spec.make_config is not None:
        accepted |= set(inspect.signature(spec.make_config).parameters) - {"self", "cls"}
    for prof, fields in spec.profiles.items():
        if not isinstance(fields, Mapping):
            raise ValueError(f"profiles[{prof!r}] must be a mapping of config fields, got {fields!r}")
        bad = sorted(set(fields) - accepted)
        if bad:
            raise ValueError(f"profiles[{prof!r}] of {spec.name!r} sets unknown field(s) {bad}; accepted: "
                             f"{sorted(accepted)}")
    for prof, win in spec.windows.items():
        bad = sorted(set(win) - set(WINDOW_KEYS))
        if bad:
            raise ValueError(f"windows[{prof!r}] of {spec.name!r} sets unknown key(s) {bad}; accepted: "
                             f"{list(WINDOW_KEYS)}")
    for label in ("symmetry", "group"):
        if not isinstance(getattr(spec, label), str) or not getattr(spec, label):
            raise ValueError(f"{label} must be a non-empty string, got {getattr(spec, label)!r}")
    get_group(spec.group)  # raises ValueError naming the accepted group names
    if not isinstance(spec.levels, int) or spec.levels < 0:
        raise ValueError(f"levels must be an int >= 0, got {spec.levels!r}")
    if bool(spec.levels) != (spec.select_level is not None):
        raise ValueError("levels > 0 and select_level go together: give both or neither")
    bad = sorted(set(spec.fixed_fields) - _config_fields(spec.config))
    if bad:
        raise ValueError(f"fixed_fields {bad} are not fields of {spec.config.__name__}")


def register_dataset(name: str, *, config: type, profiles: Mapping[str, Mapping[str, Any]], symmetry: str,
                     group: str, generate: Callable[..., Any] | None = None,
                     orbits: Callable[[Mapping[str, Any]], Sequence[Any] | None] | None = None,
                     description: str = "", replace: bool = False, **options: Any) -> Any:
    """Register a data set under ``name`` (see :class:`DatasetSpec` for the fields).

    With ``generate``, registers it and returns the :class:`DatasetSpec`; without, returns a
    decorator that registers the decorated generator and returns it unchanged. ``options`` are the
    other :class:`DatasetSpec` fields (``make_config``, ``num_frames``, ``levels``, ``select_level``,
    ``windows``, ``fixed_fields``). A name already registered raises ``ValueError`` unless
    ``replace=True``.
    """
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(DatasetSpec)})
    if unknown:
        raise TypeError(f"register_dataset got unknown option(s) {unknown}; accepted: "
                        f"{[f.name for f in dataclasses.fields(DatasetSpec)]}")

    def add(gen: Callable[..., Any]) -> DatasetSpec:
        spec = DatasetSpec(name=name, config=config, generate=gen, profiles=profiles, symmetry=symmetry,
                           group=group, orbits=orbits, description=description, **options)
        if name in _SPECS and not replace:
            raise ValueError(f"data set {name!r} is already registered; pass replace=True to replace it")
        _SPECS[name] = spec
        return spec

    if generate is not None:
        return add(generate)

    def decorator(gen: Callable[..., Any]) -> Callable[..., Any]:
        add(gen)
        return gen

    return decorator


def unregister_dataset(name: str) -> DatasetSpec:
    """Remove a registered data set (e.g. a test's toy set) and return its spec."""
    get_dataset_spec(name)
    return _SPECS.pop(name)


def dataset_specs() -> dict[str, DatasetSpec]:
    """``{name: DatasetSpec}`` of every registered data set, in registration order."""
    return dict(_SPECS)


def get_dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; ``ValueError`` listing the registered names otherwise."""
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"unknown data set {name!r}; accepted: {', '.join(_SPECS)}")
    return _SPECS[name]


def dataset_table() -> str:
    """A markdown table of the registered data sets (name, symmetry, group, profiles, description),
    for the docs and the command line."""
    rows = ["| data set | symmetry | group | profiles | levels | description |", "|---|---|---|---|---:|---|"]
    for spec in _SPECS.values():
        rows.append(f"| `{spec.name}` | {spec.symmetry} | {spec.group} | {', '.join(spec.profiles)} | "
                    f"{spec.levels or ''} | {spec.description} |")
    return "\n".join(rows)
