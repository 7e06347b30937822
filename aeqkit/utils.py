"""Small shared helpers: seeding, device choice, the version banner and input checks."""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = [
    "seed_everything",
    "seeded",
    "default_device",
    "resolve_device",
    "threads_from_env",
    "banner",
    "versions",
    "check_finite",
    "is_ci",
    "profile_from_env",
    "configure_threads",
]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch Generator seeded the same way."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Run a block under a fixed seed without disturbing the caller's random streams.

    Use it to make a model's initialisation reproducible: ``fit(model, ..., seed=s)`` cannot
    re-initialise a model that is already built, so build it under the seed::

        with seeded(3):
            model = build("rsteer", symmetry="rotation")
        fit(model, train, valid, seed=3)

    Python's, NumPy's and torch's CPU generators are seeded on entry (as
    :func:`seed_everything`) and restored on exit, so code after the block draws the same numbers
    as if the block had not run.

    Yields:
        A ``torch.Generator`` seeded with ``seed``.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield seed_everything(seed)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def resolve_device(spec: str | torch.device | None, name: str = "device") -> torch.device:
    """A usable torch device from ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or None (automatic).

    Raises:
        ValueError: naming ``name`` (e.g. ``--device`` or ``AEQKIT_DEVICE``) and the accepted
            values, when the string is not a device or the device is not available here.
    """
    if spec is None or spec == "":
        return default_device()
    accepted = "cpu" + (", cuda, cuda:0" if torch.cuda.is_available() else "") + (
        ", mps" if torch.backends.mps.is_available() else "")
    try:
        dev = torch.device(spec)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a device such as {accepted}; got {spec!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={spec!r} but no CUDA GPU is available here; accepted: "
                             f"{accepted}") from None
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={spec!r} but only {torch.cuda.device_count()} CUDA "
                             f"device(s) exist; accepted: {accepted}")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}={spec!r} but MPS is not available here; accepted: {accepted}")
    elif dev.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(f"{name} must be one of {accepted}; got {spec!r}")
    return dev


def default_device() -> torch.device:
    """CUDA when available (override with ``AEQKIT_DEVICE``), else CPU.

    Raises:
        ValueError: ``AEQKIT_DEVICE`` names a device that does not exist or is not available.
    """
    env = os.environ.get("AEQKIT_DEVICE")
    if env:
        return resolve_device(env, "AEQKIT_DEVICE")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def versions() -> dict[str, str]:
    """Installed versions of the packages the kit stands on (``"missing"`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "torch": torch.__version__}
    # read installed metadata instead of importing: escnn takes seconds to import
    for name in ("escnn", "phiflow", "plotly", "ipywidgets", "numpy", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def banner() -> str:
    """A one-line version banner for notebooks and CLI output."""
    from aeqkit import __version__

    v = versions()
    dev = default_device()
    gpu = torch.cuda.get_device_name(0) if dev.type == "cuda" else "no GPU"
    return (f"aeqkit {__version__} | torch {v['torch']} | escnn {v['escnn']} | "
            f"phiflow {v['phiflow']} | plotly {v['plotly']} | device {dev} ({gpu})")


def check_finite(x: torch.Tensor | np.ndarray, name: str = "input") -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or inf, saying how many and where the first is."""
    t = torch.as_tensor(x)
    if t.is_floating_point() or t.is_complex():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            idx = tuple(int(i) for i in torch.nonzero(bad)[0])
            raise ValueError(
                f"{name} contains {int(bad.sum())} non-finite values (NaN or inf), first at index "
                f"{idx}; expected finite numbers: clean or regenerate the data"
            )


def is_ci() -> bool:
    """True when running under CI (``CI=true``)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def profile_from_env(default: str = "quick",
                     choices: tuple[str, ...] = ("quick", "medium", "full")) -> str:
    """The run profile from ``AEQKIT_PROFILE`` (one of ``choices``), else ``default``."""
    p = os.environ.get("AEQKIT_PROFILE") or default
    if p not in choices:
        raise ValueError(f"AEQKIT_PROFILE must be one of {', '.join(choices)}; got {p!r}")
    return p


def threads_from_env() -> int | None:
    """``OMP_NUM_THREADS`` as a positive int, None when unset.

    Raises:
        ValueError: naming ``OMP_NUM_THREADS`` when it is not a positive integer.
    """
    env = os.environ.get("OMP_NUM_THREADS")
    if env is None or env.strip() == "":
        return None
    try:
        n = int(env)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"OMP_NUM_THREADS must be a positive integer (e.g. 1), got {env!r}")
    return n


def configure_threads(profile: str = "quick") -> int:
    """Set torch's intra-op threads for a run profile and return the count.

    ``OMP_NUM_THREADS`` wins when set. Otherwise the quick profile uses one thread: its tensors are
    small, and on a busy machine OpenMP barriers made multi-threaded small ops 10-40x slower than
    one thread (see DEVELOPERS.md); the full profile keeps torch's default.
    """
    env = threads_from_env()
    if env is not None:
        n = env
    elif profile == "quick":
        n = 1
    else:
        n = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()
