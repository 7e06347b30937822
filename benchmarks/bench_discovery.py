"""Steps and seconds for LieGAN to find the 2-body rotation generator (issue 5, item 5).

Not a test. For several seeds, :func:`aeqkit.discovery.discover` runs on 2-body (Kepler) pairs
until the |cosine| to the true SO(2) generator reaches 0.99 (or the step budget runs out), and the
steps and wall-clock seconds at which it first reached 0.9, 0.95 and 0.99 are recorded
(similarity checked every 10 steps; seconds exclude data generation). Settings:

- ``tied``: one 2x2 generator acting on every 2-vector (q1, q2, p1, p2), sigma = 3, initial raw
  basis N(0, 0.01^2); the headline setting (target: 0.99 in under 10 s on 2 CPU cores).
- ``mask8``: an 8x8 generator masked to 2x2 diagonal blocks (each vector gets its own block),
  sigma = 1 (sigma = 3 exponentiates the random initial directions to huge matrices and stalls).

Results are printed and saved to ``build/bench_discovery.json``.

Usage::

    python benchmarks/bench_discovery.py               # 5 seeds, both settings
    python benchmarks/bench_discovery.py --seeds 3 --settings tied
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import torch

from aeqkit.discovery import THRESHOLDS, block_mask, discover, make_two_body, so2_generator

SETTINGS = {
    "tied": dict(n_dim=2, sigma=3.0, mask=None, true="tied"),
    "mask8": dict(n_dim=8, sigma=1.0, mask="block", true="full"),
}


def run(settings: list[str], seeds: int, max_steps: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    data = make_two_body(seed=0)
    out: dict = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "threads": threads, "processor": platform.processor() or platform.machine()},
        "data": {"n_train": int(data.x_train.shape[0]), "features": int(data.x_train.shape[-1])},
        "max_steps": max_steps,
        "settings": {},
    }
    for name in settings:
        cfg = SETTINGS[name]
        true = so2_generator(1) if cfg["true"] == "tied" else data.true_generator
        mask = block_mask(8) if cfg["mask"] == "block" else None
        runs = []
        for seed in range(seeds):
            res = discover(data.x_train, data.y_train, cfg["n_dim"], mask=mask, sigma=cfg["sigma"],
                           steps=max_steps, true_generator=true, seed=seed, stop_at=0.99)
            runs.append({
                "seed": seed,
                "steps_to": {str(t): res.steps_to[t] for t in THRESHOLDS},
                "seconds_to": {str(t): (round(res.seconds_to[t], 3)
                                        if res.seconds_to[t] is not None else None)
                               for t in THRESHOLDS},
                "final_cosine": res.final_similarity,
                "steps_run": res.steps,
            })
            print(f"{name:6s} seed {seed}: steps_to {runs[-1]['steps_to']} "
                  f"seconds_to {runs[-1]['seconds_to']}", flush=True)
        summary = {}
        for t in THRESHOLDS:
            secs = [r["seconds_to"][str(t)] for r in runs]
            steps = [r["steps_to"][str(t)] for r in runs]
            ok = [s for s in secs if s is not None]
            summary[str(t)] = {
                "reached": f"{len(ok)}/{len(runs)}",
                "median_steps": statistics.median([s for s in steps if s is not None])
                if ok else None,
                "median_seconds": round(statistics.median(ok), 3) if ok else None,
                "max_seconds": round(max(ok), 3) if ok else None,
            }
        summary["all_0.99_under_10s"] = all(s is not None and s < 10
                                            for s in (r["seconds_to"]["0.99"] for r in runs))
        out["settings"][name] = {"config": {k: v for k, v in cfg.items()}, "runs": runs,
                                 "summary": summary}
        print(f"{name:6s} summary: {json.dumps(summary)}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="build/bench_discovery.json")
    args = ap.parse_args()
    result = run(args.settings, args.seeds, args.max_steps, args.threads)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(path)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
