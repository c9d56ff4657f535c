"""The core's log records reach the Jupyter server's log, with timings and no secrets."""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest
from support.s3c_helpers import free_port

pytestmark = pytest.mark.timeout(120)

STORE_LOGGER = "s3contents_rs.store"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.getMessage()))

    def store_lines(self) -> list[str]:
        return [message for name, message in self.lines if name == STORE_LOGGER]


def manager_with_log(manager_kwargs: dict, level: int):
    from s3contents_rs import S3ContentsManager

    log = logging.getLogger(f"test-server-{secrets.token_hex(4)}")
    log.propagate = False
    log.setLevel(level)
    handler = Records()
    log.addHandler(handler)
    return S3ContentsManager(log=log, **manager_kwargs), handler


def test_debug_level_logs_each_request_with_its_timing(manager_kwargs, raw):
    raw.put("notes.txt", b"hello")
    cm, records = manager_with_log(manager_kwargs, logging.DEBUG)
    cm.get("notes.txt")
    cm.get("")
    lines = records.store_lines()
    key = raw.key("notes.txt")
    assert any(
        re.fullmatch(rf"GET {re.escape(key)} \(5 bytes\) -> ok in \d+\.\d ms", line)
        for line in lines
    ), lines
    assert any(
        re.fullmatch(
            rf"LIST {re.escape(raw.prefix)}/ \(1 files, 0 folders\) -> ok in \d+\.\d ms",
            line,
        )
        for line in lines
    ), lines
    secret = manager_kwargs["secret_access_key"]
    assert not any(secret in message for _, message in records.lines)


def test_info_level_keeps_store_requests_out_of_the_log(manager_kwargs, raw):
    raw.put("notes.txt", b"hello")
    cm, records = manager_with_log(manager_kwargs, logging.INFO)
    cm.get("notes.txt")
    assert records.store_lines() == []


def test_jupyter_server_debug_log_shows_store_requests(
    s3_settings, test_prefix, raw, tmp_path
):
    """A real server started with --log-level=DEBUG, credentials from the environment."""
    raw.put("hello.txt", b"hi")
    port, token = free_port(), secrets.token_hex(16)
    cls = "AsyncS3ContentsManager"
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=s3_settings.access_key_id,
        AWS_SECRET_ACCESS_KEY=s3_settings.secret_access_key,
        AWS_REGION=s3_settings.region_name,
    )
    log_path = tmp_path / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--log-level=DEBUG",
        f"--ServerApp.contents_manager_class=s3contents_rs.{cls}",
        f"--{cls}.bucket={s3_settings.bucket}",
        f"--{cls}.prefix={test_prefix}",
        f"--{cls}.endpoint_url={s3_settings.endpoint_url}",
        f"--{cls}.region_name={s3_settings.region_name}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
    try:
        url = f"http://127.0.0.1:{port}/api/contents/hello.txt?content=1"
        request = urllib.request.Request(
            url, headers={"Authorization": f"token {token}"}
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"server did not answer; log:\n{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log_path.read_text(errors="replace")
    key = raw.key("hello.txt")
    assert re.search(
        rf"{re.escape(STORE_LOGGER)}\]\S* GET {re.escape(key)} \(2 bytes\) -> ok in \d+\.\d ms",
        text,
    ), text[-4000:]
    assert s3_settings.secret_access_key not in text
    # The manager's info_string, which jupyter_server logs at start-up, is its one line there.
    started = re.findall(
        rf"s3contents_rs \S+: \w+ContentsManager on s3://{re.escape(s3_settings.bucket)}/\S+",
        text,
    )
    assert len(started) == 1, text[-4000:]
