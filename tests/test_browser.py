"""The notebooks' widgets, tested in a real JupyterLab in headless Chromium (issues 7 and 16).

A papermill run proves that cells execute; these tests prove that a person's slider moves the
figure. Every notebook with a widget has one story (:data:`STORIES`): open the notebook in the
JupyterLab UI, Run > Run All Cells, wait for the kernel to go idle, check that every plotly figure
draws something and fits its output area (1400 px window, file browser open), save a screenshot of
every figure (``build/browser/<notebook>_figNN.png``), drag one ipywidgets slider with the mouse
to its left and right ends, and read the page (never the kernel): the readout with CSS class
``aeqkit-readout`` (on one line, inside its view) and the plotly figures' DOM. Screenshots of the
view before and after the drags go to ``build/browser/<notebook>_before.png`` / ``_after.png``.

The notebooks are exported from their jupytext sources (``notebooks/NN_name.py``) with the
repository's ``tools/export_notebooks.py`` into a temporary folder, so ``notebooks/`` is never
modified.

Widgets relied on (the page contract of ``aeqkit.widgets.interactive_view``):

* a slider is an ipywidgets slider (``.widget-slider``, noUiSlider handle ``.noUi-handle``)
  found by its description label (``STORIES``: ``strength`` in 00, ``β`` in 01, ``α`` in 02,
  ``breaking b`` in 05);
* the readout has CSS class ``aeqkit-readout`` and its text contains a word (``error``,
  ``distinguishability``) followed by the number (``data equivariance error = 0.08818``);
  while the kernel recomputes, the readout has class ``aeqkit-busy``;
* slider, readout and figure share one ``.aeqkit-view`` box (when there is none, the whole
  notebook is the scope); the plotly figure (``.js-plotly-plot``) shows the readout's number
  (in its title, a marker or a bar), and every plotly figure in the notebook draws something.

The kernel runs with ``AEQKIT_HEADLESS=0`` (live widgets) and the working tree on PYTHONPATH;
the quick profile is injected into the exported copies.

Requirements: the ``playwright`` package and Debian's chromium (``tools/install_browser.sh``).
Where they are missing, every test here skips with a message naming what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import (
    JupyterLabServer,
    LabPage,
    PlotlyFigureState,
    export_notebooks,
    inject_parameters,
    launch_chromium,
    missing_browser_requirements,
    parse_numbers,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "build" / "browser"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: Papermill-style parameters injected into the temporary copies (only names that a notebook's
#: ``parameters`` cell assigns): the quick profile, as in CI, plus shorter training budgets for
#: the heat and LieGAN notebooks, whose trained models are not what these tests look at (their
#: widgets and figures are); measured on the shared 2-core machine: 01 Run All 170 s -> see
#: ``build/browser/timings.json``.
QUICK_PARAMETERS = {"PROFILE": "quick"}
NOTEBOOK_PARAMETERS: dict[str, dict[str, object]] = {
    "01_heat_diffusion.ipynb": {"FIT_SECONDS": 1.0, "EPOCHS": 3},
    "05_liegan_discovery.ipynb": {"DISCOVERY_STEPS": 150, "AUG_STEPS": 200},
}


@dataclass(frozen=True)
class SliderStory:
    """One notebook's widget: which slider to drag and what its readout must do.

    Attributes:
        notebook: the exported notebook's name (source ``notebooks/<stem>.py``).
        slider: the slider's description label.
        word: the readout's number follows this word (``"error"``, ``"distinguishability"``).
        direction: +1 if the readout grows when the slider goes right, -1 if it shrinks.
        zero_at_left: the readout is ~0 at the slider's left end (an exact symmetry).
        parameters: extra papermill-style parameters injected into this notebook.
    """

    notebook: str
    slider: str
    word: str = "error"
    direction: int = 1
    zero_at_left: bool = False
    parameters: dict[str, object] = field(default_factory=dict)


#: Every notebook with a widget, and one slider each (issue 16 item 7).
STORIES: tuple[SliderStory, ...] = (
    # breaking strength of a toy map: zero strength, zero error; the error grows with it
    SliderStory("00_approximate_equivariance.ipynb", "strength", zero_at_left=True),
    # β varies the heat diffusivity: β = 0 is exactly C4-symmetric data
    SliderStory("01_heat_diffusion.ipynb", "β", zero_at_left=True),
    # α weighs the Sec. 3.3 regulariser: more α, a more equivariant fitted layer
    SliderStory("02_inside_relaxed_layers.ipynb", "α", direction=-1),
    # symmetry breaking of the ring toy: rotated copies become easier to tell apart
    SliderStory("05_liegan_discovery.ipynb", "breaking b", word="distinguishability"),
    # breaking level of the smoke plumes: the C4 mismatch of transformed pairs rises with it
    SliderStory("07_discover_then_relax.ipynb", "level", word="mismatch", parameters={"GAN_STEPS": 60}),
)
READOUT_CLASS = "aeqkit-readout"
DEMO_NOTEBOOK = "_browser_demo.ipynb"

#: The harness's own notebook: a β slider, a readout and a plotly heatmap + line, all computed in
#: the kernel (the data equivariance error of a field that is C4-symmetric at β = 0).
_DEMO_CELLS = [
    "import ipywidgets as widgets\n"
    "import numpy as np\n"
    "import plotly.graph_objects as go\n"
    "from IPython.display import display",
    "xs = np.linspace(-1.0, 1.0, 24)\n"
    "X, Y = np.meshgrid(xs, xs)\n"
    "\n"
    "def field(beta):\n"
    "    return np.exp(-4 * (X**2 + Y**2)) + beta * X * np.exp(-2 * (X**2 + Y**2))\n"
    "\n"
    "def data_equivariance_error(beta):\n"
    "    f = field(beta)\n"
    "    return float(np.mean(np.abs(np.rot90(f) - f)))\n"
    "\n"
    "def figure(beta):\n"
    "    fig = go.Figure(go.Heatmap(z=field(beta), zmin=-0.5, zmax=1.0))\n"
    "    fig.add_trace(go.Scatter(x=[0, 23], y=[12, 12 + 10 * beta], mode='lines'))\n"
    "    err = data_equivariance_error(beta)\n"
    "    fig.update_layout(width=420, height=360, title=f'β = {beta:.2f}, error {err:.4f}')\n"
    "    return fig",
    "slider = widgets.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.05, description='β',\n"
    "                             continuous_update=False)\n"
    "readout = widgets.HTML()\n"
    "readout.add_class('aeqkit-readout')\n"
    "out = widgets.Output()\n"
    "\n"
    "def update(change=None):\n"
    "    beta = slider.value\n"
    "    readout.value = f'data equivariance error: {data_equivariance_error(beta):.4f}'\n"
    "    with out:\n"
    "        out.clear_output(wait=True)\n"
    "        figure(beta).show()\n"
    "\n"
    "slider.observe(update, names='value')\n"
    "update()\n"
    "display(widgets.VBox([slider, readout, out]))",
]


def _demo_notebook() -> dict:
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"demo-{i}",
            "metadata": {},
            "outputs": [],
            "source": src,
        }
        for i, src in enumerate(_DEMO_CELLS)
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# ------------------------------------------------------------------------------------------------
# Fixtures: every resource is released by its fixture, also when a test fails.
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_available() -> None:
    """Skip (loudly in CI) with a message naming what is missing."""
    missing = missing_browser_requirements()
    if missing:
        message = "browser tests skipped, missing: " + "; ".join(missing)
        if IN_CI:
            message = "CI=true but " + message
            warnings.warn(message, UserWarning, stacklevel=1)
        pytest.skip(message)


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebooks exported from their sources (quick profile injected), plus the harness notebook."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    if NOTEBOOKS.is_dir() and list(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        export_notebooks(REPO, root)
    else:
        root.mkdir()
    story_parameters = {s.notebook: s.parameters for s in STORIES}
    for notebook in root.glob("*.ipynb"):
        inject_parameters(notebook, {**QUICK_PARAMETERS, **NOTEBOOK_PARAMETERS.get(notebook.name, {}),
                                     **story_parameters.get(notebook.name, {})})
    (root / DEMO_NOTEBOOK).write_text(json.dumps(_demo_notebook(), indent=1), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def lab_server(
    browser_available: None, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLabServer]:
    """JupyterLab on 127.0.0.1 (free port, temporary Jupyter dirs, no token)."""
    server = JupyterLabServer(
        root_dir=lab_root,
        work_dir=tmp_path_factory.mktemp("jupyter"),
        env={
            # The kernel imports this working tree's aeqkit, whatever the install mode.
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
            "AEQKIT_PROFILE": "quick",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(browser_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Debian chromium (fresh profile) as a playwright BrowserContext."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()


@pytest.fixture
def lab(chromium: object, lab_server: JupyterLabServer) -> Iterator[LabPage]:
    """A fresh browser tab on the server; its kernels are shut down afterwards."""
    page = chromium.new_page()  # type: ignore[attr-defined]
    try:
        yield LabPage(page, lab_server)
    finally:
        page.close()
        lab_server.shutdown_kernels()


def _require_notebook(name: str) -> None:
    source = NOTEBOOKS / f"{Path(name).stem}.py"
    if not source.exists():
        message = f"notebooks/{source.name} does not exist (yet)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


# ------------------------------------------------------------------------------------------------
# The story a person follows
# ------------------------------------------------------------------------------------------------


def _number_after(word: str, text: str) -> float:
    """Return the number that follows ``word`` in the readout text."""
    match = re.search(
        re.escape(word) + r"[^0-9+\-−.]*([-+−]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+−]?\d+)?)", text,
        flags=re.IGNORECASE,
    )
    if match is None:
        raise AssertionError(f"no '{word} <number>' in the readout text {text!r}")
    return parse_numbers(match.group(1))[0]


def _error_from_readout(text: str) -> float:
    """Return the number that follows the word "error" in the readout text."""
    return _number_after("error", text)


def _figure_numbers(figures: list[PlotlyFigureState]) -> list[float]:
    """Numbers a figure shows as such: its text (titles, annotations) and its curves' and bars' y."""
    numbers: list[float] = []
    for fig in figures:
        numbers += parse_numbers(fig.text)
        for trace in json.loads(fig.data_json):
            if trace.get("type") in {"scatter", "scattergl", "bar"} and trace.get("y"):
                ys = trace["y"] if isinstance(trace["y"], list) else [trace["y"]]
                numbers += [float(y) for y in ys if isinstance(y, int | float)]
    return numbers


def _assert_figure_shows(figures: list[PlotlyFigureState], error: float, where: str) -> None:
    """The figure must show the readout's error (a title number, a marker or a bar)."""
    tol = 5e-3 * max(abs(error), 1e-2)
    numbers = _figure_numbers(figures)
    assert any(abs(v - error) <= tol for v in numbers), (
        f"{where}: the plotly figure does not show the readout's error {error:.4g} "
        f"(within {tol:.1g}); numbers it shows: {sorted(set(numbers))[:40]}"
    )


