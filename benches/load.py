"""Load test: many concurrent clients on one Jupyter server's REST API (async manager).

    .venv/bin/python benches/load.py                    # 32 clients for 20 s on a local moto
    .venv/bin/python benches/load.py --clients 64 --seconds 60

Each client works in its own folder with a mix of get / save / list / rename / checkpoint
requests. Every write the server acknowledged is remembered; at the end each file is read
back and must hold exactly the last acknowledged content. Any 5xx counts as a failure.
Prints the throughput and the latency percentiles it held; exits 1 on any failure.

`run_load(request, ...)` is the same loop for any async `request(method, path, body)`
callable; tests/test_load.py drives it through pytest-jupyter's server.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Awaitable, Callable, Optional

# (method, API path, JSON body or None) -> (status, parsed JSON body or None)
Request = Callable[[str, str, Optional[dict]], Awaitable[tuple[int, Optional[dict]]]]

MIX = [("get", 30), ("save", 30), ("list", 15), ("rename", 10), ("checkpoint", 10), ("new", 5)]


@dataclasses.dataclass
class Report:
    clients: int
    seconds: float
    latencies: dict[str, list[float]]
    statuses: dict[int, int]
    server_errors: list[str]
    lost_writes: list[str]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def ok(self) -> bool:
        return not self.server_errors and not self.lost_writes

    def table(self) -> str:
        lines = [
            f"{self.clients} clients, {self.seconds:.1f} s, {self.requests} requests, "
            f"{self.requests / self.seconds:.1f} requests/s; statuses {dict(sorted(self.statuses.items()))}",
            f"{'operation':<12}{'count':>8}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}",
        ]
        for name, values in sorted(self.latencies.items()):
            if not values:
                continue
            q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
            lines.append(
                f"{name:<12}{len(values):>8}{q[49] * 1e3:>10.1f}{q[89] * 1e3:>10.1f}{q[98] * 1e3:>10.1f}"
                f"{max(values) * 1e3:>10.1f}"
            )
        lines.append(f"5xx responses: {len(self.server_errors)}; lost acknowledged writes: {len(self.lost_writes)}")
        return "\n".join(lines)


def _notebook(text: str) -> dict:
    return {
        "cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": text}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


async def run_load(request: Request, clients: int = 16, seconds: float = 10.0, seed: int = 0) -> Report:
    rng = random.Random(seed)
    latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
    statuses: dict[int, int] = {}
    server_errors: list[str] = []
    # path -> last acknowledged text, per client (clients never touch each other's files).
    acknowledged: dict[str, str] = {}
    names, weights = zip(*MIX)

    async def timed(kind: str, method: str, path: str, payload: Optional[dict] = None):
        start = time.perf_counter()
        status, answer = await request(method, path, payload)
        latencies[kind].append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            server_errors.append(f"{method} {path}: {status} {answer}")
        return status, answer

    async def client(number: int, deadline: float) -> None:
        folder = f"client{number:03d}"
        await timed("new", "PUT", folder, {"type": "directory"})
        files = [f"{folder}/nb{i}.ipynb" for i in range(3)]
        for path in files:
            text = f"{path} v0"
            status, _ = await timed("save", "PUT", path, {"type": "notebook", "content": _notebook(text)})
            if status in (200, 201):
                acknowledged[path] = text
        version = 0
        local = random.Random(rng.random())
        while time.monotonic() < deadline:
            kind = local.choices(names, weights)[0]
            path = local.choice(files)
            if kind == "get":
                await timed(kind, "GET", path)
            elif kind == "list":
                await timed(kind, "GET", folder)
            elif kind == "save":
                version += 1
                text = f"{path} v{version}"
                status, _ = await timed(kind, "PUT", path, {"type": "notebook", "content": _notebook(text)})
                if status in (200, 201):
                    acknowledged[path] = text
            elif kind == "checkpoint":
                await timed(kind, "POST", f"{path}/checkpoints")
            elif kind == "rename":
                target = f"{folder}/r{uuid.uuid4().hex[:8]}.ipynb"
                status, _ = await timed(kind, "PATCH", path, {"path": target})
                if status == 200:
                    files[files.index(path)] = target
                    acknowledged[target] = acknowledged.pop(path)
            elif kind == "new":
                status, answer = await timed(kind, "POST", folder, {"type": "file", "ext": ".txt"})
                if status == 201 and answer:
                    acknowledged[answer["path"]] = ""

    start = time.monotonic()
    await asyncio.gather(*(client(i, start + seconds) for i in range(clients)))
    elapsed = time.monotonic() - start

    lost: list[str] = []
    for path, text in sorted(acknowledged.items()):
        status, answer = await request("GET", path, None)
        if status != 200 or answer is None:
            lost.append(f"{path}: {status}")
        elif path.endswith(".ipynb"):
            if answer["content"]["cells"][0]["source"] != text:
                lost.append(f"{path}: holds {answer['content']['cells'][0]['source']!r}, acknowledged {text!r}")
        elif answer["content"] != text:
            lost.append(f"{path}: holds {answer['content']!r}, acknowledged {text!r}")
    return Report(clients, elapsed, latencies, statuses, server_errors, lost)


# ----------------------------------------------------------------------------- standalone
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)

    import boto3
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    bin_dir = Path(sys.executable).parent
    procs: list[subprocess.Popen] = []
    try:
        endpoint = os.environ.get("S3CONTENTS_TEST_ENDPOINT")
        key = os.environ.get("S3CONTENTS_TEST_ACCESS_KEY_ID", "load-key")
        secret = os.environ.get("S3CONTENTS_TEST_SECRET_ACCESS_KEY", "load-secret")
        bucket = os.environ.get("S3CONTENTS_TEST_BUCKET", "load-test")
        if not endpoint:
            port = _free_port()
            procs.append(subprocess.Popen([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            endpoint = f"http://127.0.0.1:{port}"
            _wait(endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                          region_name="us-east-1")
        try:
            s3.create_bucket(Bucket=bucket)
        except Exception:  # noqa: BLE001 (it exists)
            pass
        prefix = f"load-{uuid.uuid4().hex[:8]}"
        token = uuid.uuid4().hex
        server_port = _free_port()
        config = Path(tempfile.mkdtemp()) / "jupyter_server_config.py"
        config.write_text(
            "from s3contents_rs import AsyncS3ContentsManager\n"
            "c.ServerApp.contents_manager_class = AsyncS3ContentsManager\n"
            f"c.AsyncS3ContentsManager.bucket = {bucket!r}\n"
            f"c.AsyncS3ContentsManager.prefix = {prefix!r}\n"
            f"c.AsyncS3ContentsManager.endpoint_url = {endpoint!r}\n"
            f"c.AsyncS3ContentsManager.access_key_id = {key!r}\n"
            f"c.AsyncS3ContentsManager.secret_access_key = {secret!r}\n"
        )
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config}", "--no-browser", "--ip=127.0.0.1",
             f"--port={server_port}", f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        base = f"http://127.0.0.1:{server_port}"
        _wait(f"{base}/api/status?token={token}")

        async def run() -> Report:
            client = AsyncHTTPClient(max_clients=args.clients)

            async def request(method: str, path: str, payload: Optional[dict]):
                try:
                    response = await client.fetch(
                        f"{base}/api/contents/{path}", method=method,
                        headers={"Authorization": f"token {token}"},
                        body=None if payload is None and method in ("GET", "DELETE") else json.dumps(payload or {}),
                        request_timeout=120,
                    )
                except HTTPClientError as e:
                    return e.code, e.response.body.decode(errors="replace") if e.response else None
                return response.code, json.loads(response.body) if response.body else None

            return await run_load(request, args.clients, args.seconds)

        report = asyncio.run(run())
        print(report.table())
        for line in (report.server_errors + report.lost_writes)[:20]:
            print("  " + line)
        return 0 if report.ok else 1
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
