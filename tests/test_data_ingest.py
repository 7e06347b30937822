"""Tests for aeqkit.data.ingest and aeqkit.data.records on small files the tests write themselves.

Each file is written with the netCDF4 library in raw form (packed integers, fill values and
attributes exactly as a data provider writes them), then read back with :func:`open_flow`; the
tests assert the decoded values and the orientation (rows = y up, channels (u, v)).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch
import xarray as xr

from aeqkit.data.ingest import FlowRecord, VectorNormalizer, from_arrays, from_xarray, open_flow
from aeqkit.data.records import (
    climatology_forecast,
    crop,
    largest_valid_window,
    regrid_isotropic,
    split_record,
    stack_records,
    time_blocks,
)
from aeqkit.groups import rot90_field

NAVY = Path("/usr/share/ferret-vis/data/monthly_navy_winds.cdf")
T, NY, NX = 6, 4, 5
LAT = np.array([10.0, 12.5, 15.0, 17.5])
LON = np.array([100.0, 102.5, 105.0, 107.5, 110.0])


def _truth(t: int, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u depends on latitude, v on longitude (distinct per frame): any flip or transpose shows."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    return 0.1 * la + t, -0.01 * lo + 0.5 * t


def _write(path: Path, fmt: str = "NETCDF4", *, dims: tuple[str, ...] = ("time", "lat", "lon"),
           names: tuple[str, str] = ("u", "v"), lat: np.ndarray = LAT, lon: np.ndarray = LON,
           dtype: str = "f4", attrs: dict | None = None, fill: float | None = None,
           holes: list[tuple[int, int, int]] = (), times: np.ndarray | None = None,
           time_units: str = "days since 2000-01-01", components: tuple[int, ...] = (0, 1),
           std_names: tuple[str, str] | None = None) -> None:
    """Write u/v on (time, lat, lon) in the axis order ``dims``, raw (no automatic packing)."""
    times = np.arange(T, dtype=np.float64) if times is None else times
    u = np.stack([_truth(t, lat, lon)[0] for t in range(len(times))])
    v = np.stack([_truth(t, lat, lon)[1] for t in range(len(times))])
    attrs = dict(attrs or {})
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        sizes = {"time": len(times), "lat": len(lat), "lon": len(lon)}
        for d in dims:
            nc.createDimension(d, sizes[d])
        for name, vals, units in (("time", times, time_units), ("lat", lat, "degrees_north"),
                                  ("lon", lon, "degrees_east")):
            var = nc.createVariable(name, "f8", (name,))
            var.units = units
            var[:] = vals
        perm = [("time", "lat", "lon").index(d) for d in dims]
        for i in components:
            name, val = names[i], (u, v)[i]
            raw = val.copy()
            for t, r, c in holes:
                raw[t, r, c] = np.nan
            if "scale_factor" in attrs:
                raw = (raw - attrs.get("add_offset", 0.0)) / attrs["scale_factor"]
                raw = np.round(raw)
            if fill is not None:
                raw = np.where(np.isnan(raw), fill, raw)
            var = nc.createVariable(name, dtype, dims, fill_value=fill if "_FillValue" in attrs else None)
            var.set_auto_maskandscale(False)
            for k, val_attr in attrs.items():
                if k != "_FillValue":
                    var.setncattr(k, val_attr)
            if std_names:
                var.standard_name = std_names[i]
            var.units = "m/s"
            var[:] = np.transpose(raw, perm).astype(dtype)


def _expected(lat: np.ndarray = LAT, lon: np.ndarray = LON, frames: int = T) -> np.ndarray:
    """(T, 2, H, W) with rows in ascending latitude."""
    order = np.argsort(lat)
    out = np.stack([np.stack(_truth(t, lat[order], lon)) for t in range(frames)])
    return out


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF4", "NETCDF4_CLASSIC"])
def test_netcdf3_and_4_decode_values_and_orientation(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "w.nc"
    _write(path, fmt)
    rec = open_flow(path)
    assert rec.fields.shape == (1, T, 2, NY, NX) and rec.fields.dtype == torch.float32
    np.testing.assert_allclose(rec.fields[0].numpy(), _expected(), rtol=1e-6)
    np.testing.assert_array_equal(rec.y, LAT)
    np.testing.assert_array_equal(rec.x, LON)
    assert bool(rec.mask.all()) and rec.is_latlon and rec.time_step == "1 days"


def test_packed_int16_scale_offset_and_fill(tmp_path: Path) -> None:
    path = tmp_path / "packed.nc"
    attrs = {"scale_factor": 1e-3, "add_offset": 0.5, "_FillValue": -32767}
    _write(path, "NETCDF3_CLASSIC", dtype="i2", attrs=attrs, fill=-32767, holes=[(2, 1, 3)])
    with netCDF4.Dataset(path) as nc:  # the file really holds packed integers
        nc.set_auto_maskandscale(False)
        assert nc["u"].dtype == np.int16 and abs(int(nc["u"][0, 0, 0]) - round((1.0 - 0.5) / 1e-3)) <= 1
    rec = open_flow(path)
    exp = _expected()
    valid = rec.valid[0].numpy()
    assert not valid[2, 1, 3] and valid.sum() == T * NY * NX - 1
    assert not bool(rec.mask[1, 3]) and int(rec.mask.sum()) == NY * NX - 1
    got = rec.fields[0].numpy()
    keep = np.broadcast_to(valid[:, None], got.shape)
    np.testing.assert_allclose(got[keep], exp[keep], atol=6e-4)  # packing resolution 1e-3
    assert got[2, :, 1, 3].tolist() == [0.0, 0.0]  # invalid cells hold 0, never the fill value
    with xr.open_dataset(path, mask_and_scale=False) as raw:  # a caller's undecoded data set
        assert raw["u"].dtype == np.int16
        rec_raw = from_xarray(raw.load())
    assert torch.equal(rec_raw.fields, rec.fields) and torch.equal(rec_raw.valid, rec.valid)
    assert any("CF decoding" in n for n in rec_raw.notes)


@pytest.mark.parametrize("fill_kind", ["missing_value", "_FillValue"])
def test_fill_values_minus_9999_are_masked(tmp_path: Path, fill_kind: str) -> None:
    path = tmp_path / "holes.nc"
    _write(path, "NETCDF4", attrs={fill_kind: -9999.0}, fill=-9999.0, holes=[(0, 0, 0), (5, 3, 4)])
    rec = open_flow(path)
    assert float(rec.fields.abs().max()) < 100  # no -9999 leaked in as a wind
    assert not rec.valid[0, 0, 0, 0] and not rec.valid[0, 5, 3, 4]
    assert int((~rec.valid).sum()) == 2
    assert any("missing" in n for n in rec.notes)


def test_default_netcdf_fill_without_attribute_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "default_fill.nc"
    _write(path, "NETCDF4", fill=9.969209968386869e36, holes=[(1, 2, 2)])
    rec = open_flow(path)
    assert not rec.valid[0, 1, 2, 2] and int((~rec.valid).sum()) == 1
    assert float(rec.fields.abs().max()) < 100 and any("default fill" in n for n in rec.notes)


def test_valid_range_outside_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "range.nc"
    _write(path, "NETCDF4", attrs={"valid_max": 3.0})
    rec = open_flow(path)
    exp = _expected()
    assert bool((rec.valid[0] == torch.from_numpy((exp <= 3.0).all(axis=1))).all())


def test_packed_valid_range_is_compared_in_physical_units(tmp_path: Path) -> None:
    path = tmp_path / "packed_range.nc"
    attrs = {"scale_factor": 1e-3, "add_offset": 0.0, "valid_range": np.array([-32000, 3000], dtype=np.int16)}
    _write(path, "NETCDF4", dtype="i2", attrs=attrs)
    rec = open_flow(path)
    exp = _expected()
    assert bool((rec.valid[0] == torch.from_numpy((exp <= 3.0).all(axis=1))).all())
    assert 0 < int((~rec.valid).sum()) < rec.valid.numel()


def test_descending_latitude_is_flipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "desc.nc"
    _write(path, "NETCDF3_CLASSIC", lat=LAT[::-1].copy())
    rec = open_flow(path)
    np.testing.assert_array_equal(rec.y, LAT)  # ascending: row 0 is the southernmost
    np.testing.assert_allclose(rec.fields[0].numpy(), _expected(), rtol=1e-6)
    assert any("descending" in n and "flipped" in n for n in rec.notes)


@pytest.mark.parametrize("dims", list(itertools.permutations(("time", "lat", "lon"))))
def test_transposed_dimensions_are_matched_by_name(tmp_path: Path, dims: tuple[str, ...]) -> None:
    path = tmp_path / "t.nc"
    _write(path, "NETCDF4", dims=dims)
    rec = open_flow(path)
    assert rec.fields.shape == (1, T, 2, NY, NX)
    np.testing.assert_allclose(rec.fields[0].numpy(), _expected(), rtol=1e-6)


def test_separate_files_per_component_and_names(tmp_path: Path) -> None:
    a, b = tmp_path / "uwnd.nc", tmp_path / "vwnd.nc"
    _write(a, "NETCDF3_CLASSIC", names=("UWND", "VWND"), components=(0,))
    _write(b, "NETCDF4", names=("UWND", "VWND"), components=(1,))
    rec = open_flow([a, b])
    np.testing.assert_allclose(rec.fields[0].numpy(), _expected(), rtol=1e-6)
    assert rec.source == [str(a), str(b)]


def test_standard_names_find_the_components(tmp_path: Path) -> None:
    path = tmp_path / "std.nc"
    _write(path, "NETCDF4", names=("a", "b"), std_names=("eastward_wind", "northward_wind"))
    rec = open_flow(path)
    np.testing.assert_allclose(rec.fields[0].numpy(), _expected(), rtol=1e-6)
    _write(tmp_path / "none.nc", "NETCDF4", names=("a", "b"))
    with pytest.raises(ValueError, match="u-component.*pass u="):
        open_flow(tmp_path / "none.nc")
    np.testing.assert_allclose(open_flow(tmp_path / "none.nc", u="a", v="b").fields[0].numpy(), _expected(),
                               rtol=1e-6)


def test_time_steps_checked_and_monthly_period(tmp_path: Path) -> None:
    _write(tmp_path / "bad.nc", "NETCDF4", times=np.array([0.0, 1, 2, 4, 5, 6]))
    with pytest.raises(ValueError, match="not uniform"):
        open_flow(tmp_path / "bad.nc")
    months = np.array([15, 46, 74, 105, 135, 166], dtype=float)  # mid-month 2001, 28-31 day steps
    _write(tmp_path / "m.nc", "NETCDF4", times=months, time_units="days since 2001-01-01")
    rec = open_flow(tmp_path / "m.nc")
    assert rec.period == 12 and rec.phase.tolist() == [0, 1, 2, 3, 4, 5] and rec.time_step == "1 month"
    assert str(rec.times[0])[:10] == "2001-01-16"


def test_non_standard_calendar_months(tmp_path: Path) -> None:
    pytest.importorskip("cftime")
    _write(tmp_path / "c.nc", "NETCDF4", times=np.arange(6) * 30.0 + 15, time_units="days since 2001-01-01")
    with netCDF4.Dataset(tmp_path / "c.nc", "a") as nc:
        nc["time"].calendar = "360_day"
    rec = open_flow(tmp_path / "c.nc")
    assert rec.period == 12 and rec.phase.tolist() == [0, 1, 2, 3, 4, 5]


def test_longitude_wrap_selects_across_the_seam(tmp_path: Path) -> None:
    lon = np.arange(0.0, 360.0, 30.0)
    _write(tmp_path / "g.nc", "NETCDF4", lon=lon)
    full = open_flow(tmp_path / "g.nc")
    assert full.periodic_x
    rec = open_flow(tmp_path / "g.nc", x_range=(300, 30))
    np.testing.assert_array_equal(rec.x, [300.0, 330.0, 360.0, 390.0])
    cols = [10, 11, 0, 1]
    np.testing.assert_array_equal(rec.fields[0].numpy(), full.fields[0, ..., cols].numpy())
    with pytest.raises(ValueError, match="nothing left"):
        open_flow(tmp_path / "g.nc", y_range=(80, 85))


def test_overflow_on_cast_and_infinite_values_refused() -> None:
    big = np.full((3, 2, 2), 1e300)
    with pytest.raises(ValueError, match="overflow float32"):
        from_arrays(big, big)
    arr = np.zeros((3, 2, 2))
    arr[1, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        from_arrays(arr, np.zeros_like(arr))


def test_unknown_dimension_and_bad_arguments(tmp_path: Path) -> None:
    ds = xr.Dataset({"u": (("time", "ens", "lat", "lon"), np.zeros((3, 2, 2, 2))),
                     "v": (("time", "ens", "lat", "lon"), np.zeros((3, 2, 2, 2)))})
    with pytest.raises(ValueError, match="'ens'.*unrecognised"):
        from_xarray(ds)
    with pytest.raises(TypeError, match="Dataset"):
        from_xarray(ds["u"])
    with pytest.raises(ValueError, match="same shape"):
        from_arrays(np.zeros((2, 3, 3)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="dims="):
        from_arrays(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), dims=("time", "y"))
    with pytest.raises(FileNotFoundError):
        open_flow(tmp_path / "absent.nc")
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file at all")
    with pytest.raises(ValueError, match="netCDF"):
        open_flow(tmp_path / "junk.nc")


def test_levels_become_samples_with_per_level_scales() -> None:
    rng = np.random.default_rng(1)
    u = rng.normal(size=(24, 3, 4, 5)) * np.array([1.0, 5.0, 20.0])[None, :, None, None]
    dims = ("time", "plev", "lat", "lon")
    ds = xr.Dataset({"uwnd": (dims, u), "vwnd": (dims, u)}, coords={"plev": [1000.0, 500.0, 200.0]})
    rec = from_xarray(ds)
    assert rec.fields.shape == (3, 24, 2, 4, 5) and rec.samples.tolist() == [1000.0, 500.0, 200.0]
    np.testing.assert_allclose(rec.fields[2, :, 0].numpy(), u[:, 2], rtol=1e-6)
    one = from_xarray(ds, level=500.0)
    assert one.fields.shape == (1, 24, 2, 4, 5)
    np.testing.assert_allclose(one.fields[0, :, 1].numpy(), u[:, 1], rtol=1e-6)
    data = split_record(rec, input_length=3, target_length=2, eval_steps=2, valid=0.25, test=0.25,
                        per_sample_scale=True)
    scales = data.meta["scale"]
    assert len(scales) == 3 and 10 < scales[2] / scales[0] < 40


def test_from_arrays_axis_names_mask_fill_and_units() -> None:
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, 4, 3, 5))  # stored as (time, x, y)? no: named below
    u_xyT = np.transpose(u, (2, 1, 0))  # (x=5, y=3, time=4)
    v_xyT = np.transpose(v, (2, 1, 0))
    rec = from_arrays(u_xyT, v_xyT, dims=("x", "y", "time"))
    np.testing.assert_allclose(rec.fields[0].numpy(), np.stack([u, v], axis=1), rtol=1e-6)
    u2 = u.copy()
    u2[0, 1, 2] = -9999.0
    mask = np.ones((3, 5), bool)
    mask[0, 0] = False
    rec = from_arrays(u2, v, fill_value=-9999.0, mask=mask, y=[30.0, 20.0, 10.0], units="cm/s")
    assert not rec.valid[0, 0, 1, 2] and not bool(rec.mask[2, 0])  # y flipped: old row 0 is row 2
    np.testing.assert_allclose(rec.fields[0, 1, :, 0, 0].numpy(), [u[1, 2, 0] / 100, v[1, 2, 0] / 100],
                               rtol=1e-6)
    assert rec.units == "m/s"


def test_vector_normaliser_keeps_vectors_vectors() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 5, 2, 6, 6, generator=g, dtype=torch.float64)
    f[1] *= 10
    norm = VectorNormalizer.fit(f)
    assert norm.scale.shape == (1,)
    assert abs(float(norm.scale) - float(f.pow(2).mean().sqrt())) < 1e-12
    x = f[0, 0]
    assert torch.allclose(norm.normalize(rot90_field(x, 1)), rot90_field(norm.normalize(x), 1))
    assert torch.allclose(norm.denormalize(norm.normalize(f)), f)
    per = VectorNormalizer.fit(f, per_sample=True)
    assert per.scale.shape == (2,) and 8 < float(per.scale[1] / per.scale[0]) < 12
    assert torch.allclose(per.normalize(f, sample_dim=0).pow(2).mean(dim=(1, 2, 3, 4)), torch.ones(2,
                          dtype=torch.float64))
    assert VectorNormalizer.from_dict(per.to_dict()).scale.tolist() == per.scale.tolist()
    with pytest.raises(ValueError, match="positive"):
        VectorNormalizer(torch.tensor([0.0]))


def _record(frames: int = 60, samples: int = 1, seed: int = 0, monthly: bool = True) -> FlowRecord:
    g = np.random.default_rng(seed)
    u = g.normal(size=(samples, frames, 4, 4))
    v = g.normal(size=(samples, frames, 4, 4))
    months = np.datetime64("2000-01") + np.arange(frames)
    times = months.astype("datetime64[ns]") + np.timedelta64(14, "D") if monthly else None
    return from_arrays(u, v, dims=("sample", "time", "y", "x"), times=times)


def test_record_splits_never_share_frames_and_follow_dates() -> None:
    rec = _record(60)
    data = split_record(rec, input_length=4, target_length=2, eval_steps=3, valid=0.2, test=0.25)
    used = {}
    for name, ds in data.splits.items():
        frames = {t + k for _, t in ds.index for k in range(ds.input_length + ds.target_length)}
        used[name] = frames
        assert len(ds) > 0
    for a, b in itertools.combinations(used, 2):
        assert not used[a] & used[b], (a, b)
    assert max(used["train"]) < min(used["valid"]) <= max(used["valid"]) < min(used["test_future"])
    # by date (inclusive) with a gap
    d2 = split_record(rec, input_length=4, target_length=2, eval_steps=3, valid=("2002-01", "2002-12"),
                      test=("2003-07", "2004-12"), gap=2)
    assert d2.meta["blocks"]["valid"] == [(24, 36)] and d2.meta["blocks"]["test"] == [(42, 60)]
    assert d2.meta["blocks"]["train"] == [(0, 22), (38, 40)]
    with pytest.raises(KeyError, match="no held-out region"):
        d2.splits["test_domain"]
    with pytest.raises(ValueError, match="too short for one window"):
        split_record(rec, input_length=10, target_length=2, eval_steps=3, valid=0.1, test=0.2)
    with pytest.raises(ValueError, match="overlap"):
        time_blocks(rec, valid=(10, 20), test=(15, 30))
    with pytest.raises(ValueError, match="fraction"):
        time_blocks(rec, valid=1.5)


def test_record_normaliser_from_training_block_only() -> None:
    rec = _record(60)
    rec.fields[:, 50:] *= 100  # a huge test period must not change the scale
    data = split_record(rec, input_length=4, target_length=2, eval_steps=3, valid=0.2, test=0.2)
    train_frames = [t for a, b in data.meta["blocks"]["train"] for t in range(a, b)]
    expect = float(rec.fields[0, train_frames].double().pow(2).mean().sqrt())
    assert abs(data.meta["scale"] - expect) < 1e-9 * expect
    norm = data.meta["normalizer"]
    assert torch.allclose(norm.denormalize(data.fields), rec.fields, rtol=1e-5)
    assert abs(float(rec.normalizer(train_frames).scale) - expect) < 1e-9 * expect
    assert torch.allclose(data.fields * data.meta["scale"], rec.fields, rtol=1e-5)


def test_regions_as_domains_and_masks_in_windows() -> None:
    recs = [_record(40, seed=s) for s in range(3)]
    recs[2].valid[0, :, 0, 0] = False
    recs[2].mask[0, 0] = False
    rec = stack_records(recs, names=["a", "b", "c"])
    assert rec.fields.shape[0] == 3 and not bool(rec.mask[0, 0]) and int(rec.mask.sum()) == 15
    data = split_record(rec, input_length=4, target_length=2, eval_steps=3, valid=0.2, test=0.25,
                        test_domains=[1])
    assert data.splits["test_domain"].simulations == [1]
    assert data.splits["train"].simulations == [0, 2]
    for ds in data.splits.values():
        assert ds.mask is not None and not bool(ds.mask[0, 0])
    assert {t for _, t in data.splits["test_domain"].index} <= set(range(30, 40))


def test_masked_cells_never_reach_the_score() -> None:
    """Masks end to end: holes in the file do not change a forecaster's score on the valid cells."""
    from aeqkit.models import build
    from aeqkit.train import evaluate

    g = np.random.default_rng(2)
    u, v = g.normal(size=(2, 30, 5, 6))
    holes = u.copy()
    holes[:, 1, 2] = -9999.0  # a land cell
    holes[7, 4, 5] = -9999.0  # one missing report
    rec = from_arrays(holes, v, fill_value=-9999.0)
    assert int((~rec.mask).sum()) == 2
    data = split_record(rec, input_length=3, target_length=2, eval_steps=2, valid=0.2, test=0.3,
                        normalize=False)
    ds = data.splits["test_future"]
    assert ds.mask is not None and torch.equal(ds.mask, rec.mask)
    model = build("persistence", input_frames=3)
    got = evaluate(model, ds, steps=2).rmse
    m = rec.mask.numpy()
    sq = [((np.stack([u, v], 1)[t + 3:t + 5] - np.stack([u, v], 1)[t + 2]) ** 2)[..., m] for _, t in ds.index]
    assert abs(got - float(np.sqrt(np.mean(sq)))) < 1e-6


