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
#
# **Time**: about 75 minutes in class (section times below), plus the exercises at the end.

# %%
# Setup: imports, plotly display, device and version banner.
# The random seed is set in the cell after the parameters, so a SEED changed there takes effect.
import torch

from aeqkit import explore, viz, widgets
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
# ## 1 · Anatomy of a relaxed group convolution (≈ 15 min)
#
# A C_N group convolution shares one kernel Ψ over the group: output element `g` sees input element
# `h` through `Ψ(g⁻¹h)`, rotated by `g`. The relaxed version (Eq. 4) keeps `L` kernels and mixes them
# with weights `w_l(h)` that depend on `h`:
# `Ψ(g, h) = Σ_l w_l(h) Ψ_l(g⁻¹h)`. Equal `w_l(h)` over `h` give back the ordinary group convolution.

# %%
# The picture of Eq. 4-5: kernel banks (rows) × group elements h (columns), one weight w_l(h) each.
from aeqkit import diagrams

diagrams.relaxed_group_conv_diagram(num_filter_banks=3, group_order=4).show()

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
                  row_labels=[f"g={g}" for g in range(4)],
                  title="Full kernel Ψ(g, h): rows g (output), columns h (input)").show()

# %% [markdown]
# > **Think.** Along each diagonal of the grid above (fixed `g⁻¹h`), the kernels are rotated copies of each other. Which property of the relaxed weights would break this pattern?

# %% [markdown] tags=["solution"]
# **Answer.** Relaxed weights that differ between input elements `h`. On a diagonal `d = g⁻¹h` is fixed
# and only `h` changes, so the cell `(g, h)` is the rotation by `g` of `Σ_l w_l(h) Ψ_l(d)`: with equal
# `w_l(h)` the unrotated kernel is the same along the diagonal, with unequal ones every `h` mixes the
# banks differently and the cells stop being rotated copies.

# %% [markdown]
# ## 2 · Exactly equivariant at initialisation (≈ 5 min)
#
# With all relaxed weights equal, lifting (vector → regular), group convolution (regular → regular)
# and the relaxed steerable convolution of Eq. 7 (vector → vector, on escnn's kernel basis) are
# exactly C4-equivariant — to float64 round-off.

# %%
# The picture of Eq. 7: basis kernels Φ_l(y) times position weights w_l(y), summed into Φ(y).
# With constant weights (breaking=0) Φ is rotation-symmetric; try it.
diagrams.relaxed_steerable_diagram(num_basis=3, kernel_size=5, breaking=0.5).show()

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
# ## 2b · Write it yourself: the relaxed kernel of Eq. 4 (≈ 15 min)
#
# Build the full kernel of a relaxed C4 group convolution with one input and one output channel from
# its banks `psi` (shape `(L, N, k, k)`: `psi[l, d]` is `Ψ_l(d)`) and relaxed weights `w` (shape `(L, N)`:
# `w[l, h]` is `w_l(h)`):
#
# `K[g, h] = rot_g( Σ_l w_l(h) Ψ_l(g⁻¹h) )`, with `g⁻¹h = (h − g) mod N` in C_N and `rot_g` the
# counter-clockwise rotation of the kernel by `g` quarter turns (`torch.rot90(·, g, dims=(-1, -2))`,
# aeqkit's convention, DESIGN.md).
#
# `K` has shape `(N, N, k, k)`: rows `g` (output element), columns `h` (input element), so
# `F.conv2d(x, K)` is the layer applied to a regular feature `x` of shape `(B, N, H, W)`.
#
# <details><summary>Hint</summary>
#
# Two loops over `g` and `h` are fine here (the library does it with one `einsum` and a gather). For
# one cell, take the L banks at offset `d = (h - g) % N`, weight bank `l` by `w[l, h]` and sum over `l`
# (broadcast `w[:, h]` to shape `(L, 1, 1)`); then rotate the `(k, k)` result by `g`.
# </details>

