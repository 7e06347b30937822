"""The notebook runner under bad input and faults: skip, timeout, unwritable summary, bad profile.

The fast tests need no kernel; the ``slow`` ones execute tiny throwaway notebooks (a few seconds
each) and notebook 00 up to its parameter check.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aeqkit.record import RECORD_FILE_ENV, SkipNotebook, check_parameters, read_record_file, record

ROOT = Path(__file__).resolve().parents[1]

HEADER = '''# ---
# jupyter:
#   aeqkit:
#     budget_s:
#       quick: 60
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # {title}

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0

'''


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(root: Path, name: str, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.py"
    path.write_text(HEADER.format(title=name) + body, encoding="utf-8")
    return path


# --- fast: no kernel -------------------------------------------------------------------------


def test_check_parameters_names_accepted_values() -> None:
    check_parameters("quick", 0)
    check_parameters("full", 3)
    with pytest.raises(ValueError, match=r"PROFILE must be one of \['quick', 'full'\], got 'slow'"):
        check_parameters("slow", 0)
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="SEED must be a non-negative integer"):
            check_parameters("quick", bad)


def test_record_is_silent_and_writes_the_record_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv(RECORD_FILE_ENV, raising=False)
    assert record("a", 1.5) == 1.5
    target = tmp_path / "r.jsonl"
    monkeypatch.setenv(RECORD_FILE_ENV, str(target))
    record("a", 2.0)
    record("b", True)
    assert capsys.readouterr() == ("", "")
    with open(target, "a") as fh:
        fh.write('{"name": "c", "val')  # a line cut short by a killed kernel is ignored
    assert read_record_file(target) == {"a": 2.0, "b": True}
    with pytest.raises(ValueError, match="finite"):
        record("x", float("nan"))
    with pytest.raises(ValueError, match="identifier"):
        record("not a name", 1)
    with pytest.raises(TypeError, match="number, bool or string"):
        record("x", object())


def test_skip_notebook_renders_one_line() -> None:
    exc = SkipNotebook("data package 'jet-piv' is not installed")
    assert exc._render_traceback_() == ["SkipNotebook: data package 'jet-piv' is not installed"]


def test_unwritable_summary_fails_before_any_notebook(tmp_path: Path) -> None:
    runner = _runner()
    _write(tmp_path / "nb", "00_ok", "record('x', 1)\n")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = tmp_path / "out"
    start = time.perf_counter()
    with pytest.raises(PermissionError, match="--summary"):
        runner.run_all(summary_path=blocker / "summary.json", out_dir=out, root=tmp_path / "nb",
                       verbose=False)
    assert time.perf_counter() - start < 5 and not out.exists(), "a notebook ran before the check"
    with pytest.raises(PermissionError, match="--out"):
        runner.run_all(summary_path=tmp_path / "s.json", out_dir=blocker / "out", root=tmp_path / "nb",
                       verbose=False)
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--only", "00",
                          "--summary", str(blocker / "summary.json")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "--summary" in res.stderr and "Traceback" not in res.stderr


def test_bad_profile_and_timeout_exit_2(monkeypatch, capsys) -> None:
    runner = _runner()
    monkeypatch.setenv("PROFILE", "slow")
    assert runner.main(["--only", "00"]) == 2
    err = capsys.readouterr().err
    assert "['quick', 'full']" in err and "'slow'" in err and err.count("\n") == 1
    monkeypatch.delenv("PROFILE")
    assert runner.main(["--profile", "slow", "--only", "00"]) == 2
    err = capsys.readouterr().err
    assert "--profile" in err and "['quick', 'full']" in err and err.count("\n") == 1
    assert runner.main(["--only", "00", "--timeout", "0"]) == 2
    assert "--timeout" in capsys.readouterr().err
    assert runner.main(["--only", "99_nope"]) == 2
    assert "--only" in capsys.readouterr().err


def test_old_summary_is_never_left_looking_current(tmp_path: Path, monkeypatch) -> None:
    runner = _runner()
    root = tmp_path / "nb"
    _write(root, "00_a", "record('x', 1)\n")
    _write(root, "01_b", "record('y', 2)\n")
    summary_path = tmp_path / "summary.json"
    summary_path.write_text(json.dumps({"profile": "quick", "complete": True, "ok": True,
                                        "notebooks": [{"name": "00_a", "status": "ok"}]}))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_all(summary_path=summary_path, out_dir=tmp_path / "out", root=root, verbose=False)
    summary = json.loads(summary_path.read_text())
    assert summary["complete"] is False and summary["ok"] is False
    assert [r["status"] for r in summary["notebooks"]] == ["pending", "pending"]
    assert summary["unfinished"] == ["00_a", "01_b"]
    md = summary_path.with_suffix(".md").read_text()
    assert "INCOMPLETE" in md and "Did not finish" in md


def _fake_row(path: Path, status: str = "ok") -> dict:
    return {"name": path.stem, "status": status, "seconds": 0.1, "data_seconds": 0.0,
            "budget_s": 60.0, "timeout_s": 60.0, "within_budget": True, "size_bytes": 0,
            "metrics": {"n": int(path.stem[:2])}, "error": None, "output": None}


def test_jobs_run_notebooks_side_by_side_and_keep_the_order(tmp_path: Path, monkeypatch) -> None:
    import threading

    runner = _runner()
    root = tmp_path / "nb"
    for name in ("00_a", "01_b", "02_c", "03_d", "04_e"):
        _write(root, name, "")
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def fake(path, out_dir, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.3 if path.stem == "00_a" else 0.05)  # 00 finishes after 01 and 02
        with lock:
            state["now"] -= 1
        return _fake_row(path)

    monkeypatch.setattr(runner, "run_notebook", fake)
    summary = runner.run_all(summary_path=tmp_path / "s.json", out_dir=tmp_path / "out", root=root,
                             verbose=False, jobs=2)
    assert state["most"] == 2
    assert [r["name"] for r in summary["notebooks"]] == ["00_a", "01_b", "02_c", "03_d", "04_e"]
    assert summary["complete"] is True and summary["ok"] is True
    assert json.loads((tmp_path / "s.json").read_text())["notebooks"] == summary["notebooks"]
    with pytest.raises(ValueError, match="--jobs to be an integer >= 1"):
        runner.run_all(summary_path=tmp_path / "s.json", out_dir=tmp_path / "out", root=root,
                       verbose=False, jobs=0)


def test_interrupted_jobs_leave_an_incomplete_summary(tmp_path: Path, monkeypatch) -> None:
    runner = _runner()
    root = tmp_path / "nb"
    for name in ("00_a", "01_b", "02_c"):
        _write(root, name, "")

    def fake(path, out_dir, **kwargs):
        if path.stem == "01_b":
            raise KeyboardInterrupt
        return _fake_row(path)

    monkeypatch.setattr(runner, "run_notebook", fake)
    with pytest.raises(KeyboardInterrupt):
        runner.run_all(summary_path=tmp_path / "s.json", out_dir=tmp_path / "out", root=root,
                       verbose=False, jobs=2)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["complete"] is False and "01_b" in summary["unfinished"]


def test_table_lists_unfinished_and_skipped() -> None:
    runner = _runner()
    row = {"seconds": 1.0, "data_seconds": 0.0, "budget_s": 60.0, "within_budget": True,
           "size_bytes": 0, "metrics": {}}
    summary = {"profile": "quick", "seed": 0, "total_seconds": 3.0, "total_budget_s": 900.0,
               "complete": True, "notebooks": [
                   {**row, "name": "00_ok", "status": "ok", "error": None},
                   {**row, "name": "01_skip", "status": "skipped", "error": "no data package"},
                   {**row, "name": "02_sleep", "status": "timeout", "error": "stopped after 3 s"}]}
    table = runner.format_table(summary)
    assert "## Did not finish" in table and "**02_sleep** (timeout): stopped after 3 s" in table
    assert "## Skipped" in table and "**01_skip**: no data package" in table
    assert "00_ok" not in table.split("## Did not finish")[1]


# --- slow: real kernels ----------------------------------------------------------------------


@pytest.mark.slow
def test_runner_reports_ok_skipped_and_timeout(tmp_path: Path) -> None:
    runner = _runner()
    root = tmp_path / "nb"
    _write(root, "00_ok", "from aeqkit.record import record\nrecord('answer', 42)\nprint('done')\n")
    _write(root, "01_skip", "from aeqkit.record import SkipNotebook\n"
                            "raise SkipNotebook('data package missing: install it with X')\n")
    _write(root, "02_sleep", "import time\ntime.sleep(600)\n")
    summary_path = tmp_path / "summary.json"
    start = time.perf_counter()
    summary = runner.run_all(summary_path=summary_path, out_dir=tmp_path / "out", root=root,
                             verbose=False, timeout_s=20)
    elapsed = time.perf_counter() - start
    rows = {r["name"]: r for r in summary["notebooks"]}
    assert rows["00_ok"]["status"] == "ok" and rows["00_ok"]["metrics"] == {"answer": 42}
    assert rows["01_skip"]["status"] == "skipped", rows["01_skip"]
    assert "data package missing" in rows["01_skip"]["error"]
    assert rows["02_sleep"]["status"] == "timeout", rows["02_sleep"]
    assert elapsed < 120, f"the sleeping notebook was not stopped ({elapsed:.0f} s)"
    assert summary["complete"] is True and summary["ok"] is False
    assert summary["unfinished"] == ["02_sleep"] and summary["skipped"] == ["01_skip"]
    on_disk = json.loads(summary_path.read_text())
    assert on_disk["unfinished"] == ["02_sleep"]
    # the executed notebook shows no record line, but carries the values in its metadata
    from aeqkit.record import read_records

    out = tmp_path / "out" / "00_ok.ipynb"
    assert read_records(out) == {"answer": 42}
    texts = [o.get("text", "") for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]
    assert not any("answer" in "".join(t) for t in texts)


@pytest.mark.slow
def test_papermill_bad_profile_names_the_accepted_ones(tmp_path: Path) -> None:
    import papermill as pm

    export = importlib.util.spec_from_file_location("export_nb", ROOT / "tools" / "export_notebooks.py")
    mod = importlib.util.module_from_spec(export)
    export.loader.exec_module(mod)
    src = mod.export(ROOT / "notebooks" / "00_approximate_equivariance.py", tmp_path)
    with pytest.raises(pm.PapermillExecutionError) as info:
        pm.execute_notebook(str(src), str(tmp_path / "out.ipynb"), parameters={"PROFILE": "slow"},
                            cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False)
    assert info.value.ename == "ValueError"
    assert "PROFILE must be one of ['quick', 'full'], got 'slow'" in info.value.evalue


@pytest.mark.slow
def test_sigterm_stops_the_notebook_and_leaves_an_incomplete_summary(tmp_path: Path) -> None:
    import signal

    root = tmp_path / "nb"
    _write(root, "00_sleep", "import time\ntime.sleep(600)\n")
    summary_path = tmp_path / "summary.json"
    script = tmp_path / "drive.py"
    script.write_text(
        "import importlib.util, signal, sys\n"
        f"spec = importlib.util.spec_from_file_location('rn', {str(ROOT / 'tools' / 'run_notebooks.py')!r})\n"
        "rn = importlib.util.module_from_spec(spec); spec.loader.exec_module(rn)\n"
        "signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))\n"
        f"rn.run_all(summary_path=rn.Path({str(summary_path)!r}),\n"
        f"           out_dir=rn.Path({str(tmp_path / 'out')!r}),\n"
        f"           root=rn.Path({str(root)!r}), verbose=False, timeout_s=300)\n")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT)
    deadline = time.time() + 120
    log = tmp_path / "out" / ".inputs" / "00_sleep.log"
    while time.time() < deadline and not (log.exists() and summary_path.exists()):
        time.sleep(0.5)
    time.sleep(8)  # let papermill start the kernel
    import psutil

    family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert family, "papermill was not started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    time.sleep(2)
    alive = [pid for pid in family if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert not alive, f"papermill or its kernel survived the runner: {alive}"
    summary = json.loads(summary_path.read_text())
    assert summary["complete"] is False and summary["unfinished"] == ["00_sleep"]