def _assert_figures_rendered(figures: list[PlotlyFigureState], where: str) -> None:
    assert figures, f"{where}: no plotly figure on the page"
    blank = [f for f in figures if not f.rendered]
    assert not blank, f"{where}: plotly figures with an empty plot area: {blank}"


def _slide_and_read(
    lab: LabPage, slider_description: str, fraction: float, shot: Path, word: str = "error"
) -> tuple[float, float, list[PlotlyFigureState]]:
    """Drag the slider to ``fraction``; return (slider value, shown error, figures of its view).

    The readout and figures are those of the slider's ``.aeqkit-view`` box when there is one
    (``aeqkit.widgets.interactive_view``), else of the whole notebook.
    """
    slider = lab.slider(slider_description)
    scope = lab.view(slider_description)
    old_value = lab.slider_value(slider)
    old_text = lab.readout_text(scope)
    old_figures = lab.plotly_figures(scope)
    lab.drag_slider(slider, fraction)
    if lab.slider_value(slider) != old_value:
        # The kernel callback answers asynchronously: wait for the page to follow (a timeout
        # here is not an error by itself: the assertions below say what did not change).
        lab.wait_text_change(scope, READOUT_CLASS, old_text, timeout_ms=60_000)
        lab.wait_kernel_idle()
        lab.wait_figures_change(scope, old_figures, timeout_ms=30_000)
    lab.wait_plotly_rendered()
    value = lab.slider_value(slider)
    error = _number_after(word, lab.readout_text(scope))
    figures = lab.plotly_figures(scope)
    lab.screenshot(shot, around=scope or slider)
    return value, error, figures


