"""The JupyterLab extension (labextension/, built into s3contents_rs.data/) and the server
endpoint it asks, ``GET /api/s3contents/status`` (s3contents_rs/store_status.py).

The endpoint runs on a real jupyter_server (pytest-jupyter, in this process) on moto: it
answers what the contents API answers for the same store (status and message), and ok for
a manager that is not ours. What the browser shows is in tests/test_browser_errors.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from support.rest_fixtures import body
from support.s3c_helpers import free_port, manager_classes

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "labextension" / "package.json"
BUNDLE = REPO / "s3contents_rs.data" / "data" / "share" / "jupyter" / "labextensions" / "s3contents-rs"

# Short retries: an unreachable store is reported in seconds.
FAST = {"max_retries": 1, "retry_timeout": 2.0, "connect_timeout": 1.0, "request_timeout": 5.0}


# --------------------------------------------------------------------------- the bundle
def test_committed_bundle_is_built_from_the_source():
    """The bundle is committed (users need no npm): it must be the build of labextension/
    as it is. `./dev.sh labextension` rebuilds it."""
    source = json.loads(SOURCE.read_text())
    built = json.loads((BUNDLE / "package.json").read_text())
    assert (built["name"], built["version"]) == (source["name"], source["version"]), (
        "the committed JupyterLab extension is not the build of labextension/: run ./dev.sh labextension"
    )
    assert built["dependencies"] == source["dependencies"]
    assert BUNDLE.name == source["name"]  # JupyterLab finds an extension by its folder's name
    assert (BUNDLE / built["jupyterlab"]["_build"]["load"]).is_file()


def test_bundle_version_is_the_package_version():
    from s3contents_rs import __version__

    assert json.loads(SOURCE.read_text())["version"] == __version__, (
        "labextension/package.json's version differs from the package's (Cargo.toml): "
        "change it there and run ./dev.sh labextension"
    )


def test_installed_in_the_environment():
    """`pip install` (wheel or editable, maturin's data folder) puts the extension under
    <prefix>/share/jupyter/labextensions, where `jupyter labextension list` finds it."""
    installed = Path(sys.prefix, "share", "jupyter", "labextensions", "s3contents-rs", "package.json")
    assert installed.is_file(), f"{installed} is missing: reinstall the package (maturin develop, pip install -e .)"
    assert json.loads(installed.read_text())["version"] == json.loads(SOURCE.read_text())["version"]
    jupyter = Path(sys.executable).parent / "jupyter"
    out = subprocess.run(
        [str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120, check=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)  # its colours
    assert re.search(r"^\s*s3contents-rs v\S+ enabled OK", text, re.M), text


# --------------------------------------------------------------------------- the endpoint
@pytest.fixture
def server_kind() -> str:
    """The server's contents manager: "async" or "sync" (ours), "file" (jupyter_server's)."""
    return "async"


@pytest.fixture
def store_traits() -> dict:
    """Traits replacing the test store's (a missing bucket, a closed port)."""
    return {}


@pytest.fixture
def jp_server_config(server_kind, manager_kwargs, store_traits):
    extensions = {"jupyter_server_terminals": False, "s3contents_rs": True}
    if server_kind == "file":
        return Config({"ServerApp": {"contents_manager_class": FileContentsManager, "jpserver_extensions": extensions}})
    cls = manager_classes()[server_kind]
    return Config(
        {
            "ServerApp": {"contents_manager_class": cls, "jpserver_extensions": extensions},
            cls.__name__: {**manager_kwargs, **FAST, **store_traits},
        }
    )


def contents_error(fetch) -> tuple[int, str]:
    """What the contents API answers for the root listing, which fails: status, message."""
    with pytest.raises(HTTPClientError) as info:
        fetch("api", "contents", "")
    return info.value.code, info.value.response.body.decode()


@pytest.mark.parametrize("server_kind", ["async", "sync"])
def test_status_of_a_working_store(fetch, s3_settings, test_prefix, server_kind):
    status = body(fetch("api", "s3contents", "status"))
    assert status["ok"] is True and status["status"] == 200 and status["message"] == "", status
    assert s3_settings.bucket in status["place"] and test_prefix in status["place"], status


MISSING_BUCKET = f"no-such-bucket-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("store_traits", [{"endpoint_url": f"http://127.0.0.1:{free_port()}"}], ids=["unreachable"])
def test_status_of_a_failing_store_is_what_the_contents_api_says(fetch, s3_settings, store_traits):
    if s3_settings.external:
        pytest.skip("needs the local moto_server")
    status = body(fetch("api", "s3contents", "status"))  # answered, never an HTTP error
    code, reply = contents_error(fetch)
    assert status == {"ok": False, "status": 503, "message": json.loads(reply)["message"], "place": status["place"]}, (
        status
    )
    assert status["message"] and status["place"], status


@pytest.mark.parametrize("store_traits", [{"bucket": MISSING_BUCKET}], ids=["missing-bucket"])
def test_status_of_a_missing_bucket_names_it(fetch, s3_settings, store_traits):
    """jupyter_server's ContentsHandler.get answers every 404 with its own plain-text
    "file or directory '' does not exist": the status is where the bucket's name is said."""
    if s3_settings.external:
        pytest.skip("needs the local moto_server")
    status = body(fetch("api", "s3contents", "status"))
    assert contents_error(fetch)[0] == 404
    assert status["ok"] is False and status["status"] == 404, status
    assert f"bucket '{MISSING_BUCKET}' does not exist" in status["message"], status
    assert MISSING_BUCKET in status["place"], status


@pytest.mark.parametrize("server_kind", ["file"])
def test_status_of_another_manager_is_ok(fetch, server_kind):
    assert body(fetch("api", "s3contents", "status")) == {"ok": True, "status": 200, "message": "", "place": ""}


def test_status_needs_the_login(fetch):
    """Authenticated like the contents API: no token, no answer."""
    with pytest.raises(HTTPClientError) as info:
        fetch("api", "s3contents", "status", headers={"Authorization": ""})
    assert info.value.code == 403
