"""Tests for aeqkit.sweep: search spaces, workers sharing a study (SQLite and a real PostgreSQL
server), resuming, results, recorded settings, figures and the ``sweep`` command line.

Training here uses tiny synthetic data injected through ``load_fn`` (as in test_reproduce.py)
with aeqkit's real model builder, so a real trial takes about a second; the many-worker tests use
the toy objective (an analytic function of the same space), which exercises the storage, the
sampler, the pruner and the worker processes without training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch
from optuna.trial import TrialState
from toy_windows import ToyWindows as Windows
from toy_windows import rolling_trajectories

from aeqkit import sweep
from aeqkit.__main__ import main as cli
from aeqkit.io import CorruptFileError

N = 8  # grid of the fake data



class Forbidden(torch.utils.data.Dataset):
    """A test split: the objective must never read it."""

    def __len__(self) -> int:
        raise AssertionError("a sweep touched a test split")

    def __getitem__(self, i: int):
        raise AssertionError("a sweep touched a test split")


def _traj(n: int, seed: int) -> torch.Tensor:
    return rolling_trajectories(n, seed, N, 20)


def fake_load(name: str, profile: str, level: int = 0, **overrides):
    splits = {"train": Windows(_traj(2, 0), 4), "valid": Windows(_traj(1, 1), 4),
              "test_future": Forbidden(), "test_domain": Forbidden()}
    return SimpleNamespace(splits=splits, meta={"name": name})


def _cfg(tmp_path, **kw) -> sweep.SweepConfig:
    kw.setdefault("experiment", "table1")
    kw.setdefault("symmetry", "rotation")
    kw.setdefault("models", ("conv",))
    kw.setdefault("trials", 3)
    kw.setdefault("epochs", 2)
    kw.setdefault("progress", False)
    kw.setdefault("device", "cpu")
    return sweep.SweepConfig(out=str(tmp_path), **kw)


def _study(storage: str, name: str):
    return optuna.load_study(study_name=name, storage=storage)


def _assert_exactly(study, n: int) -> None:
    trials = study.get_trials(deepcopy=False)
    assert sorted(t.number for t in trials) == list(range(n)), "lost or duplicate trial numbers"
    assert len({t._trial_id for t in trials}) == n
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials), \
        [t.state for t in trials]


# ---------------------------------------------------------------------------------------------
# spaces


def test_search_space_per_model():
    spaces = {m: sweep.search_space(m, "rotation", "quick", (16, 16), max_rollout=5)
              for m in ("conv", "equiv", "rgroup", "rsteer")}
    # filter banks only for the group-conv model, α only for relaxed ones
    assert spaces["rgroup"].num_filter_banks == sweep.SCALED_SPACE.num_filter_banks
    assert all(spaces[m].num_filter_banks is None for m in ("conv", "equiv", "rsteer"))
    assert spaces["rgroup"].alphas == spaces["rsteer"].alphas == (0.0, 1e-2, 1e-4, 1e-6)
    assert spaces["conv"].alphas is None and spaces["equiv"].alphas is None
    # widths: half to twice the profile's width of each model
    from aeqkit import reproduce as rep

    for m, space in spaces.items():
        base = rep.model_hparams(rep.PROFILES["quick"], m, "rotation", (16, 16))["width"]
        assert space.widths == tuple(sorted({max(1, round(base * f)) for f in (0.5, 1, 2)}))
        assert "input_size" not in space.base and "width" not in space.base
    assert spaces["conv"].base["kernel_size"] == 3
    # rollout capped by the training windows' target length
    assert sweep.search_space("conv", "rotation", "quick", (16, 16), 3).rollout_steps == (2, 3)


def test_full_profile_uses_table3():
    s = sweep.search_space("rgroup", "rotation", "full", (16, 16), max_rollout=6)
    assert s.lr == (1e-5, 1e-2) and s.batch_sizes == (8, 16, 32, 64)
    assert s.num_layers == (3, 6) and s.num_filter_banks == (1, 4) and s.rollout_steps == (3, 6)
    assert s.widths == (16, 32, 64, 128)  # 64-512 channels of C4 regular fields


def test_medium_space_holds_the_parameter_budget():
    """The medium profile samples depth, kernel size, banks, α and the training settings; the
    width of each trial is the one matched to the profile's budget (like-with-like capacity)."""
    from aeqkit import reproduce as rep
    from aeqkit.models import build as build_model
    from aeqkit.models import count_parameters

    budget = rep.PROFILES["medium"].param_budget
    s = sweep.search_space("rgroup", "rotation", "medium", (16, 16), max_rollout=5)
    assert s.budget == budget and s.kernel_sizes == (3, 5) and s.rollout_steps == (2, 5)
    assert "width" not in s.default and s.default["kernel_size"] == 3  # trial 0: the profile's
    trial = optuna.trial.FixedTrial({"num_layers": 4, "kernel_size": 5, "num_filter_banks": 1,
                                     "alpha": 0.0, "lr": 1e-3, "batch_size": 8,
                                     "rollout_steps": 2})
    build, _ = sweep.suggest(trial, s)
    assert "width" not in build and build["kernel_size"] == 5
    build = sweep.matched_build("rgroup", "rotation", s, build, (16, 16))
    assert build["width"] == rep.matched_width("rgroup", "rotation", budget,
                                               dict(build, input_size=(16, 16)))
    n = count_parameters(build_model("rgroup", symmetry="rotation", input_size=(16, 16), **build))
    wider = count_parameters(build_model("rgroup", symmetry="rotation", input_size=(16, 16),
                                         **dict(build, width=build["width"] + 1)))
    assert abs(n - budget) <= abs(wider - budget)  # the closest width to the budget
    # the quick profile keeps its free widths (what its recorded settings were chosen in)
    assert sweep.search_space("rgroup", "rotation", "quick", (16, 16), 5).budget is None


