"""The computations behind the interactive views of notebooks 00-02.

Each function takes plain parameters (a slider's values) and, where it makes sense, a student's own
pattern, function or initial condition, and returns a small frozen dataclass of results;
:mod:`aeqkit.viz` draws those results and :mod:`aeqkit.widgets` puts sliders on
``compute -> draw``. Nothing here draws.

- :func:`toy_breaking_function` / :func:`breaking_strength_sweep`: a C4-equivariant map plus ``s``
  times a term that singles out +x, and its equivariance error against ``s`` (notebook 00, Def. 2.1
  and 3.1).
- :func:`heat_rotation_run`: heat diffusion with uniform κ and with κ varied by β, and the flow
  map's rotation error ``|R⁻¹ f(R T₀) − f(T₀)|`` (notebook 01, Fig. 2).
- :func:`train_relaxed_layer`: a relaxed group convolution (Eq. 4-5; C_N or D_N) fitted to a teacher whose
  relaxed weights follow a pattern over the group, with the Sec. 3.3 penalty; its relaxed weights,
  irrep spectrum and equivariance error (notebook 02).
- :func:`ring_rotation_sample`: the ring toy at a breaking strength, randomly rotated copies of
  its points, and how well a classifier tells them apart (notebook 05).

See also: :mod:`aeqkit.viz.views` (the figures of these results).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aeqkit.data import heat
from aeqkit.discovery.data import make_ring
from aeqkit.discovery.generator import LieGenerator, so2_generator
from aeqkit.discovery.metrics import distinguishability
from aeqkit.equivariance import EquivarianceReport, equivariance_error
from aeqkit.groups import CyclicGroup, FieldType, FiniteGroup, Group, as_finite_group, get_group
from aeqkit.nn import RelaxedGroupConv2d, irrep_spectrum, surviving_subgroup
from aeqkit.nn._common import check_positive_int
from aeqkit.nn.spectrum import Subgroup

__all__ = [
    "toy_breaking_function",
    "BreakingStrengthSweep",
    "breaking_strength_sweep",
    "HeatRotationRun",
    "heat_rotation_run",
    "alternating_pattern",
    "RelaxedLayerRun",
    "train_relaxed_layer",
    "RingRotationSample",
    "ring_rotation_sample",
]


def _per_element(report: EquivarianceReport) -> dict[str, float]:
    """``{element label: sup error}`` of an :class:`~aeqkit.equivariance.EquivarianceReport`."""
    return {str(e.label): float(e.sup) for e in report.per_element}


def _check_nonnegative(value: float, name: str) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"expected {name} >= 0 (a finite number), got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- notebook 00


def toy_breaking_function(strength: float, *, size: int = 16) -> Callable[[torch.Tensor], torch.Tensor]:
    """A toy map on scalar fields that is C4-equivariant plus ``strength`` times a part that is not.

    ``f(x) = blur(x) + strength * (ramp ⊙ x)`` where ``blur`` is an isotropic 3x3 average
    (commutes with 90° rotations) and ``ramp`` is a fixed field increasing along +x, which
    singles out a direction (paper Def. 2.1: ``f`` is ε-approximately equivariant with ε
    proportional to ``strength``).

    Args:
        strength: symmetry-breaking strength (>= 0).
        size: grid size of the ramp (inputs must be ``size x size``).

    Shape:
        input: ``(..., 1, size, size)`` -> output ``(..., 1, size, size)``.
    """
    if strength < 0:
        raise ValueError(f"expected strength >= 0, got {strength}")
    ramp = torch.linspace(-1.0, 1.0, size, dtype=torch.float64).expand(size, size)

    def f(x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-3]
        flat = x.reshape(-1, 1, x.shape[-2], x.shape[-1])
        kernel = torch.full((1, 1, 3, 3), 1.0 / 9.0, dtype=flat.dtype)
        blurred = F.conv2d(F.pad(flat, (1, 1, 1, 1), mode="circular"), kernel)
        out = blurred + strength * ramp.to(flat.dtype) * flat
        return out.reshape(*lead, 1, x.shape[-2], x.shape[-1])

    return f


@dataclass(frozen=True)
class BreakingStrengthSweep:
    """The equivariance error of a family ``f_s`` at one strength ``s`` and along a grid of strengths.

    Attributes:
        strength: the strength ``s`` of interest (the slider's value).
        equivariance_error: sup over elements and samples of the error of ``f_s`` (Def. 3.1).
        per_element: ``{element label: sup error}`` at ``strength``.
        strengths: the grid of strengths ``(S,)`` (from 0 to ``max(max_strength, strength)``).
        curve: sup error at each grid strength ``(S,)``.
        group: name of the group.
        norm: norm of the error (``"l1"``: mean absolute difference per sample).
    """

    strength: float
    equivariance_error: float
    per_element: dict[str, float]
    strengths: list[float]
    curve: list[float]
    group: str
    norm: str = "l1"


def breaking_strength_sweep(
    strength: float = 0.5,
    *,
    breaking_function: Callable[[float], Callable[[torch.Tensor], torch.Tensor]] | None = None,
    group: Group | str = "C4",
    max_strength: float = 1.0,
    n_points: int = 11,
    size: int = 16,
    seed: int = 0,
    num_samples: int = 4,
) -> BreakingStrengthSweep:
    """Equivariance error of ``breaking_function(s)`` at ``strength`` and for ``s`` in ``[0, max_strength]``.

    Args:
        strength: current breaking strength (>= 0).
        breaking_function: ``s -> f_s``, a map on scalar fields ``(B, 1, size, size)``; default
            :func:`toy_breaking_function` (zero error at ``s = 0``, growing linearly).
        group: the group (or its name) whose error is measured, e.g. ``"C4"`` or ``"D4"``.
        max_strength: right end of the strength grid.
        n_points: points on the grid (>= 2).
        size: grid size of the random test fields.
        seed: seed of the random test fields (float64 normal).
        num_samples: number of random test fields.

    Returns:
        a :class:`BreakingStrengthSweep`.
    """
    strength = _check_nonnegative(strength, "strength")
    max_strength = _check_nonnegative(max_strength, "max_strength")
    n_points = check_positive_int(n_points, "n_points", minimum=2)
    family = breaking_function or functools.partial(toy_breaking_function, size=size)
    g = get_group(group)
    ftype = FieldType.scalars(1)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num_samples, 1, size, size, generator=gen, dtype=torch.float64)

    def measure(s: float) -> EquivarianceReport:
        return equivariance_error(family(s), x, g, in_type=ftype, out_type=ftype)

    report = measure(strength)
    grid = torch.linspace(0.0, max(max_strength, strength), n_points, dtype=torch.float64).tolist()
    return BreakingStrengthSweep(
        strength=strength, equivariance_error=float(report.sup), per_element=_per_element(report),
        strengths=grid, curve=[float(measure(float(s)).sup) for s in grid], group=g.name,
        norm=report.norm,
    )


# --------------------------------------------------------------------------- notebook 01


@dataclass(frozen=True)
class HeatRotationRun:
    """Heat diffusion with uniform κ (β = 0) and with κ varied by β, and the 90° rotation error.

    Attributes:
        beta: strength of the diffusion coefficient's variation.
        betas: the two simulated rows ``(0.0, beta)``.
        snapshots: frame indices kept in ``temperatures``.
        temperatures: ``(2, S, H, W)`` temperature at each snapshot, one row per entry of ``betas``.
        differences: ``(2, H, W)`` map ``|R⁻¹ f(R T₀) − f(T₀)|`` at the last frame, ``R`` the 90°
            rotation of :class:`~aeqkit.groups.CyclicGroup` (4), per row.
        data_equivariance_error: the flow map's C4 error (L1, mean over the non-identity
            elements; :func:`aeqkit.data.heat.heat_equivariance_error` for the default initial
            conditions) at ``beta``.
        max_rotation_difference: largest entry of ``differences[1]`` (zero at β = 0).
    """

    beta: float
    betas: tuple[float, float]
    snapshots: list[int]
    temperatures: torch.Tensor
    differences: torch.Tensor
    data_equivariance_error: float
    max_rotation_difference: float


def heat_rotation_run(
    beta: float = 0.5,
    *,
    size: int = 32,
    steps: int = 40,
    snapshots: Sequence[int] = (0, 20, 39),
    seed: int = 0,
    initial: torch.Tensor | None = None,
) -> HeatRotationRun:
    """Simulate heat diffusion at β = 0 and at ``beta`` and measure the flow map's rotation error.

    Each row simulates one initial temperature ``T₀`` with :mod:`aeqkit.data.heat` (the seed's, or
    ``initial``); the rotation difference ``|R⁻¹ f(R T₀) − f(T₀)|`` uses the group's own action on
    scalar fields. At β = 0 κ is uniform and the difference is zero up to rounding; it grows with β.

    Args:
        beta: strength of the diffusion coefficient's variation, ``0 <= beta < 1``.
        size: grid size.
        steps: saved frames per simulation (``f`` maps frame 0 to frame ``steps - 1``).
        snapshots: frame indices kept (those ``>= steps`` are dropped).
        seed: initial-condition seed.
        initial: your own initial temperature ``(size, size)`` or ``(1, 1, size, size)``
            (default: the seed's smooth random field).

    Returns:
        a :class:`HeatRotationRun`.
    """
    if not isinstance(beta, int | float) or not 0.0 <= float(beta) < 1.0:
        raise ValueError(f"expected beta in [0, 1), got {beta}")
    shown = [int(s) for s in snapshots if 0 <= int(s) < steps]
    if not shown:
        raise ValueError(f"expected snapshots within 0..{steps - 1}, got {list(snapshots)}")
    if initial is not None:
        initial = torch.as_tensor(initial, dtype=torch.float64)
        if initial.shape[-2:] != (size, size) or initial.numel() != size * size:
            raise ValueError(
                f"expected initial of shape ({size}, {size}) or (1, 1, {size}, {size}), "
                f"got {tuple(initial.shape)}"
            )
        initial = initial.reshape(1, 1, size, size)
    c4 = CyclicGroup(4)
    quarter = c4.elements()[1]  # the 90° counter-clockwise rotation R
    rows = (0.0, float(beta))
    temps, diffs = [], []
    for b in rows:
        cfg = heat.HeatConfig(resolution=size, steps=steps, num_sims=1, beta=b, seed=seed)
        kappa = heat.diffusivity(cfg)
        t0 = heat.heat_initial_conditions(cfg) if initial is None else initial.to(kappa.dtype)

        def flow(x: torch.Tensor, cfg: heat.HeatConfig = cfg, kappa: torch.Tensor = kappa) -> torch.Tensor:
            return heat.simulate_heat(x, cfg, kappa=kappa)

        traj = flow(t0)[0]  # (T, 1, H, W)
        rotated = flow(c4.act(quarter, t0, "scalar"))[0, -1]
        diffs.append((c4.act(c4.inverse(quarter), rotated, "scalar") - traj[-1]).abs()[0])
        temps.append(traj[shown, 0])
    if initial is None:
        err = float(heat.heat_equivariance_error(float(beta), resolution=size, steps=steps,
                                                 group="C4", seed=seed))
    else:  # the same measure as heat_equivariance_error, on the given initial temperature
        err = float(equivariance_error(lambda x: flow(x)[:, -1], t0, c4, in_type="scalar",
                                       out_type="scalar").mean)
    differences = torch.stack(diffs)
    return HeatRotationRun(
        beta=float(beta), betas=rows, snapshots=shown, temperatures=torch.stack(temps),
        differences=differences, data_equivariance_error=err,
        max_rotation_difference=float(differences[1].max()),
    )


# --------------------------------------------------------------------------- notebook 02


def alternating_pattern(group_order: int, breaking: float = 0.5) -> torch.Tensor:
    """Relaxed weights ``1 + breaking · (-1)^h`` over C_N (even N): they break C_N to C_{N/2}.

    Shape:
        output: ``(N,)`` float64.
    """
    n = int(group_order)
    if n < 2 or n % 2:
        raise ValueError(f"expected an even group_order >= 2, got {group_order}")
    breaking = _check_nonnegative(breaking, "breaking")
    sign = torch.tensor([(-1.0) ** h for h in range(n)], dtype=torch.float64)
    return 1.0 + breaking * sign


@dataclass(frozen=True)
class RelaxedLayerRun:
    """A relaxed group convolution fitted to a teacher, and what its relaxed weights say.

    Attributes:
        group: the finite group G of the layers (C_N or D_N).
        pattern: ``(|G|,)`` the teacher's relaxed weights over the group elements ``h``.
        num_filter_banks, alpha, steps: the student's L, the penalty weight, the Adam steps.
        relaxed_weights: ``(L, |G|)`` the student's relaxed weights after fitting.
        element_labels: labels ``h0 .. h{|G|-1}`` of the group elements.
        spectrum: energy per irrep (:func:`aeqkit.nn.irrep_spectrum`): C_N at ``k = 0 .. N//2``;
            D_N per irrep ``A1, A2, [B1, B2], E1, ...``.
        spectrum_labels: the irreps' names (``k=0, ...`` or ``A1, ...``).
        dominant_irrep: index of the largest energy off the trivial irrep (for C_N the frequency
            k; 0 for C_1).
        breaking_fraction: share of the energy off the trivial irrep.
        surviving_subgroup: the subgroup keeping 95% of the energy
            (:func:`aeqkit.nn.surviving_subgroup`): the order M of C_M for C_N, a
            :class:`~aeqkit.nn.spectrum.Subgroup` for D_N.
        per_element: ``{label: sup error}`` of the student after fitting, per exactly acting
            element (multiples of 90°, with or without the flip).
        equivariance_error: sup of ``per_element`` (L1).
        init_equivariance_error: the same at initialisation (zero up to rounding).
        loss: the last MSE to the teacher; ``losses``: MSE at every step.
        penalty: the Sec. 3.3 penalty of the student after fitting.
        student: the fitted layer (not compared, not printed).
    """

    group: FiniteGroup
    pattern: torch.Tensor
    num_filter_banks: int
    alpha: float
    steps: int
    relaxed_weights: torch.Tensor
    element_labels: list[str]
    spectrum: list[float]
    spectrum_labels: list[str]
    dominant_irrep: int
    breaking_fraction: float
    surviving_subgroup: int | Subgroup
    per_element: dict[str, float]
    equivariance_error: float
    init_equivariance_error: float
    loss: float
    losses: list[float]
    penalty: float
    student: torch.nn.Module = field(compare=False, repr=False)

    @property
    def group_order(self) -> int:
        """N, the rotation order of C_N / D_N."""
        return self.group.order


def _relaxed_group_conv(group: FiniteGroup, num_filter_banks: int) -> RelaxedGroupConv2d:
    """One regular field in and out, 3x3 kernels, circular padding, float64, built from ``group``."""
    return RelaxedGroupConv2d(1, 1, 3, group=group, num_filter_banks=num_filter_banks,
                              bias=False, padding_mode="circular").double()


def train_relaxed_layer(
    pattern: torch.Tensor | Sequence[float] | None = None,
    *,
    group_order: int | None = None,
    group: FiniteGroup | str | None = None,
    num_filter_banks: int = 2,
    alpha: float = 0.0,
    breaking: float = 0.5,
    steps: int = 80,
    size: int = 12,
    seed: int = 0,
    lr: float = 0.05,
    orbit: bool = False,
) -> RelaxedLayerRun:
    """Fit a relaxed group convolution to a teacher whose relaxed weights are ``pattern``.

    The teacher is a :class:`aeqkit.nn.RelaxedGroupConv2d` (one regular field in and out, 3x3
    kernels, one filter bank) with relaxed weights ``pattern`` over the group elements ``h``; the
    student, with ``num_filter_banks`` banks and exactly equivariant at initialisation, is fitted
    for ``steps`` Adam steps on ``MSE + alpha · penalty`` (Sec. 3.3) over random regular fields.
    Both are built from the group object (``CyclicGroup(group_order)`` by default), which also
    acts in the equivariance checks: ``group_order -> CyclicGroup -> kernel_matrices -> kernel``.

    Args:
        pattern: ``(|G|,)`` the teacher's relaxed weights; default :func:`alternating_pattern`
            ``(group_order, breaking)`` (breaks C_N to C_{N/2}; C_N only). An exactly symmetric
            pattern (all equal) is a G-equivariant teacher.
        group_order: N of C_N; default ``len(pattern)``, or 4 without a pattern.
        group: the finite group instead of C_N (e.g. ``"D4"`` or ``DihedralGroup(4)``; then
            ``pattern`` has ``|G| = 2N`` entries, rotations then flipped rotations).
        num_filter_banks: the student's L (>= 1).
        alpha: weight of the Sec. 3.3 regulariser (unsquared L1 over pairs of elements), >= 0.
        breaking: amplitude of the default pattern (ignored when ``pattern`` is given).
        steps: Adam steps (>= 0).
        size: grid size of the random regular input fields.
        seed: seed of teacher, student and data.
        lr: Adam learning rate.
        orbit: train on the random fields *and* their images under every rotation that acts
            exactly on the grid (multiples of 90°): with an exactly symmetric pattern the loss is
            then invariant under shifting the relaxed weights over the group, so they stay equal
            (up to rounding) for C_2 and C_4.

    Returns:
        a :class:`RelaxedLayerRun`.
    """
    alpha = _check_nonnegative(alpha, "alpha")
    breaking = _check_nonnegative(breaking, "breaking")
    if group is not None and group_order is not None:
        raise ValueError("expected group_order (for C_N) or group, not both")
    if group is not None:
        group = as_finite_group(group)
    elif pattern is None or group_order is not None:
        group = CyclicGroup(4 if group_order is None else int(group_order))
    else:
        group = CyclicGroup(len(pattern))
    if pattern is None:
        pattern = alternating_pattern(group.size, breaking)
    pattern = torch.as_tensor(pattern, dtype=torch.float64).reshape(-1)
    n = group.size
    if pattern.shape != (n,):
        raise ValueError(f"expected a pattern of shape (|G|,) = ({n},) for {group.name}, "
                         f"got {tuple(pattern.shape)}")
    num_filter_banks = check_positive_int(num_filter_banks, "num_filter_banks")
    steps = check_positive_int(steps, "steps", minimum=0)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    teacher = _relaxed_group_conv(group, 1)
    student = _relaxed_group_conv(group, num_filter_banks)
    with torch.no_grad():
        teacher.relaxed_weights.copy_(pattern[None])
    x = torch.randn(16, n, size, size, generator=gen, dtype=torch.float64)
    ftype = FieldType.regular(1, group=group)
    if orbit:
        x = torch.cat([group.act(g, x, ftype) for g in group.exact_elements((size, size))])
    y = teacher(x).detach()

    def error(model: torch.nn.Module) -> EquivarianceReport:
        with torch.no_grad():
            return equivariance_error(model, x[:4], group, in_type=ftype, out_type=ftype,
                                      exact_only=True)

    init_err = float(error(student).sup)
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    losses: list[float] = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((student(x) - y) ** 2)
        (loss + alpha * student.equivariance_penalty()).backward()
        opt.step()
        losses.append(float(loss.detach()))
    report = error(student)
    spec = irrep_spectrum(student)
    energy = [float(v) for v in spec.energy]
    surviving = surviving_subgroup(spec, tol=0.05)
    return RelaxedLayerRun(
        group=group, pattern=pattern, num_filter_banks=num_filter_banks, alpha=alpha,
        steps=steps, relaxed_weights=student.relaxed_weights.detach().clone(),
        element_labels=[f"h{i}" for i in range(n)], spectrum=energy, spectrum_labels=list(spec.labels),
        dominant_irrep=int(torch.tensor(energy[1:]).argmax()) + 1 if len(energy) > 1 else 0,
        breaking_fraction=float(spec.breaking_fraction),
        surviving_subgroup=surviving if isinstance(surviving, Subgroup) else int(surviving),
        per_element=_per_element(report), equivariance_error=float(report.sup),
        init_equivariance_error=init_err, loss=losses[-1] if losses else 0.0, losses=losses,
        penalty=float(student.equivariance_penalty().detach()), student=student,
    )


# --------------------------------------------------------------------------- notebook 05


@dataclass(frozen=True)
class RingRotationSample:
    """Points of the ring toy and their randomly rotated copies, and how well they are told apart.

    Attributes:
        breaking: the ring's symmetry-breaking strength.
        points: ``(n, 2)`` the data points ``(x, y)``.
        rotated: ``(n, 2)`` each point rotated by a random SO(2) angle (RMS ``magnitude``).
        distinguishability: accuracy of a classifier telling ``rotated`` from ``points``
            (:func:`aeqkit.discovery.distinguishability`; 0.5: the rotations are a symmetry of the
            data), or None when not computed.
    """

    breaking: float
    points: torch.Tensor
    rotated: torch.Tensor
    distinguishability: float | None


def ring_rotation_sample(breaking: float = 0.0, n_samples: int = 1200, magnitude: float = 3.0,
                         seed: int = 0, with_accuracy: bool = True) -> RingRotationSample:
    """The ring toy at ``breaking`` with randomly rotated copies (SO(2), RMS angle ``magnitude``).

    Rotating by a wide angle makes the copies uniform in angle, so at ``breaking = 1`` the best
    possible accuracy is ``(1 + TV) / 2 ≈ 0.66`` (TV: total variation between the two angular
    densities).

    Args:
        breaking: symmetry-breaking strength of :func:`aeqkit.discovery.make_ring`, in [0, 1].
        n_samples: points on the ring.
        magnitude: RMS rotation angle of the copies (radians).
        seed: seed of the points, the rotations and the classifier.
        with_accuracy: train the classifier (150 steps) and report its accuracy.
    """
    data = make_ring(n_samples=n_samples, breaking=breaking, seed=seed)
    gen = LieGenerator(2, sigma=magnitude)
    with torch.no_grad():
        gen.raw_basis.copy_(so2_generator(1)[None])
    torch.manual_seed(seed)
    with torch.no_grad():
        gx, _ = gen(data.x_train, data.y_train)
    acc = (distinguishability(data.x_train, data.y_train, gen, steps=150, seed=seed)
           if with_accuracy else None)
    return RingRotationSample(breaking=float(breaking), points=data.x_train[:, 0].detach(),
                              rotated=gx[:, 0].detach(), distinguishability=acc)
