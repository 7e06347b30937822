# ---
# jupyter:
#   aeqkit:
#     budget_s:
#       full: 600
#       quick: 120
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
# # 00 · Approximate equivariance
#
# *aeqkit notebook sequence — Wang, Walters & Yu, "Approximately Equivariant Networks for Imperfectly Symmetric Dynamics", ICML 2022.*

# %% [markdown]
# ## Learning goals
#
# - apply rotations and reflections to scalar and vector fields with aeqkit's one convention (y up, counter-clockwise, components rotate with the grid);
# - measure the equivariance error of a function (Def. 2.1 / 3.1) per group element;
# - see Prop. 3.2 at work: an exactly equivariant model cannot fit an approximately equivariant function better than half its equivariance error;
# - move a symmetry-breaking knob and watch the error follow it.

# %% [markdown]
# ## Prerequisites
#
# - Python and PyTorch tensors
# - what a group is (C4: rotations by multiples of 90°)
# - paper Sec. 2.2 and 3.5
#
# Run top to bottom on a fresh kernel. `PROFILE = "quick"` finishes in under three minutes on two CPU cores; `"full"` is the paper-scale profile meant for a GPU.
#
# **Time**: about 50 minutes in class (section times below), plus the exercises at the end.

# %%
# Setup: imports, plotly display, device and version banner.
# The random seed is set in the cell after the parameters, so a SEED changed there takes effect.
import torch

from aeqkit import explore, viz, widgets
from aeqkit.record import check_parameters, record
from aeqkit.utils import banner, default_device, seed_everything
from aeqkit.widgets import Control, interactive_view

widgets.setup_plotly()
device = default_device()
print(banner())

# %% tags=["parameters"]
PROFILE = "quick"  # "quick" (CPU, minutes) or "full" (paper scale)
SEED = 0
GRID = 32  # grid size of the example fields
N_SAMPLES = 8  # random fields used to estimate the equivariance error

# %%
check_parameters(PROFILE, SEED)  # PROFILE must be "quick" or "full"
seed_everything(SEED)
sizes = {"quick": {"grid": GRID, "samples": N_SAMPLES},
         "full": {"grid": 64, "samples": 64}}[PROFILE]
print(PROFILE, sizes)

# %% [markdown]
# ## 1 · Group actions on fields (≈ 15 min)
#
# A field is a tensor `(..., C, H, W)` whose row axis points **up** (row 0 at the bottom) and whose
# column axis points right — PhiFlow's layout. A group element `g` acts by moving the grid *and*
# mixing the channels: `(g·f)(p) = ρ(g) f(g⁻¹p)`. Scalars (temperature, smoke density) only move;
# a velocity `(u, v)` also turns: a 90° rotation maps `(u, v)` to `(-v, u)`.

# %%
from aeqkit.groups import get_group

C4, D4 = get_group("C4"), get_group("D4")
yy, xx = torch.meshgrid(torch.linspace(-1, 1, sizes["grid"]), torch.linspace(-1, 1, sizes["grid"]),
                        indexing="ij")
bump = torch.exp(-((xx - 0.4) ** 2 + (yy - 0.1) ** 2) / 0.05)[None]  # scalar (1, H, W), right of centre
flow = torch.stack([0.6 + 0 * xx, -xx]) * torch.exp(-(xx**2 + yy**2))  # velocity (2, H, W): u > 0
rotated = [C4.act(g, bump, "scalar") for g in C4.elements()]
viz.fields_grid(rotated, titles=[C4.label(g) for g in C4.elements()],
                title="A scalar bump rotated by C4 (counter-clockwise, y up)").show()

# %%
vectors = [C4.act(g, flow, "vector") for g in C4.elements()]
viz.fields_grid(vectors, titles=[C4.label(g) for g in C4.elements()], kind="quiver",
                title="A velocity field rotated by C4: the arrows turn with the grid").show()
# group law check: acting with g then h equals acting with h∘g, for every pair (float64)
x64 = flow.double()
law = max(float((D4.act(h, D4.act(g, x64)) - D4.act(D4.compose(h, g), x64)).abs().max())
          for g in D4.elements() for h in D4.elements())
record("group_law_error_d4", law)

# %% [markdown]
# > **Think.** Rotate a vector field's *grid* but not its components. Is the result the same physical flow seen from a rotated frame? What would a network trained on such data learn?

# %% [markdown] tags=["solution"]
# **Answer.** No. Seen from a rotated frame, every arrow turns with the frame; moving the arrows to
# their new places without turning them gives a different flow (a uniform stream along +x placed on a
# rotated grid still points along +x). A network trained on such pairs learns a "symmetry" that the
# physics does not have: treating `u` and `v` as two unrelated scalars, it would be penalised for the
# correct behaviour, and its equivariance error under the true action would look like broken symmetry.

