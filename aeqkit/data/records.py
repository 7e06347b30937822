"""One continuous record as a forecasting data set: time-block splits, climatology, windows, regridding.

:func:`split_record` turns a :class:`~aeqkit.data.ingest.FlowRecord` into a
:class:`~aeqkit.data.ForecastData` without leakage:

* the time axis is cut into contiguous blocks, ``train | valid | test`` (by fraction, frame index
  or date); every window (its input *and* target frames) lies inside one block, so no frame is
  shared by windows of two splits, and an optional ``gap`` drops extra frames between blocks
  (against autocorrelation). A window spans ``input_length + target_length`` frames, so two windows
  from different splits are always at least one window length apart in their starts;
* regions (or PIV windows) on the sample axis can be held out as "domains" (``test_domains``);
* the vector normaliser (:class:`~aeqkit.data.ingest.VectorNormalizer`: one scale for (u, v)) is
  fitted on the training block of the training samples only and stored in ``meta``.

Also here: :func:`climatology_forecast` (the seasonal-mean forecaster for records with a period,
scored like :func:`aeqkit.train.evaluate`), :func:`largest_valid_window` (largest all-valid rectangle
or square of a mask), :func:`crop`, :func:`stack_records` (regions as samples) and
:func:`regrid_isotropic` (a lat-lon box to a grid with equal kilometre spacing in x and y).
See also: notebook 06 (real winds).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aeqkit.data.ingest import EARTH_RADIUS_KM, FlowRecord, VectorNormalizer

__all__ = [
    "Splits",
    "time_blocks",
    "split_record",
    "climatology_forecast",
    "largest_valid_window",
    "crop",
    "stack_records",
    "regrid_isotropic",
    "NAVY_WINDS",
    "navy_winds_path",
]

#: Debian's ``ferret-datasets`` file: FNOC monthly surface winds 1982-1992, 73 x 144 (notebook 06).
NAVY_WINDS = "/usr/share/ferret-vis/data/monthly_navy_winds.cdf"
NAVY_WINDS_INSTALL = "apt-get install -y --no-install-recommends ferret-datasets (or tools/install_data.sh)"


def navy_winds_path() -> Path | None:
    """The Navy winds file (``$AEQKIT_NAVY_WINDS`` or :data:`NAVY_WINDS`), or None when it is missing."""
    path = Path(os.environ.get("AEQKIT_NAVY_WINDS", NAVY_WINDS))
    return path if path.is_file() else None


class Splits(dict):
    """``{split name: WindowDataset}``; a missing split raises a ``KeyError`` that says why it is absent."""

    def __init__(self, *args: Any, missing: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.missing = dict(missing or {})

    def __missing__(self, key: str):
        why = self.missing.get(key)
        if why is None:
            raise KeyError(f"no split {key!r}; available: {list(self)}")
        raise KeyError(f"no split {key!r}: {why}")


def _frame_index(record: FlowRecord, value: Any, side: str) -> int:
    """A frame index from an int or a date (``side="left"`` for a start, ``"right"`` for an inclusive end)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if record.times is None:
        raise ValueError(f"date {value!r} given but the record has no time stamps; use frame indices")
    t = np.asarray(record.times)
    try:
        if np.issubdtype(t.dtype, np.datetime64):
            v = np.datetime64(value)
            if side == "right":  # an inclusive end covers its whole unit: "1992-12" is all of December
                v = v + np.timedelta64(1, np.datetime_data(v.dtype)[0])
                side = "left"
            v = v.astype(t.dtype)
        else:
            v = np.asarray(value, dtype=t.dtype)
    except (ValueError, TypeError) as err:
        raise ValueError(f"cannot read {value!r} as a time stamp of dtype {t.dtype}") from err
    return int(np.searchsorted(t, v, side=side))


