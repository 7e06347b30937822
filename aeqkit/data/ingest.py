"""Bring your own flow data: velocity fields from arrays, xarray data sets or netCDF files.

Three entry points return one :class:`FlowRecord` (fields ``(S, T, 2, H, W)`` in physical units, a
validity mask, coordinates, time stamps and notes on what was changed):

* :func:`from_arrays` (numpy / torch arrays ``u``, ``v`` with named axes),
* :func:`from_xarray` (an ``xarray.Dataset``),
* :func:`open_flow` (one or several netCDF 3 / 4 files, e.g. one file per component).

What they do, so that no file loads silently wrong:

* **CF decoding** through xarray: ``scale_factor`` / ``add_offset`` applied, ``_FillValue`` /
  ``missing_value`` and values outside ``valid_min`` / ``valid_max`` / ``valid_range`` become
  invalid (masked) cells, as do netCDF's default fill values when a variable has no fill attribute.
* **Variables by name or standard_name**: ``u``/``v``, ``uwnd``/``vwnd``, ``UWND``/``VWND``,
  ``u10``/``v10``, ``uo``/``vo``, ``water_u``/``water_v``, ``eastward_*``/``northward_*`` (any case),
  or given explicitly; separate files per component are merged.
* **Dimensions by name** (never by position): time (``time``, ``t``, ``date``, or a coordinate with
  ``axis="T"`` / CF time units), y (``lat``, ``latitude``, ``y``, ``rlat``, ``nav_lat``, or
  ``units="degrees_north"`` / ``axis="Y"``), x (``lon``, ``longitude``, ``x``, ``rlon``, or
  ``units="degrees_east"`` / ``axis="X"``), an optional level (``level``, ``lev``, ``plev``,
  ``depth``, ``z``, ``height``, ``axis="Z"``) and an optional sample axis (``sample``, ``region``,
  ``member``); length-1 extra dimensions are dropped, any other extra dimension is an error.
  Arrays come out as ``(S, T, 2, H, W)`` in DESIGN.md's orientation: rows are y pointing up.
* **y made ascending** (a north-to-south latitude axis is flipped, and a note says so); x ascending;
  a global longitude axis is marked periodic and a longitude range may cross the date line or the
  grid's seam (``x_range=(350, 10)``).
* **Uniform time steps** are checked (a monthly axis with 28-31 day months counts as uniform, with a
  seasonal ``period`` of 12 and each frame's calendar month as its ``phase``).
* **Values checked after decoding and after the float32 cast** (no silent overflow to inf).

Normalisation that keeps a vector field a vector field is :class:`VectorNormalizer` (one scale for
``(u, v)``, per sample/level if asked, no mean subtracted). Splits for one continuous record,
climatology, the largest valid window and regridding to a locally isotropic grid live in
:mod:`aeqkit.data.records`. See also: notebook 06 (real winds).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "FlowRecord",
    "VectorNormalizer",
    "from_arrays",
    "from_xarray",
    "open_flow",
    "find_velocity",
    "match_dims",
    "U_NAMES",
    "V_NAMES",
    "DIM_NAMES",
    "EARTH_RADIUS_KM",
]

#: Variable names (compared case-insensitively) and CF standard names accepted for the components.
U_NAMES = ("u", "uwnd", "u10", "uo", "uas", "ucur", "water_u", "u_wind", "uwind", "eastward_wind",
           "x_wind", "eastward_sea_water_velocity", "surface_eastward_sea_water_velocity",
           "eastward_velocity", "x_velocity")
V_NAMES = ("v", "vwnd", "v10", "vo", "vas", "vcur", "water_v", "v_wind", "vwind", "northward_wind",
           "y_wind", "northward_sea_water_velocity", "surface_northward_sea_water_velocity",
           "northward_velocity", "y_velocity")

#: Dimension names (case-insensitive) recognised for each role.
DIM_NAMES: dict[str, tuple[str, ...]] = {
    "time": ("time", "t", "date", "times", "valid_time", "time_counter"),
    "y": ("y", "lat", "latitude", "rlat", "nav_lat", "yc", "j", "rows", "ny"),
    "x": ("x", "lon", "longitude", "rlon", "nav_lon", "xc", "i", "cols", "nx"),
    "level": ("level", "lev", "plev", "pressure", "depth", "z", "height", "altitude", "isobaric", "sigma"),
    "sample": ("sample", "samples", "region", "regions", "member", "ensemble", "realization", "window"),
}
_UNITS_HINT = {"degrees_north": "y", "degree_north": "y", "degrees_n": "y", "degreen": "y",
               "degrees_east": "x", "degree_east": "x", "degrees_e": "x", "degreee": "x"}
_AXIS_HINT = {"T": "time", "Y": "y", "X": "x", "Z": "level"}
#: Mean Earth radius (km) used to turn degrees into kilometres.
EARTH_RADIUS_KM = 6371.0
#: netCDF's default fill values (used by the library when a variable has no ``_FillValue``).
_NC_DEFAULT_FILL = 9.969209968386869e36
_KNOWN_UNITS = {"m/s": 1.0, "m s-1": 1.0, "m s**-1": 1.0, "ms-1": 1.0, "meter/second": 1.0,
                "meters/second": 1.0, "m.s-1": 1.0, "cm/s": 0.01, "cm s-1": 0.01, "knots": 0.514444,
                "kt": 0.514444, "km/h": 1 / 3.6}


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
@dataclass
class VectorNormalizer:
    """One scale for both components of a vector field (per sample / level when ``scale`` has S entries).

    ``normalize(x) = x / scale``: a rotation commutes with a scalar multiple, so a model trained on
    normalised data is equivariant exactly when it is on physical data. A per-channel σ would stretch
    ``u`` and ``v`` differently (an anisotropic linear map, which does not commute with rotations) and
    subtracting a mean vector would break equivariance too (the mean does not rotate), so neither is
    done. ``scale`` is the RMS of one component over the valid cells of the frames it was fitted on:
    ``sqrt(mean((u² + v²) / 2))``.

    Attributes:
        scale: ``(S,)`` float64 tensor (``S = 1`` for one shared scale).
        units: physical units of the fields (``"m/s"``).
    """

    scale: torch.Tensor
    units: str = "m/s"

    def __post_init__(self) -> None:
        self.scale = torch.as_tensor(self.scale, dtype=torch.float64).reshape(-1)
        s = self.scale
        if s.numel() < 1 or not bool(torch.isfinite(s).all()) or bool((s <= 0).any()):
            raise ValueError(f"scale must hold finite positive numbers, got {self.scale.tolist()}")

    @classmethod
    def fit(cls, fields: torch.Tensor, valid: torch.Tensor | None = None, frames: Sequence[int] | None = None,
            per_sample: bool = False, units: str = "m/s") -> VectorNormalizer:
        """Fit the scale on ``fields[:, frames]`` (valid cells only).

        Shape: ``fields: (S, T, 2, H, W)``; ``valid: (S, T, H, W)`` or ``(H, W)`` bool.
        """
        if fields.ndim != 5 or fields.shape[2] != 2:
            raise ValueError(f"fields must have shape (S, T, 2, H, W), got {tuple(fields.shape)}")
        f = fields.double()
        S, T, _, H, W = f.shape
        if valid is None:
            w = torch.ones(S, T, H, W, dtype=torch.float64)
        else:
            w = torch.as_tensor(valid).to(torch.float64).expand(S, T, H, W)
        if frames is not None:
            idx = torch.as_tensor(list(frames), dtype=torch.long)
            if idx.numel() == 0:
                raise ValueError("frames must name at least one frame to fit the scale on")
            f, w = f[:, idx], w[:, idx]
        sq = (f.pow(2).sum(2) / 2 * w)
        if per_sample:
            num, den = sq.sum(dim=(1, 2, 3)), w.sum(dim=(1, 2, 3))
        else:
            num, den = sq.sum().reshape(1), w.sum().reshape(1)
        if bool((den == 0).any()):
            raise ValueError("no valid cell to fit the normaliser on (all masked)")
        scale = (num / den).sqrt()
        if bool((scale <= 0).any()):
            raise ValueError("the velocity is identically zero on the fitting frames; cannot normalise")
        return cls(scale, units)

    def _view(self, x: torch.Tensor, sample_dim: int | None) -> torch.Tensor:
        s = self.scale.to(x.dtype if x.is_floating_point() else torch.float32)
        if s.numel() == 1:
            return s.reshape(())
        if sample_dim is None:
            raise ValueError(f"this normaliser has {s.numel()} scales (one per sample); pass sample_dim")
        shape = [1] * x.ndim
        shape[sample_dim] = s.numel()
        return s.reshape(shape)

    def normalize(self, x: torch.Tensor, sample_dim: int | None = 0) -> torch.Tensor:
        """``x / scale`` (physical -> model units); ``sample_dim`` is the axis of S for per-sample scales."""
        return x / self._view(x, sample_dim).to(x.device)

    def denormalize(self, x: torch.Tensor, sample_dim: int | None = 0) -> torch.Tensor:
        """``x * scale`` (model -> physical units)."""
        return x * self._view(x, sample_dim).to(x.device)

    def physical(self, rmse: float) -> float:
        """A normalised RMSE in physical units (needs one shared scale)."""
        if self.scale.numel() != 1:
            raise ValueError("physical() needs one shared scale; this normaliser has one per sample")
        return float(rmse) * float(self.scale)

    def to_dict(self) -> dict[str, Any]:
        return {"scale": [float(s) for s in self.scale], "units": self.units}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VectorNormalizer:
        return cls(torch.tensor(d["scale"], dtype=torch.float64), d.get("units", "m/s"))


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------
@dataclass
class FlowRecord:
    """Velocity fields on a regular grid, with validity and coordinates.

    Attributes:
        fields: ``(S, T, 2, H, W)`` float32 in physical ``units``, channels ``(u, v)`` (x- and
            y-components: eastward and northward on a lat-lon grid), rows = y pointing up; invalid
            cells hold 0.
        valid: ``(S, T, H, W)`` bool, True where both components are present.
        mask: ``(H, W)`` bool, cells valid at every frame of every sample (what a model trains on).
        y, x: ``(H,)`` and ``(W,)`` coordinates (ascending).
        times: ``(T,)`` time stamps (``datetime64[ns]`` or numbers) or ``None``.
        samples: ``(S,)`` labels of the sample axis (levels, regions) or ``None``.
        units: velocity units.
        coord_units: ``{"y": ..., "x": ...}`` (``"degrees_north"`` / ``"degrees_east"`` on a lat-lon grid).
        period: frames per seasonal cycle (12 for a monthly record) or ``None``.
        phase: ``(T,)`` int position in the cycle (calendar month - 1 for monthly data) or ``None``.
        periodic_x: the x axis wraps around (a global longitude axis).
        notes: what was changed on the way in (flips, fill values, dropped dimensions, ...).
        source: paths or ``"arrays"``.
    """

    fields: torch.Tensor
    valid: torch.Tensor
    mask: torch.Tensor
    y: np.ndarray
    x: np.ndarray
    times: np.ndarray | None = None
    samples: np.ndarray | None = None
    units: str = "m/s"
    coord_units: dict[str, str] = field(default_factory=dict)
    period: int | None = None
    phase: np.ndarray | None = None
    periodic_x: bool = False
    notes: list[str] = field(default_factory=list)
    source: Any = "arrays"
    time_step: str | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.fields.shape)

    @property
    def is_latlon(self) -> bool:
        """True when ``y``/``x`` are latitude/longitude in degrees."""
        return (self.coord_units.get("y", "").lower() in _UNITS_HINT
                and self.coord_units.get("x", "").lower() in _UNITS_HINT)

    def spacing_km(self) -> tuple[float, float]:
        """Grid spacing ``(dy, dx)`` in km at the centre latitude (lat-lon grids only)."""
        if not self.is_latlon:
            raise ValueError("spacing_km needs a lat-lon grid (coordinate units degrees_north / "
                             "degrees_east)")
        lat0 = float(np.mean(self.y))
        dy = abs(float(np.mean(np.diff(self.y)))) * math.pi / 180 * EARTH_RADIUS_KM
        dx = (abs(float(np.mean(np.diff(self.x)))) * math.pi / 180 * EARTH_RADIUS_KM
              * math.cos(math.radians(lat0)))
        return dy, dx

    def normalizer(self, frames: Sequence[int] | None = None, per_sample: bool = False) -> VectorNormalizer:
        """A :class:`VectorNormalizer` fitted on ``frames`` (default all; pass the training frames)."""
        return VectorNormalizer.fit(self.fields, self.valid, frames=frames, per_sample=per_sample,
                                    units=self.units)

    def anisotropy(self) -> float:
        """``dx / dy`` of the cells (1 on an isotropic grid; lat-lon grids: km at the centre latitude)."""
        if self.is_latlon:
            dy, dx = self.spacing_km()
        else:
            dy = abs(float(np.mean(np.diff(self.y)))) if len(self.y) > 1 else 1.0
            dx = abs(float(np.mean(np.diff(self.x)))) if len(self.x) > 1 else 1.0
        return dx / dy

    def __repr__(self) -> str:
        S, T, C, H, W = self.fields.shape
        t = ""
        if self.times is not None and len(self.times):
            t = f", times {str(self.times[0])[:10]}..{str(self.times[-1])[:10]}"
        return (f"FlowRecord(fields=({S}, {T}, {C}, {H}, {W}) {self.units}, valid cells "
                f"{int(self.mask.sum())}/{H * W}{t}, notes={len(self.notes)})")


# --------------------------------------------------------------------------------------------
# Finding variables and dimensions
# --------------------------------------------------------------------------------------------
def _xr():
    import xarray as xr

    return xr


def _names_match(var, names: Sequence[str]) -> bool:
    low = {n.lower() for n in names}
    std = str(var.attrs.get("standard_name", "")).lower()
    return str(var.name).lower() in low or (std != "" and std in low)


def find_velocity(ds, u: str | None = None, v: str | None = None) -> tuple[str, str]:
    """Names of the ``(u, v)`` variables of ``ds`` (by name, then by ``standard_name``)."""
    variables = list(ds.data_vars)
    for given, role in ((u, "u"), (v, "v")):
        if given is not None and given not in ds.variables:
            raise ValueError(f"{role}={given!r} is not a variable of the data set; found {variables}")

    def pick(names: Sequence[str], role: str) -> str:
        by_name = [k for k in variables if str(k).lower() in {n.lower() for n in names}]
        by_std = [k for k in variables if str(ds[k].attrs.get("standard_name", "")).lower()
                  in {n.lower() for n in names}]
        found = by_name or by_std
        if len(found) == 1:
            return str(found[0])
        if not found:
            raise ValueError(f"no {role}-component variable found: expected a name or standard_name among "
                             f"{list(names)}; found variables {variables}; pass {role}=<name>")
        raise ValueError(f"several {role}-component candidates {found}; pass {role}=<name>")

    return (u if u is not None else pick(U_NAMES, "u")), (v if v is not None else pick(V_NAMES, "v"))


def _dim_role(ds, dim: str) -> str | None:
    low = dim.lower()
    for role, names in DIM_NAMES.items():
        if low in names:
            return role
    if dim in ds.coords:
        attrs = ds[dim].attrs
        units = str(attrs.get("units", "")).lower().replace(" ", "")
        if units in _UNITS_HINT:
            return _UNITS_HINT[units]
        axis = str(attrs.get("axis", "")).upper()
        if axis in _AXIS_HINT:
            return _AXIS_HINT[axis]
        if " since " in str(attrs.get("units", "")) or np.issubdtype(ds[dim].dtype, np.datetime64):
            return "time"
        std = str(attrs.get("standard_name", "")).lower()
        if std in ("latitude", "projection_y_coordinate", "grid_latitude"):
            return "y"
        if std in ("longitude", "projection_x_coordinate", "grid_longitude"):
            return "x"
        if std == "time":
            return "time"
    for role, names in DIM_NAMES.items():  # prefixed names: FNOCY, lat_0, ...
        if any(low.endswith(n) or low.startswith(n + "_") for n in names if len(n) > 2):
            return role
    return None


def match_dims(ds, var: str, dims: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map roles (``time``, ``y``, ``x``, ``level``, ``sample``) to the dimension names of ``ds[var]``.

    ``dims`` overrides the automatic matching, e.g. ``{"y": "FNOCY", "x": "FNOCX"}``.
    """
    dims = dict(dims or {})
    bad = sorted(set(dims) - set(DIM_NAMES))
    if bad:
        raise ValueError(f"dims keys must be among {list(DIM_NAMES)}, got {bad}")
    da = ds[var]
    out: dict[str, str] = {}
    for role, name in dims.items():
        if name not in da.dims:
            raise ValueError(f"dims[{role!r}]={name!r} is not a dimension of {var!r}; its dimensions are "
                             f"{da.dims}")
        out[role] = name
    for d in da.dims:
        if d in out.values():
            continue
        role = _dim_role(ds, str(d))
        if role is None or role in out:
            if da.sizes[d] == 1:
                continue  # dropped later
            why = "unrecognised" if role is None else f"a second {role} dimension"
            raise ValueError(f"dimension {d!r} of {var!r} ({da.sizes[d]} entries) is {why}; expected "
                             f"time / y / x (and optionally level or sample) dimensions; name them with "
                             f"dims={{'time': ..., 'y': ..., 'x': ...}} or select one {d!r} first")
        out[role] = str(d)
    for role in ("y", "x"):
        if role not in out:
            raise ValueError(f"no {role} dimension found in {var!r} with dimensions {da.dims}; expected one "
                             f"of {list(DIM_NAMES[role])} (or coordinate units/axis attributes); pass dims=")
    return out


