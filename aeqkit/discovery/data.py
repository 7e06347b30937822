"""Data for symmetry discovery: 2-body (Kepler) trajectories, a ring toy and flow-field pairs.

Every builder returns a :class:`PairData`: input/output pairs ``(x, y)`` whose last axis is a
stack of ``n_dim``-vectors the group acts on, a train/test split and (when known) the true
generator. The 2-body layout follows LieGAN (features ``[q1, q2, p1, p2]``, each a 2-vector, at
every time step), whose true symmetry is SO(2) acting on each 2-vector.

See also: notebook 05, section 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from aeqkit.discovery.generator import so2_generator

__all__ = ["PairData", "make_two_body", "make_ring", "flow_pairs", "check_pairs", "SPLITS"]

SPLITS = ("orientation", "random")


@dataclass
class PairData:
    """Input/output pairs for discovery and downstream prediction.

    Shape:
        x_train: (N, T_in, D_x); y_train: (N, T_out, D_y); x_test, y_test likewise;
        true_generator: (n_dim, n_dim) or None
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_dim: int
    true_generator: torch.Tensor | None
    name: str = ""


def check_pairs(x: torch.Tensor, y: torch.Tensor, n_dim: int | None = None) -> None:
    """Raise ``ValueError`` unless ``x, y`` are finite float tensors of matching batch size whose
    last axes are multiples of ``n_dim``.

    Shape:
        x: (N, ..., k n_dim); y: (N, ..., m n_dim)
    """
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point torch.Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"{name} must have shape (N, ..., D), got {tuple(t.shape)}")
        if not bool(torch.isfinite(t).all()):
            n_bad = int((~torch.isfinite(t)).sum())
            raise ValueError(f"{name} contains {n_bad} non-finite values; expected finite data")
        if n_dim is not None and t.shape[-1] % n_dim != 0:
            raise ValueError(
                f"last axis of {name} has size {t.shape[-1]}, expected a multiple of n_dim={n_dim}"
            )
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {x.shape[0]} and "
                         f"{y.shape[0]}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 samples, got {x.shape[0]}")


def _kepler_rk4(r: np.ndarray, v: np.ndarray, dt: float, n_steps: int, substeps: int,
                gm: float) -> tuple[np.ndarray, np.ndarray]:
    """Integrate ``r'' = -gm r / |r|^3`` for all trajectories at once (RK4). Returns (T, N, 2) x2."""

    def acc(rr: np.ndarray) -> np.ndarray:
        d = np.linalg.norm(rr, axis=-1, keepdims=True)
        return -gm * rr / d**3

    h = dt / substeps
    rs, vs = [r.copy()], [v.copy()]
    for _ in range(n_steps - 1):
        for _ in range(substeps):
            k1r, k1v = v, acc(r)
            k2r, k2v = v + 0.5 * h * k1v, acc(r + 0.5 * h * k1r)
            k3r, k3v = v + 0.5 * h * k2v, acc(r + 0.5 * h * k2r)
            k4r, k4v = v + h * k3v, acc(r + h * k3r)
            r = r + h / 6 * (k1r + 2 * k2r + 2 * k3r + k4r)
            v = v + h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        rs.append(r.copy())
        vs.append(v.copy())
    return np.stack(rs), np.stack(vs)


def _windows(traj: np.ndarray, input_steps: int, output_steps: int) -> tuple[np.ndarray, ...]:
    """Sliding windows over (N, T, D) trajectories -> (M, T_in, D), (M, T_out, D)."""
    n, t, _ = traj.shape
    xs, ys = [], []
    for s in range(t - input_steps - output_steps + 1):
        xs.append(traj[:, s:s + input_steps])
        ys.append(traj[:, s + input_steps:s + input_steps + output_steps])
    return np.concatenate(xs), np.concatenate(ys)


