"""Tests of the forecaster zoo (aeqkit.models): shapes, exact equivariance at initialisation,
extra losses, gradients, registry errors and parameter budgets. Small widths keep it fast."""

from __future__ import annotations

import pytest
import torch

from aeqkit.equivariance import equivariance_error
from aeqkit.groups import CyclicGroup, TranslationGroup, get_group
from aeqkit.models import (
    available_models,
    build,
    count_parameters,
    model_aliases,
    model_specs,
    model_symmetries,
)
from aeqkit.models.sesn import (
    ScaleGroupConv2d,
    ScaleLiftConv2d,
    upsample_blocks,
)

torch.set_num_threads(1)

SPECS = model_specs()
ALL_PAIRS = [(name, sym) for name, spec in SPECS.items() for sym in spec.symmetries]
#: Baselines with nothing to train (the last input frame is the forecast).
PARAMETER_FREE = {"persistence"}
#: Models with relaxed weights (kind "relaxed"), for each symmetry they accept.
RELAXED = [(n, s) for n, s in ALL_PAIRS if SPECS[n].kind == "relaxed"]
#: Strict and relaxed models: exactly equivariant at initialisation to their symmetry.
EXACT_AT_INIT = [(n, s) for n, s in ALL_PAIRS if SPECS[n].kind in ("strict", "relaxed")]
EXACT_TOL = 1e-5
#: escnn samples its kernel basis in float32, so the E2CNN models are exact to ~5e-7 in float64;
#: every other strict / relaxed model to rounding
ESCNN_TOL = 1e-5
FLOAT64_TOL = 1e-10


def small(name: str, sym: str | None, size: tuple[int, int], **extra) -> dict:
    """Small hyper-parameters so that every model builds and runs in well under a second."""
    hp: dict = {"num_layers": 3, "input_size": size}
    if name == "mlp":
        hp.update(width=8)
    elif name == "clcnn":
        hp.update(width={"rotation": 1, "translation": 4, "scaling": 3}[sym], kernel_size=3)
    elif sym in ("rotation", "dihedral") and name != "conv":
        hp.update(width=2, kernel_size=3 if name in ("equiv", "rpp", "combo", "lift") else 5)
    elif sym == "scaling" and name not in ("conv",):
        hp.update(width=3, kernel_size=3, num_scales=2)
    elif name in ("rsteer_tr",):
        hp.update(width=2, kernel_size=3)
    elif name in ("rsteer_ts",):
        hp.update(width=3, kernel_size=3, num_scales=2)
    else:
        hp.update(width=6, kernel_size=3)
    if name in ("rpp",) and sym == "translation":
        hp.update(mlp_width=4, mlp_layers=2)
    hp.update(extra)
    return hp


def make(name: str, sym: str | None, size=(24, 20), seed: int = 0, **extra):
    torch.manual_seed(seed)
    return build(name, sym, **small(name, sym, size, **extra)).double()


def sample(size=(24, 20), batch: int = 2, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 10, 2, *size, generator=g, dtype=torch.float64)


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("name,sym", ALL_PAIRS)
def test_every_model_maps_ten_frames_to_next_frame_on_non_square_grid(name, sym):
    model = make(name, sym, (24, 20))
    y = model(sample((24, 20)))
    assert y.shape == (2, 2, 24, 20)
    assert torch.isfinite(y).all()
    assert model.name == name and model.symmetry == sym


@pytest.mark.parametrize("name,sym", [("conv", None), ("rgroup", "rotation"), ("equiv", "scaling")])
def test_models_run_at_64x64(name, sym):
    model = make(name, sym, (64, 64))
    assert model(sample((64, 64), batch=1)).shape == (1, 2, 64, 64)


def test_bad_input_shape_and_wrong_grid_raise():
    model = make("conv", None)
    with pytest.raises(ValueError, match=r"\(B, 10, 2, H, W\)"):
        model(torch.zeros(1, 9, 2, 8, 8, dtype=torch.float64))
    mlp = make("mlp", None, (24, 20))
    with pytest.raises(ValueError, match="input_size"):
        mlp(sample((20, 24)))