def test_climatology_beats_persistence_on_a_seasonal_record() -> None:
    frames = 96
    phase = np.arange(frames) % 12
    base = np.sin(2 * np.pi * phase / 12)[:, None, None] * np.ones((frames, 4, 4))
    rec = from_arrays(base, np.cos(2 * np.pi * phase / 12)[:, None, None] * np.ones((frames, 4, 4)),
                      times=np.arange("2000-01", "2008-01", dtype="datetime64[M]").astype("datetime64[ns]"))
    data = split_record(rec, input_length=4, target_length=2, eval_steps=3, valid=0.15, test=0.25)
    clim = climatology_forecast(data, "test_future")
    assert clim["rmse"] < 1e-12 and clim["steps"] == 3
    assert clim["num_samples"] == len(data.splits["test_future"])
    ds = data.splits["test_future"]
    persist = np.sqrt(np.mean([float((y - x[-1]).pow(2).mean()) for x, y in ds]))
    assert persist > 0.1


def test_largest_valid_window_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(25):
        m = rng.random((6, 7)) > 0.25
        if not m.any():
            continue
        for square in (False, True):
            r0, r1, c0, c1 = largest_valid_window(m, square=square)
            assert m[r0:r1, c0:c1].all()
            best = 0
            for a, b, c, d in itertools.product(range(6), range(1, 7), range(7), range(1, 8)):
                if a < b and c < d and m[a:b, c:d].all() and (not square or b - a == d - c):
                    best = max(best, (b - a) * (d - c))
            assert (r1 - r0) * (c1 - c0) == best
            if square:
                assert r1 - r0 == c1 - c0
    with pytest.raises(ValueError, match="no valid"):
        largest_valid_window(np.zeros((3, 3), bool))