def make_two_body(
    n_trajectories: int = 200,
    n_steps: int = 50,
    t_end: float = 20.0,
    input_steps: int = 1,
    output_steps: int = 1,
    orbit_noise: float = 0.05,
    radius_range: tuple[float, float] = (0.5, 1.5),
    test_fraction: float = 0.25,
    split: str = "orientation",
    seed: int = 0,
) -> PairData:
    """Near-circular 2-body (Kepler) orbits, equal unit masses, G = 1, centre-of-mass frame.

    Each body starts at distance ``ρ ~ U(radius_range)`` from the centre of mass at angle ``φ_0``
    with the circular speed scaled by ``1 + orbit_noise * N(0, 1)`` (as in the HNN/LieGAN data),
    integrated with RK4 and cut into sliding windows. ``split="orientation"`` puts trajectories
    whose initial angle ``φ_0`` lies in the last ``test_fraction`` of the circle in the test set
    (so with short trajectories the test orientations are unseen); ``"random"`` splits at random.

    Features per time step: ``[q1x, q1y, q2x, q2y, p1x, p1y, p2x, p2y]``; true generator: the
    rotation generator on each of the four 2-vectors (``n_dim = 8``).

    Shape:
        x_*: (N, input_steps, 8); y_*: (N, output_steps, 8)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if n_trajectories < 4 or n_steps < input_steps + output_steps or input_steps < 1 \
            or output_steps < 1:
        raise ValueError(
            f"need n_trajectories >= 4 and n_steps >= input_steps + output_steps (>= 1 each), got "
            f"{n_trajectories}, {n_steps}, {input_steps}, {output_steps}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    lo, hi = radius_range
    if not 0 < lo <= hi:
        raise ValueError(f"radius_range must satisfy 0 < low <= high, got {radius_range}")
    rng = np.random.default_rng(seed)
    rho = rng.uniform(lo, hi, n_trajectories)
    phi0 = rng.uniform(0, 2 * math.pi, n_trajectories)
    d = 2 * rho  # separation
    gm = 2.0  # G (m1 + m2)
    speed = np.sqrt(gm / d) * (1 + orbit_noise * rng.standard_normal(n_trajectories))
    er = np.stack([np.cos(phi0), np.sin(phi0)], -1)
    et = np.stack([-np.sin(phi0), np.cos(phi0)], -1)
    r0, v0 = d[:, None] * er, speed[:, None] * et
    dt = t_end / max(n_steps - 1, 1)
    substeps = max(1, int(math.ceil(dt / 0.02)))
    r, v = _kepler_rk4(r0, v0, dt, n_steps, substeps, gm)  # (T, N, 2)
    q1, q2, p1, p2 = 0.5 * r, -0.5 * r, 0.5 * v, -0.5 * v
    traj = np.concatenate([q1, q2, p1, p2], -1).transpose(1, 0, 2)  # (N, T, 8)
    if split == "orientation":
        test = phi0 >= 2 * math.pi * (1 - test_fraction)
    else:
        test = np.zeros(n_trajectories, bool)
        test[rng.permutation(n_trajectories)[: max(1, int(round(test_fraction * n_trajectories)))]] \
            = True
    xtr, ytr = _windows(traj[~test], input_steps, output_steps)
    xte, yte = _windows(traj[test], input_steps, output_steps)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32)

    return PairData(t(xtr), t(ytr), t(xte), t(yte), n_dim=8, true_generator=so2_generator(4),
                    name="two_body")


def make_ring(
    n_samples: int = 2000,
    breaking: float = 0.0,
    ellipticity: float = 0.0,
    noise: float = 0.1,
    omega: float = 0.5,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> PairData:
    """A 2D ring toy whose rotational symmetry can be broken by a knob.

    Points ``x`` lie on a noisy unit ring with angular density ``∝ 1 + breaking * cos(2θ)``
    (``breaking`` in [0, 1]; 0 is exactly SO(2)-invariant, 1 empties the y axis) and the ring is
    stretched by ``(1 + ellipticity, 1 / (1 + ellipticity))``. The target is the next position under
    a rigid rotation flow, ``y = R_omega x``, which commutes with every rotation: only the input
    distribution breaks the symmetry.

    Shape:
        x_*: (N, 1, 2); y_*: (N, 1, 2)
    """
    if not 0 <= breaking <= 1:
        raise ValueError(f"breaking must be in [0, 1], got {breaking}")
    if ellipticity < 0 or noise < 0:
        raise ValueError(f"ellipticity and noise must be >= 0, got {ellipticity}, {noise}")
    if n_samples < 8:
        raise ValueError(f"n_samples must be >= 8, got {n_samples}")
    rng = np.random.default_rng(seed)
    theta = np.empty(0)
    while theta.size < n_samples:  # rejection sampling of the angular density
        cand = rng.uniform(0, 2 * math.pi, 2 * n_samples)
        keep = rng.uniform(0, 1 + breaking, cand.size) < 1 + breaking * np.cos(2 * cand)
        theta = np.concatenate([theta, cand[keep]])
    theta = theta[:n_samples]
    radius = 1 + noise * rng.standard_normal(n_samples)
    pts = np.stack([radius * np.cos(theta), radius * np.sin(theta)], -1)
    pts *= np.array([1 + ellipticity, 1 / (1 + ellipticity)])
    rot = np.array([[math.cos(omega), -math.sin(omega)], [math.sin(omega), math.cos(omega)]])
    nxt = pts @ rot.T
    x = torch.as_tensor(pts, dtype=torch.float32)[:, None]
    y = torch.as_tensor(nxt, dtype=torch.float32)[:, None]
    n_test = max(1, int(round(test_fraction * n_samples)))
    return PairData(x[n_test:], y[n_test:], x[:n_test], y[:n_test], n_dim=2,
                    true_generator=so2_generator(1), name="ring")


def flow_pairs(
    frames: torch.Tensor,
    n_samples: int = 2000,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> PairData:
    """Pairs from a velocity field sequence: (position, velocity now) -> velocity next frame.

    At random times ``t`` and grid points, ``x = [p_x, p_y, u_t, v_t]`` with the position ``p``
    measured from the domain centre in units of half the larger side (x right = W axis, y up = H
    axis, DESIGN.md) and ``y = [u_{t+1}, v_{t+1}]`` at the same point. A rotation acts on both
    2-vectors of ``x`` and on ``y`` (``n_dim = 2``); for flows with isotropic statistics the true
    generator is the SO(2) one (given for comparison).

    Shape:
        frames: (T, 2, H, W); x_*: (N, 1, 4); y_*: (N, 1, 2)
    """
    if not isinstance(frames, torch.Tensor):
        frames = torch.as_tensor(frames)
    if frames.ndim != 4 or frames.shape[1] != 2 or frames.shape[0] < 2:
        raise ValueError(
            f"frames must have shape (T >= 2, 2, H, W) (a velocity field over time), got "
            f"{tuple(frames.shape)}"
        )
    if not bool(torch.isfinite(frames).all()):
        raise ValueError("frames contains non-finite values; expected finite velocities")
    if n_samples < 8:
        raise ValueError(f"n_samples must be >= 8, got {n_samples}")
    frames = frames.to(torch.float32)
    t_len, _, h, w = frames.shape
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, t_len - 1, (n_samples,), generator=g)
    i = torch.randint(0, h, (n_samples,), generator=g)
    j = torch.randint(0, w, (n_samples,), generator=g)
    half = max(h, w) / 2
    pos = torch.stack([(j - (w - 1) / 2) / half, (i - (h - 1) / 2) / half], -1).float()
    vel = frames[t, :, i, j]
    nxt = frames[t + 1, :, i, j]
    x = torch.cat([pos, vel], -1)[:, None]
    y = nxt[:, None]
    n_test = max(1, int(round(test_fraction * n_samples)))
    return PairData(x[n_test:], y[n_test:], x[:n_test], y[:n_test], n_dim=2,
                    true_generator=so2_generator(1), name="flow")
