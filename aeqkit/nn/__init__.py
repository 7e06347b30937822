"""Relaxed (approximately) equivariant layers (paper Sec. 3): group convolutions for rotations,
scalings and translations, steerable convolutions, regularisers and the irrep spectrum.

Every relaxed layer exposes ``relaxed_weights`` (ones, i.e. equal, at initialisation, so the layer
is exactly equivariant there) and ``equivariance_penalty()``.
"""

from aeqkit.nn.gconv import (
    GroupPool,
    RelaxedRotGroupConv2d,
    RelaxedRotLiftConv2d,
    RotGroupToVector,
    exactly_equivariant_rotations,
    lift_matrix,
)
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
from aeqkit.nn.spectrum import IrrepSpectrum, irrep_spectrum, surviving_subgroup
from aeqkit.nn.steerable import RelaxedRotSteerConv2d, angle_bins, steer_field_type
from aeqkit.nn.translation import RelaxedTranslationConv2d

__all__ = [
    "GroupPool",
    "IrrepSpectrum",
    "RelaxedRotGroupConv2d",
    "RelaxedRotLiftConv2d",
    "RelaxedRotSteerConv2d",
    "RelaxedScaleGroupConv2d",
    "RelaxedScaleLiftConv2d",
    "RelaxedScaleSteerConv2d",
    "RelaxedTranslationConv2d",
    "RotGroupToVector",
    "angle_bins",
    "equivariance_penalty",
    "exactly_equivariant_rotations",
    "hermite_gaussian_basis",
    "irrep_spectrum",
    "lift_matrix",
    "param_groups",
    "relaxed_layers",
    "relaxed_parameters",
    "steer_field_type",
    "surviving_subgroup",
]