# --------------------------------------------------------------------------------------------
# Time axis
# --------------------------------------------------------------------------------------------
def _check_times(times: np.ndarray | None) -> tuple[int | None, np.ndarray | None, str | None]:
    """``(period, phase, step)`` for a time axis; raises for non-uniform steps."""
    if times is None or len(times) < 2:
        return None, None, None
    if times.dtype == object and all(hasattr(t, "year") and hasattr(t, "month") for t in times):
        # cftime dates (360_day, noleap, ... calendars): months and steps from their fields
        months = np.array([t.year * 12 + t.month - 1 for t in times], dtype=np.int64)
        days = np.array([(b - a).total_seconds() / 86400.0 for a, b in zip(times[:-1], times[1:])])
        if bool((days <= 0).any()):
            raise ValueError("time stamps must increase strictly; sort or deduplicate the record first")
        if bool((np.diff(months) == 1).all()) and bool(((days > 26) & (days < 34)).all()):
            return 12, months % 12, "1 month"
        if float(days.max() - days.min()) > 1e-6 * float(days.mean()):
            uniq = np.unique(np.round(days, 4))[:6].tolist()
            raise ValueError(f"time steps are not uniform: found steps of {uniq} days; resample first or "
                             "select a uniform stretch")
        return None, None, f"{float(days.mean()):g} days"
    if np.issubdtype(times.dtype, np.datetime64):
        t = times.astype("datetime64[ns]")
        if bool((np.diff(t) <= np.timedelta64(0, "ns")).any()):
            raise ValueError("time stamps must increase strictly; sort or deduplicate the record first")
        months = t.astype("datetime64[M]").astype(np.int64)
        days = np.diff(t).astype("timedelta64[s]").astype(np.float64) / 86400.0
        if bool((np.diff(months) == 1).all()) and bool(((days > 26) & (days < 34)).all()):
            return 12, (months % 12).astype(np.int64), "1 month"
        step = days
        if float(step.max() - step.min()) <= 1e-6 * max(float(step.mean()), 1e-12) + 1.0 / 86400:
            d = float(step.mean())
            label = f"{d:g} days" if d >= 1 else f"{d * 24:g} hours"
            return None, None, label
        uniq = np.unique(np.round(step, 4))
        raise ValueError(f"time steps are not uniform: found steps of {uniq[:6].tolist()} days; resample "
                         "first (e.g. ds.resample(time='1D').mean()) or select a uniform stretch")
    t = np.asarray(times, dtype=np.float64)
    step = np.diff(t)
    if bool((step <= 0).any()):
        raise ValueError("time values must increase strictly; sort or deduplicate the record first")
    if float(step.max() - step.min()) > 1e-6 * float(np.abs(step).mean()):
        raise ValueError(f"time steps are not uniform: found steps {np.unique(step)[:6].tolist()}; resample "
                         "first or select a uniform stretch")
    return None, None, f"{float(step.mean()):g}"


