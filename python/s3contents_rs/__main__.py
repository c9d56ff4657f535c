"""``python -m s3contents_rs lab``: JupyterLab on an object store.

(``python -m s3contents_rs check``: see ``check.py``.)

With no endpoint configured it starts a local S3-compatible server (moto) on 127.0.0.1
and a bucket for you, so you can try everything without an AWS account. Configure a
real store with the usual variables: S3CONTENTS_ENDPOINT, S3CONTENTS_BUCKET,
S3CONTENTS_PREFIX, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
"""

from __future__ import annotations

import argparse
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_local_s3(data_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start moto's S3 server on a free loopback port; returns the process and its URL."""
    moto = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(moto).exists():
        raise SystemExit("moto_server not found: pip install 'moto[server]' (or configure S3CONTENTS_ENDPOINT)")
    port = _free_port()
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("moto_server exited during start-up") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto_server did not start within 10 s")


def _ensure_bucket(endpoint: str, bucket: str, key: str, secret: str, region: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
    names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in names:
        s3.create_bucket(Bucket=bucket)


def lab(args: argparse.Namespace, extra: list[str]) -> int:
    endpoint = os.environ.get("S3CONTENTS_ENDPOINT", "")
    bucket = os.environ.get("S3CONTENTS_BUCKET", "notebooks")
    prefix = os.environ.get("S3CONTENTS_PREFIX", "")
    region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    server = None
    if not endpoint and not os.environ.get("S3CONTENTS_USE_AWS"):
        server, endpoint = start_local_s3()
        key, secret = key or "local", secret or "local-secret"
        _ensure_bucket(endpoint, bucket, key, secret, region)
        print(f"Started a local S3 server at {endpoint} with bucket {bucket!r}", flush=True)
    manager = "s3contents_rs.S3ContentsManager" if args.sync else "s3contents_rs.AsyncS3ContentsManager"
    cls = manager.rsplit(".", 1)[1]
    cmd = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.contents_manager_class={manager}",
        f"--{cls}.bucket={bucket}",
        f"--{cls}.prefix={prefix}",
        f"--{cls}.region_name={region}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={tempfile.gettempdir()}",  # kernels' working directory
    ]
    if endpoint:
        cmd.append(f"--{cls}.endpoint_url={endpoint}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root
    env = dict(os.environ)
    if key:  # through the environment, so keys never show in the process list
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = key, secret
    jupyter = subprocess.Popen(cmd + extra, env=env)
    # Let Jupyter stop the way it stops on its own, so it can abort uploads in progress
    # (subprocess.call would SIGKILL it on Ctrl+C): Ctrl+C reaches it directly (same
    # process group), a SIGTERM to this launcher (docker stop) is passed on. The local S3
    # server goes once Jupyter has exited.
    signal.signal(signal.SIGTERM, lambda *_: jupyter.terminate())
    try:
        while True:
            try:
                return jupyter.wait()
            except KeyboardInterrupt:
                continue  # Jupyter got the same Ctrl+C and answers it itself
    finally:
        if server is not None:
            server.terminate()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    from ._core import __version__

    parser = argparse.ArgumentParser(prog="python -m s3contents_rs")
    parser.add_argument("--version", action="version", version=f"s3contents_rs {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    lab_parser = sub.add_parser("lab", help="run JupyterLab on an object store (starts a local S3 server if none is configured)")
    lab_parser.add_argument("--sync", action="store_true", help="use the blocking S3ContentsManager")
    sub.add_parser("check", help="try a configuration against its bucket (list, write, read, checkpoint, delete)", add_help=False)
    args, extra = parser.parse_known_args(argv)
    if args.command == "check":
        from .check import main as check_main

        return check_main(extra)
    if args.command == "lab":
        return lab(args, extra)
    return 2


if __name__ == "__main__":
    sys.exit(main())
