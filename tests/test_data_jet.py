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
        (lambda p: (p / "x.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64)), "netCDF3"),
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
        np.savez(tmp_path / f"r{i}.npz", velocity=_arr(T=40, seed=i))
        paths.append(tmp_path / f"r{i}.npz")
    data = piv_dataset(paths, eval_steps=5, target_length=3)
    assert data.fields.shape == (5, 40, 2, 6, 5) and not data.meta["synthetic"]
    assert len(data.meta["test_domain_sims"]) == 1
    x, y = data.splits["test_future"][0]
    assert x.shape == (10, 2, 6, 5) and y.shape == (5, 2, 6, 5)
    np.savez(tmp_path / "odd.npz", velocity=_arr(T=30))
    with pytest.raises(ValueError, match="same shape"):
        piv_dataset(paths + [tmp_path / "odd.npz"])


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
