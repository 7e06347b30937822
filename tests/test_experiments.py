"""Tests of aeqkit.experiments (issue 10): orbit-balanced heat data keep a relaxed model exactly
equivariant on exactly symmetric data, and the heat experiment reports comparable data / model
errors beside the baselines."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from aeqkit.data.windows import WindowDataset
from aeqkit.experiments import (
    HEAT_PROFILES,
    _build,
    _ee_indices,
    heat_claims,
    heat_data,
    heat_experiment,
    ledger_rows,
    summarise,
)
from aeqkit.reproduce import model_equivariance_error
from aeqkit.train import fit

torch.set_num_threads(1)

TINY = replace(HEAT_PROFILES["quick"], resolution=12, steps=24, num_bases=2, epochs=1,
               eval_steps=3, hparams={"*": {"num_layers": 2, "kernel_size": 3,
                                            "padding_mode": "circular"},
                                      "equiv": {"width": 2}, "rgroup": {"width": 2, "alpha": 0.0}})


def _ee_inputs(data) -> torch.Tensor:
    idx = _ee_indices(data.fields.shape[0], data.fields.shape[1], per_sim=2)
    return torch.stack([data.fields[s, t:t + 10] for s, t in idx])


def _train_rgroup(train, valid) -> torch.nn.Module:
    model = _build("rgroup", "rotation", 0, dict(TINY.hparams["*"], **TINY.hparams["rgroup"]),
                   zero_output=False)
    # one batch per epoch: the loss is a sum over whole orbits, so C4-invariant at β = 0
    fit(model, train, valid, epochs=4, lr=3e-3, batch_size=len(train), rollout_steps=2,
        patience=None, progress=False, seed=0, device="cpu")
    return model


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_orbit_balanced_heat_keeps_a_relaxed_model_equivariant_at_beta_zero():
    data = heat_data(0.0, TINY)
    train = data.splits["train"]
    assert set(data.info["test_domain_sims"]) in ({0, 1, 2, 3}, {4, 5, 6, 7})  # a whole orbit
    counts = {s: sum(1 for s_, _ in train.index if s_ == s) for s in train.simulations}
    assert len(set(counts.values())) == 1 and len(counts) == 4  # every orientation, equal number
    x = _ee_inputs(data)
    model = _train_rgroup(train, data.splits["valid"])
    spread = [float(p.detach().std(dim=-1).abs().max()) for n, p in model.named_parameters()
              if n.endswith("relaxed_weights")]
    assert len(spread) == 2 and max(spread) < 1e-6  # relaxed weights still equal over C4
    balanced = model_equivariance_error(model, x)
    assert balanced < 1e-6  # float32 round-off
    # the same training on a split missing one orientation breaks the symmetry
    missing = train.simulations[-1]
    lopsided = WindowDataset(train.fields, [w for w in train.index if w[0] != missing],
                             train.input_length, train.target_length, "train")
    broken = _train_rgroup(lopsided, data.splits["valid"])
    assert model_equivariance_error(broken, x) > max(1e-6, 100 * balanced)


def test_heat_experiment_reports_data_and_model_errors_beside_baselines():
    res = heat_experiment(TINY, betas=[0.0, 0.5], models=["persistence", "stencil_c4", "equiv"],
                          log=None)
    b0, b5 = res["betas"]
    assert b0["data_one_step_ee"] < 1e-15 and b0["data_trajectory_ee"] < 1e-6
    assert b5["data_one_step_ee"] > 1e-4 and b5["data_trajectory_ee"] > b5["data_one_step_ee"]
    s = summarise(b5["runs"])
    assert s["persistence"]["parameters"] == 0 and s["persistence"]["model_ee"][0] == 0.0
    assert s["stencil_c4"]["model_ee"][0] < 1e-6 and s["equiv"]["model_ee"][0] < 1e-5
    # the closed-form C4 stencil beats persistence on heat (a linear, local dynamics)
    assert s["stencil_c4"]["test_domain"][0] < s["persistence"]["test_domain"][0]
    rows = ledger_rows({"heat": res})
    assert len(rows) == 2 * 2 * 3  # betas x splits x models
    assert {r["model"] for r in rows} == {"persistence", "stencil_c4", "equiv"}
    assert all(r["commit"] == res["commit"] and r["synthetic"] for r in rows)
    claims = heat_claims(res)
    assert claims and all(set(c) == {"claim", "measured", "target", "holds"} for c in claims)
    with pytest.raises(ValueError, match="unknown model"):
        heat_experiment(TINY, models=["transformer"], log=None)


def test_zero_output_layer_starts_every_network_at_persistence():
    from aeqkit.equivariance import equivariance_error
    from aeqkit.experiments import MATCHED_ROTATION, _hparams
    from aeqkit.groups import CyclicGroup

    x = torch.randn(2, 10, 2, 12, 12)
    for name in ("conv", "equiv", "rgroup"):
        hp = dict(_hparams(MATCHED_ROTATION, name, "rotation"), width=2)
        model = _build(name, "rotation", 0, hp)  # zero_output=True by default
        assert torch.equal(model(x), x[:, -1])
        relaxed = [p for n, p in model.named_parameters() if n.endswith("relaxed_weights")]
        assert all(float(p.std(dim=-1).max()) == 0.0 and float(p.abs().max()) > 0 for p in relaxed)
        assert equivariance_error(model, x, CyclicGroup(4), norm="linf").sup == 0.0
    assert not torch.equal(_build("conv", None, 0, {"width": 2}, zero_output=False)(x), x[:, -1])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_jet_backbone_ablation_gives_the_relaxed_model_the_strict_backbone():
    """The ablation trains the strict model, the relaxed one at its own setting, the relaxed one on
    the strict model's depth / kernel / width (and fit settings), and that again with a large α."""
    from types import SimpleNamespace

    from aeqkit.data import make_splits
    from aeqkit.experiments import BACKBONE_KEYS, JetProfile, jet_backbone_ablation

    gen = torch.Generator().manual_seed(0)
    fields = torch.randn(5, 24, 2, 12, 10, generator=gen)
    splits, _ = make_splits(fields, 10, 2, 2, future_fraction=0.25, seed=0)
    data = SimpleNamespace(fields=fields, splits=splits, meta={"synthetic": True})
    prof = JetProfile(name="tiny", epochs=1, train_windows=None, test_windows=None, eval_steps=2,
                      hparams={"*": {"num_layers": 2, "kernel_size": 3},
                               "equiv/rotation": {"width": 2}, "rsteer/rotation": {"width": 1}})
    lines: list[str] = []
    res = jet_backbone_ablation(prof, symmetries=("rotation",), seeds=(0,), alphas=(1.0,), data=data,
                                log=lines.append)
    runs = {r["variant"]: r for r in res["symmetries"]["rotation"]["runs"]}
    assert list(runs) == ["strict", "relaxed", "relaxed@strict-backbone",
                          "relaxed@strict-backbone,alpha=1"]
    assert [r["network"] for r in runs.values()] == ["equiv", "rsteer", "rsteer", "rsteer"]
    wide = runs["relaxed@strict-backbone"]["hparams"]
    assert all(wide[k] == runs["strict"]["hparams"][k] for k in BACKBONE_KEYS if k in wide)
    assert wide["width"] == 2 and runs["relaxed"]["hparams"]["width"] == 1
    assert runs["relaxed@strict-backbone,alpha=1"]["hparams"]["alpha"] == 1.0
    assert runs["relaxed@strict-backbone"]["parameters"] > runs["relaxed"]["parameters"]
    assert all(r["test_domain"] > 0 and r["test_future"] > 0 for r in runs.values())
    assert len(lines) == 4 and set(summarise(res["symmetries"]["rotation"]["runs"])) == set(runs)
    with pytest.raises(ValueError, match=r"symmetries must be among \('rotation', 'scaling'\)"):
        jet_backbone_ablation(prof, symmetries=("translation",), data=data)
