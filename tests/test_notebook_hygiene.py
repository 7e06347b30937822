"""Notebook sources are canonical jupytext percent scripts, parameterised and thin (they import aeqkit).

The tracked form of every notebook is ``notebooks/NN_name.py`` (see ``notebooks/jupytext.toml``);
``tools/export_notebooks.py`` turns it into a stripped ``.ipynb``. A JupyterLab edit (saved
through jupytext's contents manager, or made in the paired ``.ipynb`` and then ``make sync``) must
keep passing these checks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
JUPYTEXT = Path(sys.executable).with_name("jupytext")


def _export():
    name = "aeqkit_export_notebooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "export_notebooks.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _canonical_text(path: Path) -> str:
    """What jupytext writes for this source under the project's pairing config."""
    import jupytext
    from jupytext.config import load_jupytext_configuration_file

    config = load_jupytext_configuration_file(str(path.parent / "jupytext.toml"))
    nb = jupytext.read(path)
    return jupytext.writes(nb, fmt="py:percent", config=config)


def check_source(path: Path) -> None:
    """Every hygiene property of one notebook source (assertions name the notebook and cell)."""
    text = path.read_text(encoding="utf-8")
    assert text == _canonical_text(path), (
        f"{path.name} is not in canonical jupytext form: run `make sync` (jupytext --sync)"
    )
    nb = _export().read_source(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        volatile = set(cell.metadata) & {"execution", "papermill", "scrolled", "collapsed"}
        assert not volatile, f"{path.name} cell {cell.id} has volatile metadata {volatile}"
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state"
    assert "papermill" not in nb.metadata, f"{path.name} is an executed copy"
    assert "budget_s" in nb.metadata.get("aeqkit", {}), f"{path.name}: no aeqkit.budget_s metadata"
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    params = tagged[0].source
    assert "PROFILE" in params and "SEED" in params, f"{path.name}: parameters lack PROFILE/SEED"
    # the parameters cell comes before any heavy work: only the setup cell may precede it
    assert code.index(tagged[0]) <= 1, f"{path.name}: parameters cell should follow the setup cell"
    assert any("import aeqkit" in c.source or "from aeqkit" in c.source for c in code), (
        f"{path.name} does not import aeqkit"
    )
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert any("record(" in c.source for c in code), f"{path.name} records no metric"
    longest = max(len(c.source.splitlines()) for c in code)
    assert longest <= 40, f"{path.name} has a {longest}-line cell: move the code into aeqkit"


# words that belong to the developers' tooling or to material students do not have
DEVELOPER_WORDS = ("papermill", "headless", "harness", "the talk", "make_notebooks", "AEQKIT_HEADLESS")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_developer_facing_text(path: Path) -> None:
    """Markdown and code comments speak to a student: no tooling remarks, no unavailable sources."""
    nb = _export().read_source(path)
    found = []
    for cell in nb.cells:
        lines = cell.source.splitlines()
        if cell.cell_type == "code":
            lines = [ln.split("#", 1)[1] for ln in lines if "#" in ln]
        for line in lines:
            found += [w for w in DEVELOPER_WORDS if w.lower() in line.lower()]
    assert not found, f"{path.name}: developer-facing words in the text: {sorted(set(found))}"


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]
    assert (NOTEBOOK_DIR / "jupytext.toml").exists()
    assert not (ROOT / "tools" / "make_notebooks.py").exists(), "the generator is gone: edit the .py"


def test_no_ipynb_is_tracked() -> None:
    """Only the ``.py`` sources are tracked; paired ``.ipynb`` files are local (git-ignored)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    res = subprocess.run(["git", "ls-files", "notebooks"], capture_output=True, text=True, cwd=ROOT)
    tracked = [p for p in res.stdout.split() if p.endswith(".ipynb")]
    assert not tracked, f"tracked notebooks outside the jupytext sources: {tracked}"
    res = subprocess.run(["git", "check-ignore", "-q", "notebooks/00_x.ipynb"], cwd=ROOT)
    assert res.returncode == 0, "notebooks/*.ipynb (the paired copies) should be git-ignored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_source_hygiene(path: Path) -> None:
    check_source(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_export_is_stripped_and_deterministic(path: Path, tmp_path: Path) -> None:
    export = _export()
    a = export.export(path, tmp_path / "a")
    b = export.export(path, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes(), "two exports of one source differ"
    nb = json.loads(a.read_text())
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == len(ids) and ids[0] == f"{path.stem[:2]}-00"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"cell {i}"


def _lab_edit(nb) -> None:
    """What a JupyterLab session does to a notebook: run it, add a cell, touch metadata."""
    import nbformat

    nb.metadata["language_info"] = {"name": "python", "version": "3.11.9", "mimetype": "text/x-python"}
    for cell in nb.cells:
        cell.metadata["editable"] = True
        if cell.cell_type == "code":
            cell.execution_count = 7
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
            cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nb.cells.append(nbformat.v4.new_code_cell("x_lab_edit = 1 + 1\nx_lab_edit",
                                              metadata={"scrolled": True}))


def test_lab_save_through_jupytext_is_accepted(tmp_path: Path) -> None:
    """Saving from JupyterLab (jupytext's contents manager) writes a source the checks accept."""
    pytest.importorskip("jupyter_server")
    from jupytext import TextFileContentsManager

    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK_DIR / "jupytext.toml", root)
    name = NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], root / name)
    cm = TextFileContentsManager(root_dir=str(root))
    model = cm.get(name, content=True, type="notebook")
    nb = model["content"]
    _lab_edit(nb)
    cm.save({"type": "notebook", "content": nb}, name)
    assert (root / name.replace(".py", ".ipynb")).exists(), "pairing did not write the .ipynb"
    text = (root / name).read_text()
    assert "x_lab_edit = 1 + 1" in text and "iopub" not in text and "language_info" not in text
    check_source(root / name)