def test_regrid_isotropic_exact_on_linear_fields_and_crop() -> None:
    lat = np.arange(30.0, 50.01, 2.5)
    lon = np.arange(200.0, 230.01, 2.5)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    u = np.broadcast_to(lo, (3, *lo.shape)).copy()
    v = np.broadcast_to(la, (3, *la.shape)).copy()
    rec = from_arrays(u, v, y=lat, x=lon, coord_units={"y": "degrees_north", "x": "degrees_east"})
    assert rec.is_latlon and abs(rec.anisotropy() - np.cos(np.radians(40))) < 1e-9
    out = regrid_isotropic(rec, size=6)
    assert out.fields.shape == (1, 3, 2, 6, 6) and abs(out.anisotropy() - 1) < 1e-12
    assert np.allclose(np.diff(out.y), np.diff(out.x)[0]) and np.allclose(np.diff(out.x), np.diff(out.x)[0])
    k = np.pi / 180 * 6371.0
    lon_t = 215.0 + out.x / (k * np.cos(np.radians(40.0)))
    lat_t = 40.0 + out.y / k
    np.testing.assert_allclose(out.fields[0, 0, 0].numpy(), np.broadcast_to(lon_t, (6, 6)), rtol=1e-5)
    np.testing.assert_allclose(out.fields[0, 0, 1].numpy(), np.broadcast_to(lat_t[:, None], (6, 6)),
                               rtol=1e-5)
    assert any("isotropic" in n for n in out.notes)
    c = crop(rec, (1, 4), (2, 6))
    assert c.fields.shape == (1, 3, 2, 3, 4) and c.y.tolist() == lat[1:4].tolist()
    with pytest.raises(ValueError, match="lat-lon"):
        regrid_isotropic(from_arrays(u, v))


