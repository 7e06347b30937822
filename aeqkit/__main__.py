"""Command line: ``python -m aeqkit {info,demo,reproduce}``.

* ``info``: versions, import checks of the kit and its dependencies, GPU presence (an install
  self-check in the spirit of PhiFlow's ``phi.verify()``); exits 1 when a required check fails.
* ``demo``: a quick, real demonstration of the equivariance metrics (paper Def. 2.1 / 3.1): the data
  equivariance error of heat diffusion against the symmetry-breaking β, and the C4 equivariance
  error of a plain ConvNet, the strict E(2)-steerable model and the relaxed models at
  initialisation and with perturbed relaxed weights, on a random velocity field.
* ``reproduce {table1,table2,figure4}``: train and evaluate models as in the paper's Sec. 5
  (:func:`aeqkit.reproduce.reproduce`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

__all__ = ["main", "build_parser", "info", "demo"]


def _check(name: str, fn: Callable[[], str], rows: list[tuple[str, bool, str, float]]) -> None:
    t0 = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as err:  # noqa: BLE001 - a self-check reports every failure, it never raises
        detail, ok = f"{type(err).__name__}: {err}".splitlines()[0][:160], False
    rows.append((name, ok, detail, time.perf_counter() - t0))


def _torch_check() -> str:
    import torch

    a = torch.randn(64, 64)
    if not torch.allclose(a @ torch.eye(64), a):
        raise RuntimeError("matrix product with the identity is wrong")
    return f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def _gpu_check() -> str:
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU (training runs on CPU; the 'full' profile is meant for a GPU)"
    name = torch.cuda.get_device_name(0)
    a = torch.randn(256, 256, device="cuda")
    torch.testing.assert_close((a @ torch.eye(256, device="cuda")).cpu(), a.cpu())
    mem = torch.cuda.get_device_properties(0).total_memory / 2**30
    return f"{name}, {mem:.0f} GiB, CUDA {torch.version.cuda}"


def _escnn_check() -> str:
    import escnn
    import torch
    from escnn import gspaces
    from escnn import nn as enn

    gs = gspaces.rot2dOnR2(4)
    conv = enn.R2Conv(enn.FieldType(gs, [gs.irrep(1)]), enn.FieldType(gs, [gs.regular_repr]), 3,
                      padding=1)
    y = conv(enn.GeometricTensor(torch.randn(1, 2, 9, 9), conv.in_type))
    return f"escnn {escnn.__version__}: C4 R2Conv forward {tuple(y.tensor.shape)}"


def _phiflow_check() -> str:
    import phi
    from phi.torch import flow

    grid = flow.CenteredGrid(flow.Noise(), flow.ZERO_GRADIENT, x=16, y=16)
    out = flow.diffuse.explicit(grid, 0.1, dt=0.1)
    values = out.values.numpy("y,x")
    if values.shape != (16, 16):
        raise RuntimeError(f"unexpected PhiFlow grid shape {values.shape}")
    return f"phiflow {phi.__version__}: torch backend, one diffusion step on 16x16"


def _plotly_check() -> str:
    import plotly
    import plotly.graph_objects as go

    go.Figure(go.Heatmap(z=[[0, 1], [1, 0]]))
    return f"plotly {plotly.__version__}"


def _module_check(name: str) -> Callable[[], str]:
    def run() -> str:
        import importlib

        mod = importlib.import_module(f"aeqkit.{name}")
        return f"{len(getattr(mod, '__all__', []))} public names"

    return run


#: aeqkit modules checked by ``info`` (optional ones may not exist in a partial checkout).
_MODULES = ("groups", "equivariance", "io", "utils", "nn", "models", "data", "train", "reproduce",
            "paper", "viz", "widgets", "discovery")


def info(out: Callable[[str], None] = print) -> int:
    """Print versions and the install self-check; return 0 when every check passes, else 1."""
    from aeqkit.utils import banner, versions

    out(banner())
    out("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    rows: list[tuple[str, bool, str, float]] = []
    _check("torch", _torch_check, rows)
    _check("gpu", _gpu_check, rows)
    _check("escnn", _escnn_check, rows)
    _check("phiflow", _phiflow_check, rows)
    _check("plotly", _plotly_check, rows)
    for m in _MODULES:
        _check(f"aeqkit.{m}", _module_check(m), rows)
    for name, ok, detail, secs in rows:
        out(f"  [{'ok' if ok else 'FAIL':>4}] {name:<20} {detail}  ({secs:.2f} s)")
    failed = [r[0] for r in rows if not r[1]]
    out("all checks passed" if not failed else f"{len(failed)} check(s) failed: {', '.join(failed)}")
    return 0 if not failed else 1


def demo(size: int = 24, seed: int = 0, out: Callable[[str], None] = print) -> dict[str, float]:
    """The equivariance metrics on real objects: data (heat diffusion, Fig. 2) and models.

    1. Data equivariance error (Def. 3.1, D4, L1) of heat diffusion on a plate whose diffusivity
       ``κ0 (1 + β φ(x))`` breaks the symmetry by β (``aeqkit.data.heat``).
    2. C4 equivariance error (L1, Def. 2.1) of untrained rotation forecasters on a random field:
       Conv, the strict E(2)-steerable model, and the relaxed models at initialisation and with
       perturbed relaxed weights.

    Returns:
        ``{label: mean error}`` for every row printed.
    """
    import torch

    from aeqkit.models import build
    from aeqkit.reproduce import model_equivariance_error
    from aeqkit.utils import seed_everything

    results: dict[str, float] = {}
    out("1. Heat diffusion, kappa = kappa0 (1 + beta phi(x)): data equivariance error over D4 "
        "(mean |f(g T0) - g f(T0)|, float64)")
    from aeqkit.data.heat import heat_equivariance_error

    betas = (0.0, 0.1, 0.3, 0.9)
    for beta, err in zip(betas, heat_equivariance_error(list(betas), resolution=size)):
        results[f"heat beta={beta}"] = err
        out(f"  beta = {beta:<4} {err:.3e}")
    out(f"2. C4 equivariance error (mean |f(gx) - g f(x)| over g = 90, 180, 270 degrees) of "
        f"untrained forecasters on a random {size}x{size} velocity field, float32:")
    seed_everything(seed)
    x = torch.randn(2, 10, 2, size, size)
    for name in ("conv", "equiv", "rgroup", "rsteer"):
        seed_everything(seed)
        model = build(name, symmetry="rotation", **_demo_hparams(name, size))
        results[name] = model_equivariance_error(model, x)
        out(f"  {name:<36} {results[name]:.3e}")
        relaxed = [p for n, p in model.named_parameters() if n.endswith("relaxed_weights")]
        if relaxed:
            with torch.no_grad():
                for p in relaxed:
                    p.add_(0.1 * torch.randn_like(p))
            label = f"{name}, relaxed weights + 0.1 N(0,1)"
            results[label] = model_equivariance_error(model, x)
            out(f"  {label:<36} {results[label]:.3e}")
    out("beta = 0 gives a symmetric plate (error at rounding level); the error grows with beta. "
        "Conv is not rotation-equivariant; Equiv is, up to float32 rounding; the relaxed models "
        "start equivariant and become approximately equivariant once their relaxed weights "
        "differ (paper Sec. 3.2).")
    return results


def _demo_hparams(name: str, size: int) -> dict[str, object]:
    from aeqkit.reproduce import PROFILES, model_hparams

    return model_hparams(PROFILES["quick"], name, "rotation", (size, size))


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m aeqkit`` argument parser."""
    from aeqkit.reproduce import EXPERIMENTS, PROFILES

    parser = argparse.ArgumentParser(
        prog="python -m aeqkit",
        description="aeqkit: approximately equivariant networks for imperfectly symmetric dynamics")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{info,demo,reproduce}")
    sub.add_parser("info", help="versions, import checks and GPU presence (install self-check)")
    p_demo = sub.add_parser("demo", help="equivariance errors of conv / equiv / relaxed models")
    p_demo.add_argument("--size", type=int, default=24, help="grid size of the random field")
    p_demo.add_argument("--seed", type=int, default=0)
    p_rep = sub.add_parser("reproduce", help="train and evaluate models as in the paper's Sec. 5")
    p_rep.add_argument("experiment", choices=EXPERIMENTS, help="which table or figure")
    p_rep.add_argument("--symmetry", default="rotation",
                       help="translation, rotation, scaling (table1/2), combination (table2); "
                            "figure4: rotation")
    p_rep.add_argument("--profile", default="quick", choices=tuple(PROFILES))
    p_rep.add_argument("--seeds", type=int, default=None,
                       help="number of seeds (default: 1 quick, 3 full)")
    p_rep.add_argument("--models", default=None,
                       help="comma-separated model names, e.g. conv,equiv,rgroup,rsteer")
    p_rep.add_argument("--out", default="build", help="folder for the JSON and CSV results")
    p_rep.add_argument("--device", default=None, help="cpu, cuda, ... (default: automatic)")
    p_rep.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    p_rep.set_defaults(subparser=p_rep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aeqkit``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    from aeqkit.utils import configure_threads

    if args.command == "demo":
        configure_threads("quick")
        demo(size=args.size, seed=args.seed)
        return 0
    from aeqkit.reproduce import (
        format_results,
        parse_models,
        reproduce,
        validate_request,
    )

    try:
        validate_request(args.experiment, args.symmetry, args.profile)
        models = parse_models(args.models, args.experiment, args.symmetry)
        if args.seeds is not None and args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    except ValueError as err:
        args.subparser.error(str(err))
    configure_threads(args.profile)
    results = reproduce(args.experiment, args.symmetry, args.profile, seeds=args.seeds,
                        models=models, out=args.out, device=args.device,
                        progress=not args.no_progress)
    print(format_results(results))
    for path in results.get("files", []):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
