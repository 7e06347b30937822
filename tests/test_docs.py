"""The docs site (``make docs``): built offline from the executed notebooks, rendered in Chromium.

Fast tests check the build tool's pieces (syllabus, plotly conversion, API page). The ``slow``
build test reuses the executed notebooks of the notebook regression (the ``summary`` fixture of
``tests/test_notebooks.py``: a fresh ``build/summary.json`` is reused, never re-run) and builds the
site into ``build/docs``; the ``browser`` test opens every notebook page in headless Chromium and
checks that its plotly figures render and that the page logs no console errors.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_notebooks import summary  # noqa: F401 - the shared, session-scoped notebook run

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
OUT = ROOT / "build" / "docs"


def _tool():
    name = "aeqkit_build_docs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "build_docs.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_syllabus_entry_has_title_goals_and_time(path: Path) -> None:
    entry = _tool().syllabus_entry(path)
    assert entry["title"].startswith(path.stem[:2]), entry["title"]
    assert len(entry["goals"]) >= 2, f"{path.stem}: learning goals not found"
    assert entry["minutes"] and entry["minutes"] >= sum(m for _, m in entry["sections"]) * 0.8
    assert entry["sections"], f"{path.stem}: no timed sections"


def test_plotly_outputs_become_self_contained_html() -> None:
    tool = _tool()
    fig = {"data": [{"type": "scatter", "y": [1, 2], "name": "</script><b>x"}], "layout": {"height": 300},
           "frames": [{"name": "f0", "data": [{"y": [2, 1]}]}]}
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {tool.PLOTLY_MIME: fig}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/vnd.aeqkit.metric+json": {"name": "a"}},
         "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "hello"}]}]}
    out, count = tool.convert_outputs(nb, "00")
    outputs = out["cells"][0]["outputs"]
    assert count == 1 and len(outputs) == 2, outputs
    block = outputs[0]["data"]["text/html"]
    assert "Plotly.newPlot('00-fig0'" in block and "</script><b>" not in block.split("<script>")[1][:-9]
    assert "cdn" not in block and "http" not in block
    assert '"frames":[{"name":"f0"' in block, "animation frames were dropped"


def test_api_page_lists_public_modules() -> None:
    page = _tool().api_page()
    for module in ("aeqkit.groups", "aeqkit.equivariance", "aeqkit.nn", "aeqkit.record", "aeqkit.viz"):
        assert f".. automodule:: {module}\n" in page
    assert "aeqkit.nn._common" not in page


def test_missing_executed_notebooks_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert _tool().main(["--notebooks", str(tmp_path / "none"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert "make run" in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def site(summary: dict) -> Path:  # noqa: F811 - the imported fixture
    for module in ("sphinx", "myst_nb", "furo"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"docs toolchain missing ({module}): pip install -e '.[docs]'")
    out_dirs = {str(Path(r["output"]).parent) for r in summary["notebooks"] if r.get("output")}
    notebooks = ROOT / (out_dirs.pop() if len(out_dirs) == 1 else "build/notebooks")
    return _tool().build(notebooks, OUT)


@pytest.mark.slow
@pytest.mark.notebooks
def test_site_builds_offline_with_syllabus_api_and_notebooks(site: Path) -> None:
    html_dir = site.parent
    index = site.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}.html" in index, f"{path.stem} missing from the index"
        assert (html_dir / "notebooks" / f"{path.stem}.html").exists()
    assert "Syllabus" in index and re.search(r"— \d+ min", index) and "hours) of class time" in index
    api = (html_dir / "api.html").read_text(encoding="utf-8")
    assert "equivariance_error" in api and "RelaxedRotGroupConv2d" in api
    assert (html_dir / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    assert (html_dir / "readme.html").exists() and (html_dir / "design.html").exists()
    remote = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    for page in html_dir.rglob("*.html"):
        hit = remote.search(page.read_text(encoding="utf-8"))
        assert hit is None, f"{page.relative_to(html_dir)} loads a remote asset: {hit.group(0)}"
    figures = json.loads((html_dir / "figures.json").read_text())
    assert sum(figures.values()) >= len(NOTEBOOKS), figures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.notebooks
def test_site_pages_render_plotly_without_console_errors(served: str, site: Path) -> None:
    from browser_support import BENIGN_CONSOLE_PATTERNS, launch_chromium, missing_browser_requirements

    missing = missing_browser_requirements()
    if missing:
        pytest.skip("; ".join(missing))
    from playwright.sync_api import sync_playwright

    figures = json.loads((site.parent / "figures.json").read_text())
    shots = ROOT / "build" / "browser" / "docs"
    problems: list[str] = []
    playwright = sync_playwright().start()
    try:
        context = launch_chromium(playwright)
        try:
            for name, expected in figures.items():
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc, e=errors: e.append(f"pageerror: {exc}"))
                page.goto(f"{served}/notebooks/{name}.html", wait_until="load", timeout=60_000)
                if expected:
                    page.wait_for_function(
                        f"document.querySelectorAll('.aeqkit-plotly .main-svg').length >= {expected}",
                        timeout=60_000)
                drawn = page.evaluate("""() => Array.from(document.querySelectorAll('.aeqkit-plotly'))
                    .map(d => { const s = d.querySelector('.main-svg');
                                return s ? s.getBoundingClientRect().width * s.getBoundingClientRect().height
                                         : 0; })""")
                if len(drawn) != expected or not all(a > 1000 for a in drawn):
                    problems.append(f"{name}: expected {expected} drawn figures, got areas {drawn}")
                if name.startswith("05"):  # LaTeX in the markdown: offline MathJax must typeset it
                    page.wait_for_selector("mjx-container", timeout=30_000)
                real = [e for e in errors if not any(re.search(p, e) for p in BENIGN_CONSOLE_PATTERNS)]
                if real:
                    problems.append(f"{name}: console errors {real[:3]}")
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"{name}.png"))
                page.close()
        finally:
            context.close()
    finally:
        playwright.stop()
    assert not problems, "; ".join(problems)
