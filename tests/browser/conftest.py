"""The browser tier (T3): a real JupyterLab server, driven by Playwright in Debian's Chromium.

The session starts one JupyterLab server on a free port, serving a temporary copy of
``notebooks/``, with the same kernel environment as ``tests/notebooks/test_notebooks.py``: the
developer's ``KAFKA_*``, ``SCHEMA_REGISTRY_*`` and ``FLOWODM_*`` variables dropped and the
session ``sandbox`` named by ``KAFKA_BOOTSTRAP_SERVERS`` / ``SCHEMA_REGISTRY_URL`` (kernels
inherit the server's environment). Its configuration, runtime, settings and workspace
directories are temporary too, so nothing of the developer's Jupyter set-up is used, and its
settings turn off the news toast and virtual scrolling (every cell stays in the DOM).

Chromium is ``/usr/bin/chromium`` (``$FLOWODM_TEST_CHROMIUM`` overrides it), started headless
with the flags this machine needs (no Google hosts, no background networking) and a fresh
profile. ``scripts/test`` installs it when it is missing; these tests never skip. Both processes
are stopped when the session ends, the server's kernels with it.

Screenshots go to ``test-artifacts/screenshots/`` (git-ignored), emptied at the start of the
session: look at them after a layout change.
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
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import (
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from flowodm.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = ROOT / "notebooks"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ENV = "FLOWODM_TEST_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Headless, no sandbox (root), and no background traffic: this machine's closed network refuses
# Google's hosts, and Chromium would otherwise keep retrying them.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT = 60.0  # seconds until /api/status answers
SERVER_STOP_TIMEOUT = 20.0  # seconds for a clean shutdown (kernels included) before SIGKILL
PAGE_TIMEOUT = 60_000  # ms: loading JupyterLab, finding an element
RUN_ALL_TIMEOUT = 90_000  # ms: every cell of a notebook executed (a few seconds here)
_CLEARED_PREFIXES = ("KAFKA_", "SCHEMA_REGISTRY_", "FLOWODM_")

# Every code cell shows an execution count ("[3]:"); "[*]:" while queued or running, "[ ]:"
# before it ran. A notebook has finished when no cell is pending and the kernel is idle.
_ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
    const ran = p => /^\\[\\d+\\]:$/.test(p.textContent.trim());
    const done = prompts.length > 0 && prompts.every(ran);
    const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
    return done && idle !== null;
}"""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``browser`` marker (the suite runs with ``--strict-markers``)."""
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (T3)")


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab server: its address, token and the directory it serves."""

    url: str
    token: str
    root_dir: Path

    def tree_url(self, notebook: str) -> str:
        """The address that opens ``notebook`` alone, in a workspace of its own.

        Pages sharing a workspace restore each other's tabs (the second page would open the
        first one's notebook too, and *Run All* could run that one).
        """
        workspace = f"test-{uuid.uuid4().hex[:8]}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"


# Read at import, before any test's clean environment (tests/conftest.py) drops FLOWODM_*.
_CHROMIUM = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


def chromium_path() -> str:
    """The Chromium binary to drive; a missing one is an error, never a skip."""
    path = _CHROMIUM
    if not Path(path).is_file():
        pytest.fail(
            f"no Chromium at {path}: run ./scripts/test (it installs Debian's chromium) or "
            f"`apt-get install -y --no-install-recommends chromium`, or set {CHROMIUM_ENV}",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _write_lab_settings(settings_dir: Path) -> None:
    """No news or update toast over the screenshots; every cell rendered (no windowing)."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, settings in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings), encoding="utf-8")


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()}")


def _kernels_of(runtime_dir: Path) -> list[int]:
    """The pids of live kernels whose connection file is in ``runtime_dir`` (this server's)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if str(runtime_dir / "kernel-") in cmdline:
            pids.append(int(proc.name))
    return pids


def _stop_server(server: subprocess.Popen[bytes], url: str, token: str, runtime_dir: Path) -> None:
    """Ask the server to shut down (it stops its kernels), then SIGTERM, then SIGKILL.

    Kernels run in sessions of their own, so a server that died without stopping them leaves
    them running: those found by their connection file in this server's runtime directory are
    killed too.
    """
    if server.poll() is None:
        request = urllib.request.Request(
            f"{url}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except (urllib.error.URLError, OSError):
            server.terminate()
    try:
        server.wait(SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.terminate()
        try:
            server.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    for pid in _kernels_of(runtime_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The artefact directory for screenshots, emptied once per session."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


# Module scope, not session: Playwright's sync API runs an event loop in the main thread while
# it is open, so every later ``asyncio.run()`` (async tests, nbclient) would fail; the server
# and its kernels are not left to load the rest of the run either.
@pytest.fixture(scope="module")
def lab(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab server for the session, its kernels connected to the test sandbox."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root_dir = base / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root_dir)
    _write_lab_settings(base / "settings")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES)}
    env.update(sandbox.env())
    env.update(
        FLOWODM_SANDBOX_DIR=str(base / "kernel-sandbox"),  # a notebook ignoring the env: here
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    port, token = _free_port(), uuid.uuid4().hex
    url = f"http://127.0.0.1:{port}"
    log = base / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root_dir}",
                "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
            ],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no Ctrl-C of the pytest terminal reaches it half-way
        )
    try:
        _wait_until_up(server, f"{url}/api/status?token={token}", log)
        yield Lab(url=url, token=token, root_dir=root_dir)
    finally:
        _stop_server(server, url, token, base / "runtime")


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver (its node process), stopped when the browser tests end."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile; closing the context stops the browser."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=chromium_path(),
        headless=True,
        args=list(CHROMIUM_ARGS),
        viewport=VIEWPORT,
    )
    context.set_default_timeout(PAGE_TIMEOUT)
    try:
        yield context
    finally:
        context.close()


def open_and_run(browser: BrowserContext, lab: Lab, notebook: str) -> Page:
    """Open ``notebook`` in a new tab, run all its cells from the Run menu, wait for the end.

    Fails with the page's error outputs if a cell raised.
    """
    page = browser.new_page()
    try:
        _run_all(page, lab, notebook)
    except BaseException:
        page.close()
        raise
    return page


def _run_all(page: Page, lab: Lab, notebook: str) -> None:
    page.goto(lab.tree_url(notebook))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")  # "Select Kernel"
    if accept.count():
        accept.click()
    # The status bar says "<kernel> | Idle" once the kernel is started and connected (before
    # that, "Unknown", "Starting", "Connecting"): only then does Run All reach it.
    expect(page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))).to_have_count(
        1, timeout=PAGE_TIMEOUT
    )
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    try:
        page.wait_for_function(_ALL_CELLS_RAN, timeout=RUN_ALL_TIMEOUT)
    except PlaywrightTimeoutError:
        page.screenshot(path=SCREENSHOTS / f"{notebook}-timeout.png")
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        pytest.fail(
            f"{notebook}: not every cell ran within {RUN_ALL_TIMEOUT / 1000:.0f} s; prompts "
            f"{[p.strip() for p in prompts]}; error outputs:\n" + "\n".join(_errors(page))
        )
    errors = _errors(page)
    assert not errors, f"{notebook}: a cell failed:\n" + "\n".join(errors)


def _errors(page: Page) -> list[str]:
    """The tracebacks the notebook shows (JupyterLab renders errors as the stderr type)."""
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    return [text for text in stderr.all_inner_texts() if "Traceback" in text or "Error" in text]
