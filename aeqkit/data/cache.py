"""Generate each data configuration once and cache it safely under ``data/``.

A configuration is a frozen dataclass. Its full content (class name, every field and
:data:`FORMAT_VERSION`) is written as canonical JSON and hashed with SHA-256; the first 16 hex digits
go into the file name, e.g. ``data/smoke_rotation-3f9c0a1b2c3d4e5f.pt``, so changing any field gives
a new file and an old file is never silently reused for a different configuration.

Files are written with :func:`aeqkit.io.atomic_save` (kill-safe replacement with a SHA-256
sidecar) and read with :func:`aeqkit.io.verified_load` (``weights_only``: loading never runs code).
A valid file is read without any lock or write access, so a read-only data folder works. A file
that is truncated, altered, has a damaged checksum file, or whose stored configuration differs from
the requested one (e.g. a file copied over another's name) is reported with a
:class:`CacheRegeneratedWarning` that names the file and the difference, and regenerated. An
exclusive ``fcntl.flock`` on ``<file>.lock`` serialises processes that generate the same
configuration: the second one waits (saying who holds the lock and since when) and then loads what
the first one wrote. (``filelock`` truncates the lock file on open, which would erase the holder's
name, hence plain ``fcntl``.)

The root folder is ``$AEQKIT_DATA_DIR`` when set, else the repository's ``data/`` folder.

See also: ``data/README.md``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from aeqkit.io import CorruptFileError, atomic_save, clean_stale_temp_files, verified_load

__all__ = [
    "FORMAT_VERSION",
    "CacheRegeneratedWarning",
    "CacheWriteWarning",
    "CacheLockTimeout",
    "CacheLockWaitWarning",
    "data_root",
    "config_to_json",
    "config_hash",
    "cache_path",
    "cached",
]

#: Bumped whenever a generator changes what it writes for the same configuration.
FORMAT_VERSION = 2


class CacheRegeneratedWarning(UserWarning):
    """A cache file was corrupt or truncated and has been regenerated."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``root`` if given, else ``$AEQKIT_DATA_DIR``, else the repository's ``data/``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("AEQKIT_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data"


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, float):
        return float(repr(obj)) if obj == obj else "nan"
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    raise ValueError(f"config field of type {type(obj).__name__} is not JSON-serialisable; "
                     "expected numbers, strings, bools, None, tuples or nested dataclasses")


def config_to_json(config: Any) -> str:
    """Canonical JSON of a frozen dataclass config (sorted keys, no spaces), with its class name."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise ValueError(f"config must be a dataclass instance, got {type(config).__name__}")
    body = {"class": type(config).__name__, "format": FORMAT_VERSION, "fields": _plain(config)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def config_hash(config: Any) -> str:
    """First 16 hex digits of the SHA-256 of :func:`config_to_json`."""
    return hashlib.sha256(config_to_json(config).encode()).hexdigest()[:16]


def cache_path(config: Any, root: str | os.PathLike | None = None) -> Path:
    """``<root>/<config.name>-<hash>.pt`` (``name`` attribute of the config, else its class name)."""
    name = getattr(config, "name", None) or type(config).__name__.lower()
    return data_root(root) / f"{name}-{config_hash(config)}.pt"


class CacheWriteWarning(UserWarning):
    """Generated data could not be written to the cache (read-only folder, full disk); it is
    returned from memory and will be generated again next time."""


class CacheLockTimeout(TimeoutError):
    """Waiting for another process's cache lock took too long, or its holder is stopped."""


#: Seconds a waiter tolerates a lock holder that is stopped (SIGSTOP, Ctrl-Z) before giving up.
STOPPED_HOLDER_GRACE = 60.0
#: Seconds between "still waiting" messages.
WAIT_REPORT_EVERY = 30.0


