"""Atomic, verified files: caches, checkpoints and results are never half-written, checked on load.

A file ``path`` is accompanied by ``path.sha256``, a JSON sidecar holding the file's SHA-256 hex
digest and byte size. A write replaces the pair so that **a kill at any instruction leaves either
the old or the new good file** (never neither):

1. the sidecar is replaced by one that accepts both the current file and the new content;
2. the new content, written to a temporary file in the same folder and fsync'ed, replaces the file
   (``os.replace``, one atomic step);
3. the sidecar is replaced by one that accepts only the new content.

Each replacement is itself a temporary file + fsync + ``os.replace`` (+ fsync of the folder).
Writers of one folder are serialised by an ``fcntl.flock`` on the folder itself (no lock file), so
concurrent writers cannot interleave their steps; temporary files left behind by a killed writer
(``.<name>.<random>.tmp``) are removed by the next write of the same file.

Reads never need write access. :func:`verified_load` checks the sidecar, then loads with
``torch.load(weights_only=True)`` only: a file holding anything but tensors and plain containers
(numbers, strings, lists, tuples, dicts) is refused, never executed (a checksum is not a
signature). :func:`atomic_save` refuses to write such payloads in the first place.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CorruptFileError",
    "UnsafeFileError",
    "atomic_write_bytes",
    "atomic_save",
    "verified_load",
    "verified_read_bytes",
    "sha256_file",
    "verify",
    "remove_stale_temp_files",
    "clean_stale_temp_files",
    "WRITE_STEPS",
]


class CorruptFileError(ValueError):
    """A cache or checkpoint file is missing its checksum, truncated or altered."""


class UnsafeFileError(CorruptFileError):
    """A verified file holds objects other than tensors and plain containers; it was not loaded."""


#: The named steps of :func:`atomic_write_bytes`, in order. The fault-injection tests kill a writer
#: at each of them (see ``_fault_hook``).
WRITE_STEPS = ("start", "sidecar_both_tmp_written", "sidecar_both_written", "data_tmp_written",
               "data_replaced", "sidecar_tmp_written", "sidecar_replaced")

#: Test hook: called with each step name of :data:`WRITE_STEPS` (fault injection); None in normal use.
_fault_hook = None


def _step(name: str) -> None:
    if _fault_hook is not None:
        _fault_hook(name)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

# mkstemp names: "." + target name + "." + 8 random characters + ".tmp"
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp$")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Exclusive ``flock`` on the folder itself: serialises writers without creating a lock file.

    Where a folder cannot be locked (some network file systems refuse ``flock`` on a directory),
    a hidden ``.aeqkit-write.lock`` file in the folder is locked instead.
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        fd = os.open(folder / ".aeqkit-write.lock", os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_with(target: Path, payload: bytes, tmp_step: str | None = None) -> None:
    """Write ``payload`` to a temporary file beside ``target``, fsync it and ``os.replace`` it."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        if tmp_step is not None:
            _step(tmp_step)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(target.parent)


def remove_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Remove temporary files a killed writer left beside ``path`` (and its sidecar).

    Call it only while holding the folder's write lock (as :func:`atomic_write_bytes` does): every
    writer holds that lock while its temporary files exist, so any found then are stale.

    Returns:
        The removed paths.
    """
    path = Path(path)
    targets = {path.name, _sidecar(path).name}
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for f in entries:
        m = _TMP_RE.match(f.name)
        if m and m.group("target") in targets:
            try:
                f.unlink()
                removed.append(f)
            except FileNotFoundError:
                pass
    return removed


def clean_stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Best effort, for readers: remove a killed writer's temporary files beside ``path`` when no
    writer is active in its folder (a non-blocking try of the folder lock) and the folder is
    writable; never raises and never waits.

    Returns:
        The removed paths (empty when the folder is busy, read-only or clean).
    """
    folder = Path(path).parent
    if not os.access(folder, os.W_OK):
        return []
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return remove_stale_temp_files(path)
    except OSError:
        return []
    finally:
        os.close(fd)


def _read_sidecar(side: Path) -> list[tuple[str, int]]:
    """The ``(sha256, size)`` pairs a sidecar accepts; :class:`CorruptFileError` if unreadable."""
    try:
        meta = json.loads(side.read_text())
        entries = [meta] + list(meta.get("also", []))
        out = [(str(e["sha256"]), int(e["size"])) for e in entries]
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"checksum file {side} is unreadable ({type(err).__name__}: {err}); "
                               "delete both files and regenerate") from err
    for digest, size in out:
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or size < 0:
            raise CorruptFileError(f"checksum file {side} holds an invalid entry "
                                   f"({digest[:16]!r}, {size}); delete both files and regenerate")
    return out


def _sidecar_bytes(entries: list[tuple[str, int]]) -> bytes:
    (digest, size), rest = entries[0], entries[1:]
    meta: dict[str, Any] = {"sha256": digest, "size": size}
    if rest:
        meta["also"] = [{"sha256": d, "size": s} for d, s in rest]
    return json.dumps(meta).encode()


