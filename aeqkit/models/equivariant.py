"""Strictly equivariant forecasters and the approximately equivariant baselines built on them
(paper Sec. 3.4 and 5): Equiv (E2CNN / SESN), Rpp, Combo and Lift for rotation and scaling.

Rotation models use escnn (Weiler & Cesa 2019): the input is 10 vector fields (irrep 1 of
``rot2dOnR2(N)``), hidden features are regular fields with pointwise ReLU, the output one vector
field. escnn's grid has its row axis pointing *down*, whereas aeqkit's points up (DESIGN.md); as
measured numerically, flipping the row axis of the input and of the output makes the escnn network
equivariant under the ``aeqkit.groups`` actions (rotation by ``k`` x 90 deg, vectors rotated
counter-clockwise), which is what every rotation model here does.

Scaling models use the SESN-style layers of :mod:`aeqkit.models.sesn` (bias-free, dilated
kernels at ``num_scales`` scales).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from aeqkit.groups import CyclicGroup, DihedralGroup, FiniteGroup
from aeqkit.models.base import Forecaster, PathwayTrunk
from aeqkit.models.baselines import (
    ComboTranslation,
    ConvForecaster,
    LiftTranslation,
    RppTranslation,
)
from aeqkit.models.registry import register_model
from aeqkit.models.sesn import SESNTrunk
from aeqkit.nn._common import (
    MODEL_PADDING_MODES,
    check_kernel_size,
    check_padding_mode,
    check_positive_int,
)
from aeqkit.nn.basic import PlainConv2d

__all__ = ["EscnnTrunk", "StrictForecaster", "RppForecaster", "ComboForecaster",
           "LiftForecaster"]

SYMMETRIES = ("rotation", "scaling", "dihedral")
#: Default width of the escnn models in regular fields: 64 channels for C4 and for D4.
_DEFAULT_FIELDS = {"rotation": 16, "dihedral": 8}


def _escnn():
    with warnings.catch_warnings():
        # escnn warns once at import that py3nj (SO(3) only) is missing; 2D models never need it
        warnings.filterwarnings("ignore", message=".*py3nj.*")
        import escnn.gspaces
        import escnn.nn
    return escnn.gspaces, escnn.nn


def escnn_gspace(group: FiniteGroup):
    """escnn's gspace of an aeqkit group: ``rot2dOnR2(N)`` for C_N, ``flipRot2dOnR2(N)`` for D_N.

    Returns ``(gspace, vector_repr)``, the latter the group's action on the plane (irrep 1 of C_N,
    irrep (1, 1) of D_N).
    """
    gspaces, _ = _escnn()
    if isinstance(group, DihedralGroup):
        # axis=0: conjugated by the row flip of _TrunkForecaster, escnn's reflection is aeqkit's
        # flip x -> -x (measured: D4 error 4e-7, float32 basis; axis=pi/2 gives 3.6)
        gs = gspaces.flipRot2dOnR2(group.order, axis=0.0)
        return gs, gs.irrep(1, 1)
    if isinstance(group, CyclicGroup):
        gs = gspaces.rot2dOnR2(group.order)
        return gs, gs.irrep(1)
    raise ValueError(f"group must be an aeqkit CyclicGroup or DihedralGroup, got {group!r}")


class EscnnTrunk(PathwayTrunk):
    """E2CNN trunk on escnn: typed input -> regular fields of C_N or D_N -> one vector field.

    Input fields: ``in_vectors`` vector fields (irrep 1) followed by ``in_scalars`` trivial fields.
    Layers: lifting R2Conv + ReLU, ``num_layers - 2`` residual regular R2Conv + ReLU, R2Conv to
    irrep 1. With ``residual_pathway=True`` (Rpp) each layer also has a bias-free unconstrained
    convolution on the same channels, added to its output.

    The group is ``group`` (an aeqkit ``CyclicGroup`` or ``DihedralGroup``, :func:`escnn_gspace`)
    or, when that is ``None``, ``CyclicGroup(group_order)``. Operates in escnn's orientation (rows
    pointing down); callers flip the row axis.

    Shape:
        z: (B, 2 in_vectors + in_scalars, H, W) -> (B, 2, H, W)
    """

    def __init__(self, in_vectors: int, in_scalars: int, fields: int, num_layers: int,
                 kernel_size: int, padding_mode: str = "zeros", group_order: int = 4,
                 residual_pathway: bool = False, group: FiniteGroup | None = None) -> None:
        super().__init__()
        _, enn = _escnn()
        if group is None:
            group = CyclicGroup(check_positive_int(group_order, "group_order", minimum=2))
        self.group = group
        self.gspace, vector = escnn_gspace(group)
        gs = self.gspace
        self.in_type = enn.FieldType(gs, in_vectors * [vector] + in_scalars * [gs.trivial_repr])
        self.hid_type = enn.FieldType(gs, fields * [gs.regular_repr])
        self.out_type = enn.FieldType(gs, [vector])
        pad = kernel_size // 2
        # recompute=True: escnn otherwise shares (caches) basis-expansion modules between
        # convolutions, and .double() on one model would silently cast them for every other one
        kw = {"padding": pad, "padding_mode": padding_mode, "recompute": True}
        self.lift = enn.R2Conv(self.in_type, self.hid_type, kernel_size, **kw)
        self.hidden = nn.ModuleList(enn.R2Conv(self.hid_type, self.hid_type, kernel_size, **kw)
                                    for _ in range(num_layers - 2))
        self.project = enn.R2Conv(self.hid_type, self.out_type, kernel_size, **kw)
        self._build_pathway(self.in_type.size, self.hid_type.size, num_layers, kernel_size,
                            padding_mode, residual_pathway)

    def _layer(self, i: int, conv: nn.Module, x: torch.Tensor, in_type) -> torch.Tensor:
        _, enn = _escnn()
        return self._with_pathway(i, conv(enn.GeometricTensor(x, in_type)).tensor, x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # pointwise ReLU on regular fields commutes with the group's permutation action
        y = F.relu(self._layer(0, self.lift, z, self.in_type))
        for i, conv in enumerate(self.hidden, start=1):
            y = y + F.relu(self._layer(i, conv, y, self.hid_type))
        return self._layer(len(self.hidden) + 1, self.project, y, self.hid_type)


def _check_symmetry(symmetry: object, model: str) -> str:
    if symmetry not in SYMMETRIES:
        raise ValueError(f"{model} is built here for symmetry in {SYMMETRIES}, got {symmetry!r}")
    return str(symmetry)


class _TrunkForecaster(Forecaster):
    """Shared constructor: a rotation / dihedral (escnn) or scaling (SESN) trunk, plus options."""

    def __init__(self, symmetry: str, width: int | None, num_layers: int, kernel_size: int,
                 padding_mode: str, group_order: int, num_scales: int, input_frames: int,
                 alpha: float, in_vectors: int | None = None, in_scalars: int = 0,
                 residual_pathway: bool = False) -> None:
        super().__init__(input_frames, _check_symmetry(symmetry, type(self).__name__), alpha)
        num_layers = check_positive_int(num_layers, "num_layers", minimum=2)
        kernel_size = check_kernel_size(kernel_size)
        padding_mode = check_padding_mode(padding_mode, MODEL_PADDING_MODES)
        in_vectors = input_frames if in_vectors is None else in_vectors
        if symmetry in ("rotation", "dihedral"):
            fields = check_positive_int(_DEFAULT_FIELDS[symmetry] if width is None else width,
                                        "width")
            self.group_order = check_positive_int(group_order, "group_order", minimum=2)
            group = (DihedralGroup if symmetry == "dihedral" else CyclicGroup)(self.group_order)
            self.trunk = EscnnTrunk(in_vectors, in_scalars, fields, num_layers, kernel_size,
                                    padding_mode, self.group_order, residual_pathway, group=group)
        else:
            width = check_positive_int(24 if width is None else width, "width")
            self.num_scales = check_positive_int(num_scales, "num_scales")
            self.trunk = SESNTrunk(2 * in_vectors + in_scalars, width, num_layers, kernel_size,
                                   padding_mode, self.num_scales,
                                   residual_pathway=residual_pathway)

    def _run_trunk(self, z: torch.Tensor) -> torch.Tensor:
        if self.symmetry in ("rotation", "dihedral"):
            # escnn rows point down, aeqkit rows point up: conjugate by a row flip
            return self.trunk(z.flip(-2)).flip(-2)
        return self.trunk(z)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self._run_trunk(z)


@register_model("equiv", symmetries=("rotation", "scaling", "translation", "dihedral"),
                display_name="Equiv", kind="strict",
                aliases=(("e2cnn", "rotation"), ("sesn", "scaling"), ("e2cnnd", "dihedral")),
                classes={"translation": ConvForecaster})
class StrictForecaster(_TrunkForecaster):
    """Strictly equivariant forecaster ("Equiv"): E2CNN for rotation / dihedral, SESN-style for
    scaling.

    ``symmetry="rotation"``: exactly equivariant to the rotations of C_N that map the grid to
    itself (multiples of 90 deg on square grids) with zero or circular padding. ``width`` counts
    regular fields (default 16, i.e. 64 channels for C4). ``symmetry="dihedral"``: escnn's
    ``flipRot2dOnR2(N)`` (D_N: rotations and the flip ``x -> -x``), default 8 regular fields
    (64 channels for D4); exact up to escnn's float32 kernel basis (D4 error about 5e-7 in
    float64, as for rotation). ``symmetry="scaling"``: SESN-style, width
    24 channels per scale, 3 scales, bias-free (see :mod:`aeqkit.models.sesn`). Parameter counts
    with the defaults (any grid): rotation 37,728; scaling 98,448.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "equiv"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 num_scales: int = 3, input_frames: int = 10, alpha: float = 0.0) -> None:
        super().__init__(symmetry, width, num_layers, kernel_size, padding_mode, group_order,
                         num_scales, input_frames, alpha)