def test_edit_in_paired_ipynb_then_sync_is_accepted(tmp_path: Path) -> None:
    """Editing the paired ``.ipynb`` (any editor) then ``make sync`` updates the source cleanly."""
    import jupytext

    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK_DIR / "jupytext.toml", root)
    src = root / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], src)
    res = subprocess.run([str(JUPYTEXT), "--sync", str(src)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    ipynb = src.with_suffix(".ipynb")
    nb = jupytext.read(ipynb)
    _lab_edit(nb)
    jupytext.write(nb, ipynb)
    future = time.time() + 5
    os.utime(ipynb, (future, future))
    # the documented command (Makefile `sync`)
    res = subprocess.run([str(JUPYTEXT), "--sync", str(src)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "x_lab_edit = 1 + 1" in src.read_text()
    check_source(src)


# --- teacher and student editions ------------------------------------------------------------

METHOD_NOTEBOOKS = ("02", "05")  # each has a "write it yourself" exercise (Eq. 4; the LieGAN step)
UNTIMED_SECTIONS = ("Learning goals", "Prerequisites", "Summary", "Exercises", "References")


def _exercise_cells(nb) -> list[int]:
    export = _export()
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and export.BEGIN_SOLUTION in c.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sections_have_time_estimates(path: Path) -> None:
    nb = _export().read_source(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Time**" in markdown, f"{path.name}: no overall time estimate"
    import re

    headings = re.findall(r"^## (.+)$", markdown, re.MULTILINE)
    untimed = [h for h in headings if not h.startswith(UNTIMED_SECTIONS) and not re.search(r"≈ \d+ min", h)]
    assert not untimed, f"{path.name}: sections without a time estimate (≈ N min): {untimed}"


@pytest.mark.parametrize("prefix", METHOD_NOTEBOOKS)
def test_method_notebook_has_exercise_with_hint_and_self_check(prefix: str) -> None:
    (path,) = [p for p in NOTEBOOKS if p.stem.startswith(prefix)]
    nb = _export().read_source(path)
    cells = _exercise_cells(nb)
    assert cells, f"{path.name}: no '# BEGIN SOLUTION' exercise"
    for i in cells:
        before = "\n".join(c.source for c in nb.cells[max(0, i - 2):i] if c.cell_type == "markdown")
        after = [c.source for c in nb.cells[i + 1:i + 4] if c.cell_type == "code"]
        assert "Hint" in before and "<details>" in before, f"{path.name} cell {i}: no hint above"
        assert after and "assert " in after[0], f"{path.name} cell {i}: no assert-based self-check below"
        assert "Write it yourself" in "\n".join(c.source for c in nb.cells[max(0, i - 3):i])


def test_student_edition_has_no_solutions(tmp_path: Path) -> None:
    export = _export()
    assert export.main(["--edition", "student", "--out", str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*.ipynb"))
    assert [p.stem for p in written] == [p.stem for p in NOTEBOOKS]
    n_blocks = 0
    for src, out in zip(NOTEBOOKS, written):
        import nbformat

        teacher, student = export.read_source(src), nbformat.read(out, as_version=4)
        assert not export.has_solutions(student), f"{out.name} still holds a solution"
        student_text = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        for i in _exercise_cells(teacher):
            n_blocks += 1
            body = teacher.cells[i].source.split(export.BEGIN_SOLUTION)[1].split(export.END_SOLUTION)[0]
            for line in body.strip().splitlines():
                if len(line.strip()) > 12:  # a solution line, not a bare `return` or bracket
                    assert line.strip() not in student_text, f"{out.name}: solution line leaked: {line!r}"
        answers = [c for c in teacher.cells if export.SOLUTION_TAG in c.metadata.get("tags", [])]
        assert len(student.cells) == len(teacher.cells) - len(answers)
        assert student_text.count("raise NotImplementedError(") >= len(_exercise_cells(teacher))
        # what is left is still valid Python in every code cell
        for c in student.cells:
            if c.cell_type == "code":
                compile(c.source.replace("%", "#"), out.name, "exec")
    assert n_blocks >= len(METHOD_NOTEBOOKS)


def test_student_stub_keeps_indentation_and_rejects_unbalanced_markers() -> None:
    import nbformat

    export = _export()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    y = x + 1\n    # END SOLUTION\n    return y")])
    out = export.to_student(nb)
    assert out.cells[0].source == (
        "def f(x):\n    y = 1\n    " + export.STUDENT_STUB + "\n    return y")
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1")])
    with pytest.raises(ValueError, match="without"):
        export.to_student(bad)
