"""Smoke plume data sets with a controllable symmetry breaking, on PhiFlow 3.4 (paper Sec. 5.1-5.2).

All simulations of one set run as one PhiFlow batch (batch dimension ``sim``) on a square, closed box
of ``N x N`` cells: incompressible inviscid flow on a staggered grid, semi-Lagrangian advection of
velocity, MacCormack advection of smoke (semi-Lagrangian in the quick profile), a buoyancy force
``b · smoke · ê`` and a conjugate-gradient pressure projection, in float64. The simulation runs in
grid units (cell size 1, time step 1); a set-up with cell size ``Δx``, time step ``Δt`` and buoyancy
``b`` is *exactly* the grid-unit simulation with buoyancy ``b Δt² / Δx`` and physical velocity
``u = u_grid Δx / Δt``, which is how the scaling set is batched.

Sets (``SmokeConfig.kind``):

* ``"rotation"``: ``num_positions`` random base inflows in the lower part of the box, each rotated by
  the four elements ``k`` of C4 (inflow mask rotated with ``rot90`` about the box centre, buoyancy
  direction ``R_k (0, 1)``). Orientation ``k`` has buoyancy ``b0 (1 + breaking · c_k)`` with
  ``c = (-1, -1/3, 1/3, 1)``; ``breaking = 0`` is exactly C4-symmetric.
* ``"levels"``: the rotation set (same inflow positions) at the ten levels ``breaking = level ·
  level_step``, ``level = 0..9`` (Sec. 5.2), all 10 x 4 x ``num_positions`` simulations in one batch;
  ``aeqkit.data.load_dataset("smoke_levels", level=k)`` selects one level.
* ``"translation"``: ``num_positions`` inflows evenly spaced along the bottom (whole-cell shifts of the
  first one); the left and right halves of the box have buoyancy ``b0 (1 ∓ breaking / 2)``.
  The closed walls break translation symmetry too.
* ``"scaling"``: ``num_positions`` simulations with scale ``λ`` cycling through ``scales``:
  ``Δx = λ``, ``Δt = λ²`` and buoyancy ``b0 λ⁻³ (1 + breaking · z)``, ``z`` uniform in ``[-1, 1]``
  (seeded). With ``breaking = 0`` the simulations are exact copies under the Navier-Stokes scaling
  ``u_λ(x, t) = u(x/λ, t/λ²)/λ`` (on each simulation's own N x N grid: velocity arrays scaled by
  ``1/λ``, frames ``λ²`` apart in physical time); ``z`` varies the buoyancy to break it.

Outputs follow DESIGN.md: velocity interpolated to cell centres, ``(u, v)`` channels, row axis = y up
(``values.numpy('y,x')``), so ``aeqkit.groups`` rotations map the rotation set's simulations onto each
other (tested against PhiFlow in ``tests/test_physical_symmetry.py``).

See also: :func:`aeqkit.data.load_dataset`, ``data/README.md``, notebook 03 (smoke plumes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from aeqkit.equivariance import data_equivariance_error

__all__ = [
    "SmokeConfig",
    "SMOKE_KINDS",
    "NUM_LEVELS",
    "ROTATION_PATTERN",
    "disk_mask",
    "simulate_smoke",
    "smoke_setup",
    "generate_smoke",
    "rotation_set_error",
    "one_step_equivariance_error",
    "OneStepConfig",
]

SMOKE_KINDS = ("rotation", "translation", "scaling", "levels")
NUM_LEVELS = 10
#: Relative buoyancy offsets of the four C4 orientations in the rotation / levels sets.
ROTATION_PATTERN = (-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0)


@dataclass(frozen=True)
class SmokeConfig:
    """Everything that determines a smoke data set (hashed for the cache).

    Attributes:
        kind: ``"rotation"``, ``"translation"``, ``"scaling"`` or ``"levels"``.
        resolution: grid size ``N`` (the box is ``N x N`` cells).
        steps: saved frames per simulation (after ``warmup``).
        warmup: simulated steps dropped before the first saved frame.
        num_positions: rotation/levels: base inflows (each gives 4 simulations);
            translation/scaling: number of simulations.
        inflow_radius: inflow disk radius as a fraction of ``N``.
        inflow_rate: smoke added per step inside the inflow disk.
        buoyancy: base buoyancy factor ``b0`` (grid units).
        breaking: symmetry-breaking amount (see the module docstring), ``0 <= breaking < 1``.
        level_step: kind ``"levels"``: level ``k`` has ``breaking = k * level_step``.
        scales: the factors ``λ`` of the scaling set.
        tol: relative and absolute tolerance of the CG pressure solve.
        smoke_advection: ``"mac_cormack"`` (sharper) or ``"semi_lagrangian"`` (faster).
        seed: seed of inflow positions and random buoyancies.
    """

    kind: str = "rotation"
    resolution: int = 64
    steps: int = 100
    warmup: int = 4
    num_positions: int = 10
    inflow_radius: float = 0.07
    inflow_rate: float = 0.2
    buoyancy: float = 0.5
    breaking: float = 0.3
    level_step: float = 0.1
    scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0)
    tol: float = 1e-4
    smoke_advection: str = "mac_cormack"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SMOKE_KINDS:
            raise ValueError(f"unknown smoke set kind {self.kind!r}; accepted: {', '.join(SMOKE_KINDS)}")
        if not (isinstance(self.resolution, int) and self.resolution >= 8):
            raise ValueError(f"resolution must be an int >= 8, got {self.resolution!r}")
        if not (isinstance(self.steps, int) and self.steps >= 2):
            raise ValueError(f"steps must be an int >= 2, got {self.steps!r}")
        if not (isinstance(self.warmup, int) and self.warmup >= 0):
            raise ValueError(f"warmup must be an int >= 0, got {self.warmup!r}")
        if not (isinstance(self.num_positions, int) and self.num_positions >= 1):
            raise ValueError(f"num_positions must be an int >= 1, got {self.num_positions!r}")
        if not (0 <= self.breaking < 1):
            raise ValueError(f"breaking must lie in [0, 1), got {self.breaking!r}")
        if self.kind == "levels" and not (0 <= (NUM_LEVELS - 1) * self.level_step < 1):
            raise ValueError(f"level_step must lie in [0, 1/{NUM_LEVELS - 1}) so every level keeps positive "
                             f"buoyancy, got {self.level_step}")
        if not (0 < self.inflow_radius < 0.25):
            raise ValueError(f"inflow_radius must be a fraction of the box in (0, 0.25), "
                             f"got {self.inflow_radius}")
        if self.kind == "scaling" and (not self.scales or any(s <= 0 for s in self.scales)):
            raise ValueError(f"scales must be positive numbers, got {self.scales!r}")
        if self.smoke_advection not in ("mac_cormack", "semi_lagrangian"):
            raise ValueError(f"smoke_advection must be 'mac_cormack' or 'semi_lagrangian', "
                             f"got {self.smoke_advection!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be > 0, got {self.tol!r}")

    @property
    def name(self) -> str:
        """File-name stem of the cache, e.g. ``smoke_rotation``."""
        return f"smoke_{self.kind}"

    @property
    def group(self) -> str:
        """The aeqkit group name relating the simulations of this set."""
        return {"rotation": "C4", "levels": "C4", "translation": "translation_bounded",
                "scaling": "scaling"}[self.kind]


def disk_mask(resolution: int, center: tuple[float, float], radius: float) -> np.ndarray:
    """Cells whose centre lies within ``radius`` of ``center = (x, y)`` (grid units, origin at the
    lower-left corner, cell centres at ``i + 0.5``). Shape: ``(H, W)`` float32, row axis y up."""
    c = np.arange(resolution) + 0.5
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return (((xx - center[0]) ** 2 + (yy - center[1]) ** 2) <= radius**2).astype(np.float32)


def _rot90(a: np.ndarray, k: int) -> np.ndarray:
    """Counter-clockwise quarter turns on y-up arrays (``axes=(-1, -2)`` as in aeqkit.groups)."""
    return np.ascontiguousarray(np.rot90(a, k, axes=(-1, -2)))


def _rotate_vec(vec: Sequence[float], k: int) -> tuple[float, float]:
    th = k * math.pi / 2
    c, s = round(math.cos(th)), round(math.sin(th))
    return (c * vec[0] - s * vec[1], s * vec[0] + c * vec[1])


def simulate_smoke(
    inflow: np.ndarray,
    buoyancy: np.ndarray,
    steps: int,
    warmup: int = 0,
    tol: float = 1e-4,
    progress: bool = False,
    return_density: bool = False,
    desc: str = "smoke",
    smoke_advection: str = "mac_cormack",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Run a batch of smoke simulations in PhiFlow (grid units: Δx = Δt = 1, closed box).

    Args:
        inflow: smoke added per step, per cell (e.g. ``rate * disk_mask(...)``).
        buoyancy: buoyancy force per unit smoke as a vector field ``(bx, by)`` per cell.
        steps: saved frames (the state after each of ``steps`` steps following ``warmup``).
        warmup: steps simulated before the first saved frame.
        tol: relative and absolute tolerance of the CG pressure solve.
        progress: show a tqdm bar.
        return_density: also return the smoke density.
        smoke_advection: ``"mac_cormack"`` or ``"semi_lagrangian"`` (faster, more diffusive).

    Shape:
        ``inflow: (S, H, W)``, ``buoyancy: (S, 2, H, W)`` (both row axis y up) ->
        velocity ``(S, steps, 2, H, W)`` float32 at cell centres (and density ``(S, steps, 1, H, W)``).
    """
    from phi import flow as pf  # imported lazily: PhiFlow is slow to import

    inflow = np.asarray(inflow, dtype=np.float32)
    buoyancy = np.asarray(buoyancy, dtype=np.float32)
    if inflow.ndim != 3 or inflow.shape[-1] != inflow.shape[-2]:
        raise ValueError(f"inflow must have shape (S, N, N), got {inflow.shape}")
    S, N, _ = inflow.shape
    if buoyancy.shape != (S, 2, N, N):
        raise ValueError(f"buoyancy must have shape (S, 2, N, N) = {(S, 2, N, N)}, got {buoyancy.shape}")
    if not (np.isfinite(inflow).all() and np.isfinite(buoyancy).all()):
        raise ValueError("inflow and buoyancy must be finite")
    if smoke_advection not in ("mac_cormack", "semi_lagrangian"):
        raise ValueError(f"smoke_advection must be 'mac_cormack' or 'semi_lagrangian', "
                         f"got {smoke_advection!r}")
    with pf.math.precision(64):  # float64: the pressure solve converges reliably and symmetrically
        return _simulate(pf, inflow, buoyancy, steps, warmup, tol, progress, return_density, desc,
                         smoke_advection)


