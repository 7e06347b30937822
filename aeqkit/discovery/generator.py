"""The LieGAN generator: a learnable Lie algebra basis and the random group elements it generates.

A generator holds ``n_channels`` basis matrices ``L_i`` of size ``n_dim x n_dim``. It draws
coefficients ``z`` (Gaussian with scale ``sigma``, or an integer grid for discrete leftovers such as
C_N) and forms ``g = exp(sum_i z_i s_i L̂_i)`` with ``L̂_i`` the normalised basis and ``s_i`` a
separately learned scale, then acts on pairs ``(x, y) -> (ρ_X(g) x, ρ_Y(g) y)``
(LieGAN, Yang et al. 2023; the talk slides "Symmetry Discovery", "Model Design").

See also: notebook 05, section 2.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

__all__ = [
    "LieGenerator",
    "block_mask",
    "so2_generator",
    "lorentz_algebra",
    "act",
    "FIELD_KINDS",
    "COEF_DISTS",
]

FIELD_KINDS = ("equivariant", "invariant")
COEF_DISTS = ("gaussian", "int_grid")


def block_mask(n_dim: int, block: int = 2) -> torch.Tensor:
    """A block-diagonal 0/1 mask so a generator acts separately on each ``block``-vector.

    Shape:
        out: (n_dim, n_dim)
    """
    if block < 1 or n_dim % block != 0:
        raise ValueError(f"n_dim={n_dim} must be a positive multiple of block={block}")
    return torch.block_diag(*[torch.ones(block, block)] * (n_dim // block))


def so2_generator(n_blocks: int = 1, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The rotation generator ``[[0, -1], [1, 0]]`` repeated on ``n_blocks`` 2-vectors.

    Counter-clockwise as in DESIGN.md (x right, y up): ``exp(θ L) = R_θ`` on every block.

    Shape:
        out: (2 n_blocks, 2 n_blocks)
    """
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    j = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=dtype)
    return torch.block_diag(*[j] * n_blocks)


