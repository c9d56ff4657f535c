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
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def start_local_s3(data_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the local S3 server (moto, from this Python's environment: ``_local_s3.py``) on a
    free loopback port; returns the process and its URL. With ``data_dir`` its buckets are kept
    in that folder across restarts; without, in memory only."""
    try:
        import moto  # noqa: F401
    except ImportError:
        raise SystemExit(
            "moto is not installed: pip install 'moto[server]' (or configure S3CONTENTS_ENDPOINT)"
        ) from None
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("_local_s3.py")),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)  # its stderr: errors only
    assert proc.stdout is not None
    # It prints "listening on URL" once its socket is bound (after restoring data_dir).
    for raw in proc.stdout:
        line = raw.decode(errors="replace").strip()
        if line.startswith("listening on "):
            proc.stdout.close()
            return proc, line.removeprefix("listening on ")
    proc.wait()
    raise SystemExit(
        f"the local S3 server exited during start-up (status {proc.returncode})"
    )


def _ensure_bucket(
    endpoint: str, bucket: str, key: str, secret: str, region: str
) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=region,
    )
    names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in names:
        s3.create_bucket(Bucket=bucket)


def lab(args: argparse.Namespace, extra: list[str]) -> int:
    endpoint = os.environ.get("S3CONTENTS_ENDPOINT", "")
    bucket = os.environ.get("S3CONTENTS_BUCKET", "notebooks")
    prefix = os.environ.get("S3CONTENTS_PREFIX", "")
    region = os.environ.get(
        "AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    )
    key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    server = None
    if not endpoint and not os.environ.get("S3CONTENTS_USE_AWS"):
        data_dir = Path(args.local_s3_data).resolve() if args.local_s3_data else None
        server, endpoint = start_local_s3(data_dir)
        key, secret = key or "local", secret or "local-secret"
        _ensure_bucket(endpoint, bucket, key, secret, region)
        print(
            f"Started a local S3 server at {endpoint} with bucket {bucket!r}",
            flush=True,
        )
        if data_dir is not None:
            print(
                f"Its buckets are kept in {data_dir} (delete that folder to start afresh)",
                flush=True,
            )
        else:
            print(
                "WARNING: its buckets are kept in memory only and are lost when the lab stops "
                "(--local-s3-data DIR keeps them in a folder)",
                flush=True,
            )
    manager = (
        "s3contents_rs.S3ContentsManager"
        if args.sync
        else "s3contents_rs.AsyncS3ContentsManager"
    )
    cls = manager.rsplit(".", 1)[1]
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
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
    parser.add_argument(
        "--version", action="version", version=f"s3contents_rs {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lab_parser = sub.add_parser(
        "lab",
        allow_abbrev=False,
        help="run JupyterLab on an object store (starts a local S3 server if none is configured)",
    )
    lab_parser.add_argument(
        "--sync", action="store_true", help="use the blocking S3ContentsManager"
    )
    lab_parser.add_argument(
        "--local-s3-data",
        metavar="DIR",
        help="keep the local S3 server's buckets in DIR across restarts (default: in memory only)",
    )
    sub.add_parser(
        "check",
        help="try a configuration against its bucket (list, write, read, checkpoint, delete)",
        add_help=False,
    )
    args, extra = parser.parse_known_args(argv)
    if args.command == "check":
        from .check import main as check_main

        return check_main(extra)
    if args.command == "lab":
        return lab(args, extra)
    return 2


if __name__ == "__main__":
    sys.exit(main())