def _holder(lock: Path) -> dict[str, Any]:
    """What the lock's holder wrote into the lock file (pid, host, since, command), or {}."""
    try:
        info = json.loads(lock.read_text() or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _process_state(pid: int) -> str | None:
    """The one-letter state of a local process (``R``, ``S``, ``T`` stopped, ...) or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _describe(info: dict[str, Any]) -> str:
    if not info:
        return "held by another process (no holder information)"
    since = info.get("since")
    when = (time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since)) if isinstance(since, (int, float))
            else "?")
    text = f"held by pid {info.get('pid')} on {info.get('host')} since {when} ({info.get('command', '?')})"
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        state = _process_state(info["pid"])
        if state in {"T", "t"}:
            text += f"; that process is STOPPED: resume it (kill -CONT {info['pid']}) or end it"
        elif state is None:
            text += "; that process has exited (a child may still hold the lock)"
    return text


@contextmanager
def _locked(path: Path, timeout: float | None = None):
    """Exclusive ``fcntl.flock`` on ``<path>.lock``; waiting says who holds it and since when.

    The holder writes its pid, host, start time and command into the lock file. A waiter reports
    (``warnings``, :class:`CacheLockWaitWarning`) after 2 s and every :data:`WAIT_REPORT_EVERY` s,
    and raises :class:`CacheLockTimeout` after ``timeout`` seconds or when the holder has been
    stopped for :data:`STOPPED_HOLDER_GRACE` seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+") as fh:
        start = time.monotonic()
        next_report = start + 2.0
        stopped_since: float | None = None
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            now = time.monotonic()
            info = _holder(lock)
            state = (_process_state(info["pid"]) if info.get("host") == socket.gethostname()
                     and isinstance(info.get("pid"), int) else None)
            stopped_since = (stopped_since or now) if state in {"T", "t"} else None
            if timeout is not None and now - start > timeout:
                raise CacheLockTimeout(f"gave up after {now - start:.0f} s waiting for {lock}: "
                                       f"{_describe(info)}")
            if stopped_since is not None and now - stopped_since > STOPPED_HOLDER_GRACE:
                raise CacheLockTimeout(f"waiting for {lock}: {_describe(info)}")
            if now >= next_report:
                warnings.warn(f"waiting for the cache lock {lock}: {_describe(info)}",
                              CacheLockWaitWarning, stacklevel=4)
                next_report = now + WAIT_REPORT_EVERY
            time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.time(), "command": " ".join(sys.argv)[:200]}))
            fh.flush()
            yield
        finally:
            try:
                fh.seek(0)
                fh.truncate()
                fh.flush()
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class CacheLockWaitWarning(UserWarning):
    """This process is waiting for another one that holds a cache lock (the message says which)."""


def _check_payload(payload: Any, path: Path, config: Any | None = None) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict) or "meta" not in payload:
        raise CorruptFileError(f"{path} does not hold an aeqkit data cache (no 'data'/'meta' keys)")
    for key, val in payload["data"].items():
        if isinstance(val, torch.Tensor) and val.is_floating_point() and not bool(torch.isfinite(val).all()):
            raise CorruptFileError(f"{path}: array {key!r} contains NaN or inf")
    if config is not None:
        want = json.loads(config_to_json(config))
        got = payload.get("config")
        if got != want or payload.get("hash") != config_hash(config):
            diff = _config_diff(got, want)
            raise CorruptFileError(f"{path} holds another configuration than the one requested "
                                   f"(stored hash {payload.get('hash')!r}, requested "
                                   f"{config_hash(config)!r}; {diff})")


def _config_diff(got: Any, want: dict[str, Any]) -> str:
    if not isinstance(got, dict):
        return "no stored configuration"
    g, w = got.get("fields", {}), want.get("fields", {})
    if not isinstance(g, dict):
        return "unreadable stored configuration"
    keys = sorted(k for k in set(g) | set(w) if g.get(k) != w.get(k))
    parts = [f"{k}: stored {g.get(k)!r}, requested {w.get(k)!r}" for k in keys[:5]]
    for k in ("class", "format"):
        if got.get(k) != want.get(k):
            parts.append(f"{k}: stored {got.get(k)!r}, requested {want.get(k)!r}")
    return "; ".join(parts) or "stored hash differs"


