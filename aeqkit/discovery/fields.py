"""LieGAN on fields: discover the planar symmetry of a flow data set, and how broken it is.

A :class:`FieldGenerator` holds one 2x2 Lie algebra element ``L`` (``gl(2)``: rotation, scaling,
two shears). A group element ``g = exp(z s L̂)`` (``torch.linalg.matrix_exp``) acts on a field as
``(g·f)(p) = ρ(g) f(g^{-1} p)`` (DESIGN.md): the grid coordinates (x right, y up, about the grid
centre) are mapped by ``g^{-1}`` and resampled with ``grid_sample``, and a vector field's components
are transformed by the same matrix ``g`` (scalars are left as they are). Everything is seen through
a centred disk (the largest inscribed one), the only region a rotation maps into itself.

:func:`discover_fields` trains the generator against a discriminator on ``(window, next frame)``
pairs (:func:`field_pairs`) of a flow data set; coefficients are Gaussian (continuous symmetries)
or integers (``"int_grid"``: discrete subgroups such as C_N, the learned scale ``s`` is then the
step angle). :func:`order_scan` then tests the finite subgroups C_N of the discovered one-parameter
group: for each N it rotates every pair by a random non-identity element of C_N and measures how
far the result lies from the real pairs (:func:`pair_mismatch`, a nearest-pair score that is 0 when
every transformed pair is itself a data pair) and, optionally, how well a fresh classifier tells
them apart (:func:`~aeqkit.discovery.distinguishability`).

See also: notebook 07 (``notebooks/07_discover_then_relax.py``), :func:`aeqkit.discovery.suggest_model`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.discovery.discriminator import LieDiscriminator
from aeqkit.discovery.generator import COEF_DISTS, so2_generator
from aeqkit.discovery.metrics import distinguishability, generator_cosine
from aeqkit.discovery.train import GANStep

__all__ = [
    "FIELD_TYPES",
    "disk_mask",
    "transform_fields",
    "field_pairs",
    "FieldGenerator",
    "FieldDiscoveryResult",
    "discover_fields",
    "pair_mismatch",
    "cyclic_transform",
    "order_scan",
    "OrderScan",
]

FIELD_TYPES = ("vector", "scalar")


def disk_mask(height: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """1 inside the largest centred disk whose rotations stay on the grid (radius ``(min(H, W) - 1) / 2``
    pixels about the centre), 0 outside: a rotated field is exact there up to interpolation.

    Shape:
        out: (H, W)
    """
    cy, cx = (height - 1) / 2, (width - 1) / 2
    r = (min(height, width) - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(height, dtype=torch.float64) - cy,
                            torch.arange(width, dtype=torch.float64) - cx, indexing="ij")
    return ((xx**2 + yy**2) <= r**2).to(dtype)


def _check_field_type(field_type: str) -> None:
    if field_type not in FIELD_TYPES:
        raise ValueError(f"field_type must be one of {FIELD_TYPES}, got {field_type!r}")


def transform_fields(f: torch.Tensor, g: torch.Tensor, field_type: str = "vector",
                     mask: bool = True) -> torch.Tensor:
    """``(g·f)(p) = ρ(g) f(g^{-1} p)`` for one 2x2 matrix per sample (differentiable in ``g``).

    ``p`` is in pixel units about the grid centre (x = W axis right, y = H axis up); a vector field
    (``C`` a multiple of 2: ``(u, v)`` pairs) has its components mapped by ``g``, a scalar field
    only resampled. Bilinear ``grid_sample`` with ``align_corners=True``: multiples of 90° on a
    square grid land on grid points and are exact up to round-off. With ``mask`` the result is cut
    to :func:`disk_mask` (what enters from outside the grid is never compared).

    Shape:
        f: (B, ..., C, H, W); g: (B, 2, 2); out: like f
    """
    _check_field_type(field_type)
    if f.ndim < 4:
        raise ValueError(f"fields must have shape (B, ..., C, H, W), got {tuple(f.shape)}")
    if g.ndim != 3 or g.shape[1:] != (2, 2) or g.shape[0] != f.shape[0]:
        raise ValueError(f"g must have shape ({f.shape[0]}, 2, 2), got {tuple(g.shape)}")
    b, (c, h, w) = f.shape[0], f.shape[-3:]
    if field_type == "vector" and c % 2:
        raise ValueError(f"a vector field needs an even number of channels (u, v pairs), got {c}")
    dtype = f.dtype
    g = g.to(dtype)
    inv = torch.linalg.inv(g)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(h, dtype=dtype, device=f.device) - cy,
                            torch.arange(w, dtype=dtype, device=f.device) - cx, indexing="ij")
    pts = torch.stack([xx, yy], -1).reshape(-1, 2)  # (HW, 2)
    src = torch.einsum("bij,pj->bpi", inv, pts)  # (B, HW, 2)
    gx = 2 * (src[..., 0] + cx) / max(w - 1, 1) - 1
    gy = 2 * (src[..., 1] + cy) / max(h - 1, 1) - 1
    grid = torch.stack([gx, gy], -1).reshape(b, h, w, 2)
    flat = f.reshape(b, -1, h, w)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    if field_type == "vector":
        vec = out.reshape(b, -1, 2, h, w)
        out = torch.einsum("bij,bkjhw->bkihw", g, vec).reshape(b, -1, h, w)
    if mask:
        out = out * disk_mask(h, w, dtype).to(f.device)
    return out.reshape(f.shape)


def field_pairs(data: Any, input_length: int = 1, sims: Sequence[int] | None = None,
                split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """All ``(window, next frame)`` pairs of the trajectories of a loaded data set.

    Args:
        data: a :class:`~aeqkit.data.ForecastData` (or a ``(S, T, C, H, W)`` tensor).
        input_length: frames per window.
        sims: simulations to use; default: the training simulations of ``data`` (``split="train"``,
            ``meta["train_sims"]``; test-domain ones are never used for discovery) or all of them
            (``split="all"``, or a bare tensor).

    Shape:
        x: (N, input_length, C, H, W); y: (N, C, H, W), N = len(sims) (T - input_length)
    """
    fields = data.fields if hasattr(data, "fields") else torch.as_tensor(data)
    if fields.ndim != 5:
        raise ValueError(f"fields must have shape (S, T, C, H, W), got {tuple(fields.shape)}")
    if split not in ("train", "all"):
        raise ValueError(f"split must be 'train' or 'all', got {split!r}")
    if not isinstance(input_length, int) or not 1 <= input_length < fields.shape[1]:
        raise ValueError(f"input_length must be an int in 1..{fields.shape[1] - 1}, got {input_length!r}")
    if sims is None:
        meta = getattr(data, "meta", None) or {}
        sims = meta.get("train_sims") if split == "train" else None
        sims = list(range(fields.shape[0])) if sims is None else list(sims)
    f = fields[list(sims)].to(torch.float32)
    n = f.shape[1] - input_length
    x = torch.stack([f[:, t:t + input_length] for t in range(n)], 1).flatten(0, 1)
    y = torch.stack([f[:, t + input_length] for t in range(n)], 1).flatten(0, 1)
    return x, y


class FieldGenerator(nn.Module):
    """One learnable 2x2 Lie algebra element acting on fields: ``g = exp(z s L̂)``.

    Args:
        coef_dist: ``"gaussian"`` (``z ~ N(0, sigma²)``) or ``"int_grid"`` (``z`` uniform on
            ``-grid_max..grid_max``: the elements ``exp(k s L̂)`` of a discrete subgroup).
        sigma: Gaussian coefficient scale (radians for a rotation generator).
        init_scale: std of the raw basis at initialisation (small: the direction turns quickly).
        step: initial ``s`` (learned when ``learn_scale``); for ``"int_grid"`` the step angle.
        field_type: ``"vector"`` (components rotate with ``g``) or ``"scalar"``.

    ``L̂`` is normalised to ``||L̂||_F² = 2``, so the rotation generator ``[[0, -1], [1, 0]]`` has
    unit norm and ``z s`` is the rotation angle.

    Shape:
        x: (B, L, C, H, W); y: (B, C, H, W); basis: (1, 2, 2)
    """

    def __init__(self, *, coef_dist: Literal["gaussian", "int_grid"] = "gaussian", sigma: float = 1.0,
                 init_scale: float = 1e-2, step: float = 1.0, learn_scale: bool = False,
                 grid_max: int = 3, field_type: str = "vector") -> None:
        super().__init__()
        if coef_dist not in COEF_DISTS:
            raise ValueError(f"coef_dist must be one of {COEF_DISTS}, got {coef_dist!r}")
        for name, v in (("sigma", sigma), ("init_scale", init_scale), ("step", step)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        if not isinstance(grid_max, int) or grid_max < 1:
            raise ValueError(f"grid_max must be a positive int, got {grid_max!r}")
        _check_field_type(field_type)
        self.coef_dist, self.sigma = coef_dist, float(sigma)
        self.grid_max, self.field_type = grid_max, field_type
        self.raw_basis = nn.Parameter(torch.randn(1, 2, 2) * init_scale)
        self.log_scale = nn.Parameter(torch.tensor([math.log(step)]), requires_grad=learn_scale)

    def basis(self) -> torch.Tensor:
        """``L̂`` with ``||L̂||_F² = 2``. Shape: (1, 2, 2)"""
        return self.raw_basis / self.raw_basis.flatten().norm().clamp_min(1e-12) * math.sqrt(2)

    def algebra(self) -> torch.Tensor:
        """``s L̂``. Shape: (1, 2, 2)"""
        return self.basis() * self.log_scale.exp()

    def sample_coefficients(self, batch_size: int) -> torch.Tensor:
        """Shape: out: (batch_size, 1)"""
        if self.coef_dist == "gaussian":
            return torch.randn(batch_size, 1) * self.sigma
        return torch.randint(-self.grid_max, self.grid_max + 1, (batch_size, 1)).float()

    def group_elements(self, z: torch.Tensor) -> torch.Tensor:
        """``exp(z s L̂)``. Shape: z: (B, 1); out: (B, 2, 2)"""
        return torch.linalg.matrix_exp(z[:, :, None] * self.algebra())

    def forward(self, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transform pairs with one ``g`` per pair (both fields by the same element)."""
        if g is None:
            g = self.group_elements(self.sample_coefficients(x.shape[0]).to(x.device))
        return (transform_fields(x, g, self.field_type), transform_fields(y, g, self.field_type))


