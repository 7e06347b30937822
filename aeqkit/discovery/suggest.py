"""From discovery to model: turn what :func:`~aeqkit.discovery.order_scan` found into the settings
of :func:`aeqkit.models.build`.

Rules (C_N rotation groups only; D_N waits for the relaxed dihedral layers):

- the largest order N whose C_N-transformed pairs are data pairs (mismatch ≤ ``strict_tol``):
  an equivariant model: by default the same relaxed family held equivariant (``"rgroup"``,
  ``group_order=N``, ``alpha=alpha_max``; initialised equivariant, on an orbit-balanced split it
  stays so), or with ``strict_model="equiv"`` the strictly equivariant E2CNN-style network;
- else the largest N whose mismatch is at most ``relax_ratio`` times the scan's largest mismatch
  (the scale of "no symmetry", e.g. the C8 rotations of a C4 data set): a relaxed group
  convolution (``"rgroup"``, ``group_order=N``) with ``alpha`` (the weight of the equivariance
  penalty, paper Eq. 6) scaled to the measured breaking: log-linearly from ``alpha_max`` at
  ``strict_tol`` down to ``alpha_min`` at the relaxation limit;
- else no symmetry: a plain convolutional network (``"conv"``, ``symmetry=None``).

See also: notebook 07, section 4.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from aeqkit.discovery.fields import OrderScan

__all__ = ["ModelSuggestion", "suggest_model", "build_suggested", "compare_models"]


@dataclass(frozen=True)
class ModelSuggestion:
    """Settings for :func:`aeqkit.models.build`: ``name``, ``symmetry``, ``group_order``
    (1 for no group), ``relaxed``, ``alpha`` (None for strict / no group) and the ``reason``."""

    name: str
    symmetry: str | None
    group_order: int
    relaxed: bool
    alpha: float | None
    mismatch: float | None
    reason: str

    def build_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``aeqkit.models.build`` (besides name and symmetry)."""
        kw: dict[str, Any] = {}
        if self.group_order > 1:
            kw["group_order"] = self.group_order
        if self.alpha is not None:
            kw["alpha"] = self.alpha
        return kw

    def label(self) -> str:
        if self.group_order == 1:
            return "conv (no group)"
        if not self.relaxed:
            how = "equiv" if self.name == "equiv" else f"rgroup held equivariant, α={self.alpha:.0e}"
            return f"C{self.group_order} ({how})"
        return f"relaxed C{self.group_order} (rgroup, α={self.alpha:.1e})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_pos(name: str, v: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")


def suggest_model(result: OrderScan, *, strict_tol: float = 1e-3, relax_ratio: float = 0.8,
                  alpha_max: float = 1e-2, alpha_min: float = 1e-5,
                  strict_model: str = "rgroup") -> ModelSuggestion:
    """Group, group order and relaxation settings for the data a discovery result describes.

    Args:
        result: an :class:`~aeqkit.discovery.OrderScan` (per-order mismatch of transformed pairs).
        strict_tol: mismatch below which the symmetry counts as exact (strict model).
        relax_ratio: an order is kept as an approximate symmetry while its mismatch is below
            ``relax_ratio`` times the largest mismatch of the scan.
        alpha_max, alpha_min: the relaxed model's ``alpha`` at ``strict_tol`` and at the limit.
        strict_model: ``"rgroup"`` (the relaxed family with ``alpha_max``: one model family for
            every level) or ``"equiv"`` (strict E2CNN-style; at the notebook's 2,500-parameter
            budget it trained worst, see notebook 07).
    """
    if not isinstance(result, OrderScan):
        raise TypeError(f"result must be an OrderScan (from aeqkit.discovery.order_scan), got "
                        f"{type(result).__name__}")
    for name, v in (("strict_tol", strict_tol), ("relax_ratio", relax_ratio), ("alpha_max", alpha_max),
                    ("alpha_min", alpha_min)):
        _check_pos(name, v)
    if strict_model not in ("rgroup", "equiv"):
        raise ValueError(f"strict_model must be 'rgroup' or 'equiv', got {strict_model!r}")
    if alpha_min > alpha_max:
        raise ValueError(f"alpha_min ({alpha_min}) must not exceed alpha_max ({alpha_max})")
    m = result.mismatch
    orders = sorted(m)

    def closed(n: int, tol: float) -> bool:  # C_n and its listed subgroups all within tol
        return all(m[d] <= tol for d in orders if n % d == 0)

    strict = [n for n in orders if closed(n, strict_tol)]
    if strict:
        n = max(strict)
        why = f"C{n}-transformed pairs are data pairs (mismatch {m[n]:.2g} ≤ {strict_tol:g})"
        if strict_model == "equiv" or n < 3:  # RGroup needs N >= 3; E2CNN has C2
            return ModelSuggestion("equiv", "rotation", n, False, None, m[n], why)
        return ModelSuggestion("rgroup", "rotation", n, False, float(alpha_max), m[n], why)
    limit = relax_ratio * max(m.values())
    approx = [n for n in orders if closed(n, limit) and m[n] < limit]
    if approx:
        n = max(approx)
        frac = (math.log(m[n]) - math.log(strict_tol)) / max(math.log(limit) - math.log(strict_tol), 1e-12)
        frac = min(max(frac, 0.0), 1.0)
        alpha = math.exp(math.log(alpha_max) + frac * (math.log(alpha_min) - math.log(alpha_max)))
        why = f"C{n} approximately (mismatch {m[n]:.2g}, limit {limit:.2g}): relaxed, alpha {alpha:.1e}"
        if n < 3:  # relaxed group convolutions need N >= 3: relax C4, which contains C2
            n, why = 4, why + "; RGroup needs N >= 3, so relaxed C4 (contains C2)"
        return ModelSuggestion("rgroup", "rotation", n, True, float(alpha), m[n] if n in m else None, why)
    why = f"no listed C_N within {relax_ratio:g} x the largest mismatch {max(m.values()):.2g}"
    return ModelSuggestion("conv", None, 1, False, None, None, why)