def _record_timings(notebook: str, timings: dict[str, float]) -> None:
    """Print the story's timings and merge them into ``build/browser/timings.json``."""
    print(f"\n[browser] {notebook}: " + ", ".join(f"{k}={v:.4g}" for k, v in timings.items()))
    path = SCREENSHOTS / "timings.json"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        all_timings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        all_timings = {}
    all_timings[notebook] = {k: round(v, 6) for k, v in timings.items()}
    path.write_text(json.dumps(all_timings, indent=1, sort_keys=True), encoding="utf-8")


def _run_slider_story(lab: LabPage, story: SliderStory) -> dict[str, float]:
    """Open the story's notebook, run all cells, slide low then high, and assert what the page shows.

    On failure a screenshot and the page's HTML are saved as ``build/browser/<stem>_failure.*``.
    """
    stem = Path(story.notebook).stem
    for stale in SCREENSHOTS.glob(f"{stem}_failure.*"):
        stale.unlink()
    try:
        return _slider_story(lab, story)
    except BaseException:
        with contextlib.suppress(Exception):
            lab.screenshot(SCREENSHOTS / f"{stem}_failure.png")
            (SCREENSHOTS / f"{stem}_failure.html").write_text(lab.page.content(), encoding="utf-8")
        raise


def _slider_story(lab: LabPage, story: SliderStory) -> dict[str, float]:
    notebook, slider_description, word = story.notebook, story.slider, story.word
    timings: dict[str, float] = {}
    story_start = start = time.monotonic()
    lab.open_notebook(notebook)
    timings["open"] = time.monotonic() - start
    timings["run_all"] = lab.run_all_cells()
    print(f"\n[browser] {notebook}: ran all cells via {lab.run_all_path} {lab.run_all_log}")
    tracebacks = lab.traceback_outputs()
    assert not tracebacks, f"{notebook}: cells raised:\n" + "\n---\n".join(tracebacks)
    not_run = lab.unexecuted_code_cells()
    assert not not_run, f"{notebook}: code cells (0-based among code cells) did not run: {not_run}"

    slider = lab.slider(slider_description)
    assert slider.count() >= 1, f"{notebook}: no slider described {slider_description!r}"
    start = time.monotonic()
    lab.wait_plotly_rendered()
    lab.scroll_all_outputs_into_view()
    _assert_figures_rendered(lab.plotly_figures(), f"{notebook} after Run All")
    stem = Path(notebook).stem
    # Issue 16: every figure fits its output area in a 1400 px window; one screenshot per figure.
    too_wide = [f for f in lab.figure_fits() if not f.fits]
    assert not too_wide, f"{notebook}: figures wider than their output area: {too_wide}"
    shots = lab.screenshot_figures(SCREENSHOTS, stem)
    timings["figures"] = float(len(shots))
    timings["check_figures"] = time.monotonic() - start

    start = time.monotonic()
    low_value, low_error, low_figs = _slide_and_read(
        lab, slider_description, 0.0, SCREENSHOTS / f"{stem}_before.png", word
    )
    high_value, high_error, high_figs = _slide_and_read(
        lab, slider_description, 1.0, SCREENSHOTS / f"{stem}_after.png", word
    )
    timings["drags"] = time.monotonic() - start

    assert high_value > low_value, (
        f"{notebook}: dragging right did not raise {slider_description} ({low_value} -> {high_value})"
    )
    trend = "grow" if story.direction > 0 else "shrink"
    assert (high_error - low_error) * story.direction > 0, (
        f"{notebook}: shown {word} did not {trend} with {slider_description}: "
        f"{low_error} at {low_value} vs {high_error} at {high_value}"
    )
    if story.zero_at_left and low_value == 0.0:
        # No symmetry breaking: the data (or function) is exactly symmetric, the error ~0.
        assert abs(low_error) < 1e-6, (
            f"{notebook}: shown error at {slider_description}=0 is {low_error}, expected ~0"
        )
    scope = lab.view(slider_description)
    for box in lab.readout_layout(scope):
        assert box["lines"] <= 1, f"{notebook}: the readout wraps onto {box['lines']} lines"
        assert box["right"] <= box["view_right"] + 1, f"{notebook}: the readout is cut off: {box}"
    _assert_figures_rendered(low_figs, f"{notebook} at {slider_description}={low_value}")
    _assert_figures_rendered(high_figs, f"{notebook} at {slider_description}={high_value}")
    changed = [(a.drawn != b.drawn) or (a.data_json != b.data_json) for a, b in zip(low_figs, high_figs)]
    assert len(low_figs) != len(high_figs) or any(changed), (
        f"{notebook}: no plotly figure changed between {slider_description}={low_value} and {high_value}"
    )
    _assert_figure_shows(low_figs, low_error, f"{notebook} at {slider_description}={low_value}")
    _assert_figure_shows(high_figs, high_error, f"{notebook} at {slider_description}={high_value}")
    lab.scroll_all_outputs_into_view()
    _assert_figures_rendered(lab.plotly_figures(), f"{notebook} at the end")
    assert not lab.js_errors, f"{notebook}: JavaScript errors in the page: {lab.js_errors}"
    timings["low_error"], timings["high_error"] = low_error, high_error
    timings["low_value"], timings["high_value"] = low_value, high_value
    timings["total"] = time.monotonic() - story_start
    _record_timings(notebook, timings)
    return timings