def _try_load(path: Path, config: Any) -> tuple[dict[str, Any] | None, Exception | None]:
    """The verified payload for ``config`` at ``path`` (None, error) when absent or bad. Read only."""
    if not path.exists():
        return None, None
    try:
        payload = verified_load(path)
        _check_payload(payload, path, config)
        return payload, None
    except (CorruptFileError, EOFError, RuntimeError, OSError) as err:
        return None, err


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def cached(
    config: Any,
    generate: Callable[[Any], tuple[dict[str, torch.Tensor], dict[str, Any]]],
    root: str | os.PathLike | None = None,
    refresh: bool = False,
    lock_timeout: float | None = None,
) -> dict[str, Any]:
    """Load ``config``'s data from the cache, generating and saving it first when needed.

    A valid cache is read without any lock or write access (a read-only data folder works). A
    file that is truncated, altered, has a damaged checksum file or holds another configuration
    (its stored config is compared with ``config``) is reported with a
    :class:`CacheRegeneratedWarning` and regenerated. Generation holds ``<file>.lock``, so
    concurrent processes generate once; a waiter says who holds the lock and since when. When the
    folder cannot be written, the data are generated in memory and returned with a
    :class:`CacheWriteWarning`.

    Args:
        config: a frozen dataclass describing the data completely.
        generate: ``generate(config) -> (data, meta)`` where ``data`` maps names to tensors and ``meta``
            is a dict of plain values. It should show a tqdm progress bar.
        root: cache folder (default :func:`data_root`).
        refresh: regenerate even if a valid file exists.
        lock_timeout: seconds to wait for another process generating the same data (default:
            ``$AEQKIT_LOCK_TIMEOUT`` or no limit); :class:`CacheLockTimeout` after that.

    Returns:
        ``{"data": {...}, "meta": {...}, "config": {...}, "hash": str, "path": str,
        "generated": bool, "seconds": float}``.

    Raises:
        ValueError: if the generator returns non-finite values (nothing is written then).
    """
    path = cache_path(config, root)
    if lock_timeout is None and os.environ.get("AEQKIT_LOCK_TIMEOUT"):
        try:
            lock_timeout = float(os.environ["AEQKIT_LOCK_TIMEOUT"])
        except ValueError:
            raise ValueError("AEQKIT_LOCK_TIMEOUT must be a number of seconds, got "
                             f"{os.environ['AEQKIT_LOCK_TIMEOUT']!r}") from None
    if not refresh:
        payload, err = _try_load(path, config)  # lock-free: reads never need write access
        if payload is not None:
            clean_stale_temp_files(path)  # a killed refresh's leftovers; no-op when read-only
            payload.update(path=str(path), generated=False)
            return payload
    if not _writable(path.parent):
        if not refresh and path.exists():
            warnings.warn(f"data cache {path} is unusable ({err}) and its folder is not writable",
                          CacheRegeneratedWarning, stacklevel=2)
        warnings.warn(f"cache folder {path.parent} is not writable: generating {path.name} in "
                      "memory without caching it; set AEQKIT_DATA_DIR to a writable folder to "
                      "keep it", CacheWriteWarning, stacklevel=2)
        return _generate(config, generate, path, write=False)
    with _locked(path, lock_timeout):
        if not refresh:
            # another process may have generated it while this one waited
            payload, err = _try_load(path, config)
            if payload is not None:
                payload.update(path=str(path), generated=False)
                return payload
            if err is not None:
                warnings.warn(
                    f"data cache {path} is corrupt, truncated or for another configuration "
                    f"({err}); regenerating it. If this repeats, delete {path.name} and its "
                    ".sha256 file, or point AEQKIT_DATA_DIR to a writable folder with free space.",
                    CacheRegeneratedWarning,
                    stacklevel=2,
                )
        return _generate(config, generate, path, write=True)


def _plain_meta(obj: Any) -> Any:
    """NumPy scalars and arrays in generator metadata as plain numbers and lists, so the cache
    loads with ``weights_only=True`` (anything else non-plain makes ``atomic_save`` refuse)."""
    import numpy as np

    if isinstance(obj, dict):
        return {k: _plain_meta(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain_meta(v) for v in obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def _generate(config: Any, generate: Callable, path: Path, write: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    data, meta = generate(config)
    seconds = time.perf_counter() - t0
    for key, val in data.items():
        if not isinstance(val, torch.Tensor):
            raise ValueError(f"generator output {key!r} must be a torch.Tensor, got {type(val).__name__}")
        if val.is_floating_point() and not bool(torch.isfinite(val).all()):
            raise ValueError(f"generated array {key!r} contains NaN or inf; nothing was written. "
                             "Lower dt or the inflow/buoyancy strength in the config")
    payload = {"data": data, "meta": _plain_meta(meta), "config": json.loads(config_to_json(config)),
               "hash": config_hash(config), "seconds": seconds}
    if write:
        try:
            atomic_save(payload, path)
        except OSError as err:  # full disk, quota, folder turned read-only: keep the result
            warnings.warn(f"could not write the data cache {path} ({err}); returning the "
                          "generated data from memory. Free space or set AEQKIT_DATA_DIR",
                          CacheWriteWarning, stacklevel=3)
            write = False
    payload.update(path=str(path), generated=True)
    return payload
