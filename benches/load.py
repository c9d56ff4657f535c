"""Load: many concurrent clients through the REST API of one Jupyter server running
AsyncS3ContentsManager, with a mix of get, save, list, rename and checkpoint calls.

Correctness is checked at the end, not sampled: every write the server acknowledged
(2xx) must be in the store with its content (a client's own files hold exactly its last
acknowledged content; a file all clients write holds one of the acknowledged versions),
and no request may have been answered with a 5xx. Printed: throughput and latency
percentiles per operation.

    python benches/load.py [--clients 32] [--seconds 30] [--quick] [--results-dir DIR]

Used by tests/test_load.py (short run, asserts the correctness part only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

HERE = Path(__file__).resolve().parent
TOKEN = "load-token"


@dataclass
class Report:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "throughput_rps": self.requests / self.seconds if self.seconds else 0.0,
            "statuses": dict(self.statuses),
            "server_errors": len(self.server_errors),
            "problems": self.problems,
            "latency_ms": {
                op: {
                    "p50": pct(v, 0.5),
                    "p95": pct(v, 0.95),
                    "p99": pct(v, 0.99),
                    "max": max(v) * 1000,
                    "n": len(v),
                }
                for op, v in sorted(self.latencies.items())
            },
        }


class Client:
    """One user: owns files under `u<n>/`, and also writes the shared file."""

    def __init__(
        self,
        number: int,
        base: str,
        http: AsyncHTTPClient,
        report: Report,
        shared: dict,
    ):
        self.n, self.base, self.http, self.report = number, base, http, report
        self.folder = f"load/u{number}"
        self.files: dict[str, str] = {}  # path -> last acknowledged content
        self.shared = shared  # "acked": every acknowledged content of the shared file
        self.rng = random.Random(number)
        self.counter = 0

    async def call(
        self,
        op: str,
        method: str,
        path: str,
        body: dict | None = None,
        ok=(200, 201, 204),
    ):
        url = f"{self.base}api/contents/{quote(path)}"
        request = HTTPRequest(
            url, method=method, body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {TOKEN}"}, request_timeout=120,
            allow_nonstandard_methods=True,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            response = await self.http.fetch(request)
            code, payload = response.code, response.body
        except HTTPClientError as e:
            code, payload = e.code, (e.response.body if e.response else b"")
        self.report.latencies[op].append(time.perf_counter() - started)
        self.report.statuses[code] += 1
        if code >= 500:
            self.report.server_errors.append(f"{op} {path}: {code} {payload[:200]!r}")
        if code not in ok:
            return code, None
        return code, json.loads(payload) if payload else None

    def text(self) -> str:
        self.counter += 1
        return f"client {self.n} write {self.counter} " + "x" * self.rng.randint(0, 4000)

    async def save(self, path: str, content: str) -> bool:
        code, _ = await self.call("save", "PUT", path, {"type": "file", "format": "text", "content": content})
        return code in (200, 201)

    async def step(self) -> None:
        choice = self.rng.random()
        if not self.files or choice < 0.25:
            path = f"{self.folder}/f{self.counter}.txt"
            content = self.text()
            if await self.save(path, content):
                self.files[path] = content
        elif choice < 0.45:
            path = self.rng.choice(sorted(self.files))
            _, model = await self.call("get", "GET", path)
            if model is None or model["content"] != self.files[path]:
                self.report.problems.append(f"{path}: read back something other than the last write")
        elif choice < 0.55:
            path = self.rng.choice(sorted(self.files))
            content = self.text()
            if await self.save(path, content):
                self.files[path] = content
        elif choice < 0.65:
            await self.call("list", "GET", self.folder)
        elif choice < 0.75:
            old = self.rng.choice(sorted(self.files))
            new = f"{self.folder}/r{self.counter}-{self.n}.txt"
            self.counter += 1
            code, _ = await self.call("rename", "PATCH", old, {"path": new})
            if code == 200:
                self.files[new] = self.files.pop(old)
        elif choice < 0.85:
            path = self.rng.choice(sorted(self.files))
            await self.call("checkpoint", "POST", f"{path}/checkpoints")
            await self.call("list_checkpoints", "GET", f"{path}/checkpoints")
        else:
            content = self.text()
            if await self.save("load/shared.txt", content):
                self.shared["acked"].add(content)

    async def verify(self) -> None:
        for path, content in self.files.items():
            _, model = await self.call("verify", "GET", path)
            if model is None or model["content"] != content:
                self.report.problems.append(f"{path}: acknowledged write missing or different at the end")


async def run_load(base: str, clients: int, seconds: float) -> Report:
    """Drive `clients` concurrent users against the server at `base` for `seconds`."""
    http = AsyncHTTPClient(force_instance=True, max_clients=clients * 2)
    report, shared = Report(), {"acked": set()}
    users = [Client(i, base, http, report, shared) for i in range(clients)]
    deadline = time.perf_counter() + seconds

    async def user(u: Client) -> None:
        while time.perf_counter() < deadline:
            await u.step()

    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in users))
    report.seconds = time.perf_counter() - started
    await asyncio.gather(*(u.verify() for u in users))
    if shared["acked"]:
        _, model = await users[0].call("verify", "GET", "load/shared.txt")
        if model is None or model["content"] not in shared["acked"]:
            report.problems.append("load/shared.txt holds content nobody was told was saved")
    http.close()
    return report


def start_server(python: str, endpoint: str, bucket: str, prefix: str, creds: dict, workdir: Path):
    """A Jupyter server with AsyncS3ContentsManager on a free port; returns (proc, base URL)."""
    sys.path.insert(0, str(HERE))
    from run import free_port, wait_http

    port = free_port()
    traits = {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, **creds}
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
        JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
    )
    proc = subprocess.Popen(
        [python, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={workdir}", "--ServerApp.log_level=WARN",
         "--ServerApp.contents_manager_class=s3contents_rs.AsyncS3ContentsManager",
         *[f"--AsyncS3ContentsManager.{k}={v}" for k, v in traits.items()]],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "jupyter.log", "wb"), env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    wait_http(f"{base}api/status?token={TOKEN}", proc, "jupyter server")
    return proc, base


def print_report(summary: dict, clients: int) -> None:
    print(f"{clients} clients, {summary['seconds']:.1f} s: {summary['requests']} requests, "
          f"{summary['throughput_rps']:.0f} requests/s; statuses {summary['statuses']}")  # fmt: skip
    print(f"{'operation':<18} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for op, s in summary["latency_ms"].items():
        print(f"{op:<18} {s['n']:>6} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['p99']:>8.1f} {s['max']:>8.1f}")
    verdict = "OK" if not summary["problems"] and not summary["server_errors"] else "FAILED"
    print(f"correctness: {verdict}; 5xx responses: {summary['server_errors']}; problems: {summary['problems'][:5]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="8 clients for 5 s")
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    clients, seconds = (8, 5.0) if args.quick else (args.clients, args.seconds)
    sys.path.insert(0, str(HERE))
    import boto3

    from run import start_moto

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    creds = {
        "access_key_id": "load",
        "secret_access_key": "load-secret",
        "region_name": "us-east-1",
    }
    moto, endpoint = start_moto(open(workdir / "moto.log", "wb"))
    server = None
    try:
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="load", aws_secret_access_key="load-secret",
                     region_name="us-east-1").create_bucket(Bucket="load")  # fmt: skip
        server, base = start_server(sys.executable, endpoint, "load", "bench", creds, workdir)
        summary = asyncio.run(run_load(base, clients, seconds)).summary()
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        moto.terminate()
    print_report(summary, clients)
    out = Path(args.results_dir) / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"clients": clients, **summary}, indent=2))
    return 0 if not summary["problems"] and not summary["server_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