def _block(record: FlowRecord, spec: Any, name: str) -> tuple[int, int] | float | None:
    T = record.fields.shape[1]
    if spec is None:
        return None
    if isinstance(spec, float):
        if not 0 < spec < 1:
            raise ValueError(f"{name} as a fraction must lie in (0, 1), got {spec}")
        return spec
    if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
        a = _frame_index(record, spec[0], "left")
        b = (_frame_index(record, spec[1], "right") if not isinstance(spec[1], int | np.integer)
             else int(spec[1]))
        if not 0 <= a < b <= T:
            raise ValueError(f"{name}={tuple(spec)} selects frames [{a}, {b}) of a record of {T} frames; "
                             "expected 0 <= start < stop <= T (ints: stop exclusive; dates: inclusive)")
        return (a, b)
    raise ValueError(f"{name} must be a fraction in (0, 1), a (start, stop) pair of frame indices or dates, "
                     f"or None; got {spec!r}")


def time_blocks(record: FlowRecord, valid: Any = 0.15, test: Any = 0.2,
                gap: int = 0) -> dict[str, list[tuple[int, int]]]:
    """Contiguous frame blocks ``{"train": [(a, b), ...], "valid": [(a, b)], "test": [(a, b)]}``.

    Fractions put ``test`` at the end and ``valid`` just before it; explicit ``(start, stop)`` blocks
    (indices or dates) may sit anywhere, and train is every frame outside them (one or two blocks).
    ``gap`` frames are dropped on each side between neighbouring blocks.
    """
    if not (isinstance(gap, int) and gap >= 0):
        raise ValueError(f"gap must be an int >= 0 (frames dropped between blocks), got {gap!r}")
    T = record.fields.shape[1]
    vb, tb = _block(record, valid, "valid"), _block(record, test, "test")
    end = T
    blocks: dict[str, list[tuple[int, int]]] = {}
    if isinstance(tb, float):
        n = max(1, int(round(tb * T)))
        tb = (T - n, T)
    if tb is not None:
        blocks["test"] = [tb]
        end = tb[0]
    if isinstance(vb, float):
        n = max(1, int(round(vb * T)))
        stop = end - gap if tb is not None else T
        vb = (stop - n, stop)
        if vb[0] < 0:
            raise ValueError(f"valid={valid} and test={test} leave no frames for training in {T} frames")
    if vb is not None:
        blocks["valid"] = [vb]
    held = sorted(b for k in ("valid", "test") for b in blocks.get(k, []))
    for (_, b0), (a1, _) in zip(held, held[1:]):
        if a1 < b0 + gap:
            raise ValueError(f"valid and test blocks {held} overlap or are closer than gap={gap} frames")
    train, start = [], 0
    for a, b in held:
        if a - gap > start:
            train.append((start, a - gap))
        start = max(start, b + gap)
    if start < T:
        train.append((start, T))
    blocks["train"] = train
    return blocks


def _windows(blocks: list[tuple[int, int]], samples: Sequence[int], length: int,
             stride: int) -> list[tuple[int, int]]:
    return [(s, t) for s in samples for a, b in blocks for t in range(a, b - length + 1, stride)]


