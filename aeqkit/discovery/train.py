"""The LieGAN training loop: ``discover(x, y, n_dim, ...)`` learns a Lie algebra from pairs.

The generator transforms real pairs, the discriminator tells real from transformed, and the
generator is pushed away from the identity (``identity_weight``) and towards orthogonal channels
(``orthogonality_weight``). With a small initialisation and ``sigma = 3`` the 2-body rotation
generator is found in a few hundred steps (see ``benchmarks/bench_discovery.py``).

See also: notebook 05, section 2.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from aeqkit.discovery.data import check_pairs
from aeqkit.discovery.discriminator import LieDiscriminator
from aeqkit.discovery.generator import LieGenerator
from aeqkit.discovery.metrics import (
    ClosureReport,
    generator_cosine,
    principal_angles,
    structure_constants,
)

__all__ = ["DiscoveryResult", "GANStep", "discover", "identity_penalty", "THRESHOLDS"]

THRESHOLDS = (0.9, 0.95, 0.99)


@dataclass
class DiscoveryResult:
    """What :func:`discover` returns.

    ``history`` holds lists keyed ``step``, ``seconds``, ``similarity`` (|cosine| for one channel,
    mean cosine of the principal angles otherwise; only when ``true_generator`` was given),
    ``d_loss``, ``g_loss``, ``magnitude``. ``steps_to`` / ``seconds_to`` map each threshold in
    ``thresholds`` to the first evaluation step (and wall time) at which it was reached (or None).
    """

    generator: LieGenerator
    discriminator: LieDiscriminator
    history: dict[str, list[float]] = field(default_factory=dict)
    steps_to: dict[float, int | None] = field(default_factory=dict)
    seconds_to: dict[float, float | None] = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0

    @property
    def final_similarity(self) -> float | None:
        s = self.history.get("similarity", [])
        return s[-1] if s else None

    def closure(self) -> ClosureReport:
        """Structure constants of the learned basis and how well it closes under the bracket."""
        return structure_constants(self.generator.basis().detach())


class GANStep:
    """One LieGAN update (the generator, then the discriminator), shared by :func:`discover` and
    :func:`aeqkit.discovery.fields.discover_fields`.

    A batch of ``batch_size`` pairs is drawn with replacement (``torch.randint``); the generator
    transforms it and is updated to make the discriminator call the transformed pairs real
    (``BCE(D(g x, g y), 1)``, plus ``generator_loss``'s regularisers), then the discriminator is
    updated on real vs transformed pairs (``(BCE(D(x, y), 1) + BCE(D(g x, g y), 0)) / 2``). Both
    optimisers are Adam with ``betas = (0.5, 0.999)`` (GAN practice).

    Args:
        generator: maps a batch ``(x, y)`` to the transformed ``(g x, g y)``.
        discriminator: maps ``(x, y)`` to one logit per pair.
        lr_g, lr_d: learning rates of the generator (its trainable parameters) and discriminator.
        generator_loss: ``generator_loss(g_adv, xb, yb, gx, gy) -> loss``: the generator's loss
            from its adversarial term ``g_adv`` (default: ``g_adv`` alone).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr_g: float, lr_d: float,
                 generator_loss: Callable[..., torch.Tensor] | None = None) -> None:
        self.generator, self.discriminator = generator, discriminator
        self.generator_loss = generator_loss
        self.opt_g = torch.optim.Adam([p for p in generator.parameters() if p.requires_grad], lr=lr_g,
                                      betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One update on a random batch of the pairs; returns ``(d_loss, g_adv)`` (detached).

        Shape: ``x: (N, ...)``, ``y: (N, ...)``; the batch is ``min(batch_size, N)`` pairs.
        """
        n = x.shape[0]
        bs = min(batch_size, n)
        idx = torch.randint(0, n, (bs,), device=x.device)
        xb, yb = x[idx], y[idx]
        ones, zeros = torch.ones(bs, device=x.device), torch.zeros(bs, device=x.device)
        gx, gy = self.generator(xb, yb)
        g_adv = self.bce(self.discriminator(gx, gy), ones)
        g_loss = g_adv if self.generator_loss is None else self.generator_loss(g_adv, xb, yb, gx, gy)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        d_loss = 0.5 * (self.bce(self.discriminator(xb, yb), ones)
                        + self.bce(self.discriminator(gx.detach(), gy.detach()), zeros))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss.detach(), g_adv.detach()


def identity_penalty(x: torch.Tensor, gx: torch.Tensor, n_dim: int) -> torch.Tensor:
    """``|mean cos(g v, v)|`` over every ``n_dim``-vector: large when g stays near the identity.

    LieGAN's "cosine" regulariser against the trivial solution ``g = I``.

    Shape:
        x, gx: (B, ..., k n_dim); out: ()
    """
    a = x.reshape(-1, n_dim)
    b = gx.reshape(-1, n_dim)
    return torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-8).mean().abs()


def _progress_bar(total: int):
    """A tqdm bar: the notebook widget live, plain text when headless (papermill, CI)."""
    from tqdm import tqdm as text_tqdm
    from tqdm.auto import tqdm as auto_tqdm

    try:
        from aeqkit.widgets import is_headless

        headless = is_headless()
    except ImportError:  # pragma: no cover - widgets is optional here
        headless = False
    cls = text_tqdm if headless else auto_tqdm
    return cls(total=total, desc="LieGAN discovery")


def _similarity(gen: LieGenerator, true: torch.Tensor) -> float:
    learned = gen.basis().detach()
    if learned.shape[0] == 1 and true.shape[0] == 1:
        return generator_cosine(learned, true)
    return float(principal_angles(learned, true).cos().mean())


def discover(
    x: torch.Tensor,
    y: torch.Tensor,
    n_dim: int,
    n_channels: int = 1,
    *,
    steps: int = 600,
    batch_size: int = 128,
    lr_g: float = 3e-3,
    lr_d: float = 5e-3,
    sigma: float = 3.0,
    init_scale: float = 1e-2,
    mask: torch.Tensor | None = None,
    coef_dist: str = "gaussian",
    learn_scale: bool = False,
    learn_sigma: bool = False,
    grid_max: int = 3,
    x_kind: str = "equivariant",
    y_kind: str = "equivariant",
    identity_weight: float = 1e-2,
    orthogonality_weight: float = 1.0,
    d_hidden: int = 64,
    true_generator: torch.Tensor | None = None,
    eval_every: int = 10,
    stop_at: float | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
    seed: int = 0,
    progress: bool = False,
    device: torch.device | str | None = None,
) -> DiscoveryResult:
    """Learn a Lie algebra basis under which the pairs ``(x, y)`` are equivariant (LieGAN).

    Args:
        x, y: input/output pairs; the last axes are stacks of ``n_dim``-vectors.
        n_dim, n_channels, mask, coef_dist, sigma, init_scale, learn_scale, learn_sigma,
            grid_max, x_kind, y_kind: passed to :class:`LieGenerator`.
        steps: number of generator/discriminator updates (one batch each).
        identity_weight: weight of :func:`identity_penalty` (against ``g = I``).
        orthogonality_weight: weight of :meth:`LieGenerator.channel_overlap`.
        true_generator: ``(n, n)`` or ``(K, n, n)``; when given, the similarity is tracked every
            ``eval_every`` steps and ``steps_to`` / ``seconds_to`` are filled.
        stop_at: stop as soon as the similarity reaches this value (benchmarks).
        progress: show a tqdm progress bar (with the current similarity).

    Shape:
        x: (N, ..., k n_dim); y: (N, ..., m n_dim)
    """
    if x_kind == "invariant" and y_kind == "invariant":
        raise ValueError("x_kind and y_kind are both 'invariant': the group would act on nothing; "
                         "expected at least one 'equivariant'")
    check_pairs(x, y, n_dim if x_kind == "equivariant" else None)
    if y_kind == "equivariant" and y.shape[-1] % n_dim != 0:
        raise ValueError(f"last axis of y has size {y.shape[-1]}, expected a multiple of "
                         f"n_dim={n_dim}")
    if steps < 1 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"steps, batch_size and eval_every must be >= 1, got {steps}, "
                         f"{batch_size}, {eval_every}")
    true = None
    if true_generator is not None:
        true = torch.as_tensor(true_generator, dtype=torch.float64)
        true = true[None] if true.ndim == 2 else true
        if true.ndim != 3 or true.shape[-2:] != (n_dim, n_dim):
            raise ValueError(f"true_generator must have shape ({n_dim}, {n_dim}) or (K, {n_dim}, "
                             f"{n_dim}), got {tuple(true_generator.shape)}")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    torch.manual_seed(seed)
    gen = LieGenerator(n_dim, n_channels, mask=mask, coef_dist=coef_dist, sigma=sigma,
                       learn_sigma=learn_sigma, init_scale=init_scale, learn_scale=learn_scale,
                       grid_max=grid_max, x_kind=x_kind, y_kind=y_kind).to(dev)
    disc = LieDiscriminator(x[0].numel() + y[0].numel(), hidden=d_hidden).to(dev)

    def generator_loss(g_adv: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, gx: torch.Tensor,
                       gy: torch.Tensor) -> torch.Tensor:
        g_loss = g_adv
        if identity_weight:
            g_loss = g_loss + identity_weight * identity_penalty(
                xb if gen.x_kind == "equivariant" else yb,
                gx if gen.x_kind == "equivariant" else gy, n_dim)
        if orthogonality_weight and n_channels > 1:
            g_loss = g_loss + orthogonality_weight * gen.channel_overlap()
        return g_loss

    gan_step = GANStep(gen, disc, lr_g, lr_d, generator_loss)
    x, y = x.to(dev), y.to(dev)
    hist: dict[str, list[float]] = {k: [] for k in
                                    ("step", "seconds", "similarity", "d_loss", "g_loss",
                                     "magnitude")}
    steps_to: dict[float, int | None] = {t: None for t in thresholds}
    seconds_to: dict[float, float | None] = {t: None for t in thresholds}
    bar = None
    if progress:
        bar = _progress_bar(steps)
    t0 = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        d_loss, g_adv = gan_step(x, y, batch_size)
        if step % eval_every == 0 or step == steps:
            elapsed = time.perf_counter() - t0
            hist["step"].append(step)
            hist["seconds"].append(elapsed)
            hist["d_loss"].append(float(d_loss))
            hist["g_loss"].append(float(g_adv))
            hist["magnitude"].append(float(gen.effective_magnitude().detach().mean()))
            if true is not None:
                sim = _similarity(gen, true)
                hist["similarity"].append(sim)
                for t in thresholds:
                    if steps_to[t] is None and sim >= t:
                        steps_to[t], seconds_to[t] = step, elapsed
                if bar is not None:
                    bar.set_postfix(similarity=f"{sim:.3f}", d_loss=f"{float(d_loss):.3f}")
                if stop_at is not None and sim >= stop_at:
                    if bar is not None:
                        bar.update(step - bar.n)
                    break
        if bar is not None and step % eval_every == 0:
            bar.update(step - bar.n)
    if bar is not None:
        bar.update(step - bar.n)
        bar.close()
    return DiscoveryResult(gen, disc, hist, steps_to, seconds_to,
                           seconds=time.perf_counter() - t0, steps=step)
