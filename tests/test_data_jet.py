"""Tests for aeqkit.data.jet: the synthetic PIV-like jet and the real-PIV loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import netcdf_file

from aeqkit.data.jet import JetConfig, generate_jet, jet_stations, load_piv, piv_dataset


def _arr(T: int = 12, H: int = 6, W: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(T, 2, H, W)).astype(np.float32)


def _write_nc(path: Path, **variables: np.ndarray) -> None:
    with netcdf_file(path, "w") as f:
        shape = next(iter(variables.values())).shape
        dims = ("time", "component", "y", "x") if len(shape) == 4 else ("time", "y", "x")
        for name, size in zip(dims, shape):
            f.createDimension(name, size)
        for name, val in variables.items():
            v = f.createVariable(name, "f", dims[: val.ndim])
            v[:] = val


def test_load_piv_formats(tmp_path: Path) -> None:
    a = _arr()
    np.savez(tmp_path / "w.npz", velocity=a, other=np.zeros(3))
    np.savez(tmp_path / "single.npz", a)
    torch.save(torch.from_numpy(a), tmp_path / "w.pt")
    torch.save({"velocity": torch.from_numpy(a)}, tmp_path / "d.pt")
    _write_nc(tmp_path / "w.nc", velocity=a)
    _write_nc(tmp_path / "uv.nc", u=a[:, 0], v=a[:, 1])
    for name in ("w.npz", "single.npz", "w.pt", "d.pt", "w.nc", "uv.nc"):
        out = load_piv(tmp_path / name)
        assert out.shape == (12, 2, 6, 5) and out.dtype == torch.float32, name
        np.testing.assert_array_equal(out.numpy(), a)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: np.savez(p / "x.npz", velocity=np.zeros((4, 2, 3))), "rank 4"),
        (lambda p: np.savez(p / "x.npz", velocity=np.zeros((4, 3, 3, 3))), "2 velocity channels"),
        (lambda p: np.savez(p / "x.npz", velocity=np.full((4, 2, 3, 3), np.nan)), "NaN or inf"),
        (lambda p: np.savez(p / "x.npz", velocity=np.full((4, 2, 3, 3), np.inf)), "NaN or inf"),
        (lambda p: np.savez(p / "x.npz", speed=np.zeros((4, 2, 3, 3)), vort=np.zeros(2)), "velocity"),
        (lambda p: np.savez(p / "x.npz", velocity=np.array([["a"]] * 2)), "real numbers"),
        (lambda p: torch.save({"vel": torch.zeros(4, 2, 3, 3)}, p / "x.pt"), "velocity"),
        (lambda p: _write_nc(p / "x.nc", w=np.zeros((4, 3, 3), np.float32)), "'u' and 'v'"),
        (lambda p: (p / "x.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64)), "netCDF 3 / 4"),
        (lambda p: (p / "x.csv").write_text("1,2"), "unknown extension"),
    ],
)
def test_load_piv_errors(tmp_path: Path, make, match: str) -> None:
    make(tmp_path)
    (path,) = list(tmp_path.iterdir())
    with pytest.raises(ValueError, match=match):
        load_piv(path)


def test_load_piv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_piv(tmp_path / "none.npz")


def test_piv_dataset(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        np.savez(tmp_path / f"r{i}.npz", velocity=_arr(T=60, seed=i))
        paths.append(tmp_path / f"r{i}.npz")
    data = piv_dataset(paths, eval_steps=5, target_length=3)
    assert data.fields.shape == (5, 60, 2, 6, 5) and not data.meta["synthetic"]
    assert len(data.meta["test_domain_sims"]) == 1
    x, y = data.splits["test_future"][0]
    assert x.shape == (10, 2, 6, 5) and y.shape == (5, 2, 6, 5)
    np.savez(tmp_path / "odd.npz", velocity=_arr(T=30))
    with pytest.raises(ValueError, match="same shape"):
        piv_dataset(paths + [tmp_path / "odd.npz"])


def _write_nc4(path: Path, u: np.ndarray, v: np.ndarray, dims: tuple[str, ...], *, dtype: str = "f4",
               attrs: dict | None = None, fill: float | None = None, y: np.ndarray | None = None) -> None:
    """u, v given as (time, y, x), stored raw in the axis order ``dims`` (no automatic packing)."""
    import netCDF4

    attrs = dict(attrs or {})
    sizes = dict(zip(("time", "y", "x"), u.shape))
    perm = [("time", "y", "x").index(d) for d in dims]
    with netCDF4.Dataset(path, "w", format="NETCDF4") as nc:
        for d in dims:
            nc.createDimension(d, sizes[d])
        if y is not None:
            nc.createVariable("y", "f8", ("y",))[:] = y
        for name, val in (("u", u), ("v", v)):
            raw = val.astype(np.float64)
            if "scale_factor" in attrs:
                raw = np.round((raw - attrs.get("add_offset", 0.0)) / attrs["scale_factor"])
            if fill is not None:
                raw = np.where(np.isnan(raw), fill, raw)
            var = nc.createVariable(name, dtype, dims, fill_value=fill)
            var.set_auto_maskandscale(False)
            for k, a in attrs.items():
                var.setncattr(k, a)
            var[:] = np.transpose(raw, perm).astype(dtype)


def test_load_piv_netcdf_decodes_scale_factor(tmp_path: Path) -> None:
    """Issue 13 item 1: an int16 variable with scale_factor 1e-3 used to load 1000x too large."""
    a = _arr(T=4, H=3, W=4)
    _write_nc4(tmp_path / "p.nc", a[:, 0], a[:, 1], ("time", "y", "x"), dtype="i2",
               attrs={"scale_factor": 1e-3, "add_offset": 0.0})
    out = load_piv(tmp_path / "p.nc")
    np.testing.assert_allclose(out.numpy(), a, atol=6e-4)


@pytest.mark.parametrize("dims", [("time", "x", "y"), ("y", "x", "time"), ("x", "time", "y")])
def test_load_piv_netcdf_dimensions_by_name(tmp_path: Path, dims: tuple[str, ...]) -> None:
    """Issue 13 item 1: (time, x, y) used to load transposed and (y, x, time) with a wrong shape."""
    a = _arr(T=4, H=3, W=5)
    _write_nc4(tmp_path / "p.nc", a[:, 0], a[:, 1], dims)
    out = load_piv(tmp_path / "p.nc")
    assert out.shape == (4, 2, 3, 5)
    np.testing.assert_array_equal(out.numpy(), a)


def test_load_piv_netcdf_descending_y_made_ascending(tmp_path: Path) -> None:
    a = _arr(T=3, H=4, W=2)
    _write_nc4(tmp_path / "p.nc", a[:, 0], a[:, 1], ("time", "y", "x"), y=np.array([3.0, 2.0, 1.0, 0.0]))
    np.testing.assert_array_equal(load_piv(tmp_path / "p.nc").numpy(), a[:, :, ::-1])


@pytest.mark.parametrize("fill", [-9999.0, 9.969209968386869e36])
def test_fill_values_refused_by_load_piv_and_masked_by_piv_dataset(tmp_path: Path, fill: float) -> None:
    """Issue 13 item 1: _FillValue holes used to load as velocities and pass the finiteness check."""
    paths = []
    for i in range(2):
        a = _arr(T=60, H=3, W=4, seed=i).astype(np.float64)
        a[7, :, 1, 2] = np.nan
        _write_nc4(tmp_path / f"p{i}.nc", a[:, 0], a[:, 1], ("time", "y", "x"), fill=fill)
        paths.append(tmp_path / f"p{i}.nc")
    with pytest.raises(ValueError, match="1 missing vectors"):
        load_piv(paths[0])
    data = piv_dataset(paths, eval_steps=5, target_length=3)
    mask = data.meta["mask"]
    assert not bool(mask[1, 2]) and int(mask.sum()) == 11
    assert float(data.fields.abs().max()) < 100
    assert all(ds.mask is not None and not bool(ds.mask[1, 2]) for ds in data.splits.values())


def test_load_piv_float64_overflow_on_cast_refused(tmp_path: Path) -> None:
    """Issue 13 item 1: a float64 .npz around 1e300 used to overflow to inf in the float32 cast."""
    np.savez(tmp_path / "big.npz", velocity=np.full((4, 2, 3, 3), 1e300))
    with pytest.raises(ValueError, match="overflow float32"):
        load_piv(tmp_path / "big.npz")


def test_single_piv_file_has_no_silent_empty_test_domain(tmp_path: Path) -> None:
    """Issue 13 item 10: one PIV file used to give an empty test-domain split."""
    np.savez(tmp_path / "one.npz", velocity=_arr(T=60))
    data = piv_dataset([tmp_path / "one.npz"], eval_steps=5, target_length=3)
    assert "test_domain" not in data.splits and data.meta["test_domain_sims"] == []
    assert "one PIV file" in data.meta["test_domain_note"]
    with pytest.raises(KeyError, match="no held-out region"):
        data.splits["test_domain"]
    assert all(len(data.splits[k]) > 0 for k in ("train", "valid", "test_future"))


def test_piv_splits_share_no_frame(tmp_path: Path) -> None:
    """Validation is a contiguous block (not a random 10% of overlapping windows)."""
    paths = []
    for i in range(3):
        np.savez(tmp_path / f"r{i}.npz", velocity=_arr(T=80, seed=i))
        paths.append(tmp_path / f"r{i}.npz")
    data = piv_dataset(paths, eval_steps=5, target_length=3, test_domain_sims=[2])
    frames = {k: {t + j for s, t in ds.index for j in range(ds.input_length + ds.target_length)}
              for k, ds in data.splits.items() if k != "test_domain"}
    assert not frames["train"] & frames["valid"] and not frames["valid"] & frames["test_future"]
    assert not frames["train"] & frames["test_future"]
    assert data.splits["test_domain"].simulations == [2] and 2 not in data.splits["train"].simulations
    # targets of test-future windows are the last 25% of the frames
    assert min(t + ds.input_length for ds in [data.splits["test_future"]] for _, t in ds.index) == 60


def test_stations_are_mirror_pairs() -> None:
    cfg = JetConfig.from_profile("quick")
    st = jet_stations(cfg)
    assert len(st) == 24
    wh, ww = cfg.window_shape
    assert (wh, ww) == (62, 23)
    for s in st:
        assert 0 <= s["col0"] and s["col0"] + ww <= cfg.width and s["row0"] + wh <= cfg.height
    for a in range(8):
        left, mid, right = (next(s for s in st if s["axial"] == a and s["side"] == k) for k in (-1, 0, 1))
        assert left["col0"] + right["col0"] + ww == cfg.width  # mirror images about the axis
        assert 2 * mid["col0"] + ww == cfg.width


def test_bad_jet_config() -> None:
    with pytest.raises(ValueError, match="odd"):
        JetConfig(width=40)
    with pytest.raises(ValueError, match="asymmetry"):
        JetConfig(asymmetry=-1.0)
    with pytest.raises(ValueError, match="profile"):
        JetConfig.from_profile("huge")


@pytest.mark.slow
def test_synthetic_jet_windows_and_asymmetry_knob() -> None:
    small = dict(width=27, height=67, frames=3, warmup=5, noise=0.02)
    d0, m0 = generate_jet(JetConfig(asymmetry=0.0, **small), progress=False)
    d1, m1 = generate_jet(JetConfig(asymmetry=0.6, **small), progress=False)
    f = d0["fields"]
    assert f.shape == (24, 3, 2, 62, 23) and f.dtype == torch.float32 and bool(torch.isfinite(f).all())
    assert m0["synthetic"] and "SYNTHETIC" in m0["note"] and "SYNTHETIC" in repr(JetConfig())
    # a fast stream enters: strong upward velocity in the lowest centred window
    assert float(f[1, -1, 1].max()) > 0.5 * 1.5
    # measurement noise is present but small
    assert 0 < m0["clean_velocity_rms"]
    assert m1["reflection_error"] > 3 * m0["reflection_error"]
