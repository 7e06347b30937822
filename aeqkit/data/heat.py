"""2D heat diffusion with a symmetry-breaking diffusion coefficient (paper Fig. 2, Sec. 2).

``∂T/∂t = ∇·(κ(x) ∇T)`` on a square **periodic** plate (a torus), with

``κ(x) = κ0 (1 + β φ(x))``,

where ``φ`` is a fixed, smooth, non-symmetric field (a few random low Fourier modes drawn from
``phi_seed``, scaled to ``max|φ| = 1``) and ``β ∈ [0, 1)`` is the symmetry-breaking knob. Periodic
boundaries make the β = 0 problem exactly symmetric under cyclic translations and, on a square
grid, under 90° rotations and reflections: the discrete operator (a conservative 5-point flux form
with face coefficients ``(κ_i + κ_j) / 2``) commutes with ``torch.rot90`` / ``roll`` / ``flip``, so the
data equivariance error at β = 0 is at round-off level. For β > 0 it grows with β.

Time stepping is explicit Euler with the CFL limit ``dt_sub ≤ cfl · dx² / (4 κ_max)``; each saved frame
is ``dt`` apart and takes as many sub-steps as that limit requires.

See also: notebook 01 (heat diffusion), paper Fig. 2 and Sec. 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import get_group

__all__ = [
    "HeatConfig",
    "symmetry_breaking_field",
    "diffusivity",
    "heat_initial_conditions",
    "heat_step",
    "simulate_heat",
    "generate_heat",
    "heat_equivariance_error",
    "heat_one_step_map",
    "heat_one_step_equivariance_error",
    "heat_orbit_trajectories",
    "temperature_gradient",
    "heat_gradient_trajectories",
]


@dataclass(frozen=True)
class HeatConfig:
    """Everything that determines a heat data set (hashed for the cache).

    Attributes:
        resolution: grid size ``H = W``.
        steps: saved frames per trajectory (including the initial condition).
        num_sims: number of trajectories (random initial conditions).
        beta: symmetry-breaking strength, ``0 <= beta < 1``.
        kappa0: mean diffusivity in grid units (cells² per unit time).
        dt: time between saved frames.
        cfl: safety factor of the explicit step (``<= 1``).
        seed: seed of the initial conditions.
        phi_seed: seed of the fixed field ``φ``.
        num_modes: number of random Fourier modes per axis used for ``φ`` and the initial conditions.
        rotations: 1, or 4 for *rotated plates*: each of the ``num_sims`` initial conditions is
            simulated in all four 90° orientations (``4 * num_sims`` trajectories, orientation
            innermost: simulation ``4 i + k`` starts from ``rot90(T0_i, k)``; κ is not rotated),
            so the data set is orbit-balanced (metadata ``orbits`` = ``i``, ``group_elements`` =
            ``k``; :func:`aeqkit.data.make_splits` keeps whole orbits together).
    """

    resolution: int = 64
    steps: int = 100
    num_sims: int = 8
    beta: float = 0.0
    kappa0: float = 0.2
    dt: float = 1.0
    cfl: float = 0.8
    seed: int = 0
    phi_seed: int = 1234
    num_modes: int = 3
    rotations: int = 1
    name: str = "heat"

    def __post_init__(self) -> None:
        if not (isinstance(self.resolution, int) and self.resolution >= 4):
            raise ValueError(f"resolution must be an int >= 4, got {self.resolution!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"steps must be an int >= 1, got {self.steps!r}")
        if not (isinstance(self.num_sims, int) and self.num_sims >= 1):
            raise ValueError(f"num_sims must be an int >= 1, got {self.num_sims!r}")
        if self.rotations not in (1, 4):
            raise ValueError(f"rotations must be 1 or 4 (rotated plates), got {self.rotations!r}")
        if not (0.0 <= self.beta < 1.0):
            raise ValueError(f"beta must lie in [0, 1) so that κ stays positive, got {self.beta!r}")
        if not (self.kappa0 > 0 and self.dt > 0 and 0 < self.cfl <= 1):
            raise ValueError(f"need kappa0 > 0, dt > 0 and 0 < cfl <= 1; got kappa0={self.kappa0}, "
                             f"dt={self.dt}, cfl={self.cfl}")


def _fourier_field(resolution: int, num_fields: int, num_modes: int, generator: torch.Generator,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Random smooth periodic fields from low Fourier modes. Shape: ``(num_fields, H, W)``."""
    n = resolution
    coords = torch.arange(n, dtype=dtype) * (2 * math.pi / n)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    out = torch.zeros(num_fields, n, n, dtype=dtype)
    for ky in range(num_modes + 1):
        for kx in range(-num_modes, num_modes + 1):
            if ky == 0 and kx <= 0:
                continue
            amp = torch.randn(num_fields, 2, generator=generator, dtype=dtype) / (1.0 + kx * kx + ky * ky)
            phase = kx * xx + ky * yy
            out += amp[:, :1, None] * torch.cos(phase) + amp[:, 1:, None] * torch.sin(phase)
    return out