def test_harness_demo_notebook(lab: LabPage) -> None:
    """The harness itself, on its own small notebook: a β slider moves a readout and a figure.

    Runs when a real notebook is missing or with ``AEQKIT_BROWSER_SELFTEST=1`` (otherwise the
    notebooks below exercise the same harness and the suite saves ~40 s).
    """
    real = [s for s in STORIES if (NOTEBOOKS / f"{Path(s.notebook).stem}.py").exists()]
    if len(real) == len(STORIES) and os.environ.get("AEQKIT_BROWSER_SELFTEST") != "1":
        pytest.skip(
            "harness self-test not needed: the real notebooks exercise the harness "
            "(set AEQKIT_BROWSER_SELFTEST=1 to run it)"
        )
    timings = _run_slider_story(lab, SliderStory(DEMO_NOTEBOOK, "β", zero_at_left=True))
    assert timings["low_value"] == 0.0 and timings["high_value"] == 1.0, timings


@pytest.mark.parametrize("story", STORIES, ids=[Path(s.notebook).stem[:2] for s in STORIES])
def test_notebook_widget(lab: LabPage, story: SliderStory) -> None:
    """Each notebook with a widget: its slider moves the readout the expected way, and the figures.

    00 (strength) and 01 (β) were this file's first two tests: dragging the symmetry-breaking
    slider up raises the shown equivariance error from ~0; 02 (α) lowers it; 05 (breaking b)
    raises the distinguishability of rotated copies.
    """
    _require_notebook(story.notebook)
    _run_slider_story(lab, story)


