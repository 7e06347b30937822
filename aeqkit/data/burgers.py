"""Periodic 2D viscous Burgers flow, solved so that uniform motion is an exact symmetry.

The equation ``∂u/∂t + (u·∇)u = ν Δu`` for a velocity ``u = (u, v)`` on a periodic grid (spacing one
cell, velocities in cells per unit time) is Galilean invariant: if ``u(p, t)`` is a solution so is
``u(p - c t, t) + c`` (:func:`aeqkit.groups.galilean_boost`). The pseudo-spectral step below keeps this
exactly (to rounding) rather than to truncation error:

* the spatial mean ``ū`` (which a boost shifts by ``c``) advects the rest of the field by an exact
  Fourier phase shift, so a boost only adds a shift ``c·dt`` per step;
* the nonlinear term ``(ũ·∇)ũ`` of the zero-mean part is dealiased with the 2/3 rule, so it commutes
  with fractional (Fourier) shifts; viscosity is implicit (``1 / (1 + ν dt |k|²)``).

It is a first-order IMEX scheme: good enough for a flow map to test symmetries on, not for accuracy
studies. Shapes: velocity fields ``(..., 2, H, W)``, trajectories ``(..., T, 2, H, W)``.

See also: notebook 00, section "Uniform motion".
"""

from __future__ import annotations

import math

import torch

__all__ = ["burgers_step", "simulate_burgers", "burgers_initial_condition"]


def _check(u: torch.Tensor, nu: float, dt: float) -> None:
    if not isinstance(u, torch.Tensor) or u.ndim < 3 or u.shape[-3] != 2:
        raise ValueError("u must be a velocity field of shape (..., 2, H, W), got "
                         f"{tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__}")
    if not bool(torch.isfinite(u).all()):
        raise ValueError("u contains NaN or inf; expected a finite velocity field")
    if not (isinstance(nu, (int, float)) and math.isfinite(nu) and nu >= 0):
        raise ValueError(f"nu (viscosity, cells²/unit time) must be a finite number >= 0, got {nu!r}")
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt (time step) must be a finite number > 0, got {dt!r}")


def _wavenumbers(H: int, W: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Angular wavenumbers ``k_y (H, 1)``, ``k_x (1, W)`` and the 2/3-rule mask ``(H, W)``."""
    iy = torch.fft.fftfreq(H, d=1.0 / H, device=device, dtype=torch.float64)
    ix = torch.fft.fftfreq(W, d=1.0 / W, device=device, dtype=torch.float64)
    keep = (iy.abs()[:, None] < H / 3) & (ix.abs()[None, :] < W / 3)
    return (2 * math.pi * iy / H)[:, None], (2 * math.pi * ix / W)[None, :], keep


def burgers_step(u: torch.Tensor, nu: float = 0.5, dt: float = 0.05) -> torch.Tensor:
    """One time step of periodic viscous Burgers, exactly Galilean-equivariant (see module docstring).

    Shape: ``u: (..., 2, H, W)`` (float64 recommended) -> same.
    """
    _check(u, nu, dt)
    H, W = u.shape[-2:]
    ky, kx, keep = _wavenumbers(H, W, u.device)
    mean = u.mean(dim=(-2, -1), keepdim=True)  # (..., 2, 1, 1)
    U = torch.fft.fft2(u - mean) * keep
    ut = torch.fft.ifft2(U).real
    dudx = torch.fft.ifft2(1j * kx * U).real
    dudy = torch.fft.ifft2(1j * ky * U).real
    adv = ut[..., 0:1, :, :] * dudx + ut[..., 1:2, :, :] * dudy  # (ũ·∇)ũ, (..., 2, H, W)
    N = torch.fft.fft2(adv) * keep
    mean_n = N[..., 0:1, 0:1] / (H * W)  # its spatial mean (real up to rounding)
    N[..., 0, 0] = 0
    k2 = kx**2 + ky**2
    U_new = (U - dt * N) / (1 + nu * dt * k2)
    phase = torch.exp(-1j * dt * (kx * mean[..., 0:1, :, :] + ky * mean[..., 1:2, :, :]))
    U_new = U_new * phase  # exact advection of the zero-mean part by the mean flow
    return mean - dt * mean_n.real + torch.fft.ifft2(U_new).real


def simulate_burgers(u0: torch.Tensor, steps: int, nu: float = 0.5, dt: float = 0.05) -> torch.Tensor:
    """Trajectory of :func:`burgers_step` from ``u0``: frame ``i`` at time ``i·dt``.

    Shape: ``u0: (..., 2, H, W)`` -> ``(..., steps + 1, 2, H, W)`` (frame 0 is ``u0``).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    _check(u0, nu, dt)
    frames = [u0]
    for _ in range(steps):
        frames.append(burgers_step(frames[-1], nu, dt))
    return torch.stack(frames, dim=-4)


def burgers_initial_condition(resolution: int = 32, num: int = 1, seed: int = 0, num_modes: int = 4,
                              amplitude: float = 0.5) -> torch.Tensor:
    """Smooth random periodic velocity fields (Fourier modes ``|k| <= num_modes``), float64.

    Shape: ``(num, 2, resolution, resolution)``; the largest speed is about ``amplitude``.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8:
        raise ValueError(f"resolution must be an int >= 8, got {resolution!r}")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be an int >= 1, got {num!r}")
    if isinstance(num_modes, bool) or not isinstance(num_modes, int) or not 1 <= num_modes < resolution / 3:
        raise ValueError(f"num_modes must be an int in [1, resolution/3), got {num_modes!r}")
    gen = torch.Generator().manual_seed(seed)
    n = resolution
    iy = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64)
    band = (iy.abs()[:, None] <= num_modes) & (iy.abs()[None, :] <= num_modes)
    coef = torch.complex(torch.randn(num, 2, n, n, generator=gen, dtype=torch.float64),
                         torch.randn(num, 2, n, n, generator=gen, dtype=torch.float64)) * band
    u = torch.fft.ifft2(coef).real
    u = u - u.mean(dim=(-2, -1), keepdim=True)
    return amplitude * u / u.abs().amax(dim=(-3, -2, -1), keepdim=True).clamp_min(1e-30)