def symmetry_breaking_field(resolution: int, phi_seed: int = 1234, num_modes: int = 3) -> torch.Tensor:
    """The fixed smooth non-symmetric field ``φ`` with ``max|φ| = 1``. Shape: ``(H, W)``, float64."""
    g = torch.Generator().manual_seed(int(phi_seed))
    phi = _fourier_field(resolution, 1, num_modes, g)[0]
    return phi / phi.abs().max()


def diffusivity(config: HeatConfig) -> torch.Tensor:
    """``κ(x) = κ0 (1 + β φ(x))``. Shape: ``(H, W)``, float64."""
    phi = symmetry_breaking_field(config.resolution, config.phi_seed, config.num_modes)
    return config.kappa0 * (1.0 + config.beta * phi)


def heat_initial_conditions(config: HeatConfig, num_sims: int | None = None) -> torch.Tensor:
    """Seeded random smooth initial temperatures (Fourier modes plus two hot spots).

    Shape: ``(S, 1, H, W)``, float64.
    """
    S = config.num_sims if num_sims is None else num_sims
    n = config.resolution
    g = torch.Generator().manual_seed(int(config.seed))
    base = _fourier_field(n, S, config.num_modes, g)
    # periodic Gaussian hot spots give sharper features than the low modes alone
    idx = torch.arange(n, dtype=torch.float64)
    for _ in range(2):
        c = torch.rand(S, 2, generator=g, dtype=torch.float64) * n
        dy = torch.remainder(idx[None, :] - c[:, :1] + n / 2, n) - n / 2
        dx = torch.remainder(idx[None, :] - c[:, 1:] + n / 2, n) - n / 2
        width = n / 10
        base += torch.exp(-(dy[:, :, None] ** 2 + dx[:, None, :] ** 2) / (2 * width**2))
    return base[:, None]


def heat_step(T: torch.Tensor, kappa: torch.Tensor, dt: float) -> torch.Tensor:
    """One explicit Euler step of ``∂T/∂t = ∇·(κ∇T)`` with periodic boundaries (``dx = 1``).

    Conservative flux form with face diffusivities ``(κ_i + κ_j)/2``; commutes with rot90/flip/roll
    of ``T`` and ``κ`` together.

    Shape: ``T: (..., H, W)``, ``kappa: (H, W)`` -> ``(..., H, W)``.
    """
    kx = 0.5 * (kappa + torch.roll(kappa, -1, dims=-1))  # face between (i, j) and (i, j+1)
    ky = 0.5 * (kappa + torch.roll(kappa, -1, dims=-2))  # face between (i, j) and (i+1, j)
    fx = kx * (torch.roll(T, -1, dims=-1) - T)
    fy = ky * (torch.roll(T, -1, dims=-2) - T)
    div = fx - torch.roll(fx, 1, dims=-1) + fy - torch.roll(fy, 1, dims=-2)
    return T + dt * div


