"""Build the static aeqkit site (``make docs``) from the executed notebooks, offline.

Usage::

    python tools/build_docs.py [--notebooks build/notebooks] [--out build/docs]

Stages a Sphinx source folder in ``<out>/src``: ``docs/`` (configuration, index, styles), the
README and DESIGN notes, an API reference generated from the package's module list
(autodoc, docstrings), a syllabus built from each notebook source's title, learning goals and
time estimate, and the executed notebooks of ``make run`` (``build/notebooks/NN_name.ipynb``,
never re-executed). Plotly outputs (``application/vnd.plotly.v1+json``) become an HTML block that
draws the figure with the plotly.js shipped by the ``plotly`` package (copied into ``_static``), so
the site needs no network. The site is written to ``<out>/html`` (open ``index.html``).

Exit status: 0 built, 1 Sphinx failed, 2 a user error (missing executed notebooks or the docs
toolchain, with the command that fixes it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from aeqkit.notebooks import list_sources, read_source

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
DROPPED_MIMES = ("application/vnd.aeqkit.metric+json", "application/vnd.jupyter.widget-view+json",
                 "application/vnd.jupyter.widget-state+json")

__all__ = ["syllabus_entry", "plotly_html", "convert_outputs", "registry_tables", "api_page", "stage",
           "build", "main"]


def syllabus_entry(source: Path) -> dict[str, Any]:
    """Title, learning goals and class time of a notebook source (``notebooks/NN_name.py``)."""
    nb = read_source(source)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    title = md[0].splitlines()[0].lstrip("# ").strip() if md else source.stem
    text = "\n\n".join(md)
    goals: list[str] = []
    match = re.search(r"(?:^## Learning goals|\*\*Learning goals\*\*)\s*\n(.*?)(?:\n\s*\n(?!- )|\Z)", text,
                      re.MULTILINE | re.DOTALL)
    if match:
        for line in match.group(1).splitlines():
            if line.strip().startswith("- "):
                goals.append(line.strip()[2:].strip())
            elif goals and line.strip():  # a goal continued on the next line
                goals[-1] += " " + line.strip()
    minutes = re.search(r"\*\*Time\*\*:\s*about\s+(\d+)\s+minutes", text)
    sections = re.findall(r"^## (.+?) \(≈ (\d+) min\)$", text, re.MULTILINE)
    return {"name": source.stem, "title": title, "goals": goals,
            "minutes": int(minutes.group(1)) if minutes else None,
            "sections": [(s, int(m)) for s, m in sections]}


def _syllabus_markdown(entries: list[dict[str, Any]]) -> str:
    """One MyST block per notebook: linked title with its class time, then its learning goals."""
    parts = []
    for e in entries:
        minutes = f" — {e['minutes']} min" if e["minutes"] else ""
        parts.append(f"### [{e['title']}](notebooks/{e['name']}.ipynb){minutes}\n")
        parts += [f"- {g}" for g in e["goals"]] or ["- see the notebook"]
        if e["sections"]:
            parts.append("\n*Sections:* " + "; ".join(f"{s} ({m} min)" for s, m in e["sections"]) + ".")
        parts.append("")
    total = sum(e["minutes"] or 0 for e in entries)
    parts.append(f"In all about {total} minutes ({total / 60:.1f} hours) of class time.")
    return "\n".join(parts)


def plotly_html(figure: dict[str, Any], div_id: str) -> str:
    """An HTML block that draws a plotly figure JSON with the page's plotly.js (no network)."""
    layout = figure.get("layout", {})
    spec = {"data": figure.get("data", []), "layout": layout,
            "config": {"responsive": True, "displaylogo": False, **figure.get("config", {})}}
    if figure.get("frames"):  # animations (e.g. the smoke gallery) keep their frames
        spec["frames"] = figure["frames"]
    height = layout.get("height") or 450

    def js(obj: Any) -> str:  # JSON that is safe inside <script>
        return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")

    return (f'<div class="aeqkit-plotly-wrap"><div id="{div_id}" class="aeqkit-plotly" '
            f'style="min-height:{int(height)}px"></div></div>\n'
            f"<script>window.addEventListener('DOMContentLoaded',function(){{"
            f"Plotly.newPlot('{div_id}',{js(spec)});}});</script>")


def convert_outputs(nb: dict[str, Any], prefix: str) -> tuple[dict[str, Any], int]:
    """Plotly outputs → HTML, harness/widget outputs dropped; returns the notebook and #figures."""
    count = 0
    for cell in nb.get("cells", []):
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is None:
                outputs.append(out)
                continue
            if PLOTLY_MIME in data:
                fig = data[PLOTLY_MIME]
                if isinstance(fig, str):
                    fig = json.loads(fig)
                out = {**out, "data": {"text/html": plotly_html(fig, f"{prefix}-fig{count}")}}
                count += 1
            else:
                kept = {k: v for k, v in data.items() if k not in DROPPED_MIMES}
                if not kept:
                    continue
                out = {**out, "data": kept}
            outputs.append(out)
        if cell.get("cell_type") == "code":
            cell["outputs"] = outputs
    return nb, count