def lorentz_algebra(spatial_dims: int = 3, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A basis of so(1, d): ``d`` boosts then ``d (d - 1) / 2`` rotations (time axis first).

    Shape:
        out: (d + d (d - 1) / 2, d + 1, d + 1)
    """
    if spatial_dims < 1:
        raise ValueError(f"spatial_dims must be >= 1, got {spatial_dims}")
    n = spatial_dims + 1
    basis = []
    for i in range(1, n):  # boosts: symmetric in (0, i)
        k = torch.zeros(n, n, dtype=dtype)
        k[0, i] = k[i, 0] = 1.0
        basis.append(k)
    for i in range(1, n):  # rotations: antisymmetric in (i, j)
        for j in range(i + 1, n):
            r = torch.zeros(n, n, dtype=dtype)
            r[i, j], r[j, i] = -1.0, 1.0
            basis.append(r)
    return torch.stack(basis)


def act(g: torch.Tensor, v: torch.Tensor, kind: str = "equivariant") -> torch.Tensor:
    """Apply group matrices ``g`` to every ``n_dim`` chunk of the last axis of ``v``.

    ``kind="invariant"`` returns ``v`` unchanged (a scalar output such as a class label or energy).
    The action is the same at every time step and on every chunk (e.g. each body's position and
    momentum when ``n_dim = 2``).

    Shape:
        g: (B, n_dim, n_dim); v: (B, ..., k n_dim); out: like v
    """
    if kind not in FIELD_KINDS:
        raise ValueError(f"kind must be one of {FIELD_KINDS}, got {kind!r}")
    if kind == "invariant":
        return v
    n_dim = g.shape[-1]
    if v.shape[-1] % n_dim != 0:
        raise ValueError(
            f"last axis of the data ({v.shape[-1]}) must be a multiple of n_dim={n_dim}"
        )
    if v.shape[0] != g.shape[0]:
        raise ValueError(f"batch sizes differ: g has {g.shape[0]}, data has {v.shape[0]}")
    chunks = v.reshape(v.shape[0], -1, n_dim)
    out = torch.einsum("bij,bkj->bki", g, chunks)
    return out.reshape(v.shape)


class LieGenerator(nn.Module):
    """Learnable Lie algebra basis ``{L_i}`` sampling ``g = exp(Σ z_i s_i L̂_i)``.

    Args:
        n_dim: size of the matrices (the dimension of the vectors the group acts on).
        n_channels: number of basis matrices (the dimension of the discovered algebra).
        mask: optional 0/1 mask, ``(n_dim, n_dim)`` or ``(n_channels, n_dim, n_dim)``, restricting
            which entries may be non-zero (e.g. :func:`block_mask` to act blockwise).
        coef_dist: ``"gaussian"`` (``z ~ N(0, sigma^2)``) or ``"int_grid"`` (``z`` uniform on the
            integers ``-grid_max..grid_max``, for discrete symmetries such as C_N).
        sigma: initial coefficient scale (Gaussian) ; ``learn_sigma`` makes it trainable.
        init_scale: standard deviation of the raw basis at initialisation. A small value (near
            zero) lets Adam turn the *normalised* basis quickly: this is what makes discovery fast.
        learn_scale: learn the per-channel scale ``s_i`` (initialised to 1) separately from the
            direction ``L̂_i``; otherwise ``s_i = 1`` and the magnitude is ``sigma`` alone.
        grid_max: largest integer coefficient for ``"int_grid"``.
        x_kind, y_kind: ``"equivariant"`` (transformed by g) or ``"invariant"`` (left alone).

    The normalised basis has ``||L̂_i||_F^2 = n_dim`` (RMS singular value 1), so the true rotation
    generator has unit norm and ``z`` is the rotation angle.

    Shape:
        x: (B, ..., k n_dim); y: (B, ..., m n_dim) ; basis: (n_channels, n_dim, n_dim)
    """

    def __init__(
        self,
        n_dim: int,
        n_channels: int = 1,
        *,
        mask: torch.Tensor | None = None,
        coef_dist: Literal["gaussian", "int_grid"] = "gaussian",
        sigma: float = 3.0,
        learn_sigma: bool = False,
        init_scale: float = 1e-2,
        learn_scale: bool = False,
        grid_max: int = 3,
        x_kind: str = "equivariant",
        y_kind: str = "equivariant",
    ) -> None:
        super().__init__()
        if not isinstance(n_dim, int) or n_dim < 1:
            raise ValueError(f"n_dim must be a positive int, got {n_dim!r}")
        if not isinstance(n_channels, int) or n_channels < 1:
            raise ValueError(f"n_channels must be a positive int, got {n_channels!r}")
        if coef_dist not in COEF_DISTS:
            raise ValueError(f"coef_dist must be one of {COEF_DISTS}, got {coef_dist!r}")
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
        if not (math.isfinite(init_scale) and init_scale > 0):
            raise ValueError(f"init_scale must be a positive finite number, got {init_scale!r}")
        if coef_dist == "int_grid" and (not isinstance(grid_max, int) or grid_max < 1):
            raise ValueError(f"grid_max must be a positive int, got {grid_max!r}")
        for name, kind in (("x_kind", x_kind), ("y_kind", y_kind)):
            if kind not in FIELD_KINDS:
                raise ValueError(f"{name} must be one of {FIELD_KINDS}, got {kind!r}")
        if mask is None:
            mask_t = torch.ones(n_channels, n_dim, n_dim)
        else:
            mask_t = torch.as_tensor(mask, dtype=torch.float32)
            if mask_t.shape == (n_dim, n_dim):
                mask_t = mask_t.expand(n_channels, n_dim, n_dim).clone()
            elif mask_t.shape != (n_channels, n_dim, n_dim):
                raise ValueError(
                    f"mask must have shape ({n_dim}, {n_dim}) or ({n_channels}, {n_dim}, {n_dim}),"
                    f" got {tuple(mask_t.shape)}"
                )
            if not torch.all((mask_t == 0) | (mask_t == 1)):
                raise ValueError("mask entries must be 0 or 1")
            if torch.any(mask_t.flatten(1).sum(1) == 0):
                raise ValueError("mask leaves a channel with no free entry")
        self.n_dim = n_dim
        self.n_channels = n_channels
        self.coef_dist = coef_dist
        self.grid_max = grid_max
        self.x_kind = x_kind
        self.y_kind = y_kind
        self.register_buffer("mask", mask_t)
        self.raw_basis = nn.Parameter(torch.randn(n_channels, n_dim, n_dim) * init_scale * mask_t)
        self.log_scale = nn.Parameter(torch.zeros(n_channels), requires_grad=learn_scale)
        self.log_sigma = nn.Parameter(
            torch.full((n_channels,), math.log(sigma)), requires_grad=learn_sigma
        )

    @property
    def scale(self) -> torch.Tensor:
        """Per-channel learned scale ``s_i``. Shape: (n_channels,)"""
        return self.log_scale.exp()

    @property
    def sigma(self) -> torch.Tensor:
        """Per-channel coefficient scale. Shape: (n_channels,)"""
        return self.log_sigma.exp()

    def basis(self) -> torch.Tensor:
        """The normalised basis ``L̂_i`` with ``||L̂_i||_F^2 = n_dim``. Shape: (C, n_dim, n_dim)"""
        masked = self.raw_basis * self.mask
        norm = masked.flatten(1).norm(dim=1).clamp_min(1e-12)
        return masked / norm[:, None, None] * math.sqrt(self.n_dim)

    def algebra(self) -> torch.Tensor:
        """The scaled basis ``s_i L̂_i`` that is exponentiated. Shape: (C, n_dim, n_dim)"""
        return self.basis() * self.scale[:, None, None]

    def sample_coefficients(self, batch_size: int, generator: torch.Generator | None = None
                            ) -> torch.Tensor:
        """Draw coefficients ``z``. Shape: out: (batch_size, n_channels)"""
        dev = self.raw_basis.device
        if self.coef_dist == "gaussian":
            eps = torch.randn(batch_size, self.n_channels, generator=generator).to(dev)
            return eps * self.sigma
        z = torch.randint(-self.grid_max, self.grid_max + 1, (batch_size, self.n_channels),
                          generator=generator)
        return z.to(dev, torch.float32)

    def group_elements(self, z: torch.Tensor) -> torch.Tensor:
        """``exp(Σ_i z_i s_i L̂_i)`` (batched ``torch.linalg.matrix_exp``).

        Shape:
            z: (B, n_channels); out: (B, n_dim, n_dim)
        """
        if z.ndim != 2 or z.shape[1] != self.n_channels:
            raise ValueError(f"z must have shape (B, {self.n_channels}), got {tuple(z.shape)}")
        return torch.linalg.matrix_exp(torch.einsum("bc,cij->bij", z, self.algebra()))

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Random group elements. Shape: out: (batch_size, n_dim, n_dim)"""
        return self.group_elements(self.sample_coefficients(batch_size, generator))

    def forward(self, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transform a batch of pairs ``(x, y) -> (ρ_X(g) x, ρ_Y(g) y)`` with one g per pair.

        Shape:
            x: (B, ..., k n_dim); y: (B, ..., m n_dim); out: like (x, y)
        """
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y batch sizes differ: {x.shape[0]} vs {y.shape[0]}")
        if g is None:
            g = self.sample(x.shape[0])
        return act(g, x, self.x_kind), act(g, y, self.y_kind)

    def channel_overlap(self) -> torch.Tensor:
        """Sum of |<L̂_i, L̂_j>| / n_dim over channel pairs i < j (the orthogonality regulariser)."""
        b = self.basis().flatten(1)
        gram = b @ b.T / self.n_dim
        return torch.triu(gram, diagonal=1).abs().sum()

    def effective_magnitude(self) -> torch.Tensor:
        """Typical size of ``z_i s_i L̂_i``: ``sigma_i * s_i * ||L̂_i||_F / sqrt(n_dim)``.

        For a rotation generator this is the RMS rotation angle (radians); for ``int_grid`` the
        RMS of the integer grid replaces sigma. Shape: (n_channels,)
        """
        if self.coef_dist == "gaussian":
            spread = self.sigma
        else:
            k = torch.arange(-self.grid_max, self.grid_max + 1, dtype=torch.float32)
            spread = (k**2).mean().sqrt().expand(self.n_channels).to(self.scale.device)
        norm = self.basis().flatten(1).norm(dim=1) / math.sqrt(self.n_dim)
        return spread * self.scale * norm