# --------------------------------------------------------------------------------------------
# xarray -> FlowRecord
# --------------------------------------------------------------------------------------------
def _is_encoded(da) -> bool:
    return any(k in da.attrs for k in ("_FillValue", "missing_value", "scale_factor", "add_offset"))


def _valid_range_mask(da_raw_attrs: Mapping[str, Any], values: np.ndarray) -> np.ndarray | None:
    lo = hi = None
    packed = False
    if "valid_range" in da_raw_attrs:
        vr = np.ravel(da_raw_attrs["valid_range"])[:2]
        packed = np.issubdtype(vr.dtype, np.integer)
        lo, hi = (float(v) for v in vr)
    for key in ("valid_min", "valid_max"):
        if key in da_raw_attrs:
            val = np.asarray(da_raw_attrs[key])
            packed = packed or np.issubdtype(val.dtype, np.integer)
            if key == "valid_min":
                lo = float(val)
            else:
                hi = float(val)
    if lo is None and hi is None:
        return None
    if packed and ("scale_factor" in da_raw_attrs or "add_offset" in da_raw_attrs):
        # CF: integer valid_* of packed data are in packed units; compare in physical units
        scale = float(da_raw_attrs.get("scale_factor", 1.0))
        offset = float(da_raw_attrs.get("add_offset", 0.0))
        lo = None if lo is None else lo * scale + offset
        hi = None if hi is None else hi * scale + offset
        if scale < 0:
            lo, hi = hi, lo
    with np.errstate(invalid="ignore"):
        bad = np.zeros(values.shape, bool)
        if lo is not None:
            bad |= values < lo
        if hi is not None:
            bad |= values > hi
    return bad


