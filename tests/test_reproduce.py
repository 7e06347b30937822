"""Tests for aeqkit.reproduce, aeqkit.paper and the ``python -m aeqkit`` command line.

Training here uses tiny synthetic data and a tiny ConvNet injected through ``load_fn`` /
``build_fn``, so the harness (seeds, summaries, files, printing, errors) is tested in seconds; the
real data and models are exercised in ``test_claims.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from toy_windows import ToyWindows as Windows
from toy_windows import rolling_trajectories

from aeqkit import paper
from aeqkit import reproduce as rep
from aeqkit.__main__ import main

N = 8



def _traj(n: int, seed: int) -> torch.Tensor:
    return rolling_trajectories(n, seed, N, 24)


def fake_load(name: str, profile: str, level: int = 0, **overrides):
    """A stand-in for ``aeqkit.data.load_dataset`` with the same split names."""
    seed = 10 * level
    splits = {
        "train": Windows(_traj(3, seed), 3),
        "valid": Windows(_traj(1, seed + 1), 3),
        "test_future": Windows(_traj(2, seed + 2), 12),
        "test_domain": Windows(_traj(2, seed + 3), 12),
    }
    return SimpleNamespace(
        splits=splits, meta={"name": name, "level": level, "data_equivariance_error": 0.01 * level}
    )


class Tiny(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.a = nn.Conv2d(20, width, 3, padding=1, padding_mode="circular")
        self.b = nn.Conv2d(width, 2, 3, padding=1, padding_mode="circular")

    def forward(self, x):
        return x[:, -1] + self.b(torch.relu(self.a(x.flatten(1, 2))))


def fake_build(name: str, symmetry: str, **hparams):
    if name not in rep.KNOWN_MODELS:
        raise ValueError(f"unknown model {name!r}")
    return Tiny()


FAST = {"epochs": 2, "time_limit": None, "eval_steps": 12, "valid_steps": 3}


def _run(tmp_path, experiment="table1", symmetry="rotation", **kw):
    kw.setdefault("models", "conv,rsteer")
    kw.setdefault("profile_overrides", FAST)
    return rep.reproduce(
        experiment,
        symmetry,
        "quick",
        out=tmp_path,
        device="cpu",
        progress=False,
        log=lambda s: None,
        load_fn=fake_load,
        build_fn=fake_build,
        **kw,
    )


def test_table_summary_files_and_printout(tmp_path):
    res = _run(tmp_path, seeds=2)
    assert res["models"] == ["conv", "rsteer"] and res["seeds"] == 2
    assert len(res["runs"]) == 4
    row = next(r for r in res["summary"] if r["model"] == "rsteer" and r["split"] == "test_domain")
    vals = [r["test_domain"]["rmse"] for r in res["runs"] if r["model"] == "rsteer"]
    assert row["mean"] == pytest.approx(sum(vals) / 2)
    assert row["std"] == pytest.approx(abs(vals[0] - vals[1]) / math.sqrt(2))
    assert row["steps"] == 12 and row["n"] == 2
    assert (row["paper_mean"], row["paper_std"]) == (0.67, 0.01)
    assert all(len(r["test_future"]["per_step"]) == 12 for r in res["runs"])
    # two seeds give different initialisations, hence different results
    assert vals[0] != vals[1]

    stored = json.loads((tmp_path / "table1_rotation_quick.json").read_text())
    assert stored["summary"] == res["summary"]
    with open(tmp_path / "table1_rotation_quick.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {r["model"] for r in rows} == {"conv", "rsteer"}
    assert float(rows[0]["mean"]) == pytest.approx(res["summary"][0]["mean"])
    # the sidecars written by aeqkit.io.atomic_write_bytes verify the files
    from aeqkit.io import verify

    verify(tmp_path / "table1_rotation_quick.json")
    verify(tmp_path / "table1_rotation_quick.csv")

    text = rep.format_results(res)
    assert "RSteer" in text and "(0.67 ± 0.01)" in text and "(1.21 ± 0.01)" in text
    assert f"{row['mean']:.3f} ± {row['std']:.3f}" in text


def test_same_seed_same_result(tmp_path):
    a = _run(tmp_path / "a", models="conv")
    b = _run(tmp_path / "b", models="conv")
    assert a["summary"] == b["summary"]


def test_figure4_levels_and_spearman(tmp_path):
    res = rep.reproduce(
        "figure4",
        "rotation",
        "quick",
        models="conv,equiv",
        out=tmp_path,
        device="cpu",
        progress=False,
        log=lambda s: None,
        profile_overrides={**FAST, "levels": (0, 3, 6)},
        load_fn=fake_load,
        build_fn=fake_build,
    )
    rows = res["summary"]["rows"]
    assert [(r["model"], r["level"]) for r in rows] == [
        ("conv", 0),
        ("conv", 3),
        ("conv", 6),
        ("equiv", 0),
        ("equiv", 3),
        ("equiv", 6),
    ]
    assert [r["data_equivariance_error"] for r in rows[:3]] == pytest.approx([0.0, 0.03, 0.06])
    # the tiny ConvNet is not rotation-equivariant: a clearly positive model error
    assert all(r["model_equivariance_error"] > 1e-3 for r in rows)
    for rho in res["summary"]["spearman"].values():
        assert rho is None or -1.0 <= rho <= 1.0
    assert (tmp_path / "figure4_rotation_quick.csv").exists()
    assert "Spearman" in rep.format_results(res)


def test_model_equivariance_error_of_a_rotation_equivariant_function():
    class Rot90Equivariant(nn.Module):
        """The mean over the input frames: commutes with any rotation of a vector field."""

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.w * x.mean(dim=1)

    x = torch.randn(3, 10, 2, 6, 6, dtype=torch.float64)
    assert rep.model_equivariance_error(Rot90Equivariant().double(), x) < 1e-12
    assert rep.model_equivariance_error(Tiny().double(), x) > 1e-3


@pytest.mark.parametrize(
    "args, message",
    [
        (["reproduce", "table9"], "invalid choice: 'table9'"),
        (
            ["reproduce", "table1", "--symmetry", "spin"],
            "unknown symmetry 'spin' for table1; accepted: translation, rotation, scaling",
        ),
        (["reproduce", "figure4", "--symmetry", "scaling"], "accepted: rotation"),
        (["reproduce", "table1", "--models", "conv,transformer"], "unknown model name(s) ['transformer']"),
        (["reproduce", "table1", "--models", "conv,conv"], "repeated"),
        (["reproduce", "table1", "--profile", "huge"], "invalid choice: 'huge'"),
        (["reproduce", "table1", "--seeds", "0"], "--seeds must be >= 1"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_rejects_bad_input(capsys, args, message):
    # main returns 2 for a user error (argparse errors included); older versions raised SystemExit
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_end_to_end_with_injected_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rep, "_default_load", fake_load)
    monkeypatch.setattr(rep, "_default_build", fake_build)
    monkeypatch.setitem(rep.PROFILES, "quick", dataclasses.replace(rep.PROFILES["quick"], **FAST))
    code = main(
        [
            "reproduce",
            "table1",
            "--symmetry",
            "scaling",
            "--models",
            "conv,equiv",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "table1 (scaling, profile quick, 1 seed(s)" in out
    assert "(0.83 ± 0.01)" in out  # the paper's Conv, scaling, future
    assert (tmp_path / "table1_scaling_quick.json").exists()


def test_api_errors_name_accepted_values(tmp_path):
    with pytest.raises(ValueError, match="accepted: quick, medium, full"):
        rep.reproduce("table1", "rotation", "huge", out=None)
    with pytest.raises(ValueError, match="unknown profile field"):
        _run(tmp_path, profile_overrides={"epoch": 1})
    with pytest.raises(ValueError, match="seeds must be an integer >= 1"):
        _run(tmp_path, seeds=0)
    with pytest.raises(ValueError, match="accepted: translation, rotation, scaling, combination"):
        rep.validate_request("table2", "reflection", "quick")


def test_bad_model_fails_before_any_training(tmp_path):
    calls = []

    def build(name, symmetry, **kw):
        calls.append(name)
        if name == "rsteer":
            raise ValueError("grid too small")
        return Tiny()

    with pytest.raises(ValueError, match="cannot build model 'rsteer'.*grid too small"):
        rep.reproduce(
            "table1",
            "rotation",
            "quick",
            models="conv,rsteer",
            out=tmp_path,
            device="cpu",
            progress=False,
            log=lambda s: None,
            profile_overrides=FAST,
            load_fn=fake_load,
            build_fn=build,
        )
    assert calls == ["conv", "rsteer"]  # pre-flight builds only, no training
    assert not list(tmp_path.iterdir())  # nothing written


def test_paper_numbers_transcribed():
    assert paper.paper_value("table1", "rotation", "future", "rsteer") == (0.80, 0.00)
    assert paper.paper_value("table1", "translation", "domain", "rgroup") == (0.62, 0.02)
    assert paper.paper_value("table1", "translation", "future", "conv") is None
    assert paper.paper_value("table1", "scaling", "test_domain", "mlp") == (1.81, 0.18)
    assert paper.paper_value("table2", "rotation", "domain", "equiv") == (0.27, 0.03)
    assert paper.paper_value("table2", "combination", "future", "rsteer_tr") == (0.14, 0.01)
    for table in (paper.TABLE1, paper.TABLE2):
        for sym in table.values():
            assert set(sym) == {"future", "domain"}
            assert set(sym["future"]) == set(sym["domain"])
    assert all(set(paper.TABLE1[s]["future"]) == set(paper.TABLE1_MODELS) for s in paper.TABLE1)
    with pytest.raises(ValueError, match="expected one of"):
        paper.paper_value("table3", "rotation", "future", "conv")
    with pytest.raises(ValueError, match="split"):
        paper.paper_value("table1", "rotation", "past", "conv")


def test_equivariance_inputs_cover_every_simulation():
    fields = torch.arange(4 * 30, dtype=torch.float32).reshape(4, 30, 1, 1, 1).expand(4, 30, 2, 3, 3)
    data = SimpleNamespace(fields=fields, splits={})
    x = rep.equivariance_inputs(data, limit=8)
    assert x.shape == (8, 10, 2, 3, 3)
    sims = (x[:, 0, 0, 0, 0] // 30).long().tolist()
    assert sims == [0, 0, 1, 1, 2, 2, 3, 3]  # two windows from each simulation
    starts = (x[:, 0, 0, 0, 0] % 30).long().tolist()
    # first and last window start of a 30-frame trajectory whose next frame exists (the one-step
    # data error is measured on the same windows)
    assert starts[:2] == [0, 19]


def test_info_self_check_passes(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in ("torch", "escnn", "phiflow", "plotly", "gpu", "aeqkit.train"):
        assert f"] {name}" in out
    assert "all checks passed" in out


def test_demo_shows_real_equivariance_errors(capsys):
    from aeqkit.__main__ import demo

    res = demo(size=12)
    assert res["heat beta=0.0"] < 1e-12 < res["heat beta=0.1"] < res["heat beta=0.9"]
    assert res["conv"] > 1e-2
    assert res["equiv"] < 1e-5 and res["rsteer"] < 1e-5 and res["rgroup"] < 1e-5
    assert res["rsteer, relaxed weights + 0.1 N(0,1)"] > 1e-3
    assert "equiv" in capsys.readouterr().out


@pytest.mark.parametrize("symmetry", ["translation", "rotation", "scaling", "combination"])
def test_every_table_model_builds_under_both_profiles(symmetry):
    """Every model of each Table 1 / Table 2 row builds at its profile's width, below 10^7 parameters."""
    from aeqkit.models import build, count_parameters
    from aeqkit.reproduce import _MODEL_SYMMETRY, DEFAULT_MODELS, PROFILES, model_hparams

    ms = _MODEL_SYMMETRY.get(symmetry, symmetry)
    for prof, grid in (("quick", (32, 32)), ("full", (64, 64))):
        names = {n for t in ("table1", "table2") for n in DEFAULT_MODELS[t].get(symmetry, ())}
        for name in sorted(names):
            model = build(name, symmetry=ms, **model_hparams(PROFILES[prof], name, ms, grid))
            assert count_parameters(model) < 10**7


