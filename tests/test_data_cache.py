"""Tests for aeqkit.data.cache: hashing, atomic verified files, corruption recovery, concurrency."""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from aeqkit.data.cache import (
    CacheRegeneratedWarning,
    cache_path,
    cached,
    config_hash,
    config_to_json,
    data_root,
)
from aeqkit.io import verified_load


@dataclass(frozen=True)
class ToyConfig:
    size: int = 8
    value: float = 1.5
    tags: tuple[str, ...] = ("a", "b")
    name: str = "toy"


def _generate(config: ToyConfig, calls: list | None = None, sleep: float = 0.0):
    if calls is not None:
        calls.append(config)
    if sleep:
        import time

        time.sleep(sleep)
    x = torch.full((config.size, 3), config.value)
    return {"fields": x}, {"size": config.size, "note": "toy"}


def test_hash_is_canonical_and_sensitive() -> None:
    a, b = ToyConfig(), ToyConfig()
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 16
    assert config_hash(ToyConfig(value=1.5000001)) != config_hash(a)
    assert config_hash(ToyConfig(tags=("b", "a"))) != config_hash(a)
    assert '"class":"ToyConfig"' in config_to_json(a)
    assert cache_path(a, "/x").name == f"toy-{config_hash(a)}.pt"


def test_hash_rejects_non_dataclass() -> None:
    with pytest.raises(ValueError, match="dataclass"):
        config_hash({"size": 3})


def test_data_root_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEQKIT_DATA_DIR", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/elsewhere") == Path("/elsewhere")


def test_generated_once_then_loaded(tmp_path: Path) -> None:
    calls: list = []
    first = cached(ToyConfig(), lambda c: _generate(c, calls), root=tmp_path)
    second = cached(ToyConfig(), lambda c: _generate(c, calls), root=tmp_path)
    assert len(calls) == 1
    assert first["generated"] and not second["generated"]
    assert torch.equal(first["data"]["fields"], second["data"]["fields"])
    assert second["meta"]["note"] == "toy" and second["config"]["fields"]["size"] == 8
    # a different config is a different file
    cached(ToyConfig(size=4), lambda c: _generate(c, calls), root=tmp_path)
    assert len(calls) == 2
    assert len(list(tmp_path.glob("toy-*.pt"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "alter", "drop_sidecar"])
def test_corrupt_cache_is_detected_and_regenerated(tmp_path: Path, damage: str) -> None:
    calls: list = []
    cfg = ToyConfig()
    cached(cfg, lambda c: _generate(c, calls), root=tmp_path)
    path = cache_path(cfg, tmp_path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "alter":
        i = len(raw) - 20
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1 :])
    else:
        Path(str(path) + ".sha256").unlink()
    with pytest.warns(CacheRegeneratedWarning, match=path.name):
        out = cached(cfg, lambda c: _generate(c, calls), root=tmp_path)
    assert out["generated"] and len(calls) == 2
    # the regenerated file verifies and holds the right data
    payload = verified_load(path)
    assert torch.equal(payload["data"]["fields"], torch.full((8, 3), 1.5))


def test_non_finite_generation_writes_nothing(tmp_path: Path) -> None:
    def bad(c):
        return {"fields": torch.tensor([1.0, float("nan")])}, {}

    with pytest.raises(ValueError, match="NaN or inf"):
        cached(ToyConfig(), bad, root=tmp_path)
    assert not cache_path(ToyConfig(), tmp_path).exists()
    assert not list(tmp_path.glob("*.tmp"))


def _worker(root: str, marker_dir: str) -> None:
    def gen(c):
        # record that this process generated, then take a while so the other one must wait
        Path(marker_dir, f"gen-{os.getpid()}").touch()
        return _generate(c, sleep=1.0)

    out = cached(ToyConfig(size=16), gen, root=root)
    assert torch.equal(out["data"]["fields"], torch.full((16, 3), 1.5))


def test_two_processes_generate_one_valid_file(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), str(markers))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(list(markers.iterdir())) == 1, "the second process should load, not regenerate"
    files = list(tmp_path.glob("toy-*.pt"))
    assert len(files) == 1
    assert torch.equal(verified_load(files[0])["data"]["fields"], torch.full((16, 3), 1.5))
    assert not list(tmp_path.glob(".*.tmp"))


def test_numpy_metadata_is_stored_as_plain_values(tmp_path: Path) -> None:
    import numpy as np

    def gen(c):
        return {"fields": torch.zeros(2)}, {"dx": np.float32(0.5), "idx": np.arange(3),
                                            "pairs": [(np.int64(1), 2)]}

    cached(ToyConfig(), gen, root=tmp_path)
    meta = verified_load(cache_path(ToyConfig(), tmp_path))["meta"]  # weights_only load
    assert meta == {"dx": 0.5, "idx": [0, 1, 2], "pairs": [(1, 2)]}
    assert type(meta["dx"]) is float and type(meta["pairs"][0][0]) is int