def _select_x(da, xdim: str, x_range: tuple[float, float], periodic: bool, notes: list[str]):
    x0, x1 = float(x_range[0]), float(x_range[1])
    xv = np.asarray(da[xdim].values, dtype=np.float64)
    if periodic:
        # shift longitudes into [x0, x0 + 360) and sort: a range may cross the seam or the date line
        shifted = x0 + np.mod(xv - x0, 360.0)
        if not np.allclose(shifted, xv):
            da = da.assign_coords({xdim: shifted}).sortby(xdim)
            notes.append(f"longitudes wrapped into [{x0:g}, {x0 + 360:g}) to select x_range={x_range}")
        if x1 < x0:
            x1 += 360.0
        x1 = x0 + np.mod(x1 - x0, 360.0) if x1 - x0 > 360 else x1
    elif x1 < x0:
        raise ValueError(f"x_range={x_range} has its end before its start and the x axis is not a global "
                         "(periodic) longitude axis")
    return da.sel({xdim: slice(x0, x1)})


def _is_global_lon(coord: np.ndarray, units: str) -> bool:
    if units.lower().replace(" ", "") not in _UNITS_HINT or len(coord) < 3:
        return False
    step = np.diff(coord)
    if not np.allclose(step, step[0], rtol=1e-4):
        return False
    return abs(abs(float(step[0])) * len(coord) - 360.0) < 1e-3 * 360


