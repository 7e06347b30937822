"""``python -m aeqkit``: user errors exit 2 with one line naming the option, before any work;
results are never lost when they cannot be written (issue 13, items 4, 8 and 10)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

import aeqkit.reproduce as rep
from aeqkit.__main__ import COMMANDS, Command, build_parser, main, register


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if any data loading or training starts."""

    def forbidden(*a, **k):
        raise AssertionError("long work started before the user error was reported")

    monkeypatch.setattr(rep, "reproduce", forbidden)
    monkeypatch.setattr(rep, "_default_load", forbidden)
    monkeypatch.setattr("aeqkit.harness.fit", forbidden)
    monkeypatch.setattr("aeqkit.__main__.demo", forbidden)


def _one_line_error(capsys, *names: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if not ln.startswith("libgomp")]
    assert len(lines) == 1, err
    for n in names:
        assert n in lines[0], (n, lines[0])
    return lines[0]


BAD_ARGS = [
    (["demo", "--size", "-3"], ["--size", "8..256"]),
    (["demo", "--size", "100000"], ["--size"]),
    (["demo", "--size", "abc"], ["--size"]),
    (["demo", "--seed", "-1"], ["--seed"]),
    (["reproduce", "table9"], ["experiment", "table1"]),
    (["reproduce", "table1", "--symmetry", "spin"], ["spin", "rotation"]),
    (["reproduce", "table1", "--profile", "slow"], ["--profile", "quick"]),
    (["reproduce", "table1", "--models", "nonet"], ["nonet", "conv"]),
    (["reproduce", "table1", "--models", "conv,conv"], ["repeated"]),
    (["reproduce", "table1", "--symmetry", "translation", "--models", "rsteer"],
     ["rsteer", "translation", "rsteer_tr"]),
    (["reproduce", "table1", "--seeds", "0"], ["--seeds"]),
    (["reproduce", "table1", "--device", "cuda:99"], ["--device", "cpu"]),
    (["reproduce", "table1", "--device", "potato"], ["--device", "cpu"]),
    (["info", "--bogus"], ["--bogus"]),
    ([], ["required"]),
    (["frobnicate"], ["frobnicate", "reproduce"]),
]


@pytest.mark.parametrize("argv, names", BAD_ARGS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_options_exit_2_with_one_line_before_any_work(argv, names, capsys, no_work):
    assert main(argv) == 2
    _one_line_error(capsys, *names)


BAD_ENV = [
    ("OMP_NUM_THREADS", "abc"), ("OMP_NUM_THREADS", "0"), ("OMP_NUM_THREADS", "-2"),
    ("AEQKIT_DEVICE", "cuda:99"), ("AEQKIT_DEVICE", "potato"), ("AEQKIT_PROFILE", "slow"),
    ("AEQKIT_LOCK_TIMEOUT", "soon"),
]


@pytest.mark.parametrize("var, value", BAD_ENV)
@pytest.mark.parametrize("argv", [["info"], ["demo"], ["reproduce", "table1"]], ids=" ".join)
def test_bad_environment_exits_2_naming_the_variable(var, value, argv, monkeypatch, capsys, no_work):
    monkeypatch.setenv(var, value)
    monkeypatch.setattr("aeqkit.__main__.info", lambda: pytest.fail("info ran"))
    assert main(argv) == 2
    _one_line_error(capsys, var, value)


def test_unwritable_out_is_refused_before_training(tmp_path, capsys, no_work):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["reproduce", "table1", "--out", str(blocker / "sub")]) == 2
    _one_line_error(capsys, "--out")


@pytest.fixture
def tiny_reproduce(monkeypatch):
    """reproduce() on the tiny synthetic data and model of test_reproduce, 2 epochs."""
    import test_reproduce as tr

    monkeypatch.setattr(rep, "_default_load", tr.fake_load)
    monkeypatch.setattr(rep, "_default_build", tr.fake_build)
    monkeypatch.setitem(rep.PROFILES, "quick", replace(rep.PROFILES["quick"], epochs=2))


