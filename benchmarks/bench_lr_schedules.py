"""Learning-rate schedules on small data: exponential x0.9 / x0.95 per epoch vs cosine vs plateau.

Issue 10 item 3: choose ``aeqkit.train.fit``'s default schedule by *validation* RMSE. Data: heat
diffusion gradients (notebook 01's vector version of ``load_dataset("heat")``: the forecasters take
vector fields), beta = 0.3, 16x16, 30 frames; 4 training plates, 1 validation plate (no test split
is touched). Models: Conv and RSteer (rotation), width 8, 2 layers. Each (model, schedule, seed)
trains ``--epochs`` epochs without early stopping; the best validation RMSE (3-step) is reported.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lr_schedules.py --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from aeqkit.data import heat_gradient_trajectories, sliding_windows
from aeqkit.models import build
from aeqkit.train import fit
from aeqkit.utils import seeded

SCHEDULES = {
    "step x0.9": dict(lr_schedule="step", lr_decay=0.9),
    "step x0.95": dict(lr_schedule="step", lr_decay=0.95),
    "cosine": dict(lr_schedule="cosine"),
    "plateau": dict(lr_schedule="plateau"),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--models", default="conv,rsteer")
    ap.add_argument("--out", default="build/bench_lr_schedules.json")
    args = ap.parse_args()
    rows = []
    for seed in args.seeds:
        traj = heat_gradient_trajectories(0.3, 5, seed, resolution=16, steps=30)
        train, valid = sliding_windows(traj[:4]), sliding_windows(traj[4:5])
        for name in args.models.split(","):
            for label, kw in SCHEDULES.items():
                with seeded(seed):
                    model = build(name, symmetry="rotation", width=8, num_layers=2, kernel_size=3)
                t0 = time.perf_counter()
                res = fit(model, train, valid, epochs=args.epochs, lr=args.lr, rollout_steps=2,
                          patience=None, progress=False, seed=seed, device="cpu", **kw)
                rows.append({"model": name, "schedule": label, "seed": seed,
                             "best_valid_rmse": res.best_valid_rmse,
                             "initial_valid_rmse": res.initial_valid_rmse,
                             "best_epoch": res.best_epoch, "seconds": time.perf_counter() - t0})
                print(json.dumps(rows[-1]), flush=True)
    print("\nmean best validation RMSE over seeds", args.seeds)
    for name in args.models.split(","):
        for label in SCHEDULES:
            v = [r["best_valid_rmse"] for r in rows if r["model"] == name and r["schedule"] == label]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            print(f"  {name:<7} {label:<11} {statistics.mean(v):.5f} +- {sd:.5f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
