"""Sweeps of the heat and jet studies (:mod:`aeqkit.experiments`) under their own protocol, and
the recorded settings those studies then use.

Heat trains on the real quick plates (0.2 s to simulate), jet on tiny stand-in windows (the
synthetic jet takes ~20 s to generate); both with test splits that raise when read.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from toy_windows import ToyWindows as Windows
from toy_windows import rolling_trajectories

from aeqkit import experiments as ex
from aeqkit import sweep

torch.set_num_threads(1)


class Forbidden(torch.utils.data.Dataset):
    """A test split: a sweep must never read it."""

    def __len__(self) -> int:
        raise AssertionError("a sweep touched a test split")

    def __getitem__(self, i: int):
        raise AssertionError("a sweep touched a test split")


def heat_load(name, profile, progress=False):
    """The real quick heat plates at β = 0.3, test splits replaced by :class:`Forbidden`."""
    assert name == "heat"
    data = ex.heat_data(0.3, profile)
    return SimpleNamespace(splits={"train": data.splits["train"], "valid": data.splits["valid"],
                                   "test_future": Forbidden(), "test_domain": Forbidden()})


def jet_load(name, profile, progress=False):
    """66 training windows of 8x8 (the quick jet profile keeps 48 at most: 33 evenly spread)."""
    assert name == "jet" and profile == ex.JET_PROFILES["quick"].data_profile
    t = lambda n, s: rolling_trajectories(n, s, 8, 24)  # noqa: E731
    return SimpleNamespace(splits={"train": Windows(t(6, 0), 4), "valid": Windows(t(1, 1), 4),
                                   "test_future": Forbidden(), "test_domain": Forbidden()})


@pytest.fixture
def fits(monkeypatch):
    """Every fit of a trial: its keyword arguments, training windows and the model's initial
    increment over the last input frame (0: the model starts as persistence)."""
    import aeqkit.train

    calls, real = [], aeqkit.train.fit

    def spy(model, train, valid, config=None, **kw):
        x, _ = train[0]
        with torch.no_grad():
            inc = float((model(x[None]) - x[None, -1]).abs().max())
        calls.append(dict(kw, n_train=len(train), increment=inc, model=model))
        return real(model, train, valid, config, **kw)

    monkeypatch.setattr(aeqkit.train, "fit", spy)
    return calls


def _cfg(tmp_path, **kw) -> sweep.SweepConfig:
    kw.setdefault("profile", "quick")
    kw.setdefault("trials", 1)
    kw.setdefault("epochs", 1)
    kw.setdefault("pruner", "none")
    return sweep.SweepConfig(out=str(tmp_path), progress=False, device="cpu", **kw)


def test_sweep_protocol_names_accepted_values():
    with pytest.raises(ValueError, match="accepted: heat, jet"):
        ex.sweep_protocol("table1", "rotation", "quick")
    with pytest.raises(ValueError, match="accepted: quick, medium"):
        ex.sweep_protocol("heat", "rotation", "full")
    with pytest.raises(ValueError, match="accepted: rotation"):
        ex.sweep_protocol("heat", "scaling", "quick")
    with pytest.raises(ValueError, match="accepted: translation, rotation, scaling"):
        ex.sweep_protocol("jet", "combination", "quick", load_fn=jet_load)
    with pytest.raises(ValueError, match="closed-form baseline"):
        _cfg(".", experiment="heat", symmetry="rotation", models=("stencil",)).validated()
    assert _cfg(".", experiment="heat", symmetry="rotation").validated().models == (
        "conv", "equiv", "rsteer", "rgroup")
    assert _cfg(".", experiment="jet", symmetry="scaling",
                profile="medium").validated().models == ("conv", "equiv", "rsteer")


def test_heat_sweep_trains_as_the_study(tmp_path, fits):
    """Trial 0 is the study's own setting, built as the study builds it (zero output layer, the
    matched width) and trained under its FitConfig (cosine, no early stopping); the test splits
    are never read."""
    prof = ex.HEAT_PROFILES["quick"]
    proto = ex.sweep_protocol("heat", "rotation", "quick", load_fn=heat_load)
    assert proto.grid == (prof.resolution,) * 2 and proto.max_rollout == prof.target_length
    assert proto.epochs == prof.epochs and set(proto.splits) == {"train", "valid"}
    assert sweep._profile_epochs(_cfg(tmp_path, experiment="heat")) == prof.epochs
    res = sweep.run_sweep(_cfg(tmp_path, experiment="heat", models=("conv", "rgroup"), trials=2),
                          load_fn=heat_load, log=lambda s: None)
    assert len(fits) == 4
    for call in fits:
        assert call["increment"] == 0.0  # starts as persistence
        assert call["lr_schedule"] == "cosine" and call["patience"] is None
        assert call["valid_steps"] is None and call["epochs"] == 1
        assert call["n_train"] == len(proto.splits["train"])
    conv0, _, rgroup0, _ = fits
    # trial 0: the study's own setting and parameter count
    assert (conv0["lr"], conv0["batch_size"], conv0["rollout_steps"]) == (
        prof.lr, prof.batch_size, prof.rollout_steps)
    study_conv = ex._build("conv", "rotation", 0, ex._hparams(prof.hparams, "conv", "rotation"))
    assert sum(p.numel() for p in conv0["model"].parameters()) == \
        sum(p.numel() for p in study_conv.parameters())
    first = res["conv"]["all_trials"][0]["params"]
    assert first == {"width": 24, "num_layers": 3, "lr": prof.lr, "batch_size": prof.batch_size,
                     "rollout_steps": prof.rollout_steps}
    assert res["rgroup"]["all_trials"][0]["params"]["alpha"] == 0.0  # the study's α, searched
    assert res["rgroup"]["space"]["alphas"] == list(sweep.SCALED_SPACE.alphas)
    assert res["rgroup"]["space"]["base"]["padding_mode"] == "circular"
    assert rgroup0["batch_size"] == prof.batch_size
    assert res["conv"]["epochs_per_trial"] == 1 and res["conv"]["experiment"] == "heat"


def test_jet_sweep_trains_as_the_study(tmp_path, fits):
    """Jet: the study's subsampled training windows, per-symmetry keywords and FitConfig."""
    prof = ex.JET_PROFILES["quick"]
    res = sweep.run_sweep(_cfg(tmp_path, experiment="jet", symmetry="rotation",
                               models=("rsteer",)), load_fn=jet_load, log=lambda s: None)
    (call,) = fits
    assert call["n_train"] == 33  # subsample(66 windows, 48)
    assert call["increment"] == 0.0 and call["lr_schedule"] == "cosine"
    assert call["patience"] is None and call["epochs"] == 1
    assert (call["lr"], call["batch_size"], call["rollout_steps"]) == (
        prof.lr, prof.batch_size, prof.rollout_steps)
    best = res["rsteer"]["best"]
    assert best["build"]["width"] == 4 and best["build"]["num_layers"] == 3
    assert res["rsteer"]["space"]["alphas"], "a relaxed model's α is searched"
    assert sweep._profile_epochs(_cfg(tmp_path, experiment="jet")) == prof.epochs


