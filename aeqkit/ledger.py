"""The reproduction ledger: the paper's numbers, an independent reproduction's, and aeqkit's.

``python -m aeqkit ledger`` writes ``build/ledger.json`` and ``build/ledger.md``: for Table 1,
Table 2, Figure 4 and heat, every cell side by side: the paper's mean ± std
(:mod:`aeqkit.paper`), an independent reproduction's where one exists
(:data:`aeqkit.paper.INDEPENDENT`), and aeqkit's measured results per profile (quick / medium /
full) with seeds, std, parameter count, hardware, date, commit and the exact command that produced
them.

aeqkit's results come from two places:

* the committed ledger ``aeqkit/ledger_data/*.json``: small condensed records of measured runs
  (:func:`record`), so a fresh clone shows measured numbers without re-running anything;
* fresh outputs of ``python -m aeqkit reproduce`` under the build folder
  (``<build>/<experiment>_<symmetry>_<profile>.json``), which take precedence over a committed
  record of the same experiment, symmetry and profile.

Heat and jet results (``aeqkit.experiments``) enter from ``aeqkit/results/heat_jet.json`` when
present. Files are read as JSON (nothing is executed) and written atomically.

See also: :mod:`aeqkit.claims` (the robust claims as checks), notebook 03.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aeqkit import paper

__all__ = ["LEDGER_DIR", "condense", "record", "load_records", "build_ledger", "format_ledger",
           "write_ledger", "hardware", "git_commit"]

#: The committed ledger of measured results.
LEDGER_DIR = Path(__file__).resolve().parent / "ledger_data"


def _profiles() -> tuple[str, ...]:
    """The run profiles of :mod:`aeqkit.reproduce` (the ledger's columns), read from there."""
    from aeqkit.reproduce import PROFILES

    return tuple(PROFILES)


def hardware(threads: int | None = None) -> str:
    """A one-line description of the machine: CPU count, processor, torch threads (``threads``,
    e.g. those a recorded run used, else this process's), GPU if any."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    proc = platform.processor() or platform.machine()
    threads = torch.get_num_threads() if threads is None else int(threads)
    return f"{os.cpu_count()} CPU cores ({proc}), torch threads {threads}, {gpu}"


def git_commit(repo: str | os.PathLike | None = None) -> str | None:
    """The current commit of the aeqkit checkout (``None`` outside a git work tree)."""
    repo = Path(repo) if repo is not None else Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def condense(results: dict[str, Any], command: str) -> dict[str, Any]:
    """A small, JSON-plain record of a :func:`aeqkit.reproduce.reproduce` result.

    Keeps the request, the summary (every cell: mean, std, per-seed values, parameter counts),
    per-run parameter counts and seconds, and adds ``command``, ``hardware``, ``date`` and
    ``commit``. Drops histories and data metadata.
    """
    for key in ("experiment", "symmetry", "profile", "seeds", "models", "summary"):
        if key not in results:
            raise ValueError(f"results lack {key!r}; expected the dict returned by aeqkit.reproduce")
    if not isinstance(command, str) or not command.strip():
        raise ValueError("command must be the exact command line that produced the results")
    runs = [{k: r.get(k) for k in ("model", "seed", "level", "parameters", "seconds")}
            for r in results.get("runs", [])]
    return {
        "experiment": results["experiment"], "symmetry": results["symmetry"],
        "profile": results["profile"], "seeds": results["seeds"], "models": results["models"],
        "summary": results["summary"], "runs": runs,
        "seconds": results.get("seconds"), "cpu_seconds": results.get("cpu_seconds"),
        "profile_settings": results.get("profile_settings"),
        "command": command.strip(), "hardware": results.get("hardware") or hardware(results.get("threads")),
        "device": results.get("device"),
        "date": results.get("date") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": results.get("commit") or git_commit(),
    }


def record(results: dict[str, Any], command: str, ledger_dir: str | os.PathLike | None = None) -> Path:
    """Write a condensed record of ``results`` to the committed ledger (atomically).

    The file is ``<ledger_dir>/<experiment>_<symmetry>_<profile>.json``; a newer record of the same
    experiment, symmetry and profile replaces the older one.
    """
    from aeqkit.io import atomic_write_bytes

    rec = condense(results, command)
    folder = Path(ledger_dir) if ledger_dir is not None else LEDGER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rec['experiment']}_{rec['symmetry']}_{rec['profile']}.json"
    atomic_write_bytes((json.dumps(rec, indent=1, default=str) + "\n").encode(), path)
    return path


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_records(ledger_dir: str | os.PathLike | None = None,
                 build_dir: str | os.PathLike | None = "build") -> dict[tuple[str, str, str], dict]:
    """Measured records by ``(experiment, symmetry, profile)``: the committed ledger, overridden
    by fresh ``reproduce`` outputs in ``build_dir`` (their ``command`` is then the reproduce call)."""
    found: dict[tuple[str, str, str], dict] = {}
    folder = Path(ledger_dir) if ledger_dir is not None else LEDGER_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = _read_json(path)
        if rec and {"experiment", "symmetry", "profile", "summary"} <= set(rec):
            rec.setdefault("source", f"ledger: {path.name}")
            found[(rec["experiment"], rec["symmetry"], rec["profile"])] = rec
    if build_dir is not None and Path(build_dir).is_dir():
        for path in sorted(Path(build_dir).glob("*_*_*.json")):
            res = _read_json(path)
            if not res or not {"experiment", "symmetry", "profile", "summary", "runs"} <= set(res):
                continue
            cmd = (f"python -m aeqkit reproduce {res['experiment']} --symmetry {res['symmetry']} "
                   f"--profile {res['profile']} --seeds {res['seeds']} --models {','.join(res['models'])}")
            rec = condense(res, cmd)
            rec["source"] = f"build: {path}"
            key = (rec["experiment"], rec["symmetry"], rec["profile"])
            if key not in found or str(rec.get("date")) >= str(found[key].get("date")):
                found[key] = rec
    return found


def _table_rows(table: str, records: dict) -> list[dict[str, Any]]:
    rows = []
    tab = paper.TABLE1 if table == "table1" else paper.TABLE2
    for sym in tab:
        models: list[str] = []
        for split in paper.SPLITS:
            models += [m for m in tab[sym][split] if m not in models]
        for (exp, s, _prof), rec in records.items():
            if exp == table and s == sym:
                models += [m for m in rec["models"] if m not in models]
        for m in models:
            for split in paper.SPLITS:
                ref = paper.paper_value(table, sym, split, m)
                ind = paper.independent_value(table, sym, split, m)
                row = {"table": table, "symmetry": sym, "split": split, "model": m,
                       "paper": ref, "independent": ind}
                for prof in _profiles():
                    rec = records.get((table, sym, prof))
                    cell = None
                    if rec:
                        cell = next((c for c in rec["summary"] if c["model"] == m
                                     and c["split"] == f"test_{split}"), None)
                    row[prof] = None if cell is None else {
                        "mean": cell["mean"], "std": cell["std"], "n": cell["n"],
                        "steps": cell.get("steps"), "parameters": cell.get("parameters"),
                        "values": cell.get("values")}
                if any(row[k] is not None for k in ("paper", "independent", *_profiles())):
                    rows.append(row)
    return rows


def _figure4_rows(records: dict) -> list[dict[str, Any]]:
    rows = []
    for prof in _profiles():
        rec = records.get(("figure4", "rotation", prof))
        if not rec:
            continue
        summ = rec["summary"]
        for m in rec["models"]:
            mine = [r for r in summ["rows"] if r["model"] == m]
            rows.append({
                "profile": prof, "model": m, "parameters": mine[0].get("parameters") if mine else None,
                "levels": [r["level"] for r in mine],
                "data_error": [r["data_equivariance_error"] for r in mine],
                "trajectory_error": [r.get("trajectory_equivariance_error") for r in mine],
                "model_error": [r["model_equivariance_error"] for r in mine],
                "model_error_std": [r.get("model_equivariance_error_std") for r in mine],
                "spearman": summ.get("spearman", {}).get(m),
                "spearman_per_seed": summ.get("spearman_per_seed", {}).get(m),
                "loglog_slope": summ.get("loglog_slope", {}).get(m),
                "level0_over_last": summ.get("level0_over_last", {}).get(m),
            })
    return rows


def _heat_jet(results_path: Path | None) -> dict[str, Any] | None:
    path = results_path
    if path is None:
        path = Path(__file__).resolve().parent / "results" / "heat_jet.json"
    return _read_json(path) if path.exists() else None


def build_ledger(build_dir: str | os.PathLike | None = "build",
                 ledger_dir: str | os.PathLike | None = None,
                 heat_jet_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ledger as a JSON-plain dict: ``tables`` (Table 1 / 2 cells), ``figure4`` and ``heat_jet``
    beside the ``runs`` they come from (command, seeds, hardware, date, commit)."""
    records = load_records(ledger_dir, build_dir)
    runs = [{k: rec.get(k) for k in ("experiment", "symmetry", "profile", "seeds", "command",
                                     "hardware", "date", "commit", "seconds", "source")}
            for rec in records.values()]
    return {
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "note": ("paper: 64x64 PhiFlow 2.0.1 smoke / real NASA PIV, 20-step RMSE, 3 runs. aeqkit: "
                 "PhiFlow 3.4 re-simulations and a SYNTHETIC jet, at the profile's size and "
                 "horizon; compare orderings, not absolute values."),
        "tables": _table_rows("table1", records) + _table_rows("table2", records),
        "figure4": _figure4_rows(records),
        "heat_jet": _heat_jet(Path(heat_jet_path) if heat_jet_path else None),
        "runs": runs,
    }


def _cell(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, (list, tuple)):
        return f"{v[0]:.2f} ± {v[1]:.2f}"
    mean, std = v.get("mean"), v.get("std")
    if mean is None:
        return "–"
    s = f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")
    return s + f" (n={v.get('n')})"


def _params_cell(row: dict[str, Any]) -> str:
    """The parameter count of a table cell's networks: one number when every profile measured the
    same network, else each profile's (``"51,122 (quick) / 9,952 (medium)"``)."""
    counts = {p: row[p]["parameters"] for p in _profiles()
              if row.get(p) and row[p].get("parameters") is not None}
    if len(set(counts.values())) <= 1:
        return "".join(f"{v:,}" for v in list(counts.values())[:1])
    return " / ".join(f"{v:,} ({p})" for p, v in counts.items())


def format_ledger(ledger: dict[str, Any]) -> str:
    """The ledger as Markdown."""
    out = ["# aeqkit reproduction ledger", "", f"Generated {ledger['generated']} at commit "
           f"{ledger.get('commit')}. {ledger['note']}", ""]
    for table in ("table1", "table2"):
        rows = [r for r in ledger["tables"] if r["table"] == table]
        if not rows:
            continue
        out += [f"## {table.title().replace('Table', 'Table ')}", "",
                "| row | split | model | params | paper | independent | quick | medium | full |",
                "| --- | --- | --- | ---: | --- | --- | --- | --- | --- |"]
        for r in rows:
            name = paper.DISPLAY_NAMES.get(r["model"], r["model"])
            out.append(f"| {r['symmetry']} | {r['split']} | {name} | {_params_cell(r)} | "
                       f"{_cell(r['paper'])} | {_cell(r['independent'])} | "
                       + " | ".join(_cell(r[p]) for p in _profiles()) + " |")
        out.append("")
    if ledger["figure4"]:
        out += ["## Figure 4 (model vs one-step data equivariance error, L1, C4 without identity)", "",
                "| profile | model | params | Spearman ρ (per seed) | log-log slope, levels 1-9 | "
                "level 0 / level 9 | model error per level | data error per level |",
                "| --- | --- | ---: | --- | --- | --- | --- | --- |"]
        for r in ledger["figure4"]:
            per_seed = r.get("spearman_per_seed") or {}
            rho = "–" if r["spearman"] is None else f"{r['spearman']:.2f}"
            rho += " (" + ", ".join("–" if v is None else f"{v:.2f}" for v in per_seed.values()) + ")"
            slope = "–" if r["loglog_slope"] is None else f"{r['loglog_slope']:.2f}"
            l0 = "–" if r["level0_over_last"] is None else f"{r['level0_over_last']:.2g}"
            out.append(f"| {r['profile']} | {paper.DISPLAY_NAMES.get(r['model'], r['model'])} | "
                       f"{r['parameters'] or 0:,} | {rho} | {slope} | {l0} | "
                       + " ".join(f"{v:.2g}" for v in r["model_error"]) + " | "
                       + " ".join(f"{v:.2g}" for v in r["data_error"]) + " |")
        out.append("")
    hj = ledger.get("heat_jet") or {}
    summ = hj.get("summary") if isinstance(hj.get("summary"), dict) else None
    if summ:
        out += ["## Heat and jet (aeqkit.experiments, committed medium results)", "",
                str(summ.get("what", "")), ""]
        for section, block in summ.items():
            if not isinstance(block, dict):
                continue
            models: list[str] = []
            for cells in block.values():
                models += [m for m in cells if m not in models]
            out += [f"### {section}", "", "| | " + " | ".join(paper.DISPLAY_NAMES.get(m, m) for m in models)
                    + " |", "| --- |" + " --- |" * len(models)]
            for cond, cells in block.items():
                out.append(f"| {cond} | " + " | ".join(str(cells.get(m, "–")) for m in models) + " |")
            out.append("")
    elif hj:
        out += ["## Heat and jet (aeqkit.experiments)", "", "```",
                json.dumps(hj, indent=1, default=str)[:4000], "```", ""]
    out += ["## Runs", "", "| experiment | profile | seeds | command | hardware | date | commit |",
            "| --- | --- | ---: | --- | --- | --- | --- |"]
    for r in ledger["runs"]:
        out.append(f"| {r['experiment']} {r['symmetry']} | {r['profile']} | {r['seeds']} | "
                   f"`{r['command']}` | {r['hardware']} | {r['date']} | {r['commit']} |")
    return "\n".join(out) + "\n"


def write_ledger(out: str | os.PathLike = "build", build_dir: str | os.PathLike | None = None,
                 ledger_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Write ``<out>/ledger.json`` and ``<out>/ledger.md`` (atomically); returns both paths."""
    from aeqkit.io import atomic_write_bytes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ledger = build_ledger(out if build_dir is None else build_dir, ledger_dir)
    jpath, mpath = out / "ledger.json", out / "ledger.md"
    atomic_write_bytes((json.dumps(ledger, indent=1, default=str) + "\n").encode(), jpath)
    atomic_write_bytes(format_ledger(ledger).encode(), mpath)
    return jpath, mpath


# --------------------------------------------------------------------------------------------
# command line (registered in aeqkit.__main__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="build", help="folder for ledger.json and ledger.md "
                        "(fresh reproduce outputs are read from it too)")
    parser.add_argument("--ledger-dir", default=None, help="committed ledger folder "
                        "(default: aeqkit/ledger_data)")


def check(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out!r} is a file; expected a folder")


def run_cli(args: argparse.Namespace) -> int:
    jpath, mpath = write_ledger(args.out, ledger_dir=args.ledger_dir)
    print(mpath.read_text())
    print(f"wrote {jpath} and {mpath}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aeqkit ledger")
    add_arguments(parser)
    args = parser.parse_args(argv)
    check(args)
    return run_cli(args)
