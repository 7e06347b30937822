"""Orbit-complete minibatches (``fit(..., batches="orbits")``, :class:`aeqkit.data.OrbitBatchSampler`).

On exactly C4-symmetric data a batch holding every orientation of each window has a C4-invariant
loss, so a relaxed model initialised equivariant stays equivariant up to round-off; random
minibatches break the symmetry by SGD noise. Tiny exact-C4 data are built here (random vector
fields turned by the C4 action), no simulation.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader, Subset, TensorDataset

from aeqkit.data import OrbitBatchSampler, WindowDataset, load_dataset, make_splits, subsample
from aeqkit.groups import get_group
from aeqkit.harness import model_equivariance_error
from aeqkit.models import build
from aeqkit.train import fit


def _c4_fields(num_bases: int = 3, frames: int = 16, size: int = 8, seed: int = 0):
    """Exact C4 orbits of random vector trajectories: simulation ``4 i + k`` is ``r^k`` acting on
    base ``i``. Shape ``(4 num_bases, frames, 2, size, size)``, orbit labels ``i``."""
    grp = get_group("C4")
    base = torch.randn(num_bases, frames, 2, size, size, generator=torch.Generator().manual_seed(seed))
    turned = torch.stack([grp.act(g, base, "vector") for g in grp.elements()], dim=1)
    return turned.reshape(4 * num_bases, frames, 2, size, size), [s // 4 for s in range(4 * num_bases)]


@pytest.fixture(scope="module")
def splits():
    fields, orbits = _c4_fields()
    out, _ = make_splits(fields, 10, 2, 2, future_fraction=0.1, seed=0, orbits=orbits)
    return out


def _keys(ds: WindowDataset) -> list[tuple[int, int]]:
    return [(ds.orbits[s], t) for s, t in ds.index]


def test_splits_carry_orbits_and_window_dataset_checks_them(splits) -> None:
    fields, orbits = _c4_fields()
    for name, ds in splits.items():
        assert ds.orbits == orbits, name
    assert "orbits=2" in repr(splits["train"])
    plain, _ = make_splits(fields, 10, 2, 2, future_fraction=0.1, seed=0)
    assert all(ds.orbits is None for ds in plain.values()) and "orbits" not in repr(plain["train"])
    with pytest.raises(ValueError, match=r"one label per simulation of fields \(12\), got 3"):
        WindowDataset(fields, [(0, 0)], 10, 2, orbits=[0, 1, 2])
    with pytest.raises(ValueError, match="hashable"):
        WindowDataset(fields, [(0, 0)], 10, 2, orbits=[[0]] * 12)
    # subsample keeps the labels; keep_orbits=False gives the items, in order, of the plain
    # evenly spaced Subset it used to return
    sub = subsample(splits["train"], 7, keep_orbits=False)
    assert isinstance(sub, WindowDataset) and sub.orbits == orbits
    old = Subset(splits["train"], range(0, len(splits["train"]), -(-len(splits["train"]) // 7)))
    assert len(sub) == len(old) and all(torch.equal(sub[i][0], old[i][0]) for i in range(len(old)))


@pytest.mark.parametrize("n,groups", [(1, 1), (4, 1), (7, 1), (8, 2), (12, 3), (19, 4)])
def test_subsample_keeps_whole_orbit_groups(splits, n, groups) -> None:
    train = splits["train"]  # 5 (orbit, start) groups of 4 orientations
    sub = subsample(train, n)
    keys = _keys(sub)
    assert sorted(Counter(keys).values()) == [4] * groups  # every picked start in all 4 orientations
    assert set(keys) <= set(_keys(train)) and sub.index == sorted(sub.index, key=train.index.index)
    assert len(OrbitBatchSampler(sub, 4)) == groups  # orbit batches accept it
    assert subsample(train, None) is train and subsample(train, len(train)) is train
    with pytest.raises(ValueError, match="n must be an int >= 1 or None"):
        subsample(train, 0)


def test_load_dataset_splits_know_their_orbits(tmp_path) -> None:
    data = load_dataset("heat", "quick", rotations=4, num_sims=2, resolution=12, steps=30,
                        root=tmp_path, progress=False)
    assert all(ds.orbits == [0, 0, 0, 0, 1, 1, 1, 1] for ds in data.splits.values())


@pytest.mark.parametrize("batch_size,groups_per_batch", [(1, 1), (4, 1), (6, 2), (8, 2), (100, 5)])
def test_sampler_batches_are_whole_groups_every_window_once(splits, batch_size, groups_per_batch) -> None:
    ds = splits["train"]  # 5 (orbit, start) groups of the 4 orientations
    keys = _keys(ds)
    sampler = OrbitBatchSampler(ds, batch_size, torch.Generator().manual_seed(0))
    assert sampler.group_size == 4 and len(sampler) == math.ceil(5 / groups_per_batch)
    for _ in range(2):  # two epochs
        batches = list(sampler)
        assert len(batches) == len(sampler)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(ds)))  # every window exactly once
        for b in batches[:-1]:
            assert len(b) == 4 * groups_per_batch
        for b in batches:
            groups = {keys[i] for i in b}
            assert len(b) == 4 * len(groups)
            for key in groups:  # whole groups: every orientation of that window
                assert sorted(ds.index[i][0] for i in b if keys[i] == key) == [
                    s for s in range(12) if ds.orbits[s] == key[0]]
    dropped = OrbitBatchSampler(ds, 8, torch.Generator().manual_seed(0), drop_last=True)
    assert len(dropped) == 2 and all(len(b) == 8 for b in dropped)


def test_sampler_is_seeded(splits) -> None:
    ds = splits["train"]

    def epochs(seed: int) -> list[list[list[int]]]:
        sampler = OrbitBatchSampler(ds, 4, torch.Generator().manual_seed(seed))
        return [list(sampler) for _ in range(3)]

    assert epochs(0) == epochs(0)
    assert epochs(0) != epochs(1)
    a = epochs(0)
    assert a[0] != a[1] or a[1] != a[2]  # reshuffled each epoch
    # through a DataLoader, and through a Subset of a WindowDataset
    loader = DataLoader(ds, batch_sampler=OrbitBatchSampler(ds, 8, torch.Generator().manual_seed(0)))
    assert sum(x.shape[0] for x, _ in loader) == len(ds)
    keys = _keys(ds)
    sub = Subset(ds, [i for i, k in enumerate(keys) if k != keys[0]])  # drops one whole group
    sampler = OrbitBatchSampler(sub, 4)
    assert len(sampler) == 4 and sorted(i for b in sampler for i in b) == list(range(len(sub)))


def test_sampler_errors_name_the_problem(splits) -> None:
    fields, _ = _c4_fields()
    with pytest.raises(ValueError, match="orbit labels.*smoke_rotation"):
        OrbitBatchSampler(WindowDataset(fields, [(0, 0)], 10, 2), 4)
    with pytest.raises(ValueError, match="orbit labels"):
        OrbitBatchSampler(TensorDataset(torch.zeros(3, 1)), 4)
    with pytest.raises(ValueError, match="batch_size"):
        OrbitBatchSampler(splits["train"], 0)
    # a subsample keeps some orientations' windows and not others
    with pytest.raises(ValueError, match=r"uneven size: .*group\(s\) of size 1"):
        OrbitBatchSampler(subsample(splits["train"], 7, keep_orbits=False), 4)
    with pytest.raises(ValueError, match=r"uneven size: 1 group\(s\) of size 3, 4 group\(s\) of size 4"):
        OrbitBatchSampler(Subset(splits["train"], range(1, len(splits["train"]))), 4)


def _model(seed: int = 0):
    return build("rgroup", "rotation", seed=seed, width=4, num_layers=2, kernel_size=3, input_size=8)


def _fit(model, splits, **kw):
    settings = dict(epochs=2, batch_size=4, lr=1e-3, rollout_steps=1, patience=None, progress=False,
                    device="cpu", restore_best=False)
    settings.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random data: "training did not help" is expected
        return fit(model, splits["train"], splits["valid"], **settings)


def _params(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_validates_batches(splits) -> None:
    with pytest.raises(ValueError, match=r"batches must be one of \('random', 'orbits'\)"):
        _fit(_model(), splits, batches="orbit")
    fields, _ = _c4_fields()
    plain, _ = make_splits(fields, 10, 2, 2, future_fraction=0.1, seed=0)
    with pytest.raises(ValueError, match="batches='orbits' needs a training set with orbit labels"
                                         ".*smoke_rotation, smoke_levels"):
        _fit(_model(), plain, batches="orbits")
    uneven = dict(splits, train=subsample(splits["train"], 7, keep_orbits=False))
    with pytest.raises(ValueError, match="uneven size"):
        _fit(_model(), uneven, batches="orbits")


def test_random_batches_are_the_default_bit_for_bit(splits) -> None:
    a, b = _model(), _model()
    ra = _fit(a, splits, seed=3)
    rb = _fit(b, splits, seed=3, batches="random")
    assert ra.history == rb.history and torch.equal(_params(a), _params(b))
    c = _model()
    rc = _fit(c, splits, seed=3, batches="orbits")
    assert rc.history["train_loss"] != ra.history["train_loss"]


def test_orbit_batches_keep_a_relaxed_model_equivariant(splits) -> None:
    """Minibatches of 8 windows (two whole orbits' worth) on exact C4 data: the relaxed group
    convolution stays C4-equivariant to round-off with ``batches="orbits"``; with random
    minibatches its error is only measured (SGD noise breaks the symmetry; not a claim)."""
    x = torch.stack([splits["test_domain"][i][0] for i in range(len(splits["test_domain"]))])
    for seed in range(3):
        errs = {}
        for batches in ("orbits", "random"):
            model = _model(seed)
            _fit(model, splits, epochs=4, batch_size=8, seed=seed, batches=batches)
            errs[batches] = model_equivariance_error(model, x)
        print(f"seed {seed}: C4 error orbits {errs['orbits']:.2e}, random {errs['random']:.2e}")
        assert errs["orbits"] < 1e-6
        assert errs["orbits"] < errs["random"]