def split_record(
    record: FlowRecord,
    *,
    input_length: int = 10,
    target_length: int = 3,
    eval_steps: int = 3,
    valid: Any = 0.15,
    test: Any = 0.2,
    gap: int = 0,
    stride: int = 1,
    test_domains: Sequence[int] | None = None,
    domain_frames: str = "test",
    normalize: bool = True,
    per_sample_scale: bool = False,
    name: str = "flow",
):
    """Train / valid / test-future (/ test-domain) windows of one continuous record, normalised.

    Args:
        record: the data (:func:`~aeqkit.data.open_flow` and friends).
        input_length: input frames per window (paper: 10).
        target_length: target frames of train and valid windows (multi-step loss).
        eval_steps: target frames of test windows.
        valid, test: each a fraction of the frames (test at the end, valid before it), a
            ``(start, stop)`` pair of frame indices (stop exclusive) or of dates (inclusive), or None.
        gap: extra frames dropped between blocks (windows never cross a block boundary anyway).
        stride: frames between consecutive window starts.
        test_domains: sample indices (regions) held out entirely as ``"test_domain"``.
        domain_frames: frames of the held-out samples used for ``"test_domain"`` windows: ``"test"``
            (the test block only: unseen place *and* time, the default) or ``"all"`` (whole record,
            as the paper does for separate experiments).
        normalize: divide by one vector scale fitted on the training block of the training samples.
        per_sample_scale: one scale per sample (levels of different magnitude) instead of one.
        name: the data set name.

    Returns:
        :class:`~aeqkit.data.ForecastData` with normalised ``fields (S, T, 2, H, W)``, splits
        ``"train"``, ``"valid"``, ``"test_future"`` and, with ``test_domains``, ``"test_domain"``
        (each a :class:`~aeqkit.data.WindowDataset` carrying the record's ``(H, W)`` mask), and
        ``meta`` with ``normalizer`` (a :class:`~aeqkit.data.ingest.VectorNormalizer`: ``denormalize``
        maps predictions back to m/s), ``scale`` (m/s per model unit), ``blocks``, ``times``,
        ``period``, ``phase``, ``mask``, ``notes``. A missing split raises a ``KeyError`` that says why.

    Raises:
        ValueError: a block too short for one window, overlapping blocks, bad indices or options.
    """
    from aeqkit.data.windows import ForecastData, WindowDataset

    for label, val in (("input_length", input_length), ("target_length", target_length),
                       ("eval_steps", eval_steps), ("stride", stride)):
        if not (isinstance(val, int) and not isinstance(val, bool) and val >= 1):
            raise ValueError(f"{label} must be an int >= 1, got {val!r}")
    if domain_frames not in ("test", "all"):
        raise ValueError(f"domain_frames must be 'test' or 'all', got {domain_frames!r}")
    S, T = record.fields.shape[:2]
    blocks = time_blocks(record, valid, test, gap)
    held: list[int] = []
    if test_domains is not None:
        held = sorted({int(s) for s in test_domains})
        if any(not 0 <= s < S for s in held) or len(held) >= S:
            raise ValueError(f"test_domains must be distinct sample indices in 0..{S - 1} leaving at least "
                             f"one training sample, got {list(test_domains)}")
    train_samples = [s for s in range(S) if s not in held]
    L, K, E = input_length, target_length, eval_steps
    need = {"train": L + K, "valid": L + K, "test": L + E}
    for key, blist in blocks.items():
        longest = max((b - a for a, b in blist), default=0)
        if longest < need[key]:
            raise ValueError(f"the {key} block(s) {blist} are too short for one window of {need[key]} frames "
                             f"(input_length={L} + {'eval_steps' if key == 'test' else 'target_length'}="
                             f"{need[key] - L}) in a record of {T} frames; use shorter windows, a larger "
                             f"{key} block or a longer record")
    train_frames = [t for a, b in blocks["train"] for t in range(a, b)]
    fields = record.fields
    normalizer = None
    if normalize:
        if per_sample_scale:  # every sample (held-out ones too) scaled by its own training block
            normalizer = VectorNormalizer.fit(fields, record.valid, frames=train_frames, per_sample=True,
                                              units=record.units)
        else:
            normalizer = VectorNormalizer.fit(fields[train_samples], record.valid[train_samples],
                                              frames=train_frames, units=record.units)
        fields = normalizer.normalize(fields.double(), sample_dim=0).float()
    mask = record.mask.clone()
    mask_arg = None if bool(mask.all()) else mask
    splits = Splits(missing={} if held else {"test_domain": "no held-out region: the record has "
                                             f"{S} sample(s) and test_domains was not given"})
    splits["train"] = WindowDataset(fields, _windows(blocks["train"], train_samples, L + K, stride), L, K,
                                    "train", mask=mask_arg)
    if "valid" in blocks:
        splits["valid"] = WindowDataset(fields, _windows(blocks["valid"], train_samples, L + K, stride), L, K,
                                        "valid", mask=mask_arg)
    else:
        splits.missing["valid"] = "valid=None was given"
    if "test" in blocks:
        splits["test_future"] = WindowDataset(fields, _windows(blocks["test"], train_samples, L + E, stride),
                                              L, E, "test_future", mask=mask_arg)
    else:
        splits.missing["test_future"] = "test=None was given"
    if held:
        dblocks = blocks.get("test", [(0, T)]) if domain_frames == "test" else [(0, T)]
        splits["test_domain"] = WindowDataset(fields, _windows(dblocks, held, L + E, stride), L, E,
                                              "test_domain", mask=mask_arg)
    meta = {
        "synthetic": False, "field_type": "vector", "channels": ["u", "v"], "units": record.units,
        "normalizer": normalizer,
        "scale": float(normalizer.scale[0]) if normalizer is not None and normalizer.scale.numel() == 1 else
        (normalizer.scale.tolist() if normalizer is not None else 1.0),
        "blocks": blocks, "gap": gap, "times": record.times, "period": record.period, "phase": record.phase,
        "time_step": record.time_step, "mask": mask, "notes": list(record.notes), "source": record.source,
        "train_sims": train_samples, "test_domain_sims": held, "input_length": L, "target_length": K,
        "eval_steps": E, "future_start": blocks["test"][0][0] if "test" in blocks else T,
        "domain_frames": domain_frames, "anisotropy": record.anisotropy(),
    }
    if abs(meta["anisotropy"] - 1.0) > 0.02:
        meta["notes"].append(f"grid cells are anisotropic (dx/dy = {meta['anisotropy']:.3f}): a 90° turn of "
                             "the array is not a physical rotation; use regrid_isotropic() before rotation "
                             "models")
    return ForecastData(name=name, fields=fields, splits=splits, meta=meta, config=None)


