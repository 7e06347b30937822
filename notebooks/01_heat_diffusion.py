# ---
# jupyter:
#   aeqkit:
#     budget_s:
#       full: 1800
#       quick: 170
#     datasets: {}
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: aeqkit,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Heat diffusion: a symmetry-breaking knob
#
# *aeqkit notebook sequence — Wang, Walters & Yu, "Approximately Equivariant Networks for Imperfectly Symmetric Dynamics", ICML 2022.*

# %% [markdown]
# ## Learning goals
#
# - reproduce the paper's Fig. 2: heat diffusing on a plate whose diffusion coefficient varies by a controllable amount β;
# - measure the *data* equivariance error and see it grow from round-off at β = 0;
# - train a ConvNet, a strictly equivariant E2CNN and a relaxed RSteer model quickly on the same data;
# - compare each model's equivariance error with the data's (the idea behind Fig. 4).

# %% [markdown]
# ## Prerequisites
#
# - notebook 00 (equivariance error)
# - paper Sec. 2.2 (Fig. 2) and Sec. 5.2
# - `aeqkit.train.fit` / `evaluate` (a forecaster maps 10 frames to the next)
#
# Run top to bottom on a fresh kernel. `PROFILE = "quick"` finishes in under three minutes on two CPU cores; `"full"` is the paper-scale profile meant for a GPU.
#
# **Time**: about 50 minutes in class (section times below), plus the exercises at the end.

# %%
# Setup: imports, plotly renderer (interactive in JupyterLab, compact when headless), device, banner.
# Seeding happens in the cell after `parameters`, so a papermill-injected SEED takes effect.
import torch

from aeqkit import viz, widgets
from aeqkit.record import check_parameters, record
from aeqkit.utils import banner, default_device, seed_everything
from aeqkit.widgets import Control, interactive_view

widgets.setup_plotly()
device = default_device()
print(banner())

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
GRID = 16  # plate resolution for training
STEPS = 30  # saved frames per simulation
NUM_SIMS = 6  # simulations per β (the last one is held out for testing)
BETAS = [0.0, 0.3, 0.6]  # symmetry-breaking strengths the models are trained on
FIT_SECONDS = None  # optional wall-clock cap per fit (None: fixed epochs, repeatable numbers)

# %%
check_parameters(PROFILE, SEED)  # PROFILE must be "quick" or "full"
seed_everything(SEED)
sizes = {
    "quick": {"grid": GRID, "steps": STEPS, "sims": NUM_SIMS, "betas": BETAS,
              "fit_seconds": FIT_SECONDS, "epochs": 15, "width": 8, "layers": 2},
    "full": {"grid": 64, "steps": 100, "sims": 16, "betas": [0.0, 0.2, 0.4, 0.6, 0.8],
             "fit_seconds": None, "epochs": 100, "width": 32, "layers": 5},
}[PROFILE]
print(PROFILE, sizes)

# %% [markdown]
# ## 1 · Fig. 2 with a knob (≈ 10 min)
#
# Heat diffuses by `∂T/∂t = ∇·(κ(x)∇T)` on a periodic plate with `κ(x) = κ₀(1 + β φ(x))`, where `φ` is
# a fixed, non-symmetric field (`aeqkit.data.heat`). With β = 0 the dynamics commute with 90°
# rotations exactly; the last column shows `|R⁻¹ f(R T₀) − f(T₀)|`, the rotated-then-simulated run
# mapped back and compared. Drag **β** and watch the readout: the data equivariance error.

# %%
view = interactive_view(viz.heat_view, readout="data_equivariance_error",
                        readout_label="data equivariance error", name="heat",
                        beta=Control(0.0, 0.9, 0.05, 0.3, label="β"))
record("heat_view_ee_default", view.readout)

# %% [markdown]
# > **Think.** Where in the plate does the difference map light up first? Compare with where κ(x) varies most (`viz.field_figure(heat.diffusivity(cfg))`).

# %% [markdown]
# ## 2 · Data equivariance error against β (≈ 10 min)
#
# The same measurement over the slider's range, for 90° rotations (C4) and for cyclic translations.
# Both vanish at β = 0 (to float64 round-off) and grow with β.

# %%
from aeqkit.data import heat