def build_suggested(suggestion: ModelSuggestion, seed: int | None = None, **hparams: Any):
    """``aeqkit.models.build`` with the suggestion's settings (``hparams``: width, layers, ...)."""
    from aeqkit.models import build

    if not isinstance(suggestion, ModelSuggestion):
        raise TypeError(f"suggestion must be a ModelSuggestion, got {type(suggestion).__name__}")
    return build(suggestion.name, suggestion.symmetry, seed=seed, **hparams, **suggestion.build_kwargs())


def compare_models(data: Any, candidates: dict[str, ModelSuggestion], seeds: tuple[int, ...] = (0,), *,
                   budget: int = 2_500, epochs: int = 30, lr: float = 2e-3, eval_steps: int | None = None,
                   hparams: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Train each candidate configuration on ``data``'s training split and report its test-domain
    RMSE (mean over ``seeds``), at a matched parameter budget (:func:`aeqkit.reproduce.matched_width`).

    Training follows the Fig. 4 protocol of :mod:`aeqkit.reproduce`: two 3x3 layers, the whole
    (orbit-balanced) training set in one batch, early stopping on the validation split; the test
    split is only evaluated. Returns ``{label: {"rmse", "rmse_per_seed", "parameters", "models",
    "suggestion"}}`` (``models``: the trained networks, one per seed).
    """
    from aeqkit.models import count_parameters
    from aeqkit.reproduce import matched_width
    from aeqkit.train import evaluate, fit, target_length

    if not candidates:
        raise ValueError("candidates must name at least one ModelSuggestion")
    for k, v in candidates.items():
        if not isinstance(v, ModelSuggestion):
            raise TypeError(f"candidate {k!r} must be a ModelSuggestion, got {type(v).__name__}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    train, valid, test = data.splits["train"], data.splits["valid"], data.splits["test_domain"]
    steps = eval_steps or int(data.meta.get("eval_steps", target_length(test)))
    grid = tuple(data.fields.shape[-2:])
    base = {"num_layers": 2, "kernel_size": 3, "input_size": grid, **(hparams or {})}
    out: dict[str, dict[str, Any]] = {}
    for label, sug in candidates.items():
        hp = {**base, **sug.build_kwargs()}
        width = hp.pop("width", None) or matched_width(sug.name, sug.symmetry, budget, hp)
        rmses, models = [], []
        for seed in seeds:
            model = build_suggested(sug, seed=seed, width=width,
                                    **{k: v for k, v in hp.items() if k not in sug.build_kwargs()})
            fit(model, train, valid, epochs=epochs, batch_size=len(train), lr=lr, lr_decay=0.95,
                rollout_steps=min(3, target_length(train)), valid_steps=min(5, target_length(valid)),
                patience=5, seed=seed, progress=False)
            rmses.append(float(evaluate(model, test, steps=steps, batch_size=16).rmse))
            models.append(model)
        out[label] = {"rmse": sum(rmses) / len(rmses), "rmse_per_seed": rmses,
                      "parameters": count_parameters(models[0]), "models": models,
                      "suggestion": sug.to_dict()}
    return out