# ------------------------------------------------------------------ exact equivariance at init
ROTATION_EQUIVARIANT = [(n, s, {}) for n, s in EXACT_AT_INIT if s == "rotation"] + [
    # hyper-parameter variants, and CLCNN (unconstrained, its kernels symmetrised at init)
    ("rgroup", "rotation", {"group_order": 8}),
    ("rsteer", "rotation", {"relax": "angle"}),
    ("clcnn", "rotation", {}),
]


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
@pytest.mark.parametrize("name,sym,extra", ROTATION_EQUIVARIANT)
def test_rotation_models_are_exactly_c4_equivariant_at_init(name, sym, extra, padding_mode):
    size = (12, 12)
    model = make(name, sym, size, padding_mode=padding_mode, **extra)
    rep = equivariance_error(model, sample(size), CyclicGroup(4), norm="linf")
    assert [e.element for e in rep.per_element] == [0, 1, 2, 3]
    assert rep.sup < EXACT_TOL, str(rep)


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
@pytest.mark.parametrize("name,sym,extra", [(n, s, {}) for n, s in EXACT_AT_INIT if s == "dihedral"]
                         + [("rsteer", "dihedral", {"relax": "angle"})])
def test_dihedral_models_are_exactly_d4_equivariant_at_init(name, sym, extra, padding_mode):
    """D4 (rotations by 90 degrees and reflections) on (B, 10, 2, H, W) vector fields, float64."""
    size = (12, 12)
    model = make(name, sym, size, padding_mode=padding_mode, **extra)
    group = get_group("D4")
    rep = equivariance_error(model, sample(size), group, norm="linf")
    assert sorted(e.element for e in rep.per_element) == sorted(group.elements())
    tol = ESCNN_TOL if SPECS[name].kind == "strict" else FLOAT64_TOL
    assert rep.sup < tol, str(rep)
    assert float(model.extra_loss().detach()) == 0.0


@pytest.mark.parametrize("name", [n for n, spec in SPECS.items()
                                  if spec.kind == "unconstrained" and "rotation" in spec.symmetries
                                  and n != "clcnn"])
def test_unconstrained_models_are_clearly_not_rotation_equivariant(name):
    size = (12, 12)
    sym = None if name in ("conv", "mlp") else "rotation"
    model = make(name, sym, size)
    x = sample(size)
    rep = equivariance_error(model, x, CyclicGroup(4), elements=[1, 2, 3])
    scale = model(x).abs().mean().item()
    assert rep.sup > 1e-3 * max(scale, 1.0), str(rep)


#: every strict / relaxed model is built from convolutions; plus the ConvNet and the CLCNNs whose
#: hinge is the translation one (their kernels start equal at every position)
TRANSLATION_EQUIVARIANT = EXACT_AT_INIT + [("conv", None), ("clcnn", "translation"),
                                           ("clcnn", "scaling")]


@pytest.mark.parametrize("name,sym", TRANSLATION_EQUIVARIANT)
def test_models_are_exactly_shift_equivariant_with_circular_padding(name, sym):
    size = (12, 10)
    model = make(name, sym, size, padding_mode="circular")
    rep = equivariance_error(model, sample(size), TranslationGroup(cyclic=True), norm="linf")
    assert rep.sup < EXACT_TOL, str(rep)


def test_coordinate_aware_translation_baselines_break_shift_equivariance():
    size = (12, 10)
    for name in ("combo", "lift", "rpp", "mlp"):
        model = (
            make(name, "translation", size, padding_mode="circular")
            if name != "mlp"
            else make(name, "translation", size)
        )
        rep = equivariance_error(
            model, sample(size), TranslationGroup(cyclic=True), elements=[(1, 0), (0, 3)]
        )
        assert rep.sup > 1e-4, (name, str(rep))