beta_grid = [0.0, 0.1, 0.2, 0.4, 0.6, 0.8]
rot_ee = heat.heat_equivariance_error(beta_grid, resolution=32, steps=20, group="C4")
shift_ee = heat.heat_equivariance_error(beta_grid, resolution=32, steps=20, group="translation")
viz.error_vs_strength(beta_grid, {"C4 rotations": rot_ee, "translations": shift_ee},
                      xlabel="β", ylabel="data equivariance error (L1)").show()
record("heat_data_ee_beta0", rot_ee[0])
record("heat_data_ee_beta04", rot_ee[3])
record("heat_data_ee_beta08_over_beta04", rot_ee[5] / rot_ee[3])

# %% [markdown]
# ## 3 · Three models on the same data (≈ 20 min)
#
# The forecasters of `aeqkit.models` take velocity-like *vector* fields, so we learn the heat
# **gradient** `∇T = (∂T/∂x, ∂T/∂y)`, a vector field that rotates with the plate. For each β we
# simulate a few plates, train Conv, E2CNN (strict C4) and RSteer (relaxed, Eq. 7) briefly, test on a
# held-out plate and measure each model's equivariance error. The data's own equivariance error is
# measured as in Sec. 5.2: simulate the same initial plate rotated by each `g ∈ C4`, rotate the runs
# back and compare (`aeqkit.equivariance.data_equivariance_error`).

# %%
from aeqkit.data import heat_gradient_trajectories, sliding_windows
from aeqkit.equivariance import data_equivariance_error
from aeqkit.groups import get_group


def simulate(beta, sims, seed, k=0):  # ∇T of `sims` plates (S, T, 2, H, W), initial plates turned by k·90°
    return heat_gradient_trajectories(beta, sims, seed, resolution=sizes["grid"], steps=sizes["steps"],
                                      quarter_turns=k)


# %%
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
          {n: f"RMSE {r['rmse'][-1]:.4f}, EE {r['model_ee'][-1]:.1e}" for n, r in results.items()})

# %%
rows = [{"model": n, **{f"RMSE β={b}": r["rmse"][i] for i, b in enumerate(sizes["betas"])}}
        for n, r in results.items()]
viz.metric_table_figure(rows, title="3-step test RMSE on a held-out plate").show()
for name, r in results.items():
    record(f"{name.lower()}_rmse_beta_max", r["rmse"][-1])
    record(f"{name.lower()}_model_ee_beta_max", r["model_ee"][-1])
record("data_ee_grad_beta0", data_ee[0])
record("data_ee_grad_beta_max", data_ee[-1])

# %% [markdown]
# ## 4 · Model equivariance error against data equivariance error (≈ 10 min)
#
# A model that learned the right amount of symmetry sits near the diagonal. E2CNN is pinned to zero
# by construction; the ConvNet has no symmetry bias at all; the relaxed model can follow the data.

# %%
viz.model_vs_data_error(data_ee, {n: r["model_ee"] for n, r in results.items()},
                        title="Model vs data equivariance error (heat gradient, C4, L1)").show()

# %% [markdown]
# > **Think.** After 15 short epochs, is the ConvNet's equivariance error at β = 0 zero? What would it take for it to learn the symmetry from data alone?

# %% [markdown]
# > **Try it.** Set `PROFILE = "full"` on a GPU (or raise the quick profile's `epochs`) and see whether RSteer's points move toward the diagonal.

# %% [markdown]
# ## Summary
#
# - `aeqkit.data.heat` gives a physical system with a symmetry-breaking knob β; at β = 0 its data
#   equivariance error is round-off, and it grows smoothly with β (Fig. 2).
# - A strictly equivariant model's error stays at zero whatever the data; an unconstrained model's is
#   whatever training leaves; a relaxed model can match the data's (Prop. 3.3, Fig. 4).
#
# ## Exercises
#
# 1. Break translation symmetry only: use a κ that is rotation-symmetric about the plate's centre
#    (hint: `heat.simulate_heat(..., kappa=...)`). Which errors vanish?
# 2. Train `rgroup` (relaxed group convolution) as a fourth model. Where does it sit?
# 3. Plot each model's RMSE against β: where does strict symmetry start to hurt?
#
# ## References
#
# - Paper Sec. 2.2 and Fig. 2; Sec. 5.2 and Fig. 4 (data vs model equivariance error); Prop. 3.3.
# - `aeqkit.data.heat`, `aeqkit.models.build`, `aeqkit.train.fit`; next: notebook 02.
