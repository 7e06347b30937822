"""The forecaster zoo of Tables 1 and 2: :func:`build`, :func:`available_models`,
:func:`model_specs`, :func:`count_parameters`.

Every model maps 10 input frames of a 2-channel velocity field to the next frame,
``(B, 10, 2, H, W) -> (B, 2, H, W)`` (DESIGN.md), predicting the increment over the last frame with
residual blocks, and has ``extra_loss()`` (``alpha`` times its prior / hinge / Sec. 3.3 penalty,
0 where it has none) for the trainer to add to the loss.

Models register themselves (:mod:`aeqkit.models.registry`): each class carries
``@register_model(name, symmetries=..., display_name=..., kind=...)`` in its own file, and
:func:`build`, :func:`available_models`, :func:`model_specs` (name -> :class:`ModelSpec`: display
name, symmetries, kind, accepted keyword names read from the class signature), the aliases,
``aeqkit.paper.DISPLAY_NAMES``, ``aeqkit.reproduce`` and the tests derive from that one table.
Adding a model = its own file (imported below) + one test. Every layer a model composes lives in
:mod:`aeqkit.nn`.

===============  =====================================  =========================================
name             symmetries (first: default)            model
===============  =====================================  =========================================
``mlp``          any (none built in)                    MLP on the flattened field (input_size)
``conv``         any (translation)                      residual ConvNet
``equiv``        rotation, scaling, translation,        E2CNN (escnn, C_N / D_N) / SESN-style /
                 dihedral                               = conv
``rpp``          rotation, translation, scaling         Residual Pathway Prior (Finzi 2021b)
``combo``        rotation, translation, scaling         non-equivariant then equivariant layers
``lift``         rotation, translation, scaling         Lift expansion (Wang et al. 2021)
``clcnn``        rotation, translation, scaling         locally connected + hinge (input_size)
``rgroup``       rotation, translation, scaling,        relaxed group conv (Eq. 4-5) on C_N / D_N
                 dihedral
``rsteer``       rotation, scaling, dihedral            relaxed steerable conv (Eq. 7)
``rsteer_tr``    rotation, translation, None            Eq. 8: relaxed translation x RSteer rot.
``rsteer_ts``    scaling, translation, None             Eq. 8: relaxed translation x RSteer scal.
``persistence``  any                                    baseline: the last input frame
``stencil``      any                                    baseline: 5x5 linear least-squares stencil
``stencil_c4``   any (C4-tied)                          baseline: the stencil tied to 90° turns
===============  =====================================  =========================================

``symmetry="dihedral"`` is D_N (``group_order`` N, default D4: 90-degree rotations and the
reflection ``x -> -x``, a symmetry of the Navier-Stokes equations); the model's group object
(:func:`aeqkit.models.relaxed.model_group`) gives its layers' kernels, field types and actions.

The three baselines are fitted in closed form, in well under a second, by
:func:`aeqkit.models.baselines.fit_baseline` (not by ``fit``), and evaluated by
``aeqkit.train.evaluate`` like every network.

Aliases: ``e2cnn`` (equiv, rotation), ``sesn`` (equiv, scaling), ``e2cnnd`` (equiv, dihedral),
``convnet``, and the paper's suffixed names such as ``RGroupT``, ``LiftR``, ``RppS``,
``RGroupD``, ``RSteerD``, ``EquivD``, ``RSteerTR`` (case and ``_``/``-`` insensitive).

Default widths: comparable by hidden feature channels per pixel (64 for ConvNet-type, C4 and D4
models, i.e. 16 C4 or 8 D4 regular fields; 24 per scale x 3 scales for scaling models), 5 layers,
5x5 kernels, so parameter counts differ mainly by weight sharing. ``width`` and ``num_layers``
shrink any model (quick profile). Trainable parameters at 64x64 with the defaults (measured;
``print_parameter_table()`` recomputes them), all below 10^7 (paper App. A.1):

========== =========== =========== =========== ===========
model      rotation    translation scaling     dihedral
========== =========== =========== =========== ===========
mlp        5,783,744 (any symmetry)
conv       342,658 (any symmetry)
equiv      37,728      342,658     98,448      18,864
rpp        380,128     3,235,522   526,848     --
combo      36,468      345,858     79,668      --
clcnn      8,912,896   8,912,896   7,127,040   --
lift       43,144      359,866     107,256     --
rgroup     355,340     1,088,898   381,693     201,760
rsteer     869,760     --          432,528     380,096
rsteer_tr  1,780,480 (rotation + translation)
rsteer_ts  905,968 (scaling + translation)
========== =========== =========== =========== ===========

Models that hold per-position weights (``mlp``, ``clcnn``, translation ``rpp`` and ``rgroup``,
``rsteer_tr``, ``rsteer_ts``) need ``input_size=(H, W)`` (default ``(64, 64)``); every model
accepts that hyper-parameter, so a trainer can always pass it.

See also: notebooks 01 (heat diffusion), 03 (smoke plumes, Table 1) and 04 (jet flow, Table 2
analogue), sources ``notebooks/NN_name.py``.
"""