def test_escnn_row_flip_is_needed_for_aeqkit_orientation():
    """Without the row flip around escnn, 90-degree rotations would not commute with the model."""
    size = (12, 12)
    model = make("equiv", "rotation", size)
    x = sample(size)

    def unflipped(x):
        b, t, c, h, w = x.shape
        return x[:, -1] + model.trunk(x.reshape(b, t * c, h, w))

    assert equivariance_error(model, x, CyclicGroup(4), elements=[1]).sup < EXACT_TOL
    assert equivariance_error(unflipped, x, CyclicGroup(4), elements=[1]).sup > 1e-3


# ------------------------------------------------------------------ scaling: exact properties
@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
def test_sesn_layers_commute_with_block_upsampling_up_to_a_scale_shift(padding_mode):
    torch.manual_seed(0)
    s_count, c = 3, 2
    lift = ScaleLiftConv2d(3, c, 3, s_count, padding_mode).double()
    group = ScaleGroupConv2d(c, c, 3, s_count, 2, padding_mode).double()
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64)
    up = upsample_blocks(x)
    a = lift(up).unflatten(1, (c, s_count))
    b = upsample_blocks(lift(x)).unflatten(1, (c, s_count))
    assert (a[:, :, 1:] - b[:, :, :-1]).abs().max() < 1e-10

    def h(z):
        return group(torch.relu(lift(z))).unflatten(1, (c, s_count))

    ha, hb = h(up), upsample_blocks(h(x))
    # group window 2: exact where every input scale it reads is exact, s + 1 <= S - 1
    assert (ha[:, :, 1] - hb[:, :, 0]).abs().max() < 1e-10
    # the truncated top scale is not exact (finite scale range, as in SESN)
    assert (ha[:, :, 2] - hb[:, :, 1]).abs().max() > 1e-6


def test_strict_scale_model_is_positively_homogeneous():
    model = make("equiv", "scaling", (12, 10))
    x = sample((12, 10))
    for lam in (0.5, 3.0):
        assert (model(lam * x) - lam * model(x)).abs().max() < 1e-10


# ------------------------------------------------------------------ relaxed models and extra losses
def _perturb_relaxed(model: torch.nn.Module, scale: float, seed: int = 3) -> int:
    g = torch.Generator().manual_seed(seed)
    count = 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relaxed_weights"):
                p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
                count += 1
    return count


@pytest.mark.parametrize("name,sym", RELAXED)
def test_relaxed_extra_loss_is_zero_at_init_and_positive_after_perturbing(name, sym):
    model = make(name, sym, (12, 12), alpha=1.0)
    assert model.extra_loss().item() == 0.0
    assert _perturb_relaxed(model, 0.1) > 0
    assert model.extra_loss().item() > 0.0


@pytest.mark.parametrize("name,sym", [("rgroup", "rotation"), ("rsteer", "rotation")])
def test_perturbed_relaxed_rotation_models_lose_equivariance(name, sym):
    size = (12, 12)
    model = make(name, sym, size)
    x = sample(size)
    errors = []
    for scale in (0.05, 0.5):
        m = make(name, sym, size)
        _perturb_relaxed(m, scale)
        errors.append(equivariance_error(m, x, CyclicGroup(4), elements=[1, 2, 3]).sup)
    assert equivariance_error(model, x, CyclicGroup(4)).sup < EXACT_TOL
    assert errors[0] > 1e-3 * 0.05 and errors[1] > errors[0]


