#!/usr/bin/env python3
"""Smoke test of a built wheel, the way a user installs it.

    python tools/smoke_test.py WHEEL [--python PY ...] [--check-contents]

For each interpreter (default: the one running this script), a fresh venv gets the wheel and
``moto[server]`` (nothing else: jupyter_server and the rest come from the wheel's own
requirements). Inside it: ``python -m s3contents_rs --version`` prints the wheel's version; the
server-extension config ``etc/jupyter/jupyter_server_config.d/s3contents_rs.json`` is installed
under the venv's prefix and ``jupyter server extension list`` shows s3contents_rs enabled; then a
Jupyter server (jupyter_server, no JupyterLab) with ``AsyncS3ContentsManager`` on a local
``moto_server`` (127.0.0.1) saves, lists, reads back and deletes a notebook over REST, and its log
has the start-up line with the version.

``--check-contents`` also checks what the wheel holds (no tests, an extension without debug
info) and prints its size. Only the standard library is used outside the venvs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

CONFIG_FILE = "etc/jupyter/jupyter_server_config.d/s3contents_rs.json"
LABEXTENSION = "share/jupyter/labextensions/s3contents-rs"


def log(msg: str) -> None:
    print(f"[smoke] {msg}", flush=True)


def fail(msg: str) -> None:
    raise SystemExit(f"[smoke] FAILED: {msg}")


def wheel_version(wheel: Path) -> str:
    # {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
    return wheel.name.split("-")[1]


# --------------------------------------------------------------------------- the wheel file
def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        extension = [n for n in names if re.match(r"s3contents_rs/_core\.(abi3\.so|pyd|.*\.so)$", n)]
        if len(extension) != 1:
            fail(f"expected one compiled extension in the wheel, found {extension}")
        tests = [n for n in names if re.search(r"(^|/)(tests?|conftest\.py|test_[^/]*\.py)($|/)", n)]
        if tests:
            fail(f"test files in the wheel: {tests[:5]}")
        if f"s3contents_rs-{wheel_version(wheel)}.data/data/{CONFIG_FILE}" not in names:
            fail(f"{CONFIG_FILE} is not in the wheel's data")
        if f"s3contents_rs-{wheel_version(wheel)}.data/data/{LABEXTENSION}/package.json" not in names:
            fail(f"the JupyterLab extension ({LABEXTENSION}) is not in the wheel's data")
        ext_bytes = zf.read(extension[0])
    if ext_bytes[:4] == b"\x7fELF":
        # Debug info is in .debug_* sections; a stripped library has no .symtab either.
        kept = [name for name in elf_section_names(ext_bytes) if name.startswith(".debug") or name == ".symtab"]
        if kept:
            fail(f"the extension is not stripped: it has the sections {kept}")
    log(
        f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB "
        f"(extension {len(ext_bytes) / 1e6:.1f} MB unpacked), {len(names)} files, no tests"
    )


def elf_section_names(data: bytes) -> list[str]:
    """The section names of a 64-bit little-endian ELF file (what `readelf -S` lists)."""
    import struct

    if data[4] != 2 or data[5] != 1:
        fail("the extension is not a 64-bit little-endian ELF file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    return [data[names_offset + h[0] : data.index(b"\0", names_offset + h[0])].decode() for h in headers]


# --------------------------------------------------------------------------- one venv
def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kw)


def smoke_in_fresh_venv(wheel: Path, python: str) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="s3contents-rs-smoke-") as tmp:
        venv = Path(tmp) / "venv"
        run([python, "-m", "venv", venv])
        py = venv_python(venv)
        version = run(
            [py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
        ).stdout
        log(f"Python {version.strip()} ({python}): installing {wheel.name}")
        run(
            [
                py,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                str(wheel),
                "moto[server]>=5",
            ]
        )
        # The rest runs with the venv's Python, from a folder away from the source tree so
        # that the installed package is the one imported.
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(Path(tmp) / "jupyter-config"),
            PYTHONNOUSERSITE="1",
        )
        for name in ("PYTHONPATH", "JUPYTER_PATH", "JUPYTER_DATA_DIR"):
            env.pop(name, None)
        run(
            [
                py,
                str(Path(__file__).resolve()),
                "--inside",
                "--expect-version",
                wheel_version(wheel),
            ],
            cwd=tmp,
            env=env,
        )
    log(f"Python {version.strip()}: passed in {time.monotonic() - started:.0f} s")


# --------------------------------------------------------------------------- inside the venv
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"{what} exited during start-up (code {proc.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    fail(f"{what} did not answer {url} within {timeout:.0f} s")


def bin_path(name: str) -> str:
    scripts = Path(sys.executable).parent
    for candidate in (scripts / name, scripts / f"{name}.exe"):
        if candidate.exists():
            return str(candidate)
    fail(f"{name} is not installed next to {sys.executable}")
    raise AssertionError


def inside(expected_version: str) -> None:
    # 1. the version
    out = run([sys.executable, "-m", "s3contents_rs", "--version"], capture_output=True).stdout.strip()
    if out != f"s3contents_rs {expected_version}":
        fail(f"--version printed {out!r}, expected 's3contents_rs {expected_version}'")
    log(f"--version: {out}")

    # 2. the server-extension config, where Jupyter finds it
    config = Path(sys.prefix) / CONFIG_FILE
    if not config.is_file():
        fail(f"{config} is not installed")
    if json.loads(config.read_text()) != {"ServerApp": {"jpserver_extensions": {"s3contents_rs": True}}}:
        fail(f"{config} does not enable the extension: {config.read_text()}")
    listing = subprocess.run(
        [bin_path("jupyter"), "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)  # without its colours
    if not re.search(r"s3contents_rs\s+enabled", text) or not re.search(r"s3contents_rs\s+\S*\s*OK", text):
        fail(f"`jupyter server extension list` does not show s3contents_rs enabled and OK:\n{text}")
    log(f"extension config at {config}; `jupyter server extension list`: enabled, OK")

    # 3. a server on a local S3
    import boto3

    key, secret, region = "smoke", "smoke-secret", "us-east-1"
    bucket, prefix = f"smoke-{uuid.uuid4().hex[:8]}", "some/prefix"
    s3_port, port, token = free_port(), free_port(), uuid.uuid4().hex
    work = Path.cwd()
    procs: list[subprocess.Popen] = []
    server_log = work / "server.log"
    try:
        moto = subprocess.Popen(
            [bin_path("moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(moto)
        endpoint = f"http://127.0.0.1:{s3_port}"
        wait_for(endpoint, moto, "moto_server")
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name=region,
        )
        s3.create_bucket(Bucket=bucket)
        root = work / "kernels"
        root.mkdir()
        cls = "AsyncS3ContentsManager"
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.contents_manager_class=s3contents_rs.{cls}",
            f"--{cls}.bucket={bucket}",
            f"--{cls}.prefix={prefix}",
            f"--{cls}.endpoint_url={endpoint}",
            f"--{cls}.region_name={region}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
        with open(server_log, "wb") as out_file:
            server = subprocess.Popen(cmd, stdout=out_file, stderr=subprocess.STDOUT, env=env)
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/status?token={token}", server, "jupyter server")

        def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
            request = urllib.request.Request(
                f"{base}/api/contents/{path}",
                method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={
                    "Authorization": f"token {token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    raw = reply.read()
                    return reply.status, json.loads(raw) if raw else {}
            except urllib.error.HTTPError as e:
                return e.code, {}

        notebook = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "id": "smoke-cell",
                    "metadata": {},
                    "execution_count": None,
                    "outputs": [],
                    "source": "print('hello from s3contents-rs')",
                }
            ],
        }
        status, saved = call(
            "PUT",
            "smoke.ipynb",
            {"type": "notebook", "format": "json", "content": notebook},
        )
        if status not in (200, 201) or saved.get("path") != "smoke.ipynb":
            fail(f"save answered {status} {saved}")
        status, listing_model = call("GET", "")
        names = [entry["name"] for entry in listing_model.get("content", [])]
        if status != 200 or "smoke.ipynb" not in names:
            fail(f"listing answered {status}, names {names}")
        status, read = call("GET", "smoke.ipynb")
        if status != 200 or read["content"]["cells"][0]["source"] != notebook["cells"][0]["source"]:
            fail(f"read back answered {status}: {read}")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if f"{prefix}/smoke.ipynb" not in keys:
            fail(f"the notebook is not in the bucket: {keys}")
        status, _ = call("DELETE", "smoke.ipynb")
        if status != 204:
            fail(f"delete answered {status}")
        status, _ = call("GET", "smoke.ipynb")
        if status != 404:
            fail(f"after the delete, GET answered {status}")
        log(f"server on s3://{bucket}/{prefix}: save, list, read back, delete over REST")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = server_log.read_text(errors="replace")
    line = f"s3contents_rs {expected_version}: {cls} on s3://{bucket}/{prefix}"
    if line not in text:
        fail(f"the server log has no {line!r}:\n{text}")
    if "s3contents_rs extension: large /api/contents replies" not in text:
        fail(f"the server log does not show the server extension loaded:\n{text}")
    log(f"server log: {line!r}, extension loaded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", nargs="?", type=Path)
    parser.add_argument(
        "--python",
        action="append",
        help="interpreter for a fresh venv (repeat; default: this one)",
    )
    parser.add_argument(
        "--check-contents",
        action="store_true",
        help="also check the wheel's files and print its size",
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--expect-version", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.expect_version)
        return
    if args.wheel is None or not args.wheel.is_file():
        parser.error("give the path of a wheel")
    wheel = args.wheel.resolve()
    if args.check_contents:
        check_contents(wheel)
    for python in args.python or [sys.executable]:
        smoke_in_fresh_venv(wheel, shutil.which(python) or python)


if __name__ == "__main__":
    main()