from __future__ import annotations

from torch import nn

from aeqkit.models.base import Forecaster, check_alpha
from aeqkit.models.registry import (
    KINDS,
    SYMMETRIES,
    ModelSpec,
    _known_names,
    get_model_spec,
    model_aliases,
    model_specs,
    register_model,
    resolve_name,
)

# importing the zoo registers its models (each module decorates its classes with register_model)
from aeqkit.models import baselines, equivariant, clcnn, relaxed  # noqa: E402,F401  isort: skip

__all__ = [
    "build",
    "available_models",
    "count_parameters",
    "model_symmetries",
    "model_aliases",
    "model_specs",
    "get_model_spec",
    "register_model",
    "ModelSpec",
    "parameter_table",
    "print_parameter_table",
    "Forecaster",
    "KINDS",
    "SYMMETRIES",
    "SHARED_HPARAMS",
]

#: Accepted by every model, ignored by those that have no use for them (e.g. ``kernel_size`` for
#: the MLP, ``input_size`` for models that run on any grid).
SHARED_HPARAMS = ("input_size", "kernel_size", "padding_mode")
ALL = (None, *SYMMETRIES)


def available_models() -> dict[str, tuple[str | None, ...]]:
    """Registered model names and the symmetries each accepts (the first is the default).

    Derived from :func:`model_specs`. Aliases (``e2cnn``, ``sesn``, ``RGroupT``, ...) are
    accepted by :func:`build` too; see :func:`model_aliases`.
    """
    return {name: spec.symmetries for name, spec in model_specs().items()}


def model_symmetries(name: str) -> tuple[str | None, ...]:
    """The symmetries accepted by model ``name`` (canonical or alias)."""
    spec, implied = resolve_name(name)
    return (implied,) if implied else spec.symmetries


def build(name: str, symmetry: str | None = "default", *, seed: int | None = None,
          **hparams) -> Forecaster:
    """Build a forecaster by name (paper Tables 1-2).

    Args:
        name: a model name of :func:`available_models` or an alias (case-insensitive).
        symmetry: ``"rotation"``, ``"translation"``, ``"scaling"``, ``"dihedral"`` or ``None``;
            by default the alias's symmetry or the model's first accepted one.
        **hparams: model hyper-parameters, e.g. ``width``, ``num_layers``, ``kernel_size``,
            ``padding_mode`` (``"zeros"``/``"circular"``), ``alpha`` (weight of
            ``extra_loss()``), ``num_filter_banks``, ``group_order``, ``input_size``
            (:attr:`ModelSpec.hparams`, read from the model class's signature).
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
    spec, implied = resolve_name(name)
    canonical, syms = spec.name, spec.symmetries
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
    accepted = spec.accepted_hparams(symmetry)
    # hyper-parameters a trainer or profile may pass to every model: dropped where meaningless
    hparams = {k: v for k, v in hparams.items() if k in accepted or k not in SHARED_HPARAMS}
    unknown = sorted(set(hparams) - accepted)
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown} for {canonical!r} "
                         f"({symmetry}); accepted: {sorted(accepted)}")
    if "alpha" in hparams:  # also for the baselines, which ignore it
        check_alpha(hparams["alpha"])
    if seed is not None:
        from aeqkit.utils import seeded

        with seeded(seed):
            model = spec.factory(symmetry, **hparams)
    else:
        model = spec.factory(symmetry, **hparams)
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
