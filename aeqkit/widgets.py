"""Thin ipywidgets shells over ``compute -> draw``: a computation of the library and a figure builder.

Two calls cover the notebooks:

- :func:`setup_plotly` picks the plotly renderer once per notebook: the interactive
  ``jupyterlab`` (``application/vnd.plotly.v1+json``) mimetype in a live JupyterLab, and
  headless (papermill / ``AEQKIT_HEADLESS=1``) the same JSON mimetype alone, so that an
  executed notebook holds each figure's data once and *no* copy of plotly.js (JupyterLab's
  bundled plotly extension renders it when the file is opened). Override with
  ``AEQKIT_PLOTLY_RENDERER`` (e.g. ``notebook`` embeds plotly.js once per notebook, for
  viewers without the extension). It also sets a compact plotly template (the default one adds
  ~7 kB to every figure).
- :func:`interactive_view` puts sliders on a computation and its figure: ``compute(**params) ->
  result`` (e.g. :func:`aeqkit.explore.heat_rotation_run`) then ``draw(result) -> go.Figure``
  (e.g. :func:`aeqkit.viz.heat_figure`), given as ``compute=..., draw=...`` or as one
  :class:`aeqkit.viz.ComputedView` (``viz.heat_view``); the readout is read from the result
  object. A plain builder ``(**params) -> go.Figure`` still works (its readout then comes from
  ``fig.layout.meta``).

Page elements (stable, for the JupyterLab browser tests; see issue 7):

=====================  =========================================================
CSS class              element
=====================  =========================================================
``aeqkit-view``        the ``VBox`` holding one view (also ``aeqkit-view-<name>``)
``aeqkit-controls``    the ``HBox`` of controls
``aeqkit-slider``      every slider (also ``aeqkit-slider-<param>``); its
                       ``description`` is the parameter's symbol, e.g. ``"β"``
``aeqkit-readout``     the ``HTML`` readout; its text is ``"<label> = <value>"`` with
                       the value in a ``<span class="aeqkit-readout-value">``
``aeqkit-figure``      the ``Output`` widget in which the plotly figure is drawn
                       (a ``.js-plotly-plot`` element inside it)
=====================  =========================================================

Sliders use ``continuous_update=False``: the figure and readout are recomputed once when a
drag is released. While a recomputation runs the readout gets the extra class
``aeqkit-busy``.

Headless (``AEQKIT_HEADLESS=1``, set by ``tools/run_notebooks.py``, or papermill detected)
:func:`interactive_view` creates no widgets: it displays the default view and its readout
once and returns, never waiting for a front end.

See also: notebooks 00-05.
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "Control",
    "Choice",
    "View",
    "is_headless",
    "setup_plotly",
    "compact_template",
    "interactive_view",
    "show",
    "readout_html",
]

HEADLESS_RENDERER = "plotly_mimetype"
#: ipywidgets ``Layout`` of the controls row: items wrap instead of being squeezed.
CONTROLS_LAYOUT = {"flex_flow": "row wrap", "align_items": "center", "width": "100%"}
#: ipywidgets ``Layout`` of the readout: its natural width, never shrunk (no wrapped text).
READOUT_LAYOUT = {"flex": "0 0 auto", "width": "auto", "margin": "0 0 0 12px"}
LIVE_RENDERER = "jupyterlab"
TEMPLATE = "aeqkit"


def is_headless() -> bool:
    """True under papermill / the notebook runner / plain Python (no live front end).

    ``AEQKIT_HEADLESS=1`` forces headless, ``AEQKIT_HEADLESS=0`` forces live; otherwise a
    kernel started by papermill (``PAPERMILL_*`` environment or the ``papermill`` module
    loaded) or a process without an IPython kernel counts as headless.
    """
    env = os.environ.get("AEQKIT_HEADLESS")
    if env is not None and env.strip() != "":
        return env.strip().lower() not in {"0", "false", "no"}
    if any(k.startswith("PAPERMILL") for k in os.environ) or "papermill" in sys.modules:
        return True
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        return True
    return ip is None or not hasattr(ip, "kernel")


def setup_plotly(renderer: str | None = None) -> str:
    """Pick the plotly renderer for this notebook and return its name.

    Args:
        renderer: force a renderer (any name of ``plotly.io.renderers``); default from
            ``AEQKIT_PLOTLY_RENDERER``, else ``"plotly_mimetype"`` headless and
            ``"jupyterlab"`` live.

    Raises:
        ValueError: an unknown renderer name (the message lists the accepted ones).
    """
    name = renderer or os.environ.get("AEQKIT_PLOTLY_RENDERER") or (
        HEADLESS_RENDERER if is_headless() else LIVE_RENDERER
    )
    known = list(pio.renderers)
    if any(part not in known for part in name.split("+")):
        raise ValueError(f"expected a plotly renderer in {known}, got {name!r}")
    pio.renderers.default = name
    pio.templates[TEMPLATE] = compact_template()
    pio.templates.default = TEMPLATE
    return name


def compact_template() -> go.layout.Template:
    """A small plotly template (~0.5 kB) used instead of the default one (~7 kB per figure).

    Every figure embeds its template in the notebook output; plotly's default template is
    mostly unused colour scales, so this one keeps only fonts, backgrounds, grid colours and
    the colour cycle of :mod:`aeqkit.viz`.
    """
    from aeqkit.viz import MODEL_COLORS

    # exponentformat "e": small numbers read 1e-12, never with SI suffixes ("1p", "80µ")
    axis = {"gridcolor": "white", "zerolinecolor": "white", "linecolor": "#888", "ticks": "",
            "exponentformat": "e"}
    return go.layout.Template(layout={
        "font": {"family": "Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
        "paper_bgcolor": "white", "plot_bgcolor": "#E5ECF6", "colorway": list(MODEL_COLORS),
        "xaxis": axis, "yaxis": axis, "hovermode": "closest",
        "title": {"x": 0.05}, "legend": {"bgcolor": "rgba(255,255,255,0.6)"},
    }, data={"heatmap": [{"colorbar": {"exponentformat": "e"}}]})


@dataclass(frozen=True)
class Control:
    """A numeric slider: ``Control(min, max, step, value=None, label=None)``.

    Integer bounds and step give an ``IntSlider``, otherwise a ``FloatSlider``. ``label`` is
    the slider's ``description`` (e.g. ``"β"``); ``value`` defaults to ``min``.
    """

    min: float
    max: float
    step: float
    value: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if not self.max > self.min or not self.step > 0:
            raise ValueError(
                f"expected min < max and step > 0, got min={self.min}, max={self.max}, "
                f"step={self.step}"
            )
        if self.value is not None and not self.min <= self.value <= self.max:
            raise ValueError(f"expected value within [{self.min}, {self.max}], got {self.value}")

    @property
    def is_int(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool)
                   for v in (self.min, self.max, self.step))

    @property
    def default(self) -> float:
        return self.min if self.value is None else self.value


@dataclass(frozen=True)
class Choice:
    """A discrete control: ``Choice(options, value=None, label=None)`` (a ``SelectionSlider``)."""

    options: Sequence[Any]
    value: Any = None
    label: str | None = None

    def __post_init__(self) -> None:
        if len(self.options) == 0:
            raise ValueError("expected at least one option, got none")
        if self.value is not None and self.value not in self.options:
            raise ValueError(f"expected value in {list(self.options)}, got {self.value!r}")

    @property
    def default(self) -> Any:
        return self.options[0] if self.value is None else self.value


def _as_control(name: str, spec: Any) -> Control | Choice:
    if isinstance(spec, Control | Choice):
        return spec
    if isinstance(spec, tuple) and len(spec) in (3, 4) and all(
        isinstance(v, int | float) for v in spec
    ):
        return Control(*spec)
    if isinstance(spec, list | tuple) and len(spec) > 0:
        return Choice(list(spec))
    raise ValueError(
        f"expected control {name!r} to be Control(...), Choice(...), a (min, max, step[, value]) "
        f"tuple or a list of options, got {spec!r}"
    )


def readout_html(label: str, value: Any) -> str:
    """The readout's inner HTML: ``<label> = <span class="aeqkit-readout-value">value</span>``."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return ('<span class="aeqkit-readout-text" style="white-space: nowrap">'
            f'<span class="aeqkit-readout-label">{html.escape(label)}</span> = '
            f'<span class="aeqkit-readout-value">{html.escape(text)}</span></span>')


