"""Notebook sources: read the jupytext percent scripts ``notebooks/NN_name.py``, make the student
edition, export stripped ``.ipynb`` files.

The percent scripts in ``notebooks/`` are the only tracked form of the notebooks (see
``notebooks/jupytext.toml`` and DEVELOPERS.md). Exports are stripped (no outputs, no execution
counts) with stable cell ids (``NN-ii``: notebook number, cell index), so two exports of the same
source are byte-identical. The student edition removes every exercise solution: in a code cell the
lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become ``raise NotImplementedError(...)``
(keeping the indentation), and a cell tagged ``solution`` is dropped.

The command-line tools ``tools/export_notebooks.py``, ``tools/run_notebooks.py`` and
``tools/build_docs.py`` share this module. ``jupytext`` and ``nbformat`` (the ``notebooks`` extra)
are imported only when a notebook is read or written.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

#: the repository's notebook sources (in a source checkout)
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EDITIONS = ("teacher", "student")
SOLUTION_TAG = "solution"
BEGIN_SOLUTION = "# BEGIN SOLUTION"
END_SOLUTION = "# END SOLUTION"
STUDENT_STUB = 'raise NotImplementedError("your turn: write this part (see the hint above)")'

__all__ = [
    "NOTEBOOKS", "EDITIONS", "SOLUTION_TAG", "BEGIN_SOLUTION", "END_SOLUTION", "STUDENT_STUB",
    "list_sources", "read_source", "to_student", "has_solutions", "write_text_atomic", "write_notebook",
    "export", "export_all",
]


def list_sources(only: list[str] | None = None, root: Path = NOTEBOOKS) -> list[Path]:
    """The sequence ``notebooks/NN_*.py`` in order, optionally filtered by name (prefix or stem)."""
    paths = sorted(root.glob("[0-9][0-9]_*.py"))
    if not only:
        return paths
    chosen = [p for p in paths if any(p.stem == o or p.stem.startswith(o) or p.name == o
                                      or Path(o).stem == p.stem for o in only)]
    if not chosen:
        raise ValueError(f"expected --only among {[p.stem for p in paths]}, got {only}")
    return chosen


def read_source(path: Path) -> Any:
    """Read a percent-script notebook source into an ``nbformat`` 4.5 notebook, stripped.

    Cell ids are ``NN-ii`` (the notebook's two-digit prefix and the cell index), so exports are
    deterministic; volatile metadata (``jupytext`` pairing, ``language_info``) is dropped.
    """
    import jupytext
    import nbformat

    path = Path(path)
    if path.suffix != ".py":
        raise ValueError(f"expected a notebooks/NN_name.py source, got {path}")
    nb = jupytext.read(path, fmt="py:percent")
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata.pop("jupytext", None)
    nb.metadata.pop("language_info", None)
    prefix = path.stem.split("_", 1)[0]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{prefix}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def _strip_solution_lines(source: str, where: str) -> str:
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if inside:
                raise ValueError(f"{where}: nested {BEGIN_SOLUTION!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUDENT_STUB}")
        elif stripped == END_SOLUTION:
            if not inside:
                raise ValueError(f"{where}: {END_SOLUTION!r} without {BEGIN_SOLUTION!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN_SOLUTION!r} without {END_SOLUTION!r}")
    return "\n".join(out)


def to_student(nb: Any, name: str = "notebook") -> Any:
    """The student edition of a (teacher) notebook: solution blocks and ``solution`` cells removed."""
    import copy

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code" and BEGIN_SOLUTION in cell.source:
            cell.source = _strip_solution_lines(cell.source, f"{name} cell {cell.get('id')}")
        cells.append(cell)
    nb.cells = cells
    return nb


def has_solutions(nb: Any) -> bool:
    """Whether a notebook still holds a solution block or a ``solution``-tagged cell."""
    pattern = re.compile(r"^\s*# (BEGIN|END) SOLUTION\s*$", re.MULTILINE)
    return any(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) or pattern.search(c.source)
               for c in nb.cells)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) through a temporary file in the same folder, so a reader
    never sees a half-written file; the file gets the usual permissions (``0o666`` minus umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_notebook(nb: Any, dest: Path) -> None:
    """Write a notebook as ``nbformat.write`` does (trailing newline), atomically."""
    import nbformat

    text = nbformat.writes(nb)
    write_text_atomic(dest, text if text.endswith("\n") else text + "\n")


def export(source: Path, out_dir: Path, edition: str = "teacher") -> Path:
    """Write ``out_dir/NN_name.ipynb`` for one source in the given edition; return its path."""
    if edition not in EDITIONS:
        raise ValueError(f"expected edition in {EDITIONS}, got {edition!r}")
    source = Path(source)
    nb = read_source(source)
    if edition == "student":
        nb = to_student(nb, source.stem)
    dest = Path(out_dir) / f"{source.stem}.ipynb"
    write_notebook(nb, dest)
    return dest


def export_all(out_dir: Path, edition: str = "teacher", only: list[str] | None = None) -> list[Path]:
    """Export every notebook source (or ``only``) to ``out_dir``; return the written paths."""
    return [export(p, out_dir, edition) for p in list_sources(only)]
