"""Relaxed (approximately) equivariant layers (paper Sec. 3): group convolutions for rotations,
scalings and translations, steerable convolutions, regularisers and the irrep spectrum.

Every relaxed layer derives from :class:`RelaxedLayer` (``aeqkit.nn.base``): it exposes
``relaxed_weights`` (ones, i.e. equal, at initialisation, so the layer is exactly equivariant
there), ``equivariance_penalty()``, ``expanded_weight()``, its ``group`` and ``in_type`` /
``out_type`` field types. :class:`RelaxedGroupConv2d` / :class:`RelaxedLiftConv2d` are the one
relaxed group convolution for any finite group (C_N, D_N, D_1), built from the group object.
"""

from aeqkit.groups import as_finite_group  # the one validator of finite groups, re-exported
from aeqkit.nn.base import RelaxedLayer
from aeqkit.nn.basic import CoordConv2d, PlainConv2d, check_input_size, pad2d
from aeqkit.nn.gconv import (
    GroupPool,
    GroupToVector,
    RelaxedDihedralGroupConv2d,
    RelaxedDihedralLiftConv2d,
    RelaxedGroupConv2d,
    RelaxedLiftConv2d,
    RelaxedRotGroupConv2d,
    RelaxedRotLiftConv2d,
    RotGroupToVector,
    exact_group_elements,
    exactly_equivariant_rotations,
    lift_matrix,
    vector_lift_rows,
)
from aeqkit.nn.local import LocallyConnected2d, rep_matrix
from aeqkit.nn.regularizers import (
    equivariance_penalty,
    param_groups,
    relaxed_layers,
    relaxed_parameters,
)
from aeqkit.nn.scale import (
    RelaxedScaleGroupConv2d,
    RelaxedScaleLiftConv2d,
    RelaxedScaleSteerConv2d,
    hermite_gaussian_basis,
)
from aeqkit.nn.sesn import ScaleGroupConv2d, ScaleLiftConv2d, ScaleProjection, upsample_blocks
from aeqkit.nn.spatial import RelaxedTranslationMix, SpatialRelaxedWeights
from aeqkit.nn.spectrum import (
    IrrepSpectrum,
    Subgroup,
    irrep_spectrum,
    subgroups,
    surviving_subgroup,
)
from aeqkit.nn.steerable import (
    RelaxedDihedralSteerConv2d,
    RelaxedRotSteerConv2d,
    RelaxedSteerConv2d,
    angle_bins,
    steer_field_type,
)
from aeqkit.nn.translation import RelaxedTranslationConv2d

__all__ = [
    # plain and strict layers the model zoo composes (aeqkit.nn.basic, .local, .sesn, .spatial)
    "CoordConv2d",
    "LocallyConnected2d",
    "PlainConv2d",
    "RelaxedTranslationMix",
    "ScaleGroupConv2d",
    "ScaleLiftConv2d",
    "ScaleProjection",
    "SpatialRelaxedWeights",
    "check_input_size",
    "pad2d",
    "rep_matrix",
    "upsample_blocks",
    "GroupPool",
    "GroupToVector",
    "IrrepSpectrum",
    "RelaxedDihedralGroupConv2d",
    "RelaxedDihedralLiftConv2d",
    "RelaxedGroupConv2d",
    "RelaxedLayer",
    "RelaxedLiftConv2d",
    "RelaxedRotGroupConv2d",
    "RelaxedRotLiftConv2d",
    "RelaxedDihedralSteerConv2d",
    "RelaxedRotSteerConv2d",
    "RelaxedScaleGroupConv2d",
    "RelaxedScaleLiftConv2d",
    "RelaxedScaleSteerConv2d",
    "RelaxedSteerConv2d",
    "RelaxedTranslationConv2d",
    "RotGroupToVector",
    "angle_bins",
    "as_finite_group",
    "equivariance_penalty",
    "exact_group_elements",
    "exactly_equivariant_rotations",
    "hermite_gaussian_basis",
    "irrep_spectrum",
    "lift_matrix",
    "param_groups",
    "relaxed_layers",
    "relaxed_parameters",
    "steer_field_type",
    "Subgroup",
    "subgroups",
    "surviving_subgroup",
    "vector_lift_rows",
]