# ------------------------------------------------------------------------------------------------
# The harness's own checks (no JupyterLab needed)
# ------------------------------------------------------------------------------------------------


def test_readout_and_number_parsing() -> None:
    """Numbers are read from page text the way the readouts and figures print them."""
    assert parse_numbers("β = 0.900, error 3.682e-17, −1.5") == [0.9, 3.682e-17, -1.5]
    assert _error_from_readout("data equivariance error = 0.08818") == pytest.approx(0.08818)
    assert _error_from_readout("β 0.5\nequivariance error: 1e-3") == pytest.approx(1e-3)
    with pytest.raises(AssertionError, match="no 'error <number>'"):
        _error_from_readout("strength = 0.5")


def test_inject_parameters_only_known_names(tmp_path: Path) -> None:
    """Parameters are injected after the ``parameters`` cell, only for names it assigns."""
    nb = _demo_notebook()
    nb["cells"].insert(
        1,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "params",
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": 'PROFILE = "full"\nFIT_SECONDS: float = 6.0\n',
        },
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    names = inject_parameters(path, {"PROFILE": "quick", "FIT_SECONDS": 1.0, "OTHER": 3})
    assert names == ["PROFILE", "FIT_SECONDS"]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[2]["metadata"]["tags"] == ["injected-parameters"]
    assert "PROFILE = 'quick'" in "".join(cells[2]["source"])
    assert inject_parameters(tmp_path / "nb.ipynb", {"NOPE": 1}) == []