def test_suggest_gives_build_and_fit_kwargs():
    s = sweep.search_space("rgroup", "rotation", "quick", (16, 16), max_rollout=5)
    width = s.widths[-1]
    trial = optuna.trial.FixedTrial({"width": width, "num_layers": 2, "num_filter_banks": 2,
                                     "alpha": 1e-4, "lr": 3e-3, "batch_size": 8,
                                     "rollout_steps": 3})
    build, fit = sweep.suggest(trial, s)
    assert build == {"kernel_size": 3, "width": width, "num_layers": 2, "num_filter_banks": 2,
                     "alpha": 1e-4}
    assert fit == {"lr": 3e-3, "batch_size": 8, "rollout_steps": 3}
    from aeqkit.models import build as build_model

    build_model("rgroup", symmetry="rotation", input_size=(16, 16), **build)


# ---------------------------------------------------------------------------------------------
# the real objective (tiny data, real models)


def test_experiment_sweep_validation_only_and_settings(tmp_path):
    cfg = _cfg(tmp_path, models=("conv", "rgroup"), trials=2, pruner="none")
    res = sweep.run_sweep(cfg, load_fn=fake_load, log=lambda s: None)  # Forbidden test splits
    storage = sweep.default_storage(tmp_path)
    for model in ("conv", "rgroup"):
        summary = res[model]
        study = _study(storage, "table1-rotation-quick-" + model)
        _assert_exactly(study, 2)
        from aeqkit import reproduce as rep

        first = study.get_trials()[0].params  # trial 0 is the profile's own setting
        assert first["lr"] == rep.PROFILES["quick"].lr and first["num_layers"] == 3
        best = study.best_trial
        # the value is the best per-epoch validation RMSE reported through fit's callbacks
        assert len(best.intermediate_values) == 2
        assert best.value == pytest.approx(min(best.intermediate_values.values()))
        settings = sweep.study_settings(study)
        assert set(settings["fit"]) == set(sweep.FIT_KEYS)
        assert ("num_filter_banks" in settings["build"]) == (model == "rgroup")
        assert ("alpha" in settings["build"]) == (model == "rgroup")
        on_disk = json.loads(Path(summary["file"]).read_text())
        assert on_disk["best"]["value"] == best.value and on_disk["trials"] == 2
        assert on_disk["model"] == model and on_disk["epochs_per_trial"] == 2
        assert "test" not in json.dumps(on_disk["best"])
        from aeqkit.models import build as build_model

        build_model(model, symmetry="rotation", input_size=(N, N), **settings["build"])