def _project(pf, velocity, pressure, rel_tol: float, abs_tol: float, max_iterations: int):
    """Pressure projection: Φ-ML CG (warm-started), falling back on the singular closed-box
    problem's occasional CG breakdown to CG with the constant null space removed, then SciPy's CG."""
    from phiml.math import ConvergenceException

    attempts = [dict(method="CG", x0=pressure), dict(method="CG", x0=None, rank_deficiency=1),
                dict(method="scipy-CG", x0=None)]
    for i, kw in enumerate(attempts):
        method = kw.pop("method")
        try:
            return pf.fluid.make_incompressible(
                velocity, (), pf.Solve(method, rel_tol, abs_tol, max_iterations=max_iterations, **kw))
        except ConvergenceException:
            if i == len(attempts) - 1:
                raise
    raise AssertionError("unreachable")


def _simulate(pf, inflow, buoyancy, steps, warmup, tol, progress, return_density, desc, smoke_advection,
              on_frame=None):
    S, N, _ = inflow.shape
    math_ = pf.math
    dom = dict(x=N, y=N, bounds=pf.Box(x=N, y=N))
    # PhiFlow's spatial order is (x, y): transpose the y-up (H, W) arrays
    src = math_.tensor(inflow.transpose(0, 2, 1).copy(), pf.batch("sim"), pf.spatial("x,y"))
    bvals = math_.tensor(buoyancy.transpose(0, 3, 2, 1).copy(), pf.batch("sim"), pf.spatial("x,y"),
                         pf.channel(vector="x,y"))
    inflow_grid = pf.CenteredGrid(src, pf.ZERO_GRADIENT, **dom)
    buoy_grid = pf.CenteredGrid(bvals, pf.ZERO_GRADIENT, **dom)
    smoke = pf.CenteredGrid(math_.zeros(pf.batch(sim=S), pf.spatial(x=N, y=N)), pf.ZERO_GRADIENT, **dom)
    velocity = pf.StaggeredGrid(0, 0, **dom)
    pressure = None
    vel_frames, den_frames = [], []
    for t in tqdm(range(warmup + steps), desc=desc, disable=not progress, leave=False):
        smoke, velocity, pressure = _step(pf, smoke, velocity, pressure, inflow_grid, buoy_grid, tol,
                                          smoke_advection)
        if t >= warmup:
            if on_frame is not None:
                on_frame(t - warmup, (smoke, velocity, pressure), (inflow_grid, buoy_grid))
            vel_frames.append(_centered(velocity, S, N))
            if return_density:
                d = smoke.values.numpy("sim,y,x")
                den_frames.append(np.asarray(d, dtype=np.float32).reshape(S, 1, N, N))
    vel = torch.from_numpy(np.stack(vel_frames, axis=1))
    if return_density:
        return vel, torch.from_numpy(np.stack(den_frames, axis=1))
    return vel


