"""The paper's claims as checks: measured value, target and verdict (issue 10, deliverable 8).

``python -m aeqkit claims`` evaluates every claim on the measured results the ledger knows
(:func:`aeqkit.ledger.load_records`: fresh ``reproduce`` outputs under ``build/`` first, else the
committed ledger), prints one line per claim and writes ``build/claims.json`` as
``[{"claim", "measured", "target", "holds", "source"}]``. ``--run`` first runs the quick Figure 4
(3 seeds, a few minutes on 2 CPU cores) so the verdicts come from this machine.

Claims (Sec. 5.2 Fig. 4, Sec. 5.1 Table 1; targets from issue 10):

* Fig. 4: the strict model (E2CNN) stays equivariant at every level (≤ 1e-6); RSteer at level 0
  is at most 1% of its level-9 error; RSteer's error against the one-step data error has a
  log-log slope in [0.7, 1.3] over levels 1-9 and a ratio in [1/3, 3] at levels 3-9; Spearman's
  ρ(data, RSteer) ≥ 0.9 for every seed.
* Table 1 test-domain: RSteer below Conv and the strict model (rotation, scaling); RGroup below
  Conv (translation); every network below persistence on every test split.
* Heat and jet: :func:`aeqkit.experiments.heat_claims` / ``jet_claims`` when their results exist.

Which of these hold robustly at the quick scale over 3 seeds is asserted in
``tests/test_claims.py``; the others are reported here with their measured values.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["figure4_claims", "table_claims", "collect_claims", "format_claims", "write_claims"]


def _kinds() -> dict[str, str]:
    """Each registered model's kind (``baseline``, ``unconstrained``, ``strict``, ``relaxed``):
    the claims' "networks", "relaxed" and "strict" models are read from the model registry."""
    from aeqkit.models.registry import model_specs

    return {name: spec.kind for name, spec in model_specs().items()}


def _claim(claim: str, measured: Any, target: str, holds: bool | None, source: str = "") -> dict:
    return {"claim": claim, "measured": measured, "target": target,
            "holds": None if holds is None else bool(holds), "source": source}


def figure4_claims(summary: dict[str, Any], source: str = "", strict: str = "equiv",
                   relaxed: str = "rsteer") -> list[dict[str, Any]]:
    """The Fig. 4 claims from a :func:`aeqkit.reproduce.reproduce` ``figure4`` summary."""
    rows = summary["rows"]
    out = []
    s_rows = [r for r in rows if r["model"] == strict]
    r_rows = sorted((r for r in rows if r["model"] == relaxed), key=lambda r: r["level"])
    if s_rows:
        worst = max(r["model_equivariance_error"] for r in s_rows)
        out.append(_claim("Fig. 4: the strict model (E2CNN) stays equivariant at every level",
                          worst, "max model error <= 1e-6", worst <= 1e-6, source))
    if not r_rows:
        return out
    levels = [r["level"] for r in r_rows]
    if levels[0] == 0 and len(levels) > 1:
        ratio = r_rows[0]["model_equivariance_error"] / max(r_rows[-1]["model_equivariance_error"], 1e-300)
        out.append(_claim(f"Fig. 4: RSteer stays equivariant on exactly symmetric data (level 0 vs "
                          f"level {levels[-1]})", ratio, "level-0 error <= 1% of the last level's",
                          ratio <= 0.01, source))
    slope = summary.get("loglog_slope", {}).get(relaxed)
    if slope is not None:
        out.append(_claim("Fig. 4: RSteer's error tracks the one-step data error (log-log slope, levels "
                          "1-9)", slope, "slope in [0.7, 1.3]", 0.7 <= slope <= 1.3, source))
    ratios = [r["ratio_to_data"] for r in r_rows if r["level"] >= 3 and r.get("ratio_to_data")]
    if ratios:
        lo, hi = min(ratios), max(ratios)
        out.append(_claim("Fig. 4: RSteer's error is of the data's size (model / data, levels 3-9)",
                          [lo, hi], "every ratio in [1/3, 3]", lo >= 1 / 3 and hi <= 3, source))
    per_seed = summary.get("spearman_per_seed", {}).get(relaxed) or {}
    if per_seed:
        vals = [v for v in per_seed.values()]
        ok = all(v is not None and v >= 0.9 for v in vals)
        out.append(_claim("Fig. 4: RSteer's error rises with the data's (Spearman ρ per seed)",
                          vals, ">= 0.9 for every seed", ok, source))
    return out


def _cell(summary: list[dict], model: str, split: str) -> dict | None:
    return next((c for c in summary if c["model"] == model and c["split"] == split), None)