def test_navy_winds_path_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aeqkit.data.records import navy_winds_path

    monkeypatch.setenv("AEQKIT_NAVY_WINDS", str(tmp_path / "absent.cdf"))
    assert navy_winds_path() is None
    (tmp_path / "here.cdf").write_bytes(b"x")
    monkeypatch.setenv("AEQKIT_NAVY_WINDS", str(tmp_path / "here.cdf"))
    assert navy_winds_path() == tmp_path / "here.cdf"


def test_anisotropic_grid_is_noted_by_split_record() -> None:
    lat = np.arange(40.0, 60.01, 2.5)
    lon = np.arange(0.0, 20.01, 2.5)
    u = np.random.default_rng(0).normal(size=(40, len(lat), len(lon)))
    rec = from_arrays(u, u, y=lat, x=lon, coord_units={"y": "degrees_north", "x": "degrees_east"})
    data = split_record(rec, input_length=4, target_length=2, eval_steps=2)
    assert any("anisotropic" in n and "regrid_isotropic" in n for n in data.meta["notes"])
    iso = split_record(regrid_isotropic(rec), input_length=4, target_length=2, eval_steps=2)
    assert not any("anisotropic" in n for n in iso.meta["notes"])


@pytest.mark.skipif(not NAVY.exists(), reason=f"{NAVY} missing (apt-get install ferret-datasets)")
def test_navy_winds_file() -> None:
    rec = open_flow(NAVY)
    assert rec.fields.shape == (1, 132, 2, 73, 144) and rec.period == 12 and rec.periodic_x
    assert rec.phase[:13].tolist() == list(range(12)) + [0]
    assert bool(rec.mask.all()) and float(rec.fields.abs().max()) < 60
    assert rec.y[0] == -90 and rec.y[-1] == 90
