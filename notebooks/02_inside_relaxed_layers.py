# ---
# jupyter:
#   aeqkit:
#     budget_s:
#       full: 900
#       quick: 150
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
# # 02 · Inside relaxed layers
#
# *aeqkit notebook sequence — Wang, Walters & Yu, "Approximately Equivariant Networks for Imperfectly Symmetric Dynamics", ICML 2022.*

# %% [markdown]
# ## Learning goals
#
# - read the relaxed group convolution (Eq. 4-5): L kernels Ψ_l combined by relaxed weights w_l(h) that depend on the input group element h;
# - verify that relaxed layers are exactly equivariant at initialisation and measurably not once their relaxed weights differ;
# - see how L, the regulariser α (Sec. 3.3) and the group order N change what a layer learns from symmetry-broken data;
# - read the irrep spectrum of the relaxed weights to tell *which* symmetry broke.

# %% [markdown]
# ## Prerequisites
#
# - notebook 00 (group actions, equivariance error)
# - paper Sec. 3.1-3.3
# - regular representations: a C_N feature is N channels that a rotation rolls
#
# Run top to bottom on a fresh kernel. `PROFILE = "quick"` finishes in under three minutes on two CPU cores; `"full"` is the paper-scale profile meant for a GPU.

# %%
# Setup: imports, plotly renderer (interactive in JupyterLab, compact when headless), device, banner.
# Seeding happens in the cell after `parameters`, so a papermill-injected SEED takes effect.
import torch

from aeqkit import viz, widgets
from aeqkit.record import check_parameters, record
from aeqkit.utils import banner, default_device, seed_everything
from aeqkit.widgets import Choice, Control, interactive_view

widgets.setup_plotly()
device = default_device()
print(banner())

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
GRID = 16  # grid of the random test fields
FIT_STEPS = 60  # Adam steps of the slider view's student layer

# %%
check_parameters(PROFILE, SEED)  # PROFILE must be "quick" or "full"
seed_everything(SEED)
sizes = {"quick": {"grid": GRID, "fit_steps": FIT_STEPS},
         "full": {"grid": 32, "fit_steps": 300}}[PROFILE]
torch.set_default_dtype(torch.float64)  # exactness claims are checked in float64
print(PROFILE, sizes)

# %% [markdown]
# ## 1 · Anatomy of a relaxed group convolution
#
# A C_N group convolution shares one kernel Ψ over the group: output element `g` sees input element
# `h` through `Ψ(g⁻¹h)`, rotated by `g`. The relaxed version (Eq. 4) keeps `L` kernels and mixes them
# with weights `w_l(h)` that depend on `h`:
# `Ψ(g, h) = Σ_l w_l(h) Ψ_l(g⁻¹h)`. Equal `w_l(h)` over `h` give back the ordinary group convolution.

# %%
from aeqkit.groups import FieldType, get_group
from aeqkit.nn import RelaxedRotGroupConv2d, RelaxedRotLiftConv2d, RelaxedRotSteerConv2d

C4 = get_group("C4")
layer = RelaxedRotGroupConv2d(1, 1, kernel_size=5, group_order=4, num_filter_banks=3)
print(layer)
viz.kernel_figure(layer.weight[:, 0, 0], element_labels=[f"d={d}" for d in range(4)],
                  title="The L = 3 kernel banks Ψ_l(d), d = g⁻¹h").show()
viz.relaxed_weights_figure(layer.relaxed_weights, title="Relaxed weights at initialisation").show()

# %%
expanded = layer.expanded_weight().detach().reshape(4, 4, 5, 5)  # (g, h, k, k)
viz.kernel_figure(expanded, element_labels=[f"h={h}" for h in range(4)], max_banks=4,
                  title="Full kernel Ψ(g, h): rows g (output), columns h (input)").show()

# %% [markdown]
# > **Think.** Along each diagonal of the grid above (fixed `g⁻¹h`), the kernels are rotated copies of each other. Which property of the relaxed weights would break this pattern?

# %% [markdown]
# ## 2 · Exactly equivariant at initialisation
#
# With all relaxed weights equal, lifting (vector → regular), group convolution (regular → regular)
# and the relaxed steerable convolution of Eq. 7 (vector → vector, on escnn's kernel basis) are
# exactly C4-equivariant — to float64 round-off.

