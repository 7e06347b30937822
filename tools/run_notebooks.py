"""Execute the notebook sequence headlessly with papermill and summarise what it recorded.

Usage::

    python tools/run_notebooks.py [--profile quick|full] [--only NAME ...] [--seed 0]
                                  [--out build/notebooks] [--summary build/summary.json]

Each notebook source ``notebooks/NN_*.py`` (a jupytext percent script) is exported to a stripped
``.ipynb`` (``tools/export_notebooks.py``, under ``--out``/.inputs) and executed into ``--out``
with the parameters ``PROFILE`` and ``SEED`` injected (papermill), with ``AEQKIT_HEADLESS=1`` in
the kernel's environment (widgets draw their default view once, plotly uses a compact renderer).
Data sets a notebook declares (``metadata.aeqkit.datasets[profile]``) are generated or verified
in the cache first and timed apart (``data_seconds``): simulation happens once per machine, not
once per run. The metrics each notebook records with :func:`aeqkit.record.record` are read back
from the executed file, each run is timed against the notebook's budget
(``metadata.aeqkit.budget_s[profile]``, default 180 s quick / 3600 s full), and the results go to
``build/summary.json`` and ``build/summary.md`` (also printed). Exit status 1 if any notebook
failed or ran over its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_BUDGET_S = {"quick": 180.0, "full": 3600.0}
TOTAL_BUDGET_S = {"quick": 900.0, "full": 6 * 3600.0}
PROFILES = ("quick", "full")

__all__ = ["list_notebooks", "notebook_budget", "run_notebook", "run_all", "format_table", "main"]


def list_notebooks(only: list[str] | None = None, root: Path = NOTEBOOKS) -> list[Path]:
    """The sources ``notebooks/NN_*.py`` in order, optionally filtered by name (prefix or stem)."""
    return _export().list_sources(only, root)


def _export():
    """``tools/export_notebooks.py`` as a module (this file is run as a script, not a package)."""
    import importlib.util

    name = "aeqkit_export_notebooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("export_notebooks.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _metadata(path: Path) -> dict[str, Any]:
    """The ``aeqkit`` notebook metadata of a source (``.py``) or an ``.ipynb``."""
    if path.suffix == ".py":
        return dict(_export().read_source(path).metadata.get("aeqkit", {}))
    with open(path) as fh:
        return json.load(fh).get("metadata", {}).get("aeqkit", {})


def notebook_budget(path: Path, profile: str) -> float:
    """The notebook's time budget in seconds for ``profile`` (from its metadata, else a default)."""
    budget = _metadata(path).get("budget_s", {})
    return float(budget.get(profile, DEFAULT_BUDGET_S[profile]))


def notebook_datasets(path: Path, profile: str) -> list[tuple[str, dict[str, Any]]]:
    """The cached data sets a notebook loads (``metadata.aeqkit.datasets[profile]``)."""
    entries = _metadata(path).get("datasets", {}).get(profile, [])
    return [(str(name), dict(kwargs)) for name, kwargs in entries]


