"""JupyterLab shows why the store cannot be used (issue 14), in Chromium.

JupyterLab's file browser shows nothing when a listing fails, except for a 404, which it
calls "Directory not found": a missing bucket, refused credentials or an unreachable
endpoint looked like an empty bucket. The package's JupyterLab extension (labextension/)
shows the server's message as an error notification. Each test starts JupyterLab on a
store that cannot be used, as a user would configure it, asks the server what is wrong
(as the page does), and checks that exactly that message is visible in the page.

The servers load the JupyterLab extension committed in s3contents_rs.data/ (JUPYTER_PATH),
whatever is installed in the environment.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from support.browser_fixtures import ARTIFACTS, Lab, wait_ready
from support.s3c_helpers import AWS_LOGIN_VARIABLES, free_port
from support.signing_moto import signing_moto

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

LAB_DATA = Path(__file__).resolve().parents[1] / "s3contents_rs.data" / "data" / "share" / "jupyter"
# Short retries: an unreachable store is reported in seconds.
FAST = {"max_retries": 1, "retry_timeout": 2.0, "connect_timeout": 1.0, "request_timeout": 5.0}
# JupyterLab cuts a notification's message at this many characters (the extension then adds
# a Details button that shows it whole).
SHOWN_LENGTH = 140
SIGNED_BUCKET = "refusing"
# Every way the AWS chain could find credentials, taken away.
NO_AWS_LOGIN = dict.fromkeys(AWS_LOGIN_VARIABLES)


@pytest.fixture(scope="module")
def refusing_s3(tmp_path_factory):
    """A moto_server that checks signatures and policies, with a bucket the reader may not list."""
    with signing_moto(tmp_path_factory.mktemp("moto-refusing"), buckets=(SIGNED_BUCKET,)) as server:
        yield server


@pytest.fixture
def start_lab(s3_settings, tmp_path):
    """start_lab(traits, env) -> JupyterLab on the test store with those settings changed."""
    if s3_settings.external:
        pytest.skip("needs the local moto_server")
    labs = []

    def start(traits: dict, env: dict | None = None) -> Lab:
        workdir = tmp_path / f"lab{len(labs)}"
        workdir.mkdir()
        lab = Lab(
            s3_settings,
            f"labnotice-{uuid.uuid4().hex}",
            workdir,
            traits={**FAST, **traits},
            env={"JUPYTER_PATH": str(LAB_DATA), **(env or {})},
        )
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def open_page(request, browser_context):
    """open_page(lab) -> JupyterLab loaded in a fresh tab, its store checked by the extension."""
    pages = []

    def open_(lab: Lab, working: bool = False):
        page = browser_context.new_page()
        pages.append(page)
        page.goto(f"{lab.url}/lab?token={lab.token}&reset")
        if working:
            wait_ready(page)
        else:
            # JupyterLab is up (the file browser may never show its listing: on a 404 at the
            # root JupyterLab's own "Directory not found" dialog covers the page).
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open')"
            )
        # The extension has asked the server (document.body.dataset.s3contentsStore is set
        # once it has the answer): it is loaded and its notification, if any, is made.
        page.wait_for_function("() => document.body.dataset.s3contentsStore !== undefined")
        return page

    failed_before = request.session.testsfailed
    yield open_
    for page in pages:
        if request.session.testsfailed != failed_before:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"))
        page.close()


def get(lab: Lab, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"{lab.url}/{path}?token={lab.token}", timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def server_message(lab: Lab, expected_status: int) -> str:
    """What the server says is wrong: the message of the contents API's answer to the root
    listing (as the file browser asks it), which fails with `expected_status`. For a 404,
    jupyter_server's ContentsHandler puts its own plain text in its place ("file or
    directory '' does not exist"): then it is the message of the store's status."""
    code, reply = get(lab, "api/contents/")
    assert code == expected_status, reply
    status = json.loads(get(lab, "api/s3contents/status")[1])
    assert status["ok"] is False and status["status"] == expected_status, status
    message = status["message"] if code == 404 else json.loads(reply)["message"]
    assert message, reply
    return message


def assert_notified(page, message: str) -> None:
    """`message` is visible in the page, once, in an error notification: whole, or cut by
    JupyterLab at 140 characters and then whole in the dialog its Details button opens."""
    if len(message) <= SHOWN_LENGTH:
        toast = page.locator(
            ".Toastify__toast--error .jp-toast-message", has_text=re.compile(f"^{re.escape(message)}$")
        )
        toast.wait_for(state="visible")
        assert toast.count() == 1
        return
    toast = page.locator(
        ".Toastify__toast--error",
        has=page.locator(".jp-toast-message", has_text=re.compile(f"^{re.escape(message[:SHOWN_LENGTH])}…$")),
    )
    toast.wait_for(state="visible")
    assert toast.count() == 1
    toast.get_by_role("button", name="Details").click()
    dialog = page.locator(".jp-Dialog-body", has_text=re.compile(f"^{re.escape(message)}$"))
    dialog.wait_for(state="visible")


def test_missing_bucket(start_lab, open_page):
    bucket = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    lab = start_lab({"bucket": bucket})
    message = server_message(lab, 404)
    assert f"bucket '{bucket}' does not exist" in message
    assert_notified(open_page(lab), message)


def test_access_denied(start_lab, open_page, refusing_s3):
    key_id, secret = refusing_s3.reader  # may read objects, not list them
    lab = start_lab(
        {
            "bucket": SIGNED_BUCKET,
            "endpoint_url": refusing_s3.endpoint,
            "access_key_id": key_id,
            "secret_access_key": secret,
            "region_name": "us-east-1",
        }
    )
    message = server_message(lab, 403)
    assert "s3:ListBucket" in message
    assert_notified(open_page(lab), message)


def test_unreachable_endpoint(start_lab, open_page):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    lab = start_lab({"endpoint_url": endpoint})
    message = server_message(lab, 503)
    assert f"cannot reach {endpoint}" in message
    assert_notified(open_page(lab), message)


def test_no_credentials(start_lab, open_page, tmp_path):
    # No keys anywhere, and the instance metadata endpoint (the chain's last resort) on a
    # closed port, so that the login fails at once.
    lab = start_lab(
        {},
        env={
            **NO_AWS_LOGIN,
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_METADATA_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        },
    )
    message = server_message(lab, 403)
    assert_notified(open_page(lab), message)


def test_working_store_shows_no_error(start_lab, open_page):
    lab = start_lab({})
    assert get(lab, "api/contents/")[0] == 200
    page = open_page(lab, working=True)
    assert page.evaluate("() => document.body.dataset.s3contentsStore") == "ok"
    # (JupyterLab's own question about news is a notification too, not an error.)
    assert page.locator(".Toastify__toast--error").count() == 0