def _masked(x: torch.Tensor) -> torch.Tensor:
    return x * disk_mask(*x.shape[-2:]).to(x)


@dataclass
class FieldDiscoveryResult:
    """What :func:`discover_fields` returns: the learned generator, its |cosine| to the rotation
    generator (``history["cosine"]`` over training) and the training time."""

    generator: FieldGenerator
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    average: torch.Tensor | None = None

    @property
    def matrix(self) -> torch.Tensor:
        """The discovered ``L̂`` (float64): the sign-aligned mean of the normalised generator over
        the second half of training (a GAN's generator oscillates about its equilibrium), or the
        final one. Shape: (2, 2)"""
        if self.average is not None:
            return self.average
        return self.generator.basis().detach()[0].double()

    @property
    def step_angle(self) -> float:
        """The learned step ``s`` (radians for a rotation generator): with ``"int_grid"``
        coefficients the sampled elements are ``exp(k s L̂)``."""
        return float(self.generator.log_scale.detach().exp())

    @property
    def discrete_order(self) -> float | None:
        """``2π / s`` for ``"int_grid"`` discovery (4.0 when it settled on quarter turns, C4);
        ``None`` for Gaussian coefficients. Not rounded: a value far from an integer means the
        step did not settle on a subgroup."""
        if self.generator.coef_dist != "int_grid":
            return None
        return 2 * math.pi / self.step_angle

    @property
    def rotation_cosine(self) -> float:
        """|cosine| (Frobenius) between ``L̂`` and ``[[0, -1], [1, 0]]``."""
        return generator_cosine(self.matrix, so2_generator(1, torch.float64))


