"""Sweep throughput and storage overhead (issue 11, item 6). Not a test.

1. **Storage overhead per trial**: the same seeded TPE study over RGroup's space with the toy
   objective (no work, 5 intermediate reports per trial, as a real trial reports per epoch) on
   Optuna's in-memory storage, SQLite (with aeqkit's heartbeat) and, when PostgreSQL binaries
   exist, a throwaway local PostgreSQL server (:func:`aeqkit.sweep.temporary_postgres`). Rounds
   are interleaved; the median seconds per trial and the difference to in-memory are reported.
2. **Trials per hour with 1 and 2 worker processes**, in one run, interleaved (1, 2, 1, 2 ...):
   (a) the toy objective burning ``--cpu-seconds`` of CPU per trial, (b) the real objective
   (``table1`` rotation, quick profile, Conv, ``--real-epochs`` epochs per trial) with every trial
   fixed to the profile's own setting (enqueued), so 1 and 2 workers train identical models.
   Wall time includes starting the worker processes, as a user sees it.

Usage::

    python benchmarks/bench_sweep.py                 # about 10 minutes on a busy 2-core machine
    python benchmarks/bench_sweep.py --skip-real --rounds 1

Writes ``build/bench_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from aeqkit import sweep


def _storage_round(url: str | None, trials: int, space: sweep.ModelSpace,
                   heartbeat: bool = True) -> float:
    storage = sweep._storage(url, heartbeat=heartbeat) if url else None
    name = f"bench-{time.time_ns()}"
    with sweep._quiet_experimental():
        study = optuna.create_study(storage=storage, study_name=name,
                                    sampler=optuna.samplers.TPESampler(seed=0),
                                    pruner=optuna.pruners.NopPruner())
    t0 = time.perf_counter()
    study.optimize(lambda t: sweep.toy_objective(t, space, 0.0, 5), n_trials=trials)
    return (time.perf_counter() - t0) / trials


def storage_overhead(trials: int, rounds: int, postgres: bool) -> dict:
    space = sweep.search_space("rgroup", "rotation", "quick", (32, 32), 5)
    with tempfile.TemporaryDirectory() as tmp, _maybe_postgres(postgres) as pg_url:
        urls = {"memory": None, "sqlite": f"sqlite:///{tmp}/bench.db",
                "sqlite_no_heartbeat": f"sqlite:///{tmp}/bench.db"}
        if pg_url:
            urls["postgresql"] = pg_url
            urls["postgresql_no_heartbeat"] = pg_url
        per: dict[str, list[float]] = {k: [] for k in urls}
        for _ in range(rounds):
            for k, url in urls.items():
                per[k].append(_storage_round(url, trials, space, "no_heartbeat" not in k))
    med = {k: statistics.median(v) for k, v in per.items()}
    return {"trials_per_study": trials, "rounds": rounds, "seconds_per_trial": med,
            "all_rounds": per,
            "overhead_ms_per_trial": {k: 1000 * (v - med["memory"]) for k, v in med.items()
                                      if k != "memory"}}


class _maybe_postgres:
    def __init__(self, wanted: bool):
        self.wanted, self.cm, self.why = wanted, None, None

    def __enter__(self):
        if not self.wanted:
            return None
        try:
            self.cm = sweep.temporary_postgres()
            return self.cm.__enter__()
        except sweep.PostgresUnavailable as err:
            self.why, self.cm = str(err), None
            print(f"PostgreSQL skipped: {err}")
            return None

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc) if self.cm is not None else False


def _timed_sweep(cfg: sweep.SweepConfig, enqueue: dict | None) -> tuple[float, float]:
    """(wall seconds of the whole command, seconds from the first trial's start to the last
    trial's end: the steady state, without starting processes and loading data)."""
    if enqueue is not None:  # identical trials: pre-create the study with fixed settings
        study = sweep._open_study(cfg, cfg.models[0], sweep.default_storage(cfg.out), 0,
                                  cfg.epochs or 5)
        for _ in range(cfg.trials):
            study.enqueue_trial(enqueue)
    t0 = time.perf_counter()
    sweep.run_sweep(cfg, log=lambda s: None)
    wall = time.perf_counter() - t0
    trials = sweep.load_sweep(sweep.study_name(cfg, cfg.models[0]),
                              sweep.default_storage(cfg.out)).get_trials()
    span = (max(t.datetime_complete for t in trials)
            - min(t.datetime_start for t in trials)).total_seconds()
    return wall, span


def throughput(kind: str, trials: int, rounds: int, cpu_seconds: float, epochs: int) -> dict:
    rows: dict[int, list[float]] = {1: [], 2: []}
    spans: dict[int, list[float]] = {1: [], 2: []}
    for r in range(rounds):
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            with tempfile.TemporaryDirectory() as tmp:
                if kind == "toy":
                    cfg = sweep.SweepConfig(experiment="table1", models=("conv",), trials=trials,
                                            workers=workers, objective="toy",
                                            toy_seconds=cpu_seconds, pruner="none", out=tmp,
                                            progress=False)
                    enqueue = None
                else:
                    cfg = sweep.SweepConfig(experiment="table1", models=("conv",), trials=trials,
                                            workers=workers, epochs=epochs, pruner="none",
                                            out=tmp, progress=False, device="cpu")
                    space = sweep._model_space(cfg.validated(), "conv",
                                               sweep._load_data(cfg, None), None)
                    enqueue = space.default
                wall, span = _timed_sweep(cfg, enqueue)
            rows[workers].append(wall)
            spans[workers].append(span)
            print(f"  {kind}: {workers} worker(s), {trials} trials: {wall:.1f} s wall "
                  f"({3600 * trials / wall:.0f} trials/h), {span:.1f} s from first trial start "
                  f"to last trial end ({3600 * trials / span:.0f} trials/h)", flush=True)
    per_hour = {k: 3600 * trials / statistics.median(v) for k, v in rows.items()}
    steady = {k: 3600 * trials / statistics.median(v) for k, v in spans.items()}
    return {"trials": trials, "rounds": rounds, "wall_seconds": rows, "trial_span_seconds": spans,
            "trials_per_hour": per_hour, "ratio_2_over_1": per_hour[2] / per_hour[1],
            "trials_per_hour_steady": steady, "ratio_2_over_1_steady": steady[2] / steady[1],
            **({"cpu_seconds_per_trial": cpu_seconds} if kind == "toy" else
               {"epochs_per_trial": epochs, "setting": "profile default (enqueued)"})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage-trials", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cpu-trials", type=int, default=8)
    ap.add_argument("--cpu-seconds", type=float, default=1.0)
    ap.add_argument("--real-trials", type=int, default=4)
    ap.add_argument("--real-epochs", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--out", default="build/bench_sweep.json")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load = os.getloadavg()
    res: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                             "loadavg_start": load, "omp_threads": os.environ.get("OMP_NUM_THREADS")}}
    print(f"load average at start: {load}")
    res["storage"] = storage_overhead(args.storage_trials, args.rounds, not args.no_postgres)
    print("seconds per trial:", {k: round(v, 4) for k, v in res["storage"]["seconds_per_trial"].items()})
    print("storage overhead ms/trial:",
          {k: round(v, 1) for k, v in res["storage"]["overhead_ms_per_trial"].items()})
    res["toy"] = throughput("toy", args.cpu_trials, args.rounds, args.cpu_seconds, 5)
    print(f"toy ({args.cpu_seconds} s CPU/trial): trials/h {res['toy']['trials_per_hour']}, "
          f"ratio 2/1 = {res['toy']['ratio_2_over_1']:.2f} (wall), "
          f"{res['toy']['ratio_2_over_1_steady']:.2f} (steady)")
    if not args.skip_real:
        res["real"] = throughput("real", args.real_trials, args.rounds, 0.0, args.real_epochs)
        print(f"real (conv quick, {args.real_epochs} epochs): trials/h "
              f"{res['real']['trials_per_hour']}, ratio 2/1 = {res['real']['ratio_2_over_1']:.2f} "
              f"(wall), {res['real']['ratio_2_over_1_steady']:.2f} (steady)")
    res["machine"]["loadavg_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
