"""Fault injection: kills at every write step, read-only folders, a full disk, damaged checksum
files, concurrent writers, crafted pickles, stopped and killed lock holders (issue 13).

Every case must end in a correct result or a clear error: never a silent wrong result, a hang or
a lost result. Kills are real ``SIGKILL``s of a forked writer, injected between the named steps of
:data:`aeqkit.io.WRITE_STEPS` through the module's test hook. Read-only and full-disk cases mount a
small tmpfs when running as root (read-only: remounted ``ro``; full: ``size=64k``) and use folder
permissions otherwise (the full-disk cases are skipped then).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import aeqkit.io as aio
from aeqkit.data import cache as dcache
from aeqkit.data.cache import (
    CacheLockTimeout,
    CacheRegeneratedWarning,
    CacheWriteWarning,
    cache_path,
    cached,
)
from aeqkit.io import (
    WRITE_STEPS,
    CorruptFileError,
    UnsafeFileError,
    atomic_save,
    atomic_write_bytes,
    verified_load,
    verify,
)

FORK = mp.get_context("fork")
IS_ROOT = os.geteuid() == 0


@dataclass(frozen=True)
class Cfg:
    size: int = 8
    value: float = 0.0
    name: str = "faulty"


def _gen(c: Cfg):
    return {"fields": torch.full((c.size, 3), c.value)}, {"size": c.size}


def _temp_files(folder: Path) -> list[Path]:
    return [f for f in folder.iterdir() if f.name.endswith(".tmp")]


def _run_killed(target, *args) -> int:
    p = FORK.Process(target=target, args=args)
    p.start()
    p.join(60)
    assert not p.is_alive(), "child hung"
    return p.exitcode


def _kill_at(step: str, write: int = 1):
    """A fault hook that SIGKILLs this process at ``step`` of its ``write``-th file write."""
    seen = {"writes": 0}

    def hook(name: str) -> None:
        if name == "start":
            seen["writes"] += 1
        if name == step and seen["writes"] == write:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


# ------------------------------------------------------------------------------ kills at every step


def _write_child(path: str, step: str) -> None:
    aio._fault_hook = _kill_at(step)
    atomic_save({"v": torch.full((1000,), 2.0)}, path)


@pytest.mark.parametrize("step", WRITE_STEPS)
@pytest.mark.parametrize("scenario", ["overwrite", "first"])
def test_kill_at_every_write_step_leaves_the_old_or_the_new_good_file(tmp_path, step, scenario):
    path = tmp_path / "ckpt.pt"
    if scenario == "overwrite":
        atomic_save({"v": torch.full((10,), 1.0)}, path)
    code = _run_killed(_write_child, str(path), step)
    # a first write has no old file to keep, so it skips the last sidecar rewrite
    reached = not (scenario == "first" and step == "sidecar_tmp_written")
    assert code == (-signal.SIGKILL if reached else 0)
    new_expected = WRITE_STEPS.index(step) >= WRITE_STEPS.index("data_replaced")
    if scenario == "first" and not new_expected:
        with pytest.raises(FileNotFoundError):
            verified_load(path)  # nothing existed before: nothing was lost
    else:
        v = verified_load(path)["v"]
        want = 2.0 if new_expected else 1.0
        assert torch.equal(v, torch.full((1000 if new_expected else 10,), want))
    # the next write succeeds and cleans what the killed writer left behind
    atomic_save({"v": torch.full((5,), 3.0)}, path)
    assert torch.equal(verified_load(path)["v"], torch.full((5,), 3.0))
    assert _temp_files(tmp_path) == []
    assert json.loads((tmp_path / "ckpt.pt.sha256").read_text()).keys() == {"sha256", "size"}


def _fit_child(path: str, step: str) -> None:
    from test_train import WindowDataset, _model, advection

    from aeqkit.train import fit

    aio._fault_hook = _kill_at(step, write=2)  # the second checkpoint write
    train = WindowDataset(advection(2, 14, seed=1), k=2)
    fit(_model(), train, train, epochs=3, lr=3e-3, rollout_steps=1, patience=None, device="cpu",
        progress=False, checkpoint=path)


@pytest.mark.parametrize("step", WRITE_STEPS[:-1])
def test_fit_killed_while_checkpointing_keeps_a_loadable_checkpoint(tmp_path, step):
    from test_train import _model

    from aeqkit.train import load_checkpoint

    path = tmp_path / "run" / "model.pt"
    assert _run_killed(_fit_child, str(path), step) == -signal.SIGKILL
    ckpt = load_checkpoint(_model(seed=9), path)
    new_expected = WRITE_STEPS.index(step) >= WRITE_STEPS.index("data_replaced")
    assert len(ckpt["history"]["valid_rmse"]) == (2 if new_expected else 1)


# ------------------------------------------------------------------------------ stale temp files


def test_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "x.pt"
    stale = [tmp_path / ".x.pt.ab12cd34.tmp", tmp_path / ".x.pt.sha256.zz99yy88.tmp"]
    for f in stale:
        f.write_bytes(b"\0" * 100_000)
    unrelated = [tmp_path / ".other.pt.ab12cd34.tmp", tmp_path / "x.pt.tmp", tmp_path / "notes.txt"]
    for f in unrelated:
        f.write_text("keep")
    atomic_save(1, path)
    assert not any(f.exists() for f in stale)
    assert all(f.exists() for f in unrelated)


# ------------------------------------------------------------------------------ damaged sidecars and files

GOOD_HEX = "a" * 64
BAD_SIDECARS = [b"null", b"[]", b"{}", b"", b"garbage", b"\xff\xfe\x00", b'{"sha256": 5}',
                b'{"sha256": "ab", "size": 3}', b'{"size": 10}',
                f'{{"sha256": "{GOOD_HEX}", "size": "big"}}'.encode(),
                f'{{"sha256": "{GOOD_HEX}", "size": -1}}'.encode(), b'"a string"', b"[1, 2]",
                f'{{"sha256": "{GOOD_HEX}", "size": 3, "also": 7}}'.encode()]


@pytest.mark.parametrize("content", BAD_SIDECARS, ids=lambda c: repr(c)[:24])
def test_damaged_sidecar_is_a_clear_error_and_a_cache_regenerates(tmp_path, content):
    cfg = Cfg()
    cached(cfg, _gen, root=tmp_path)
    path = cache_path(cfg, tmp_path)
    Path(str(path) + ".sha256").write_bytes(content)
    with pytest.raises(CorruptFileError):
        verify(path)
    with pytest.warns(CacheRegeneratedWarning, match=path.name):
        out = cached(cfg, _gen, root=tmp_path)
    assert out["generated"] and torch.equal(out["data"]["fields"], torch.zeros(8, 3))
    verify(path)


DAMAGES = ["truncate-half", "truncate-1", "empty", "append", "flip-first", "flip-middle",
           "flip-last", "no-sidecar", "zeros"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_cache_file_regenerates_bit_identically(tmp_path, damage):
    cfg = Cfg(value=1.25)
    cached(cfg, _gen, root=tmp_path)
    path = cache_path(cfg, tmp_path)
    raw = path.read_bytes()
    n = len(raw)
    damaged = {
        "truncate-half": raw[: n // 2], "truncate-1": raw[:-1], "empty": b"", "append": raw + b"x",
        "flip-first": bytes([raw[0] ^ 1]) + raw[1:],
        "flip-middle": raw[: n // 2] + bytes([raw[n // 2] ^ 0x10]) + raw[n // 2 + 1 :],
        "flip-last": raw[:-1] + bytes([raw[-1] ^ 0x80]), "no-sidecar": raw, "zeros": b"\0" * n,
    }[damage]
    path.write_bytes(damaged)
    if damage == "no-sidecar":
        Path(str(path) + ".sha256").unlink()
    with pytest.warns(CacheRegeneratedWarning):
        out = cached(cfg, _gen, root=tmp_path)
    assert out["generated"] and torch.equal(out["data"]["fields"], torch.full((8, 3), 1.25))
    assert verified_load(path)["data"]["fields"].equal(torch.full((8, 3), 1.25))


@pytest.mark.parametrize("other", [Cfg(value=0.9), Cfg(size=16)], ids=["beta-like", "grid-size"])
def test_a_cache_of_another_configuration_is_never_used(tmp_path, other):
    want = Cfg()
    cached(other, _gen, root=tmp_path)
    src, dst = cache_path(other, tmp_path), cache_path(want, tmp_path)
    dst.write_bytes(src.read_bytes())
    Path(str(dst) + ".sha256").write_bytes(Path(str(src) + ".sha256").read_bytes())
    verify(dst)  # the copied pair is internally consistent: only the config check can catch it
    with pytest.warns(CacheRegeneratedWarning, match="another configuration"):
        out = cached(want, _gen, root=tmp_path)
    assert out["generated"] and torch.equal(out["data"]["fields"], torch.zeros(8, 3))


# ------------------------------------------------------------------------------ crafted pickles


class Evil:
    """Unpickling this runs ``open(marker, "w")``: a stand-in for arbitrary code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the raw pickle