def climatology_forecast(data, split: str = "test_future", steps: int | None = None) -> dict[str, Any]:
    """Score the seasonal climatology as a forecaster, with :func:`aeqkit.train.evaluate`'s RMSE.

    The forecast for a frame is the mean over the training block of the frames with the same
    ``phase`` (calendar month for monthly data), per sample and cell. Records without a period get
    the training-block mean field. RMSE is over samples, steps, channels and valid cells, in model
    units (multiply by ``data.meta["scale"]`` for m/s).

    Args:
        data: a :class:`~aeqkit.data.ForecastData` from :func:`split_record`.
        split: which split to score.
        steps: forecast horizon (default: the split's target length).

    Returns:
        ``{"rmse", "per_step", "steps", "num_samples", "rmse_physical"}``.
    """
    ds = data.splits[split]
    steps = ds.target_length if steps is None else int(steps)
    if not 1 <= steps <= ds.target_length:
        raise ValueError(f"steps must be in 1..{ds.target_length} for split {split!r}, got {steps}")
    fields = data.fields.double()
    S, T = fields.shape[:2]
    period = data.meta.get("period")
    phase = data.meta.get("phase")
    if period is None or phase is None:
        period, phase = 1, np.zeros(T, dtype=np.int64)
    phase = torch.as_tensor(np.asarray(phase), dtype=torch.long)
    train = torch.tensor([t for a, b in data.meta["blocks"]["train"] for t in range(a, b)], dtype=torch.long)
    clim = torch.zeros(period, S, *fields.shape[2:], dtype=torch.float64)
    for p in range(period):
        sel = train[phase[train] == p]
        if sel.numel() == 0:
            raise ValueError(f"the training block has no frame of phase {p} (of {period}); it is too short "
                             "for a climatology")
        clim[p] = fields[:, sel].mean(dim=1)
    mask = ds.mask
    n_map = int(mask.sum()) if mask is not None else fields.shape[-1] * fields.shape[-2]
    sq = torch.zeros(steps, dtype=torch.float64)
    L = ds.input_length
    for s, t in ds.index:
        frames = torch.arange(t + L, t + L + steps)
        pred = clim[phase[frames], s]
        diff = pred - fields[s, frames]
        if mask is not None:
            diff = torch.where(mask, diff, 0.0)
        sq += diff.pow(2).sum(dim=(1, 2, 3))
    n = len(ds.index) * 2 * n_map
    if n == 0:
        raise ValueError(f"split {split!r} is empty")
    per_step = (sq / n).sqrt()
    rmse = math.sqrt(float(sq.sum()) / (n * steps))
    scale = data.meta.get("scale", 1.0)
    return {"rmse": rmse, "per_step": per_step.tolist(), "steps": steps, "num_samples": len(ds.index),
            "rmse_physical": rmse * scale if isinstance(scale, float) else None}


