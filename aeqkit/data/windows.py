"""Sliding windows, the train / valid / test-future / test-domain splits, and :func:`load_dataset`.

Protocol (paper Sec. 5): inputs are ``input_length = 10`` consecutive frames; training targets are
the next ``target_length`` frames (for a multi-step loss), evaluation targets the next ``eval_steps``
frames (autoregressive rollout RMSE). The simulations (or, for the jet, the measurement regions) are
split 80/20 into *training* and *test-domain* ones (seeded). Each training simulation's time axis is
cut at ``future_start``: train and valid windows have all their targets before it (valid is a seeded
10% of those windows), test-future windows have all their targets at or after it (their inputs may
reach back before it). Test-domain windows cover the held-out simulations' whole trajectories.

Sets with group structure (smoke rotation / levels: each base inflow in its four C4 orientations)
get *orbit-balanced* splits (:func:`make_splits` with ``orbits``): test-domain holds out whole
orbits (new base inflows), and train, valid and test-future hold every orientation of each training
inflow in equal number, so the training loss is C4-invariant on symmetric data and a relaxed model
initialised equivariant stays equivariant there (``tests/test_data_windows.py``).

:func:`load_dataset` knows no data set by name: it reads the :class:`~aeqkit.data.registry.DatasetSpec`
of the name (config, generator, profiles, orbits and level hooks; :mod:`aeqkit.data.registry`, the
built-in sets in :mod:`aeqkit.data.catalog`), and :data:`DATASET_NAMES` / :data:`PROFILES` are views
of the registry.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler, Subset, TensorDataset

from aeqkit.data.cache import cache_path, cached
from aeqkit.data.registry import (
    WINDOW_KEYS,
    WINDOW_PROFILES,
    dataset_orbits,
    dataset_specs,
    get_dataset_spec,
)
from aeqkit.data.smoke import NUM_LEVELS, SmokeConfig

__all__ = [
    "DATASET_NAMES",  # noqa: F822  (module __getattr__: a view of the registry)
    "SPLIT_NAMES",
    "PROFILES",  # noqa: F822
    "WindowDataset",
    "OrbitBatchSampler",
    "ForecastData",
    "make_splits",
    "dataset_orbits",
    "check_window_fits",
    "future_cut",
    "check_window_lengths",
    "check_split_fractions",
    "dataset_config",
    "load_dataset",
    "smoke_level_errors",
    "one_step_data_error",
    "one_step_data_errors",
    "equivariance_windows",
    "orbit_dataset_names",
    "sliding_windows",
    "subsample",
]

SPLIT_NAMES = ("train", "valid", "test_future", "test_domain")


def _profiles() -> dict[str, dict[str, dict[str, Any]]]:
    """``{profile: {data set: config fields, "_windows": window settings}}`` from the registry."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, spec in dataset_specs().items():
        for prof, fields in spec.profiles.items():
            out.setdefault(prof, {})[name] = dict(fields)
    for prof, table in out.items():
        table["_windows"] = dict(WINDOW_PROFILES.get(prof, {}))
    return out