def _identity_penalty(y: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
    """|cosine| between a field and its transform: large when g stays near the identity."""
    return F.cosine_similarity(y.flatten(1), gy.flatten(1), dim=1, eps=1e-8).mean().abs()


def discover_fields(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr_g: float = 1e-2,
    lr_d: float = 2e-3,
    coef_dist: str = "gaussian",
    sigma: float = 1.0,
    step: float = 1.0,
    learn_scale: bool = False,
    grid_max: int = 3,
    init_scale: float = 1e-2,
    identity_weight: float = 0.0,
    d_hidden: int = 64,
    field_type: str = "vector",
    eval_every: int = 10,
    seed: int = 0,
) -> FieldDiscoveryResult:
    """LieGAN on ``(window, next frame)`` pairs: learn the 2x2 generator under which transformed
    pairs look like real ones (the slides' ``min_Φ max_D E[log D(x, y) + log(1 - D(Φ(x, y)))]``).

    Real pairs are cut to the same disk as transformed ones, so the discriminator cannot use the
    corners a rotation brings in from outside the grid.

    Shape:
        x: (N, L, C, H, W); y: (N, C, H, W)
    """
    if x.ndim != 5 or y.ndim != 4 or x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[1:]:
        raise ValueError(f"expected x (N, L, C, H, W) and y (N, C, H, W) with matching N, C, H, W; got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 pairs, got {x.shape[0]}")
    if steps < 1 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"steps, batch_size and eval_every must be >= 1, got {steps}, {batch_size}, "
                         f"{eval_every}")
    torch.manual_seed(seed)
    gen = FieldGenerator(coef_dist=coef_dist, sigma=sigma, init_scale=init_scale, step=step,
                         learn_scale=learn_scale, grid_max=grid_max, field_type=field_type)
    x, y = _masked(x.float()), _masked(y.float())
    disc = LieDiscriminator(x[0].numel() + y[0].numel(), hidden=d_hidden)

    def generator_loss(g_adv: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, gx: torch.Tensor,
                       gy: torch.Tensor) -> torch.Tensor:
        return g_adv + identity_weight * _identity_penalty(yb, gy) if identity_weight else g_adv

    gan_step = GANStep(gen, disc, lr_g, lr_d, generator_loss)
    rot = so2_generator(1, torch.float64)
    hist: dict[str, list[float]] = {k: [] for k in ("step", "cosine", "d_loss", "g_loss", "scale")}
    snaps: list[torch.Tensor] = []
    t0 = time.perf_counter()
    for it in range(1, steps + 1):
        d_loss, g_adv = gan_step(x, y, batch_size)
        if it % eval_every == 0 or it == steps:
            hist["step"].append(it)
            hist["cosine"].append(generator_cosine(gen.basis().detach()[0].double(), rot))
            hist["d_loss"].append(float(d_loss))
            hist["g_loss"].append(float(g_adv))
            hist["scale"].append(float(gen.log_scale.detach().exp()))
            if it > steps // 2:
                snaps.append(gen.basis().detach()[0].double())
    avg = None
    if snaps:
        ref = snaps[-1]
        avg = sum(b * (1.0 if float((b * ref).sum()) >= 0 else -1.0) for b in snaps)
        avg = avg / avg.norm().clamp_min(1e-12) * math.sqrt(2)
    return FieldDiscoveryResult(gen, hist, time.perf_counter() - t0, avg)


