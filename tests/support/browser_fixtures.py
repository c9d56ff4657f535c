"""JupyterLab on AsyncS3ContentsManager, driven by the system Chromium through Playwright.

Only Debian's ``/usr/bin/chromium`` is used (``./dev.sh test`` installs it with apt when
missing); Playwright never downloads a browser. Without it the browser tests fail with
the reason: they are part of the contract.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from support.s3c_helpers import free_port

CHROMIUM = os.environ.get("S3CONTENTS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MANAGER = "AsyncS3ContentsManager"


class Lab:
    """A running JupyterLab whose contents live under `prefix` in the test bucket.

    `traits` replace or add manager settings (``{"bucket": "other"}``); `env` replaces
    environment variables of the server, a None value removes one."""

    def __init__(
        self,
        settings,
        prefix: str,
        workdir: Path,
        traits: dict | None = None,
        env: dict | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port, self.token, self.prefix = free_port(), secrets.token_hex(16), prefix
        self.url = f"http://127.0.0.1:{self.port}"
        home = workdir / "home"
        home.mkdir()
        server_env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(home),
            JUPYTER_DATA_DIR=str(home),
            JUPYTER_RUNTIME_DIR=str(home),
            AWS_ACCESS_KEY_ID=settings.access_key_id,
            AWS_SECRET_ACCESS_KEY=settings.secret_access_key,
        )
        for name, value in (env or {}).items():
            if value is None:
                server_env.pop(name, None)
            else:
                server_env[name] = value
        manager_traits = {
            "bucket": settings.bucket,
            "prefix": prefix,
            "endpoint_url": settings.endpoint_url,
            "region_name": settings.region_name,
            **(traits or {}),
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={workdir}",
            f"--ServerApp.contents_manager_class=s3contents_rs.{MANAGER}",
            *(f"--{MANAGER}.{name}={value}" for name, value in manager_traits.items()),
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run commands like the menus do
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.jpserver_extensions={'jupyter_server_terminals': False}",
            *extra_args,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = workdir / "lab.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=server_env, cwd=workdir)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5).read()
                return
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"JupyterLab did not start; log:\n{self.log_path.read_text(errors='replace')[-5000:]}",
                        pytrace=False,
                    )
                time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab_prefix(s3_settings, s3_client):
    from support.s3_fixtures import RawBucket

    prefix = f"browser-{uuid.uuid4().hex}"
    yield prefix
    RawBucket(s3_client, s3_settings.bucket, prefix).delete_all()


@pytest.fixture(scope="module")
def lab_raw(s3_settings, s3_client, lab_prefix):
    from support.s3_fixtures import RawBucket

    return RawBucket(s3_client, s3_settings.bucket, lab_prefix)


@pytest.fixture(scope="module")
def lab(s3_settings, lab_prefix, tmp_path_factory):
    server = Lab(s3_settings, lab_prefix, tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redirect_lab(s3_settings, lab_prefix, tmp_path_factory):
    """A second JupyterLab on the same prefix, with /files redirected to presigned URLs."""
    server = Lab(s3_settings, lab_prefix, tmp_path_factory.mktemp("lab"), traits={"files_redirect": True})
    yield server
    server.stop()


@pytest.fixture
def browser_context(tmp_path_factory, jp_asyncio_loop):
    # Playwright's sync API runs its own event loop on this thread while it is started:
    # it must stop before pytest-jupyter's per-test loop is closed, hence function scope
    # and the dependency on that loop (torn down after this fixture).
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (./dev.sh test does it with apt)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed (pip install -e '.[test]')", pytrace=False)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            accept_downloads=True,
            viewport={"width": 1400, "height": 900},
        )
        context.set_default_timeout(30_000)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def wait_ready(page) -> None:
    """JupyterLab has started: its commands exist and the file browser is shown."""
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open')")
    page.locator("#filebrowser .jp-DirListing-content").wait_for(state="attached")


@pytest.fixture
def page(request, browser_context, lab):
    """JupyterLab loaded in a fresh tab, with the default layout."""
    failed_before = request.session.testsfailed
    tab = browser_context.new_page()
    tab.goto(f"{lab.url}/lab?token={lab.token}&reset")
    wait_ready(tab)
    yield tab
    # The failure is counted before teardown: keep a picture of what the browser showed.
    if request.session.testsfailed != failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"))
    tab.close()
