"""Browser-test harness: a real ASGI server (uvicorn) on a fresh database, driven by real
Chromium through Playwright.

- `e2e_server` (session): `.url` is the base URL; `.manage(*args)` runs a manage.py command
  against the server's database and returns its stdout. The server runs on the embedded
  defaults (SQLite file, in-memory channel layer, eager Celery) in its own process, so the
  tests see the app exactly as a person would after `make run`.
- `demo_catalog` (session): loads a small demo catalog (12 tracks with audio) into that
  database once; request it in any browser test that needs tracks.
- `playwright_instance` (module), `browser` (module) and `page` (function): Debian's
  /usr/bin/chromium, never a downloaded build.
- Helpers to import from tests.e2e.browser: `launch_chromium(playwright, extra_args)` (extra
  flags, e.g. a fake camera), `shot(page, name)` (test-artifacts/<name>.png),
  `log_in(page, username, password)`, `sign_up(page, pseudonym, password)`.

Without /usr/bin/chromium the tests skip, unless ATTUNE_REQUIRE_BROWSER=1 (set by .ci/run),
which makes a missing browser a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.browser import ROOT, launch_chromium, require_browser

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class E2EServer:
    url: str
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def manage(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def e2e_server():
    require_browser()
    workdir = Path(tempfile.mkdtemp(prefix="attune-e2e-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_ENV"}}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'e2e.sqlite3'}",
            "DEBUG": "1",
            "SECRET_KEY": "e2e-not-secret-" + "x" * 40,
            "MEDIA_ROOT": str(workdir / "media"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
    )
    server = E2EServer(url=f"http://127.0.0.1:{port}", env=env, workdir=workdir)
    server.manage("migrate", "--noinput")
    server.manage("load_demo", "--users-only")
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server.process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.process.kill()
            raise AssertionError(f"e2e server did not start:\n{server.log()}")
        time.sleep(0.3)
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
    log.close()
    shutil.rmtree(workdir, ignore_errors=True)


E2E_CATALOG_SIZE = "12"


@pytest.fixture(scope="session")
def demo_catalog(e2e_server):
    """A small demo catalog (real music21 compositions rendered to audio, with features and
    prior labels) loaded once into the e2e server's database for every browser test that
    needs tracks. Use this fixture instead of loading your own catalog."""
    e2e_server.manage("load_demo_catalog", "--count", E2E_CATALOG_SIZE, "--workers", "1")
    return e2e_server


@pytest.fixture(scope="module")
def playwright_instance():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = launch_chromium(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, e2e_server):
    context = browser.new_context(base_url=e2e_server.url, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
