"""Build ``.ipynb`` notebooks from the jupytext sources ``notebooks/NN_name.py``.

Usage::

    python tools/export_notebooks.py [--edition teacher|student] [--out DIR] [--only NAME ...]

The percent scripts in ``notebooks/`` are the only tracked form of the notebooks (see
``notebooks/jupytext.toml`` and DEVELOPERS.md). This tool writes stripped notebooks (no outputs,
no execution counts) with stable cell ids (``NN-ii``: notebook number, cell index) so that two
exports of the same source are byte-identical:

- ``--edition teacher`` (default, ``build/ipynb/``): the sources as they are, solutions included;
  this is what ``tools/run_notebooks.py`` executes.
- ``--edition student`` (``make student`` → ``build/student/``): every exercise solution removed.
  In a code cell the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` become
  ``raise NotImplementedError(...)`` (keeping the indentation), and a cell tagged ``solution``
  (e.g. a worked answer to a "Think" question) is dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EDITIONS = ("teacher", "student")
SOLUTION_TAG = "solution"
BEGIN_SOLUTION = "# BEGIN SOLUTION"
END_SOLUTION = "# END SOLUTION"
STUDENT_STUB = 'raise NotImplementedError("your turn: write this part (see the hint above)")'

__all__ = [
    "EDITIONS", "SOLUTION_TAG", "BEGIN_SOLUTION", "END_SOLUTION", "list_sources", "read_source",
    "to_student", "export", "export_all", "main",
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


def _write_atomic(nb: Any, dest: Path) -> None:
    import nbformat

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export(source: Path, out_dir: Path, edition: str = "teacher") -> Path:
    """Write ``out_dir/NN_name.ipynb`` for one source in the given edition; return its path."""
    if edition not in EDITIONS:
        raise ValueError(f"expected edition in {EDITIONS}, got {edition!r}")
    source = Path(source)
    nb = read_source(source)
    if edition == "student":
        nb = to_student(nb, source.stem)
    dest = Path(out_dir) / f"{source.stem}.ipynb"
    _write_atomic(nb, dest)
    return dest


def export_all(out_dir: Path, edition: str = "teacher", only: list[str] | None = None) -> list[Path]:
    """Export every notebook source (or ``only``) to ``out_dir``; return the written paths."""
    return [export(p, out_dir, edition) for p in list_sources(only)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edition", choices=EDITIONS, default="teacher")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default build/ipynb, or build/student for --edition student)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names or prefixes")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "build" / ("student" if args.edition == "student" else "ipynb")
    try:
        paths = export_all(out, args.edition, args.only)
    except ValueError as exc:
        print(f"export_notebooks: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}")
    if args.edition == "student":
        (out / "README.md").write_text(
            "# aeqkit notebooks, student edition\n\nGenerated by `make student` from `notebooks/*.py`; "
            "exercises raise `NotImplementedError` until you fill them in.\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