def simulate_heat(T0: torch.Tensor, config: HeatConfig, steps: int | None = None,
                  kappa: torch.Tensor | None = None, progress: bool = False) -> torch.Tensor:
    """Integrate from ``T0`` and return every saved frame (the first is ``T0``).

    Args:
        T0: initial temperatures.
        config: solver settings (``kappa0``, ``beta``, ``dt``, ``cfl``; ``steps`` if not given).
        steps: number of saved frames (default ``config.steps``).
        kappa: override the diffusivity field (default :func:`diffusivity`).
        progress: show a tqdm bar.

    Shape: ``T0: (S, 1, H, W)`` -> ``(S, steps, 1, H, W)`` in ``T0``'s dtype.
    """
    if T0.ndim != 4 or T0.shape[1] != 1 or T0.shape[-1] != T0.shape[-2]:
        raise ValueError(f"T0 must have shape (S, 1, H, H), got {tuple(T0.shape)}")
    steps = config.steps if steps is None else steps
    kappa = diffusivity(config) if kappa is None else kappa
    if tuple(kappa.shape) != tuple(T0.shape[-2:]):
        raise ValueError(f"kappa shape {tuple(kappa.shape)} does not match the grid {tuple(T0.shape[-2:])}")
    kappa = kappa.to(T0.dtype)
    n_sub = max(1, math.ceil(config.dt * 4.0 * float(kappa.max()) / config.cfl))
    dt_sub = config.dt / n_sub
    frames = [T0]
    T = T0
    for _ in tqdm(range(steps - 1), desc="heat", disable=not progress, leave=False):
        for _ in range(n_sub):
            T = heat_step(T, kappa, dt_sub)
        frames.append(T)
    return torch.stack(frames, dim=1)


