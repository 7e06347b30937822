"""Measures of discovery: how close the learned algebra is to the truth and how much symmetry the
data really has.

- :func:`generator_cosine`: |cosine| (Frobenius) between one learned and one true generator.
- :func:`principal_angles`: angles between the learned span and the true span (several channels).
- :func:`data_span_projector` + ``restrict_to=``: the same, seen only on the subspace the data visits
  (a generator may do anything on directions the data never occupies).
- :func:`structure_constants`: the Lie bracket closure check ``[L_i, L_j] = Σ_k c_ijk L_k``.
- :func:`distinguishability`: a fresh classifier's held-out accuracy at telling transformed pairs
  from real ones (0.5 = the data are invariant, 1 = no symmetry at that magnitude).

See also: notebook 05, sections 3-4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "generator_cosine",
    "principal_angles",
    "data_span_projector",
    "structure_constants",
    "ClosureReport",
    "distinguishability",
]


def _as_stack(a: torch.Tensor, name: str) -> torch.Tensor:
    a = torch.as_tensor(a, dtype=torch.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must have shape (n, n) or (C, n, n), got {tuple(a.shape)}")
    if not bool(torch.isfinite(a).all()):
        raise ValueError(f"{name} contains non-finite values")
    return a


def _restrict(a: torch.Tensor, restrict_to: torch.Tensor | None) -> torch.Tensor:
    if restrict_to is None:
        return a
    p = torch.as_tensor(restrict_to, dtype=torch.float64)
    if p.shape != a.shape[-2:]:
        raise ValueError(f"restrict_to must be a ({a.shape[-1]}, {a.shape[-1]}) projector, got "
                         f"{tuple(p.shape)}")
    return a @ p


def generator_cosine(learned: torch.Tensor, true: torch.Tensor,
                     restrict_to: torch.Tensor | None = None) -> float:
    """``|<A, B>_F| / (||A||_F ||B||_F)`` between two single generators (1 = same direction).

    ``restrict_to`` (a projector ``P`` from :func:`data_span_projector`) compares ``A P`` and
    ``B P``: only what the generators do on the data.

    Shape:
        learned: (n, n) or (1, n, n); true: (n, n) or (1, n, n)
    """
    a, b = _as_stack(learned, "learned"), _as_stack(true, "true")
    if a.shape[0] != 1 or b.shape[0] != 1:
        raise ValueError("generator_cosine compares single generators; use principal_angles for "
                         f"several channels (got {a.shape[0]} and {b.shape[0]})")
    if a.shape != b.shape:
        raise ValueError(f"learned and true shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    a, b = _restrict(a, restrict_to).flatten(), _restrict(b, restrict_to).flatten()
    den = a.norm() * b.norm()
    if den == 0:
        raise ValueError("a generator is zero (on the restricted span): cosine undefined")
    return float((a @ b).abs() / den)


def principal_angles(learned: torch.Tensor, true: torch.Tensor,
                     restrict_to: torch.Tensor | None = None) -> torch.Tensor:
    """Principal angles (radians, ascending) between span{learned_i} and span{true_k}.

    Matrices are flattened to vectors in R^{n^2}; there are ``min(C, K)`` angles and all are 0 when
    one span contains the other. For one channel each, ``cos(angle) = generator_cosine``.

    Shape:
        learned: (C, n, n); true: (K, n, n); out: (min(C, K),)
    """
    a, b = _as_stack(learned, "learned"), _as_stack(true, "true")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"matrix sizes differ: {a.shape[-1]} vs {b.shape[-1]}")
    a, b = _restrict(a, restrict_to).flatten(1).T, _restrict(b, restrict_to).flatten(1).T
    qa, ra = torch.linalg.qr(a)
    qb, rb = torch.linalg.qr(b)
    if bool((ra.diagonal().abs() < 1e-10).any()) or bool((rb.diagonal().abs() < 1e-10).any()):
        raise ValueError("a basis is linearly dependent (or zero on the restricted span)")
    s = torch.linalg.svdvals(qa.T @ qb).clamp(-1, 1)
    return torch.arccos(s).sort().values


def data_span_projector(x: torch.Tensor, n_dim: int, rel_tol: float = 1e-6) -> torch.Tensor:
    """Orthogonal projector onto the span of the ``n_dim``-vectors the data visits.

    E.g. 2-body data in the centre-of-mass frame only visit ``q2 = -q1, p2 = -p1`` (a 4-dim
    subspace of R^8).

    Shape:
        x: (N, ..., k n_dim); out: (n_dim, n_dim)
    """
    if x.shape[-1] % n_dim != 0:
        raise ValueError(f"last axis {x.shape[-1]} must be a multiple of n_dim={n_dim}")
    v = torch.as_tensor(x, dtype=torch.float64).reshape(-1, n_dim)
    _, s, vh = torch.linalg.svd(v, full_matrices=False)
    keep = s > rel_tol * s[0]
    basis = vh[keep]
    return basis.T @ basis


@dataclass
class ClosureReport:
    """Structure constants ``c[i, j, k]`` with ``[L_i, L_j] ≈ Σ_k c_ijk L_k`` and the relative
    residual of that fit (0 = the span closes under the bracket, i.e. it is a Lie algebra)."""

    structure_constants: torch.Tensor
    residual: float


def structure_constants(basis: torch.Tensor) -> ClosureReport:
    """Least-squares structure constants of a basis and the closure residual.

    Shape:
        basis: (C, n, n); structure_constants: (C, C, C)
    """
    b = _as_stack(basis, "basis")
    c = b.shape[0]
    flat = b.flatten(1).T  # (n^2, C)
    brackets = torch.einsum("iab,jbc->ijac", b, b) - torch.einsum("jab,ibc->ijac", b, b)
    target = brackets.reshape(c * c, -1).T  # (n^2, C^2)
    coef = torch.linalg.lstsq(flat, target).solution  # (C, C^2)
    resid = (flat @ coef - target).norm() / target.norm().clamp_min(1e-12)
    if float(target.norm()) < 1e-12:
        resid = torch.zeros(())
    return ClosureReport(coef.T.reshape(c, c, c), float(resid))


def distinguishability(
    x: torch.Tensor,
    y: torch.Tensor,
    transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    steps: int = 300,
    hidden: int = 64,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
) -> float:
    """Held-out accuracy of a fresh classifier telling ``transform(x, y)`` from ``(x, y)``.

    Half of the samples train a small MLP on real vs transformed pairs (each sample appears only
    on one side, so no pair is matched with its own transform), the other half measure accuracy.
    0.5 means the transformed data are indistinguishable from the real ones: the data are
    symmetric under that transformation distribution; values near 1 mean no such symmetry.

    Args:
        transform: e.g. a :class:`~aeqkit.discovery.LieGenerator` (called as ``transform(x, y)``).

    Shape:
        x: (N, ..., D_x); y: (N, ..., D_y)
    """
    from aeqkit.discovery.data import check_pairs

    check_pairs(x, y)
    n = x.shape[0]
    if n < 8:
        raise ValueError(f"need at least 8 samples for a train/test split, got {n}")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    x, y = x[perm], y[perm]
    with torch.no_grad():
        state = torch.get_rng_state()
        torch.manual_seed(seed + 1)
        tx, ty = transform(x, y)
        torch.set_rng_state(state)

    def feats(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)], 1)

    real, fake = feats(x, y), feats(tx, ty)
    half = n // 2
    # train: real from the first quarter, fake from the second; test likewise on the other half
    q = half // 2
    tr_x = torch.cat([real[:q], fake[q:half]])
    tr_t = torch.cat([torch.ones(q), torch.zeros(half - q)])
    te_x = torch.cat([real[half:half + (n - half) // 2], fake[half + (n - half) // 2:]])
    te_t = torch.cat([torch.ones((n - half) // 2), torch.zeros(n - half - (n - half) // 2)])
    mean, std = tr_x.mean(0), tr_x.std(0).clamp_min(1e-6)
    tr_x, te_x = (tr_x - mean) / std, (te_x - mean) / std
    torch.manual_seed(seed)
    clf = nn.Sequential(nn.Linear(real.shape[1], hidden), nn.LeakyReLU(0.2),
                        nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        idx = torch.randint(0, tr_x.shape[0], (min(batch_size, tr_x.shape[0]),), generator=g)
        loss = loss_fn(clf(tr_x[idx]).squeeze(-1), tr_t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = (clf(te_x).squeeze(-1) > 0).float()
    return float((pred == te_t).float().mean())