@pytest.mark.parametrize("name,sym", [("rsteer_tr", "translation"), ("rsteer_ts", "translation")])
def test_eq8_spatial_weights_are_penalised_and_break_shift_equivariance(name, sym):
    size = (10, 8)
    model = make(name, sym, size, alpha=1.0, padding_mode="circular")
    x = sample(size)
    shifts = TranslationGroup(cyclic=True)
    assert equivariance_error(model, x, shifts, norm="linf").sup < EXACT_TOL
    spatial = [m for m in model.modules() if type(m).__name__ == "SpatialRelaxedWeights"]
    assert len(spatial) == 3  # one per layer
    with torch.no_grad():
        spatial[0].relaxed_weights[0, 2, 3] += 0.5
    # only a_r(x) moved: the penalty sees it (leaf provider for aeqkit.nn.equivariance_penalty)
    assert model.extra_loss().item() > 0.0
    assert equivariance_error(model, x, shifts, elements=[(1, 0), (0, 2)]).sup > 1e-4


def test_low_rank_relaxed_translation_model_is_shift_equivariant_at_init():
    size = (10, 8)
    model = make("rgroup", "translation", size, rank=2, padding_mode="circular")
    assert equivariance_error(model, sample(size), TranslationGroup(), norm="linf").sup < EXACT_TOL


def test_clcnn_hinge_is_zero_at_init_positive_after_perturbing_and_breaks_equivariance():
    size = (8, 8)
    model = make("clcnn", "rotation", size, alpha=1.0)
    x = sample(size)
    # symmetrised in float32 at build, so zero up to float32 rounding
    assert model.extra_loss().item() < 1e-5
    model.symmetrize_()
    assert model.extra_loss().item() < 1e-12
    assert equivariance_error(model, x, CyclicGroup(4)).sup < EXACT_TOL
    with torch.no_grad():
        model.layers[0].weight[3, 2].add_(0.1)
    assert model.extra_loss().item() > 0.0
    assert equivariance_error(model, x, CyclicGroup(4), elements=[1]).sup > 1e-4


@pytest.mark.parametrize("sym", ["rotation", "translation", "scaling"])
def test_clcnn_parameter_count_is_predicted_and_budget_enforced(sym):
    model = build("clcnn", sym, input_size=(16, 12), width=2, kernel_size=3)
    assert count_parameters(model) == model.expected_parameters
    with pytest.raises(ValueError, match="max_parameters"):
        build("clcnn", sym, input_size=(64, 64), width=32)


def test_rpp_penalty_is_prior_on_unconstrained_pathway_only():
    for sym in ("rotation", "translation", "scaling"):
        model = make("rpp", sym, (12, 12), alpha=0.5)
        pathway = (
            model.trunk.pathway_parameters() if sym != "translation" else list(model.residual.parameters())
        )
        expected = 0.5 * sum(p.detach().pow(2).sum().item() for p in pathway)
        assert expected > 0
        assert model.extra_loss().item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "name,sym",
    [("conv", None), ("mlp", None), ("equiv", "rotation"), ("combo", "scaling"), ("lift", "translation")],
)
def test_models_without_penalty_have_zero_extra_loss(name, sym):
    model = make(name, sym, (12, 12))
    loss = model.extra_loss()
    assert isinstance(loss, torch.Tensor) and float(loss) == 0.0


@pytest.mark.parametrize("name,sym", ALL_PAIRS)
def test_gradients_reach_every_parameter(name, sym):
    model = make(name, sym, (12, 10), alpha=1.0)
    if count_parameters(model) == 0:
        pytest.skip("persistence has no trainable parameters")
    _perturb_relaxed(model, 0.05)  # away from the penalty's kink at equal weights
    loss = model(sample((12, 10))).pow(2).mean() + model.extra_loss()
    loss.backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))
    ]
    assert not missing, missing


# ------------------------------------------------------------------ registry
def test_unknown_name_lists_known_models():
    with pytest.raises(ValueError) as err:
        build("transformer")
    msg = str(err.value)
    for name in available_models():
        assert name in msg


@pytest.mark.parametrize(
    "name,sym", [("rsteer", "translation"), ("equiv", None), ("rsteer_tr", "scaling"), ("conv", "galilean")]
)
def test_invalid_symmetry_combination_raises(name, sym):
    with pytest.raises(ValueError, match="symmetry"):
        build(name, sym)


