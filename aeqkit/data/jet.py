"""Jet flow data (paper Sec. 5.3): a SYNTHETIC PhiFlow jet sampled like PIV, and a loader for real PIV.

The NASA multi-stream jet PIV data of the paper is not public. :func:`generate_jet` builds a
stand-in that is labelled synthetic everywhere it appears (config name ``jet_synthetic``, metadata
``synthetic=True``, ``stand_in=True`` and a ``note``; the ``[SYNTHETIC stand-in]`` tag in the repr
of :class:`~aeqkit.data.ForecastData` and ``JetConfig[SYNTHETIC]``):

* a fast stream (speed ``jet_velocity``, half-width ``jet_halfwidth`` cells) is imposed in a nozzle
  strip at the bottom of an open domain (row axis y up = streamwise, column axis x = transverse) and
  enters quiescent fluid; its two shear layers roll up (Kelvin-Helmholtz), seeded by a small random
  multi-frequency modulation of the inlet speed and a transverse "flapping" of the nozzle flow;
* the set-up is mirror-symmetric about the jet axis (the column ``x = (width - 1) / 2``, a cell
  centre) up to that random forcing, and ``asymmetry`` breaks it deterministically: a co-flow of speed
  ``asymmetry · jet_velocity / 2`` on the right side only and a skewed inlet profile;
* the velocity (at cell centres) is cropped into 24 PIV-like windows of 62 x 23 cells (8 axial
  stations x 3 transverse stations: left of the axis, centred, right of the axis, the left and right
  ones mirror images), and Gaussian measurement noise of standard deviation
  ``noise · jet_velocity`` is added.

Real PIV windows are read with :func:`load_piv` (one window per file) and turned into a data set
with :func:`piv_dataset`. See also: notebook 04 (jet flow), ``data/README.md``.

Accepted PIV file formats (arrays of shape ``(T, 2, H, W)``, channels ``(u, v)``, row axis y up):

* ``.npz``: an array named ``velocity`` (or the only array in the file);
* ``.pt`` / ``.pth``: a tensor, or a dict with a tensor under ``"velocity"``;
* ``.nc`` / ``.cdf`` / ``.netcdf`` (netCDF 3 or 4, read with xarray and CF decoding: scale/offset,
  fill values): a variable ``velocity`` with dimensions ``(time, component, y, x)``, or two variables
  ``u`` and ``v`` (or ``uwnd``/``vwnd``, ``eastward_*``/``northward_*``: :mod:`aeqkit.data.ingest`)
  with dimensions ``time``, ``y``, ``x`` matched by name in any order; a descending ``y`` coordinate is
  flipped so that rows go up.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from aeqkit.data.windows import check_split_fractions, check_window_lengths, future_cut

__all__ = [
    "JetConfig",
    "JET_NOTE",
    "PIV_EXTENSIONS",
    "jet_stations",
    "generate_jet",
    "load_piv",
    "piv_dataset",
]

JET_NOTE = ("SYNTHETIC jet data generated with PhiFlow by aeqkit as a stand-in for the non-public NASA "
            "multi-stream jet PIV data of the paper (Sec. 5.3); results on it are not the paper's.")
PIV_EXTENSIONS = (".npz", ".pt", ".pth", ".nc", ".cdf", ".netcdf")

_PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "quick": dict(width=35, height=80, frames=60, warmup=35),
    "full": dict(width=63, height=160, frames=160, warmup=90),
}


@dataclass(frozen=True)
class JetConfig:
    """Everything that determines a synthetic jet data set (hashed for the cache).

    Attributes:
        width: transverse cells (odd, so the jet axis is a column of cell centres).
        height: streamwise cells.
        frames: saved frames (after ``warmup``).
        warmup: steps simulated before the first saved frame (the jet must fill the domain).
        jet_velocity: inlet speed in cells per step.
        jet_halfwidth: inlet half-width in cells.
        shear_thickness: thickness of the inlet shear layers in cells.
        nozzle_length: rows at the bottom where the inlet velocity is imposed.
        forcing: amplitude of the random inlet modulation (fraction of ``jet_velocity``).
        asymmetry: reflection-symmetry breaking knob (co-flow on one side, skewed profile), ``>= 0``.
        noise: standard deviation of the measurement noise (fraction of ``jet_velocity``).
        window_shape: ``(H, W)`` of each PIV window (paper: 62 x 23).
        num_axial: axial stations (paper: 8); 3 transverse stations each.
        tol: pressure-solve tolerance.
        seed: seed of the forcing and the noise.
    """

    width: int = 63
    height: int = 160
    frames: int = 160
    warmup: int = 90
    jet_velocity: float = 1.5
    jet_halfwidth: float = 5.0
    shear_thickness: float = 1.5
    nozzle_length: int = 3
    forcing: float = 0.05
    asymmetry: float = 0.2
    noise: float = 0.02
    window_shape: tuple[int, int] = (62, 23)
    num_axial: int = 8
    tol: float = 1e-4
    seed: int = 0
    name: str = "jet_synthetic"

    def __post_init__(self) -> None:
        wh, ww = self.window_shape
        if self.width % 2 == 0 or self.width < ww + 2:
            raise ValueError(f"width must be odd and >= window width + 2 = {ww + 2}, got {self.width}")
        if self.height < wh + self.nozzle_length + 2:
            raise ValueError(f"height must be >= window height + nozzle_length + 2 = "
                             f"{wh + self.nozzle_length + 2}, got {self.height}")
        if not (isinstance(self.frames, int) and self.frames >= 2 and self.warmup >= 0):
            raise ValueError(f"frames must be an int >= 2 and warmup >= 0, got {self.frames}, {self.warmup}")
        if self.asymmetry < 0 or self.noise < 0 or self.forcing < 0:
            raise ValueError("asymmetry, noise and forcing must be >= 0, got "
                             f"{self.asymmetry}, {self.noise}, {self.forcing}")
        if self.num_axial < 1 or self.jet_velocity <= 0 or self.jet_halfwidth <= 0:
            raise ValueError("num_axial >= 1, jet_velocity > 0 and jet_halfwidth > 0 are required")

    @property
    def steps(self) -> int:
        """Saved frames (alias of ``frames`` for the window checks)."""
        return self.frames

    @classmethod
    def from_profile(cls, profile: str = "full", **overrides: Any) -> JetConfig:
        """Defaults of ``profile`` (``"quick"``: a 35 x 80 domain, 60 frames) updated by ``overrides``."""
        if profile not in _PROFILE_DEFAULTS:
            raise ValueError(f"unknown profile {profile!r}; accepted: {', '.join(_PROFILE_DEFAULTS)}")
        kw = dict(_PROFILE_DEFAULTS[profile])
        kw.update(overrides)
        if "window_shape" in kw:
            kw["window_shape"] = tuple(int(v) for v in kw["window_shape"])
        return cls(**kw)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"JetConfig[SYNTHETIC]({inner})"


def jet_stations(config: JetConfig) -> list[dict[str, int]]:
    """The 3 x ``num_axial`` PIV windows: ``row0``, ``col0`` (lower-left cell), ``axial``, ``side``
    (-1 left of the axis, 0 centred, +1 right), ordered axial-major."""
    wh, ww = config.window_shape
    axis = (config.width - 1) // 2
    centre0 = axis - ww // 2
    offset = min(ww // 2 + 3, centre0)
    lo = config.nozzle_length + 1
    hi = config.height - wh
    rows = np.unique(np.round(np.linspace(lo, hi, config.num_axial)).astype(int))
    if len(rows) < config.num_axial:
        rows = np.round(np.linspace(lo, hi, config.num_axial)).astype(int)
    out = []
    for a, r in enumerate(rows):
        for side in (-1, 0, 1):
            out.append({"row0": int(r), "col0": int(centre0 + side * offset), "axial": a, "side": side})
    return out


def _inlet_parts(config: JetConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inlet profile as ``base + mod(t) * modulated`` (streamwise) and ``flap(t) * flap_shape``
    (transverse), per column. Shapes: ``(W,)`` each."""
    W = config.width
    d = np.arange(W) + 0.5 - W / 2.0
    h, delta, U, a = config.jet_halfwidth, config.shear_thickness, config.jet_velocity, config.asymmetry
    core = 0.5 * (1.0 + np.tanh((h - np.abs(d)) / delta))
    skew = 1.0 + 0.5 * a * np.clip(d / h, -1.0, 1.0)
    coflow = 0.5 * a * 0.5 * (1.0 + np.tanh((d - h) / delta))
    base = U * (core * skew + coflow)
    modulated = U * config.forcing * core * skew
    flap_shape = U * config.forcing * core
    return base, modulated, flap_shape


