"""Generate each data configuration once and cache it safely under ``data/``.

A configuration is a frozen dataclass. Its full content (class name, every field and
:data:`FORMAT_VERSION`) is written as canonical JSON and hashed with SHA-256; the first 16 hex digits
go into the file name, e.g. ``data/smoke_rotation-3f9c0a1b2c3d4e5f.pt``, so changing any field gives
a new file and an old file is never silently reused for a different configuration.

Files are written with :func:`aeqkit.io.atomic_save` (temporary file, fsync, ``os.replace``, SHA-256
sidecar) and read with :func:`aeqkit.io.verified_load`. A truncated or altered file is detected,
reported with a :class:`CacheRegeneratedWarning` that names the file, and regenerated. An exclusive
``fcntl.flock`` on ``<file>.lock`` serialises processes that generate the same configuration: the
second one waits and then loads what the first one wrote.

The root folder is ``$AEQKIT_DATA_DIR`` when set, else the repository's ``data/`` folder.

See also: ``data/README.md``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from aeqkit.io import CorruptFileError, atomic_save, verified_load

__all__ = [
    "FORMAT_VERSION",
    "CacheRegeneratedWarning",
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


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _check_payload(payload: Any, path: Path) -> None:
    if not isinstance(payload, dict) or "data" not in payload or "meta" not in payload:
        raise CorruptFileError(f"{path} does not hold an aeqkit data cache (no 'data'/'meta' keys)")
    for key, val in payload["data"].items():
        if isinstance(val, torch.Tensor) and val.is_floating_point() and not bool(torch.isfinite(val).all()):
            raise CorruptFileError(f"{path}: array {key!r} contains NaN or inf")


def cached(
    config: Any,
    generate: Callable[[Any], tuple[dict[str, torch.Tensor], dict[str, Any]]],
    root: str | os.PathLike | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Load ``config``'s data from the cache, generating and saving it first when needed.

    Args:
        config: a frozen dataclass describing the data completely.
        generate: ``generate(config) -> (data, meta)`` where ``data`` maps names to tensors and ``meta``
            is a dict of plain values. It should show a tqdm progress bar.
        root: cache folder (default :func:`data_root`).
        refresh: regenerate even if a valid file exists.

    Returns:
        ``{"data": {...}, "meta": {...}, "config": {...}, "hash": str, "path": str,
        "generated": bool, "seconds": float}``.

    Raises:
        ValueError: if the generator returns non-finite values (nothing is written then).
    """
    path = cache_path(config, root)
    with _locked(path):
        if path.exists() and not refresh:
            try:
                payload = verified_load(path)
                _check_payload(payload, path)
                payload.update(path=str(path), generated=False)
                return payload
            except (CorruptFileError, EOFError, RuntimeError, OSError) as err:
                warnings.warn(
                    f"data cache {path} is corrupt or truncated ({err}); regenerating it. If this "
                    f"repeats, delete {path.name} and its .sha256 file, or point AEQKIT_DATA_DIR to "
                    "a writable folder with free space.",
                    CacheRegeneratedWarning,
                    stacklevel=2,
                )
        t0 = time.perf_counter()
        data, meta = generate(config)
        seconds = time.perf_counter() - t0
        for key, val in data.items():
            if not isinstance(val, torch.Tensor):
                raise ValueError(f"generator output {key!r} must be a torch.Tensor, got {type(val).__name__}")
            if val.is_floating_point() and not bool(torch.isfinite(val).all()):
                raise ValueError(f"generated array {key!r} contains NaN or inf; nothing was written. "
                                 "Lower dt or the inflow/buoyancy strength in the config")
        payload = {"data": data, "meta": meta, "config": json.loads(config_to_json(config)),
                   "hash": config_hash(config), "seconds": seconds}
        atomic_save(payload, path)
        payload.update(path=str(path), generated=True)
        return payload