def test_trial_seeds_score_the_mean_over_seeds(tmp_path):
    """--trial-seeds N: a trial's value is the mean of N trainings' best validation RMSE (seeds
    seed ... seed + N - 1), recorded per seed; a study made with another N is not resumed."""
    cfg = _cfg(tmp_path, trials=1, pruner="none", trial_seeds=2, seed=3)
    res = sweep.run_sweep(cfg, load_fn=fake_load, log=lambda s: None)
    best = res["conv"]["best"]
    assert len(best["seed_values"]) == 2 and best["seed_values"][0] != best["seed_values"][1]
    assert best["value"] == pytest.approx(sum(best["seed_values"]) / 2)
    assert res["conv"]["trial_seeds"] == 2 and "--trial-seeds 2" in res["conv"]["command"]
    # the first seed's value is what a one-seed sweep with the same seed gives
    one = sweep.run_sweep(_cfg(tmp_path / "one", trials=1, pruner="none", seed=3),
                          load_fn=fake_load, log=lambda s: None)
    assert one["conv"]["best"]["value"] == pytest.approx(best["seed_values"][0])
    with pytest.raises(ValueError, match="different settings.*trial_seeds"):
        sweep.run_sweep(_cfg(tmp_path, trials=2, pruner="none", seed=3), load_fn=fake_load,
                        log=lambda s: None)
    with pytest.raises(ValueError, match="trial_seeds must be an integer >= 1"):
        _cfg(tmp_path, trial_seeds=0).validated()


def test_resume_runs_only_the_missing_trials(tmp_path):
    cfg = _cfg(tmp_path, objective="toy", trials=3)
    sweep.run_sweep(cfg, log=lambda s: None)
    storage = sweep.default_storage(tmp_path)
    name = "table1-rotation-quick-conv"
    first = {t.number: t.params for t in _study(storage, name).get_trials()}
    # an interrupted trial (Ctrl-C marks it FAIL) does not count towards the total
    study = _study(storage, name)
    study.tell(study.ask(), state=TrialState.FAIL)
    sweep.run_sweep(sweep.SweepConfig(**{**cfg.__dict__, "trials": 5}), log=lambda s: None)
    trials = _study(storage, name).get_trials()
    finished = [t for t in trials if t.state != TrialState.FAIL]
    assert len(finished) == 5 and len(trials) == 6
    assert {t.number: t.params for t in trials if t.number in first} == first
    # the resumed sampler does not replay the first run's random settings
    assert len({json.dumps(t.params, sort_keys=True) for t in finished}) == 5
    # the same request again runs nothing
    sweep.run_sweep(sweep.SweepConfig(**{**cfg.__dict__, "trials": 5}), log=lambda s: None)
    assert len(_study(storage, name).get_trials()) == 6


def test_resume_with_other_settings_is_refused(tmp_path):
    sweep.run_sweep(_cfg(tmp_path, objective="toy", trials=1), log=lambda s: None)
    with pytest.raises(ValueError, match="different settings.*epochs_per_trial"):
        sweep.run_sweep(_cfg(tmp_path, objective="toy", trials=2, epochs=3), log=lambda s: None)


def test_pruner_prunes_bad_trials(tmp_path):
    cfg = _cfg(tmp_path, objective="toy", trials=14, epochs=6, pruner="median")
    sweep.run_sweep(cfg, log=lambda s: None)
    study = _study(sweep.default_storage(tmp_path), "table1-rotation-quick-conv")
    states = [t.state for t in study.get_trials()]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states


# ---------------------------------------------------------------------------------------------
# many workers, one study


@pytest.mark.slow
def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    n = 8
    cfg = _cfg(tmp_path, objective="toy", trials=n, workers=2, toy_seconds=0.05, pruner="none")
    sweep.run_sweep(cfg, log=lambda s: None)
    study = _study(sweep.default_storage(tmp_path), "table1-rotation-quick-conv")
    _assert_exactly(study, n)
    workers = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in study.get_trials()}
    assert workers == {"0", "1"}  # both processes ran trials
    assert len({t.user_attrs["worker"].split(":")[1] for t in study.get_trials()}) == 2


@pytest.fixture
def postgres_url():
    """A PostgreSQL server on 127.0.0.1 in a temporary folder, as a non-root user; stopped after."""
    try:
        with sweep.temporary_postgres() as url:
            yield url
    except sweep.PostgresUnavailable as err:
        pytest.skip(str(err))