def test_medium_study_space_holds_the_parameter_budget():
    from aeqkit.models import count_parameters

    proto = ex.sweep_protocol("heat", "rotation", "medium", load_fn=heat_load)
    space = sweep.study_space("rsteer", "rotation", proto, sweep.MATCHED_SPACE)
    assert space.budget == ex.STUDY_PARAM_BUDGET and "width" not in space.default
    assert 4 in space.batch_sizes and space.default["batch_size"] == 4  # the study's own
    assert space.base["padding_mode"] == "circular" and space.alphas
    for layers, kernel in ((2, 5), (4, 3)):
        build = dict(space.base, num_layers=layers, kernel_size=kernel)
        build = sweep.matched_build("rsteer", "rotation", space, build, proto.grid, proto.build_fn)
        n = count_parameters(proto.build_fn("rsteer", "rotation", input_size=proto.grid, **build))
        assert abs(n - ex.STUDY_PARAM_BUDGET) < 0.3 * ex.STUDY_PARAM_BUDGET


def test_recorded_setting_reaches_the_study(tmp_path, monkeypatch):
    """A heat sweep's recorded setting is what the heat study then builds and trains with (build
    keywords, lr / batch size / rollout, ``chosen_by``); models without one keep the profile's."""
    import aeqkit.settings

    monkeypatch.setattr(aeqkit.settings, "SETTINGS_DIR", tmp_path / "settings")
    prof = ex.HEAT_PROFILES["quick"]
    hp0 = ex._hparams(prof.hparams, "conv", "rotation")
    before = ex._model_settings(prof, "heat", "conv", "rotation", 0, max_rollout=3)
    assert before == (hp0, ex._fit_config(prof, prof.lr, 0), None)
    res = sweep.run_sweep(_cfg(tmp_path, experiment="heat", models=("conv",), trials=2),
                          load_fn=heat_load, log=lambda s: None)
    summary = res["conv"]
    best = summary["best"]
    best["fit"] = dict(best["fit"], lr=1.25e-3, batch_size=16, rollout_steps=3)
    best["build"] = dict(best["build"], width=20)
    path = aeqkit.settings.settings_path("quick")
    assert aeqkit.settings.record_settings(summary, "quick", path=path) == path
    hp = ex._hparams(prof.hparams, "conv", "rotation", profile="quick", experiment="heat")
    assert hp == {**hp0, **best["build"]} and hp["width"] == 20
    assert hp["padding_mode"] == "circular"
    got_hp, config, chosen = ex._model_settings(prof, "heat", "conv", "rotation", 3,
                                                max_rollout=2)
    assert got_hp == hp
    assert (config.lr, config.batch_size, config.rollout_steps) == (1.25e-3, 16, 2)
    assert (config.epochs, config.lr_schedule, config.patience, config.seed) == (
        prof.epochs, "cosine", None, 3)
    assert chosen["trials"] == 2 and chosen["profile"] == "quick"
    assert chosen["study"] == "heat-rotation-quick-conv"
    # another model, profile or study: the profile's own settings
    assert ex._model_settings(prof, "heat", "equiv", "rotation", 0)[2] is None
    assert ex._model_settings(ex.HEAT_PROFILES["medium"], "heat", "conv", "rotation", 0)[2] is None
    jet = ex.JET_PROFILES["quick"]
    assert ex._model_settings(jet, "jet", "conv", "rotation", 0) == (
        ex._hparams(jet.hparams, "conv", "rotation"), ex._fit_config(jet, jet.lr, 0), None)
    assert ex._model_settings(prof, "heat", "stencil", "rotation", 0)[2] is None
