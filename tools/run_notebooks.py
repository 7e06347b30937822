"""Execute the notebook sequence headlessly with papermill and summarise what it recorded.

Usage::

    python tools/run_notebooks.py [--profile quick|full] [--only NAME ...] [--seed 0]
                                  [--out build/notebooks] [--summary build/summary.json]
                                  [--jobs 1]

Each notebook source ``notebooks/NN_*.py`` (a jupytext percent script) is exported to a stripped
``.ipynb`` (:mod:`aeqkit.notebooks`, as ``tools/export_notebooks.py`` does; under ``--out``/.inputs)
and executed into ``--out`` with the parameters ``PROFILE`` and ``SEED`` injected (papermill),
with ``AEQKIT_HEADLESS=1`` in the kernel's environment (widgets draw their default view once,
plotly uses a compact renderer).
Data sets a notebook declares (``metadata.aeqkit.datasets[profile]``) are generated or verified
in the cache first and timed apart (``data_seconds``): simulation happens once per machine, not
once per run. The metrics each notebook records with :func:`aeqkit.record.record` are read back
from the executed file, each run is timed against the notebook's budget
(``metadata.aeqkit.budget_s[profile]``, default 180 s quick / 3600 s full), and the results go to
``build/summary.json`` and ``build/summary.md`` (also printed). Exit status 1 if any notebook
failed or ran over its budget. ``--jobs 2`` runs two notebooks at a time (one kernel each, data
preparation still one at a time): the sequence finishes sooner on a 2-core machine, while each
notebook's time then includes sharing the machine, so measure budgets with ``--jobs 1``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aeqkit.notebooks import NOTEBOOKS, export, list_sources, read_source, write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUDGET_S = {"quick": 180.0, "full": 3600.0}
TOTAL_BUDGET_S = {"quick": 900.0, "full": 6 * 3600.0}
PROFILES = ("quick", "full")
TIMEOUT_FACTOR = 3.0  # default per-notebook timeout: this many times the notebook's budget
_DATA_LOCK = threading.Lock()  # data sets are prepared one at a time, also with --jobs > 1
_RUNNING: set[subprocess.Popen] = set()  # papermill processes of this runner (stopped on exit)
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()  # set when the runner is interrupted: start no further notebook
FINISHED = ("ok", "skipped")  # statuses of a notebook that ran to its end (or chose to stop)

__all__ = ["list_notebooks", "notebook_budget", "run_notebook", "run_all", "format_table", "main"]


def list_notebooks(only: list[str] | None = None, root: Path = NOTEBOOKS) -> list[Path]:
    """The sources ``notebooks/NN_*.py`` in order, optionally filtered by name (prefix or stem)."""
    return list_sources(only, root)


def _metadata(path: Path) -> dict[str, Any]:
    """The ``aeqkit`` notebook metadata of a source (``.py``) or an ``.ipynb``."""
    if path.suffix == ".py":
        return dict(read_source(path).metadata.get("aeqkit", {}))
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
    try:
        return read_records(path)
    except (OSError, ValueError, KeyError):
        return {}


def _read_record_file(path: Path) -> dict[str, Any]:
    """The JSON lines ``aeqkit.record.record`` appended (same parsing as ``read_record_file``)."""
    out: dict[str, Any] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(d, dict) and "name" in d and "value" in d:
            out[d["name"]] = d["value"]
    return out


def _cell_error(path: Path) -> tuple[str, str] | None:
    """``(ename, message)`` of the first error output of an executed notebook (None if none)."""
    try:
        with open(path) as fh:
            nb = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                ename = str(out.get("ename"))
                return ename, f"cell {i}: {ename}: {str(out.get('evalue'))[:300]}"
    return None


def _store_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write the recorded values into the executed notebook (``metadata.aeqkit.metrics``)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    nb.setdefault("metadata", {}).setdefault("aeqkit", {})["metrics"] = metrics
    write_text_atomic(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _kill_tree(proc: subprocess.Popen) -> None:
    """Stop papermill and its kernel (jupyter starts kernels in their own session)."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - psutil missing or the process already gone
        children = []
    for p in [*children]:
        try:
            p.kill()
        except Exception:  # noqa: BLE001
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout=30)