@pytest.mark.slow
def test_two_worker_processes_share_one_postgresql_study(tmp_path, postgres_url):
    n = 6
    cfg = _cfg(tmp_path, objective="toy", trials=n, workers=2, toy_seconds=0.05, pruner="none",
               storage=postgres_url)
    res = sweep.run_sweep(cfg, log=lambda s: None)
    study = _study(sweep._sqlalchemy_url(postgres_url), "table1-rotation-quick-conv")
    _assert_exactly(study, n)
    assert {t.user_attrs["worker"].rsplit(":", 1)[1] for t in study.get_trials()} == {"0", "1"}
    # a second "machine" joining with the same command finds the study complete
    sweep.run_sweep(cfg, log=lambda s: None)
    _assert_exactly(_study(sweep._sqlalchemy_url(postgres_url), "table1-rotation-quick-conv"), n)
    assert res["conv"]["storage"] == postgres_url  # no password in this URL to hide


def test_public_url_hides_password():
    assert sweep._public_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert sweep._sqlalchemy_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


# ---------------------------------------------------------------------------------------------
# recorded settings


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    folder = tmp_path / "settings"
    import aeqkit.settings

    monkeypatch.setattr(aeqkit.settings, "SETTINGS_DIR", folder)
    return folder


def _summary(tmp_path):
    res = sweep.run_sweep(_cfg(tmp_path, objective="toy", trials=2, pruner="none"),
                          log=lambda s: None)
    return res["conv"]


def test_record_and_read_settings(tmp_path, settings_dir):
    assert sweep.recorded_settings("quick", "table1", "rotation", "conv") is None
    summary = _summary(tmp_path)
    path = sweep.record_settings(summary, "quick")
    assert path == settings_dir / "quick.json"
    got = sweep.recorded_settings("quick", "table1", "rotation", "conv")
    assert got["build"] == summary["best"]["build"] and got["fit"] == summary["best"]["fit"]
    chosen = got["chosen_by"]
    assert chosen["trials"] == 2 and chosen["valid_rmse"] == summary["best"]["value"]
    assert chosen["command"].startswith("python -m aeqkit sweep table1")
    assert chosen["study"] == "table1-rotation-quick-conv" and chosen["date"] and chosen["commit"]
    assert sweep.recorded_settings("quick", "table1", "rotation", "rsteer") is None
    study_file = settings_dir / "studies" / "table1-rotation-quick-conv.json"
    assert sweep.study_from_summary(study_file).best_value == chosen["valid_rmse"]
    # a hand-edited or truncated file is refused, never half-read
    text = path.read_text()
    path.write_text(text.replace('"lr"', '"lr_typo"'))
    with pytest.raises(CorruptFileError):
        sweep.recorded_settings("quick", "table1", "rotation", "conv")


def test_with_recorded_settings_overlays_the_profile(tmp_path, settings_dir):
    build, fit = {"width": 3, "num_layers": 3, "input_size": (8, 8)}, {"lr": 1.0, "epochs": 30}
    assert sweep.with_recorded_settings("quick", "table1", "rotation", "conv", build, fit) == (
        build, fit, None)
    summary = _summary(tmp_path)
    sweep.record_settings(summary, "quick")
    b, f, chosen = sweep.with_recorded_settings("medium", "table1", "rotation", "conv", build, fit,
                                                fallback=("quick",))
    assert b == {**build, **summary["best"]["build"]} and b["input_size"] == (8, 8)
    assert f == {**summary["best"]["fit"], "epochs": 30}
    assert chosen["profile"] == "quick" and chosen["trials"] == 2


