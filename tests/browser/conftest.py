"""A throw-away JupyterLab server and a headless Debian Chromium for the browser tests.

Chromium is the system one (`apt-get install chromium`), driven by Playwright through `executable_path`: Playwright's
own browser download is neither needed nor reachable. Without Chromium or Playwright every browser test skips with
one line saying which is missing.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "reports" / "browser"
CHROMIUM = os.environ.get("GENLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "genlab-browser-test"


def _missing() -> str | None:
    if not CHROMIUM:
        return "no Chromium: `apt-get install chromium` (or set GENLAB_CHROMIUM to its path) to run the browser tests"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no Playwright: `.venv/bin/pip install -r requirements.txt` to run the browser tests"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "browser" in item.keywords and reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# JupyterLab settings a fresh student account would see, minus what gets in a robot's way: every cell stays in the
# page (windowing would drop off-screen cells from the DOM) and no news pop-up covers the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


class Lab:
    """A running `jupyter lab` on 127.0.0.1 with a token, serving `root`."""

    def __init__(self, root: Path, env: dict):
        self.root, self.port = root, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(root.parent / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--expose-app-in-browser",
             "--ServerApp.terminals_enabled=False", *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root,  # nbgrader's extensions look for their course folder here, which must lie under the root
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={TOKEN}", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"jupyter lab did not start; see {self.log.name}")
            time.sleep(0.5)

    def page_url(self, path: str) -> str:
        """The notebook in a workspace of its own, reset: no tab of an earlier test is restored beside it."""
        workspace = Path(path).stem.replace(".", "-")
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={TOKEN}"

    def shut_down_kernels(self):
        """Stop every kernel (a finished lesson's kernel holds hundreds of MB the next lesson needs)."""
        def call(method, path):
            request = urllib.request.Request(f"{self.url}{path}?token={TOKEN}", method=method)
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read() or b"null")

        for kernel in call("GET", "/api/kernels"):
            call("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="session")
def lab():
    # not tmp_path_factory: on a shared machine another pytest run may prune /tmp/pytest-of-<user>/ under a live server
    holder = tempfile.TemporaryDirectory(prefix="genlab-lab-")
    base = Path(holder.name)
    root, settings = base / "root", base / "settings"
    root.mkdir()
    settings.mkdir()
    for plugin, values in LAB_SETTINGS.items():  # the user-settings layout: <package>/<plugin>.jupyterlab-settings
        package, name = plugin.split(":")
        (settings / package).mkdir(parents=True, exist_ok=True)
        (settings / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "GENLAB_RESULTS_DIR")}
    env.update(GENLAB_PROFILE="smoke", JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_CONFIG_DIR=str(base / "config"),
               OMP_NUM_THREADS="1",  # one thread per kernel: the suite shares two cores
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p))
    server = Lab(root, env)
    yield server
    server.stop()
    holder.cleanup()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").shut_down_kernels()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
