"""The built-in data sets, one :func:`~aeqkit.data.registry.register_dataset` entry each.

``quick`` is sized for a 2-core CPU (each set generates in about a minute or less), ``medium`` is the
quick data with longer Fig. 4 trajectories (<= 20 min per table on 2 CPU cores), ``full`` follows the
paper (64x64, 20-step evaluation). Window settings per profile: :data:`aeqkit.data.registry.WINDOW_PROFILES`.
A user's data set registers itself the same way in its own file (see :mod:`aeqkit.data.registry`).
"""

from __future__ import annotations

from typing import Any

import torch

from aeqkit.data.heat import HeatConfig, generate_heat
from aeqkit.data.jet import JetConfig, generate_jet
from aeqkit.data.registry import dataset_orbits, register_dataset
from aeqkit.data.smoke import NUM_LEVELS, SmokeConfig, generate_smoke

__all__ = ["select_smoke_level"]

_QUICK_SOLVER = dict(smoke_advection="semi_lagrangian", tol=1e-3)

#: per-level metadata of the smoke levels set (one entry per simulation)
_LEVEL_KEYS = ("group_elements", "centers", "buoyancy_factors", "position_index", "dx", "dt", "level")


def select_smoke_level(fields: torch.Tensor, meta: dict[str, Any], level: int) -> tuple[torch.Tensor, dict]:
    """The simulations of one symmetry-breaking level of the ``smoke_levels`` set (all ten levels
    are simulated in one batch and cached together). Shape: ``(S, T, C, H, W)`` -> ``(S / 10, ...)``."""
    meta = dict(meta)
    idx = [i for i, v in enumerate(meta["level"]) if v == level]
    for key in _LEVEL_KEYS:
        meta[key] = [meta[key][i] for i in idx]
    meta.update(level_index=level, breaking=meta["level_breaking"][level],
                data_equivariance_error=meta["level_errors"][level], sim_index=idx)
    return fields[idx], meta


register_dataset(
    "heat", config=HeatConfig, generate=generate_heat, symmetry="rotation", group="C4",
    orbits=dataset_orbits, fixed_fields=("name",),
    description="heat diffusion with an anisotropic, rotation-breaking conductivity (paper Fig. 2)",
    profiles={
        "quick": dict(resolution=32, steps=60, num_sims=8, beta=0.3),
        "medium": dict(resolution=32, steps=60, num_sims=8, beta=0.3),
        "full": dict(resolution=64, steps=100, num_sims=20, beta=0.3),
    })

_SMOKE_SETS = {
    "rotation": ("C4", dataset_orbits, "smoke plumes: each inflow in its four C4 orientations (Sec. 5.1)",
                 dict(num_positions=2), dict(num_positions=10)),
    "translation": ("translation_bounded", None, "smoke plumes: inflows at shifted positions (Sec. 5.1)",
                    dict(num_positions=8), dict(num_positions=35)),
    "scaling": ("scaling", None, "smoke plumes: inflows at rescaled sizes (Sec. 5.1)",
                dict(num_positions=8), dict(num_positions=40)),
}
for _kind, (_group, _orbits, _text, _quick, _full) in _SMOKE_SETS.items():
    register_dataset(
        f"smoke_{_kind}", config=SmokeConfig, generate=generate_smoke, symmetry=_kind, group=_group,
        orbits=_orbits, fixed_fields=("kind",), description=_text,
        profiles={
            "quick": dict(kind=_kind, resolution=32, steps=60, **_quick, **_QUICK_SOLVER),
            "medium": dict(kind=_kind, resolution=32, steps=60, **_quick, **_QUICK_SOLVER),
            "full": dict(kind=_kind, resolution=64, steps=120, **_full),
        })

register_dataset(
    "smoke_levels", config=SmokeConfig, generate=generate_smoke, symmetry="rotation", group="C4",
    orbits=dataset_orbits, fixed_fields=("kind",), levels=NUM_LEVELS, select_level=select_smoke_level,
    description=f"small smoke plumes at {NUM_LEVELS} levels of rotational symmetry breaking (Fig. 4)",
    profiles={
        # Fig. 4 (Sec. 5.2: "small smoke plume datasets"): two base inflows x four orientations per
        # level, so test-domain holds out one whole orbit
        "quick": dict(kind="levels", resolution=16, steps=30, num_positions=2, **_QUICK_SOLVER),
        "medium": dict(kind="levels", resolution=16, steps=45, num_positions=2, **_QUICK_SOLVER),
        "full": dict(kind="levels", resolution=64, steps=120, num_positions=2),
    })

register_dataset(
    "jet", config=JetConfig, generate=generate_jet, symmetry="reflection", group="reflection",
    make_config=JetConfig.from_profile, num_frames=lambda c: c.frames, fixed_fields=("name",),
    description="SYNTHETIC PIV-like jet windows, mirror symmetry broken by a co-flow (Sec. 5.3 stand-in)",
    profiles={"quick": dict(profile="quick"), "medium": dict(profile="quick"), "full": dict(profile="full")})
