"""The forecaster zoo of Tables 1 and 2: :func:`build`, :func:`available_models`,
:func:`count_parameters`.

Every model maps 10 input frames of a 2-channel velocity field to the next frame,
``(B, 10, 2, H, W) -> (B, 2, H, W)`` (DESIGN.md), predicting the increment over the last frame with
residual blocks, and has ``extra_loss()`` (``alpha`` times its prior / hinge / Sec. 3.3 penalty,
0 where it has none) for the trainer to add to the loss.

=============  ============================  ==========================================
name           symmetries                    model
=============  ============================  ==========================================
``mlp``        any (none built in)           MLP on the flattened field (needs input_size)
``conv``       any (translation)             residual ConvNet
``equiv``      rotation, scaling, translation E2CNN (escnn) / SESN-style / = conv
``rpp``        rotation, scaling, translation Residual Pathway Prior (Finzi et al. 2021b)
``combo``      rotation, scaling, translation non-equivariant then equivariant layers
``clcnn``      rotation, scaling, translation locally connected + hinge (needs input_size)
``lift``       rotation, scaling, translation Lift expansion (Wang et al. 2021)
``rgroup``     rotation, scaling, translation relaxed group conv (Eq. 4-5)
``rsteer``     rotation, scaling             relaxed steerable conv (Eq. 7)
``rsteer_tr``  rotation, translation, None   Eq. 8: relaxed translation x RSteer rotation
``rsteer_ts``  scaling, translation, None    Eq. 8: relaxed translation x RSteer scaling
``persistence`` any                          baseline: the last input frame
``stencil``    any                           baseline: 5x5 linear least-squares stencil
``stencil_c4`` any (C4-tied)                 baseline: the stencil tied to 90° rotations
=============  ============================  ==========================================

The three baselines are fitted in closed form, in well under a second, by
:func:`aeqkit.models.baselines.fit_baseline` (not by ``fit``), and evaluated by
``aeqkit.train.evaluate`` like every network.

Aliases: ``e2cnn`` (equiv, rotation), ``sesn`` (equiv, scaling), ``convnet``, and the paper's
suffixed names such as ``RGroupT``, ``LiftR``, ``RppS``, ``RSteerTR`` (case and ``_``/``-``
insensitive).

Default widths: comparable by hidden feature channels per pixel (64 for ConvNet-type and C4
models, i.e. 16 regular fields; 24 per scale x 3 scales for scaling models), 5 layers, 5x5
kernels, so parameter counts differ mainly by weight sharing. ``width`` and ``num_layers`` shrink
any model (quick profile). Trainable parameters at 64x64 with the defaults (measured;
``print_parameter_table()`` recomputes them), all below 10^7 (paper App. A.1):

========== =========== =========== ===========
model      rotation    translation scaling
========== =========== =========== ===========
mlp        5,783,744 (any symmetry)
conv       342,658 (any symmetry)
equiv      37,728      342,658     98,448
rpp        380,128     3,235,522   526,848
combo      36,468      345,858     79,668
clcnn      8,912,896   8,912,896   7,127,040
lift       43,144      359,866     107,256
rgroup     355,356     1,088,898   381,813
rsteer     979,328     --          1,190,760
rsteer_tr  1,999,616 (rotation + translation)
rsteer_ts  2,422,432 (scaling + translation)
========== =========== =========== ===========

Models that hold per-position weights (``mlp``, ``clcnn``, translation ``rpp`` and ``rgroup``,
``rsteer_tr``, ``rsteer_ts``) need ``input_size=(H, W)`` (default ``(64, 64)``); every model
accepts that hyper-parameter, so a trainer can always pass it.

See also: notebooks 01 (heat diffusion), 03 (smoke plumes, Table 1) and 04 (jet flow, Table 2
analogue), sources ``notebooks/NN_name.py``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from torch import nn

from aeqkit.models.base import Forecaster

__all__ = [
    "build",
    "available_models",
    "count_parameters",
    "model_symmetries",
    "model_aliases",
    "parameter_table",
    "print_parameter_table",
    "Forecaster",
    "SYMMETRIES",
    "SHARED_HPARAMS",
]

SYMMETRIES = ("rotation", "translation", "scaling")
#: Accepted by every model, ignored by those that have no use for them (e.g. ``kernel_size`` for
#: the MLP, ``input_size`` for models that run on any grid).
SHARED_HPARAMS = ("input_size", "kernel_size", "padding_mode")
ALL = (None, *SYMMETRIES)


def _mlp(symmetry, **kw):
    from aeqkit.models.baselines import MLPForecaster

    m = MLPForecaster(**kw)
    m.symmetry = symmetry
    return m


def _conv(symmetry, **kw):
    from aeqkit.models.baselines import ConvForecaster

    return ConvForecaster(symmetry=symmetry, **kw)


def _equiv(symmetry, **kw):
    if symmetry == "translation":
        return _conv(symmetry, **kw)
    from aeqkit.models.equivariant import StrictForecaster

    return StrictForecaster(symmetry=symmetry, **kw)


def _rpp(symmetry, **kw):
    if symmetry == "translation":
        from aeqkit.models.baselines import RppTranslation

        return RppTranslation(**kw)
    from aeqkit.models.equivariant import RppForecaster

    return RppForecaster(symmetry=symmetry, **kw)


def _combo(symmetry, **kw):
    if symmetry == "translation":
        from aeqkit.models.baselines import ComboTranslation

        return ComboTranslation(**kw)
    from aeqkit.models.equivariant import ComboForecaster

    return ComboForecaster(symmetry=symmetry, **kw)


def _lift(symmetry, **kw):
    if symmetry == "translation":
        from aeqkit.models.baselines import LiftTranslation

        return LiftTranslation(**kw)
    from aeqkit.models.equivariant import LiftForecaster

    return LiftForecaster(symmetry=symmetry, **kw)


def _clcnn(symmetry, **kw):
    from aeqkit.models.clcnn import CLCNN

    return CLCNN(symmetry=symmetry, **kw)


def _rgroup(symmetry, **kw):
    from aeqkit.models.relaxed import RGroupForecaster

    return RGroupForecaster(symmetry=symmetry, **kw)


def _rsteer(symmetry, **kw):
    from aeqkit.models.relaxed import RSteerForecaster

    return RSteerForecaster(symmetry=symmetry, **kw)


def _rsteer_tr(symmetry, translation_rank: int = 2, **kw):
    from aeqkit.models.relaxed import RSteerForecaster

    m = RSteerForecaster(symmetry="rotation", translation_rank=translation_rank, **kw)
    m.symmetry = symmetry
    return m


def _rsteer_ts(symmetry, translation_rank: int = 2, **kw):
    from aeqkit.models.relaxed import RSteerForecaster

    m = RSteerForecaster(symmetry="scaling", translation_rank=translation_rank, **kw)
    m.symmetry = symmetry
    return m


def _persistence(symmetry, **kw):
    from aeqkit.models.baselines import PersistenceForecaster

    return PersistenceForecaster(symmetry=symmetry, **kw)


def _stencil(symmetry, **kw):
    from aeqkit.models.baselines import StencilForecaster

    return StencilForecaster(symmetry=symmetry, **kw)


def _stencil_c4(symmetry, **kw):
    from aeqkit.models.baselines import StencilForecaster

    return StencilForecaster(symmetry=symmetry, tie="C4", **kw)


# name -> (builder, accepted symmetries (first is the default), hparam source classes)
_REGISTRY: dict[str, tuple[Callable, tuple]] = {
    "mlp": (_mlp, ALL),
    "conv": (_conv, ALL),
    "equiv": (_equiv, ("rotation", "scaling", "translation")),
    "rpp": (_rpp, SYMMETRIES),
    "combo": (_combo, SYMMETRIES),
    "clcnn": (_clcnn, SYMMETRIES),
    "lift": (_lift, SYMMETRIES),
    "rgroup": (_rgroup, SYMMETRIES),
    "rsteer": (_rsteer, ("rotation", "scaling")),
    # the combined models: the label is either group they relax, or None for "both"
    "rsteer_tr": (_rsteer_tr, ("rotation", "translation", None)),
    "rsteer_ts": (_rsteer_ts, ("scaling", "translation", None)),
    # closed-form baselines (aeqkit.models.baselines.fit_baseline), not trained by fit
    "persistence": (_persistence, ALL),
    "stencil": (_stencil, ALL),
    "stencil_c4": (_stencil_c4, ("rotation", None, "translation", "scaling")),
}

_SUFFIX = {"t": "translation", "r": "rotation", "s": "scaling"}


def _aliases() -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {
        "e2cnn": ("equiv", "rotation"),
        "sesn": ("equiv", "scaling"),
        "convnet": ("conv", None),
        "cnn": ("conv", None),
        "rsteertr": ("rsteer_tr", None),
        "rsteerts": ("rsteer_ts", None),
    }
    for name, (_, syms) in _REGISTRY.items():
        if name in ("mlp", "conv", "rsteer_tr", "rsteer_ts", "persistence", "stencil",
                    "stencil_c4"):
            continue
        for letter, sym in _SUFFIX.items():
            if sym in syms:
                out.setdefault(name + letter, (name, sym))
    return out


_ALIASES = _aliases()


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "").replace("_", "")


def available_models() -> dict[str, tuple[str | None, ...]]:
    """Registered model names and the symmetries each accepts (the first is the default).

    Aliases (``e2cnn``, ``sesn``, ``RGroupT``, ...) are accepted by :func:`build` too; see
    :func:`model_aliases`.
    """
    return {name: syms for name, (_, syms) in _REGISTRY.items()}


def model_aliases() -> dict[str, tuple[str, str | None]]:
    """Alias -> (canonical name, implied symmetry or ``None``)."""
    return dict(_ALIASES)


def model_symmetries(name: str) -> tuple[str | None, ...]:
    """The symmetries accepted by model ``name`` (canonical or alias)."""
    canonical, implied = _resolve(name)
    return (implied,) if implied else _REGISTRY[canonical][1]


def _known_names() -> str:
    lines = [f"{n} (symmetry: {', '.join(str(s) for s in syms)})"
             for n, syms in available_models().items()]
    return "; ".join(lines) + "; aliases: " + ", ".join(sorted(_ALIASES))


def _resolve(name: str) -> tuple[str, str | None]:
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string; known models: {_known_names()}")
    key = _normalise(name)
    by_norm = {_normalise(n): n for n in _REGISTRY}
    if key in by_norm:
        return by_norm[key], None
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown model {name!r}; known models: {_known_names()}")


def _accepted_hparams(canonical: str, symmetry: str | None) -> set[str] | None:
    """Keyword names the builder's target class accepts (None: do not check)."""
    from aeqkit.models import baselines, clcnn, equivariant, relaxed

    cls = {
        "mlp": baselines.MLPForecaster,
        "conv": baselines.ConvForecaster,
        "clcnn": clcnn.CLCNN,
        "rgroup": relaxed.RGroupForecaster,
        "rsteer": relaxed.RSteerForecaster,
        "rsteer_tr": relaxed.RSteerForecaster,
        "rsteer_ts": relaxed.RSteerForecaster,
        "persistence": baselines.PersistenceForecaster,
        "stencil": baselines.StencilForecaster,
        "stencil_c4": baselines.StencilForecaster,
    }.get(canonical)
    if cls is None:
        if canonical == "equiv":
            cls = baselines.ConvForecaster if symmetry == "translation" else \
                equivariant.StrictForecaster
        else:
            trans = {"rpp": baselines.RppTranslation, "combo": baselines.ComboTranslation,
                     "lift": baselines.LiftTranslation}
            other = {"rpp": equivariant.RppForecaster, "combo": equivariant.ComboForecaster,
                     "lift": equivariant.LiftForecaster}
            cls = trans[canonical] if symmetry == "translation" else other[canonical]
    names = set(inspect.signature(cls).parameters) - {"self", "symmetry"}
    if canonical in ("persistence", "stencil", "stencil_c4"):
        # baselines ignore the networks' hyper-parameters, so one profile can build every model
        names.discard("network_hparams")
        names.discard("tie")
        for other in ("conv", "equiv", "rpp", "combo", "lift", "rgroup", "rsteer", "clcnn"):
            for sym in _REGISTRY[other][1]:
                names |= _accepted_hparams(other, sym)
    if canonical in ("rsteer_tr", "rsteer_ts"):
        names.add("translation_rank")
    return names


