"""Committed notebooks are stripped, parameterised and thin (they import aeqkit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _load(path: Path) -> dict:
    with open(path) as fh:
        return json.load(fh)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped(path: Path) -> None:
    nb = _load(path)
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs", []) == [], f"{path.name} cell {i} has outputs: strip them"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
        volatile = set(cell.get("metadata", {})) & {"execution", "papermill", "scrolled", "collapsed"}
        assert not volatile, f"{path.name} cell {i} has volatile metadata {volatile}"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name} stores widget state"
    assert "papermill" not in nb.get("metadata", {}), f"{path.name} is an executed copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_parameters_cell_and_imports_aeqkit(path: Path) -> None:
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    params = _source(tagged[0])
    assert "PROFILE" in params and "SEED" in params, f"{path.name}: parameters lack PROFILE/SEED"
    # the parameters cell comes before any heavy work: only the setup cell may precede it
    assert code.index(tagged[0]) <= 1, f"{path.name}: parameters cell should follow the setup cell"
    assert any("import aeqkit" in _source(c) or "from aeqkit" in _source(c) for c in code), (
        f"{path.name} does not import aeqkit"
    )
    assert nb["cells"][0]["cell_type"] == "markdown" and _source(nb["cells"][0]).startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_records_metrics_and_cells_are_thin(path: Path) -> None:
    nb = _load(path)
    code = [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("record(" in src for src in code), f"{path.name} records no metric"
    longest = max(len(src.splitlines()) for src in code)
    assert longest <= 40, f"{path.name} has a {longest}-line cell: move the code into aeqkit"


def test_generated_notebooks_match_their_generator() -> None:
    gen = ROOT / "tools" / "make_notebooks.py"
    if not gen.exists():
        pytest.skip("tools/make_notebooks.py not present")
    res = subprocess.run(
        [sys.executable, str(gen), "--check"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr
