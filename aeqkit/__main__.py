"""Command line: ``python -m aeqkit {info,demo,reproduce,...}``.

* ``info``: versions, import checks of the kit and its dependencies, GPU presence (an install
  self-check in the spirit of PhiFlow's ``phi.verify()``); exits 1 when a required check fails.
* ``demo``: a quick, real demonstration of the equivariance metrics (paper Def. 2.1 / 3.1): the data
  equivariance error of heat diffusion against the symmetry-breaking β, and the C4 equivariance
  error of a plain ConvNet, the strict E(2)-steerable model and the relaxed models at
  initialisation and with perturbed relaxed weights, on a random velocity field.
* ``reproduce {table1,table2,figure4,heat,jet}``: train and evaluate models as in the paper's
  Sec. 5 (:func:`aeqkit.reproduce.reproduce`) or aeqkit's heat / jet studies; the choices are the
  experiment registry (:func:`aeqkit.reproduce.experiment_specs`, ``reproduce --list``).
* further sub-commands registered in :data:`COMMANDS` (e.g. ``sweep``).

Sub-commands are rows of :data:`COMMANDS`: a :class:`Command` with ``add_arguments(parser)``,
``check(args)`` (validation only: a ``ValueError`` / ``TypeError`` raised there is a user error) and
``run(args) -> exit status``. Add one with :func:`register` (or a row naming ``"module:function"``
strings, imported only when used). User errors (bad options, bad ``OMP_NUM_THREADS``,
``AEQKIT_DEVICE``, ``AEQKIT_PROFILE``) exit with status 2 and one line on stderr naming the option
and the accepted values, before any long work starts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["COMMANDS", "Command", "UsageError", "build_parser", "demo", "info", "main", "register"]


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
_MODULES = ("groups", "equivariance", "io", "utils", "nn", "models", "data", "train", "harness",
            "reproduce", "paper", "viz", "widgets", "discovery")


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


class UsageError(ValueError):
    """A user error: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``prog: error: ...``) and exit 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


Fn = Callable[..., object] | str


@dataclass(frozen=True)
class Command:
    """One ``python -m aeqkit`` sub-command.

    Attributes:
        help: one line for ``--help``.
        add_arguments: ``fn(parser)`` adding the command's options (or ``"module:function"``).
        run: ``fn(args) -> int`` exit status (or ``"module:function"``).
        check: ``fn(args)`` validating the options before any work (or ``"module:function"``);
            a ``ValueError`` / ``TypeError`` raised here exits 2 with its message.
    """

    help: str
    add_arguments: Fn | None
    run: Fn
    check: Fn | None = None


def _resolve(fn: Fn | None) -> Callable[..., object] | None:
    if fn is None or callable(fn):
        return fn
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


#: Sub-commands by name, in ``--help`` order. See :func:`register`.
COMMANDS: dict[str, Command] = {}


def register(name: str, command: Command) -> None:
    """Add (or replace) a sub-command."""
    COMMANDS[name] = command


# ---------------------------------------------------------------- info


def _info_run(args: argparse.Namespace) -> int:
    return info()


# ---------------------------------------------------------------- demo

DEMO_SIZES = (8, 256)


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=24,
                   help=f"grid size of the random field and the heat plate "
                        f"({DEMO_SIZES[0]}-{DEMO_SIZES[1]})")
    p.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")


def _demo_check(args: argparse.Namespace) -> None:
    lo, hi = DEMO_SIZES
    if not lo <= args.size <= hi:
        raise ValueError(f"--size must be an integer in {lo}..{hi}, got {args.size}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")


def _demo_run(args: argparse.Namespace) -> int:
    from aeqkit.utils import configure_threads

    configure_threads("quick")
    demo(size=args.size, seed=args.seed)
    return 0


# ---------------------------------------------------------------- reproduce


def _reproduce_arguments(p: argparse.ArgumentParser) -> None:
    from aeqkit.reproduce import experiment_specs

    specs = experiment_specs()
    profiles = tuple(dict.fromkeys(pr for s in specs.values() for pr in s.profiles))
    rows = ", ".join(f"{n}: {'/'.join(s.datasets)}" for n, s in specs.items())
    p.add_argument("experiment", nargs="?", choices=tuple(specs),
                   help="which table, figure or study (--list shows each one's data and models)")
    p.add_argument("--list", action="store_true",
                   help="list the experiments: rows, data sets, default models, profiles")
    p.add_argument("--symmetry", default="rotation", help=f"the row ({rows})")
    p.add_argument("--profile", default="quick", choices=profiles)
    p.add_argument("--seeds", type=int, default=None,
                   help="number of seeds (default: the profile's)")
    p.add_argument("--models", default=None,
                   help="comma-separated model names, e.g. conv,equiv,rgroup,rsteer")
    p.add_argument("--out", default="build", help="folder for the JSON (and CSV) results")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: automatic)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")


