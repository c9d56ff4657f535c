"""``python -m s3contents_rs lab`` (what ``./dev.sh lab`` runs): with no endpoint configured
it starts a local S3 server, serves JupyterLab from a bucket on it, and a SIGTERM (docker
stop) shuts Jupyter down the way Jupyter shuts down, then the local server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import boto3
import pytest
from support.s3c_helpers import free_port

pytestmark = pytest.mark.timeout(180)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_lab_on_a_local_s3_server_and_sigterm_stops_both(tmp_path):
    port, token = free_port(), "lab-command-test"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("S3CONTENTS_", "AWS_"))
    }
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path),
        JUPYTER_DATA_DIR=str(tmp_path),
        JUPYTER_RUNTIME_DIR=str(tmp_path),
    )
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s3contents_rs",
            "lab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(
            line.decode(errors="replace") for line in launcher.stdout
        )
    )
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not answers(port):
            assert launcher.poll() is None and time.monotonic() < deadline, "".join(
                lines
            )[-3000:]
            time.sleep(0.3)
        started = next(
            re.search(
                r"local S3 server at (http://127\.0\.0\.1:(\d+)) with bucket '(\w+)'",
                line,
            )
            for line in lines
            if "local S3 server" in line
        )
        endpoint, s3_port, bucket = (
            started.group(1),
            int(started.group(2)),
            started.group(3),
        )

        api = f"http://127.0.0.1:{port}/api/contents"
        new = urllib.request.Request(
            f"{api}?token={token}",
            data=json.dumps({"type": "notebook"}).encode(),
            method="POST",
        )
        created = json.load(urllib.request.urlopen(new, timeout=30))
        assert created["path"] == "Untitled.ipynb"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local-secret",
            region_name="us-east-1",
        )
        assert (
            b'"nbformat"'
            in s3.get_object(Bucket=bucket, Key="Untitled.ipynb")["Body"].read()
        )

        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
        reader.join(timeout=10)
        log = "".join(lines)
        assert "Shutting down" in log, log[-3000:]  # Jupyter's own shutdown, not a kill
        assert not answers(port), "Jupyter is still running"
        assert not answers(s3_port), "the local S3 server is still running"
    finally:
        # Whatever is left of the launcher's session (itself, Jupyter, the S3 server).
        try:
            os.killpg(launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        launcher.wait(timeout=10)