def test_results_are_printed_even_when_they_cannot_be_written(tmp_path, monkeypatch, capsys,
                                                              tiny_reproduce):
    def disk_full(results, out):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rep, "_write_outputs", disk_full)
    status = main(["reproduce", "table1", "--models", "conv", "--out", str(tmp_path),
                   "--no-progress", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert status == 1
    assert out.startswith("table1 (rotation") and "future RMSE" in out  # the table
    assert "could not write the results" in err and "No space left" in err


def test_eval_steps_longer_than_the_test_windows_is_an_error_not_a_cut(tmp_path, monkeypatch):
    import test_reproduce as tr

    monkeypatch.setattr("aeqkit.harness.fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError, match="eval_steps=50 .*only 12 target frames"):
        rep.reproduce("table1", "rotation", "quick", models="conv", out=None,
                      profile_overrides={"eval_steps": 50}, load_fn=tr.fake_load,
                      build_fn=tr.fake_build, progress=False)


def test_commands_are_a_table_others_can_extend(capsys):
    calls = []
    register("hello", Command("say hello", lambda p: p.add_argument("--name", default="x"),
                              lambda a: calls.append(a.name) or 0,
                              lambda a: (_ for _ in ()).throw(ValueError("--name must not be "
                                                                          "'bad'"))
                              if a.name == "bad" else None))
    try:
        assert "hello" in build_parser().format_help()
        assert main(["hello", "--name", "ok"]) == 0 and calls == ["ok"]
        assert main(["hello", "--name", "bad"]) == 2
        _one_line_error(capsys, "--name")
        # a row whose module is missing is left out, not a crash
        register("ghost", Command("missing", "aeqkit.no_such_module:add", "aeqkit.no_such_module:run"))
        assert "ghost" not in build_parser().format_help()
    finally:
        COMMANDS.pop("hello", None)
        COMMANDS.pop("ghost", None)


def test_a_real_process_exits_2_without_traceback():
    env = {"OMP_NUM_THREADS": "abc", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "aeqkit", "info"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "OMP_NUM_THREADS" in r.stderr


@pytest.mark.parametrize("fault", ["diverged", "lock", "disk"])
def test_failures_during_the_work_are_one_line_with_status_1(fault, monkeypatch, capsys):
    from aeqkit.data.cache import CacheLockTimeout
    from aeqkit.train import TrainingDiverged

    err = {"diverged": TrainingDiverged("validation RMSE 1e9 at epoch 3", epoch=3,
                                        metric="valid_rmse", value=1e9),
           "lock": CacheLockTimeout("waiting for x.lock: held by pid 1 on h since t"),
           "disk": OSError(28, "No space left on device")}[fault]

    def run(args):
        raise err

    register("boom", Command("fails", None, run))
    try:
        assert main(["boom"]) == 1
        line = _one_line_error(capsys, type(err).__name__)
        assert line.startswith("python -m aeqkit boom: error:")
    finally:
        COMMANDS.pop("boom", None)


def test_reproduce_runs_the_heat_and_jet_studies_from_the_registry(tmp_path, monkeypatch, capsys):
    """``reproduce jet`` dispatches to aeqkit.experiments through the experiment registry, prints
    the study's table and claims, and writes its JSON."""
    from aeqkit import experiments

    seen = {}

    def fake_jet(profile, *, seeds=None, symmetries=None, models=None, log=None, **kw):
        seen.update(profile=profile, seeds=seeds, symmetries=symmetries, models=models)
        runs = [{"model": m, "seed": 0, "parameters": 10, "test_domain": v, "test_future": v}
                for m, v in (("persistence", 0.3), ("conv", 0.2), ("equiv", 0.15), ("rsteer", 0.1))]
        return {"experiment": "jet", "profile": profile, "symmetries": {"rotation": {"runs": runs}},
                "seconds": 1.0}

    monkeypatch.setattr(experiments, "jet_experiment", fake_jet)
    code = main(["reproduce", "jet", "--symmetry", "rotation", "--models", "persistence,conv,equiv,rsteer",
                 "--seeds", "2", "--out", str(tmp_path), "--no-progress", "--device", "cpu"])
    assert code == 0
    assert seen == {"profile": "quick", "seeds": (0, 1), "symmetries": ["rotation"],
                    "models": ["persistence", "conv", "equiv", "rsteer"]}
    out = capsys.readouterr().out
    assert "HOLDS   jet rotation: rsteer beats conv, equiv" in out and "RSteer" in out
    assert (tmp_path / "jet_rotation_quick.json").exists()
    assert main(["reproduce", "heat", "--profile", "full"]) == 2  # heat has quick / medium only
