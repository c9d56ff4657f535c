"""Credentials never show: not in logs (any level), error messages, repr() of the manager
or its store, nor in `jupyter server --show-config` output."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import uuid

import pytest
from support.fault_proxy import Fault
from tornado.web import HTTPError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def secrets(s3_settings):
    if s3_settings.external:
        pytest.skip(
            "needs a server that accepts any secret (moto); an external endpoint checks credentials"
        )
    return {
        "secret_access_key": f"SECRETKEY{uuid.uuid4().hex}",
        "session_token": f"TOKEN{uuid.uuid4().hex}",
    }


def assert_hidden(text: str, secrets: dict) -> None:
    for name, value in secrets.items():
        assert value not in text, (
            f"{name} leaked: ...{text[max(0, text.find(value) - 80) :][:200]}"
        )


def test_logs_errors_and_repr_never_show_secrets(
    make_cm, make_proxied_cm, fault_proxy, raw, secrets, caplog
):
    caplog.set_level(logging.DEBUG)
    cm = make_cm(**secrets)
    seen = [repr(cm.raw), repr(cm.raw.store), str(cm.raw), cm.raw.info_string()]
    cm.save({"type": "file", "format": "text", "content": "x"}, "a.txt")
    cm.get("a.txt")
    cm.rename("a.txt", "b.txt")
    cm.delete("b.txt")
    errors = []
    for call in (lambda: cm.get("missing.txt"), lambda: cm.get("../x")):
        try:
            call()
        except HTTPError as e:
            errors.append(e)
    proxied = make_proxied_cm(**secrets)
    fault_proxy.add(Fault.error("AccessDenied"), method="GET")
    fault_proxy.add(Fault.error("SlowDown"), method="PUT", times=None)
    for call in (
        lambda: proxied.get(""),
        lambda: proxied.save(
            {"type": "file", "format": "text", "content": "x"}, "c.txt"
        ),
    ):
        try:
            call()
        except HTTPError as e:
            errors.append(e)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = make_cm(
        endpoint_url=f"http://127.0.0.1:{dead_port}", max_retries=0, **secrets
    )
    try:
        dead.get("")
    except HTTPError as e:
        errors.append(e)
    # missing.txt and ../x (outside the root, as FileContentsManager) 404; refused 403; down 503
    assert sorted(e.status_code for e in errors) == [403, 404, 404, 503, 503], errors
    seen += [f"{e} {e.log_message} {e.__cause__!r}" for e in errors]
    seen += [
        record.getMessage() + str(record.exc_info or "") for record in caplog.records
    ]
    assert caplog.records, "nothing was logged: the log check checks nothing"
    assert_hidden("\n".join(seen), secrets)


@pytest.mark.parametrize("flag", ["--show-config", "--show-config-json"])
def test_show_config_hides_secrets(tmp_path, s3_settings, test_prefix, secrets, flag):
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(
        "from s3contents_rs import AsyncS3ContentsManager\n"
        "c.ServerApp.contents_manager_class = AsyncS3ContentsManager\n"
        f"c.AsyncS3ContentsManager.bucket = {s3_settings.bucket!r}\n"
        f"c.AsyncS3ContentsManager.prefix = {test_prefix!r}\n"
        f"c.AsyncS3ContentsManager.endpoint_url = {s3_settings.endpoint_url!r}\n"
        f"c.AsyncS3ContentsManager.access_key_id = {s3_settings.access_key_id!r}\n"
        f"c.AsyncS3ContentsManager.secret_access_key = {secrets['secret_access_key']!r}\n"
        f"c.AsyncS3ContentsManager.session_token = {secrets['session_token']!r}\n"
        f"c.AsyncS3ContentsManager.store_options = {{'aws_secret_access_key': {secrets['secret_access_key']!r},"
        " 'timeout': '30s'}\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--config={config}",
            flag,
            "--log-level=DEBUG",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "secret_access_key" in result.stdout and "<redacted>" in result.stdout, (
        result.stdout
    )
    assert "30s" in result.stdout  # other options are still shown
    if flag == "--show-config-json":
        assert (
            json.loads(result.stdout)["AsyncS3ContentsManager"]["bucket"]
            == s3_settings.bucket
        )
    assert_hidden(output, secrets)