# %%
def relaxed_kernel(psi: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Eq. 4: psi (L, N, k, k), w (L, N) -> K (N, N, k, k) with K[g, h] = rot_g(sum_l w_l(h) psi_l(h - g))."""
    L, N, k, _ = psi.shape
    K = torch.zeros(N, N, k, k, dtype=psi.dtype)
    # BEGIN SOLUTION
    for g in range(N):
        for h in range(N):
            comb = (w[:, h, None, None] * psi[:, (h - g) % N]).sum(0)
            K[g, h] = torch.rot90(comb, g, dims=(-1, -2))
    # END SOLUTION
    return K


# %% [markdown]
# **Self-check.** Your kernel must equal the library's `expanded_weight()` for random relaxed weights,
# be exactly C4-equivariant when all relaxed weights are equal, and measurably not otherwise.

# %%
import torch.nn.functional as F

with torch.random.fork_rng():  # leaves the notebook's random stream as it was
    torch.manual_seed(1)
    check = RelaxedRotGroupConv2d(1, 1, kernel_size=5, group_order=4, num_filter_banks=3)
    with torch.no_grad():
        check.relaxed_weights.copy_(torch.rand(3, 4) + 0.5)
    x_check = torch.randn(2, 4, sizes["grid"], sizes["grid"])
psi, w = check.weight[:, 0, 0].detach(), check.relaxed_weights.detach()
K = relaxed_kernel(psi, w)
assert K.shape == (4, 4, 5, 5), f"K should have shape (N, N, k, k) = (4, 4, 5, 5), got {tuple(K.shape)}"
diff = (K - check.expanded_weight().detach()).abs().max().item()
assert diff < 1e-12, f"K differs from the library's expanded kernel by {diff:.2e}: check g⁻¹h and rot_g"
regular = FieldType.regular(1, 4)
ee_equal = equivariance_error(lambda x: F.conv2d(x, relaxed_kernel(psi, torch.ones_like(w)), padding=2),
                              x_check, C4, regular, regular).sup
ee_relaxed = equivariance_error(lambda x: F.conv2d(x, K, padding=2), x_check, C4, regular, regular).sup
assert ee_equal < 1e-12, f"equal relaxed weights should give an equivariant layer, error {ee_equal:.2e}"
assert ee_relaxed > 1e-3, f"unequal relaxed weights should break equivariance, error {ee_relaxed:.2e}"
print(f"✓ self-check passed: |K − library| = {diff:.1e}, equivariance error {ee_equal:.1e} (equal w) "
      f"vs {ee_relaxed:.3f} (relaxed w)")

# %% [markdown]
# ## 3 · Relaxing: perturb the relaxed weights (≈ 10 min)
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

# %% [markdown] tags=["solution"]
# **Answer.** The output is linear in the kernel, and the kernel (Eq. 4) is linear in the relaxed
# weights. With `w = 1 + a·n` the layer is `f₀ + a·f_n`, where `f₀` (equal weights) is exactly
# equivariant, so `f(ρ_in(g)x) − ρ_out(g)f(x) = a·(f_n(ρ_in(g)x) − ρ_out(g)f_n(x))`: the error is `a`
# times a fixed number, linear up to round-off.

# %% [markdown]
# ## 4 · Sliders: L, α and the group order (≈ 15 min)
#
# A *teacher* layer breaks C_N down to C_{N/2} (its relaxed weights alternate `1 ± 0.5`). A relaxed
# *student* — exactly equivariant at initialisation — is fitted to it with the loss
# `MSE + α · penalty`. Move **L** (filter banks), **α** (regulariser) and **N** (group order) and watch
# the student's relaxed weights, their irrep spectrum and its equivariance error.
#
# Each slider position makes one computation and one drawing:
# `run = explore.train_relaxed_layer(group_order=N, num_filter_banks=L, alpha=α)` builds the group
# `CyclicGroup(N)`, the teacher and the student from it (`aeqkit.nn.RelaxedGroupConv2d(group=...)`,
# whose kernels are rotated by the group's own kernel action) and fits; it returns a result object
# (`run.relaxed_weights`, `run.spectrum`, `run.equivariance_error`, ...) that
# `viz.relaxed_layer_figure(run)` draws. Pass your own teacher pattern as the first argument.

# %%
view = interactive_view(
    compute=explore.train_relaxed_layer, draw=viz.relaxed_layer_figure,
    readout="equivariance_error", readout_label="equivariance error",
    name="relaxed-layer", fixed={"steps": sizes["fit_steps"], "seed": SEED},
    num_filter_banks=Control(1, 4, 1, 2, label="L"),
    alpha=Control(0.0, 1.0, 0.05, 0.0, label="α"),
    group_order=Choice([2, 4, 6, 8], value=4, label="N"),
)
run = view.result  # the student at the sliders' default values (L = 2, α = 0, N = 4)
print(run.group, "teacher pattern", run.pattern.tolist())
record("student_ee_alpha0", run.equivariance_error)
record("student_init_ee", run.init_equivariance_error)
record("student_fit_loss_alpha0", run.loss)

# %% [markdown]
# > **Try it.** Set α = 1: the student stays (nearly) equivariant and its fit loss rises — the prior wins over the data. With N = 8 the teacher keeps C4: why is the error under the 90° rotations then small even with α = 0?

# %% [markdown]
# ## 5 · Which symmetry broke? The irrep spectrum (≈ 10 min)
#
# The relaxed weights are functions on C_N; their Fourier transform over the group splits them onto
# the irreps `k = 0 … N/2` (`aeqkit.nn.irrep_spectrum`). Energy only at `k = 0` means an equivariant
# layer. The teacher breaks C4 to C2, whose allowed irreps are `k = 0, 2`: the student's spectrum
# should light up at `k = 2` only.

# %%
viz.irrep_spectrum_figure(run.spectrum, labels=run.spectrum_labels, allowed=["k=0", "k=2"],
                          title="Student (α = 0): relaxed weights on the irreps of C4").show()
regularised = explore.train_relaxed_layer(group_order=4, num_filter_banks=2, alpha=1.0,
                                          steps=sizes["fit_steps"], seed=SEED)
print(f"surviving subgroup: C{run.surviving_subgroup}")
record("student_surviving_subgroup", run.surviving_subgroup)
record("student_dominant_irrep", run.dominant_irrep)
record("alpha1_over_alpha0_ee", regularised.equivariance_error / run.equivariance_error)

# %% [markdown]
# > **Think.** The surviving subgroup is C2. Which rotations does C2 contain, and which physical set-up would give relaxed weights with energy at `k = 1` instead?

# %% [markdown] tags=["solution"]
# **Answer.** C2 = {0°, 180°}. Energy at `k = 2` means weights that repeat after 180°: a preferred
# *axis* without a preferred direction (e.g. diffusion that is faster along x than along y). Energy at
# `k = 1` means weights that repeat only after 360°, i.e. a preferred *direction* such as gravity, a
# constant wind or an inflow boundary: no rotation but the identity survives (C1).

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
# <details><summary>Hints</summary>
#
# 1. `aeqkit.nn.irrep_spectrum` of the weights `1 + 0.5·cos(2πh/4)` over h = 0 … 3: a cosine with one
#    period over the group puts its energy on one irrep besides k = 0. Which rotations leave it unchanged?
#    To fit a student to such a teacher, pass the pattern:
#    `run = explore.train_relaxed_layer(pattern, steps=sizes["fit_steps"])`, then
#    `viz.relaxed_layer_figure(run).show()` and `run.surviving_subgroup`.
# 2. Copy the loop of section 3 with `steer` instead of `layer`, vector fields in and out
#    (`FieldType.vectors`), and `x_vec` as input; print `steer.relaxed_weights.shape` first.
# 3. Warm up both layers with a few passes, then time 20 forward passes each with `time.perf_counter`
#    (or `torch.utils.benchmark.Timer`); the plain conv is `nn.Conv2d(4 * C_in, 4 * C_out, k)`.
# </details>
#
# ## References
#
# - Paper Sec. 3.1 (Eq. 4-5), 3.2 (Eq. 6-8), 3.3 (regularisers); Weiler & Cesa 2019 (escnn).
# - `aeqkit.nn` (`RelaxedRotGroupConv2d`, `RelaxedRotLiftConv2d`, `RelaxedRotSteerConv2d`,
#   `irrep_spectrum`), `aeqkit.explore.train_relaxed_layer` (the sliders' computation); next: notebook 03 (smoke plumes, Table 1).