# %%
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
record("init_ee_max", max(init.values()))

# %% [markdown]
# ## 3 · Relaxing: perturb the relaxed weights
#
# Now move the relaxed weights away from equal by a random perturbation of growing amplitude: the
# equivariance error grows with it, and so does the Sec. 3.3 penalty `Σ_l Σ_{g,h} |w_l(h) − w_l(g)|`.

# %%
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
record("perturbed_ee_ratio_0p3_over_0p03", errors[4] / errors[2])

# %% [markdown]
# > **Think.** The error grows (almost) linearly with the amplitude. Why — on what does the layer's output depend linearly?

# %% [markdown]
# ## 4 · Sliders: L, α and the group order
#
# A *teacher* layer breaks C_N down to C_{N/2} (its relaxed weights alternate `1 ± 0.5`). A relaxed
# *student* — exactly equivariant at initialisation — is fitted to it with the loss
# `MSE + α · penalty`. Move **L** (filter banks), **α** (regulariser) and **N** (group order) and watch
# the student's relaxed weights, their irrep spectrum and its equivariance error.

# %%
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
record("student_fit_loss_alpha0", meta["loss"])

# %% [markdown]
# > **Try it.** Set α = 1: the student stays (nearly) equivariant and its fit loss rises — the prior wins over the data. With N = 8 the teacher keeps C4: why is the error under the 90° rotations then small even with α = 0?

# %% [markdown]
# ## 5 · Which symmetry broke? The irrep spectrum
#
# The relaxed weights are functions on C_N; their Fourier transform over the group splits them onto
# the irreps `k = 0 … N/2` (`aeqkit.nn.irrep_spectrum`). Energy only at `k = 0` means an equivariant
# layer. The teacher breaks C4 to C2, whose allowed irreps are `k = 0, 2`: the student's spectrum
# should light up at `k = 2` only.

# %%
spectrum = meta["spectrum"]
viz.irrep_spectrum_figure(spectrum, labels=[f"k={k}" for k in range(len(spectrum))],
                          allowed=["k=0", "k=2"],
                          title="Student (α = 0): relaxed weights on the irreps of C4").show()
regularised = viz.relaxed_layer_view(2, 1.0, 4, steps=sizes["fit_steps"], seed=SEED).layout.meta
print(f"surviving subgroup: C{meta['surviving_subgroup']}")
record("student_surviving_subgroup", meta["surviving_subgroup"])
record("student_dominant_irrep", meta["dominant_irrep"])
record("alpha1_over_alpha0_ee", regularised["equivariance_error"] / meta["equivariance_error"])

# %% [markdown]
# > **Think.** The surviving subgroup is C2. Which rotations does C2 contain, and which physical set-up would give relaxed weights with energy at `k = 1` instead?

# %% [markdown]
# ## Summary
#
# - A relaxed group convolution mixes L kernel banks with weights `w_l(h)`; equal weights make it an
#   ordinary, exactly equivariant group convolution (checked to ~1e-16 in float64).
# - Unequal relaxed weights break equivariance in proportion to their spread; the Sec. 3.3 penalty
#   (unsquared, α ≥ 0) pulls them back together.
# - Fitted to data that breaks C_N to a subgroup, the relaxed weights' irrep spectrum names the
#   surviving subgroup.
#
# ## Exercises
#
# 1. Make the teacher break C4 completely (relaxed weights `1 + 0.5·cos(2πh/4)`): which irrep
#    lights up, and what does `surviving_subgroup` return?
# 2. Perturb the steerable layer's `relaxed_weights` (one per kernel position, Eq. 7) and compare
#    its error growth with the group convolution's.
# 3. Time a forward pass of `RelaxedRotGroupConv2d` against `nn.Conv2d` with the same expanded
#    channels (see `benchmarks/`).
#
# ## References
#
# - Paper Sec. 3.1 (Eq. 4-5), 3.2 (Eq. 6-8), 3.3 (regularisers); Weiler & Cesa 2019 (escnn).
# - `aeqkit.nn` (`RelaxedRotGroupConv2d`, `RelaxedRotLiftConv2d`, `RelaxedRotSteerConv2d`,
#   `irrep_spectrum`); next: notebook 03 (smoke plumes, Table 1).