@register_model("rpp", symmetries=("rotation", "translation", "scaling"), display_name="Rpp",
                kind="unconstrained", classes={"translation": RppTranslation})
class RppForecaster(_TrunkForecaster):
    """Residual Pathway Prior (Finzi et al. 2021b; paper Sec. 5 "Rpp") for rotation / scaling.

    Every layer is the sum of an equivariant layer (E2CNN or SESN-style) and an unconstrained,
    bias-free convolution on the same channels ("ConvNet and E2CNN", "ConvNet and SESN").
    :meth:`extra_loss` is the Gaussian prior ``alpha * sum ||W||^2`` on the unconstrained pathway
    only. Parameter counts with the defaults (any grid): rotation 380,128; scaling 526,848.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "rpp"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 num_scales: int = 3, input_frames: int = 10, alpha: float = 1e-4) -> None:
        super().__init__(symmetry, width, num_layers, kernel_size, padding_mode, group_order,
                         num_scales, input_frames, alpha, residual_pathway=True)

    def extra_loss(self) -> torch.Tensor:
        penalty = sum(p.pow(2).sum() for p in self.trunk.pathway_parameters())
        return self.alpha * penalty


@register_model("combo", symmetries=("rotation", "translation", "scaling"), display_name="Combo",
                kind="unconstrained", classes={"translation": ComboTranslation})
class ComboForecaster(_TrunkForecaster):
    """Non-equivariant layers then equivariant ones (paper Sec. 3.4 "Combo"), rotation / scaling.

    ``num_nonequivariant`` unconstrained convolutions (ReLU between them, the last one linear) map
    the 10 input frames to 10 fields that the equivariant trunk then treats as vector fields
    (rotation) or plain channels (scaling). ``num_layers`` counts all layers. Parameter counts with
    the defaults (any grid): rotation 36,468; scaling 79,668.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "combo"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 num_scales: int = 3, num_nonequivariant: int = 1, input_frames: int = 10,
                 alpha: float = 0.0) -> None:
        n_ne = check_positive_int(num_nonequivariant, "num_nonequivariant")
        if not isinstance(num_layers, int) or n_ne > num_layers - 2:
            raise ValueError(f"num_nonequivariant must be between 1 and num_layers - 2 (the "
                             f"equivariant part needs >= 2 layers), got {n_ne} with "
                             f"num_layers={num_layers!r}")
        super().__init__(symmetry, width, num_layers - n_ne, kernel_size, padding_mode,
                         group_order, num_scales, input_frames, alpha)
        c = self.in_channels
        self.nonequivariant = nn.ModuleList(
            PlainConv2d(c, c, check_kernel_size(kernel_size), padding_mode) for _ in range(n_ne))

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        y = z
        for i, conv in enumerate(self.nonequivariant):
            y = conv(y)
            if i < len(self.nonequivariant) - 1:
                y = F.relu(y)
        return self._run_trunk(y)


