"""Plotly figure builders: results in, a ``go.Figure`` out; nothing here simulates or trains.

Every interactive view of the notebook sequence is a thin ipywidgets shell
(:mod:`aeqkit.widgets`) over a computation of the library (:mod:`aeqkit.explore`,
:mod:`aeqkit.equivariance`, :mod:`aeqkit.reproduce`, ...) and one of these builders, so tests call
both over the sliders' ranges without a front end. By topic:

- :mod:`aeqkit.viz.base`: colours, sizes (:data:`MAX_FIGURE_WIDTH`), :func:`to_numpy`,
  :func:`downsample`, :func:`spans_decades`;
- :mod:`aeqkit.viz.fields`: fields, grids of fields, kernels, rollouts (Fig. 3), error maps
  (Fig. 5), animations;
- :mod:`aeqkit.viz.charts`: equivariance errors per element / against a strength, relaxed
  weights, irrep spectra, model vs data error (Fig. 4), metric tables;
- :mod:`aeqkit.viz.views`: figures of :mod:`aeqkit.explore`'s results and the views as
  ``compute -> draw`` pairs (:class:`ComputedView`).

Conventions (see DESIGN.md): fields are arrays ``(..., C, H, W)`` with row 0 at the *bottom*
(y up), drawn with plotly's default ``origin="lower"``, never flipped; fields are downsampled
(``max_size`` pixels per axis) and animations capped (``max_frames``) so executed notebooks stay
small; ``layout.meta`` records what a builder drew (colour ranges, panel counts, the numbers it
prints), and readouts of computed views come from the result objects, not from the figure.

See also: notebooks 00-07; the method schematics are in :mod:`aeqkit.diagrams`.
"""

from __future__ import annotations

from aeqkit.explore import toy_breaking_function
from aeqkit.viz.base import (
    ERROR_COLORSCALE,
    FIELD_COLORSCALE,
    MAGNITUDE_COLORSCALE,
    MAX_FIGURE_WIDTH,
    MAX_PANEL_HEIGHT,
    MODEL_COLORS,
    downsample,
    spans_decades,
    to_numpy,
)
from aeqkit.viz.charts import (
    equivariance_error_bars,
    error_vs_strength,
    irrep_spectrum_figure,
    metric_table_figure,
    model_vs_data_error,
    relaxed_weights_figure,
)
from aeqkit.viz.fields import (
    animation_gallery,
    error_map_figure,
    field_figure,
    fields_grid,
    kernel_figure,
    rollout_figure,
)
from aeqkit.viz.views import (
    ComputedView,
    breaking_strength_figure,
    breaking_strength_view,
    heat_figure,
    heat_view,
    relaxed_layer_figure,
    relaxed_layer_view,
)

__all__ = [
    "FIELD_COLORSCALE",
    "MAGNITUDE_COLORSCALE",
    "ERROR_COLORSCALE",
    "MODEL_COLORS",
    "MAX_FIGURE_WIDTH",
    "MAX_PANEL_HEIGHT",
    "to_numpy",
    "downsample",
    "spans_decades",
    "field_figure",
    "fields_grid",
    "equivariance_error_bars",
    "error_vs_strength",
    "relaxed_weights_figure",
    "irrep_spectrum_figure",
    "kernel_figure",
    "rollout_figure",
    "error_map_figure",
    "model_vs_data_error",
    "animation_gallery",
    "metric_table_figure",
    "ComputedView",
    "breaking_strength_figure",
    "heat_figure",
    "relaxed_layer_figure",
    # compute -> draw pairs under their former names (calling one returns the figure)
    "breaking_strength_view",
    "heat_view",
    "relaxed_layer_view",
    # moved to aeqkit.explore; re-exported for old imports
    "toy_breaking_function",
]