def from_xarray(
    ds,
    u: str | None = None,
    v: str | None = None,
    *,
    dims: Mapping[str, str] | None = None,
    y_range: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
    time_range: tuple[Any, Any] | None = None,
    level: Any = None,
    units: str | None = None,
    source: Any = "xarray",
) -> FlowRecord:
    """A :class:`FlowRecord` from an ``xarray.Dataset`` holding the two velocity components.

    Args:
        ds: the data set (CF-encoded variables are decoded here if the caller opened it raw).
        u, v: variable names; default: found by name / standard_name (:data:`U_NAMES`, :data:`V_NAMES`).
        dims: role -> dimension name overrides (``{"time": ..., "y": ..., "x": ..., "level": ...}``).
        y_range, x_range: coordinate ranges to keep (inclusive; y in any order; on a global longitude
            axis ``x_range=(350, 10)`` crosses the seam).
        time_range: ``(start, stop)`` labels (dates as strings or datetime64, or numbers), inclusive.
        level: select one level (by label); without it a level dimension becomes the sample axis S.
        units: velocity units when the variables carry none (default: their ``units`` attribute, else m/s).
        source: stored in :attr:`FlowRecord.source`.

    Returns:
        A :class:`FlowRecord`; fields ``(S, T, 2, H, W)`` (``S`` = levels or samples, else 1).

    Raises:
        ValueError: missing variables or dimensions, u/v on different grids, non-uniform time steps,
            infinite values or values that overflow float32, or nothing left after selection.
    """
    xr = _xr()
    if isinstance(ds, xr.DataArray):
        raise TypeError("ds must be an xarray.Dataset with u and v variables (got a DataArray); use "
                        "xr.Dataset({'u': u_da, 'v': v_da})")
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    notes: list[str] = []
    un, vn = find_velocity(ds, u, v)
    raw_attrs = {un: dict(ds[un].attrs), vn: dict(ds[vn].attrs)}
    if _is_encoded(ds[un]) or _is_encoded(ds[vn]):
        ds = xr.decode_cf(ds[[un, vn]])
        notes.append("CF decoding applied (scale_factor / add_offset / _FillValue / missing_value)")
    for k in (un, vn):
        raw_attrs[k].update(ds[k].encoding)
    roles = match_dims(ds, un, dims)
    roles_v = match_dims(ds, vn, dims)
    if set(roles.items()) != set(roles_v.items()):
        raise ValueError(f"{un!r} and {vn!r} have different dimensions ({ds[un].dims} vs {ds[vn].dims}); "
                         "interpolate them to one grid first")
    ua, va = ds[un], ds[vn]
    for role in ("y", "x", "time"):
        d = roles.get(role)
        if d is not None and d in ua.coords and d in va.coords:
            if not np.array_equal(np.asarray(ua[d].values), np.asarray(va[d].values)):
                raise ValueError(f"{un!r} and {vn!r} have different {role} coordinates ({d}); they must "
                                 "share one grid (staggered grids: interpolate to cell centres first)")
    extra = [d for d in ua.dims if d not in roles.values()]
    if extra:
        ua, va = ua.squeeze(extra, drop=True), va.squeeze(extra, drop=True)
        notes.append(f"dropped length-1 dimension(s) {extra}")
    xdim, ydim, tdim = roles["x"], roles["y"], roles.get("time")
    ldim, sdim = roles.get("level"), roles.get("sample")
    if ldim is not None and sdim is not None:
        raise ValueError(f"both a level ({ldim!r}) and a sample ({sdim!r}) dimension; select one level with "
                         "level=...")
    if level is not None:
        if ldim is None:
            raise ValueError(f"level={level!r} given but {un!r} has no level dimension (dims {ua.dims})")
        ua, va = ua.sel({ldim: level}), va.sel({ldim: level})
        if ldim in ua.dims:
            raise ValueError(f"level={level!r} must select one level")
        ldim = None
    sdim = sdim or ldim
    # coordinates: make sure y and x have them
    for d in (ydim, xdim):
        if d not in ua.coords:
            ua = ua.assign_coords({d: np.arange(ua.sizes[d], dtype=np.float64)})
            va = va.assign_coords({d: np.arange(va.sizes[d], dtype=np.float64)})
    cu = {"y": str(ds[ydim].attrs.get("units", "")) if ydim in ds.coords else "",
          "x": str(ds[xdim].attrs.get("units", "")) if xdim in ds.coords else ""}
    # orientation: y ascending (rows = y up), x ascending
    yv = np.asarray(ua[ydim].values, dtype=np.float64)
    if len(yv) > 1 and yv[0] > yv[-1]:
        ua, va = ua.isel({ydim: slice(None, None, -1)}), va.isel({ydim: slice(None, None, -1)})
        notes.append(f"{ydim} was descending ({yv[0]:g} -> {yv[-1]:g}); flipped so rows go up (y ascending)")
    xv = np.asarray(ua[xdim].values, dtype=np.float64)
    if len(xv) > 1 and xv[0] > xv[-1]:
        ua, va = ua.isel({xdim: slice(None, None, -1)}), va.isel({xdim: slice(None, None, -1)})
        notes.append(f"{xdim} was descending; flipped so columns go right (x ascending)")
    for d in (ydim, xdim):
        c = np.asarray(ua[d].values, dtype=np.float64)
        if len(c) > 1 and not bool((np.diff(c) > 0).all()):
            raise ValueError(f"coordinate {d!r} is not monotonic; sort the data set first")
    periodic = _is_global_lon(np.asarray(ua[xdim].values, dtype=np.float64), cu["x"])
    if periodic:
        notes.append(f"{xdim} is a global longitude axis (periodic)")
    if y_range is not None:
        lo, hi = sorted(float(t) for t in y_range)
        ua, va = ua.sel({ydim: slice(lo, hi)}), va.sel({ydim: slice(lo, hi)})
    if x_range is not None:
        ua = _select_x(ua, xdim, x_range, periodic, notes)
        va = _select_x(va, xdim, x_range, periodic, [])
        if ua.sizes[xdim] < len(np.asarray(ds[xdim].values)):
            periodic = False
    if time_range is not None:
        if tdim is None:
            raise ValueError("time_range given but the data have no time dimension")
        ua = ua.sel({tdim: slice(time_range[0], time_range[1])})
        va = va.sel({tdim: slice(time_range[0], time_range[1])})
    for d in (ydim, xdim) + ((tdim,) if tdim else ()):
        if ua.sizes[d] < 1:
            raise ValueError(f"nothing left in dimension {d!r} after selecting y_range={y_range}, "
                             f"x_range={x_range}, time_range={time_range}")
    order = [d for d in (sdim, tdim, ydim, xdim) if d is not None]
    ua, va = ua.transpose(*order), va.transpose(*order)
    times = np.asarray(ua[tdim].values) if tdim is not None and tdim in ua.coords else None
    period, phase, step = _check_times(times)
    samples = np.asarray(ua[sdim].values) if sdim is not None and sdim in ua.coords else None
    arrays = []
    for name, da in ((un, ua), (vn, va)):
        vals = np.asarray(da.values)
        if not np.issubdtype(vals.dtype, np.number) or np.iscomplexobj(vals):
            raise ValueError(f"variable {name!r}: expected real numbers, got dtype {vals.dtype}")
        vals = vals.astype(np.float64)
        if tdim is None:
            vals = vals[..., None, :, :] if sdim is not None else vals[None]
        if sdim is None:
            vals = vals[None]
        if np.isinf(vals).any():
            n = int(np.isinf(vals).sum())
            raise ValueError(f"variable {name!r}: {n} infinite values after decoding; expected finite "
                             "velocities or NaN / fill values for missing data")
        missing = np.isnan(vals)
        default_fill = np.isclose(vals, _NC_DEFAULT_FILL, rtol=1e-6, atol=0.0)
        if default_fill.any():
            notes.append(f"{name}: {int(default_fill.sum())} netCDF default fill values (~9.97e36) masked")
        rng = _valid_range_mask(raw_attrs[name], vals)
        if rng is not None and rng.any():
            notes.append(f"{name}: {int(rng.sum())} values outside valid_min / valid_max masked")
            default_fill |= rng
        if missing.any():
            notes.append(f"{name}: {int(missing.sum())} missing values (NaN / _FillValue / missing_value) "
                         "masked")
        vals = np.where(missing | default_fill, np.nan, vals)
        arrays.append(vals)
    u_np, v_np = arrays
    valid_np = np.isfinite(u_np) & np.isfinite(v_np)
    if not valid_np.any():
        raise ValueError("every value is missing (fill values / NaN); nothing to load")
    stacked = np.stack([np.where(valid_np, u_np, 0.0), np.where(valid_np, v_np, 0.0)], axis=2)
    unit = units or str(ua.attrs.get("units", "") or "m/s")
    factor = _KNOWN_UNITS.get(unit.lower().strip())
    if factor is not None and factor != 1.0:
        stacked = stacked * factor
        notes.append(f"converted {unit} to m/s (x {factor:g})")
        unit = "m/s"
    elif factor == 1.0:
        unit = "m/s"
    with np.errstate(over="ignore"):  # checked just below
        f32 = stacked.astype(np.float32)
    if not np.isfinite(f32).all():
        big = float(np.abs(stacked).max())
        raise ValueError(f"values overflow float32 (largest magnitude {big:.3g}); expected velocities "
                         f"below {float(np.finfo(np.float32).max):.3g} (check the units / scale_factor)")
    fields = torch.from_numpy(np.ascontiguousarray(f32))
    valid = torch.from_numpy(valid_np)
    mask = valid.all(dim=(0, 1))
    if not bool(mask.any()):
        notes.append("no cell is valid at every frame: the static mask is empty")
    if bool((~mask).any()):
        notes.append(f"{int((~mask).sum())} of {mask.numel()} cells are invalid at some frame (masked)")
    return FlowRecord(fields=fields, valid=valid, mask=mask, y=np.asarray(ua[ydim].values, dtype=np.float64),
                      x=np.asarray(ua[xdim].values, dtype=np.float64), times=times, samples=samples,
                      units=unit, coord_units=cu, period=period, phase=phase, periodic_x=periodic,
                      notes=notes, source=source, time_step=step)