def __getattr__(name: str) -> Any:
    # DATASET_NAMES and PROFILES are views of the registry, so a set registered later appears in them
    if name == "DATASET_NAMES":
        return tuple(dataset_specs())
    if name == "PROFILES":
        return _profiles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class WindowDataset(Dataset):
    """Sliding windows over trajectories: item ``i`` is ``(x, y)``.

    Shape:
        ``fields: (S, T, C, H, W)``; ``x: (input_length, C, H, W)``, ``y: (target_length, C, H, W)``.

    Attributes:
        index: list of ``(simulation, start)`` pairs; ``x = fields[s, start:start + input_length]``.
        mask: optional validity mask ``(H, W)`` bool (True = valid cell, e.g. ocean / measured), used
            by masked training and evaluation; ``None`` means every cell is valid.
        orbits: optional orbit label per simulation of ``fields`` (``len == S``): simulations with
            the same label are one group orbit (a base inflow in its four C4 orientations). Set by
            :func:`make_splits` / :func:`load_dataset` for sets with group structure; used by
            :class:`OrbitBatchSampler` (``aeqkit.train.fit(..., batches="orbits")``). ``None``: no
            orbit structure.
    """

    def __init__(self, fields: torch.Tensor, index: Sequence[tuple[int, int]], input_length: int,
                 target_length: int, name: str = "", mask: torch.Tensor | None = None,
                 orbits: Sequence[Hashable] | None = None) -> None:
        if mask is not None:
            mask = torch.as_tensor(mask)
            if mask.dtype != torch.bool or tuple(mask.shape) != tuple(fields.shape[-2:]):
                raise ValueError(f"mask must be a bool tensor of shape (H, W) = {tuple(fields.shape[-2:])}, "
                                 f"got {mask.dtype} {tuple(mask.shape)}")
        self.mask = mask
        self.fields = fields
        self.index = [(int(s), int(t)) for s, t in index]
        self.input_length = int(input_length)
        self.target_length = int(target_length)
        self.name = name
        self.orbits = _check_orbits(orbits, fields.shape[0])
        T = fields.shape[1]
        for s, t in self.index:
            if t < 0 or t + input_length + target_length > T:
                raise ValueError(f"window (sim {s}, start {t}) of length {input_length}+{target_length} "
                                 f"does not fit in a trajectory of {T} frames")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.index[i]
        L = self.input_length
        return self.fields[s, t:t + L], self.fields[s, t + L:t + L + self.target_length]

    @property
    def simulations(self) -> list[int]:
        """The simulations (or regions) this split draws from."""
        return sorted({s for s, _ in self.index})

    def __repr__(self) -> str:
        C, H, W = self.fields.shape[-3:]
        orbits = ""
        if self.orbits is not None:
            orbits = f", orbits={len({self.orbits[s] for s in self.simulations})}"
        return (f"WindowDataset({self.name!r}, {len(self)} windows, x=({self.input_length}, {C}, {H}, {W}), "
                f"y=({self.target_length}, {C}, {H}, {W}), sims={self.simulations}{orbits})")


def _check_orbits(orbits: Sequence[Hashable] | None, num_sims: int) -> list[Hashable] | None:
    """``orbits`` as a list of plain hashable labels, one per simulation; ``ValueError`` otherwise."""
    if orbits is None:
        return None
    if isinstance(orbits, (str, bytes)) or not hasattr(orbits, "__len__"):
        raise ValueError(f"orbits must be a sequence of one label per simulation ({num_sims}), "
                         f"got {type(orbits).__name__}")
    labels = [_plain_label(v) for v in orbits]
    if len(labels) != num_sims:
        raise ValueError(f"orbits must give one label per simulation of fields ({num_sims}), "
                         f"got {len(labels)}")
    for v in labels:
        try:
            hash(v)
        except TypeError:
            raise ValueError(f"orbit labels must be hashable (int, str, tuple), got {v!r}") from None
    return labels


def _window_orbit_keys(dataset: Dataset) -> list[tuple[Hashable, int]] | None:
    """The ``(orbit label, start)`` of every item of a :class:`WindowDataset` with orbits, looking
    through (nested) ``Subset`` wrappers; ``None`` when the dataset has no orbit labels."""
    if isinstance(dataset, Subset):
        inner = _window_orbit_keys(dataset.dataset)
        return None if inner is None else [inner[int(i)] for i in dataset.indices]
    if isinstance(dataset, WindowDataset) and dataset.orbits is not None:
        return [(dataset.orbits[s], t) for s, t in dataset.index]
    return None