def _current_entry(path: Path) -> tuple[str, int] | None:
    """The ``(sha256, size)`` of the file now at ``path`` if it is a good file, else None."""
    side = _sidecar(path)
    if not path.exists() or not side.exists():
        return None
    try:
        entries = _read_sidecar(side)
    except CorruptFileError:
        return None
    size = path.stat().st_size
    matching = [e for e in entries if e[1] == size]
    if len(matching) == 1 and len(entries) == 1:
        return matching[0]  # the usual case: no need to hash a large file
    if matching:
        digest = sha256_file(path)
        for e in matching:
            if e[0] == digest:
                return e
    return None


def atomic_write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` to ``path`` atomically with a checksum sidecar (see the module docstring).

    A kill at any instruction leaves ``path`` either with its previous verified content or with
    ``data``, verified. Raises ``OSError`` when the folder cannot be written (read-only, disk
    full); the previous file then stays valid and no temporary file is left.
    """
    path = Path(path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = (hashlib.sha256(data).hexdigest(), len(data))
    with _folder_lock(path.parent):
        remove_stale_temp_files(path)
        _step("start")
        old = _current_entry(path)
        both = [new] + ([old] if old is not None and old != new else [])
        _replace_with(_sidecar(path), _sidecar_bytes(both), tmp_step="sidecar_both_tmp_written")
        _step("sidecar_both_written")
        _replace_with(path, data, tmp_step="data_tmp_written")
        _step("data_replaced")
        if len(both) > 1:
            _replace_with(_sidecar(path), _sidecar_bytes([new]), tmp_step="sidecar_tmp_written")
        _step("sidecar_replaced")
    return path


def _check_plain(buf: bytes) -> None:
    try:
        torch.load(io.BytesIO(buf), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any refusal means the payload is not plain
        raise TypeError(
            "atomic_save payloads must hold only tensors and plain containers (dict, list, tuple, "
            f"str, int, float, bool, None) so that loading never runs code; got: "
            f"{str(err).splitlines()[0][:200]}") from err


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically, with a SHA-256 sidecar (see module docstring).

    Raises:
        TypeError: ``obj`` holds something ``torch.load(weights_only=True)`` would refuse (custom
            classes, numpy arrays, functions): such a file could never be loaded safely.
    """
    buf = io.BytesIO()
    torch.save(obj, buf)
    raw = buf.getvalue()
    _check_plain(raw)
    return atomic_write_bytes(raw, path)


def _verify_bytes(path: Path, raw: bytes) -> None:
    side = _sidecar(path)
    if not side.exists():
        raise CorruptFileError(f"{path} has no checksum file {side.name}: it may be half-written; "
                               "delete it and regenerate")
    entries = _read_sidecar(side)
    if len(raw) not in {s for _, s in entries}:
        want = " or ".join(str(s) for _, s in entries)
        raise CorruptFileError(f"{path} is {len(raw)} bytes but {want} were written: truncated "
                               "or altered")
    got = hashlib.sha256(raw).hexdigest()
    if got not in {d for d, _ in entries}:
        raise CorruptFileError(f"{path} has SHA-256 {got[:12]}… but {entries[0][0][:12]}… was "
                               "written: altered")


def verified_read_bytes(path: str | os.PathLike, retries: int = 3) -> bytes:
    """Read ``path`` and check it against its sidecar; never needs write access.

    A concurrent writer may replace the file between reading the sidecar and the file: a
    mismatch is retried ``retries`` times (50 ms apart) before it is reported.

    Raises:
        FileNotFoundError: no such file.
        CorruptFileError: missing, unreadable or non-matching checksum (truncated or altered).
    """
    path = Path(path)
    for attempt in range(retries + 1):
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, f"{path} does not exist", str(path))
        raw = path.read_bytes()
        try:
            _verify_bytes(path, raw)
            return raw
        except (CorruptFileError, FileNotFoundError):
            if attempt == retries:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def verify(path: str | os.PathLike) -> None:
    """Raise :class:`CorruptFileError` unless ``path`` matches its checksum sidecar."""
    verified_read_bytes(path)


def verified_load(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> Any:
    """Verify ``path`` against its sidecar, then ``torch.load`` it with ``weights_only=True``.

    Nothing in the file is ever executed: a payload with other objects than tensors and plain
    containers raises :class:`UnsafeFileError` (a :class:`CorruptFileError`).
    """
    raw = verified_read_bytes(path)
    try:
        return torch.load(io.BytesIO(raw), map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - weights_only refusal or a damaged archive
        msg = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        if "weights_only" in str(err) or "Unsupported" in str(err):
            raise UnsafeFileError(
                f"{path} holds objects other than tensors and plain containers; it was not loaded "
                f"(loading could run code). Regenerate it with aeqkit. Detail: {msg}") from err
        raise CorruptFileError(f"{path} verifies but cannot be read by torch.load: {msg}") from err
