"""Helpers for the browser tests: a JupyterLab server and headless Chromium driven by playwright.

The browser tests (``tests/test_browser.py``, issue 7) do what a person does in JupyterLab: open a
notebook, run all cells from the Run menu, drag an ipywidgets slider and read what the page shows.
This module holds the plumbing so the tests read as that story:

* :func:`missing_browser_requirements` names exactly what is missing (playwright, chromium) so
  the tests skip with that message instead of silently.
* :class:`JupyterLabServer` runs ``jupyter lab`` on 127.0.0.1 on a free port with temporary
  config, data, runtime and settings directories, no token, its own process group, and always
  shuts down (kernels included, found by their connection files in the temporary runtime dir).
* :func:`launch_chromium` starts Debian's chromium with a fresh user-data-dir.
* :class:`LabPage` wraps a playwright page with JupyterLab / ipywidgets / plotly helpers and
  collects JavaScript errors from the console.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM_ARGS",
    "CURRENT_PANEL",
    "JupyterLabServer",
    "LabPage",
    "PlotlyFigureState",
    "chromium_path",
    "FigureFit",
    "copy_notebooks",
    "export_notebooks",
    "free_port",
    "inject_parameters",
    "launch_chromium",
    "link_siblings",
    "missing_browser_requirements",
    "parse_numbers",
]

#: Flags that make Debian's chromium work headless here: no sandbox (root in a container), no GPU,
#: and no background traffic to Google services (the network is closed; those would only log noise).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

#: Console messages that are not JavaScript errors of the page: failed network requests (the
#: network is closed, e.g. JupyterLab's news/update check or a font) and favicon misses.
BENIGN_CONSOLE_PATTERNS: tuple[str, ...] = (
    r"Failed to load resource",
    r"net::ERR_",
    r"favicon",
)


def chromium_path() -> Path:
    """Return the chromium binary the tests use: ``$AEQKIT_CHROMIUM`` or ``/usr/bin/chromium``."""
    return Path(os.environ.get("AEQKIT_CHROMIUM", "/usr/bin/chromium"))


def missing_browser_requirements() -> list[str]:
    """Return human-readable descriptions of what the browser tests need but cannot find.

    An empty list means playwright, jupyterlab and a runnable chromium are all present.
    """
    missing: list[str] = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        missing.append(
            f"the 'playwright' Python package ({exc}); install it with "
            "`.venv/bin/pip install 'playwright>=1.44,<2'` (browsers are not downloaded: "
            "Debian's chromium is used)"
        )
    try:
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        missing.append(f"the 'jupyterlab' Python package ({exc})")
    chromium = chromium_path()
    if not chromium.exists():
        missing.append(
            f"the chromium binary {chromium} (run `tools/install_browser.sh` as root, i.e. "
            "`apt-get update && apt-get install -y chromium`, or set AEQKIT_CHROMIUM)"
        )
    elif not os.access(chromium, os.X_OK):
        missing.append(f"the chromium binary {chromium} is not executable")
    else:
        try:
            subprocess.run([str(chromium), "--version"], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            missing.append(f"a working chromium: `{chromium} --version` failed ({exc})")
    return missing


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_numbers(text: str) -> list[float]:
    """Return every decimal number (``1.5``, ``-2e-3``, ``0.07``) found in ``text``, in order."""
    pattern = r"[-+−]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+−]?\d+)?"
    return [float(m.replace("−", "-")) for m in re.findall(pattern, text)]


def inject_parameters(notebook: Path, parameters: dict[str, Any]) -> list[str]:
    """Insert a papermill-style ``injected-parameters`` cell after the ``parameters`` cell.

    Only names that the ``parameters`` cell assigns are injected (so a notebook without a
    ``PROFILE`` knob is left alone). The notebook file is rewritten in place: call this on a
    temporary copy only.

    Returns:
        The names that were injected (empty when the notebook has no ``parameters`` cell).
    """
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cells = nb.get("cells", [])
    for index, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or "parameters" not in tags:
            continue
        source = "".join(cell.get("source", ""))
        names = [
            name
            for name in parameters
            if re.search(rf"^\s*{re.escape(name)}\s*(?::[^=]*)?=", source, flags=re.MULTILINE)
        ]
        if not names:
            return []
        lines = ["# Parameters injected by tests/test_browser.py\n"]
        lines += [f"{name} = {parameters[name]!r}\n" for name in names]
        new_cell = {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["injected-parameters"]},
            "outputs": [],
            "source": lines,
        }
        if nb.get("nbformat", 4) >= 4 and nb.get("nbformat_minor", 0) >= 5:
            new_cell["id"] = "injected-parameters"
        cells.insert(index + 1, new_cell)
        notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
        return names
    return []


# --------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------

#: User settings that keep JupyterLab quiet on a closed network: no news or update check
#: (their pop-up would cover the notebook), and no autosave (the copy is throwaway anyway).
_LAB_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


@dataclass
class JupyterLabServer:
    """A ``jupyter lab`` process on 127.0.0.1 with throwaway Jupyter directories.

    Use as a context manager, or call :meth:`start` and (always, e.g. in a finalizer)
    :meth:`stop`. The kernel is the default ``python3`` kernel of the interpreter running the
    server (the project venv), which is what a person gets after ``pip install -e .[notebooks]``.

    Args:
        root_dir: Folder shown in JupyterLab's file browser (notebooks are opened relative to it).
        work_dir: Folder for the temporary Jupyter config/data/runtime dirs and the server log.
        env: Extra environment variables for the server and hence its kernels.
        startup_timeout: Seconds to wait for the server to answer HTTP.
    """

    root_dir: Path
    work_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 90.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:8890``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime_dir(self) -> Path:
        """The server's JUPYTER_RUNTIME_DIR (kernel connection files live here)."""
        return self.work_dir / "runtime"

    def __enter__(self) -> JupyterLabServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it answers ``/api/status``.

        Raises:
            RuntimeError: the server exited or did not answer within ``startup_timeout``; the
                message holds the tail of its log.
        """
        dirs = {
            "JUPYTER_CONFIG_DIR": self.work_dir / "config",
            "JUPYTER_DATA_DIR": self.work_dir / "data",
            "JUPYTER_RUNTIME_DIR": self.runtime_dir,
            "JUPYTERLAB_SETTINGS_DIR": self.work_dir / "lab-user-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.work_dir / "lab-workspaces",
            "IPYTHONDIR": self.work_dir / "ipython",
        }
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        for rel, settings in _LAB_USER_SETTINGS.items():
            target = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(settings), encoding="utf-8")

        env = dict(os.environ)
        env.update({key: str(value) for key, value in dirs.items()})
        env.pop("JUPYTER_PATH", None)
        for key in [k for k in env if k.startswith("PAPERMILL")]:
            env.pop(key)  # aeqkit.widgets would think it runs headless
        env.pop("AEQKIT_PLOTLY_RENDERER", None)
        env["AEQKIT_HEADLESS"] = "0"  # a person's JupyterLab: live widgets
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        env.update(self.env)

        self.port = free_port()
        self.log_path = self.work_dir / "jupyterlab.log"
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",  # fallback for Run All, see LabPage
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers run as root
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=self.root_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group: stop() can signal the whole tree
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with code {self.process.returncode} during startup; "
                    f"log tail:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=5) as resp:
                    if resp.status == 200:
                        return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"jupyter lab did not answer on {self.url} within {self.startup_timeout:.0f} s; "
            f"log tail:\n{self.log_tail()}"
        )

    def log_tail(self, n_chars: int = 4000) -> str:
        """Return the last ``n_chars`` characters of the server log."""
        if self.log_path is None or not self.log_path.exists():
            return "<no log>"
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-n_chars:]

    def _api(self, method: str, path: str, timeout: float = 5.0) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (``DELETE /api/kernels/<id>``); errors are ignored."""
        with contextlib.suppress(Exception):
            for kernel in self.kernels():
                self._api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)

    def kernels(self) -> list[dict[str, Any]]:
        """Return the server's running kernels (``GET /api/kernels``)."""
        return list(self._api("GET", "/api/kernels"))

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down kernels and the server; safe to call twice and after a failed start."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            # 1. Ask for the kernels to go (they run in their own sessions, not our group).
            self.shutdown_kernels()
            # 2. SIGTERM the server's process group, then SIGKILL what is left.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers left in the group
        # 3. Kernels that survived: their command line names a connection file in our runtime dir.
        for pid in _pids_mentioning(str(self.runtime_dir)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _pids_mentioning(needle: str) -> list[int]:
    """Return ids of processes whose command line contains ``needle`` (Linux ``/proc`` only)."""
    pids: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return pids


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


def launch_chromium(playwright: Any, user_data_dir: Path | None = None) -> Any:
    """Launch headless Debian chromium with a fresh profile; return a playwright BrowserContext.

    Args:
        playwright: The object from ``playwright.sync_api.sync_playwright().start()``.
        user_data_dir: Profile folder; a new temporary one when ``None``.
    """
    if user_data_dir is None:
        user_data_dir = Path(tempfile.mkdtemp(prefix="aeqkit-chromium-"))
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(chromium_path()),
        headless=True,
        args=list(CHROMIUM_ARGS),
        viewport={"width": 1400, "height": 1000},
        timeout=60_000,
    )