def test_ledger_and_claims_from_a_run(tmp_path, capsys):
    """A reproduce result becomes a committed-ledger record (with its command), the ledger puts it
    beside the paper's numbers, and the claims read it; the CLI writes ledger.json/.md and
    claims.json."""
    from aeqkit import claims, ledger

    res = _run(tmp_path / "build", models="conv,equiv,rsteer")
    rec_dir = tmp_path / "ledger_data"
    path = ledger.record(res, "python -m aeqkit reproduce table1 --symmetry rotation", rec_dir)
    assert path.name == "table1_rotation_quick.json"
    rec = json.loads(path.read_text())
    assert rec["command"].startswith("python -m aeqkit reproduce") and rec["seeds"] == 1
    assert {"hardware", "date", "commit", "summary"} <= set(rec)
    # the record names the torch threads the run used, not those of the recording process
    assert f"torch threads {res['threads']}," in rec["hardware"]
    assert "torch threads 7," in ledger.condense(dict(res, threads=7), "cmd")["hardware"]
    with pytest.raises(ValueError, match="command"):
        ledger.record(res, " ", rec_dir)
    led = ledger.build_ledger(build_dir=None, ledger_dir=rec_dir)
    cell = next(r for r in led["tables"] if r["table"] == "table1" and r["symmetry"] == "rotation"
                and r["split"] == "domain" and r["model"] == "rsteer")
    assert cell["paper"] == (0.67, 0.01) and cell["independent"] == (0.67, 0.0)
    assert cell["quick"]["n"] == 1 and cell["quick"]["parameters"] > 0 and cell["medium"] is None
    md = ledger.format_ledger(led)
    assert "| rotation | domain | RSteer |" in md and "python -m aeqkit reproduce" in md
    # a network measured at two sizes in two profiles shows both counts, each named
    two = dict(cell, quick=dict(cell["quick"], parameters=51122),
               medium=dict(cell["quick"], parameters=9952))
    assert ledger._params_cell(two) == "51,122 (quick) / 9,952 (medium)"
    assert ledger._params_cell(dict(two, medium=dict(two["quick"]))) == "51,122"
    assert ledger._params_cell(dict(cell, quick=None)) == ""
    # Fig. 4 claims on a synthetic summary: exact strict model, relaxed tracking the data
    data = {lv: 0.003 * lv for lv in range(10)}
    runs = [{"model": m, "seed": s, "level": lv, "parameters": 10,
             "model_equivariance_error": (5e-8 if m == "equiv" else 1e-6 + 0.9 * data[lv]),
             "model_equivariance_error_relative": 0.0, "test_domain": {"rmse": 0.1}}
            for m in ("equiv", "rsteer") for s in range(3) for lv in range(10)]
    summ = rep._summarise_figure4(["equiv", "rsteer"], list(range(10)), runs, data)
    assert summ["loglog_slope"]["rsteer"] == pytest.approx(1.0, abs=0.01)
    got = {c["claim"]: c["holds"] for c in claims.figure4_claims(summ)}
    assert len(got) == 5 and all(got.values()), got
    tab = claims.table_claims(rec)
    assert [c["claim"] for c in tab] == [
        "Table 1 rotation, test-domain: RSteer below Conv and the strict model"]
    # CLI: ledger and claims
    assert main(["ledger", "--out", str(tmp_path / "out"), "--ledger-dir", str(rec_dir)]) == 0
    assert (tmp_path / "out" / "ledger.json").exists() and (tmp_path / "out" / "ledger.md").exists()
    assert main(["claims", "--out", str(tmp_path / "build")]) == 0
    out = json.loads((tmp_path / "build" / "claims.json").read_text())
    assert all(set(c) >= {"claim", "measured", "target", "holds"} for c in out)
    assert "RSteer below Conv" in capsys.readouterr().out


