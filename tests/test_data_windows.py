"""Tests for aeqkit.data.windows: sliding windows, the four splits and load_dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aeqkit.data import DATASET_NAMES, load_dataset, make_splits
from aeqkit.data.windows import dataset_config


def _fields(S: int = 10, T: int = 60) -> torch.Tensor:
    # frame value encodes (sim, time) so windows can be traced back
    s = torch.arange(S, dtype=torch.float32)[:, None, None, None, None]
    t = torch.arange(T, dtype=torch.float32)[None, :, None, None, None]
    return (1000 * s + t).expand(S, T, 2, 4, 4).contiguous()


def _where(x: torch.Tensor) -> tuple[int, list[int]]:
    v = x[:, 0, 0, 0].long()
    return int(v[0] // 1000), (v % 1000).tolist()


def test_split_protocol() -> None:
    f = _fields()
    splits, info = make_splits(f, input_length=10, target_length=5, eval_steps=20, seed=3)
    assert set(splits) == {"train", "valid", "test_future", "test_domain"}
    fs = info["future_start"]
    assert fs == 40  # min(round(0.75 * 60), 60 - 20)
    assert len(info["test_domain_sims"]) == 2 and len(info["train_sims"]) == 8
    x, y = splits["train"][0]
    assert x.shape == (10, 2, 4, 4) and y.shape == (5, 2, 4, 4)
    for name in ("train", "valid"):
        for i in range(len(splits[name])):
            x, y = splits[name][i]
            s, ts = _where(torch.cat([x, y]))
            assert s in info["train_sims"] and ts == list(range(ts[0], ts[0] + 15)) and ts[-1] < fs
    for i in range(len(splits["test_future"])):
        x, y = splits["test_future"][i]
        s, ty = _where(y)
        assert s in info["train_sims"] and min(ty) >= fs and len(ty) == 20
        assert _where(x)[1][-1] + 1 == ty[0]
    for i in range(len(splits["test_domain"])):
        s, _ = _where(splits["test_domain"][i][1])
        assert s in info["test_domain_sims"]
    assert not set(splits["train"].index) & set(splits["valid"].index)
    n_fit = 8 * (fs - 15 + 1)
    assert len(splits["train"]) + len(splits["valid"]) == n_fit
    assert len(splits["valid"]) == pytest.approx(0.1 * n_fit, abs=1)
    # seeded
    again, _ = make_splits(f, input_length=10, target_length=5, eval_steps=20, seed=3)
    assert again["valid"].index == splits["valid"].index


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="window longer"):
        make_splits(_fields(T=20), input_length=10, target_length=5, eval_steps=20)
    with pytest.raises(ValueError, match="window longer"):
        make_splits(_fields(T=30), input_length=25, target_length=5, eval_steps=2)
    bad = _fields()
    bad[3, 7, 1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        make_splits(bad)
    inf = _fields()
    inf[0, 0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        make_splits(inf)
    with pytest.raises(ValueError, match=r"\(S, T, C, H, W\)"):
        make_splits(torch.zeros(3, 4, 5))


def test_bad_names_and_options_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="accepted: heat, smoke_rotation"):
        load_dataset("smoke_rotations", root=tmp_path)
    with pytest.raises(ValueError, match="profile"):
        load_dataset("heat", profile="medium", root=tmp_path)
    with pytest.raises(ValueError, match="level=0..9"):
        load_dataset("smoke_levels", root=tmp_path)
    with pytest.raises(ValueError, match="level"):
        load_dataset("smoke_levels", level=10, root=tmp_path)
    with pytest.raises(ValueError, match="unknown option"):
        load_dataset("smoke_rotation", root=tmp_path, bouyancy=0.3)
    with pytest.raises(ValueError, match="window longer"):
        load_dataset("smoke_rotation", root=tmp_path, input_length=60)
    with pytest.raises(ValueError, match="window longer"):
        load_dataset("jet", root=tmp_path, eval_steps=59)
    assert not any(tmp_path.iterdir())


def test_profiles_define_every_dataset() -> None:
    for profile in ("quick", "full"):
        for name in DATASET_NAMES:
            cfg, win = dataset_config(name, profile, level=3 if name == "smoke_levels" else None)
            assert win["input_length"] == 10
    quick, _ = dataset_config("smoke_rotation", "quick")
    full, win = dataset_config("smoke_rotation", "full")
    assert quick.resolution == 32 and full.resolution == 64 and win["eval_steps"] == 20
    assert 4 * full.num_positions == 40  # the paper's 40 rotation simulations


def test_load_heat_end_to_end(tmp_path: Path) -> None:
    data = load_dataset("heat", "quick", root=tmp_path, progress=False, num_sims=5, steps=40, eval_steps=5)
    assert data.fields.shape == (5, 40, 1, 32, 32)
    assert data.meta["generated"] and Path(data.meta["path"]).exists()
    assert len(data.meta["test_domain_sims"]) == 1
    x, y = data.splits["test_future"][0]
    assert x.shape == (10, 1, 32, 32) and y.shape == (5, 1, 32, 32)
    again = load_dataset("heat", "quick", root=tmp_path, progress=False, num_sims=5, steps=40, eval_steps=5)
    assert not again.meta["generated"] and torch.equal(again.fields, data.fields)
    assert "heat" in repr(data) and "train=" in repr(data)


def test_smoke_levels_selects_one_level(tmp_path: Path, monkeypatch) -> None:
    """The levels set is generated once (all ten levels batched) and sliced per level."""
    import aeqkit.data.windows as win
    from aeqkit.data.smoke import smoke_setup

    calls = []

    def fake_generate(config, progress=True):
        calls.append(config)
        st = smoke_setup(config)
        lv = torch.tensor(st["level"], dtype=torch.float32)
        S = len(lv)
        fields = lv[:, None, None, None, None].expand(S, config.steps, 2, config.resolution,
                                                      config.resolution).contiguous()
        meta = {k: st[k] for k in ("group_elements", "centers", "buoyancy_factors", "position_index",
                                   "dx", "dt", "level")}
        meta.update(level_errors=[0.01 * k for k in range(10)],
                    level_breaking=[0.1 * k for k in range(10)], field_type="vector", group="C4")
        return {"fields": fields}, meta

    monkeypatch.setattr(win, "generate_smoke", fake_generate)
    d3 = load_dataset("smoke_levels", "quick", level=3, root=tmp_path, progress=False, resolution=8)
    d7 = load_dataset("smoke_levels", "quick", level=7, root=tmp_path, progress=False, resolution=8)
    assert len(calls) == 1  # one batched generation serves every level
    assert d3.fields.shape[0] == 4 and bool((d3.fields == 3).all()) and bool((d7.fields == 7).all())
    assert d3.meta["group_elements"] == [0, 1, 2, 3]
    assert d3.meta["data_equivariance_error"] == pytest.approx(0.03)
    assert d7.meta["breaking"] == pytest.approx(0.7)
    errs = win.smoke_level_errors("quick", root=tmp_path, progress=False, resolution=8)
    assert errs == pytest.approx([0.01 * k for k in range(10)]) and len(calls) == 1


def test_sliding_windows_and_subsample():
    import pytest
    import torch

    from aeqkit.data.windows import sliding_windows, subsample

    f = torch.arange(2 * 15, dtype=torch.float32).reshape(2, 15, 1, 1, 1).expand(2, 15, 2, 3, 3)
    ds = sliding_windows(f, 10, 3)
    assert len(ds) == 2 * 3
    x, y = ds[1]
    assert x.shape == (10, 2, 3, 3) and y.shape == (3, 2, 3, 3)
    # items are ordered by start frame, then simulation: item 1 is simulation 1 from frame 0
    assert x[0, 0, 0, 0] == 15 and y[0, 0, 0, 0] == 25
    sub = subsample(ds, 2)
    assert len(sub) == 2 and subsample(ds, None) is ds
    with pytest.raises(ValueError, match="does not fit"):
        sliding_windows(f, 10, 6)
