"""LieGAN-style symmetry discovery: learn the group from data, measure it, use it.

See also: notebook 05 (``notebooks/05_liegan_discovery.py``); on flow fields, notebook 07.
"""

from aeqkit.discovery.augment import augmentation_comparison, group_sampler, train_forecaster
from aeqkit.discovery.data import PairData, check_pairs, flow_pairs, make_ring, make_two_body
from aeqkit.discovery.discriminator import LieDiscriminator
from aeqkit.discovery.fields import (
    FieldDiscoveryResult,
    FieldGenerator,
    OrderScan,
    discover_fields,
    field_pairs,
    order_scan,
    pair_mismatch,
    transform_fields,
)
from aeqkit.discovery.generator import (
    LieGenerator,
    act,
    block_mask,
    lorentz_algebra,
    so2_generator,
)
from aeqkit.discovery.metric_solver import InvariantMetric, invariant_metric
from aeqkit.discovery.metrics import (
    ClosureReport,
    data_span_projector,
    distinguishability,
    generator_cosine,
    principal_angles,
    structure_constants,
)
from aeqkit.discovery.suggest import ModelSuggestion, build_suggested, compare_models, suggest_model
from aeqkit.discovery.train import THRESHOLDS, DiscoveryResult, discover, identity_penalty

__all__ = [
    "LieGenerator", "LieDiscriminator", "act", "block_mask", "so2_generator", "lorentz_algebra",
    "PairData", "check_pairs", "make_two_body", "make_ring", "flow_pairs",
    "generator_cosine", "principal_angles", "data_span_projector", "structure_constants",
    "ClosureReport", "distinguishability",
    "discover", "DiscoveryResult", "identity_penalty", "THRESHOLDS",
    "invariant_metric", "InvariantMetric",
    "augmentation_comparison", "train_forecaster", "group_sampler",
    "FieldGenerator", "FieldDiscoveryResult", "OrderScan", "transform_fields", "field_pairs",
    "discover_fields", "pair_mismatch", "order_scan",
    "ModelSuggestion", "suggest_model", "build_suggested", "compare_models",
]