@register_model("lift", symmetries=("rotation", "translation", "scaling"), display_name="Lift",
                kind="unconstrained", classes={"translation": LiftTranslation})
class LiftForecaster(_TrunkForecaster):
    """Lift expansion (Wang et al. 2021; paper Sec. 3.4 "Lift") for rotation / scaling.

    A non-equivariant encoder (an unconstrained convolution + ReLU, any grid size) computes
    ``lift_channels`` features that enter the equivariant backbone as trivial-representation
    (scalar) channels next to the raw input, which the backbone also receives. Parameter counts
    with the defaults (any grid): rotation 43,144; scaling 107,256.

    Shape:
        x: (B, T, 2, H, W) -> (B, 2, H, W)
    """

    name = "lift"

    def __init__(self, symmetry: str = "rotation", width: int | None = None, num_layers: int = 5,
                 kernel_size: int = 5, padding_mode: str = "zeros", group_order: int = 4,
                 num_scales: int = 3, lift_channels: int = 8, input_frames: int = 10,
                 alpha: float = 0.0) -> None:
        m = check_positive_int(lift_channels, "lift_channels")
        super().__init__(symmetry, width, num_layers, kernel_size, padding_mode, group_order,
                         num_scales, input_frames, alpha, in_scalars=m)
        self.encoder = PlainConv2d(self.in_channels, m, check_kernel_size(kernel_size),
                                   padding_mode)

    def _predict(self, z: torch.Tensor) -> torch.Tensor:
        return self._run_trunk(torch.cat([z, F.relu(self.encoder(z))], dim=1))