# --------------------------------------------------------------------------------------------
# JupyterLab page
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotlyFigureState:
    """What one rendered plotly figure (``.js-plotly-plot``) shows, read from the DOM.

    Attributes:
        index: Position among the page's plotly figures.
        width: Width of the figure's main SVG in CSS pixels.
        height: Height of the figure's main SVG in CSS pixels.
        num_traces: ``len(gd.data)`` of the graph div.
        num_drawn: Number of drawn trace elements (paths with data, heatmap images, table cells).
        data_json: JSON list of the traces' ``type``, ``name`` and decoded numeric data
            (``x``, ``y``, ``z``, ``u``, ``v``), rounded to 1e-6.
        drawn: Concatenated SVG path ``d`` attributes and image hrefs (what is actually drawn).
        text: Visible text of the figure (titles, tick labels, annotations).
    """

    index: int
    width: float
    height: float
    num_traces: int
    num_drawn: int
    data_json: str
    drawn: str
    text: str

    @property
    def rendered(self) -> bool:
        """True when the figure has a non-empty plot area with something drawn in it."""
        return self.width > 10 and self.height > 10 and self.num_drawn > 0


_PLOTLY_STATE_JS = r"""
(figs) => figs.map((gd, index) => {
  const svg = gd.querySelector('svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const round = (v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v);
  const flat = (a) => (Array.isArray(a) || ArrayBuffer.isView(a))
      ? Array.from(a).map((e) => flat(e)) : round(a);
  // _fullData holds the decoded arrays (plotly 6 ships numpy arrays base64-encoded in data).
  const traces = (gd._fullData && gd._fullData.length ? gd._fullData : gd.data) || [];
  const data = traces.map((t) => ({type: t.type, name: t.name, x: flat(t.x), y: flat(t.y),
                                   z: flat(t.z), u: flat(t.u), v: flat(t.v)}));
  const marks = Array.from(gd.querySelectorAll(
      '.trace path, .trace image, .hm image, .heatmaplayer image, .plot path, .plot image,'
      + ' .table .cell-text, .pielayer path, .polarlayer .trace path'));
  const drawnStrings = Array.from(new Set(marks)).map((el) => el.getAttribute('d')
      || el.getAttribute('href') || el.getAttribute('xlink:href') || el.textContent || '');
  const numDrawn = drawnStrings.filter((s) => s && s !== 'M0,0Z' && s.trim().length > 0).length;
  return {index, width: box.width, height: box.height, num_traces: (gd.data || []).length,
          num_drawn: numDrawn, data_json: JSON.stringify(data), drawn: drawnStrings.join('|'),
          text: gd.innerText || ''};
})
"""