# ---------------------------------------------------------------- lists derived from the registries


def test_default_lists_are_derived_from_the_registries_and_unchanged():
    """The registry-derived defaults are the hand-kept lists they replaced (baselines first)."""
    from aeqkit.data.registry import dataset_specs
    from aeqkit.models.registry import model_specs

    assert rep.EXPERIMENTS == ("table1", "table2", "figure4")
    assert rep.SYMMETRIES["table1"] == ("translation", "rotation", "scaling")
    assert rep.SYMMETRIES["table2"] == ("translation", "rotation", "scaling", "combination")
    assert rep.DEFAULT_MODELS["table1"] == {
        "translation": ("persistence", "stencil", "conv", "rgroup"),
        "rotation": ("persistence", "stencil", "stencil_c4", "conv", "equiv", "rgroup", "rsteer"),
        "scaling": ("persistence", "stencil", "conv", "equiv", "rgroup", "rsteer"),
    }
    assert rep.DEFAULT_MODELS["table2"] == {
        s: ("persistence", "stencil") + tuple(m) for s, m in paper.TABLE2_MODELS.items()}
    assert rep.DEFAULT_MODELS["figure4"] == {"rotation": ("stencil", "conv", "equiv", "rsteer")}
    assert set(rep.KNOWN_MODELS) == set(model_specs()) == set(paper.DISPLAY_NAMES)
    for name, spec in rep.experiment_specs().items():
        for row, ds in spec.datasets.items():
            assert name == "heat" or ds in dataset_specs(), (name, row, ds)
            assert rep.default_models(name, row)  # every row has models