# %% [markdown]
# > **Try it.** Replace `C4` by `get_group("D4")` in the first cell and find the element that flips `u` but not `v`.

# %% [markdown]
# ## 2 · Equivariance error (Def. 2.1 and 3.1) (≈ 10 min)
#
# `f` is ε-approximately equivariant when `‖f(ρ_X(g)x) − ρ_Y(g)f(x)‖ ≤ ε` for every `g` and `x`;
# the equivariance error `‖f‖_EE` is the sup of the left side. `aeqkit.equivariance.equivariance_error`
# reports it per group element (L1 = mean absolute difference, as in the paper's Fig. 4).
#
# The toy below is `f(x) = blur(x) + s · ramp ⊙ x`: an isotropic blur (exactly C4-equivariant) plus
# `s` times a term that singles out the +x direction.

# %%
from aeqkit.equivariance import equivariance_error

samples = torch.randn(sizes["samples"], 1, 16, 16, dtype=torch.float64)
reports = {s: equivariance_error(explore.toy_breaking_function(s), samples, C4,
                                 in_type="scalar", out_type="scalar") for s in (0.0, 0.3, 1.0)}
for s, rep in reports.items():
    print(f"strength {s}:", rep)
record("toy_ee_strength0", reports[0.0].sup)
record("toy_ee_strength1", reports[1.0].sup)
viz.equivariance_error_bars({e.label: e.sup for e in reports[0.3].per_element},
                            title="Equivariance error per element, strength 0.3").show()

# %% [markdown]
# > **Think.** Why is the error for the identity element always zero, and why is it largest for 180°?

# %% [markdown] tags=["solution"]
# **Answer.** For the identity `f(e·x) − e·f(x) = f(x) − f(x) = 0`. Only the ramp term breaks the
# symmetry: `f(gx) − g f(x) = s · (ramp − g·ramp) ⊙ gx`. The ramp runs from −1 to 1 along x, so a 180°
# turn maps it to `−ramp` and the difference is `2·ramp` (mean size about 1), while a 90° turn maps it
# to a ramp along y and the difference `ramp_x − ramp_y` is smaller on average (about 2/3).

# %% [markdown]
# ## 3 · Prop. 3.2: the price of strict equivariance (≈ 15 min)
#
# If `f` has equivariance error ε and `f_θ` is exactly equivariant, then somewhere
# `‖f(x₀) − f_θ(x₀)‖ ≥ ε/2` (for norm-preserving actions: rotating a grid permutes its pixels).
# Proof idea: `f(gx) − g f(x) = [f(gx) − f_θ(gx)] + g[f_θ(x) − f(x)]`, so one of the two terms is at
# least ε/2. We try two exactly equivariant approximators of the toy: the identity map, and the
# *group average* `f̄(x) = ¼ Σ_g g⁻¹ f(g x)` (here the rotated ramps cancel, so `f̄` is the blur).

# %%
strength = 1.0
f = explore.toy_breaking_function(strength)


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
    record(f"prop32_ratio_{name.replace(' ', '_')}", worst / (eps / 2))

# %% [markdown]
# > **Think.** The ratio printed is at least 1 for *every* equivariant approximator, and the group average reaches exactly 1 here. Look at the 180° element: why is the bound tight?

# %% [markdown] tags=["solution"]
# **Answer.** The group average is the blur, so `f − f̄ = s · ramp ⊙ x`. Under 180° the ramp is odd
# (`g·ramp = −ramp`), so the two terms of the proof, `f(gx) − f̄(gx)` and `g[f̄(x) − f(x)]`, are equal
# and point the same way: each is exactly half of `f(gx) − g f(x)`. No equivariant map can split the
# error more evenly, so the worst fit error equals ε/2.

# %% [markdown]
# ## 4 · A knob for symmetry breaking (≈ 10 min)
#
# The slider sets the breaking strength `s`; the left panel shows the error per group element, the
# right the sup error against `s`. Drag it in JupyterLab (a static page, such as the course site, shows the
# default view). Each position runs one computation, `explore.breaking_strength_sweep(s)` (a result
# object with the errors), and one drawing, `viz.breaking_strength_figure(result)`: call them yourself
# with your own family of functions (`breaking_function=`, see exercise 1).

# %%
view = interactive_view(compute=explore.breaking_strength_sweep, draw=viz.breaking_strength_figure,
                        readout="equivariance_error", readout_label="equivariance error",
                        name="breaking_strength_view",
                        strength=Control(0.0, 1.0, 0.05, 0.5, label="strength"))
record("slider_default_ee", view.readout)

# %% [markdown]
# > **Try it.** Set the slider to 0 — is the error exactly zero or just tiny? Which dtype are the samples in, and what would float32 give?