def _centered(velocity, S: int, N: int) -> np.ndarray:
    """Staggered velocity at cell centres, ``(S, 2, N, N)`` float32, row axis y up."""
    c = velocity.at_centers().values.numpy("sim,vector,y,x")
    return np.asarray(c, dtype=np.float32).reshape(S, 2, N, N)


def _step(pf, smoke, velocity, pressure, inflow_grid, buoy_grid, tol: float, smoke_advection: str):
    """One simulator step (the one-step map of the data): advect smoke and add the inflow, add the
    buoyancy force, advect velocity, project. Returns ``(smoke, velocity, pressure)``."""
    N = int(smoke.values.shape.get_size("x"))
    advect_smoke = pf.advect.mac_cormack if smoke_advection == "mac_cormack" else pf.advect.semi_lagrangian
    smoke = advect_smoke(smoke, velocity, dt=1.0) + inflow_grid
    force = pf.resample(smoke * buoy_grid, to=velocity)
    velocity = pf.advect.semi_lagrangian(velocity, velocity, dt=1.0) + force
    with warnings.catch_warnings():
        # the closed-box Poisson problem is singular (pressure up to a constant), as expected
        warnings.filterwarnings("ignore", message="Rank deficiency", category=RuntimeWarning)
        velocity, pressure = _project(pf, velocity, pressure, tol, tol, 10 * N * N)
    return smoke, velocity, pressure