def _orbit_groups(keys: Sequence[tuple[Hashable, int]]) -> list[list[int]]:
    """Item indices grouped by ``(orbit label, start)``, groups in order of first appearance."""
    groups: dict[tuple[Hashable, int], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


class OrbitBatchSampler(Sampler[list[int]]):
    """Orbit-complete minibatches: each batch is a union of whole ``(orbit, start)`` groups.

    A group holds the windows with the same start frame in every member of one orbit (e.g. one
    base inflow in its four C4 orientations). On data that are exactly symmetric, the loss of such a
    batch is invariant under the group, so its gradient is equivariant and the tied (relaxed) weights
    of a model initialised equivariant stay tied at every step (paper Sec. 3, Def. 3.1). A random
    minibatch misses orientations and breaks the symmetry by SGD noise.

    Args:
        dataset: a :class:`WindowDataset` with ``orbits`` (every split of :func:`load_dataset` for a
            set with group structure, or :func:`make_splits` with ``orbits``), or a ``Subset`` of one.
        batch_size: windows wanted per batch; a batch holds ``ceil(batch_size / group size)`` whole
            groups (at least one), so it may be a little larger.
        generator: ``torch.Generator`` that shuffles the groups each epoch (``None``: a seed is drawn
            from torch's global generator, like ``RandomSampler``).
        drop_last: drop the last batch when it holds fewer groups than the others.

    Every window appears exactly once per epoch. Use as ``DataLoader(dataset, batch_sampler=...)``.

    Shape:
        yields lists of item indices; the loader's batches are ``x: (B, input_length, C, H, W)``,
        ``y: (B, target_length, C, H, W)`` with ``B = groups_per_batch * group_size`` (the last
        batch may hold fewer groups).

    Raises:
        ValueError: the dataset has no orbit labels, ``batch_size < 1``, or the groups differ in size
            (an orbit member lost some windows, e.g. by :func:`subsample`).
    """

    def __init__(self, dataset: Dataset, batch_size: int, generator: torch.Generator | None = None,
                 drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        keys = _window_orbit_keys(dataset)
        if keys is None:
            raise ValueError(
                f"OrbitBatchSampler needs a WindowDataset with orbit labels (or a Subset of one), got "
                f"{type(dataset).__name__} without them; {orbit_hint()}")
        groups = _orbit_groups(keys)
        if not groups:
            raise ValueError("OrbitBatchSampler needs a non-empty dataset")
        sizes: dict[int, int] = {}
        for members in groups:
            sizes[len(members)] = sizes.get(len(members), 0) + 1
        if len(sizes) > 1:
            counts = ", ".join(f"{n} group(s) of size {k}" for k, n in sorted(sizes.items()))
            uneven = [keys[m[0]] for m in groups if len(m) != max(sizes, key=sizes.get)][:3]
            raise ValueError(
                f"(orbit, start) groups of uneven size: {counts} (e.g. {uneven}); every orbit member "
                "must hold the same windows (use an orbit-balanced split of make_splits, not a "
                "subsample that drops some orientations' windows)")
        self.groups = groups
        self.group_size = next(iter(sizes))
        self.groups_per_batch = max(1, -(-batch_size // self.group_size))
        self.batch_size = batch_size
        self.generator = generator
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        n, k = len(self.groups), self.groups_per_batch
        return n // k if self.drop_last else -(-n // k)

    def __iter__(self) -> Iterator[list[int]]:
        gen = self.generator
        if gen is None:
            gen = torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
        order = torch.randperm(len(self.groups), generator=gen).tolist()
        k = self.groups_per_batch
        for b in range(len(self)):
            chunk = order[b * k:(b + 1) * k]
            yield [i for g in chunk for i in self.groups[g]]


def orbit_dataset_names() -> list[str]:
    """The registered data sets with an orbit hook (their splits carry orbit labels when the
    generated data have orbit structure)."""
    return [name for name, spec in dataset_specs().items() if spec.orbits is not None]


def orbit_hint() -> str:
    """Which data sets carry orbit labels, for error messages."""
    names = [f"{n} (with rotations=4)" if n == "heat" else n for n in orbit_dataset_names()]
    return (f"the splits of load_dataset for {', '.join(names)}, and of make_splits(..., orbits=...) "
            "(e.g. aeqkit.data.heat_orbit_trajectories), carry them")


@dataclass
class ForecastData:
    """A loaded data set: the trajectories, the four splits and metadata.

    Attributes:
        name: data set name (one of :data:`DATASET_NAMES`).
        fields: all trajectories, ``(S, T, C, H, W)`` float32.
        splits: ``{"train", "valid", "test_future", "test_domain"}`` -> :class:`WindowDataset`.
        meta: generation metadata (group, group elements per simulation, field type, data equivariance
            error for rotation sets, cache path, window settings, ``synthetic`` flag, ...).
        config: the generating config (a frozen dataclass).
    """

    name: str
    fields: torch.Tensor
    splits: dict[str, WindowDataset]
    meta: dict[str, Any] = field(default_factory=dict)
    config: Any = None

    @property
    def field_type(self) -> str:
        return self.meta.get("field_type", "vector")

    def __repr__(self) -> str:
        S, T, C, H, W = self.fields.shape
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        tag = " [SYNTHETIC stand-in]" if self.meta.get("stand_in") else ""
        return f"ForecastData({self.name!r}{tag}, fields=({S}, {T}, {C}, {H}, {W}), splits: {sizes})"


def check_window_lengths(**lengths: Any) -> None:
    """Raise ``ValueError`` unless every named length (``input_length=10, ...``) is an int >= 1."""
    for name, val in lengths.items():
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise ValueError(f"{name} must be an int >= 1, got {val!r}")


def check_split_fractions(future_fraction: float, test_domain_fraction: float, valid_fraction: float) -> None:
    """Raise ``ValueError`` unless ``future_fraction`` lies in (0, 1) and the others in [0, 1)."""
    if not (0 < future_fraction < 1 and 0 <= test_domain_fraction < 1 and 0 <= valid_fraction < 1):
        raise ValueError("fractions must lie in (0, 1) for future_fraction and [0, 1) for the others; got "
                         f"future_fraction={future_fraction}, test_domain_fraction={test_domain_fraction}, "
                         f"valid_fraction={valid_fraction}")


def future_cut(num_frames: int, future_fraction: float, eval_steps: int) -> int:
    """The test-future cut ``future_start``: the first ``1 - future_fraction`` of the frames, and at
    least ``eval_steps`` frames before the end (paper Sec. 5: test-future targets lie after it)."""
    return min(int(round(num_frames * (1 - future_fraction))), num_frames - eval_steps)


def check_window_fits(num_frames: int, input_length: int, target_length: int, eval_steps: int,
                      future_start: int) -> None:
    """Raise ``ValueError`` unless every split gets at least one window."""
    check_window_lengths(input_length=input_length, target_length=target_length, eval_steps=eval_steps)
    if input_length + target_length > future_start:
        raise ValueError(
            f"window longer than the training part of the trajectory: input_length + target_length = "
            f"{input_length + target_length} > {future_start} frames before the test-future cut "
            f"(trajectory of {num_frames} frames); use shorter windows or more steps")
    if input_length + eval_steps > num_frames or num_frames - future_start < eval_steps:
        raise ValueError(
            f"window longer than the trajectory: input_length + eval_steps = {input_length + eval_steps} "
            f"with {num_frames - future_start} future frames of {num_frames}; need eval_steps <= "
            f"{num_frames - future_start}; use fewer eval_steps or more steps")


def make_splits(fields: torch.Tensor, input_length: int = 10, target_length: int = 5,
                eval_steps: int = 20, future_fraction: float = 0.25, test_domain_fraction: float = 0.2,
                valid_fraction: float = 0.1, seed: int = 0,
                test_domain_sims: Sequence[int] | None = None,
                orbits: Sequence[Any] | None = None) -> tuple[dict[str, WindowDataset], dict]:
    """Split trajectories into train / valid / test-future / test-domain windows (Sec. 5).

    Args:
        fields: trajectories.
        input_length: input frames per window (paper: 10).
        target_length: target frames of train / valid windows (multi-step loss).
        eval_steps: target frames of test windows (paper: 20-step RMSE).
        future_fraction: last fraction of each training trajectory reserved for test-future targets.
        test_domain_fraction: fraction of simulations held out for test-domain (paper: 20%).
        valid_fraction: fraction of the training windows used for validation.
        seed: seed of the simulation and validation draws.
        test_domain_sims: explicit held-out simulations (overrides the random draw; with
            ``orbits``, a union of whole orbits).
        orbits: one label per simulation; simulations with the same label form one group orbit
            (e.g. a base inflow in its four C4 orientations). Orbit-balanced splits: test-domain
            holds out whole orbits (never one orientation of a training inflow), and validation
            draws ``(orbit, start)`` pairs and takes that window from *every* member of the orbit,
            so train, valid and test-future hold every orientation of each training orbit in equal
            number and a loss summed over the training set is invariant under the group when the
            data are. ``None``: every simulation is its own orbit (the plain 80/20 draw).

    Shape: ``fields: (S, T, C, H, W)``.

    Returns:
        ``(splits, info)``; ``info`` has ``future_start``, ``train_sims``, ``test_domain_sims``,
        ``orbits`` (the label per simulation, or ``None``). With ``orbits``, every split carries
        them (:attr:`WindowDataset.orbits`, for :class:`OrbitBatchSampler`).
    """
    if not isinstance(fields, torch.Tensor) or fields.ndim != 5:
        got = tuple(fields.shape) if isinstance(fields, torch.Tensor) else type(fields).__name__
        raise ValueError(f"fields must be a tensor of shape (S, T, C, H, W), got {got}")
    if not bool(torch.isfinite(fields).all()):
        bad = int((~torch.isfinite(fields)).sum())
        raise ValueError(f"fields contain {bad} NaN or inf values; expected finite data "
                         "(regenerate the cache or clean the input files)")
    S, T = fields.shape[:2]
    check_split_fractions(future_fraction, test_domain_fraction, valid_fraction)
    future_start = future_cut(T, future_fraction, eval_steps)
    check_window_fits(T, input_length, target_length, eval_steps, future_start)
    if orbits is None:
        labels = list(range(S))
    else:
        labels = list(orbits)
        if len(labels) != S:
            raise ValueError(f"orbits must give one label per simulation ({S}), got {len(labels)}")
    groups: dict[Any, list[int]] = {}
    for s_, lab in enumerate(labels):
        groups.setdefault(lab, []).append(s_)
    orbit_list = list(groups.values())  # in order of first appearance
    n_orbits = len(orbit_list)
    g = torch.Generator().manual_seed(int(seed))
    if test_domain_sims is None:
        n_test = int(round(test_domain_fraction * n_orbits)) if n_orbits >= 2 else 0
        if test_domain_fraction > 0 and n_orbits >= 2:
            n_test = min(max(n_test, 1), n_orbits - 1)
        perm = torch.randperm(n_orbits, generator=g).tolist()
        test_sims = sorted(s_ for o in perm[:n_test] for s_ in orbit_list[o])
    else:
        test_sims = sorted(int(s) for s in test_domain_sims)
        bad = any(not 0 <= s < S for s in test_sims) or len(set(test_sims)) != len(test_sims)
        if bad or len(test_sims) >= S:
            raise ValueError(f"test_domain_sims must be distinct indices in 0..{S - 1} leaving at least "
                             f"one training simulation, got {list(test_domain_sims)}")
        split_orbits = [o for o in orbit_list if 0 < len(set(o) & set(test_sims)) < len(o)]
        if split_orbits:
            raise ValueError(f"test_domain_sims {test_sims} split the orbit(s) {split_orbits}; hold out "
                             "whole orbits (every orientation of a base simulation) or none")
    train_sims = [s for s in range(S) if s not in test_sims]
    train_orbits = [[s_ for s_ in o if s_ in train_sims] for o in orbit_list]
    train_orbits = [o for o in train_orbits if o]
    L, K, E = input_length, target_length, eval_steps
    starts = list(range(0, future_start - L - K + 1))
    # draw validation (orbit, start) pairs, then take that window from every member of the orbit
    pairs = [(o, t) for o in range(len(train_orbits)) for t in starts]
    perm = torch.randperm(len(pairs), generator=g).tolist()
    n_valid = int(math.ceil(valid_fraction * len(pairs))) if valid_fraction > 0 else 0
    if len(pairs) - n_valid < 1:
        raise ValueError(f"only {len(pairs)} training windows (per orbit member): too few to hold out a "
                         "validation set; use more steps or simulations")
    valid_pairs = {pairs[i] for i in perm[:n_valid]}
    train = [(s_, t) for o, members in enumerate(train_orbits) for t in starts
             if (o, t) not in valid_pairs for s_ in members]
    valid = [(s_, t) for o, members in enumerate(train_orbits) for t in starts
             if (o, t) in valid_pairs for s_ in members]
    train.sort()
    valid.sort()
    future = [(s, t) for s in train_sims for t in range(max(future_start - L, 0), T - L - E + 1)]
    domain = [(s, t) for s in test_sims for t in range(0, T - L - E + 1)]
    labs = None if orbits is None else labels
    splits = {
        "train": WindowDataset(fields, train, L, K, "train", orbits=labs),
        "valid": WindowDataset(fields, valid, L, K, "valid", orbits=labs),
        "test_future": WindowDataset(fields, future, L, E, "test_future", orbits=labs),
        "test_domain": WindowDataset(fields, domain, L, E, "test_domain", orbits=labs),
    }
    info = {"future_start": future_start, "train_sims": train_sims, "test_domain_sims": test_sims,
            "input_length": L, "target_length": K, "eval_steps": E,
            "orbits": None if orbits is None else [_plain_label(v) for v in labels]}
    return splits, info


def _plain_label(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def dataset_config(name: str, profile: str = "quick", level: int | None = None,
                   **overrides: Any) -> tuple[Any, dict[str, Any]]:
    """The generating config and window settings of a registered data set (nothing is generated).

    Returns ``(config, window_settings)``. Raises ``ValueError`` for unknown names, profiles, fields
    (:func:`aeqkit.data.registry.get_dataset_spec`, :meth:`~aeqkit.data.registry.DatasetSpec.build_config`).
    """
    spec = get_dataset_spec(name)
    spec.check_profile(profile)
    windows = spec.window_settings(profile)
    for k in WINDOW_KEYS:
        if k in overrides:
            windows[k] = overrides.pop(k)
    spec.check_level(level)
    return spec.build_config(profile, overrides), windows


def load_dataset(name: str, profile: str = "quick", *, level: int | None = None,
                 root: str | None = None, refresh: bool = False, progress: bool = True,
                 **overrides: Any) -> ForecastData:
    """Load (generating and caching on first use) a forecasting data set with its splits.

    Args:
        name: a registered data set (:func:`aeqkit.data.registry.dataset_specs`); built in
            (:mod:`aeqkit.data.catalog`): ``"heat"`` (scalar temperature, 1 channel),
            ``"smoke_rotation"``, ``"smoke_translation"``, ``"smoke_scaling"``, ``"smoke_levels"``
            (needs ``level=0..9``) or ``"jet"`` (SYNTHETIC PIV-like windows; real PIV files:
            :func:`aeqkit.data.load_piv`).
        profile: ``"quick"`` (32x32 smoke, 60 frames, 8 simulations - 4 per level for
            ``smoke_levels`` -, ``eval_steps=10``, ``target_length=5``; generation takes about
            0.5-1 min per set on 2 CPU cores, ~2 min for all ten levels at once, then it is cached)
            or ``"full"`` (64x64, 120 frames, the paper's 35-40 simulations, ``eval_steps=20``;
            PhiFlow runs on the CPU: ~4 s per step for 40 simulations, ~8 min per set).
        level: the sub-set of a set with levels (``DatasetSpec.levels``): the rotational
            symmetry-breaking level for ``"smoke_levels"``.
        root: cache folder (default ``$AEQKIT_DATA_DIR`` or the repository's ``data/``).
        refresh: regenerate even if a valid cache exists.
        progress: show tqdm bars while generating.
        **overrides: window settings (``input_length=10``, ``target_length``, ``eval_steps``,
            ``future_fraction=0.25``, ``test_domain_fraction=0.2``, ``valid_fraction=0.1``,
            ``split_seed=0``, ``balance_orbits=True``: orbit-balanced splits for sets with group
            structure, see :func:`make_splits` and :func:`dataset_orbits`) or fields of the
            generating config (:class:`~aeqkit.data.HeatConfig`,
            :class:`~aeqkit.data.SmokeConfig`, :class:`~aeqkit.data.JetConfig`), e.g.
            ``resolution=48``, ``breaking=0.5``, ``beta=0.1``, ``seed=1``.

    Returns:
        :class:`ForecastData` with ``.fields (S, T, C, H, W)``, ``.splits`` (``"train"``, ``"valid"``,
        ``"test_future"``, ``"test_domain"``; each a torch ``Dataset`` of ``(x, y)`` with
        ``x: (input_length, C, H, W)`` and ``y: (target_length or eval_steps, C, H, W)``) and
        ``.meta`` (``field_type``, ``group``, ``group_elements``, ``eval_steps``, ``future_start``,
        ``data_equivariance_error`` for rotation sets, ``path``, ...).

    Raises:
        ValueError: unknown name / profile / option, a window longer than the trajectory, or
            NaN/inf in the data. Settings are checked before anything is generated or written.

    Example:
        >>> data = load_dataset("smoke_rotation", profile="quick")      # doctest: +SKIP
        >>> x, y = data.splits["train"][0]                              # (10, 2, 32, 32), (5, 2, 32, 32)
    """
    spec = get_dataset_spec(name)
    config, win = dataset_config(name, profile, level=level, **overrides)
    frames = spec.frames(config)
    future_start = future_cut(frames, win["future_fraction"], win["eval_steps"])
    check_window_fits(frames, win["input_length"], win["target_length"], win["eval_steps"], future_start)
    payload = cached(config, lambda c: spec.generate(c, progress=progress), root=root, refresh=refresh)
    fields = payload["data"]["fields"]
    meta = dict(payload["meta"])
    if spec.select_level is not None:
        fields, meta = spec.select_level(fields, meta, level)
    orbits = spec.orbits(meta) if win["balance_orbits"] and spec.orbits is not None else None
    splits, info = make_splits(fields, win["input_length"], win["target_length"], win["eval_steps"],
                               win["future_fraction"], win["test_domain_fraction"], win["valid_fraction"],
                               seed=win["split_seed"], orbits=orbits)
    meta.update(info)
    meta.update(name=name, profile=profile, path=payload["path"], hash=payload["hash"],
                generated=payload["generated"], generation_seconds=payload.get("seconds"),
                config=payload["config"], windows=win)
    return ForecastData(name=name, fields=fields, splits=splits, meta=meta, config=config)


def one_step_data_error(data: ForecastData, windows: Sequence[tuple[int, int]] | None = None,
                        norm: str = "l1", root: str | None = None,
                        progress: bool = False) -> dict[str, Any]:
    """The one-step data equivariance error of a loaded smoke rotation / levels set (Def. 3.1 of the
    simulator's own one-step map; see :func:`aeqkit.data.smoke.one_step_equivariance_error`).

    Args:
        data: from :func:`load_dataset` (``"smoke_rotation"`` or ``"smoke_levels"``).
        windows: ``(simulation, start)`` pairs indexing ``data.fields``; default: the windows of
            :func:`equivariance_windows` (the ones a model's error is measured on).
        norm: ``"l1"`` (Fig. 4) or ``"l2"``.
        root: cache folder; results are cached by the set's config and the windows.

    Returns:
        ``{"mean", "per_element": {1, 2, 3}, "per_window", "windows"}``; ``mean`` is in the units of
        :func:`aeqkit.reproduce.model_equivariance_error`.
    """
    return one_step_data_errors([data], None if windows is None else [windows], norm, root, progress)[0]


def one_step_data_errors(datas: Sequence[ForecastData],
                         windows: Sequence[Sequence[tuple[int, int]]] | None = None,
                         norm: str = "l1", root: str | None = None,
                         progress: bool = False) -> list[dict[str, Any]]:
    """:func:`one_step_data_error` of several sets at once: the levels of one ``smoke_levels``
    set share a simulation batch, so the uncached ones are re-simulated together (one PhiFlow run
    instead of one per level) and each is cached on its own."""
    from aeqkit.data.smoke import OneStepConfig, one_step_equivariance_error

    cfgs, wins_all = [], []
    for i, data in enumerate(datas):
        if not isinstance(data.config, SmokeConfig) or data.config.kind not in ("rotation", "levels"):
            raise ValueError(f"one_step_data_error needs a smoke rotation or levels set, got {data.name!r}")
        wins = (equivariance_windows(data) if windows is None
                else [(int(a), int(b)) for a, b in windows[i]])
        L = int(data.meta.get("input_length", 10))
        index = data.meta.get("sim_index") or list(range(data.fields.shape[0]))
        glob = tuple((int(index[s_]), t) for s_, t in wins)
        cfgs.append(OneStepConfig(data.config, glob, L, norm))
        wins_all.append(wins)
    todo: dict[Any, list[OneStepConfig]] = {}
    for c in cfgs:
        if not cache_path(c, root).exists():
            todo.setdefault((c.smoke, c.input_length, c.norm), []).append(c)
    computed: dict[OneStepConfig, dict[str, Any]] = {}
    for (smoke, L, nrm), group in todo.items():
        union = sorted({w for c in group for w in c.windows})
        r = one_step_equivariance_error(smoke, union, L, nrm, progress=progress)
        pos = {w: i for i, w in enumerate(union)}
        per_el = r["per_element_window"]
        for c in group:
            idx = [pos[w] for w in c.windows]
            pw = torch.tensor([r["per_window"][i] for i in idx], dtype=torch.float64)
            pe = per_el[idx].mean(0)
            computed[c] = {"per_window": pw, "per_element": pe}

    out = []
    for c, wins in zip(cfgs, wins_all):
        def generate(cfg: OneStepConfig):
            if cfg in computed:
                d = computed[cfg]
            else:  # another process removed the cache meanwhile
                r = one_step_equivariance_error(cfg.smoke, cfg.windows, cfg.input_length, cfg.norm)
                d = {"per_window": torch.tensor(r["per_window"], dtype=torch.float64),
                     "per_element": r["per_element_window"].mean(0)}
            return d, {"mean": float(d["per_element"].mean())}

        payload = cached(c, generate, root=root)
        per_el = payload["data"]["per_element"].tolist()
        out.append({"mean": float(payload["meta"]["mean"]), "per_element": dict(zip((1, 2, 3), per_el)),
                    "per_window": payload["data"]["per_window"].tolist(), "windows": wins})
    return out


def equivariance_windows(data: ForecastData, limit: int = 32,
                         input_length: int | None = None) -> list[tuple[int, int]]:
    """``(simulation, start)`` windows for measuring equivariance errors (Fig. 4): evenly spaced
    starts in *every* simulation of the set (``data.fields``), so every C4 orientation appears
    equally often, with the frame after each window inside the trajectory."""
    n_sims, n_frames = data.fields.shape[:2]
    meta = getattr(data, "meta", None) or {}
    L = int(input_length if input_length is not None else meta.get("input_length", 10))
    per_sim = max(1, limit // n_sims)
    starts = torch.linspace(0, n_frames - L - 1, per_sim).round().long().unique().tolist()
    return [(s_, int(t)) for s_ in range(n_sims) for t in starts]


def smoke_level_errors(profile: str = "quick", levels: Sequence[int] = range(NUM_LEVELS),
                       **kwargs: Any) -> list[float]:
    """Data equivariance error (mean absolute difference after rotating back, Sec. 5.2) per level.

    All levels are simulated in one batch and cached together; level 0 is ~0 and the error grows
    with the level.
    """
    errs = load_dataset("smoke_levels", profile, level=0, **kwargs).meta["level_errors"]
    return [float(errs[int(k)]) for k in levels]


def sliding_windows(fields: torch.Tensor, input_length: int = 10, target_length: int = 3) -> TensorDataset:
    """All sliding windows of a set of trajectories as a ``TensorDataset`` of ``(x, y)`` pairs.

    Shape: ``fields: (S, T, C, H, W)`` -> items ``x: (input_length, C, H, W)``,
    ``y: (target_length, C, H, W)``; ``S · (T - input_length - target_length + 1)`` windows.
    """
    if fields.ndim != 5:
        raise ValueError(f"fields must have shape (S, T, C, H, W), got {tuple(fields.shape)}")
    n = fields.shape[1] - input_length - target_length + 1
    if input_length < 1 or target_length < 1 or n < 1:
        raise ValueError(f"a window of {input_length} input + {target_length} target frames does not fit "
                         f"in trajectories of {fields.shape[1]} frames")
    x = torch.cat([fields[:, i:i + input_length] for i in range(n)])
    y = torch.cat([fields[:, i + input_length:i + input_length + target_length] for i in range(n)])
    return TensorDataset(x, y)


def subsample(dataset: Dataset, n: int | None, keep_orbits: bool = True) -> Dataset:
    """At most ``n`` evenly spaced items of ``dataset`` (all of them when ``n`` is None).

    Used by the quick profiles to bound training and evaluation cost without biasing toward early
    or late windows. A :class:`WindowDataset` gives a :class:`WindowDataset` of the same items in
    the same order (keeping its name, mask and orbit labels), anything else a ``Subset``.

    With orbit labels and ``keep_orbits`` (the default), the picks are whole ``(orbit, start)``
    groups (the windows with one start frame in every orientation of one base inflow), evenly
    spaced, ``n // group size`` of them (at least one, so a result may exceed an ``n`` below the
    group size): a subsample of an orbit-balanced split stays orbit-balanced, so on symmetric data
    its loss is still invariant under the group and :class:`OrbitBatchSampler` accepts it.
    ``keep_orbits=False`` picks evenly spaced single windows, ignoring orbits.
    """
    if n is None or n >= len(dataset):
        return dataset
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1 or None, got {n!r}")
    keys = _window_orbit_keys(dataset) if keep_orbits and type(dataset) is WindowDataset else None
    if keys is not None:
        members = _orbit_groups(keys)
        take = max(1, (n * len(members)) // len(dataset))  # n // (mean group size)
        chosen = torch.linspace(0, len(members) - 1, take).round().long().unique().tolist()
        picks = sorted(i for g in chosen for i in members[g])
    else:
        step = -(-len(dataset) // n)
        picks = list(range(0, len(dataset), step))
    if type(dataset) is WindowDataset:
        return WindowDataset(dataset.fields, [dataset.index[i] for i in picks], dataset.input_length,
                             dataset.target_length, dataset.name, dataset.mask, dataset.orbits)
    return Subset(dataset, picks)