@pytest.mark.parametrize("wrap", ["bare", "in-dict", "cache-payload", "raw-pickle"])
def test_a_crafted_pickle_is_never_executed(tmp_path, wrap):
    marker = tmp_path / "pwned"
    evil = Evil(str(marker))
    obj = {"bare": evil, "in-dict": {"state_dict": {"w": torch.ones(2)}, "epoch": evil},
           "cache-payload": {"data": {"fields": torch.zeros(8, 3)}, "meta": evil},
           "raw-pickle": evil}[wrap]
    if wrap == "raw-pickle":
        raw = pickle.dumps(obj)
    else:
        import io

        buf = io.BytesIO()
        torch.save(obj, buf)
        raw = buf.getvalue()
    assert not marker.exists()
    if wrap == "cache-payload":
        cfg = Cfg()
        path = cache_path(cfg, tmp_path)
        atomic_write_bytes(raw, path)  # a valid checksum: a checksum is not a signature
        with pytest.warns(CacheRegeneratedWarning):
            out = cached(cfg, _gen, root=tmp_path)
        assert out["generated"]
    else:
        path = tmp_path / "x.pt"
        atomic_write_bytes(raw, path)
        with pytest.raises(UnsafeFileError, match="not loaded"):
            verified_load(path)
    assert not marker.exists()
    # and aeqkit never writes such a file in the first place
    with pytest.raises(TypeError, match="plain containers"):
        atomic_save(obj, tmp_path / "y.pt")
    assert not marker.exists() and not (tmp_path / "y.pt").exists()