def _modules() -> list[str]:
    import aeqkit

    names = ["aeqkit"]
    for info in pkgutil.walk_packages(aeqkit.__path__, "aeqkit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def registry_tables() -> str:
    """Markdown tables of the registered data sets and models (from the registries, never by hand)."""
    from aeqkit.data.registry import dataset_table
    from aeqkit.models.registry import model_specs

    parts = ["## Data sets", "",
             "Registered with `aeqkit.data.register_dataset` (built-in ones in `aeqkit.data.catalog`); "
             "load one with `aeqkit.data.load_dataset(name, profile)`.", "", dataset_table(), "",
             "## Models", "", "Registered with `aeqkit.models.registry.register_model`; build one with "
             "`aeqkit.models.build(name, symmetry)`.", "",
             "| model | name in the paper | kind | symmetries |", "|---|---|---|---|"]
    for spec in model_specs().values():
        syms = ", ".join("none" if s is None else s for s in spec.symmetries)
        parts.append(f"| `{spec.name}` | {spec.display_name} | {spec.kind} | {syms} |")
    return "\n".join(parts) + "\n"


def api_page() -> str:
    """The API reference page: the registered data sets and models, then one autodoc section per
    public module of the package."""
    parts = ["# API reference", "",
             "Generated from the registries and the docstrings of every public module of `aeqkit` "
             "(shapes follow PyTorch's `(B, C, H, W)`; equation numbers refer to the paper).", "",
             registry_tables()]
    for name in _modules():
        parts += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}", "   :members:", "```", ""]
    return "\n".join(parts)


def _rewrite_links(text: str) -> str:
    """Links in README/DESIGN that point into the repository become plain code (no dead links)."""
    return re.sub(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)", r"\1 (`\2`)", text)


def stage(notebooks: Path, src: Path) -> dict[str, int]:
    """Write the Sphinx source folder ``src``; return ``{notebook: number of plotly figures}``."""
    sources = list_sources()
    missing = [p.stem for p in sources if not (notebooks / f"{p.stem}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(f"executed notebooks missing in {notebooks}: {missing}; "
                                "run `make run` first (the docs never re-execute notebooks)")
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("__pycache__", "_build"))
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", src / "_static")
    for name, target in (("README.md", "readme.md"), ("DESIGN.md", "design.md")):
        (src / target).write_text(_rewrite_links((ROOT / name).read_text(encoding="utf-8")), encoding="utf-8")
    (src / "api.md").write_text(api_page(), encoding="utf-8")
    entries = [syllabus_entry(p) for p in sources]
    index = (src / "index.md").read_text(encoding="utf-8")
    index = index.replace("<!-- syllabus -->", _syllabus_markdown(entries))
    index = index.replace("<!-- toctree -->", "\n".join(f"notebooks/{p.stem}" for p in sources))
    (src / "index.md").write_text(index, encoding="utf-8")
    (src / "notebooks").mkdir()
    figures = {}
    for p in sources:
        nb = json.loads((notebooks / f"{p.stem}.ipynb").read_text(encoding="utf-8"))
        nb, figures[p.stem] = convert_outputs(nb, p.stem[:2])
        (src / "notebooks" / f"{p.stem}.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (src / "figures.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


def build(notebooks: Path = ROOT / "build" / "notebooks", out: Path = ROOT / "build" / "docs",
          quiet: bool = True) -> Path:
    """Stage and build the site; return the path of ``index.html``.

    Raises:
        FileNotFoundError: executed notebooks are missing (run ``make run``).
        ModuleNotFoundError: the docs toolchain is not installed (``pip install -e .[docs]``).
        RuntimeError: Sphinx failed (its output tail in the message).
    """
    for module in ("sphinx", "myst_nb", "furo"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"the docs toolchain is missing ({module}); install it with "
                                      "`.venv/bin/pip install -e '.[docs]'` (or `make install`)")
    src, html_dir = out / "src", out / "html"
    stage(notebooks, src)
    env = {**os.environ, "AEQKIT_ROOT": str(ROOT), "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-j", "1", str(src), str(html_dir)]
    if quiet:
        cmd.insert(3, "-q")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    (out / "sphinx.log").write_text(res.stdout + res.stderr, encoding="utf-8")
    if res.returncode != 0:
        tail = (res.stdout + res.stderr)[-2000:]
        raise RuntimeError(f"sphinx-build failed (exit {res.returncode}): {tail}")
    shutil.copy(src / "figures.json", html_dir / "figures.json")
    return html_dir / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "build" / "notebooks",
                        help="folder of executed notebooks (from `make run`)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's output")
    args = parser.parse_args(argv)
    try:
        index = build(args.notebooks, args.out, quiet=not args.verbose)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        print(f"build_docs: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"build_docs: {exc}", file=sys.stderr)
        return 1
    warnings = (args.out / "sphinx.log").read_text(encoding="utf-8").count("WARNING")
    print(f"site: {index} ({warnings} Sphinx warnings, log in {args.out / 'sphinx.log'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