def test_model_hparams_take_the_recorded_setting(tmp_path, settings_dir):
    """``reproduce.model_hparams`` with an experiment: the recorded setting of the run's profile
    when one exists (width re-matched when the record has none), else the profile's defaults."""
    from aeqkit import reproduce as rep
    from aeqkit.io import atomic_write_bytes

    prof = rep.PROFILES["medium"]
    default = rep.model_hparams(prof, "conv", "rotation", (16, 16))
    assert rep.model_hparams(prof, "conv", "rotation", (16, 16), experiment="table1") == default
    entry = {"build": {"width": 7, "num_layers": 2, "kernel_size": 5},
             "fit": {"lr": 1e-3, "batch_size": 8, "rollout_steps": 2},
             "chosen_by": {"command": "python -m aeqkit sweep table1", "trials": 5,
                           "valid_rmse": 0.1, "study": "s", "date": "d", "commit": "x"}}
    no_width = dict(entry, build={"num_layers": 2, "kernel_size": 5})
    atomic_write_bytes(json.dumps({"table1/rotation/conv": entry,
                                   "table1/rotation/equiv": no_width}).encode(),
                       settings_dir / "medium.json")
    got = rep.model_hparams(prof, "conv", "rotation", (16, 16), experiment="table1")
    assert got == {**default, **entry["build"], "input_size": (16, 16)}
    eq = rep.model_hparams(prof, "equiv", "rotation", (16, 16), experiment="table1")
    assert eq["width"] == rep.matched_width("equiv", "rotation", prof.param_budget,
                                            {"num_layers": 2, "kernel_size": 5,
                                             "input_size": (16, 16)})
    # the profile's defaults: no experiment (a sweep's start), another profile or another row
    assert rep.model_hparams(prof, "conv", "rotation", (16, 16)) == default
    assert rep.model_hparams(rep.PROFILES["quick"], "conv", "rotation", (16, 16),
                             experiment="table1") == rep.model_hparams(
        rep.PROFILES["quick"], "conv", "rotation", (16, 16))
    assert rep.model_hparams(prof, "conv", "rotation", (16, 16), experiment="figure4",
                             figure4=True)["num_layers"] == 2
    assert rep.model_hparams(prof, "persistence", "rotation", (16, 16),
                             experiment="table1") == {"input_size": (16, 16)}


def test_reproduce_runs_with_the_recorded_setting(tmp_path, settings_dir, monkeypatch):
    """A reproduce run builds and trains a model with its recorded setting (build and fit) and
    every result row names the setting's ``chosen_by``; a model without one keeps the profile's
    defaults and ``chosen_by`` null."""
    from aeqkit import reproduce as rep
    from aeqkit.io import atomic_write_bytes

    entry = {"build": {"width": 3, "num_layers": 2, "kernel_size": 5},
             "fit": {"lr": 1.5e-3, "batch_size": 8, "rollout_steps": 9},
             "chosen_by": {"command": "python -m aeqkit sweep table1", "trials": 5,
                           "valid_rmse": 0.1, "study": "s", "date": "d", "commit": "x"}}
    atomic_write_bytes(json.dumps({"table1/rotation/conv": entry}).encode(),
                       settings_dir / "medium.json")

    def load(name, profile, progress=False, **kw):
        t = lambda n, s: rolling_trajectories(n, s, N, 30)  # noqa: E731
        return SimpleNamespace(splits={"train": Windows(t(2, 0), 4), "valid": Windows(t(1, 1), 4),
                                       "test_future": Windows(t(1, 2), 10),
                                       "test_domain": Windows(t(1, 3), 10)}, meta={})

    configs = []
    real = rep.train_and_evaluate

    def spy(model, splits, cfg, **kw):
        configs.append(cfg)
        return real(model, splits, cfg, **kw)

    monkeypatch.setattr(rep, "train_and_evaluate", spy)
    res = rep.reproduce("table1", "rotation", "medium", seeds=1, models="conv,equiv", out=None,
                        load_fn=load, progress=False, profile_overrides={"epochs": 1},
                        log=lambda s: None)
    conv, equiv = res["runs"]
    assert conv["hparams"] == {**entry["build"], "input_size": [N, N]}
    assert conv["parameters"] == sum(p.numel() for p in rep._default_build(
        "conv", "rotation", input_size=(N, N), **entry["build"]).parameters())
    assert conv["chosen_by"] == dict(entry["chosen_by"], profile="medium")
    # the recorded lr and batch size; rollout capped by the 4 target frames of the windows
    assert (configs[0].lr, configs[0].batch_size, configs[0].rollout_steps) == (1.5e-3, 8, 4)
    prof = rep.PROFILES["medium"]
    assert (configs[1].lr, configs[1].batch_size, configs[1].rollout_steps) == (
        prof.lr, prof.batch_size, prof.rollout_steps)
    assert equiv["chosen_by"] is None
    assert equiv["hparams"] == rep.model_hparams(rep.PROFILES["medium"], "equiv", "rotation",
                                                 (N, N)) | {"input_size": [N, N]}
    rows = {(r["model"], r["split"]): r for r in res["summary"]}
    assert rows[("conv", "test_domain")]["chosen_by"]["trials"] == 5
    assert rows[("equiv", "test_future")]["chosen_by"] is None


