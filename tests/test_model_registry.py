"""Tests of the open model registry (aeqkit.models.registry, issue 15 deliverable 3): models register
themselves, and build / available_models / aliases / DISPLAY_NAMES / hyper-parameters derive from it."""

from __future__ import annotations

import inspect

import pytest
import torch

from aeqkit import paper
from aeqkit.models import (
    KINDS,
    SYMMETRIES,
    Forecaster,
    ModelSpec,
    available_models,
    build,
    get_model_spec,
    model_aliases,
    model_specs,
    model_symmetries,
    register_model,
)
from aeqkit.models import registry as reg

torch.set_num_threads(1)


def test_every_spec_is_complete_and_consistent():
    specs = model_specs()
    assert list(specs) == list(available_models())
    for name, spec in specs.items():
        assert isinstance(spec, ModelSpec) and spec.name == name
        assert spec.kind in KINDS
        assert spec.symmetries and all(s is None or s in SYMMETRIES for s in spec.symmetries)
        assert spec.display_name and isinstance(spec.display_name, str)
        assert available_models()[name] == spec.symmetries
        assert "symmetry" not in spec.hparams and "self" not in spec.hparams


def test_display_names_are_derived_from_the_registry():
    assert paper.DISPLAY_NAMES == {n: s.display_name for n, s in model_specs().items()}
    assert paper.DISPLAY_NAMES["rgroup"] == "RGroup" and paper.DISPLAY_NAMES["stencil_c4"] == "Stencil-C4"
    from aeqkit.paper import DISPLAY_NAMES

    assert DISPLAY_NAMES == paper.display_names()


def test_hparams_are_read_from_the_class_signature():
    from aeqkit.models.relaxed import RGroupForecaster, RSteerForecaster

    rgroup = get_model_spec("rgroup")
    names = set(inspect.signature(RGroupForecaster).parameters) - {"symmetry"}
    assert rgroup.accepted_hparams("rotation") == names == rgroup.hparams
    # RSteerTR: an RSteer built for rotation, its translation_rank defaulting to 2
    tr = get_model_spec("RSteerTR")
    assert tr.name == "rsteer_tr" and "translation_rank" in tr.hparams
    assert "symmetry" not in tr.accepted_hparams(None)
    assert build("rsteer_tr", None, width=1, num_layers=2, kernel_size=3,
                 input_size=(8, 8)).lift.rank == 2
    assert isinstance(build("rsteer_tr", "translation", width=1, num_layers=2, kernel_size=3,
                            input_size=(8, 8)), RSteerForecaster)
    # per-symmetry classes: the strict translation model is the ConvNet (no group_order)
    equiv = get_model_spec("equiv")
    assert "group_order" in equiv.accepted_hparams("rotation")
    assert "group_order" not in equiv.accepted_hparams("translation")
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        build("equiv", "translation", group_order=4)
    # fixed keywords are not accepted from users
    assert "tie" not in get_model_spec("stencil_c4").accepted_hparams("rotation")


def test_baselines_accept_every_networks_hyperparameters():
    networks = set().union(*(s.hparams for s in model_specs().values() if s.kind != "baseline"))
    for name in ("persistence", "stencil", "stencil_c4"):
        assert networks <= get_model_spec(name).accepted_hparams("rotation")


def test_aliases_and_paper_suffixes_resolve():
    aliases = model_aliases()
    assert aliases["e2cnn"] == ("equiv", "rotation") and aliases["rgroupt"] == ("rgroup", "translation")
    for spec in model_specs().values():
        for alias, implied in spec.aliases:
            assert get_model_spec(alias) is spec
            assert model_symmetries(alias) == ((implied,) if implied else spec.symmetries)
    with pytest.raises(ValueError, match="unknown model"):
        get_model_spec("transformer")


def test_registering_a_new_model_makes_it_buildable_everywhere():
    """Adding a model = its own file (here: a class in the test) and nothing else."""

    @register_model("toy_persist", symmetries=("rotation", None), display_name="ToyPersist",
                    kind="unconstrained", aliases=("toyp",))
    class ToyForecaster(Forecaster):
        def __init__(self, symmetry: str | None = "rotation", gain: float = 0.0,
                     input_frames: int = 10, alpha: float = 0.0) -> None:
            super().__init__(input_frames, symmetry, alpha)
            self.gain = torch.nn.Parameter(torch.tensor(float(gain)))

        def _predict(self, z: torch.Tensor) -> torch.Tensor:
            return self.gain * z[:, -2:]

    try:
        assert "toy_persist" in available_models()
        assert paper.DISPLAY_NAMES["toy_persist"] == "ToyPersist"
        m = build("ToyPersistR", gain=0.5)
        assert (m.name, m.symmetry, float(m.gain.detach())) == ("toy_persist", "rotation", 0.5)
        assert build("toyp", None).symmetry is None
        with pytest.raises(ValueError, match="unknown hyper-parameter"):
            build("toy_persist", width=3)
        x = torch.randn(1, 10, 2, 4, 4)
        assert torch.allclose(m(x), 1.5 * x[:, -1])
        with pytest.raises(ValueError, match="already registered"):
            register_model("toy_persist", symmetries=(None,), display_name="X",
                           kind="baseline")(ToyForecaster)
    finally:
        spec = reg._REGISTRY.pop("toy_persist")
        for alias, _ in spec.aliases:
            reg._ALIASES.pop(alias)
    assert "toy_persist" not in available_models()


@pytest.mark.parametrize("bad", [
    {"kind": "magic"},
    {"symmetries": ("galilean",)},
    {"symmetries": ()},
    {"aliases": (("conv_alias_x", "scaling"),)},
])
def test_bad_registrations_raise(bad):
    kw = {"symmetries": ("rotation",), "display_name": "X", "kind": "strict", **bad}
    with pytest.raises(ValueError):
        register_model("bad_model_x", **kw)(Forecaster)
    assert "bad_model_x" not in reg._REGISTRY