def from_arrays(
    u: Any,
    v: Any,
    *,
    dims: Sequence[str] = ("time", "y", "x"),
    times: Any = None,
    y: Any = None,
    x: Any = None,
    mask: Any = None,
    fill_value: float | None = None,
    units: str = "m/s",
    coord_units: Mapping[str, str] | None = None,
) -> FlowRecord:
    """A :class:`FlowRecord` from arrays ``u``, ``v`` (numpy or torch) whose axes are named by ``dims``.

    Args:
        u, v: x- and y-components, same shape, e.g. ``(T, H, W)``; NaN marks missing values.
        dims: the axis names in order, from ``time``, ``y``, ``x``, ``level``, ``sample`` (``y`` and
            ``x`` required; e.g. ``("x", "y", "time")`` for arrays stored x-first).
        times: ``(T,)`` time stamps (datetime64 / strings / numbers) or None.
        y, x: coordinates (default ``0..H-1``, ``0..W-1``); a descending ``y`` is flipped to ascending.
        mask: bool, True = valid, broadcastable to ``u`` in the axis order of ``dims`` (e.g. ``(H, W)``
            when ``dims`` ends with ``("y", "x")``).
        fill_value: a value meaning "missing" (e.g. -9999).
        units: velocity units (``"m/s"``, ``"cm/s"``, ``"knots"`` are converted to m/s).
        coord_units: ``{"y": "degrees_north", "x": "degrees_east"}`` for a lat-lon grid.

    Returns:
        A :class:`FlowRecord` with fields ``(S, T, 2, H, W)``.
    """
    xr = _xr()
    dims = tuple(dims)
    ua = u.detach().cpu().numpy() if isinstance(u, torch.Tensor) else np.asarray(u)
    va = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
    if ua.shape != va.shape:
        raise ValueError(f"u and v must have the same shape, got {ua.shape} and {va.shape}")
    if ua.ndim != len(dims):
        raise ValueError(f"dims={dims} names {len(dims)} axes but u has {ua.ndim} (shape {ua.shape})")
    bad = [d for d in dims if d not in DIM_NAMES]
    if bad or len(set(dims)) != len(dims) or "y" not in dims or "x" not in dims:
        raise ValueError(f"dims must be distinct names among {list(DIM_NAMES)} including 'y' and 'x', got "
                         f"{dims}")
    for name, a in (("u", ua), ("v", va)):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ValueError(f"{name}: expected real numbers, got dtype {a.dtype}")
    ua, va = ua.astype(np.float64), va.astype(np.float64)
    if fill_value is not None:
        ua = np.where(ua == fill_value, np.nan, ua)
        va = np.where(va == fill_value, np.nan, va)
    if mask is not None:
        m = np.broadcast_to(np.asarray(mask, dtype=bool), ua.shape)
        ua, va = np.where(m, ua, np.nan), np.where(m, va, np.nan)
    coords: dict[str, Any] = {}
    if times is not None:
        tt = np.asarray(times)
        if tt.dtype.kind in "USO":
            tt = tt.astype("datetime64[ns]")
        coords["time"] = tt
    for name, c in (("y", y), ("x", x)):
        if c is not None:
            coords[name] = np.asarray(c, dtype=np.float64)
    cu = dict(coord_units or {})
    ds = xr.Dataset({"u": (dims, ua, {"units": units}), "v": (dims, va, {"units": units})}, coords=coords)
    for k, unit in cu.items():
        if k in ds.coords:
            ds[k].attrs["units"] = unit
    return from_xarray(ds, "u", "v", dims={d: d for d in dims}, source="arrays")