def test_experiments_hparams_take_the_recorded_setting(settings_dir):
    from aeqkit import experiments as ex
    from aeqkit.io import atomic_write_bytes

    hp = {"*": {"num_layers": 3, "padding_mode": "circular"}, "rsteer": {"width": 4}}
    assert ex._hparams(hp, "rsteer", "rotation", profile="medium", experiment="heat") == \
        ex._hparams(hp, "rsteer", "rotation")
    entry = {"build": {"width": 6, "alpha": 0.0}, "fit": {"lr": 3e-3},
             "chosen_by": {"command": "c", "trials": 2, "valid_rmse": 0.1, "study": "s",
                           "date": "d", "commit": "x"}}
    atomic_write_bytes(json.dumps({"heat/rotation/rsteer": entry}).encode(),
                       settings_dir / "medium.json")
    assert ex._hparams(hp, "rsteer", "rotation", profile="medium", experiment="heat") == {
        "num_layers": 3, "padding_mode": "circular", "width": 6, "alpha": 0.0}
    assert ex._hparams(hp, "rsteer", "rotation") == {"num_layers": 3, "padding_mode": "circular",
                                                     "width": 4}
    assert ex._hparams(hp, "stencil", "rotation", profile="medium", experiment="heat") == {
        "padding_mode": "circular"}


def test_settings_schema_is_checked(tmp_path, settings_dir):
    from aeqkit.io import atomic_write_bytes

    entry = {"build": {"width": 8}, "fit": {"lr": 1e-3, "epochs_typo": 3},
             "chosen_by": {"command": "c", "trials": 2, "valid_rmse": 0.1, "study": "s",
                           "date": "d", "commit": "x"}}
    atomic_write_bytes(json.dumps({"table1/rotation/conv": entry}).encode(),
                       settings_dir / "quick.json")
    with pytest.raises(CorruptFileError, match="'fit' must map a subset"):
        sweep.recorded_settings("quick", "table1", "rotation", "conv")
    atomic_write_bytes(b"__import__('os')", settings_dir / "quick.json")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        sweep.recorded_settings("quick", "table1", "rotation", "conv")
    with pytest.raises(ValueError, match="profile"):
        sweep.recorded_settings("../etc", "table1", "rotation", "conv")
    with pytest.raises(ValueError, match="model"):
        sweep.recorded_settings("quick", "table1", "rotation", "")


def test_shipped_settings_are_valid_and_build():
    """Every recorded setting in the package validates and builds its model."""
    import aeqkit.settings
    from aeqkit import reproduce as rep
    from aeqkit.models import build as build_model

    files = sorted(aeqkit.settings.SETTINGS_DIR.glob("*.json"))
    if not files:
        pytest.skip("no recorded settings shipped yet")
    for path in files:
        data = aeqkit.settings._load_settings(path)
        for key, entry in data.items():
            experiment, symmetry, model = key.split("/")
            _, model_symmetry = rep.experiment_setup(experiment, symmetry)
            build_model(model, symmetry=model_symmetry, input_size=(16, 16), **entry["build"])
            assert entry["chosen_by"]["trials"] >= 1


# ---------------------------------------------------------------------------------------------
# figures


def test_figures(tmp_path):
    import plotly.graph_objects as go

    sweep.run_sweep(_cfg(tmp_path, objective="toy", trials=6, models=("rgroup",)),
                    log=lambda s: None)
    study = sweep.load_sweep("table1-rotation-quick-rgroup", sweep.default_storage(tmp_path))
    hist = sweep.plot_history(study)
    assert isinstance(hist, go.Figure)
    n_complete = len(study.get_trials(states=(TrialState.COMPLETE,)))
    assert len(hist.data[0].y) == n_complete
    imp = sweep.plot_importances(study)
    names = set(imp.data[0].y)
    assert names <= {"lr", "width", "num_layers", "num_filter_banks", "alpha", "batch_size",
                     "rollout_steps"} and "lr" in names
    par = sweep.plot_parallel(study)  # one line per completed trial over objective + settings
    assert len(par.data) >= n_complete
    assert len(par.data[0].x) == 1 + len(study.best_trial.params)
    # the same figures from the result file alone (no storage), e.g. in a notebook
    rebuilt = sweep.study_from_summary(tmp_path / "table1-rotation-quick-rgroup.json")
    assert rebuilt.best_value == study.best_value and rebuilt.best_params == study.best_params
    assert len(rebuilt.get_trials()) == len(study.get_trials())
    assert list(sweep.plot_history(rebuilt).data[0].y) == list(hist.data[0].y)
    sweep.plot_importances(rebuilt)
    sweep.plot_parallel(rebuilt)
    empty = optuna.create_study()
    assert "at least two" in sweep.plot_importances(empty).layout.annotations[0].text
    assert "at least one" in sweep.plot_parallel(empty).layout.annotations[0].text