def test_payloads_that_cannot_be_loaded_safely_are_refused_at_write_time(tmp_path):
    import numpy as np

    for bad in [np.zeros(3), {"meta": np.float64(1.0)}, {"f": print}]:
        with pytest.raises(TypeError, match="plain containers"):
            atomic_save(bad, tmp_path / "z.pt")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------ read-only folders


@pytest.fixture
def mount_point(tmp_path):
    """A fresh tmpfs (root only) that the test may remount read-only or fill."""
    if not IS_ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("mount -t tmpfs is not permitted here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _make_read_only(folder: Path) -> None:
    if IS_ROOT:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        os.chmod(folder, 0o555)


@pytest.fixture
def ro_folder(tmp_path, request):
    if IS_ROOT:
        yield request.getfixturevalue("mount_point")
    else:
        d = tmp_path / "ro"
        d.mkdir()
        yield d
        os.chmod(d, 0o755)


def test_read_only_folder_with_a_valid_cache_is_read(ro_folder):
    cfg = Cfg(value=2.0)
    cached(cfg, _gen, root=ro_folder)
    lock = Path(str(cache_path(cfg, ro_folder)) + ".lock")
    lock.unlink(missing_ok=True)
    _make_read_only(ro_folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cached(cfg, _gen, root=ro_folder)
    assert not out["generated"] and torch.equal(out["data"]["fields"], torch.full((8, 3), 2.0))
    assert not lock.exists()


def test_read_only_folder_without_a_cache_returns_the_data_from_memory(ro_folder):
    _make_read_only(ro_folder)
    with pytest.warns(CacheWriteWarning, match="not writable"):
        out = cached(Cfg(value=3.0), _gen, root=ro_folder)
    assert out["generated"] and torch.equal(out["data"]["fields"], torch.full((8, 3), 3.0))


def test_checkpoint_in_a_read_only_folder_is_refused_before_training(ro_folder):
    from test_train import WindowDataset, _model, advection

    from aeqkit.train import fit

    _make_read_only(ro_folder)
    train = WindowDataset(advection(2, 14, seed=1), k=2)
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="checkpoint"):
        fit(model, train, train, epochs=1, rollout_steps=1, progress=False, device="cpu",
            checkpoint=ro_folder / "sub" / "m.pt")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


# ------------------------------------------------------------------------------ full disk


def test_full_disk_keeps_the_old_file_and_leaves_no_temp_file(mount_point):
    path = mount_point / "x.pt"
    atomic_save(torch.ones(10), path)
    with pytest.raises(OSError):
        atomic_save(torch.zeros(40_000), path)  # 160 kB > 64 kB
    assert torch.equal(verified_load(path), torch.ones(10))
    assert _temp_files(mount_point) == []


def test_full_disk_cache_returns_the_generated_data(mount_point):
    cfg = Cfg(size=20_000, value=4.0)  # 240 kB
    with pytest.warns(CacheWriteWarning, match="could not write"):
        out = cached(cfg, _gen, root=mount_point)
    assert torch.equal(out["data"]["fields"], torch.full((20_000, 3), 4.0))
    assert _temp_files(mount_point) == []


def test_full_disk_during_training_warns_and_keeps_the_result(mount_point):
    from test_train import WindowDataset, advection

    from aeqkit.train import TrainingWarning, evaluate, fit

    class Big(torch.nn.Module):  # a 400 kB state dict: no checkpoint fits on the 64 kB disk
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor(0.5))
            self.ballast = torch.nn.Parameter(torch.zeros(100_000), requires_grad=False)

        def forward(self, x):
            return self.w * x[:, -1]

    train = WindowDataset(advection(2, 14, seed=1), k=2)
    model = Big()
    with pytest.warns(TrainingWarning, match="could not write the checkpoint"):
        res = fit(model, train, train, epochs=3, lr=0.05, rollout_steps=1, patience=None,
                  device="cpu", progress=False, checkpoint=mount_point / "m.pt")
    assert res.checkpoint is None and res.epochs_run == 3
    assert evaluate(model, train, steps=2).rmse == pytest.approx(res.best_valid_rmse, rel=1e-6)
    assert _temp_files(mount_point) == []