def _open_one(path: Path, engine: str | None):
    xr = _xr()
    if not path.exists():
        raise FileNotFoundError(f"flow file {path} does not exist")
    try:
        ds = xr.open_dataset(path, engine=engine, mask_and_scale=True, decode_times=True)
    except ValueError as err:
        if "time" in str(err).lower() or "calendar" in str(err).lower():
            ds = xr.open_dataset(path, engine=engine, mask_and_scale=True, decode_times=False)
        else:
            raise ValueError(f"{path}: not a readable netCDF 3 / 4 file ({err})") from err
    except OSError as err:
        raise ValueError(f"{path}: not a readable netCDF 3 / 4 file ({err})") from err
    with ds:
        return ds.load()


def open_flow(
    path_or_paths: str | os.PathLike | Sequence[str | os.PathLike],
    u: str | None = None,
    v: str | None = None,
    *,
    engine: str | None = None,
    **kwargs: Any,
) -> FlowRecord:
    """Open one or several netCDF 3 / 4 files as a :class:`FlowRecord` (xarray with CF decoding).

    Several files are merged: files with different variables (one per component) side by side on an
    identical grid, files with the same variables (consecutive periods) concatenated along time.

    Args:
        path_or_paths: a path or a list of paths.
        u, v: variable names (default: found by name / standard_name).
        engine: xarray engine (default: chosen from the file, ``netcdf4`` or ``scipy``).
        **kwargs: :func:`from_xarray` options (``dims``, ``y_range``, ``x_range``, ``time_range``,
            ``level``, ``units``).

    Example:
        >>> rec = open_flow("/usr/share/ferret-vis/data/monthly_navy_winds.cdf",
        ...                 y_range=(20, 50), x_range=(180, 230))            # doctest: +SKIP
    """
    xr = _xr()
    paths = [path_or_paths] if isinstance(path_or_paths, str | os.PathLike) else list(path_or_paths)
    if not paths:
        raise ValueError("path_or_paths must name at least one file")
    paths = [Path(p) for p in paths]
    sets = [_open_one(p, engine) for p in paths]
    if len(sets) == 1:
        ds = sets[0]
    else:
        names = [frozenset(s.data_vars) for s in sets]
        if len(set(names)) == 1:
            tdims = [d for d in sets[0].dims if _dim_role(sets[0], str(d)) == "time"]
            if not tdims:
                raise ValueError(f"files {[str(p) for p in paths]} hold the same variables but no time "
                                 "dimension to concatenate them along")
            ds = xr.concat(sets, dim=tdims[0], data_vars="minimal", coords="minimal", compat="override",
                           join="exact").sortby(tdims[0])
        else:
            try:
                ds = xr.merge(sets, join="exact", compat="no_conflicts", combine_attrs="drop_conflicts")
            except ValueError as err:
                raise ValueError(f"files {[str(p) for p in paths]} do not share one grid and time axis; "
                                 f"cannot merge them ({err})") from err
    src = [str(p) for p in paths] if len(paths) > 1 else str(paths[0])
    return from_xarray(ds, u, v, source=src, **kwargs)
