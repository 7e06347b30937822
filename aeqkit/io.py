"""Atomic, verified files: caches and checkpoints are never half-written and are checked on load.

A file ``path`` is accompanied by ``path.sha256`` holding its SHA-256 hex digest and byte size. Writes go to
a temporary file in the same folder, are fsync'ed and moved into place with ``os.replace``; the
sidecar is written last, so a crash leaves either the old pair or a file without a matching sidecar,
which :func:`verified_load` rejects.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CorruptFileError", "atomic_write_bytes", "atomic_save", "verified_load", "sha256_file",
           "verify"]


class CorruptFileError(ValueError):
    """A cache or checkpoint file is missing its checksum, truncated or altered."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + ``os.replace``) with a checksum sidecar."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, payload in [
        (path, data),
        (_sidecar(path), json.dumps({"sha256": hashlib.sha256(data).hexdigest(),
                                     "size": len(data)}).encode()),
    ]:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return path


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically, with a SHA-256 sidecar (see module docstring)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(buf.getvalue(), path)


def verify(path: str | os.PathLike) -> None:
    """Raise :class:`CorruptFileError` unless ``path`` matches its checksum sidecar."""
    path = Path(path)
    side = _sidecar(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if not side.exists():
        raise CorruptFileError(f"{path} has no checksum file {side.name}: it may be half-written; "
                               "delete it and regenerate")
    try:
        meta = json.loads(side.read_text())
        want, size = meta["sha256"], int(meta["size"])
    except (ValueError, KeyError) as err:
        raise CorruptFileError(f"checksum file {side} is unreadable ({err}); delete both files") from err
    actual_size = path.stat().st_size
    if actual_size != size:
        raise CorruptFileError(f"{path} is {actual_size} bytes but {size} were written: truncated")
    got = sha256_file(path)
    if got != want:
        raise CorruptFileError(f"{path} has SHA-256 {got[:12]}… but {want[:12]}… was written: altered")


def verified_load(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> Any:
    """Verify ``path`` against its sidecar, then ``torch.load`` it (``weights_only`` where possible)."""
    verify(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # noqa: BLE001 - fall back for trusted files of our own with plain objects
        return torch.load(path, map_location=map_location, weights_only=False)