def _readout_value(fig: go.Figure, readout: str | Callable[[Any], Any] | None,
                   result: Any = None, computed: bool = False) -> Any:
    """The readout: an attribute of the computed result (or ``readout(result)``); for a plain
    builder, a key of ``fig.layout.meta`` (or ``readout(fig)``)."""
    if readout is None:
        return None
    if callable(readout):
        return readout(result if computed else fig)
    if computed:
        if not hasattr(result, readout):
            raise ValueError(
                f"expected the result ({type(result).__name__}) to have an attribute {readout!r}"
            )
        return getattr(result, readout)
    meta = fig.layout.meta
    if not isinstance(meta, Mapping) or readout not in meta:
        keys = list(meta) if isinstance(meta, Mapping) else []
        raise ValueError(f"expected the figure's layout.meta to hold {readout!r}; it has {keys}")
    return meta[readout]


def show(fig: go.Figure) -> None:
    """Display a figure with the renderer chosen by :func:`setup_plotly`."""
    if not isinstance(fig, go.Figure):
        raise ValueError(f"expected a plotly go.Figure, got {type(fig).__name__}")
    fig.show()


@dataclass
class View:
    """What :func:`interactive_view` returns.

    Attributes:
        builder: ``(**params) -> go.Figure`` (computes and draws).
        params: current parameter values.
        figure: the current figure.
        readout: current readout value (or None).
        result: the current result of ``compute`` (None for a plain builder).
        widget: the ``VBox`` (None headless).
        sliders: ``{param: widget}`` (empty headless).
    """

    builder: Callable[..., go.Figure]
    params: dict[str, Any]
    figure: go.Figure
    readout: Any = None
    readout_label: str = ""
    result: Any = None
    widget: Any = None
    sliders: dict[str, Any] = field(default_factory=dict)
    _readout_spec: Any = None
    _run: Any = None
    _computed: bool = False
    _output: Any = None
    _readout_widget: Any = None

    def update(self, **params: Any) -> go.Figure:
        """Recompute the figure (and readout) for new parameter values; redraw if live."""
        unknown = set(params) - set(self.params)
        if unknown:
            raise ValueError(f"expected parameters among {sorted(self.params)}, got {sorted(unknown)}")
        self.params.update(params)
        if self._readout_widget is not None:
            self._readout_widget.add_class("aeqkit-busy")
        try:
            self.result, self.figure = self._run(**self.params)
            self.readout = _readout_value(self.figure, self._readout_spec, self.result,
                                          self._computed)
        finally:
            if self._readout_widget is not None:
                self._readout_widget.remove_class("aeqkit-busy")
        if self._readout_widget is not None and self.readout is not None:
            self._readout_widget.value = readout_html(self.readout_label, self.readout)
        self._draw()
        return self.figure

    def _draw(self) -> None:
        """Redraw the figure in the Output widget (only inside an IPython kernel)."""
        if self._output is None or not _in_ipython():
            return
        from IPython.display import clear_output

        with self._output:
            clear_output(wait=True)
            self.figure.show()