def test_bad_hyperparameters_raise_value_error():
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        build("conv", width=8, depth=3)
    with pytest.raises(ValueError, match="num_layers"):
        build("conv", num_layers=1)
    with pytest.raises(ValueError, match="kernel_size"):
        build("conv", kernel_size=4)
    with pytest.raises(ValueError, match="padding_mode"):
        build("conv", padding_mode="reflect")
    with pytest.raises(ValueError, match="alpha"):
        build("conv", alpha=-1.0)


def test_shared_hyperparameters_are_accepted_by_every_model():
    for name, syms in available_models().items():
        for sym in syms:
            hp = small(name, sym, (8, 8), kernel_size=3, padding_mode="circular")
            assert build(name, sym, **hp) is not None


def test_aliases_resolve_to_the_paper_models():
    assert build("e2cnn", width=1, num_layers=2, kernel_size=3).symmetry == "rotation"
    assert build("SESN", width=2, num_layers=2).symmetry == "scaling"
    m = build("RGroupT", width=2, num_layers=2, input_size=(8, 8))
    assert (m.name, m.symmetry) == ("rgroup", "translation")
    assert build("RSteerTR", width=1, num_layers=2, kernel_size=3, input_size=(8, 8)).name == "rsteer_tr"
    assert model_aliases()["liftr"] == ("lift", "rotation")
    assert model_symmetries("rppS") == ("scaling",)
    for alias, name in (("RGroupD", "rgroup"), ("RSteerD", "rsteer"), ("E2CNND", "equiv"),
                        ("EquivD", "equiv")):
        assert model_aliases()[alias.lower()] == (name, "dihedral")
    with pytest.raises(ValueError, match="rotation version"):
        build("e2cnn", "scaling")


def test_width_and_num_layers_shrink_models():
    big = count_parameters(build("rgroup", "rotation"))
    tiny = count_parameters(build("rgroup", "rotation", width=4, num_layers=3))
    assert tiny < big / 10


@pytest.mark.slow
def test_default_models_stay_below_ten_million_parameters_at_64x64():
    counts = {}
    for name, sym in ALL_PAIRS:
        model = build(name, sym, input_size=(64, 64))
        counts[f"{name}/{sym}"] = count_parameters(model)
        del model
    # parameter-free baselines (persistence) have 0; every other model is trainable and below 10^7
    free = {f"{name}/{sym}" for name, sym in ALL_PAIRS if name in PARAMETER_FREE}
    assert all(n == 0 for k, n in counts.items() if k in free), counts
    assert all(0 < n < 10**7 for k, n in counts.items() if k not in free), counts


def test_relaxed_dihedral_model_keeps_the_subgroup_its_relaxed_weights_leave():
    """RGroupD with relaxed weights that tell rotations from reflections (w(r^k) = 1, w(r^k f) = 2 in
    every layer): the irrep spectrum names C4 as the surviving subgroup, and the model stays exactly
    equivariant to the rotations while the reflections break."""
    from aeqkit.nn import irrep_spectrum, surviving_subgroup

    size = (12, 12)
    model = make("rgroup", "dihedral", size)
    group = get_group("D4")
    flips = torch.tensor([float(group.is_flip(g)) for g in group.elements()], dtype=torch.float64)
    layers = [m for m in model.modules() if hasattr(m, "relaxed_weights")]
    assert len(layers) == 3
    with torch.no_grad():
        for layer in layers:
            layer.relaxed_weights.copy_((1.0 + flips).expand_as(layer.relaxed_weights))
    assert all(str(surviving_subgroup(irrep_spectrum(layer))) == "C4" for layer in layers)
    rep = equivariance_error(model, sample(size), group, norm="linf")
    errors = {e.element: e.sup for e in rep.per_element}
    assert max(errors[g] for g in group.elements() if not group.is_flip(g)) < FLOAT64_TOL
    assert min(errors[g] for g in group.elements() if group.is_flip(g)) > 1e-4
    assert float(model.extra_loss().detach()) > 0.0