def build(name: str, symmetry: str | None = "default", *, seed: int | None = None,
          **hparams) -> Forecaster:
    """Build a forecaster by name (paper Tables 1-2).

    Args:
        name: a model name of :func:`available_models` or an alias (case-insensitive).
        symmetry: ``"rotation"``, ``"translation"``, ``"scaling"`` or ``None``; by default the
            alias's symmetry or the model's first accepted one.
        **hparams: model hyper-parameters, e.g. ``width``, ``num_layers``, ``kernel_size``,
            ``padding_mode`` (``"zeros"``/``"circular"``), ``alpha`` (weight of
            ``extra_loss()``), ``num_filter_banks``, ``group_order``, ``input_size``.
            ``input_size``, ``kernel_size`` and ``padding_mode`` (:data:`SHARED_HPARAMS`) are
            accepted by every model and ignored where meaningless (the grid size by models that
            run on any grid, kernels by the MLP), so a profile can pass them to all models.
        seed: when given, the initial weights are drawn under ``aeqkit.utils.seeded(seed)``:
            the same seed gives the same model, and the caller's random streams are untouched
            (``aeqkit.train.fit``'s ``seed`` only covers shuffling).

    Returns:
        A :class:`~aeqkit.models.base.Forecaster` mapping ``(B, 10, 2, H, W) -> (B, 2, H, W)``.

    Raises:
        ValueError: unknown name (the message lists the known ones), a symmetry the model does
            not exist for, or an unknown / invalid hyper-parameter.
    """
    canonical, implied = _resolve(name)
    syms = _REGISTRY[canonical][1]
    if symmetry == "default":
        symmetry = implied if implied is not None else syms[0]
    if symmetry not in ALL:
        raise ValueError(f"symmetry must be one of {ALL}, got {symmetry!r}")
    if implied is not None and symmetry != implied:
        raise ValueError(f"{name!r} is the {implied} version of {canonical!r}; got "
                         f"symmetry={symmetry!r}")
    if symmetry not in syms:
        raise ValueError(f"model {canonical!r} exists for symmetry in {syms}, got "
                         f"{symmetry!r}; known models: {_known_names()}")
    accepted = _accepted_hparams(canonical, symmetry)
    # hyper-parameters a trainer or profile may pass to every model: dropped where meaningless
    hparams = {k: v for k, v in hparams.items() if k in accepted or k not in SHARED_HPARAMS}
    unknown = sorted(set(hparams) - accepted)
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown} for {canonical!r} "
                         f"({symmetry}); accepted: {sorted(accepted)}")
    if "alpha" in hparams:
        a = hparams["alpha"]
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or a < 0:
            raise ValueError(f"alpha (weight of the equivariance penalty / extra loss) must be a finite "
                             f"number >= 0, got {a!r}")
    if seed is not None:
        from aeqkit.utils import seeded

        with seeded(seed):
            model = _REGISTRY[canonical][0](symmetry, **hparams)
    else:
        model = _REGISTRY[canonical][0](symmetry, **hparams)
    model.name = canonical
    return model


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_table(input_size: tuple[int, int] = (64, 64)) -> dict[str, int]:
    """``"name/symmetry" -> parameter count`` for every registered model at default widths."""
    out = {}
    for name, syms in available_models().items():
        for sym in syms:
            model = build(name, sym, input_size=input_size)
            out[f"{name}/{sym}"] = count_parameters(model)
    return out


def print_parameter_table(input_size: tuple[int, int] = (64, 64)) -> None:
    """Print :func:`parameter_table` (slow-ish: builds every model)."""
    for key, n in parameter_table(input_size).items():
        print(f"{key:28s} {n:>12,d}")