# ------------------------------------------------------------------------------ concurrency


def _writer(path: str, wid: int, n: int) -> None:
    for i in range(n):
        atomic_save({"w": wid, "i": i, "x": torch.full((2000,), float(wid * 100 + i))}, path)


def _reader(path: str, seconds: float, out: str) -> None:
    bad, good = 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            p = verified_load(path)
            assert torch.equal(p["x"], torch.full((2000,), float(p["w"] * 100 + p["i"])))
            good += 1
        except (CorruptFileError, AssertionError):
            bad += 1
    Path(out).write_text(json.dumps({"bad": bad, "good": good}))


def test_concurrent_writers_and_readers_never_see_a_bad_file(tmp_path):
    path = tmp_path / "shared.pt"
    atomic_save({"w": 0, "i": 0, "x": torch.full((2000,), 0.0)}, path)
    procs = [FORK.Process(target=_writer, args=(str(path), w, 25)) for w in range(1, 4)]
    procs.append(FORK.Process(target=_reader, args=(str(path), 3.0, str(tmp_path / "r.json"))))
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    stats = json.loads((tmp_path / "r.json").read_text())
    assert stats["bad"] == 0 and stats["good"] > 0, stats
    final = verified_load(path)
    assert final["i"] == 24 and _temp_files(tmp_path) == []