def largest_valid_window(mask: Any, square: bool = False) -> tuple[int, int, int, int]:
    """The largest all-valid axis-aligned rectangle (or square) of a mask, as ``(row0, row1, col0, col1)``.

    Rows ``row0:row1`` and columns ``col0:col1`` (stop exclusive) select it. Ties go to the lowest,
    then leftmost window. O(H W) (largest rectangle in a histogram, row by row).

    Shape: ``mask: (H, W)`` bool (True = valid).
    """
    m = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {m.shape}")
    if not m.any():
        raise ValueError("mask has no valid cell")
    H, W = m.shape
    heights = np.zeros(W, dtype=np.int64)
    best = (0, (0, 0, 0, 0))
    for r in range(H):
        heights = np.where(m[r], heights + 1, 0)
        stack: list[int] = []
        for c in range(W + 1):
            h = int(heights[c]) if c < W else 0
            while stack and int(heights[stack[-1]]) >= h:
                top = stack.pop()
                ht = int(heights[top])
                left = stack[-1] + 1 if stack else 0
                width = c - left
                if square:
                    side = min(ht, width)
                    area, win = side * side, (r + 1 - side, r + 1, left, left + side)
                else:
                    area, win = ht * width, (r + 1 - ht, r + 1, left, c)
                if area > best[0]:
                    best = (area, win)
            stack.append(c)
    return best[1]


def crop(record: FlowRecord, rows: tuple[int, int], cols: tuple[int, int]) -> FlowRecord:
    """``record`` restricted to rows ``rows[0]:rows[1]`` and columns ``cols[0]:cols[1]`` (y up, x right)."""
    H, W = record.fields.shape[-2:]
    r0, r1 = (int(v) for v in rows)
    c0, c1 = (int(v) for v in cols)
    if not (0 <= r0 < r1 <= H and 0 <= c0 < c1 <= W):
        raise ValueError(f"rows={rows}, cols={cols} must satisfy 0 <= start < stop <= (H, W) = ({H}, {W})")
    valid = record.valid[..., r0:r1, c0:c1].clone()
    return dataclasses.replace(
        record, fields=record.fields[..., r0:r1, c0:c1].clone(), valid=valid, mask=valid.all(dim=(0, 1)),
        y=record.y[r0:r1].copy(), x=record.x[c0:c1].copy(), periodic_x=record.periodic_x and c1 - c0 == W,
        notes=record.notes + [f"cropped to rows {r0}:{r1}, columns {c0}:{c1}"])


def stack_records(records: Sequence[FlowRecord], names: Sequence[str] | None = None) -> FlowRecord:
    """Several regions (same grid size and time axis) as the sample axis of one record (S = regions)."""
    if not records:
        raise ValueError("records must hold at least one FlowRecord")
    shapes = {tuple(r.fields.shape[1:]) for r in records}
    if len(shapes) != 1:
        raise ValueError(f"records must share (T, 2, H, W); got {sorted(shapes)} (crop or regrid them first)")
    t0 = records[0].times
    for r in records[1:]:
        if (t0 is None) != (r.times is None) or (t0 is not None and not np.array_equal(t0, r.times)):
            raise ValueError("records must share one time axis to be stacked")
    first = records[0]
    valid = torch.cat([r.valid for r in records])
    labels = np.asarray(list(names) if names is not None else [str(i) for i in range(len(records))])
    return dataclasses.replace(
        first, fields=torch.cat([r.fields for r in records]), valid=valid, mask=valid.all(dim=(0, 1)),
        samples=labels, periodic_x=False,
        notes=first.notes + [f"stacked {len(records)} regions as samples"],
        source=[r.source for r in records])


