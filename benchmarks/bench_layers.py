"""Forward + backward time of each relaxed layer against a plain ``nn.Conv2d`` (issue 3, item 8).

Not a test. Setting (issue 3): C4, 3x3 kernels, batch 8, 64x64 grids, widths 16 and 32 per group
element, one CPU thread. Each relaxed layer is compared with an ``nn.Conv2d`` of the same expanded
channel count (``width * |G|`` in and out; same kernel size; for lifting layers the same input
channels); ``RelaxedDihedralGroupConv2d`` is the D4 instance of the same group convolution
(``|G| = 8``, so twice the channels of the C4 rows). Repetitions are interleaved (every layer
once per round, in a rotated order), the median per layer is reported as a ratio to the median
of its plain convolution, printed and saved to ``build/bench_layers.json``. The kernel
construction (``expanded_weight``, forward + backward) is also timed on its own: it is the only
work a relaxed layer adds to the convolution and, unlike the ratio, is robust to a noisy shared
machine.

Inputs do not require grad (as for a first layer), so the plain convolution skips its input
gradient; ``RelaxedTranslationConv2d`` (weights on the *input*, Eq. 4) cannot, and it convolves
``L`` times more channels, so expect a ratio of roughly ``1.5 L`` there.

Usage::

    python benchmarks/bench_layers.py            # default, about 1-2 minutes
    python benchmarks/bench_layers.py --rounds 3 --widths 16   # quicker
    python benchmarks/bench_layers.py --rounds 9 --layers RelaxedRotGroupConv2d RelaxedRotSteerConv2d
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from aeqkit.groups import FieldType
from aeqkit.nn import (
    RelaxedDihedralGroupConv2d,
    RelaxedRotGroupConv2d,
    RelaxedRotLiftConv2d,
    RelaxedRotSteerConv2d,
    RelaxedScaleGroupConv2d,
    RelaxedScaleLiftConv2d,
    RelaxedScaleSteerConv2d,
    RelaxedTranslationConv2d,
)

N = 4  # C4
S = 4  # scales for the scale layers (same expanded channel count as C4)
K = 3


def _cases(width: int, size: int, num_filter_banks: int) -> list[tuple[str, nn.Module, nn.Module, int]]:
    """(name, relaxed layer, plain conv of the same expanded channel count, input channels)."""
    c = width * N
    L = num_filter_banks
    vec = FieldType.vectors(1)
    return [
        ("RelaxedRotGroupConv2d", RelaxedRotGroupConv2d(width, width, K, N, L),
         nn.Conv2d(c, c, K, padding=1), c),
        ("RelaxedDihedralGroupConv2d", RelaxedDihedralGroupConv2d(width, width, K, N, L),
         nn.Conv2d(2 * c, 2 * c, K, padding=1), 2 * c),
        ("RelaxedRotSteerConv2d", RelaxedRotSteerConv2d(FieldType.regular(width, N),
                                                        FieldType.regular(width, N), K, N),
         nn.Conv2d(c, c, K, padding=1), c),
        ("RelaxedRotLiftConv2d", RelaxedRotLiftConv2d(vec, width, K, N, L), nn.Conv2d(2, c, K, padding=1), 2),
        ("RelaxedTranslationConv2d", RelaxedTranslationConv2d(c, c, K, L, size),
         nn.Conv2d(c, c, K, padding=1, padding_mode="circular"), c),
        ("RelaxedScaleGroupConv2d", RelaxedScaleGroupConv2d(width, width, K, S, 2, L),
         nn.Conv2d(width * S, width * S, K, padding=1), width * S),
        ("RelaxedScaleLiftConv2d", RelaxedScaleLiftConv2d(2, width, K, S, L),
         nn.Conv2d(2, width * S, K, padding=1), 2),
        # a 3x3 grid cannot hold the scale-steerable basis up to scale 2 sqrt 2 (refused): 7x7 against a
        # plain 7x7 convolution
        ("RelaxedScaleSteerConv2d",
         RelaxedScaleSteerConv2d(width, width, 7, scales=(1.0, 2**0.5, 2.0, 2**1.5), scale_size=2),
         nn.Conv2d(width * S, width * S, 7, padding=3), width * S),
    ]


def _time_once(layer: nn.Module, x: torch.Tensor) -> float:
    layer.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    layer(x).sum().backward()
    return time.perf_counter() - t0


def _time_kernel_build(layer: nn.Module) -> float | None:
    """Forward + backward of the kernel construction alone (None if the layer has no such step)."""
    if not hasattr(layer, "expanded_weight"):
        return None
    layer.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    layer.expanded_weight().sum().backward()
    return time.perf_counter() - t0


def run(widths=(16, 32), rounds: int = 4, batch: int = 8, size: int = 64, num_filter_banks: int = 3,
        out: Path = Path("build/bench_layers.json"), layers: tuple[str, ...] | None = None) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    results = {
        "setting": {"group": "C4", "kernel_size": K, "batch": batch, "size": size, "threads": 1,
                    "num_filter_banks": num_filter_banks, "rounds": rounds, "scales": S,
                    "torch": torch.__version__, "machine": platform.machine(),
                    "processor": platform.processor() or platform.platform()},
        "layers": [],
    }
    for width in widths:
        cases = _cases(width, size, num_filter_banks)
        if layers:
            unknown = set(layers) - {c[0] for c in cases}
            if unknown:
                raise ValueError(f"unknown layers {sorted(unknown)}; known: {[c[0] for c in cases]}")
            cases = [c for c in cases if c[0] in layers]
        inputs = [torch.randn(batch, cin, size, size) for _, _, _, cin in cases]
        timings = {name: {"relaxed": [], "plain": [], "build": []} for name, *_ in cases}
        for layer_pair_x in zip(cases, inputs):  # warm-up
            (name, relaxed, plain, _), x = layer_pair_x
            _time_once(relaxed, x)
            _time_once(plain, x)
        for r in range(rounds):
            order = list(range(len(cases)))
            order = order[r % len(order):] + order[: r % len(order)]
            for i in order:
                name, relaxed, plain, _ = cases[i]
                x = inputs[i]
                pair = [("relaxed", relaxed), ("plain", plain)]
                if r % 2:
                    pair.reverse()
                for kind, layer in pair:
                    timings[name][kind].append(_time_once(layer, x))
                build = _time_kernel_build(relaxed)
                if build is not None:
                    timings[name]["build"].append(build)
        for name, t in timings.items():
            rel, pl = statistics.median(t["relaxed"]), statistics.median(t["plain"])
            build = statistics.median(t["build"]) if t["build"] else None
            row = {"layer": name, "width": width, "relaxed_ms": 1e3 * rel, "plain_ms": 1e3 * pl,
                   "ratio": rel / pl,
                   "kernel_build_ms": None if build is None else 1e3 * build,
                   "kernel_build_fraction_of_plain": None if build is None else build / pl}
            results["layers"].append(row)
            extra = ""
            if build is not None:
                extra = f"  (kernel build {1e3 * build:6.2f} ms = {100 * build / pl:4.1f}%)"
            print(f"width {width:3d}  {name:26s} relaxed {1e3 * rel:8.1f} ms  plain {1e3 * pl:8.1f} ms"
                  f"  ratio {rel / pl:5.2f}{extra}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(out)
    print(f"saved {out}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--num-filter-banks", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("build/bench_layers.json"))
    ap.add_argument("--layers", nargs="+", default=None, help="subset of layer names")
    a = ap.parse_args()
    run(tuple(a.widths), a.rounds, a.batch, a.size, a.num_filter_banks, a.out,
        tuple(a.layers) if a.layers else None)


if __name__ == "__main__":
    main()