def notebook_timeout(path: Path, profile: str, timeout_s: float | None = None) -> float:
    """Seconds after which a notebook is stopped: ``timeout_s`` or 3x its budget (at least 60 s)."""
    if timeout_s is not None:
        if not timeout_s > 0:
            raise ValueError(f"expected --timeout > 0 seconds, got {timeout_s}")
        return float(timeout_s)
    return max(60.0, TIMEOUT_FACTOR * notebook_budget(path, profile))


def run_notebook(path: Path, out_dir: Path, profile: str = "quick", seed: int = 0,
                 timeout_s: float | None = None, verbose: bool = False) -> dict[str, Any]:
    """Prepare the notebook's data, execute it with papermill; return its summary row.

    The notebook runs in a papermill subprocess that is stopped (with its kernel) after
    :func:`notebook_timeout` seconds; a notebook that raises ``aeqkit.record.SkipNotebook`` is
    reported as skipped.

    Returns:
        ``{"name", "status" ("ok" | "failed" | "timeout" | "skipped"), "seconds", "data_seconds",
        "budget_s", "timeout_s", "within_budget", "size_bytes", "metrics", "error", "output"}``;
        ``seconds`` is the notebook's own run time, ``data_seconds`` the time spent generating /
        checking the data caches it declares beforehand.
    """
    if profile not in PROFILES:
        raise ValueError(f"expected profile in {PROFILES}, got {profile!r}")
    limit = notebook_timeout(path, profile, timeout_s)
    try:
        with _DATA_LOCK:  # PhiFlow and the cache are not meant for concurrent generation
            data_seconds = prepare_data(path, profile, verbose=verbose)
    except Exception as exc:  # noqa: BLE001 - report, then let the notebook show the error
        data_seconds = 0.0
        if verbose:
            print(f"[run_notebooks]   data preparation failed: {exc}", flush=True)
    if _STOPPING.is_set():  # the runner was interrupted while this notebook's data was prepared
        raise KeyboardInterrupt(f"{path.stem}: not started, the runner is stopping")
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = out_dir / ".inputs"
    source = path
    if path.suffix == ".py":  # a jupytext source: export the stripped teacher edition first
        source = export(path, inputs, "teacher")
    inputs.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"{path.stem}.ipynb"
    out_path.unlink(missing_ok=True)  # never leave a previous run's output looking current
    records = inputs / f"{path.stem}.records.jsonl"
    records.unlink(missing_ok=True)
    log_path = inputs / f"{path.stem}.log"
    budget = notebook_budget(path, profile)
    env = dict(os.environ)
    env["AEQKIT_HEADLESS"] = "1"
    env["AEQKIT_RECORD_FILE"] = str(records)
    # the kernel imports this checkout's aeqkit even if the installed copy is stale or missing
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in paths:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
    env.setdefault("AEQKIT_PROFILE", profile)
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "papermill", str(source), str(out_path),
           "-p", "PROFILE", profile, "-p", "SEED", str(int(seed)), "--cwd", str(path.parent),
           "-k", "python3", "--no-progress-bar", "--no-log-output",
           "--execution-timeout", str(max(1, int(math.ceil(limit))))]
    start = time.perf_counter()
    status, error = "ok", None
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            returncode = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            returncode = None
        except BaseException:  # Ctrl-C / SIGTERM of the runner: its own session would survive it
            _kill_tree(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    seconds = time.perf_counter() - start
    cell_error = _cell_error(out_path)
    if returncode is None:
        status, error = "timeout", f"stopped after {limit:.0f} s (per-notebook timeout)"
    elif cell_error is not None and cell_error[0] == "SkipNotebook":
        status, error = "skipped", cell_error[1].split("SkipNotebook: ", 1)[-1]
    elif cell_error is not None and "Timeout" in cell_error[0]:
        status, error = "timeout", cell_error[1]
    elif returncode != 0 or cell_error is not None:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        status = "failed"
        error = cell_error[1] if cell_error else f"papermill exit {returncode}: {' | '.join(tail)[:300]}"
    metrics = {**(_read_records(out_path) if out_path.exists() else {}), **_read_record_file(records)}
    if out_path.exists() and metrics:
        _store_metrics(out_path, metrics)
    return {
        "name": path.stem,
        "status": status,
        "seconds": round(seconds, 2),
        "data_seconds": round(data_seconds, 2),
        "budget_s": budget,
        "timeout_s": limit,
        "within_budget": status == "skipped" or seconds <= budget,
        "size_bytes": out_path.stat().st_size if out_path.exists() else 0,
        "metrics": metrics,
        "error": error,
        "output": str(out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path),
    }


def format_table(summary: dict[str, Any]) -> str:
    """A markdown table: one row per notebook, then one row per recorded metric."""
    complete = summary.get("complete", True)
    lines = [
        f"# Notebook run — profile {summary['profile']}, seed {summary['seed']}"
        + ("" if complete else " — INCOMPLETE (the run was interrupted or is still going)"),
        "",
        "| notebook | status | time (s) | budget (s) | data prep (s) | size (kB) | metrics |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in summary["notebooks"]:
        flag = "" if row.get("within_budget", True) else " ⚠ over budget"
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
    unfinished = [r for r in summary["notebooks"] if r["status"] not in FINISHED]
    if unfinished:
        lines += ["", "## Did not finish", ""]
        lines += [f"- **{r['name']}** ({r['status']}): {r.get('error') or 'not run'}" for r in unfinished]
    skipped = [r for r in summary["notebooks"] if r["status"] == "skipped"]
    if skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- **{r['name']}**: {r.get('error')}" for r in skipped]
    return "\n".join(lines) + "\n"


def check_writable(path: Path, what: str) -> None:
    """Fail fast (before any notebook runs) when ``path`` (a file) cannot be written.

    Raises:
        PermissionError: naming the option (``what``) and the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(tmp)
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError(f"{path} is read-only")
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
    except OSError as exc:
        raise PermissionError(f"{what} {path} cannot be written ({exc.strerror or exc}); "
                              "choose a writable path") from None


def _summary(profile: str, seed: int, only: list[str] | None, rows: list[dict[str, Any]],
             pending: list[Path], complete: bool) -> dict[str, Any]:
    rows = [*rows, *({"name": p.stem, "status": "pending", "seconds": 0.0, "data_seconds": 0.0,
                      "budget_s": notebook_budget(p, profile), "within_budget": True,
                      "size_bytes": 0, "metrics": {}, "error": None, "output": None}
                     for p in pending)]
    unfinished = [r["name"] for r in rows if r["status"] not in FINISHED]
    return {
        "profile": profile, "seed": seed, "created": time.time(), "complete": complete,
        "only": only or None, "notebooks": rows,
        "total_seconds": round(sum(r["seconds"] for r in rows), 2),
        "data_seconds": round(sum(r["data_seconds"] for r in rows), 2),
        "total_budget_s": TOTAL_BUDGET_S[profile],
        "unfinished": unfinished,
        "skipped": [r["name"] for r in rows if r["status"] == "skipped"],
        "ok": complete and not unfinished and all(r["within_budget"] for r in rows),
    }


def _write_summary(summary: dict[str, Any], summary_path: Path) -> str:
    table = format_table(summary)
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    write_text_atomic(summary_path.with_suffix(".md"), table)
    return table


def run_all(profile: str = "quick", only: list[str] | None = None, seed: int = 0,
            out_dir: Path = ROOT / "build" / "notebooks",
            summary_path: Path = ROOT / "build" / "summary.json",
            verbose: bool = True, timeout_s: float | None = None,
            root: Path = NOTEBOOKS, jobs: int = 1) -> dict[str, Any]:
    """Run the sequence (or ``only``), write ``summary.json`` and ``summary.md``; return the summary.

    Everything that can be checked is checked before the first notebook starts (profile, names,
    timeout, that ``summary_path`` and ``out_dir`` are writable). The summary is rewritten before
    the first notebook (``complete: false``, every notebook ``pending``) and after each one, so an
    interrupted run never leaves an older summary looking current; ``unfinished`` lists the
    notebooks that failed, timed out or did not run. ``jobs`` notebooks run at a time (in
    sequence order; rows keep that order).
    """
    if profile not in PROFILES:
        raise ValueError(f"expected profile in {list(PROFILES)}, got {profile!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"expected --jobs to be an integer >= 1, got {jobs!r}")
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"expected --timeout > 0 seconds, got {timeout_s}")
    paths = list_notebooks(only, root)
    summary_path, out_dir = Path(summary_path), Path(out_dir)
    check_writable(summary_path, "--summary")
    check_writable(summary_path.with_suffix(".md"), "--summary (its .md)")
    check_writable(out_dir / ".probe.ipynb", "--out")
    sys.path.insert(0, str(ROOT))
    done: dict[Path, dict[str, Any]] = {}
    _write_summary(_summary(profile, seed, only, [], paths, complete=False), summary_path)

    def one(path: Path) -> dict[str, Any]:
        if verbose:
            print(f"[run_notebooks] {path.name} ({profile}) ...", flush=True)
        row = run_notebook(path, out_dir, profile=profile, seed=seed, timeout_s=timeout_s,
                           verbose=verbose)
        if verbose:
            print(f"[run_notebooks]   {path.stem}: {row['status']} in {row['seconds']:.1f} s "
                  f"(budget {row['budget_s']:.0f} s), {row['size_bytes'] / 1024:.0f} kB, "
                  f"{len(row['metrics'])} metrics" + (f" — {row['error']}" if row["error"] else ""),
                  flush=True)
        return row

    last: dict[str, Any] = {}

    def record_row(path: Path, row: dict[str, Any]) -> str:
        done[path] = row
        rows = [done[p] for p in paths if p in done]
        pending = [p for p in paths if p not in done]
        last["summary"] = _summary(profile, seed, only, rows, pending, complete=not pending)
        return _write_summary(last["summary"], summary_path)

    table = ""
    if jobs == 1:
        for path in paths:
            table = record_row(path, one(path))
    else:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook")
        futures: dict[Any, Path] = {}
        _STOPPING.clear()
        try:
            futures = {pool.submit(one, p): p for p in paths}
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, timeout=1.0, return_when=FIRST_COMPLETED)
                for fut in sorted(finished, key=lambda f: paths.index(futures[f])):
                    table = record_row(futures[fut], fut.result())
        except BaseException:  # Ctrl-C / SIGTERM: stop every running notebook and its kernel
            _STOPPING.set()
            for fut in futures:
                fut.cancel()
            with _RUNNING_LOCK:
                running = list(_RUNNING)
            for proc in running:
                _kill_tree(proc)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    summary = last["summary"]
    if verbose:
        print(table)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=None, help="quick (default, or $PROFILE) or full")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names or prefixes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "notebooks")
    parser.add_argument("--summary", type=Path, default=ROOT / "build" / "summary.json")
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks run at a time (each notebook's time then includes sharing "
                             "the machine)")
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds per notebook before it is stopped (default {TIMEOUT_FACTOR:g}x its "
                             "budget, at least 60)")
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C, so the running notebook and its kernel are stopped too
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    profile = args.profile or os.environ.get("PROFILE") or "quick"
    try:
        if profile not in PROFILES:
            raise ValueError(f"expected --profile (or $PROFILE) in {list(PROFILES)}, got {profile!r}")
        summary = run_all(profile, args.only, args.seed, args.out, args.summary,
                          timeout_s=args.timeout, jobs=args.jobs)
    except (ValueError, OSError) as exc:
        print(f"run_notebooks: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
