"""Dynamics data with a symmetry-breaking knob: heat, smoke plumes, a synthetic jet, real PIV files.

Entry point: :func:`load_dataset` (generate once, cache under ``data/``, split into windows).
Data sets register themselves (:func:`register_dataset`, :mod:`aeqkit.data.registry`); the built-in
ones in :mod:`aeqkit.data.catalog`; :data:`DATASET_NAMES` and :data:`PROFILES` list what is registered.
Generators: :mod:`aeqkit.data.heat` (paper Fig. 2), :mod:`aeqkit.data.smoke` (Sec. 5.1-5.2, PhiFlow),
:mod:`aeqkit.data.jet` (Sec. 5.3, synthetic stand-in and :func:`load_piv`). Caching:
:mod:`aeqkit.data.cache`. Windows and splits: :mod:`aeqkit.data.windows`. Your own flow data
(netCDF / xarray / arrays, masks, leak-free splits of one record, climatology, regridding):
:mod:`aeqkit.data.ingest` and :mod:`aeqkit.data.records`. See ``data/README.md``.
"""

from aeqkit.data import catalog as _catalog  # noqa: F401  (registers the built-in sets)
from aeqkit.data.burgers import burgers_initial_condition, burgers_step, simulate_burgers
from aeqkit.data.cache import CacheRegeneratedWarning, cache_path, cached, config_hash, data_root
from aeqkit.data.heat import (
    HeatConfig,
    generate_heat,
    heat_equivariance_error,
    heat_gradient_trajectories,
    heat_one_step_equivariance_error,
    heat_orbit_trajectories,
    simulate_heat,
    temperature_gradient,
)
from aeqkit.data.ingest import FlowRecord, VectorNormalizer, from_arrays, from_xarray, open_flow
from aeqkit.data.jet import JetConfig, generate_jet, jet_stations, load_piv, piv_dataset
from aeqkit.data.records import (
    climatology_forecast,
    crop,
    largest_valid_window,
    regrid_isotropic,
    split_record,
    stack_records,
    time_blocks,
)
from aeqkit.data.registry import DatasetSpec, dataset_specs, get_dataset_spec, register_dataset
from aeqkit.data.smoke import (
    NUM_LEVELS,
    SmokeConfig,
    generate_smoke,
    one_step_equivariance_error,
    rotation_set_error,
    simulate_smoke,
    smoke_setup,
)
from aeqkit.data.windows import (
    SPLIT_NAMES,
    ForecastData,
    OrbitBatchSampler,
    WindowDataset,
    dataset_config,
    dataset_orbits,
    equivariance_windows,
    load_dataset,
    make_splits,
    one_step_data_error,
    one_step_data_errors,
    sliding_windows,
    smoke_level_errors,
    subsample,
)

__all__ = [
    "one_step_equivariance_error",
    "one_step_data_error",
    "one_step_data_errors",
    "equivariance_windows",
    "dataset_orbits",
    "burgers_initial_condition",
    "burgers_step",
    "simulate_burgers",
    "CacheRegeneratedWarning",
    "cache_path",
    "cached",
    "config_hash",
    "data_root",
    "HeatConfig",
    "generate_heat",
    "heat_equivariance_error",
    "heat_gradient_trajectories",
    "heat_one_step_equivariance_error",
    "heat_orbit_trajectories",
    "temperature_gradient",
    "sliding_windows",
    "subsample",
    "simulate_heat",
    "JetConfig",
    "generate_jet",
    "jet_stations",
    "load_piv",
    "piv_dataset",
    "FlowRecord",
    "VectorNormalizer",
    "from_arrays",
    "from_xarray",
    "open_flow",
    "climatology_forecast",
    "crop",
    "largest_valid_window",
    "regrid_isotropic",
    "split_record",
    "stack_records",
    "time_blocks",
    "NUM_LEVELS",
    "SmokeConfig",
    "generate_smoke",
    "rotation_set_error",
    "simulate_smoke",
    "smoke_setup",
    "DATASET_NAMES",
    "PROFILES",
    "SPLIT_NAMES",
    "ForecastData",
    "WindowDataset",
    "OrbitBatchSampler",
    "dataset_config",
    "load_dataset",
    "make_splits",
    "smoke_level_errors",
    "DatasetSpec",
    "dataset_specs",
    "get_dataset_spec",
    "register_dataset",
]


def __getattr__(name: str):
    # registry views: computed on each access, so data sets registered later are listed
    if name in ("DATASET_NAMES", "PROFILES"):
        from aeqkit.data import windows

        return getattr(windows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