def _forcing_signals(config: JetConfig, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Random multi-frequency modulation and flapping signals (seeded). Shapes: ``(steps,)`` each."""
    rng = np.random.default_rng(config.seed)
    amp = rng.uniform(0.3, 1.0, size=(2, 4)) / 2.0
    freq = rng.uniform(0.05, 0.4, size=(2, 4))
    phase = rng.uniform(0, 2 * math.pi, size=(2, 4))
    t = np.arange(steps)[:, None]
    return (np.sum(amp[0] * np.sin(freq[0] * t + phase[0]), axis=1),
            np.sum(amp[1] * np.sin(freq[1] * t + phase[1]), axis=1))


def _simulate_jet(config: JetConfig, progress: bool) -> np.ndarray:
    from phi import flow as pf

    from aeqkit.data.smoke import _project

    W, H = config.width, config.height
    steps = config.warmup + config.frames
    mod, flap = _forcing_signals(config, steps)
    base, modulated, flap_shape = _inlet_parts(config)
    dom = dict(x=W, y=H, bounds=pf.Box(x=W, y=H))
    frames = []
    with pf.math.precision(64):
        nozzle = np.zeros((W, H))
        nozzle[:, : config.nozzle_length] = 1.0

        def staggered(u_col: np.ndarray, v_col: np.ndarray):
            vals = np.stack([u_col[:, None] * nozzle, v_col[:, None] * nozzle], axis=-1)
            grid = pf.CenteredGrid(pf.math.tensor(vals, pf.spatial("x,y"), pf.channel(vector="x,y")),
                                   pf.ZERO_GRADIENT, **dom)
            return pf.StaggeredGrid(grid, pf.ZERO_GRADIENT, **dom)

        zero = np.zeros(W)
        keep = 1.0 - staggered(np.ones(W), np.ones(W))  # 0 inside the nozzle strip
        f_base = staggered(zero, base)
        f_mod = staggered(zero, modulated)
        f_flap = staggered(flap_shape, zero)
        velocity = pf.StaggeredGrid(0, pf.ZERO_GRADIENT, **dom)
        pressure = None
        for t in tqdm(range(steps), desc="jet (synthetic)", disable=not progress, leave=False):
            velocity = pf.advect.semi_lagrangian(velocity, velocity, dt=1.0)
            velocity = velocity * keep + f_base + float(mod[t]) * f_mod + float(flap[t]) * f_flap
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Rank deficiency", category=RuntimeWarning)
                velocity, pressure = _project(pf, velocity, pressure, config.tol, config.tol, 10 * W * H)
            if t >= config.warmup:
                c = velocity.at_centers().values.numpy("vector,y,x")
                frames.append(np.asarray(c, dtype=np.float32).reshape(2, H, W))
    return np.stack(frames)  # (T, 2, H, W)


def generate_jet(config: JetConfig, progress: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Simulate the SYNTHETIC jet and cut it into PIV-like windows (for the cache).

    Returns ``({"fields": (24, T, 2, 62, 23) float32}, meta)`` where simulation ``i`` of ``fields`` is
    window ``i`` of :func:`jet_stations`. ``meta`` holds ``synthetic=True``, ``note``, ``stations``,
    ``reflection_pairs`` (left/right windows at the same axial station) and ``reflection_error``
    (mean absolute difference between each left window and its reflected right partner, before
    noise; grows with ``asymmetry``).
    """
    full = torch.from_numpy(_simulate_jet(config, progress))
    stations = jet_stations(config)
    wh, ww = config.window_shape
    wins = torch.stack([full[:, :, s["row0"]:s["row0"] + wh, s["col0"]:s["col0"] + ww] for s in stations])
    pairs = []
    errs = []
    for a in range(config.num_axial):
        left = next(i for i, s in enumerate(stations) if s["axial"] == a and s["side"] == -1)
        right = next(i for i, s in enumerate(stations) if s["axial"] == a and s["side"] == 1)
        pairs.append((left, right))
        mirrored = wins[right].flip(-1) * torch.tensor([-1.0, 1.0])[:, None, None]
        errs.append(float((mirrored - wins[left]).abs().mean()))
    g = torch.Generator().manual_seed(int(config.seed) + 1)
    noisy = wins + config.noise * config.jet_velocity * torch.randn(wins.shape, generator=g)
    meta = {"synthetic": True, "stand_in": True, "note": JET_NOTE, "field_type": "vector",
            "channels": ["u", "v"],
            "stations": stations, "reflection_pairs": pairs, "reflection_error": float(np.mean(errs)),
            "group": "reflection", "group_elements": [(0, int(s["side"] == 1)) for s in stations],
            "asymmetry": config.asymmetry, "clean_velocity_rms": float(wins.pow(2).mean().sqrt())}
    return {"fields": noisy.float()}, meta


# --------------------------------------------------------------------------------------------
# Real PIV windows
# --------------------------------------------------------------------------------------------
def _piv_record(path: Path, key: str | None):
    """One PIV file as a :class:`~aeqkit.data.ingest.FlowRecord` (missing vectors marked invalid)."""
    from aeqkit.data.ingest import find_velocity, from_arrays, from_xarray, match_dims

    ext = path.suffix.lower()
    if ext in (".nc", ".cdf", ".netcdf"):
        import xarray as xr

        try:
            with xr.open_dataset(path, mask_and_scale=True, decode_times=False) as ds:
                ds = ds.load()
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable netCDF 3 / 4 file ({err})") from err
        name = key or "velocity"
        if name in ds.data_vars:
            da = ds[name]
            comp = [d for d in da.dims if da.sizes[d] == 2 and str(d).lower() in
                    ("component", "components", "comp", "vector", "c", "channel", "channels", "uv")]
            if len(comp) != 1:
                raise ValueError(f"{path}: variable {name!r} has dimensions {da.dims}; expected a component "
                                 "dimension of size 2 named 'component' (or 'vector', 'channel') besides "
                                 "time, y and x")
            attrs = dict(da.attrs)
            u_da = da.isel({comp[0]: 0}, drop=True).rename("u")
            v_da = da.isel({comp[0]: 1}, drop=True).rename("v")
            sub = xr.Dataset({"u": u_da, "v": v_da})
            sub["u"].attrs.update(attrs)
            sub["v"].attrs.update(attrs)
            sub["u"].encoding.update(da.encoding)
            sub["v"].encoding.update(da.encoding)
            return from_xarray(sub, "u", "v", source=str(path))
        try:
            un, vn = find_velocity(ds) if key is None else (None, None)
        except ValueError as err:
            raise ValueError(f"{path}: expected a variable {name!r} (time, component, y, x) or variables 'u' "
                             f"and 'v' (time, y, x); found {list(ds.data_vars)}") from err
        if un is None:
            raise ValueError(f"{path}: expected a variable {name!r} (time, component, y, x); found "
                             f"{list(ds.data_vars)}")
        roles = match_dims(ds, un)
        if "time" not in roles:
            raise ValueError(f"{path}: {un!r} has no time dimension (dimensions {ds[un].dims})")
        return from_xarray(ds, un, vn, source=str(path))
    arr = _read_array(path, key)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{path}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 4:
        raise ValueError(f"{path}: expected an array of rank 4 with shape (T, 2, H, W), got rank {arr.ndim} "
                         f"with shape {arr.shape}")
    if arr.shape[1] != 2:
        raise ValueError(f"{path}: expected 2 velocity channels (u, v) on axis 1 of (T, 2, H, W), got "
                         f"{arr.shape[1]} (shape {arr.shape})")
    if np.isinf(arr).any() or np.isnan(arr).all():
        bad = ~np.isfinite(arr)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{path}: contains {int(bad.sum())} NaN or inf values (first at {first}); expected "
                         "finite velocities (NaN may mark some missing vectors, inf never)")
    try:
        rec = from_arrays(arr[:, 0], arr[:, 1], dims=("time", "y", "x"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    rec.source = str(path)
    return rec


def _read_array(path: Path, key: str | None) -> np.ndarray:
    ext = path.suffix.lower()
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            name = key or ("velocity" if "velocity" in names else (names[0] if len(names) == 1 else None))
            if name is None or name not in names:
                raise ValueError(f"{path}: expected an array named {key or 'velocity'!r} (or a single "
                                 f"array); found {names}")
            return np.asarray(z[name])
    if ext in (".pt", ".pth"):
        obj = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(obj, dict):
            name = key or "velocity"
            if name not in obj:
                raise ValueError(f"{path}: expected a tensor or a dict with key {name!r}; found keys "
                                 f"{sorted(map(str, obj))}")
            obj = obj[name]
        if not isinstance(obj, torch.Tensor):
            raise ValueError(f"{path}: expected a tensor of shape (T, 2, H, W), got {type(obj).__name__}")
        return obj.detach().cpu().numpy()
    raise ValueError(f"{path}: unknown extension {ext!r}; accepted: {', '.join(PIV_EXTENSIONS)}")


def _check_piv_shape(path: Path, fields: torch.Tensor) -> None:
    S, T, _, H, W = fields.shape
    if S != 1:
        raise ValueError(f"{path}: one PIV window per file expected, got {S} samples / levels; select one "
                         "with aeqkit.data.open_flow(path, level=...)")
    if T < 2 or H < 2 or W < 2:
        raise ValueError(f"{path}: expected at least 2 frames and a 2 x 2 grid, got shape {(T, 2, H, W)}")



def _checked_piv_record(path: Path, key: str | None):
    """One PIV file read and checked: known extension, exists, shape ``(T, 2, H, W)``."""
    if path.suffix.lower() not in PIV_EXTENSIONS:
        raise ValueError(f"{path}: unknown extension {path.suffix!r}; accepted: {', '.join(PIV_EXTENSIONS)}")
    if not path.exists():
        raise FileNotFoundError(f"PIV file {path} does not exist")
    rec = _piv_record(path, key)
    _check_piv_shape(path, rec.fields)
    return rec

def load_piv(path: str | os.PathLike, key: str | None = None) -> torch.Tensor:
    """Load one real PIV window of velocity fields (format: see the module docstring).

    netCDF files are read with xarray and CF decoding (``scale_factor`` / ``add_offset`` applied,
    ``_FillValue`` / ``missing_value`` recognised), dimensions matched by name (``(time, y, x)`` in
    any storage order; a descending ``y`` coordinate is flipped so rows go up); values are checked
    after decoding and after the float32 cast.

    Args:
        path: a ``.npz``, ``.pt``/``.pth`` or netCDF 3 / 4 (``.nc``, ``.cdf``, ``.netcdf``) file.
        key: variable name (default ``"velocity"``; netCDF also accepts ``u`` + ``v`` and the other
            names of :data:`aeqkit.data.ingest.U_NAMES`).

    Shape: returns ``(T, 2, H, W)`` float32, channels ``(u, v)``, row axis y up.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: unknown extension, missing variable, unrecognised dimensions, wrong rank or channel
            count, non-numeric data, missing vectors (NaN / fill values: use :func:`piv_dataset` or
            :func:`aeqkit.data.open_flow`, which mask them), inf, float32 overflow, or fewer than 2 frames.
    """
    path = Path(path)
    rec = _checked_piv_record(path, key)
    bad = ~rec.valid[0]
    if bool(bad.any()):
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"{path}: contains {int(bad.sum())} missing vectors (NaN or inf / fill values; "
                         f"first at (frame, row, col) = {first}); expected complete fields. piv_dataset() "
                         "and aeqkit.data.open_flow() load them with a validity mask")
    return rec.fields[0].contiguous()


def piv_dataset(paths: Sequence[str | os.PathLike], key: str | None = None, *, input_length: int = 10,
                target_length: int = 5, eval_steps: int = 20, future_fraction: float = 0.25,
                valid_fraction: float = 0.1, test_domain_fraction: float = 0.2, seed: int = 0,
                test_domain_sims: Sequence[int] | None = None, gap: int = 0):
    """Real PIV windows (one file per window/region) as a :class:`~aeqkit.data.ForecastData`.

    All files must share ``(T, 2, H, W)`` and their frames are taken as simultaneous. The split is
    leak-free (:func:`aeqkit.data.records.split_record`):

    * regions: with two or more files, a seeded ``test_domain_fraction`` of them (at least one) is held
      out whole as ``"test_domain"`` (the paper's 80/20); with one file there is no test-domain split
      (``data.splits["test_domain"]`` raises a ``KeyError`` saying so, ``meta["test_domain_sims"]`` is
      empty) and only the time blocks below are made;
    * time: test-future targets are the last ``future_fraction`` of the frames (their inputs reach
      back ``input_length`` frames), validation is a contiguous block just before (``valid_fraction`` of
      the frames, at least one window), training is everything earlier; no window shares a frame with
      a window of another split.

    Missing vectors (NaN, ``_FillValue``) become invalid cells of the mask ``meta["mask"]`` (cells
    valid in every frame of every file); fields are divided by one vector scale fitted on the
    training frames of the training regions (``meta["scale"]``). Nothing is cached.
    """
    from aeqkit.data.records import split_record, stack_records

    if not paths:
        raise ValueError("paths must name at least one PIV file")
    check_window_lengths(input_length=input_length, target_length=target_length, eval_steps=eval_steps)
    check_split_fractions(future_fraction, test_domain_fraction, valid_fraction)
    records = []
    for p in paths:
        p = Path(p)
        rec = _checked_piv_record(p, key)
        records.append(rec)
    shapes = {tuple(r.fields.shape[1:]) for r in records}
    if len(shapes) != 1:
        raise ValueError(f"all PIV windows must have the same shape (T, 2, H, W); got {sorted(shapes)}")
    for r in records:  # frames are simultaneous across files: compare shapes only
        r.times = None
    rec = stack_records(records, names=[str(p) for p in paths])
    S, T = rec.fields.shape[:2]
    if not bool(rec.mask.any()):
        raise ValueError("no cell is valid in every frame of every PIV file; nothing to train on")
    L, K, E = input_length, target_length, eval_steps
    future_start = future_cut(T, future_fraction, E)
    if future_start - L < 0:
        raise ValueError(f"input_length + eval_steps = {L + E} frames do not fit in {T} frames")
    test_block = (future_start - L, T)
    n_valid = max(int(round(valid_fraction * T)), L + K) if valid_fraction > 0 else 0
    valid_block = (test_block[0] - gap - n_valid, test_block[0] - gap) if n_valid else None
    if valid_block is not None and valid_block[0] - gap < L + K:
        raise ValueError(
            f"{T} frames are too few for leak-free time blocks: a training block of {L + K} frames, a "
            f"validation block of {n_valid} and a test-future block of {T - test_block[0]} "
            f"(input_length={L}, target_length={K}, eval_steps={E}, gap={gap}); use longer records or "
            "shorter windows")
    if test_domain_sims is not None:
        held = sorted(int(s) for s in test_domain_sims)
    elif S >= 2 and test_domain_fraction > 0:
        n_test = min(max(int(round(test_domain_fraction * S)), 1), S - 1)
        g = torch.Generator().manual_seed(int(seed))
        held = sorted(torch.randperm(S, generator=g)[:n_test].tolist())
    else:
        held = []
    data = split_record(rec, input_length=L, target_length=K, eval_steps=E, valid=valid_block,
                        test=test_block, gap=gap, test_domains=held or None, domain_frames="all", name="piv")
    data.meta.update(paths=[str(p) for p in paths], future_start=future_start)
    if not held:
        data.meta["test_domain_note"] = (
            "one PIV file: no region can be held out, so there is no test-domain split" if S == 1
            else "test_domain_fraction=0: no test-domain split")
    return data