def smoke_setup(config: SmokeConfig) -> dict[str, Any]:
    """The inflow masks, buoyancy fields and metadata of a set, without simulating.

    Returns a dict with ``inflow: (S, N, N)``, ``buoyancy: (S, 2, N, N)`` (grid units),
    ``velocity_scale: (S,)`` (grid -> physical velocity), ``group_elements`` (one per simulation),
    ``centers``, ``buoyancy_factors``, ``dx``, ``dt``, ``position_index`` (a distinct index per base
    inflow and level) and ``level`` lists.
    """
    N = config.resolution
    rng = np.random.default_rng(config.seed)
    radius = config.inflow_radius * N
    rate = config.inflow_rate
    inflows, buoys, elements, centers, factors, pos_idx = [], [], [], [], [], []
    dxs, dts, levels = [], [], []
    if config.kind in ("rotation", "levels"):
        spots = [(rng.uniform(0.35, 0.65) * N, rng.uniform(0.12, 0.25) * N)
                 for _ in range(config.num_positions)]
        todo = ([(lv, lv * config.level_step) for lv in range(NUM_LEVELS)] if config.kind == "levels"
                else [(0, config.breaking)])
        for (lv, brk), m in ((t, m) for t in todo for m in range(config.num_positions)):
            cx, cy = spots[m]
            base = rate * disk_mask(N, (cx, cy), radius)
            for k in range(4):
                b = config.buoyancy * (1.0 + brk * ROTATION_PATTERN[k])
                d = _rotate_vec((0.0, 1.0), k)
                inflows.append(_rot90(base, k))
                buoys.append(np.stack([np.full((N, N), b * d[0]), np.full((N, N), b * d[1])]))
                elements.append(k)
                # rotate the centre about the box centre
                px, py = cx - N / 2, cy - N / 2
                rx, ry = _rotate_vec((px, py), k)
                centers.append((rx + N / 2, ry + N / 2))
                factors.append(b)
                pos_idx.append(m + lv * config.num_positions)
                levels.append(lv)
                dxs.append(1.0)
                dts.append(1.0)
    elif config.kind == "translation":
        P = config.num_positions
        lo, hi = int(round(0.15 * N)), int(round(0.85 * N))
        xs = np.unique(np.round(np.linspace(lo, hi, P)).astype(int)) if P > 1 else np.array([N // 2])
        if len(xs) < P:
            raise ValueError(f"{P} inflow positions do not fit on a {N}-cell grid; use num_positions <= "
                             f"{len(xs)} or a larger resolution")
        cy = 0.15 * N
        half = np.zeros((N, N))
        half[:, : N // 2] = 1.0
        bfield = config.buoyancy * (1.0 - config.breaking / 2 * half + config.breaking / 2 * (1 - half))
        for m, x in enumerate(xs):
            cx = float(x) + 0.5
            inflows.append(rate * disk_mask(N, (cx, cy), radius))
            buoys.append(np.stack([np.zeros((N, N)), bfield]))
            elements.append((int(x - xs[0]), 0))
            centers.append((cx, cy))
            factors.append([config.buoyancy * (1 - config.breaking / 2),
                            config.buoyancy * (1 + config.breaking / 2)])
            pos_idx.append(m)
            dxs.append(1.0)
            dts.append(1.0)
    else:  # scaling
        cx, cy = N / 2, 0.15 * N
        base = rate * disk_mask(N, (cx, cy), radius)
        for m in range(config.num_positions):
            lam = float(config.scales[m % len(config.scales)])
            z = rng.uniform(-1.0, 1.0)
            # b ~ λ⁻³ keeps the Navier-Stokes scaling x -> λx, t -> λ²t, u -> u/λ exact; z breaks it
            b_phys = config.buoyancy * lam**-3 * (1.0 + config.breaking * z)
            dx, dt = lam, lam**2
            b_grid = b_phys * dt**2 / dx
            inflows.append(base)
            buoys.append(np.stack([np.zeros((N, N)), np.full((N, N), b_grid)]))
            elements.append(lam)
            centers.append((cx * dx, cy * dx))
            factors.append(b_phys)
            pos_idx.append(m)
            dxs.append(dx)
            dts.append(dt)
    return {
        "inflow": np.stack(inflows).astype(np.float32),
        "buoyancy": np.stack(buoys).astype(np.float32),
        "velocity_scale": np.array([dx / dt for dx, dt in zip(dxs, dts)], dtype=np.float32),
        "group_elements": elements,
        "centers": [tuple(float(v) for v in c) for c in centers],
        "buoyancy_factors": factors,
        "position_index": pos_idx,
        "dx": dxs,
        "dt": dts,
        "level": levels or [0] * len(elements),
    }


def rotation_set_error(velocity: torch.Tensor, position_index: Sequence[int],
                       elements: Sequence[int], norm: str = "l1") -> float:
    """Mean data equivariance error of a rotation set over its base positions (Sec. 5.2).

    For each base position, its four simulations are rotated back to the reference orientation with
    :func:`aeqkit.equivariance.data_equivariance_error` (group C4) and compared pairwise.

    Shape: ``velocity: (S, T, 2, N, N)``.
    """
    errs = []
    for m in sorted(set(position_index)):
        idx = [i for i, p in enumerate(position_index) if p == m]
        errs.append(data_equivariance_error(velocity[idx].double(), [elements[i] for i in idx], "C4",
                                            "vector", norm=norm))
    return float(np.mean(errs))


@dataclass(frozen=True)
class OneStepConfig:
    """What determines a one-step data equivariance error (hashed for the cache): the smoke set,
    the windows ``(simulation, start)`` (simulation indices of the whole set, as in
    :func:`smoke_setup`) and the input length."""

    smoke: SmokeConfig
    windows: tuple[tuple[int, int], ...]
    input_length: int = 10
    norm: str = "l1"
    #: bumped when the computation changes, so that cached results are recomputed
    #: (2: identical set-ups share one step, see :func:`one_step_equivariance_error`)
    method: int = 2

    @property
    def name(self) -> str:
        return f"{self.smoke.name}_onestep"


def one_step_equivariance_error(config: SmokeConfig, windows: Sequence[tuple[int, int]],
                                input_length: int = 10, norm: str = "l1",
                                progress: bool = False) -> dict[str, Any]:
    """Def. 3.1 error of the simulator's own one-step map on given windows (rotation / levels sets).

    For a window ``(s, t)`` the data's next frame is one simulator step from the state ``x`` at frame
    ``t + input_length - 1`` (the last input frame) with simulation ``s``'s set-up. For each
    non-identity element ``g = r^j`` of C4 the simulation that sees ``g·x`` is ``s``'s orbit partner
    with orientation ``k_s + j`` (set-up rotated by ``g``, buoyancy factor ``b'``); its step from
    ``g·x`` is compared with ``g·step(x)``. Because the discretised simulator commutes with quarter
    turns (``tests/test_physical_symmetry.py``: 5e-10 relative) and the L1 / L2 norms are invariant
    under ``g``, ``|| step_{g·setup'}(g·x) - g·step_setup(x) || = || step_{setup'}(x) - step_setup(x) ||``
    where ``setup'`` is ``s``'s set-up with buoyancy ``b'``: this is what is computed, on the full
    simulator state (smoke, staggered velocity, warm-started pressure), re-simulated to frame ``t +
    input_length - 1``. The result is in the units and norm of
    :func:`aeqkit.reproduce.model_equivariance_error` (mean over windows and over the three
    non-identity elements of the per-window ``norm`` of the velocity at cell centres), so the model's
    and the data's errors can share an axis (Fig. 4). Level 0 gives exactly 0.

    Unlike :func:`rotation_set_error` (Sec. 5.2: whole trajectories compared after rotating back,
    differences accumulated over every step), this measures one step.

    Args:
        config: a ``"rotation"`` or ``"levels"`` :class:`SmokeConfig`.
        windows: ``(simulation, start)`` pairs; simulation indices of the whole set.
        input_length: frames per input window (the step starts from its last frame).
        norm: ``"l1"`` (mean absolute difference, Fig. 4) or ``"l2"`` (RMS).
        progress: tqdm bar while re-simulating.

    Returns:
        ``{"mean": float, "per_element": {1: float, 2: float, 3: float}, "per_window": [float],
        "own_next": (n_windows, 2, N, N), "per_element_window": (n_windows, 3)}`` (``own_next``: the
        simulator's own next frame, which is the data's frame ``t + input_length``).
    """
    if not isinstance(config, SmokeConfig) or config.kind not in ("rotation", "levels"):
        raise ValueError("one_step_equivariance_error needs a SmokeConfig of kind 'rotation' or 'levels', "
                         f"got {getattr(config, 'kind', type(config).__name__)!r}")
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2' (invariant under quarter turns), got {norm!r}")
    windows = [(int(a), int(b)) for a, b in windows]
    if not windows:
        raise ValueError("windows must hold at least one (simulation, start) pair")
    setup = smoke_setup(config)
    n_sims = len(setup["group_elements"])
    frames = [t + input_length - 1 for _, t in windows]
    bad = [w for w, f in zip(windows, frames) if not (0 <= w[0] < n_sims and 0 <= f < config.steps - 1)]
    if bad:
        raise ValueError(f"windows {bad[:3]} do not fit: simulations 0..{n_sims - 1}, and the last input "
                         f"frame t + {input_length} - 1 must lie before the last of {config.steps} frames")
    sims = sorted({s_ for s_, _ in windows})
    local = {s_: i for i, s_ in enumerate(sims)}
    elements = [int(setup["group_elements"][s_]) for s_ in sims]
    pos = [setup["position_index"][s_] for s_ in sims]
    factor_of = {(p_, k): setup["buoyancy_factors"][i] for i, (p_, k) in
                 enumerate(zip(setup["position_index"], setup["group_elements"]))}
    # buoyancy scale of the orbit partner with orientation k + j, relative to the simulation's own
    scale = np.array([[factor_of[(p_, (k + j) % 4)] / factor_of[(p_, k)] for j in range(4)]
                      for p_, k in zip(pos, elements)])  # (S_sub, 4)
    inflow = setup["inflow"][sims]
    buoy = setup["buoyancy"][sims]
    S, N = len(sims), config.resolution
    wanted = sorted(set(frames))
    results: dict[int, np.ndarray] = {}  # frame -> (S_sub, 4, 2, N, N) next frames per element

    from phi import flow as pf

    def on_frame(frame, state, grids):
        if frame not in wanted:
            return
        smoke, velocity, pressure = state
        _, buoy_grid = grids
        outs = []
        for j in range(4):
            factor = pf.math.tensor(scale[:, j], pf.batch("sim"))
            nxt = _step(pf, smoke, velocity, pressure, grids[0], buoy_grid * factor, config.tol,
                        config.smoke_advection)
            outs.append(_centered(nxt[1], S, N))
        out = np.stack(outs, axis=1)
        # A partner with the same set-up (buoyancy scale exactly 1, e.g. every partner at level 0)
        # takes the same deterministic step. PhiFlow's batched CG iterates until *every* simulation
        # of the batch converges, so without this the other simulations' buoyancy would leak into
        # this one's step through the iteration count (about 4e-6 at the quick tolerance).
        same = scale == 1.0  # (S_sub, 4)
        out[same] = np.broadcast_to(out[:, :1], out.shape)[same]
        results[frame] = out

    with pf.math.precision(64):
        _simulate(pf, inflow, buoy, max(wanted) + 1, config.warmup, config.tol, progress, False,
                  f"{config.name} one-step", config.smoke_advection, on_frame=on_frame)
    per_window, per_element, own_next = [], {1: [], 2: [], 3: []}, []
    for (s_, _), f in zip(windows, frames):
        nxt = torch.from_numpy(results[f][local[s_]]).double()  # (4, 2, N, N)
        own_next.append(nxt[0].float())
        errs = []
        for j in (1, 2, 3):
            d = nxt[j] - nxt[0]
            e = float(d.abs().mean()) if norm == "l1" else float(d.pow(2).mean().sqrt())
            per_element[j].append(e)
            errs.append(e)
        per_window.append(sum(errs) / 3)
    elem_means = {j: float(np.mean(v)) for j, v in per_element.items()}
    return {"mean": float(np.mean(list(elem_means.values()))), "per_element": elem_means,
            "per_window": per_window, "own_next": torch.stack(own_next),
            "per_element_window": torch.tensor([per_element[j] for j in (1, 2, 3)],
                                               dtype=torch.float64).T}


def generate_smoke(config: SmokeConfig, progress: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Simulate a smoke set in one PhiFlow batch (for :func:`aeqkit.data.cache.cached`).

    Returns ``({"fields": (S, T, 2, N, N) float32}, meta)`` with ``meta`` holding ``group``,
    ``group_elements``, ``centers``, ``buoyancy_factors``, ``dx``, ``dt``, ``position_index`` and, for
    rotation sets, ``data_equivariance_error`` (mean absolute difference after rotating back; for the
    levels set ``level_errors``, one per level, and ``level`` per simulation).
    """
    setup = smoke_setup(config)
    vel = simulate_smoke(setup["inflow"], setup["buoyancy"], config.steps, config.warmup, config.tol,
                         progress=progress, desc=config.name, smoke_advection=config.smoke_advection)
    vel = vel * torch.from_numpy(setup["velocity_scale"])[:, None, None, None, None]
    meta = {k: setup[k] for k in ("group_elements", "centers", "buoyancy_factors", "position_index",
                                  "dx", "dt", "level")}
    meta.update(field_type="vector", channels=["u", "v"], group=config.group, synthetic=True,
                kind=config.kind)
    if config.kind == "rotation":
        meta["breaking"] = config.breaking
        meta["data_equivariance_error"] = rotation_set_error(vel, setup["position_index"],
                                                             setup["group_elements"])
    elif config.kind == "levels":
        errs = []
        for lv in range(NUM_LEVELS):
            idx = [i for i, v in enumerate(setup["level"]) if v == lv]
            errs.append(rotation_set_error(vel[idx], [setup["position_index"][i] for i in idx],
                                           [setup["group_elements"][i] for i in idx]))
        meta["level_errors"] = errs
        meta["level_breaking"] = [lv * config.level_step for lv in range(NUM_LEVELS)]
    else:
        meta["breaking"] = config.breaking
    return {"fields": vel.float()}, meta