def test_missing_chromium_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without chromium the skip message names the missing binary and how to install it."""
    monkeypatch.setenv("AEQKIT_CHROMIUM", str(tmp_path / "no-chromium"))
    missing = missing_browser_requirements()
    assert any(str(tmp_path / "no-chromium") in m and "apt-get" in m for m in missing), missing


def test_harness_catches_page_errors(chromium: object) -> None:
    """An uncaught exception or console.error on the page is collected (so the check can fail)."""
    page = chromium.new_page()  # type: ignore[attr-defined]
    try:
        lab = LabPage(page)
        page.set_content("<p>harness</p>")
        page.evaluate("() => { console.error('aeqkit harness check'); }")
        page.evaluate("() => { setTimeout(() => { throw new Error('aeqkit boom'); }, 0); }")
        page.evaluate("() => { console.error('Failed to load resource: net::ERR_FAILED'); }")
        page.wait_for_timeout(200)
        assert any("aeqkit harness check" in e for e in lab.js_errors), lab.js_errors
        assert any("aeqkit boom" in e for e in lab.js_errors), lab.js_errors
        assert len(lab.js_errors) == 2 and len(lab.ignored_console_errors) == 1
    finally:
        page.close()


def test_every_widget_notebook_has_a_story() -> None:
    """A notebook source that builds a widget (``interactive_view(``) must have a slider story."""
    with_widget = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")
                   if "interactive_view(" in p.read_text(encoding="utf-8")}
    told = {Path(s.notebook).stem for s in STORIES}
    assert with_widget <= told, f"notebooks with a widget but no browser story: {sorted(with_widget - told)}"


def test_harness_detects_a_wrapped_readout(chromium: object) -> None:
    """The readout check counts text lines: a squeezed readout wraps, a nowrap one does not."""
    page = chromium.new_page()  # type: ignore[attr-defined]
    try:
        lab = LabPage(page)
        page.set_content(
            '<div class="jp-NotebookPanel"><div class="aeqkit-view" style="width:120px">'
            '<div class="aeqkit-readout">data equivariance error = 0.08818</div>'
            '<div class="aeqkit-readout"><span class="aeqkit-readout-text" style="white-space:nowrap">'
            "error = 0.1</span></div></div></div>"
        )
        wrapped, single = lab.readout_layout(page.locator(".aeqkit-view"))
        assert wrapped["lines"] >= 2 and single["lines"] == 1
        assert single["right"] <= single["view_right"] + 1
    finally:
        page.close()