def interactive_view(
    builder: Callable[..., go.Figure] | None = None,
    *,
    compute: Callable[..., Any] | None = None,
    draw: Callable[..., go.Figure] | None = None,
    readout: str | Callable[[Any], Any] | None = None,
    readout_label: str | None = None,
    name: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    display: bool = True,
    **controls: Any,
) -> View:
    """Put sliders on ``compute -> draw``; headless, draw the default view once and return.

    Args:
        builder: a :class:`aeqkit.viz.ComputedView` (e.g. ``viz.heat_view``), or a plain
            ``(**params) -> go.Figure``; or None with ``compute`` and ``draw``.
        compute: ``(**params) -> result`` (e.g. :func:`aeqkit.explore.heat_rotation_run`).
        draw: ``(result, **options) -> go.Figure`` (e.g. :func:`aeqkit.viz.heat_figure`).
        readout: an attribute of the result (or a callable ``result -> value``) shown as a
            number beside the sliders, e.g. ``"data_equivariance_error"``; for a plain builder,
            a key of ``fig.layout.meta`` (or a callable ``fig -> value``).
        readout_label: text before the number (default: the readout key).
        name: suffix of the view's CSS class ``aeqkit-view-<name>`` (default builder name).
        fixed: extra keyword arguments passed to compute (or draw, for the options it names)
            unchanged.
        display: display the view (set False to only build it, e.g. in tests).
        **controls: ``param=Control(...)`` / ``Choice(...)`` / ``(min, max, step[, value])`` /
            list of options.

    Returns:
        a :class:`View` (its ``figure`` and ``readout`` hold the default view).

    Example:
        >>> view = interactive_view(compute=explore.heat_rotation_run, draw=viz.heat_figure,
        ...                         readout="data_equivariance_error",
        ...                         beta=Control(0.0, 1.0, 0.1, 0.5, label="β"))
    """
    from aeqkit.viz import ComputedView

    if builder is None and compute is not None and draw is not None:
        builder = ComputedView(compute, draw, name=name)
    elif builder is None or compute is not None or draw is not None:
        raise ValueError("expected either a builder / ComputedView, or both compute= and draw=")
    if not callable(builder):
        raise ValueError(f"expected a callable figure builder, got {builder!r}")
    computed = isinstance(builder, ComputedView)
    specs = {k: _as_control(k, v) for k, v in controls.items()}
    fixed = dict(fixed or {})
    params = {k: s.default for k, s in specs.items()}

    def run(**p: Any) -> tuple[Any, go.Figure]:
        if computed:
            return builder.run(**fixed, **p)
        fig = builder(**fixed, **p)
        if not isinstance(fig, go.Figure):
            raise ValueError(f"expected the builder to return a go.Figure, got {type(fig).__name__}")
        return None, fig

    result, fig = run(**params)
    label = readout_label or (readout if isinstance(readout, str) else "value")
    view = View(builder=lambda **p: run(**p)[1], params=params, figure=fig, result=result,
                readout=_readout_value(fig, readout, result, computed), readout_label=label,
                _readout_spec=readout, _run=run, _computed=computed)
    if is_headless():
        if display and _in_ipython():
            from IPython.display import HTML
            from IPython.display import display as ipy_display

            fig.show()
            if view.readout is not None:
                ipy_display(HTML(f'<div class="aeqkit-readout">'
                                 f"{readout_html(label, view.readout)}</div>"))
        return view

    import ipywidgets as widgets
    from IPython.display import display as ipy_display

    sliders: dict[str, Any] = {}
    for k, s in specs.items():
        desc = s.label or k
        if isinstance(s, Choice):
            w = widgets.SelectionSlider(options=list(s.options), value=s.default,
                                        description=desc, continuous_update=False)
        elif s.is_int:
            w = widgets.IntSlider(min=s.min, max=s.max, step=s.step, value=int(s.default),
                                  description=desc, continuous_update=False)
        else:
            w = widgets.FloatSlider(min=s.min, max=s.max, step=s.step, value=float(s.default),
                                    description=desc, continuous_update=False,
                                    readout_format=".3g")
        w.add_class("aeqkit-slider")
        w.add_class(f"aeqkit-slider-{k}")
        sliders[k] = w
    out = widgets.Output()
    out.add_class("aeqkit-figure")
    read = widgets.HTML(value=readout_html(label, view.readout) if view.readout is not None else "",
                        layout=widgets.Layout(**READOUT_LAYOUT))
    read.add_class("aeqkit-readout")
    # Sliders and readout wrap as whole items onto a new line when the row is too narrow; the
    # readout never shrinks, so its text stays on one line (issue 16).
    controls_box = widgets.HBox(list(sliders.values()) + [read],
                                layout=widgets.Layout(**CONTROLS_LAYOUT))
    controls_box.add_class("aeqkit-controls")
    box = widgets.VBox([controls_box, out])
    box.add_class("aeqkit-view")
    box.add_class(f"aeqkit-view-{name or getattr(builder, '__name__', 'view')}")
    view.widget, view.sliders, view._output, view._readout_widget = box, sliders, out, read

    def on_change(change: dict) -> None:
        key = next(k for k, w in sliders.items() if w is change["owner"])
        view.update(**{key: change["new"]})

    for w in sliders.values():
        w.observe(on_change, names="value")
    view._draw()
    if display and _in_ipython():
        ipy_display(box)
    return view


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None
