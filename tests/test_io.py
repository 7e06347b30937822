"""Atomic, checksum-verified files (aeqkit.io)."""

from __future__ import annotations

import pytest
import torch

from aeqkit.io import CorruptFileError, atomic_save, verified_load, verify


def test_roundtrip_and_no_temp_files_left(tmp_path):
    p = tmp_path / "sub" / "x.pt"
    atomic_save({"a": torch.arange(5)}, p)
    assert torch.equal(verified_load(p)["a"], torch.arange(5))
    assert sorted(f.name for f in p.parent.iterdir()) == ["x.pt", "x.pt.sha256"]


def test_truncated_altered_and_unsigned_files_are_rejected(tmp_path):
    p = tmp_path / "x.pt"
    atomic_save(torch.randn(100), p)
    data = p.read_bytes()
    p.write_bytes(data[:-10])
    with pytest.raises(CorruptFileError, match="truncated"):
        verify(p)
    p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptFileError, match="altered"):
        verified_load(p)
    (tmp_path / "x.pt.sha256").unlink()
    with pytest.raises(CorruptFileError, match="no checksum"):
        verify(p)


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    p = tmp_path / "x.pt"
    atomic_save(torch.ones(3), p)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_save(torch.zeros(3), p)
    monkeypatch.undo()
    assert torch.equal(verified_load(p), torch.ones(3))
    assert not [f for f in tmp_path.iterdir() if f.suffix == ".tmp"]


def test_files_get_normal_permissions(tmp_path):
    import os
    import stat

    p = tmp_path / "x.pt"
    atomic_save(1, p)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