def pair_mismatch(x: torch.Tensor, y: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor,
                  exclude_self: bool = False) -> float:
    """How far transformed pairs lie from the real ones: ``sqrt(mean_i min_j ||t_i - p_j||²) /
    sqrt(mean_j ||p_j - p̄||²)`` over the disk-masked, flattened pairs ``p = (x, y)``.

    0 when every transformed pair is itself a data pair (the data hold the whole orbit of each
    pair and the dynamics commute with the transformation); it grows with the symmetry breaking.
    A nearest-neighbour two-sample score: deterministic, with no classifier to train.
    ``exclude_self``: never match pair ``i`` with itself (use when ``t`` may be the identity).

    Shape:
        x, tx: (N, L, C, H, W); y, ty: (N, C, H, W)
    """
    p = torch.cat([_masked(x).flatten(1), _masked(y).flatten(1)], 1).double()
    t = torch.cat([_masked(tx).flatten(1), _masked(ty).flatten(1)], 1).double()
    d = torch.cdist(t, p, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    spread = (p - p.mean(0)).pow(2).sum(1).mean().clamp_min(1e-30)
    return float((d.min(1).values.mean() / spread).sqrt())


def cyclic_transform(order: int, generator: torch.Tensor | None = None, field_type: str = "vector",
                     seed: int = 0):
    """A transform ``(x, y) -> (g x, g y)`` with ``g = exp(2π k / order · L̂)``, ``k`` uniform on
    ``1..order-1`` per pair (non-identity elements of C_order of the generator's group).

    ``generator``: the discovered 2x2 algebra element (default the rotation generator). C_N needs a
    closed one-parameter group, so the generator is snapped to the nearest rotation generator, its
    antisymmetric part ``(L - L^T) / 2`` at unit speed (the sign of the rotation is kept); use it
    when the discovered generator is close to a rotation (|cosine| near 1), as the notebook checks.
    """
    if not isinstance(order, int) or order < 2:
        raise ValueError(f"order must be an int >= 2, got {order!r}")
    lhat = so2_generator(1, torch.float64) if generator is None else torch.as_tensor(generator).double()
    if lhat.shape != (2, 2):
        raise ValueError(f"generator must be a 2x2 matrix, got shape {tuple(lhat.shape)}")
    speed = 0.5 * float(lhat[1, 0] - lhat[0, 1])
    if abs(speed) < 1e-8:
        raise ValueError("the generator has no rotation part; C_N subgroups are undefined")
    lhat = so2_generator(1, torch.float64) * (1.0 if speed > 0 else -1.0)
    gen = torch.Generator().manual_seed(seed)

    def transform(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = torch.randint(1, order, (x.shape[0],), generator=gen).double()
        g = torch.linalg.matrix_exp(k[:, None, None] * (2 * math.pi / order) * lhat).to(x.dtype)
        return transform_fields(x, g, field_type), transform_fields(y, g, field_type)

    return transform


@dataclass
class OrderScan:
    """Result of :func:`order_scan`: per order N, the mismatch (and optionally distinguishability)
    of C_N-transformed pairs; ``order`` is the largest N within tolerance (1: none)."""

    orders: list[int]
    mismatch: dict[int, float]
    distinguishability: dict[int, float]
    baseline: float
    order: int
    tol: float

    @property
    def strength(self) -> float:
        """Mismatch of the found subgroup (of C_2 when none survives): the breaking score."""
        return self.mismatch[self.order if self.order > 1 else min(self.orders)]


def order_scan(x: torch.Tensor, y: torch.Tensor, generator: torch.Tensor | None = None,
               orders: Sequence[int] = (2, 4, 8), tol: float = 1e-3, field_type: str = "vector",
               classifier: bool = False, classifier_steps: int = 200, seed: int = 0) -> OrderScan:
    """Which cyclic subgroup of the discovered one-parameter group do the pairs respect?

    For each N in ``orders``, :func:`pair_mismatch` of C_N-transformed pairs; the found order is the
    largest N whose mismatch is at most ``tol`` (and all its divisors in ``orders`` too), 1 if none.
    ``baseline`` is the mismatch of a random *different* real pair (the scale of "not a data pair").
    With ``classifier`` also the held-out accuracy of a fresh classifier (0.5 = indistinguishable).

    Shape:
        x: (N, L, C, H, W); y: (N, C, H, W)
    """
    if not orders or any(not isinstance(o, int) or o < 2 for o in orders):
        raise ValueError(f"orders must be ints >= 2, got {orders!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    mism: dict[int, float] = {}
    dist: dict[int, float] = {}
    with torch.no_grad():
        for n in orders:
            tx, ty = cyclic_transform(n, generator, field_type, seed)(x, y)
            mism[n] = pair_mismatch(x, y, tx, ty)
        baseline = pair_mismatch(x, y, x, y, exclude_self=True)
    if classifier:
        for n in orders:
            tr = cyclic_transform(n, generator, field_type, seed)
            dist[n] = distinguishability(_masked(x), _masked(y), tr, steps=classifier_steps, seed=seed)
    ok = [n for n in sorted(orders) if mism[n] <= tol and all(mism[d] <= tol for d in orders if n % d == 0)]
    return OrderScan(sorted(orders), mism, dist, baseline, max(ok) if ok else 1, float(tol))