@dataclass(frozen=True)
class FigureFit:
    """A plotly figure's drawn width against its JupyterLab output area (CSS pixels).

    ``fits`` is False when the figure is wider than the area, i.e. cut off or scrolled.
    """

    index: int
    title: str
    width: float
    area_width: float
    scroll_width: float
    client_width: float

    @property
    def fits(self) -> bool:
        return self.width <= self.area_width + 1 and self.scroll_width <= self.client_width + 1


#: CSS selector of the notebook panel in front (other tabs are hidden with ``lm-mod-hidden``).
CURRENT_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


class LabPage:
    """A playwright page showing JupyterLab, with the steps a person takes as methods.

    Console errors and uncaught page errors are collected in :attr:`js_errors` (benign network
    failures on the closed network are filtered out, see ``BENIGN_CONSOLE_PATTERNS``).
    Locators returned here are scoped to the notebook panel in front.
    """

    def __init__(self, page: Any, server: JupyterLabServer | None = None) -> None:
        self.page = page
        self.server = server
        self.js_errors: list[str] = []
        self.ignored_console_errors: list[str] = []
        self.run_all_path = ""
        self.run_all_log: list[str] = []
        page.on("pageerror", lambda exc: self.js_errors.append(f"pageerror: {exc}"))
        page.on("console", self._on_console)

    def _on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if any(re.search(p, text) for p in BENIGN_CONSOLE_PATTERNS):
            self.ignored_console_errors.append(text)
        else:
            self.js_errors.append(f"console.error: {text}")

    @property
    def panel(self) -> Any:
        """Locator of the notebook panel in front."""
        return self.page.locator(CURRENT_PANEL)

    # -- notebook ------------------------------------------------------------------------------

    def open_notebook(self, name: str, timeout_ms: int = 120_000) -> None:
        """Open ``name`` (relative to the server root) in JupyterLab and wait for its kernel."""
        if self.server is None:
            raise ValueError("expected a LabPage created with a JupyterLabServer, got server=None")
        # A workspace of its own per notebook: no tab restored from an earlier test.
        workspace = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "default"
        url = f"{self.server.url}/lab/workspaces/{workspace}/tree/{name}"
        self.page.goto(url, timeout=timeout_ms)
        self.panel.locator(".jp-Notebook").first.wait_for(state="visible", timeout=timeout_ms)
        self._accept_kernel_dialog()
        self.wait_kernel_idle(timeout_ms=timeout_ms)

    def _accept_kernel_dialog(self) -> None:
        """Click "Select" in the kernel chooser, if JupyterLab asks (notebook without kernelspec)."""
        dialog = self.page.locator(".jp-Dialog")
        with contextlib.suppress(Exception):
            dialog.wait_for(state="visible", timeout=2_000)
            dialog.locator("button.jp-mod-accept").click()

    def wait_kernel_idle(self, timeout_ms: int = 240_000) -> None:
        """Wait until the kernel is idle, no cell is queued or running (``[*]``), no view busy."""
        self.page.wait_for_function(
            """(root) => {
                const panel = document.querySelector(root);
                if (!panel) return false;
                const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
                if (!ind || ind.getAttribute('data-status') !== 'idle') return false;
                if (panel.querySelector('.aeqkit-busy')) return false;
                return !Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
                    .some((p) => p.textContent.includes('*'));
            }""",
            arg=CURRENT_PANEL,
            timeout=timeout_ms,
            polling=250,
        )

    def run_all_cells(self, timeout_ms: int = 240_000, attempts: int = 3) -> float:
        """Run all cells from the menu bar (Run > Run All Cells); return the seconds it took.

        A menu click that a loaded machine swallows (no cell starts within 15 s) is retried up to
        ``attempts`` times; only then is the same command run through ``window.jupyterapp``
        (recorded in :attr:`run_all_path`).
        """
        start = time.monotonic()
        self.run_all_path = ""
        self.run_all_log: list[str] = []
        for attempt in range(1, attempts + 1):
            try:
                self.page.keyboard.press("Escape")  # close a menu left open by a failed try
                # Activate the notebook first (its tab), as a person does: the Run menu's
                # commands act on the current notebook and are disabled until there is one.
                self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first.click(
                    timeout=10_000
                )
                self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click(timeout=10_000)
                item = self.page.locator(
                    ".lm-Menu-item:not(.lm-mod-disabled)", has_text=re.compile(r"^Run All Cells")
                ).first
                item.hover(timeout=10_000)
                item.click(timeout=10_000)
            except Exception as exc:  # playwright TimeoutError / Error: note it, retry
                self.run_all_log.append(f"attempt {attempt}: {str(exc).splitlines()[0][:200]}")
            if self._execution_started(timeout_ms=15_000):
                self.run_all_path = f"menu (attempt {attempt})"
                break
            self.run_all_log.append(f"attempt {attempt}: no cell started within 15 s")
        else:
            self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            if not self._execution_started(timeout_ms=15_000):
                raise RuntimeError("Run > Run All Cells started no cell, nor did the command")
            self.run_all_path = "command notebook:run-all-cells (menu failed)"
        self.wait_kernel_idle(timeout_ms=timeout_ms)
        return time.monotonic() - start

    def _execution_started(self, timeout_ms: int) -> bool:
        """Wait until some code cell prompt shows ``[*]`` or ``[n]``; False on timeout."""
        try:
            self.page.wait_for_function(
                """(root) => Array.from(document.querySelectorAll(
                        root + ' .jp-CodeCell .jp-InputPrompt'))
                        .some((p) => /\\[[0-9*]+\\]/.test(p.textContent))""",
                arg=CURRENT_PANEL,
                timeout=timeout_ms,
            )
        except Exception:  # playwright TimeoutError
            return False
        return True

    def traceback_outputs(self) -> list[str]:
        """Return the text of the error outputs (tracebacks) the cells show.

        JupyterLab renders an ``error`` output with the ``application/vnd.jupyter.stderr``
        renderer; warnings printed to stderr are not errors, so only tracebacks count.
        """
        texts = self.panel.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
        ).all_text_contents()
        return [t for t in texts if "Traceback" in t or re.search(r"^\w*Error\b", t, re.M)]

    def unexecuted_code_cells(self) -> list[int]:
        """Return the 0-based indices (among code cells) of cells whose prompt shows no number."""
        prompts = self.panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()
        return [i for i, p in enumerate(prompts) if not re.search(r"\[\d+\]", p)]

    # -- widgets -------------------------------------------------------------------------------

    def slider(self, description: str) -> Any:
        """Return the locator of the ipywidgets slider whose description label is ``description``.

        A label equal to ``description`` (ignoring surrounding space) wins; otherwise labels
        containing it are accepted (e.g. ``"β (symmetry breaking)"`` for ``"β"``).
        """
        sliders = self.panel.locator(".widget-slider", has=self._label(description))
        return sliders.first

    def _label(self, description: str) -> Any:
        exact = self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
        if self.panel.locator(".widget-slider", has=exact).count() > 0:
            return exact
        return self.page.locator(".widget-label", has_text=description)

    def view(self, description: str) -> Any | None:
        """Return the ``.aeqkit-view`` holding the slider ``description``, or None if there is none.

        (``aeqkit.widgets.interactive_view`` wraps sliders, readout and figure in that box.)
        """
        slider = self.page.locator(".widget-slider", has=self._label(description))
        views = self.panel.locator(".aeqkit-view", has=slider)
        return views.last if views.count() > 0 else None

    def slider_value(self, slider: Any) -> float:
        """Return the slider's value: its numeric readout, else the handle's ``aria-valuenow``."""
        readout = slider.locator(".widget-readout")
        numbers = parse_numbers(readout.inner_text()) if readout.count() else []
        if numbers:
            return numbers[0]
        return float(slider.locator(".noUi-handle").first.get_attribute("aria-valuenow"))

    def drag_slider(self, slider: Any, fraction: float, steps: int = 12) -> None:
        """Drag the slider's handle with the mouse to ``fraction`` (0 = left end, 1 = right end)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}")
        slider.scroll_into_view_if_needed()
        track = slider.locator(".noUi-base, .slider-container").first.bounding_box()
        handle = slider.locator(".noUi-handle").first.bounding_box()
        if track is None or handle is None:
            raise RuntimeError("slider track or handle is not visible on the page")
        y = handle["y"] + handle["height"] / 2
        # Aim a few pixels past the end so the handle surely reaches it (noUiSlider clamps).
        target_x = track["x"] + fraction * track["width"] + (fraction - 0.5) * 20
        mouse = self.page.mouse
        mouse.move(handle["x"] + handle["width"] / 2, y)
        mouse.down()
        mouse.move(target_x, y, steps=steps)
        mouse.up()

    def readout_text(self, scope: Any | None = None, css_class: str = "aeqkit-readout") -> str:
        """Return the visible text of the ``.css_class`` elements in ``scope`` (default: panel)."""
        return "\n".join((scope or self.panel).locator(f".{css_class}").all_inner_texts())

    def wait_text_change(self, scope: Any, css_class: str, old: str, timeout_ms: int) -> bool:
        """Wait until :meth:`readout_text` differs from ``old``; False on timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if self.readout_text(scope, css_class) != old:
                return True
            self.page.wait_for_timeout(100)
        return False

    # -- plotly --------------------------------------------------------------------------------

    def plotly_figures(self, scope: Any | None = None) -> list[PlotlyFigureState]:
        """Return the state of every plotly figure in ``scope`` (default: panel), from the DOM."""
        figs = (scope or self.panel).locator(".js-plotly-plot")
        return [PlotlyFigureState(**d) for d in figs.evaluate_all(_PLOTLY_STATE_JS)]

    def wait_figures_change(self, scope: Any, old: list[PlotlyFigureState], timeout_ms: int) -> bool:
        """Wait until the figures in ``scope`` draw something else than ``old``; False on timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            new = self.plotly_figures(scope)
            if (
                new
                and all(f.rendered for f in new)
                and ([(f.drawn, f.data_json) for f in new] != [(f.drawn, f.data_json) for f in old])
            ):
                return True
            self.page.wait_for_timeout(100)
        return False

    def wait_plotly_rendered(self, min_figures: int = 1, timeout_ms: int = 60_000) -> None:
        """Wait until the panel shows ``min_figures`` plotly figures, each with a laid-out SVG."""
        self.page.wait_for_function(
            """([root, n]) => {
                const panel = document.querySelector(root);
                const figs = panel ? panel.querySelectorAll('.js-plotly-plot') : [];
                return figs.length >= n && Array.from(figs).every(
                    (gd) => gd.querySelector('svg.main-svg') && gd._fullLayout);
            }""",
            arg=[CURRENT_PANEL, int(min_figures)],
            timeout=timeout_ms,
        )

    def scroll_all_outputs_into_view(self) -> None:
        """Scroll every output into view once (JupyterLab lays out off-screen cells lazily)."""
        self.page.evaluate(
            """async (root) => {
                const panel = document.querySelector(root);
                if (!panel) return;
                for (const el of panel.querySelectorAll('.jp-OutputArea-output')) {
                    el.scrollIntoView({block: 'center'});
                    await new Promise((r) => requestAnimationFrame(() => r()));
                }
            }""",
            CURRENT_PANEL,
        )

    def figure_fits(self) -> list[FigureFit]:
        """Width of every plotly figure in the panel against the output area that holds it."""
        rows = self.panel.locator(".js-plotly-plot").evaluate_all(
            """(figs) => figs.map((gd, index) => {
                const svg = gd.querySelector('svg.main-svg');
                const area = gd.closest('.jp-OutputArea-output') || gd.parentElement;
                const title = gd._fullLayout && gd._fullLayout.title ? gd._fullLayout.title.text : '';
                return {index, title: String(title || '').replace(/<[^>]+>/g, ' ').slice(0, 80),
                        width: svg ? svg.getBoundingClientRect().width : 0,
                        area_width: area ? area.getBoundingClientRect().width : 0,
                        scroll_width: area ? area.scrollWidth : 0,
                        client_width: area ? area.clientWidth : 0};
            })"""
        )
        return [FigureFit(**r) for r in rows]

    def screenshot_figures(self, directory: Path, stem: str) -> list[Path]:
        """Save one screenshot per plotly figure of the panel: ``<stem>_fig<NN>.png``."""
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob(f"{stem}_fig*.png"):
            old.unlink()
        paths = []
        figs = self.panel.locator(".js-plotly-plot")
        for i in range(figs.count()):
            fig = figs.nth(i)
            fig.scroll_into_view_if_needed()
            self.page.wait_for_timeout(150)  # let plotly finish a lazy relayout
            path = directory / f"{stem}_fig{i:02d}.png"
            fig.screenshot(path=str(path))
            paths.append(path)
        return paths

    def readout_layout(self, scope: Any | None = None) -> list[dict[str, float]]:
        """Line boxes and right edge of each readout's text against its view (wrapping check).

        A readout whose text wraps has more than one line box (``lines``); one cut off by the
        view's edge has ``right > view_right``.
        """
        return (scope or self.panel).locator(".aeqkit-readout").evaluate_all(
            """(els) => els.map((el) => {
                // line boxes of the text itself (element boxes would count as extra "lines")
                const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
                const tops = [];
                let right = -Infinity;
                while (walker.nextNode()) {
                    const range = document.createRange();
                    range.selectNodeContents(walker.currentNode);
                    for (const r of range.getClientRects()) {
                        if (r.width > 0) { tops.push(r.top); right = Math.max(right, r.right); }
                    }
                }
                tops.sort((a, b) => a - b);
                const lines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > 5).length;
                const view = el.closest('.aeqkit-view') || el.parentElement;
                return {lines, right, view_right: view.getBoundingClientRect().right};
            })"""
        )

    def screenshot(self, path: Path, around: Any | None = None) -> Path:
        """Save a screenshot of the page (after scrolling ``around`` into view) to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if around is not None:
            around.scroll_into_view_if_needed()
        self.page.screenshot(path=str(path))
        return path