def _reproduce_check(args: argparse.Namespace) -> None:
    from aeqkit.reproduce import (
        check_models_exist,
        check_out_writable,
        experiment_setup,
        parse_models,
        validate_request,
    )
    from aeqkit.utils import resolve_device

    if args.list:
        return
    if args.experiment is None:
        raise UsageError("the following arguments are required: experiment (or --list)")
    validate_request(args.experiment, args.symmetry, args.profile)
    args.models = parse_models(args.models, args.experiment, args.symmetry)
    check_models_exist(args.models, experiment_setup(args.experiment, args.symmetry)[1])
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    args.device = str(resolve_device(args.device, "--device"))
    check_out_writable(args.out)


def _reproduce_run(args: argparse.Namespace) -> int:
    from aeqkit.reproduce import experiments_table, get_experiment_spec
    from aeqkit.utils import configure_threads

    if args.list:
        print(experiments_table())
        return 0
    configure_threads(args.profile)
    spec = get_experiment_spec(args.experiment)
    results = spec.run(args.experiment, args.symmetry, args.profile, seeds=args.seeds,
                       models=args.models, out=args.out, device=args.device,
                       progress=not args.no_progress)
    print(spec.format(results))  # always, even when the files could not be written
    for path in results.get("files", []):
        print(f"wrote {path}")
    if results.get("write_error"):
        print(f"python -m aeqkit reproduce: error: {results['write_error']}", file=sys.stderr)
        return 1
    return 0


register("info", Command("versions, import checks and GPU presence (install self-check)",
                         None, _info_run))
register("demo", Command("equivariance errors of conv / equiv / relaxed models",
                         _demo_arguments, _demo_run, _demo_check))
register("reproduce", Command("train and evaluate models as in the paper's Sec. 5 (--list: every "
                              "experiment)",
                              _reproduce_arguments, _reproduce_run, _reproduce_check))
register("sweep", Command("Optuna hyperparameter sweeps (Table 3 grid), resumable, many workers "
                          "/ machines", "aeqkit.sweep:add_arguments", "aeqkit.sweep:main"))
register("ledger", Command("reproduction ledger: paper, independent and aeqkit results side by side "
                           "(build/ledger.json, .md)", "aeqkit.ledger:add_arguments",
                           "aeqkit.ledger:run_cli", "aeqkit.ledger:check"))
register("claims", Command("the paper's claims as checks: measured, target, verdict (build/claims.json)",
                           "aeqkit.claims:add_arguments", "aeqkit.claims:run_cli", "aeqkit.claims:check"))


# ---------------------------------------------------------------- parser and entry point


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m aeqkit`` argument parser, one sub-parser per row of :data:`COMMANDS`.

    A row whose module is missing (a partial checkout) is left out.
    """
    parser = _Parser(
        prog="python -m aeqkit",
        description="aeqkit: approximately equivariant networks for imperfectly symmetric dynamics")
    names = []
    sub = parser.add_subparsers(dest="command", required=True)
    for name, cmd in COMMANDS.items():
        try:
            add = _resolve(cmd.add_arguments)
        except ModuleNotFoundError:
            continue
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if add is not None:
            add(p)
        names.append(name)
    sub.metavar = "{" + ",".join(names) + "}"
    return parser


def _check_environment() -> None:
    """Validate the environment variables aeqkit reads, before any work (exit 2 when wrong)."""
    from aeqkit.utils import default_device, profile_from_env, threads_from_env

    threads_from_env()
    if os.environ.get("AEQKIT_DEVICE"):
        default_device()
    if os.environ.get("AEQKIT_PROFILE"):
        profile_from_env()
    t = os.environ.get("AEQKIT_LOCK_TIMEOUT")
    if t:
        try:
            if not float(t) > 0:
                raise ValueError
        except ValueError:
            raise ValueError(f"AEQKIT_LOCK_TIMEOUT must be a number of seconds > 0, got {t!r}") from None


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message.splitlines()[0] if message else 'invalid input'}",
          file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aeqkit``; returns the exit status (2: a user error)."""
    prog = "python -m aeqkit"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        prog = f"{prog} {args.command}"
        _check_environment()
        cmd = COMMANDS[args.command]
        check = _resolve(cmd.check)
        if check is not None:
            check(args)
        run = _resolve(cmd.run)
    except (UsageError, ValueError, TypeError) as err:
        return _fail(prog, str(err))
    from aeqkit.data.cache import CacheLockTimeout
    from aeqkit.io import CorruptFileError
    from aeqkit.train import TrainingDiverged

    try:
        status = run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (TrainingDiverged, CacheLockTimeout, CorruptFileError, OSError) as err:
        # failures during the work (not user errors): one line and status 1, no traceback;
        # AEQKIT_DEBUG=1 shows the traceback
        if os.environ.get("AEQKIT_DEBUG"):
            raise
        print(f"{prog}: error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
              file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