# ------------------------------------------------------------------------------ lock holders


def _holder(root: str, how: str) -> None:
    def gen(c):
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGSTOP)
        return _gen(c)

    cached(Cfg(value=5.0), gen, root=root)


def _wait_for_holder(root: Path) -> None:
    lock = Path(str(cache_path(Cfg(value=5.0), root)) + ".lock")
    for _ in range(300):
        if lock.exists() and lock.read_text():
            return
        time.sleep(0.05)


def test_a_killed_lock_holder_does_not_block_the_next_process(tmp_path):
    assert _run_killed(_holder, str(tmp_path), "kill") == -signal.SIGKILL
    out = cached(Cfg(value=5.0), _gen, root=tmp_path, lock_timeout=10)
    assert out["generated"] and torch.equal(out["data"]["fields"], torch.full((8, 3), 5.0))


def test_a_stopped_lock_holder_is_named_and_does_not_hang_the_waiter(tmp_path, monkeypatch):
    monkeypatch.setattr(dcache, "STOPPED_HOLDER_GRACE", 1.0)
    p = FORK.Process(target=_holder, args=(str(tmp_path), "stop"))
    p.start()
    try:
        _wait_for_holder(tmp_path)
        t0 = time.monotonic()
        with pytest.raises(CacheLockTimeout, match=rf"pid {p.pid} .*since .*STOPPED"):
            cached(Cfg(value=5.0), _gen, root=tmp_path)
        assert time.monotonic() - t0 < 30
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
    # once the holder is gone the data generates normally
    assert cached(Cfg(value=5.0), _gen, root=tmp_path)["generated"]


def test_a_waiter_says_who_holds_the_lock_and_honours_its_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(dcache, "WAIT_REPORT_EVERY", 0.5)
    lock_path = cache_path(Cfg(value=5.0), tmp_path)
    with dcache._locked(lock_path):
        # the holder is this very process (pid and command are recorded); a second flock on a
        # separate open file description blocks, as another process would
        with pytest.warns(dcache.CacheLockWaitWarning, match=rf"pid {os.getpid()} .*since"):
            with pytest.raises(CacheLockTimeout, match="gave up after"):
                cached(Cfg(value=5.0), _gen, root=tmp_path, lock_timeout=2.5)


def test_a_reader_removes_a_killed_writers_leftovers_when_the_folder_is_idle(tmp_path):
    cfg = Cfg(value=6.0)
    cached(cfg, _gen, root=tmp_path)
    path = cache_path(cfg, tmp_path)
    # a refresh killed after writing its temporary data file: the old cache stays valid
    code = _run_killed(_refresh_child, str(tmp_path), "data_tmp_written")
    assert code == -signal.SIGKILL and _temp_files(tmp_path)
    out = cached(cfg, _gen, root=tmp_path)
    assert not out["generated"] and torch.equal(out["data"]["fields"], torch.full((8, 3), 6.0))
    assert _temp_files(tmp_path) == []
    verify(path)


def _refresh_child(root: str, step: str) -> None:
    aio._fault_hook = _kill_at(step)
    cached(Cfg(value=6.0), _gen, root=root, refresh=True)


def test_writers_fall_back_to_a_lock_file_where_folders_cannot_be_locked(tmp_path, monkeypatch):
    import fcntl

    original = fcntl.flock
    calls = []

    def flock(fd, op):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            calls.append("dir")
            raise OSError(9, "Bad file descriptor")  # as NFS does for a directory
        calls.append("file")
        return original(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    atomic_save(torch.ones(2), tmp_path / "x.pt")
    assert calls[:2] == ["dir", "file"]
    assert torch.equal(verified_load(tmp_path / "x.pt"), torch.ones(2))