def copy_notebooks(src: Path, dest: Path) -> Path:
    """Copy the notebooks folder ``src`` to ``dest`` and link its siblings next to it.

    ``dest`` gets the copied notebooks; the siblings of ``src`` (e.g. ``data/``, ``build/``) are
    symlinked next to ``dest`` so relative paths like ``../data`` resolve as in the repository,
    while the repository's notebooks themselves are never modified.
    """
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    link_siblings(src, dest)
    return dest


def link_siblings(src: Path, dest: Path) -> None:
    """Symlink the siblings of folder ``src`` (``data/``, ``build/``, ...) next to ``dest``.

    Relative paths such as ``../data`` then resolve from ``dest`` as they do from ``src``;
    ``.git``, ``.venv`` and ``src`` itself are skipped, existing names are kept.
    """
    for sibling in Path(src).parent.iterdir():
        if sibling.name in {Path(src).name, ".git", ".venv"}:
            continue
        link = Path(dest).parent / sibling.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(sibling, target_is_directory=sibling.is_dir())


def export_notebooks(repo: Path, dest: Path) -> list[Path]:
    """Write the teacher-edition ``.ipynb`` of every ``repo/notebooks/NN_name.py`` into ``dest``.

    Uses the repository's own exporter (``tools/export_notebooks.py``, jupytext percent sources
    to stripped notebooks), loaded from its file so no install is needed; the siblings of
    ``repo/notebooks`` are linked next to ``dest`` (see :func:`link_siblings`).
    """
    import importlib.util

    tool = Path(repo) / "tools" / "export_notebooks.py"
    spec = importlib.util.spec_from_file_location("aeqkit_export_notebooks", tool)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"expected the notebook exporter at {tool}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    Path(dest).mkdir(parents=True, exist_ok=True)
    paths = [module.export(src, Path(dest)) for src in module.list_sources(root=Path(repo) / "notebooks")]
    link_siblings(Path(repo) / "notebooks", Path(dest))
    return paths