# %% [markdown]
# ## 5 · Uniform motion: a symmetry that acts in time (≈ 10 min)
#
# Navier-Stokes and viscous Burgers flows are Galilean invariant: if `w(p, t)` solves them, so does
# the boosted flow `w(p - c t, t) + c` (a uniform motion `c`). The boost depends on **time**: the frame
# at time `t` moves by `c·t`. A flow map `f` from time 0 to time `τ` is therefore equivariant when
# `f(B_c(0) w) = B_c(τ) f(w)`: the input and the output are boosted at *their own* times. Below,
# `aeqkit.data.burgers` steps a periodic viscous Burgers flow (solved so that the symmetry holds to
# rounding) and `equivariance_error` boosts input and output at their times.

# %%
from aeqkit.data.burgers import burgers_initial_condition, simulate_burgers
from aeqkit.equivariance import equivariance_error
from aeqkit.groups import UniformMotionGroup

steps, dt = 20, 0.05  # flow map over τ = steps · dt = 1 time unit
u0 = burgers_initial_condition(sizes["grid"], num=2, seed=SEED).double()


def burgers_flow(u):
    return simulate_burgers(u, steps, nu=0.5, dt=dt)[:, -1]


boosts = UniformMotionGroup(dt=steps * dt, velocities=[(0.0, 0.0), (0.7, -1.3), (2.0, 0.5)])
galilean = equivariance_error(burgers_flow, u0, boosts, norm="linf")
same_time = equivariance_error(burgers_flow, u0, boosts, norm="linf", in_times=1.0, out_times=1.0)
print(galilean)
print(f"boosting input and output by the same c·t instead: sup error {same_time.sup:.3f} "
      f"(field max {float(burgers_flow(u0).abs().max()):.2f})")
record("galilean_flow_map_error", galilean.sup)
record("galilean_same_time_error", same_time.sup)
c = (0.7, -1.3)
viz.fields_grid([burgers_flow(u0)[0], burgers_flow(boosts.act(c, u0, times=0.0))[0],
                 boosts.act(c, burgers_flow(u0), times=steps * dt)[0]],
                titles=["f(w)", "f(boosted w)", "f(w) boosted at time τ"], kind="quiver",
                title="A Galilean boost commutes with the Burgers flow map").show()

# %% [markdown]
# > **Think.** The middle and right panels agree to about 1e-15. Why does the boost add `c` to every
# > velocity but move the pattern by `c·τ` only at the output? What does a forecaster that sees ten
# > input frames need (`UniformMotionGroup` uses one time per frame)?

# %% [markdown]
# ## Summary
#
# - Group elements act on fields by moving the grid **and** transforming the channels; for velocity
#   the components rotate with the grid (DESIGN.md's one convention).
# - The equivariance error (Def. 3.1) measures how far a function is from commuting with the group;
#   `aeqkit.equivariance` reports it per element, sup and mean.
# - Prop. 3.2: a strictly equivariant model must err by at least half the target's equivariance
#   error — the motivation for *approximately* equivariant networks (notebooks 01-04).
# - Some symmetries act in time: a Galilean boost moves the frame at time `t` by `c·t`, so input and
#   output of a flow map are boosted at their own times.
#
# ## Exercises
#
# 1. Replace the ramp by a radially symmetric field. What happens to the error, and why?
# 2. Use `get_group("SO2")` and elements at 45°: which pixels are lost, and how does
#    `equivariance_error` handle them (`valid_fraction`)?
# 3. Prove Prop. 3.3 numerically: fit `f_θ = blur + t · ramp ⊙ x` for several `t` and compare
#    `|‖f‖_EE − ‖f_θ‖_EE|` with `2c + ε`.
#
# <details><summary>Hints</summary>
#
# 1. Only the ramp term breaks the symmetry: `f(gx) − g f(x) = s · (ramp − g·ramp) ⊙ gx`. What is
#    `ramp − g·ramp` for a field that depends only on the distance to the grid's centre? Write
#    `my_family(s)` returning your `f` and draw
#    `viz.breaking_strength_figure(explore.breaking_strength_sweep(0.5, breaking_function=my_family))`.
# 2. Each entry of `report.per_element` has a `valid_fraction` and an `action` (exact or interpolated);
#    compare them for 45° and 90°, and look at which pixels of a rotated square leave the grid.
# 3. Measure `c` as the largest fit error `(f(orbit) − f_θ(orbit)).abs().mean(dim=(-3, -2, -1)).max()`
#    (as in section 3) and `‖f_θ‖_EE` with `equivariance_error(f_θ, samples, C4, ...)`.
# </details>
#
# ## References
#
# - Paper Sec. 2.2 (Def. 2.1), Sec. 3.5 (Def. 3.1, Prop. 3.2, 3.3), Appendix A.3 (proofs).
# - `aeqkit.groups`, `aeqkit.equivariance`, `aeqkit.explore` (the slider's computation); next: notebook 01 (heat diffusion, Fig. 2).