def prepare_data(path: Path, profile: str, verbose: bool = True) -> float:
    """Generate (or verify the cache of) every data set a notebook declares; return the seconds.

    Generation is timed apart from the notebook: a data set is simulated once, then every run
    (notebook, ``make run``, ``python -m aeqkit reproduce``) loads it from ``data/``.
    """
    needed = notebook_datasets(path, profile)
    if not needed:
        return 0.0
    from aeqkit.data import load_dataset

    start = time.perf_counter()
    for name, kwargs in needed:
        t0 = time.perf_counter()
        data = load_dataset(name, profile, progress=False, **kwargs)
        if verbose and data.meta.get("generated"):
            print(f"[run_notebooks]   generated {name} {kwargs or ''} in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    return time.perf_counter() - start


def _read_records(path: Path) -> dict[str, Any]:
    try:
        from aeqkit.record import read_records
    except ImportError:  # the runner must still report when the package is broken
        return {}
    return read_records(path)


def _cell_error(path: Path) -> str | None:
    """The first error output of an executed notebook, shortened (None if no cell failed)."""
    try:
        with open(path) as fh:
            nb = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {i}: {out.get('ename')}: {str(out.get('evalue'))[:300]}"
    return None


def run_notebook(path: Path, out_dir: Path, profile: str = "quick", seed: int = 0,
                 timeout_s: float | None = None, verbose: bool = False) -> dict[str, Any]:
    """Prepare the notebook's data, execute it with papermill; return its summary row.

    Returns:
        ``{"name", "status" ("ok" | "failed"), "seconds", "data_seconds", "budget_s",
        "within_budget", "size_bytes", "metrics", "error", "output"}``; ``seconds`` is the
        notebook's own run time, ``data_seconds`` the time spent generating / checking the data
        caches it declares beforehand.
    """
    import papermill as pm

    if profile not in PROFILES:
        raise ValueError(f"expected profile in {PROFILES}, got {profile!r}")
    try:
        data_seconds = prepare_data(path, profile, verbose=verbose)
    except Exception as exc:  # noqa: BLE001 - report, then let the notebook show the error
        data_seconds = 0.0
        if verbose:
            print(f"[run_notebooks]   data preparation failed: {exc}", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = path
    if path.suffix == ".py":  # a jupytext source: export the stripped teacher edition first
        source = _export().export(path, out_dir / ".inputs", "teacher")
    out_path = out_dir / f"{path.stem}.ipynb"
    budget = notebook_budget(path, profile)
    os.environ["AEQKIT_HEADLESS"] = "1"
    # the kernel imports this checkout's aeqkit even if the installed copy is stale or missing
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
    os.environ.setdefault("AEQKIT_PROFILE", profile)
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(
            str(source), str(out_path), parameters={"PROFILE": profile, "SEED": int(seed)},
            cwd=str(path.parent), kernel_name="python3", progress_bar=False,
            execution_timeout=timeout_s, log_output=False, report_mode=False,
        )
    except Exception as exc:  # noqa: BLE001 - record any failure in the summary
        error = _cell_error(out_path) or f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - start
    metrics = _read_records(out_path) if out_path.exists() else {}
    return {
        "name": path.stem,
        "status": "ok" if error is None else "failed",
        "seconds": round(seconds, 2),
        "data_seconds": round(data_seconds, 2),
        "budget_s": budget,
        "within_budget": seconds <= budget,
        "size_bytes": out_path.stat().st_size if out_path.exists() else 0,
        "metrics": metrics,
        "error": error,
        "output": str(out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path),
    }


def format_table(summary: dict[str, Any]) -> str:
    """A markdown table: one row per notebook, then one row per recorded metric."""
    lines = [
        f"# Notebook run — profile {summary['profile']}, seed {summary['seed']}",
        "",
        "| notebook | status | time (s) | budget (s) | data prep (s) | size (kB) | metrics |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in summary["notebooks"]:
        flag = "" if row["within_budget"] else " ⚠ over budget"
        lines.append(f"| {row['name']} | {row['status']}{flag} | {row['seconds']:.1f} | "
                     f"{row['budget_s']:.0f} | {row.get('data_seconds', 0.0):.0f} | "
                     f"{row['size_bytes'] / 1024:.0f} | "
                     f"{len(row['metrics'])} |")
    lines.append(f"| **total** | | {summary['total_seconds']:.1f} | "
                 f"{summary['total_budget_s']:.0f} | {summary.get('data_seconds', 0.0):.0f} | | |")
    lines += ["", "| notebook | metric | value |", "|---|---|---:|"]
    for row in summary["notebooks"]:
        for k, v in row["metrics"].items():
            val = f"{v:.4g}" if isinstance(v, float) else str(v)
            lines.append(f"| {row['name']} | {k} | {val} |")
    errors = [r for r in summary["notebooks"] if r["error"]]
    if errors:
        lines += ["", "## Failures", ""]
        lines += [f"- **{r['name']}**: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def run_all(profile: str = "quick", only: list[str] | None = None, seed: int = 0,
            out_dir: Path = ROOT / "build" / "notebooks",
            summary_path: Path = ROOT / "build" / "summary.json",
            verbose: bool = True) -> dict[str, Any]:
    """Run the sequence (or ``only``), write ``summary.json`` and ``summary.md``; return the summary."""
    if profile not in PROFILES:
        raise ValueError(f"expected profile in {PROFILES}, got {profile!r}")
    sys.path.insert(0, str(ROOT))
    rows = []
    for path in list_notebooks(only):
        if verbose:
            print(f"[run_notebooks] {path.name} ({profile}) ...", flush=True)
        row = run_notebook(path, out_dir, profile=profile, seed=seed, verbose=verbose)
        if verbose:
            print(f"[run_notebooks]   {row['status']} in {row['seconds']:.1f} s "
                  f"(budget {row['budget_s']:.0f} s), {row['size_bytes'] / 1024:.0f} kB, "
                  f"{len(row['metrics'])} metrics" + (f" — {row['error']}" if row["error"] else ""),
                  flush=True)
        rows.append(row)
    total = sum(r["seconds"] for r in rows)
    summary = {
        "profile": profile, "seed": seed, "created": time.time(),
        "only": only or None, "notebooks": rows, "total_seconds": round(total, 2),
        "data_seconds": round(sum(r["data_seconds"] for r in rows), 2),
        "total_budget_s": TOTAL_BUDGET_S[profile],
        "ok": all(r["status"] == "ok" and r["within_budget"] for r in rows),
    }
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = summary_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, summary_path)
    table = format_table(summary)
    summary_path.with_suffix(".md").write_text(table)
    if verbose:
        print(table)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES,
                        default=os.environ.get("PROFILE", "quick") or "quick")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names or prefixes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "notebooks")
    parser.add_argument("--summary", type=Path, default=ROOT / "build" / "summary.json")
    args = parser.parse_args(argv)
    summary = run_all(args.profile, args.only, args.seed, args.out, args.summary)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