def test_a_registered_model_or_experiment_is_listed_everywhere(monkeypatch, capsys):
    from aeqkit.models import registry

    spec = dataclasses.replace(registry.get_model_spec("conv"), name="myconv",
                               display_name="MyConv", aliases=())
    monkeypatch.setitem(registry._REGISTRY, "myconv", spec)
    assert "myconv" in rep.KNOWN_MODELS and paper.DISPLAY_NAMES["myconv"] == "MyConv"
    assert rep.parse_models("conv,myconv", "table1", "rotation") == ["conv", "myconv"]

    mine = rep.ExperimentSpec("mytable", "my table", {"rotation": "smoke_rotation"}, ("quick",),
                              lambda row: ("persistence", "conv"),
                              lambda *a, **k: {"experiment": "mytable"}, lambda r: "my table done",
                              paper=False)
    rep.experiment_specs()
    monkeypatch.setitem(rep._EXPERIMENTS, "mytable", mine)
    assert rep.SYMMETRIES["mytable"] == ("rotation",) and "mytable" not in rep.EXPERIMENTS
    assert rep.DEFAULT_MODELS["mytable"] == {"rotation": ("persistence", "conv")}
    assert main(["reproduce", "--list"]) == 0
    assert "mytable  my table" in capsys.readouterr().out
    with pytest.raises(ValueError, match="accepted: rotation"):
        rep.validate_request("mytable", "scaling", "quick")
    with pytest.raises(ValueError, match="not one of the paper's experiments"):
        rep.reproduce("mytable", "rotation", "quick", out=None)


def test_harness_summaries():
    from aeqkit.harness import jsonable, mean_std

    assert mean_std([1.0]) == (1.0, None) and mean_std([1.0], ddof=0) == (1.0, 0.0)
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    assert mean_std([1.0, 3.0], ddof=0) == (2.0, 1.0)
    with pytest.raises(ValueError, match="values"):
        mean_std([])
    assert jsonable({1: (torch.tensor([1.0]), float("nan"))}) == {"1": [[1.0], "nan"]}
    assert jsonable(torch.zeros(9, 9)) == "tensor(9, 9)"


def test_seeds_may_be_a_list(tmp_path):
    res = _run(tmp_path, models="conv", seeds=[3])
    assert [r["seed"] for r in res["runs"]] == [3] and res["seeds"] == 1
    with pytest.raises(ValueError, match="seeds"):
        _run(tmp_path, seeds=[1, 1])