# ---------------------------------------------------------------------------------------------
# command line


@pytest.mark.parametrize("args, needle", [
    (["table9"], "unknown experiment"),
    (["table1", "--symmetry", "shear"], "unknown symmetry"),
    (["table1", "--models", "conv,nope"], "unknown model"),
    (["table1", "--workers", "0"], "workers must be an integer >= 1"),
    (["table1", "--trials", "0"], "trials must be an integer >= 1"),
    (["table1", "--pruner", "hyperband"], "unknown pruner"),
    (["table1", "--profile", "huge"], "unknown profile"),
    (["table1", "--storage", "nonsense"], "SQLAlchemy URL"),
    (["table1", "--study", "a b"], "study must use"),
    (["table1", "--models", "persistence"], "no hyperparameters to sweep"),
])
def test_cli_errors_exit_2_with_one_line(args, needle, capsys, tmp_path):
    assert cli(["sweep", *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "sweeps.db").exists()


def test_cli_runs_a_toy_sweep(tmp_path, capsys):
    rc = cli(["sweep", "table1", "--models", "conv", "--trials", "2", "--objective", "toy",
              "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    assert "best validation RMSE" in capsys.readouterr().out
    assert (tmp_path / "table1-rotation-quick-conv.json").exists()


def test_split_is_exact():
    for n in range(0, 12):
        for k in range(1, 5):
            parts = sweep._split(n, k)
            assert sum(parts) == n and max(parts) - min(parts) <= 1



def test_temporary_postgres_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(sweep, "_pg_bin", lambda: None)
    with pytest.raises(sweep.PostgresUnavailable, match="initdb, pg_ctl"):
        with sweep.temporary_postgres():
            pass


def _wait_for_running(storage: str, name: str, n: int, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        try:
            running = _study(storage, name).get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # the study does not exist yet
            continue
        if len(running) == n:
            return
    pytest.fail(f"the workers did not start {n} trials within {seconds:g} s")


def _kill_group(proc) -> None:
    """Leave no process of the sweep behind, whatever the test did."""
    import os
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.slow
def test_workers_of_a_killed_sweep_stop_and_fail_their_trials(tmp_path):
    """SIGKILL of the command (no signal can be passed on): its workers notice the lost parent, mark
    their running trials FAIL and exit instead of running on as orphans."""
    import signal
    import subprocess
    import sys

    args = [sys.executable, "-m", "aeqkit", "sweep", "table1", "--models", "conv", "--trials",
            "2", "--workers", "2", "--objective", "toy", "--out", str(tmp_path), "--no-progress",
            "--pruner", "none", "--toy-seconds", "600"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    storage, name = sweep.default_storage(tmp_path), "table1-rotation-quick-conv"
    try:
        _wait_for_running(storage, name, 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [t.state for t in _study(storage, name).get_trials()]
            if states == [TrialState.FAIL, TrialState.FAIL]:
                break
            time.sleep(1)
        assert states == [TrialState.FAIL, TrialState.FAIL]
    finally:
        _kill_group(proc)


@pytest.mark.slow
def test_sigterm_marks_running_trials_failed_and_a_rerun_resumes(tmp_path):
    """A scheduler's SIGTERM to the command (2 workers) leaves no trial RUNNING; the same command
    again finishes exactly the requested number of trials."""
    import signal
    import subprocess
    import sys

    args = [sys.executable, "-m", "aeqkit", "sweep", "table1", "--models", "conv", "--trials",
            "2", "--workers", "2", "--objective", "toy", "--out", str(tmp_path), "--no-progress",
            "--pruner", "none"]
    proc = subprocess.Popen(args + ["--toy-seconds", "600"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    storage, name = sweep.default_storage(tmp_path), "table1-rotation-quick-conv"
    try:
        _wait_for_running(storage, name, 2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) != 0
    finally:
        _kill_group(proc)
    states = [t.state for t in _study(storage, name).get_trials()]
    assert states == [TrialState.FAIL, TrialState.FAIL]
    assert subprocess.run(args, timeout=300).returncode == 0
    finished = _study(storage, name).get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 2