def generate_heat(config: HeatConfig, progress: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Generate a heat data set (for :func:`aeqkit.data.cache.cached`).

    Returns ``({"fields": (S, T, 1, H, W) float32, "kappa": (H, W) float32}, meta)``.
    """
    T0 = heat_initial_conditions(config)
    if config.rotations == 4:
        T0 = _all_orientations(T0)
    traj = simulate_heat(T0, config, progress=progress)
    meta = {"field_type": "scalar", "channels": ["T"], "beta": config.beta, "boundary": "periodic",
            "group": "C4", "synthetic": True}
    if config.rotations == 4:
        meta.update(orbits=[i // 4 for i in range(T0.shape[0])],
                    group_elements=[i % 4 for i in range(T0.shape[0])])
    return {"fields": traj.float(), "kappa": diffusivity(config).float()}, meta


def heat_equivariance_error(beta: float | Sequence[float], resolution: int = 32, steps: int = 20,
                            group: str = "D4", num_sims: int = 2, seed: int = 0,
                            norm: str = "l1", **config_kwargs) -> float | list[float]:
    """Data equivariance error of the heat dynamics for each ``beta`` (Def. 3.1 on the flow map).

    ``f`` maps an initial temperature to the temperature ``steps - 1`` frames later; the error is
    ``mean over g ≠ e of |f(g·T0) - g·f(T0)|`` (``aeqkit.equivariance.equivariance_error``, float64;
    the identity is never averaged in).
    ``group`` may be ``"C4"``, ``"D4"`` or ``"translation"`` (cyclic shifts). β = 0 gives ~1e-16.

    Returns one float per ``beta`` (a float if ``beta`` is a number).
    """
    betas = [beta] if isinstance(beta, (int, float)) else list(beta)
    out = []
    for b in betas:
        cfg = HeatConfig(resolution=resolution, steps=steps, num_sims=num_sims, beta=float(b), seed=seed,
                         **config_kwargs)
        kappa = diffusivity(cfg)
        T0 = heat_initial_conditions(cfg)

        def flow(x: torch.Tensor, cfg: HeatConfig = cfg, kappa: torch.Tensor = kappa) -> torch.Tensor:
            return simulate_heat(x, cfg, kappa=kappa)[:, -1]

        g = get_group(group)
        elements = None
        if g.name.lower().startswith("translation") or type(g).__name__ == "TranslationGroup":
            n = resolution
            elements = [(n // 4, 0), (0, n // 3), (n // 2, n // 5)]  # non-identity shifts
        report = equivariance_error(flow, T0, g, in_type="scalar", out_type="scalar",
                                    elements=elements, norm=norm)
        out.append(report.mean)
    return out[0] if isinstance(beta, (int, float)) else out


def temperature_gradient(T: torch.Tensor) -> torch.Tensor:
    """The temperature gradient ``∇T = (∂T/∂x, ∂T/∂y)`` by periodic central differences.

    ``∇T`` is a vector field that rotates with the plate, so the kit's velocity forecasters (which
    take 2-channel vector fields) can learn heat dynamics. Channel order ``(u, v)`` = (x, y) as in
    DESIGN.md; it commutes exactly with ``rot90_field`` on a square periodic grid.

    Shape: ``T: (..., 1, H, W)`` -> ``(..., 2, H, W)``.
    """
    if T.ndim < 3 or T.shape[-3] != 1:
        raise ValueError(f"T must be a scalar field of shape (..., 1, H, W), got {tuple(T.shape)}")
    dx = (T.roll(-1, -1) - T.roll(1, -1)) / 2
    dy = (T.roll(-1, -2) - T.roll(1, -2)) / 2
    return torch.cat([dx, dy], dim=-3)


def heat_gradient_trajectories(beta: float, num_sims: int, seed: int = 0, resolution: int = 32,
                               steps: int = 60, quarter_turns: int = 0, **config_kwargs) -> torch.Tensor:
    """Simulate ``num_sims`` plates and return their temperature gradients (vector fields).

    ``quarter_turns = k`` rotates every initial plate by ``k·90°`` (counter-clockwise) before
    simulating, which is how notebook 01 measures the data equivariance error (Sec. 5.2): at β = 0
    the run of a rotated plate is the rotated run.

    Shape: returns ``(num_sims, steps, 2, H, W)`` float32.
    """
    cfg = HeatConfig(resolution=resolution, steps=steps, num_sims=num_sims, beta=beta, seed=seed,
                     **config_kwargs)
    T0 = torch.rot90(heat_initial_conditions(cfg), quarter_turns, dims=(-1, -2))
    return temperature_gradient(simulate_heat(T0, cfg)).float()


def _all_orientations(T0: torch.Tensor) -> torch.Tensor:
    """Each plate in its four 90° orientations, orientation innermost. (S, 1, H, W) -> (4 S, 1, H, W)."""
    turned = torch.stack([torch.rot90(T0, k, dims=(-1, -2)) for k in range(4)], dim=1)
    return turned.reshape(-1, *T0.shape[1:])


def heat_orbit_trajectories(beta: float, num_bases: int, seed: int = 0, resolution: int = 16,
                            steps: int = 30, **config_kwargs) -> tuple[torch.Tensor, list[int]]:
    """Orbit-balanced heat runs: ``num_bases`` random plates, each in all four 90° orientations.

    Simulation ``4 i + k`` starts from ``rot90(T0_i, k)`` on the same (unrotated) κ, so at β = 0 the
    four runs of an orbit are exact rotations of each other and a loss summed over an orbit is
    C4-invariant; at β > 0 they differ by the symmetry breaking. Temperatures stay float64 so that
    :func:`heat_one_step_equivariance_error` can step the simulator from them exactly.

    Returns:
        ``(T, orbits)``: temperatures ``(4 num_bases, steps, 1, H, W)`` float64 and the orbit label
        ``i`` of each simulation (for :func:`aeqkit.data.make_splits`).
    """
    cfg = HeatConfig(resolution=resolution, steps=steps, num_sims=num_bases, beta=float(beta),
                     seed=seed, rotations=4, **config_kwargs)
    T0 = _all_orientations(heat_initial_conditions(cfg))
    return simulate_heat(T0, cfg), [i // 4 for i in range(T0.shape[0])]


def heat_one_step_map(config: HeatConfig, output: str = "gradient"):
    """The simulator's own one-step map ``T_t -> T_{t+1}`` (one saved frame, ``dt``).

    ``output="gradient"`` returns ``∇T_{t+1}`` (:func:`temperature_gradient`), the vector field the
    forecasters predict; ``"temperature"`` returns ``T_{t+1}``.

    Shape: the returned function maps ``(B, 1, H, W)`` to ``(B, 2, H, W)`` (gradient) or
    ``(B, 1, H, W)`` (temperature).
    """
    if output not in ("gradient", "temperature"):
        raise ValueError(f"output must be 'gradient' or 'temperature', got {output!r}")
    kappa = diffusivity(config)

    def step(T: torch.Tensor) -> torch.Tensor:
        nxt = simulate_heat(T, config, steps=2, kappa=kappa)[:, -1]
        return temperature_gradient(nxt) if output == "gradient" else nxt

    return step


def heat_one_step_equivariance_error(T: torch.Tensor, beta: float | None = None, *,
                                     config: HeatConfig | None = None, group: str = "C4",
                                     norm: str = "l1", output: str = "gradient") -> float:
    """Def. 3.1 error of the heat simulator's own one-step map on given states (issue 10).

    ``mean over samples and non-identity g of ‖f(g·T) - g·f(T)‖`` where ``f`` steps the simulator
    by one saved frame (:func:`heat_one_step_map`). With ``output="gradient"`` (default) the
    compared quantity is ``∇T_{t+1}``, the vector field a forecaster predicts, so the number is
    directly comparable with ``aeqkit.reproduce.model_equivariance_error`` on the ``∇T`` windows
    that end at the same states (same L1 norm, same non-identity elements of C4). Computed in
    float64; β = 0 gives round-off (~1e-17).

    Args:
        T: the states the one-step map starts from: ``(B, 1, H, W)``, or windows
            ``(B, L, 1, H, W)`` whose last frame is used (square grid for C4).
        beta: symmetry-breaking strength (builds a :class:`HeatConfig` at ``T``'s resolution).
        config: the data set's config instead of ``beta`` (its κ, ``dt``, ``cfl``).
        group: ``"C4"`` or ``"D4"`` (identity excluded).
        norm: a norm of :func:`aeqkit.equivariance.equivariance_error` (``"l1"``: mean absolute).
        output: ``"gradient"`` or ``"temperature"``.
    """
    if not isinstance(T, torch.Tensor) or T.ndim not in (4, 5) or T.shape[-3] != 1:
        got = tuple(T.shape) if isinstance(T, torch.Tensor) else type(T).__name__
        raise ValueError(f"T must be temperatures (B, 1, H, W) or windows (B, L, 1, H, W), got {got}")
    if T.shape[-1] != T.shape[-2]:
        raise ValueError(f"a C4 / D4 error needs a square grid, got {tuple(T.shape[-2:])}")
    if (beta is None) == (config is None):
        raise ValueError("give exactly one of beta= or config=")
    if config is None:
        config = HeatConfig(resolution=int(T.shape[-1]), steps=2, num_sims=1, beta=float(beta))
    elif config.resolution != T.shape[-1]:
        raise ValueError(f"config.resolution={config.resolution} does not match the grid {T.shape[-1]}")
    states = (T[:, -1] if T.ndim == 5 else T).to(torch.float64)
    g = get_group(group)
    elements = [e for e in g.elements() if not g.equal(e, g.identity)]
    out_type = "vector" if output == "gradient" else "scalar"
    report = equivariance_error(heat_one_step_map(config, output), states, g, in_type="scalar",
                                out_type=out_type, elements=elements, norm=norm)
    return float(report.mean)