def table_claims(record: dict[str, Any], source: str = "") -> list[dict[str, Any]]:
    """The Table 1 / Table 2 claims of one condensed record (:func:`aeqkit.ledger.condense`)."""
    summ, sym, exp = record["summary"], record["symmetry"], record["experiment"]
    models = record["models"]
    out = []
    label = "Table 1" if exp == "table1" else "Table 2 (synthetic jet)"

    def mean(m: str, split: str) -> float | None:
        c = _cell(summ, m, split)
        return None if c is None or c["mean"] is None else float(c["mean"])

    dom = "test_domain"
    if exp == "table1" and sym in ("rotation", "scaling"):
        rs, cv, eq = mean("rsteer", dom), mean("conv", dom), mean("equiv", dom)
        if None not in (rs, cv, eq):
            out.append(_claim(f"{label} {sym}, test-domain: RSteer below Conv and the strict model",
                              {"rsteer": rs, "conv": cv, "equiv": eq}, "rsteer < min(conv, equiv)",
                              rs < min(cv, eq), source))
    if exp == "table1" and sym == "translation":
        rg, cv = mean("rgroup", dom), mean("conv", dom)
        if None not in (rg, cv):
            out.append(_claim(f"{label} translation, test-domain: RGroup below Conv",
                              {"rgroup": rg, "conv": cv}, "rgroup < conv", rg < cv, source))
    if exp == "table2":
        from aeqkit.reproduce import REFERENCE_NETWORK

        kinds = _kinds()
        relaxed = [m for m in models if kinds.get(m) == "relaxed"]
        others = [m for m in models if m == REFERENCE_NETWORK or kinds.get(m) == "strict"]
        for split in ("test_future", "test_domain"):
            best_rel = min((mean(m, split) for m in relaxed if mean(m, split) is not None), default=None)
            best_oth = min((mean(m, split) for m in others if mean(m, split) is not None), default=None)
            if best_rel is not None and best_oth is not None:
                out.append(_claim(f"{label} {sym}, {split}: a relaxed model beats the strict one and Conv",
                                  {"relaxed": best_rel, "strict/conv": best_oth}, "relaxed < strict/conv",
                                  best_rel < best_oth, source))
    if "persistence" in models:
        for split in ("test_future", "test_domain"):
            p = mean("persistence", split)
            nets = {m: mean(m, split) for m in models
                    if _kinds().get(m, "baseline") != "baseline" and mean(m, split) is not None}
            if p is None or not nets:
                continue
            worst = max(nets, key=nets.get)
            out.append(_claim(f"{label} {sym}, {split}: every network beats persistence",
                              {"persistence": p, "worst network": worst, "its RMSE": nets[worst]},
                              "every network < persistence", nets[worst] < p, source))
    return out


def collect_claims(profile: str = "quick", build_dir: str | os.PathLike | None = "build",
                   ledger_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every claim on the measured results of ``profile`` the ledger knows (build outputs first)."""
    from aeqkit.ledger import load_records

    claims: list[dict[str, Any]] = []
    records = load_records(ledger_dir, build_dir)
    for (exp, _sym, prof), rec in sorted(records.items()):
        if prof != profile:
            continue
        src = f"{rec.get('source', '')}; {rec.get('seeds')} seed(s); `{rec.get('command')}`"
        if exp == "figure4":
            claims += figure4_claims(rec["summary"], src)
        else:
            claims += table_claims(rec, src)
    try:  # heat and jet results of aeqkit.experiments, when they exist
        from aeqkit import experiments

        res = experiments.load_results()
        for key, fn in (("heat", "heat_claims"), ("jet", "jet_claims")):
            if res and res.get(key) and hasattr(experiments, fn):
                for c in getattr(experiments, fn)(res[key]):
                    claims.append(_claim(c.get("claim"), c.get("measured"), c.get("target"), c.get("holds"),
                                         c.get("source", f"aeqkit/results/heat_jet.json ({key})")))
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        pass
    return claims


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_short(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)


def format_claims(claims: Sequence[dict[str, Any]]) -> str:
    """One line per claim: verdict, claim, measured value, target."""
    if not claims:
        return ("no measured results found: run `python -m aeqkit claims --run` or "
                "`python -m aeqkit reproduce figure4 --seeds 3` first")
    verdict = {True: "HOLDS ", False: "FAILS ", None: "n/a   "}
    return "\n".join(f"{verdict[c['holds']]} {c['claim']}: measured {_short(c['measured'])}; target "
                     f"{c['target']}" for c in claims)


def write_claims(claims: Sequence[dict[str, Any]], out: str | os.PathLike = "build") -> Path:
    """Write ``<out>/claims.json`` atomically."""
    from aeqkit.io import atomic_write_bytes

    path = Path(out) / "claims.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes((json.dumps(_plain(list(claims)), indent=1) + "\n").encode(), path)
    return path


# --------------------------------------------------------------------------------------------
# command line (registered in aeqkit.__main__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", choices=("quick", "medium", "full"),
                        help="whose measured results to judge")
    parser.add_argument("--out", default="build", help="folder for claims.json (and --run outputs)")
    parser.add_argument("--run", action="store_true",
                        help="first run Figure 4 with 3 seeds at this profile (minutes on a CPU)")


def check(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out!r} is a file; expected a folder")


def run_cli(args: argparse.Namespace) -> int:
    if args.run:
        from aeqkit.reproduce import reproduce

        reproduce("figure4", "rotation", args.profile, seeds=3, out=args.out, progress=False)
    claims = collect_claims(args.profile, build_dir=args.out)
    print(format_claims(claims))
    path = write_claims(claims, args.out)
    print(f"wrote {path}")
    return 0