def regrid_isotropic(record: FlowRecord, spacing_km: float | None = None,
                     size: int | tuple[int, int] | None = None, method: str = "linear") -> FlowRecord:
    """Interpolate a lat-lon box to a grid with equal kilometre spacing in x and y.

    The target grid is a local equirectangular projection centred on the box: ``x = R cos(lat0)
    (lon - lon0)``, ``y = R (lat - lat0)`` (km, ``R`` = 6371 km), so a 90° turn of the array is a
    physical rotation near ``lat0``; away from it the true east-west spacing differs by
    ``cos(lat) / cos(lat0)`` (the returned notes give the range over the box). The velocity
    components stay eastward / northward (the frame of the projection). Cells whose interpolation
    touches an invalid source cell are invalid.

    Args:
        record: a lat-lon record (``coord_units`` degrees_north / degrees_east).
        spacing_km: target spacing (default: the coarser of the box's y and x spacings at ``lat0``).
        size: ``n`` or ``(H, W)`` cells (default: as many as fit in the box); centred in the box.
        method: ``"linear"`` or ``"nearest"`` (``scipy.interpolate.RegularGridInterpolator``).

    Returns:
        A :class:`FlowRecord` whose ``y``, ``x`` are km from the box centre (``coord_units`` "km").
    """
    from scipy.interpolate import RegularGridInterpolator

    if not record.is_latlon:
        raise ValueError("regrid_isotropic needs a lat-lon record (coordinate units degrees_north / "
                         "degrees_east)")
    if method not in ("linear", "nearest"):
        raise ValueError(f"method must be 'linear' or 'nearest', got {method!r}")
    lat, lon = np.asarray(record.y), np.asarray(record.x)
    lat0, lon0 = 0.5 * (lat[0] + lat[-1]), 0.5 * (lon[0] + lon[-1])
    k = math.pi / 180 * EARTH_RADIUS_KM
    coslat0 = math.cos(math.radians(lat0))
    ykm = (lat - lat0) * k
    xkm = (lon - lon0) * k * coslat0
    dy, dx = record.spacing_km()
    step = float(spacing_km) if spacing_km is not None else max(dy, dx)
    if not step > 0:
        raise ValueError(f"spacing_km must be > 0, got {spacing_km}")
    nmax = (int(math.floor((ykm[-1] - ykm[0]) / step + 1e-9)) + 1,
            int(math.floor((xkm[-1] - xkm[0]) / step + 1e-9)) + 1)
    if size is None:
        H, W = nmax
    else:
        H, W = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if H > nmax[0] or W > nmax[1] or H < 2 or W < 2:
            raise ValueError(f"size={size} does not fit in the box: at {step:.1f} km at most {nmax} cells")
    ty = (np.arange(H) - (H - 1) / 2) * step
    tx = (np.arange(W) - (W - 1) / 2) * step
    gy, gx = np.meshgrid(ty, tx, indexing="ij")
    pts = np.stack([gy.ravel(), gx.ravel()], axis=-1)
    S, T = record.fields.shape[:2]
    src = record.fields.double().numpy().reshape(S * T * 2, len(lat), len(lon))
    out = np.empty((S * T * 2, H * W))
    for i in range(src.shape[0]):
        out[i] = RegularGridInterpolator((ykm, xkm), src[i], method=method)(pts)
    valid_src = record.valid.double().numpy().reshape(S * T, len(lat), len(lon))
    vout = np.empty((S * T, H * W))
    for i in range(valid_src.shape[0]):
        vout[i] = RegularGridInterpolator((ykm, xkm), valid_src[i], method="linear")(pts)
    valid = torch.from_numpy(vout.reshape(S, T, H, W) > 1 - 1e-9)
    fields = torch.from_numpy(out.reshape(S, T, 2, H, W)).float() * valid[:, :, None]
    lats = lat0 + ty / k
    ratio = np.cos(np.radians(lats)) / coslat0
    note = (f"regridded to an isotropic {H} x {W} grid of {step:.1f} km (local equirectangular projection at "
            f"lat {lat0:.2f}, lon {lon0:.2f}; true east-west spacing varies by "
            f"x{ratio.min():.3f}..x{ratio.max():.3f} "
            f"over the box; source spacing dy {dy:.1f} km, dx {dx:.1f} km)")
    return dataclasses.replace(record, fields=fields, valid=valid, mask=valid.all(dim=(0, 1)), y=ty, x=tx,
                               coord_units={"y": "km", "x": "km", "lat0": f"{lat0:g}", "lon0": f"{lon0:g}"},
                               periodic_x=False, notes=record.notes + [note])
