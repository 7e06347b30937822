"""Write the notebook sequence ``notebooks/0[0-4]_*.ipynb`` from this file (the source of truth).

Usage::

    python tools/make_notebooks.py            # (re)write the notebooks, only those that changed
    python tools/make_notebooks.py --check    # exit 1 if a notebook differs from this file

Every notebook follows one template (see ``/work/shared/CONVENTIONS.md``): title; learning goals;
prerequisites; a setup cell (imports, renderer, device, version banner); a cell tagged
``parameters`` (``PROFILE``, ``SEED`` and the sizes they control); a cell deriving the effective
sizes from ``PROFILE`` (and seeding); numbered sections with "Think" / "Try it" callouts; a summary;
exercises; references. Cells are thin: the computation lives in :mod:`aeqkit`.

Output is deterministic (stable cell ids, no outputs, no execution counts), so running the script
twice changes nothing. ``notebooks/05_liegan_discovery.ipynb`` is written by hand elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"

__all__ = ["NOTEBOOKS", "build_notebook", "main"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}

SETUP = '''\
# Setup: imports, plotly renderer (interactive in JupyterLab, compact when headless), device, banner.
# Seeding happens in the cell after `parameters`, so a papermill-injected SEED takes effect.
import torch

import aeqkit
from aeqkit import viz, widgets
from aeqkit.record import record
from aeqkit.utils import banner, default_device, seed_everything
from aeqkit.widgets import Choice, Control, interactive_view

widgets.setup_plotly()
device = default_device()
print(banner())'''


def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def code(text: str, tags: list[str] | None = None) -> dict:
    meta = {"tags": tags} if tags else {}
    return {"cell_type": "code", "metadata": meta, "source": text.strip("\n"),
            "outputs": [], "execution_count": None}


def think(text: str) -> dict:
    return md(f"> **Think.** {text.strip()}")


def try_it(text: str) -> dict:
    return md(f"> **Try it.** {text.strip()}")


def header(number: str, title: str, goals: list[str], prereqs: list[str]) -> list[dict]:
    goal_lines = "\n".join(f"- {g}" for g in goals)
    pre_lines = "\n".join(f"- {p}" for p in prereqs)
    return [
        md(f"# {number} · {title}\n\n*aeqkit notebook sequence — Wang, Walters & Yu, "
           "\"Approximately Equivariant Networks for Imperfectly Symmetric Dynamics\", ICML 2022.*"),
        md(f"## Learning goals\n\n{goal_lines}"),
        md(f"## Prerequisites\n\n{pre_lines}\n\nRun top to bottom on a fresh kernel. "
           "`PROFILE = \"quick\"` finishes in under three minutes on two CPU cores; "
           "`\"full\"` is the paper-scale profile meant for a GPU."),
        code(SETUP),
    ]


def parameters(body: str) -> dict:
    return code(body, tags=["parameters"])


# --------------------------------------------------------------------------------------------
# 00 · approximate equivariance
# --------------------------------------------------------------------------------------------
NB00 = [
    *header(
        "00", "Approximate equivariance",
        [
            "apply rotations and reflections to scalar and vector fields with aeqkit's one "
            "convention (y up, counter-clockwise, components rotate with the grid);",
            "measure the equivariance error of a function (Def. 2.1 / 3.1) per group element;",
            "see Prop. 3.2 at work: an exactly equivariant model cannot fit an approximately "
            "equivariant function better than half its equivariance error;",
            "move a symmetry-breaking knob and watch the error follow it.",
        ],
        ["Python and PyTorch tensors", "what a group is (C4: rotations by multiples of 90°)",
         "paper Sec. 2.2 and 3.5"],
    ),
    parameters('''\
PROFILE = "quick"  # "quick" (CPU, minutes) or "full" (paper scale)
SEED = 0
GRID = 32  # grid size of the example fields
N_SAMPLES = 8  # random fields used to estimate the equivariance error'''),
    code('''\
seed_everything(SEED)
sizes = {"quick": {"grid": GRID, "samples": N_SAMPLES},
         "full": {"grid": 64, "samples": 64}}[PROFILE]
print(PROFILE, sizes)'''),
    md('''\
## 1 · Group actions on fields

A field is a tensor `(..., C, H, W)` whose row axis points **up** (row 0 at the bottom) and whose
column axis points right — PhiFlow's layout. A group element `g` acts by moving the grid *and*
mixing the channels: `(g·f)(p) = ρ(g) f(g⁻¹p)`. Scalars (temperature, smoke density) only move;
a velocity `(u, v)` also turns: a 90° rotation maps `(u, v)` to `(-v, u)`.'''),
    code('''\
from aeqkit.groups import get_group

C4, D4 = get_group("C4"), get_group("D4")
yy, xx = torch.meshgrid(torch.linspace(-1, 1, sizes["grid"]), torch.linspace(-1, 1, sizes["grid"]),
                        indexing="ij")
bump = torch.exp(-((xx - 0.4) ** 2 + (yy - 0.1) ** 2) / 0.05)[None]  # scalar (1, H, W), right of centre
flow = torch.stack([0.6 + 0 * xx, -xx]) * torch.exp(-(xx**2 + yy**2))  # velocity (2, H, W): u > 0
rotated = [C4.act(g, bump, "scalar") for g in C4.elements()]
viz.fields_grid(rotated, titles=[C4.label(g) for g in C4.elements()],
                title="A scalar bump rotated by C4 (counter-clockwise, y up)").show()'''),
    code('''\
vectors = [C4.act(g, flow, "vector") for g in C4.elements()]
viz.fields_grid(vectors, titles=[C4.label(g) for g in C4.elements()], kind="quiver",
                title="A velocity field rotated by C4: the arrows turn with the grid").show()
# group law check: acting with g then h equals acting with h∘g, for every pair (float64)
x64 = flow.double()
law = max(float((D4.act(h, D4.act(g, x64)) - D4.act(D4.compose(h, g), x64)).abs().max())
          for g in D4.elements() for h in D4.elements())
record("group_law_error_d4", law)'''),
    think("Rotate a vector field's *grid* but not its components. Is the result the same physical "
          "flow seen from a rotated frame? What would a network trained on such data learn?"),
    try_it("Replace `C4` by `get_group(\"D4\")` in the first cell and find the element that "
           "flips `u` but not `v`."),
    md('''\
## 2 · Equivariance error (Def. 2.1 and 3.1)

`f` is ε-approximately equivariant when `‖f(ρ_X(g)x) − ρ_Y(g)f(x)‖ ≤ ε` for every `g` and `x`;
the equivariance error `‖f‖_EE` is the sup of the left side. `aeqkit.equivariance.equivariance_error`
reports it per group element (L1 = mean absolute difference, as in the paper's Fig. 4).

The toy below is `f(x) = blur(x) + s · ramp ⊙ x`: an isotropic blur (exactly C4-equivariant) plus
`s` times a term that singles out the +x direction.'''),
    code('''\
from aeqkit.equivariance import equivariance_error

samples = torch.randn(sizes["samples"], 1, 16, 16, dtype=torch.float64)
reports = {s: equivariance_error(viz.toy_breaking_function(s), samples, C4,
                                 in_type="scalar", out_type="scalar") for s in (0.0, 0.3, 1.0)}
for s, rep in reports.items():
    print(f"strength {s}:", rep)
record("toy_ee_strength0", reports[0.0].sup)
record("toy_ee_strength1", reports[1.0].sup)
viz.equivariance_error_bars({e.label: e.sup for e in reports[0.3].per_element},
                            title="Equivariance error per element, strength 0.3").show()'''),
    think("Why is the error for the identity element always zero, and why is it largest for 180°?"),
    md('''\
## 3 · Prop. 3.2: the price of strict equivariance

If `f` has equivariance error ε and `f_θ` is exactly equivariant, then somewhere
`‖f(x₀) − f_θ(x₀)‖ ≥ ε/2` (for norm-preserving actions: rotating a grid permutes its pixels).
Proof idea: `f(gx) − g f(x) = [f(gx) − f_θ(gx)] + g[f_θ(x) − f(x)]`, so one of the two terms is at
least ε/2. We try two exactly equivariant approximators of the toy: the identity map, and the
*group average* `f̄(x) = ¼ Σ_g g⁻¹ f(g x)` (here the rotated ramps cancel, so `f̄` is the blur).'''),
    code('''\
strength = 1.0
f = viz.toy_breaking_function(strength)


def group_average(x):
    return sum(C4.act(C4.inverse(g), f(C4.act(g, x, "scalar")), "scalar") for g in C4.elements()) / 4


def identity(x):
    return x


orbit = torch.cat([C4.act(g, samples, "scalar") for g in C4.elements()])  # x and all g·x
eps = equivariance_error(f, orbit, C4, in_type="scalar", out_type="scalar").sup
for name, f_theta in [("group average", group_average), ("identity", identity)]:
    ee_theta = equivariance_error(f_theta, samples, C4, in_type="scalar", out_type="scalar").sup
    worst = float((f(orbit) - f_theta(orbit)).abs().mean(dim=(-3, -2, -1)).max())
    print(f"{name:>13}: own error {ee_theta:.1e}; worst fit error {worst:.4f} >= eps/2 = {eps / 2:.4f}")
    record(f"prop32_ratio_{name.replace(' ', '_')}", worst / (eps / 2))'''),
    think("The ratio printed is at least 1 for *every* equivariant approximator, and the group "
          "average reaches exactly 1 here. Look at the 180° element: why is the bound tight?"),
    md('''\
## 4 · A knob for symmetry breaking

The slider sets the breaking strength `s`; the left panel shows the error per group element, the
right the sup error against `s`. In JupyterLab drag it; headless, the default view is drawn once.'''),
    code('''\
view = interactive_view(viz.breaking_strength_view, readout="equivariance_error",
                        readout_label="equivariance error",
                        strength=Control(0.0, 1.0, 0.05, 0.5, label="strength"))
record("slider_default_ee", view.readout)'''),
    try_it("Set the slider to 0 — is the error exactly zero or just tiny? Which dtype are the "
           "samples in, and what would float32 give?"),
    md('''\
## Summary

- Group elements act on fields by moving the grid **and** transforming the channels; for velocity
  the components rotate with the grid (DESIGN.md's one convention).
- The equivariance error (Def. 3.1) measures how far a function is from commuting with the group;
  `aeqkit.equivariance` reports it per element, sup and mean.
- Prop. 3.2: a strictly equivariant model must err by at least half the target's equivariance
  error — the motivation for *approximately* equivariant networks (notebooks 01-04).

## Exercises

1. Replace the ramp by a radially symmetric field. What happens to the error, and why?
2. Use `get_group("SO2")` and elements at 45°: which pixels are lost, and how does
   `equivariance_error` handle them (`valid_fraction`)?
3. Prove Prop. 3.3 numerically: fit `f_θ = blur + t · ramp ⊙ x` for several `t` and compare
   `|‖f‖_EE − ‖f_θ‖_EE|` with `2c + ε`.

## References

- Paper Sec. 2.2 (Def. 2.1), Sec. 3.5 (Def. 3.1, Prop. 3.2, 3.3), Appendix A.3 (proofs).
- `aeqkit.groups`, `aeqkit.equivariance`; next: notebook 01 (heat diffusion, Fig. 2).'''),
]

# --------------------------------------------------------------------------------------------
# 01 · heat diffusion
# --------------------------------------------------------------------------------------------
NB01 = [
    *header(
        "01", "Heat diffusion: a symmetry-breaking knob",
        [
            "reproduce the paper's Fig. 2: heat diffusing on a plate whose diffusion coefficient "
            "varies by a controllable amount β;",
            "measure the *data* equivariance error and see it grow from round-off at β = 0;",
            "train a ConvNet, a strictly equivariant E2CNN and a relaxed RSteer model quickly on "
            "the same data;",
            "compare each model's equivariance error with the data's (the idea behind Fig. 4).",
        ],
        ["notebook 00 (equivariance error)", "paper Sec. 2.2 (Fig. 2) and Sec. 5.2",
         "`aeqkit.train.fit` / `evaluate` (a forecaster maps 10 frames to the next)"],
    ),
    parameters('''\
PROFILE = "quick"
SEED = 0
GRID = 16  # plate resolution for training
STEPS = 30  # saved frames per simulation
NUM_SIMS = 6  # simulations per β (the last one is held out for testing)
BETAS = [0.0, 0.3, 0.6]  # symmetry-breaking strengths the models are trained on
FIT_SECONDS = None  # optional wall-clock cap per fit (None: fixed epochs, repeatable numbers)'''),
    code('''\
seed_everything(SEED)
sizes = {
    "quick": {"grid": GRID, "steps": STEPS, "sims": NUM_SIMS, "betas": BETAS,
              "fit_seconds": FIT_SECONDS, "epochs": 15, "width": 8, "layers": 2},
    "full": {"grid": 64, "steps": 100, "sims": 16, "betas": [0.0, 0.2, 0.4, 0.6, 0.8],
             "fit_seconds": None, "epochs": 100, "width": 32, "layers": 5},
}[PROFILE]
print(PROFILE, sizes)'''),
    md('''\
## 1 · Fig. 2 with a knob

Heat diffuses by `∂T/∂t = ∇·(κ(x)∇T)` on a periodic plate with `κ(x) = κ₀(1 + β φ(x))`, where `φ` is
a fixed, non-symmetric field (`aeqkit.data.heat`). With β = 0 the dynamics commute with 90°
rotations exactly; the last column shows `|R⁻¹ f(R T₀) − f(T₀)|`, the rotated-then-simulated run
mapped back and compared. Drag **β** and watch the readout: the data equivariance error.'''),
    code('''\
view = interactive_view(viz.heat_view, readout="data_equivariance_error",
                        readout_label="data equivariance error", name="heat",
                        beta=Control(0.0, 0.9, 0.05, 0.3, label="β"))
record("heat_view_ee_default", view.readout)'''),
    think("Where in the plate does the difference map light up first? Compare with where κ(x) "
          "varies most (`viz.field_figure(heat.diffusivity(cfg))`)."),
    md('''\
## 2 · Data equivariance error against β

The same measurement over the slider's range, for 90° rotations (C4) and for cyclic translations.
Both vanish at β = 0 (to float64 round-off) and grow with β.'''),
    code('''\
from aeqkit.data import heat

beta_grid = [0.0, 0.1, 0.2, 0.4, 0.6, 0.8]
rot_ee = heat.heat_equivariance_error(beta_grid, resolution=32, steps=20, group="C4")
shift_ee = heat.heat_equivariance_error(beta_grid, resolution=32, steps=20, group="translation")
viz.error_vs_strength(beta_grid, {"C4 rotations": rot_ee, "translations": shift_ee},
                      xlabel="β", ylabel="data equivariance error (L1)").show()
record("heat_data_ee_beta0", rot_ee[0])
record("heat_data_ee_beta04", rot_ee[3])
record("heat_data_ee_beta08_over_beta04", rot_ee[5] / rot_ee[3])'''),
    md('''\
## 3 · Three models on the same data

The forecasters of `aeqkit.models` take velocity-like *vector* fields, so we learn the heat
**gradient** `∇T = (∂T/∂x, ∂T/∂y)`, a vector field that rotates with the plate. For each β we
simulate a few plates, train Conv, E2CNN (strict C4) and RSteer (relaxed, Eq. 7) briefly, test on a
held-out plate and measure each model's equivariance error. The data's own equivariance error is
measured as in Sec. 5.2: simulate the same initial plate rotated by each `g ∈ C4`, rotate the runs
back and compare (`aeqkit.equivariance.data_equivariance_error`).'''),
    code('''\
from aeqkit.data import heat_gradient_trajectories, sliding_windows
from aeqkit.equivariance import data_equivariance_error
from aeqkit.groups import get_group


def simulate(beta, sims, seed, k=0):  # ∇T of `sims` plates (S, T, 2, H, W), initial plates turned by k·90°
    return heat_gradient_trajectories(beta, sims, seed, resolution=sizes["grid"], steps=sizes["steps"],
                                      quarter_turns=k)'''),
    code('''\
from aeqkit.models import build
from aeqkit.reproduce import model_equivariance_error
from aeqkit.train import evaluate, fit

MODELS = {"Conv": "conv", "E2CNN": "equiv", "RSteer": "rsteer"}
results = {name: {"rmse": [], "model_ee": []} for name in MODELS}
data_ee = []
for beta in sizes["betas"]:
    traj = simulate(beta, sizes["sims"], SEED)
    train, test = sliding_windows(traj[:-2]), sliding_windows(traj[-1:])
    valid = sliding_windows(traj[-2:-1])
    rotated = torch.stack([simulate(beta, 1, SEED + 100, k)[0] for k in range(4)])
    data_ee.append(data_equivariance_error(rotated, [0, 1, 2, 3], get_group("C4"), "vector"))
    for name, key in MODELS.items():
        seed_everything(SEED)
        model = build(key, symmetry="rotation", width=sizes["width"],
                      num_layers=sizes["layers"], kernel_size=3)
        fit(model, train, valid, epochs=sizes["epochs"], lr=3e-3, rollout_steps=2, patience=None,
            time_limit=sizes["fit_seconds"], progress=False, seed=SEED)
        results[name]["rmse"].append(evaluate(model, test, steps=3).rmse)
        results[name]["model_ee"].append(model_equivariance_error(model, test.tensors[0][:8]))
    print(f"β = {beta}: data EE {data_ee[-1]:.2e}",
          {n: f"RMSE {r['rmse'][-1]:.4f}, EE {r['model_ee'][-1]:.1e}" for n, r in results.items()})'''),
    code('''\
rows = [{"model": n, **{f"RMSE β={b}": r["rmse"][i] for i, b in enumerate(sizes["betas"])}}
        for n, r in results.items()]
viz.metric_table_figure(rows, title="3-step test RMSE on a held-out plate").show()
for name, r in results.items():
    record(f"{name.lower()}_rmse_beta_max", r["rmse"][-1])
    record(f"{name.lower()}_model_ee_beta_max", r["model_ee"][-1])
record("data_ee_grad_beta0", data_ee[0])
record("data_ee_grad_beta_max", data_ee[-1])'''),
    md('''\
## 4 · Model equivariance error against data equivariance error

A model that learned the right amount of symmetry sits near the diagonal. E2CNN is pinned to zero
by construction; the ConvNet has no symmetry bias at all; the relaxed model can follow the data.'''),
    code('''\
viz.model_vs_data_error(data_ee, {n: r["model_ee"] for n, r in results.items()},
                        title="Model vs data equivariance error (heat gradient, C4, L1)").show()'''),
    think("After 15 short epochs, is the ConvNet's equivariance error at β = 0 zero? What "
          "would it take for it to learn the symmetry from data alone?"),
    try_it("Set `PROFILE = \"full\"` on a GPU (or raise the quick profile's `epochs`) and see "
           "whether RSteer's points move toward the diagonal."),
    md('''\
## Summary

- `aeqkit.data.heat` gives a physical system with a symmetry-breaking knob β; at β = 0 its data
  equivariance error is round-off, and it grows smoothly with β (Fig. 2).
- A strictly equivariant model's error stays at zero whatever the data; an unconstrained model's is
  whatever training leaves; a relaxed model can match the data's (Prop. 3.3, Fig. 4).

## Exercises

1. Break translation symmetry only: use a κ that is rotation-symmetric about the plate's centre
   (hint: `heat.simulate_heat(..., kappa=...)`). Which errors vanish?
2. Train `rgroup` (relaxed group convolution) as a fourth model. Where does it sit?
3. Plot each model's RMSE against β: where does strict symmetry start to hurt?

## References

- Paper Sec. 2.2 and Fig. 2; Sec. 5.2 and Fig. 4 (data vs model equivariance error); Prop. 3.3.
- `aeqkit.data.heat`, `aeqkit.models.build`, `aeqkit.train.fit`; next: notebook 02.'''),
]

# --------------------------------------------------------------------------------------------
# 02 · inside relaxed layers
# --------------------------------------------------------------------------------------------
NB02 = [
    *header(
        "02", "Inside relaxed layers",
        [
            "read the relaxed group convolution (Eq. 4-5): L kernels Ψ_l combined by relaxed "
            "weights w_l(h) that depend on the input group element h;",
            "verify that relaxed layers are exactly equivariant at initialisation and measurably "
            "not once their relaxed weights differ;",
            "see how L, the regulariser α (Sec. 3.3) and the group order N change what a layer "
            "learns from symmetry-broken data;",
            "read the irrep spectrum of the relaxed weights to tell *which* symmetry broke.",
        ],
        ["notebook 00 (group actions, equivariance error)", "paper Sec. 3.1-3.3",
         "regular representations: a C_N feature is N channels that a rotation rolls"],
    ),
    parameters('''\
PROFILE = "quick"
SEED = 0
GRID = 16  # grid of the random test fields
FIT_STEPS = 60  # Adam steps of the slider view's student layer'''),
    code('''\
seed_everything(SEED)
sizes = {"quick": {"grid": GRID, "fit_steps": FIT_STEPS},
         "full": {"grid": 32, "fit_steps": 300}}[PROFILE]
torch.set_default_dtype(torch.float64)  # exactness claims are checked in float64
print(PROFILE, sizes)'''),
    md('''\
## 1 · Anatomy of a relaxed group convolution

A C_N group convolution shares one kernel Ψ over the group: output element `g` sees input element
`h` through `Ψ(g⁻¹h)`, rotated by `g`. The relaxed version (Eq. 4) keeps `L` kernels and mixes them
with weights `w_l(h)` that depend on `h`:
`Ψ(g, h) = Σ_l w_l(h) Ψ_l(g⁻¹h)`. Equal `w_l(h)` over `h` give back the ordinary group convolution.'''),
    code('''\
from aeqkit.groups import FieldType, get_group
from aeqkit.nn import RelaxedRotGroupConv2d, RelaxedRotLiftConv2d, RelaxedRotSteerConv2d

C4 = get_group("C4")
layer = RelaxedRotGroupConv2d(1, 1, kernel_size=5, group_order=4, num_filter_banks=3)
print(layer)
viz.kernel_figure(layer.weight[:, 0, 0], element_labels=[f"d={d}" for d in range(4)],
                  title="The L = 3 kernel banks Ψ_l(d), d = g⁻¹h").show()
viz.relaxed_weights_figure(layer.relaxed_weights, title="Relaxed weights at initialisation").show()'''),
    code('''\
expanded = layer.expanded_weight().detach().reshape(4, 4, 5, 5)  # (g, h, k, k)
viz.kernel_figure(expanded, element_labels=[f"h={h}" for h in range(4)], max_banks=4,
                  title="Full kernel Ψ(g, h): rows g (output), columns h (input)").show()'''),
    think("Along each diagonal of the grid above (fixed `g⁻¹h`), the kernels are rotated copies of "
          "each other. Which property of the relaxed weights would break this pattern?"),
    md('''\
## 2 · Exactly equivariant at initialisation

With all relaxed weights equal, lifting (vector → regular), group convolution (regular → regular)
and the relaxed steerable convolution of Eq. 7 (vector → vector, on escnn's kernel basis) are
exactly C4-equivariant — to float64 round-off.'''),
    code('''\
from aeqkit.equivariance import equivariance_error

x_vec = torch.randn(4, 2, sizes["grid"], sizes["grid"])
x_reg = torch.randn(4, 4, sizes["grid"], sizes["grid"])
lift = RelaxedRotLiftConv2d(FieldType.vectors(1), 2, 5, group_order=4, num_filter_banks=3)
steer = RelaxedRotSteerConv2d(FieldType.vectors(1), FieldType.vectors(2), 5, group_order=4)
init = {
    "lift": equivariance_error(lift, x_vec, C4, "vector", FieldType.regular(2, 4)).sup,
    "group conv": equivariance_error(layer, x_reg, C4, FieldType.regular(1, 4),
                                     FieldType.regular(1, 4)).sup,
    "steerable": equivariance_error(steer, x_vec, C4, "vector", FieldType.vectors(2)).sup,
}
print(init)
record("init_ee_max", max(init.values()))'''),
    md('''\
## 3 · Relaxing: perturb the relaxed weights

Now move the relaxed weights away from equal by a random perturbation of growing amplitude: the
equivariance error grows with it, and so does the Sec. 3.3 penalty `Σ_l Σ_{g,h} |w_l(h) − w_l(g)|`.'''),
    code('''\
amplitudes = [0.0, 0.01, 0.03, 0.1, 0.3]
noise = torch.randn_like(layer.relaxed_weights)
errors, penalties = [], []
for a in amplitudes:
    with torch.no_grad():
        layer.relaxed_weights.copy_(1.0 + a * noise)
    errors.append(equivariance_error(layer, x_reg, C4, FieldType.regular(1, 4),
                                     FieldType.regular(1, 4)).sup)
    penalties.append(float(layer.equivariance_penalty().detach()))
viz.error_vs_strength(amplitudes, {"equivariance error": errors,
                                   "penalty / 100": [p / 100 for p in penalties]},
                      xlabel="perturbation amplitude of w_l(h)", ylabel="value").show()
record("perturbed_ee_0p1", errors[3])
record("perturbed_ee_ratio_0p3_over_0p03", errors[4] / errors[2])'''),
    think("The error grows (almost) linearly with the amplitude. Why — on what does the layer's "
          "output depend linearly?"),
    md('''\
## 4 · Sliders: L, α and the group order

A *teacher* layer breaks C_N down to C_{N/2} (its relaxed weights alternate `1 ± 0.5`). A relaxed
*student* — exactly equivariant at initialisation — is fitted to it with the loss
`MSE + α · penalty`. Move **L** (filter banks), **α** (regulariser) and **N** (group order) and watch
the student's relaxed weights, their irrep spectrum and its equivariance error.'''),
    code('''\
view = interactive_view(
    viz.relaxed_layer_view, readout="equivariance_error", readout_label="equivariance error",
    name="relaxed-layer", fixed={"steps": sizes["fit_steps"], "seed": SEED},
    num_filter_banks=Control(1, 4, 1, 2, label="L"),
    alpha=Control(0.0, 1.0, 0.05, 0.0, label="α"),
    group_order=Choice([2, 4, 6, 8], value=4, label="N"),
)
meta = view.figure.layout.meta
record("student_ee_alpha0", meta["equivariance_error"])
record("student_init_ee", meta["init_equivariance_error"])
record("student_fit_loss_alpha0", meta["loss"])'''),
    try_it("Set α = 1: the student stays (nearly) equivariant and its fit loss rises — the prior "
           "wins over the data. With N = 8 the teacher keeps C4: why is the error under the 90° "
           "rotations then small even with α = 0?"),
    md('''\
## 5 · Which symmetry broke? The irrep spectrum

The relaxed weights are functions on C_N; their Fourier transform over the group splits them onto
the irreps `k = 0 … N/2` (`aeqkit.nn.irrep_spectrum`). Energy only at `k = 0` means an equivariant
layer. The teacher breaks C4 to C2, whose allowed irreps are `k = 0, 2`: the student's spectrum
should light up at `k = 2` only.'''),
    code('''\
spectrum = meta["spectrum"]
viz.irrep_spectrum_figure(spectrum, labels=[f"k={k}" for k in range(len(spectrum))],
                          allowed=["k=0", "k=2"],
                          title="Student (α = 0): relaxed weights on the irreps of C4").show()
regularised = viz.relaxed_layer_view(2, 1.0, 4, steps=sizes["fit_steps"], seed=SEED).layout.meta
print("surviving subgroup: C%d" % meta["surviving_subgroup"])
record("student_surviving_subgroup", meta["surviving_subgroup"])
record("student_dominant_irrep", meta["dominant_irrep"])
record("alpha1_over_alpha0_ee", regularised["equivariance_error"] / meta["equivariance_error"])'''),
    think("The surviving subgroup is C2. Which rotations does C2 contain, and which physical "
          "set-up would give relaxed weights with energy at `k = 1` instead?"),
    md('''\
## Summary

- A relaxed group convolution mixes L kernel banks with weights `w_l(h)`; equal weights make it an
  ordinary, exactly equivariant group convolution (checked to ~1e-16 in float64).
- Unequal relaxed weights break equivariance in proportion to their spread; the Sec. 3.3 penalty
  (unsquared, α ≥ 0) pulls them back together.
- Fitted to data that breaks C_N to a subgroup, the relaxed weights' irrep spectrum names the
  surviving subgroup.

## Exercises

1. Make the teacher break C4 completely (relaxed weights `1 + 0.5·cos(2πh/4)`): which irrep
   lights up, and what does `surviving_subgroup` return?
2. Perturb the steerable layer's `relaxed_weights` (one per kernel position, Eq. 7) and compare
   its error growth with the group convolution's.
3. Time a forward pass of `RelaxedRotGroupConv2d` against `nn.Conv2d` with the same expanded
   channels (see `benchmarks/`).

## References

- Paper Sec. 3.1 (Eq. 4-5), 3.2 (Eq. 6-8), 3.3 (regularisers); Weiler & Cesa 2019 (escnn).
- `aeqkit.nn` (`RelaxedRotGroupConv2d`, `RelaxedRotLiftConv2d`, `RelaxedRotSteerConv2d`,
  `irrep_spectrum`); next: notebook 03 (smoke plumes, Table 1).'''),
]

# --------------------------------------------------------------------------------------------
# 03 · smoke plumes
# --------------------------------------------------------------------------------------------
QUICK_LEVEL_DATA = {"resolution": 16, "steps": 30, "num_positions": 1}

NB03 = [
    *header(
        "03", "Smoke plumes: Table 1, Fig. 3 and Fig. 4",
        [
            "look at PhiFlow smoke plumes whose rotational symmetry is broken by per-inflow "
            "buoyancy (Sec. 5.1);",
            "train Conv, E2CNN, RGroup and RSteer and put their RMSE beside the paper's Table 1;",
            "compare rollouts at steps 1, 5, 10 (and 20 in the full profile) as in Fig. 3;",
            "see which models learn the data's amount of symmetry across breaking levels (Fig. 4).",
        ],
        ["notebooks 01-02", "paper Sec. 5.1-5.2, Table 1, Fig. 3 and 4",
         "`aeqkit.data.load_dataset`, `aeqkit.models.build`, `aeqkit.train`"],
    ),
    parameters('''\
PROFILE = "quick"
SEED = 0
EPOCHS = 30  # training epochs per model (quick; Table 1 and Fig. 4)'''),
    code(f'''\
seed_everything(SEED)
sizes = {{
    "quick": {{"hparams": dict(width=8, num_layers=2, kernel_size=3), "epochs": EPOCHS,
              "fig4_epochs": EPOCHS, "level_data": {QUICK_LEVEL_DATA!r},
              "train_windows": 32, "test_windows": 16}},
    "full": {{"hparams": {{}}, "epochs": 100, "fig4_epochs": 100, "level_data": {{}},
             "train_windows": None, "test_windows": None}},
}}[PROFILE]
print(PROFILE, sizes)'''),
    md('''\
## 1 · The data: an animated gallery

`load_dataset("smoke_rotation")` simulates (once, then caches in `data/`) smoke plumes with PhiFlow:
each inflow position is repeated in four orientations related by C4, with inflow and buoyancy
direction rotated, and a per-position buoyancy factor breaks the symmetry. Press ▶.'''),
    code('''\
from aeqkit.data import load_dataset

data = load_dataset("smoke_rotation", PROFILE, progress=False)
print(data)
viz.animation_gallery({f"sim {i}": data.fields[i] for i in range(4)}, max_frames=10, max_size=24,
                      title="Smoke velocity |v| — one inflow in four orientations").show()
record("smoke_rotation_data_ee", data.meta["data_equivariance_error"])'''),
    think("The four plumes look like rotated copies. Where do they differ, and what sets the size "
          "of the data equivariance error recorded above?"),
    md('''\
## 2 · Table 1 at this profile's scale

Each model is built with `aeqkit.models.build(name, symmetry=...)`, trained with the multi-step
loss (`aeqkit.train.fit`) and evaluated by autoregressive rollout on **future** (later times of the
training simulations) and **domain** (held-out simulations) test windows, for all three rows of
Table 1 (`DEFAULT_MODELS["table1"]`). The quick profile trains tiny models (width 8, two layers) for
`EPOCHS` epochs on 32 training windows of each 32x32 set and tests on 16 windows per split; with
the fixed `SEED` the numbers repeat exactly on a given machine. The paper's numbers (64x64, 20
steps, 3 seeds) are printed beside for the *ordering*, not the absolute values.'''),
    code('''\
from aeqkit import paper
from aeqkit.data import subsample
from aeqkit.models import build
from aeqkit.reproduce import DEFAULT_MODELS, PROFILES
from aeqkit.train import evaluate, fit

prof = PROFILES[PROFILE]  # the library's training settings for this profile (lr, decay, rollout)
trained, rows = {}, []
for symmetry, names in DEFAULT_MODELS["table1"].items():
    d = data if symmetry == "rotation" else load_dataset(f"smoke_{symmetry}", PROFILE, progress=False)
    steps, train = d.meta["eval_steps"], subsample(d.splits["train"], sizes["train_windows"])
    for name in names:
        seed_everything(SEED)
        model = build(name, symmetry=symmetry, input_size=tuple(d.fields.shape[-2:]), **sizes["hparams"])
        fit(model, train, d.splits["valid"], epochs=sizes["epochs"], lr=prof.lr, lr_decay=prof.lr_decay,
            rollout_steps=prof.rollout_steps, valid_steps=5, patience=None, progress=False, seed=SEED)
        row = {"symmetry": symmetry, "model": paper.DISPLAY_NAMES[name]}
        for split in ("future", "domain"):
            test = subsample(d.splits[f"test_{split}"], sizes["test_windows"])
            row[f"{split} RMSE"] = evaluate(model, test, steps=steps).rmse
            record(f"table1_{symmetry}_{name}_{split}_rmse", row[f"{split} RMSE"])
            ref = paper.paper_value("table1", symmetry, split, name)
            row[f"paper {split}"] = None if ref is None else f"{ref[0]:.2f} ± {ref[1]:.2f}"
        rows.append(row)
        trained[(symmetry, name)] = model
viz.metric_table_figure(rows, title=f"Table 1 ({PROFILE} profile, {steps}-step RMSE)").show()'''),
    think("Which model wins on the domain split here, and does the ordering match the paper's? "
          "What do a few epochs of training favour?"),
    md('''\
## 3 · Fig. 3: rollouts side by side

One held-out window, rolled out autoregressively by each model (velocity magnitude). Errors
accumulate with the horizon; a model with the wrong symmetry bias drifts in the wrong direction.'''),
    code('''\
from aeqkit.train import rollout

x, y = data.splits["test_domain"][len(data.splits["test_domain"]) // 2]
with torch.no_grad():
    preds = {paper.DISPLAY_NAMES[n]: rollout(m, x[None], y.shape[0])[0]
             for (s, n), m in trained.items() if s == "rotation"}
fig3 = viz.rollout_figure(y, preds, steps=(1, 5, 10, 20), title="Target and predictions (Fig. 3)")
fig3.show()
record("fig3_rsteer_rmse_last_step", fig3.layout.meta["rmse"]["RSteer"][-1])'''),
    md('''\
## 4 · Fig. 4: model equivariance error against data equivariance error

Ten data sets break C4 by increasing amounts (`load_dataset("smoke_levels", level=k)`). On each,
Conv, E2CNN and RSteer are trained; the model's C4 equivariance error (L1, Def. 2.1) is plotted
against the data's. The quick profile uses all ten levels on 16x16 grids (one inflow position in
four orientations, cut from one cached batch) and trains each model for `EPOCHS` epochs.'''),
    code('''\
from scipy.stats import spearmanr

from aeqkit.reproduce import equivariance_inputs, model_equivariance_error

fig4_models = {"Conv": "conv", "E2CNN": "equiv", "RSteer": "rsteer"}
data_ee, model_ee = [], {n: [] for n in fig4_models}
for level in range(10):
    d = load_dataset("smoke_levels", PROFILE, level=level, progress=False, **sizes["level_data"])
    data_ee.append(d.meta["data_equivariance_error"])
    for label, name in fig4_models.items():
        seed_everything(SEED)
        model = build(name, symmetry="rotation", **sizes["hparams"])
        fit(model, d.splits["train"], d.splits["valid"], epochs=sizes["fig4_epochs"], lr=prof.lr,
            lr_decay=prof.lr_decay, rollout_steps=2, patience=None, progress=False, seed=SEED)
        model_ee[label].append(model_equivariance_error(model, equivariance_inputs(d, limit=16)))
viz.model_vs_data_error(data_ee, model_ee, title="Fig. 4: model vs data equivariance error").show()
rho = spearmanr(data_ee, model_ee["RSteer"]).statistic
for label, errors in {"data": data_ee, **model_ee}.items():
    print(f"{label:>6}:", " ".join(f"{e:.3g}" for e in errors))
print(f"Spearman ρ(data, RSteer) = {rho:.2f}")
record("fig4_data_ee_level0", data_ee[0])
record("fig4_data_ee_level9_over_level1", data_ee[9] / data_ee[1])
record("fig4_e2cnn_ee_max", max(model_ee["E2CNN"]))
record("fig4_conv_ee_mean", sum(model_ee["Conv"]) / len(model_ee["Conv"]))
record("fig4_rsteer_ee_mean", sum(model_ee["RSteer"]) / len(model_ee["RSteer"]))
record("fig4_rsteer_spearman", rho)'''),
    try_it("Increase `EPOCHS` (or run `PROFILE = \"full\"` on a GPU): do RSteer's points move "
           "toward the diagonal, and does ρ rise, while E2CNN stays at zero?"),
    md('''\
## Summary

- aeqkit re-simulates the paper's smoke plumes on PhiFlow 3.4 with a symmetry-breaking knob, caches
  them and measures their data equivariance error (≈0 at level 0).
- Table 1 and Fig. 3 come from the same `build` / `fit` / `evaluate` calls at any scale; the quick
  profile shows the mechanics, the full profile (GPU) the paper's protocol.
- Fig. 4: a strictly equivariant model's error is pinned at zero whatever the data; relaxed models
  can follow the data's.

## Exercises

1. Add `lift`, `rpp` and `combo` to the rotation row (`aeqkit.reproduce.KNOWN_MODELS`).
2. Run `python -m aeqkit reproduce table1 --symmetry rotation --profile quick` and compare its
   numbers with yours: same code, more epochs.
3. Plot each model's per-step RMSE (`evaluate(...).per_step`) against the horizon.

## References

- Paper Sec. 5.1 (Table 1, Fig. 3), Sec. 5.2 (Fig. 4), App. A.1 (hyper-parameters).
- `aeqkit.data.smoke`, `aeqkit.reproduce`, `aeqkit.paper`; next: notebook 04 (jet flow).'''),
]

# --------------------------------------------------------------------------------------------
# 04 · jet flow
# --------------------------------------------------------------------------------------------
NB04 = [
    *header(
        "04", "Jet flow (SYNTHETIC stand-in): Table 2 and Fig. 5",
        [
            "know what the paper's jet data was and why aeqkit ships a **synthetic** stand-in;",
            "train models of each symmetry family on 62 x 23 PIV-like windows (a Table 2 analogue);",
            "read Fig. 5-style error maps: where in the window does each model err?",
            "point the notebook at real PIV files.",
        ],
        ["notebook 03", "paper Sec. 5.3, Table 2, Fig. 5",
         "`aeqkit.data.jet` (synthetic generator and PIV loader)"],
    ),
    parameters('''\
PROFILE = "quick"
SEED = 0
EPOCHS = 40  # training epochs per model (quick)
PIV_FILES = []  # paths of real PIV windows (.npz / .pt / .nc, (T, 2, H, W)); empty: synthetic'''),
    code('''\
seed_everything(SEED)
sizes = {
    "quick": {"models": {"translation": ["conv", "rgroup"], "rotation": ["equiv", "rsteer"]},
              "hparams": dict(width=8, num_layers=2, kernel_size=3), "epochs": EPOCHS,
              "train_windows": 32, "test_windows": 16},
    "full": {"models": {"translation": ["conv", "lift", "rgroup"],
                        "rotation": ["equiv", "lift", "rsteer"],
                        "scaling": ["equiv", "rpp", "rsteer"],
                        "combination": ["rsteer_tr", "rsteer_ts"]},
             "hparams": {}, "epochs": 100, "train_windows": None, "test_windows": None},
}[PROFILE]
print(PROFILE, sizes)'''),
    md('''\
## 1 · The data — SYNTHETIC

The paper used time-resolved PIV of NASA multi-stream jets (24 windows of 62 x 23 at 8 axial
stations); that data is not public. `load_dataset("jet")` simulates a stand-in with PhiFlow: a fast
stream entering quiescent fluid, shear layers rolling up, approximately mirror-symmetric about the
jet axis and broken by a co-flow on one side; it is sampled as 24 windows with measurement noise.
**Every number below is on synthetic data and is not the paper's.**'''),
    code('''\
from aeqkit.data import load_dataset, piv_dataset

data = piv_dataset(PIV_FILES) if PIV_FILES else load_dataset("jet", PROFILE, progress=False)
SYNTHETIC = bool(data.meta.get("synthetic", False))
tag = " [SYNTHETIC]" if SYNTHETIC else ""
print(data)
viz.animation_gallery({f"window {i}{tag}": data.fields[i] for i in (0, 1, 2)}, max_frames=10,
                      title=f"Jet windows at one axial station{tag}").show()
record("jet_synthetic", int(SYNTHETIC))'''),
    md('''\
## 2 · A Table 2 analogue

As in Table 2, models are grouped by the symmetry they assume. The quick profile trains two tiny
models per family (width 8, two layers) for `EPOCHS` epochs on 32 training windows, so with the
fixed `SEED` its numbers repeat exactly on a given machine; the full profile trains the paper's
eleven.'''),
    code('''\
from aeqkit import paper
from aeqkit.data import subsample
from aeqkit.models import build
from aeqkit.reproduce import PROFILES
from aeqkit.train import evaluate, fit, rollout

prof = PROFILES[PROFILE]  # the library's training settings for this profile (lr, decay, rollout)
steps, shape = data.meta["eval_steps"], tuple(data.fields.shape[-2:])
train = subsample(data.splits["train"], sizes["train_windows"])
trained, rows = {}, []
for symmetry, names in sizes["models"].items():
    for name in names:
        seed_everything(SEED)
        model = build(name, symmetry=None if symmetry == "combination" else symmetry,
                      input_size=shape, **sizes["hparams"])
        fit(model, train, data.splits["valid"], epochs=sizes["epochs"], lr=prof.lr, lr_decay=prof.lr_decay,
            rollout_steps=prof.rollout_steps, valid_steps=5, patience=None, progress=False, seed=SEED)
        row = {"symmetry": symmetry, "model": paper.DISPLAY_NAMES[name]}
        for split in ("future", "domain"):
            test = subsample(data.splits[f"test_{split}"], sizes["test_windows"])
            row[f"{split} RMSE{tag}"] = evaluate(model, test, steps=steps).rmse
            ref = paper.paper_value("table2", symmetry, split, name)
            row[f"paper {split}"] = None if ref is None else f"{ref[0]:.2f} ± {ref[1]:.2f}"
        rows.append(row)
        trained[paper.DISPLAY_NAMES[name]] = model
viz.metric_table_figure(rows, title=f"Table 2 analogue{tag} ({steps}-step RMSE)").show()
for row in rows:
    record(f"table2_{row['model'].lower()}_domain_rmse", row[f"domain RMSE{tag}"])'''),
    think("The paper's jet RMSEs are ~0.15-0.27 in its units. Why can't ours be compared with them "
          "directly, even in the full profile?"),
    md('''\
## 3 · Fig. 5: where do the models err?

The target's mean velocity norm over the rollout, and each model's mean absolute error map over
the same steps, for one held-out window.'''),
    code('''\
x, y = data.splits["test_domain"][0]
with torch.no_grad():
    preds = {name: rollout(m, x[None], y.shape[0])[0] for name, m in trained.items()}
fig5 = viz.error_map_figure(y, preds, title=f"Target |v| and prediction MAE (Fig. 5){tag}")
fig5.show()
mae = fig5.layout.meta["mae"]
record("fig5_best_over_worst_mae", min(mae.values()) / max(mae.values()))'''),
    md('''\
## 4 · Using real PIV files

Put each PIV window in its own file holding an array of shape `(T, 2, H, W)` — channels `(u, v)`,
row axis pointing **up** (streamwise here), all files the same shape:

- `.npz` with an array named `velocity` (or a single array),
- `.pt` / `.pth` with a tensor (or a dict with `"velocity"`),
- netCDF3 `.nc` with `velocity(time, component, y, x)` or `u`, `v` of `(time, y, x)`.

Then set `PIV_FILES = ["window_00.npz", ...]` in the parameters cell (or
`papermill -p PIV_FILES '[...]'`): the notebook uses `aeqkit.data.piv_dataset`, which validates every
file (rank, channels, NaN/inf) and splits the regions 80/20 into training and test-domain windows.
The cell below writes one synthetic window in that format and reads it back.'''),
    code('''\
import tempfile
from pathlib import Path

import numpy as np

from aeqkit.data import load_piv

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "window_00.npz"
    np.savez(path, velocity=data.fields[0].numpy())
    window = load_piv(path)
print(tuple(window.shape), "round trip exact:", bool(torch.equal(window, data.fields[0])))
record("piv_round_trip_exact", int(torch.equal(window, data.fields[0])))'''),
    md('''\
## Summary

- The jet experiment of Sec. 5.3 is reproduced here on a **synthetic** PhiFlow jet sampled like
  PIV (24 windows of 62 x 23), labelled as such throughout; real PIV drops in through `PIV_FILES`.
- Table 2 groups models by assumed symmetry; relaxed models can combine symmetries (RSteerTR,
  RSteerTS in the full profile).
- Fig. 5-style maps show *where* a model errs: shear layers and the jet's edges dominate.

## Exercises

1. Set the generator's `asymmetry=0.0` (`load_dataset("jet", PROFILE, asymmetry=0.0)`): how do
   the reflection-equivariant models fare now?
2. Add `rsteer_tr` (relaxed translation x relaxed rotation, Eq. 8) to the rotation row.
3. Compute each window's data reflection error with `aeqkit.equivariance` and relate it to its
   axial station.

## References

- Paper Sec. 5.3 (Table 2, Fig. 5, Fig. 6); Bridges & Wernet 2017 (the original PIV data).
- `aeqkit.data.jet` (`generate_jet`, `load_piv`, `piv_dataset`); previous: notebook 03.'''),
]

NOTEBOOKS: dict[str, dict] = {
    "00_approximate_equivariance": {"cells": NB00, "budget_s": {"quick": 120, "full": 600}},
    "01_heat_diffusion": {"cells": NB01, "budget_s": {"quick": 170, "full": 1800}},
    "02_inside_relaxed_layers": {"cells": NB02, "budget_s": {"quick": 150, "full": 900}},
    "03_smoke_plumes": {
        "cells": NB03, "budget_s": {"quick": 150, "full": 4 * 3600},
        "datasets": {
            "quick": [[f"smoke_{s}", {}] for s in ("translation", "rotation", "scaling")] + [
                ["smoke_levels", {"level": lv, **QUICK_LEVEL_DATA}] for lv in range(10)],
            "full": [[f"smoke_{s}", {}] for s in ("translation", "rotation", "scaling")]
            + [["smoke_levels", {"level": lv}] for lv in range(10)],
        },
    },
    "04_jet_flow": {
        "cells": NB04, "budget_s": {"quick": 120, "full": 4 * 3600},
        "datasets": {"quick": [["jet", {}]], "full": [["jet", {}]]},
    },
}


def build_notebook(name: str) -> dict:
    """The notebook ``name`` as an nbformat-4 dict (stable ids, no outputs)."""
    if name not in NOTEBOOKS:
        raise ValueError(f"expected a notebook name in {sorted(NOTEBOOKS)}, got {name!r}")
    spec = NOTEBOOKS[name]
    cells = []
    for i, cell in enumerate(spec["cells"]):
        c = dict(cell)
        c["id"] = f"{name[:2]}-{i:02d}"
        src = c["source"]
        lines = src.split("\n")
        c["source"] = [ln + "\n" for ln in lines[:-1]] + [lines[-1]]
        cells.append({k: c[k] for k in ("cell_type", "execution_count", "id", "metadata",
                                         "outputs", "source") if k in c})
    return {
        "cells": cells,
        "metadata": {
            "aeqkit": {"budget_s": spec["budget_s"], "datasets": spec.get("datasets", {}),
                       "generated_by": "tools/make_notebooks.py"},
            "kernelspec": KERNELSPEC,
            "language_info": LANGUAGE_INFO,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    stale = []
    for name in NOTEBOOKS:
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        path = OUT / f"{name}.ipynb"
        text = _dump(build_notebook(name))
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("notebooks differ from tools/make_notebooks.py: " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
