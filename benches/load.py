"""Many users: concurrent JupyterLab-like clients against one Jupyter server, ours and s3contents.

Each client is a JupyterLab user with a folder of its own (`load/u<n>/`), sending the requests
JupyterLab sends for what users do most, back to back (no think time), picked at random by weight:

    list      the file browser: GET folder?content=1
    open      open a notebook: GET ?type=notebook&content=1&hash=1, then GET its
              checkpoints (a checkpoint is created when there is none)
    autosave  save the open notebook: GET ?content=0&hash=1 (JupyterLab's "File Changed" check),
              PUT, GET ?content=0&hash=1 (the new hash)
    save      the user's explicit save: the same, then POST checkpoints
    rename    PATCH a text file or the open notebook to a new name
    upload    a 1-2.5 MiB file in 1 MiB base64 chunks (chunk 1, 2, ..., -1, as JupyterLab sends them),
              over one of the client's two upload names
    shared    PUT of a text file every client writes (last writer wins; it exists before the clock starts)

A latency is an operation's (all its requests, as the user waits for them). Every client does
each operation once before the clock may stop it.

Correctness is checked, not sampled: no request may get an answer other than the expected 2xx
(a 5xx is a server error, anything else a problem); a client's listing shows exactly its files
(acknowledged uploads and renames in, renamed-away names out); a notebook reads back its last
acknowledged save; a save never meets a notebook changed on disk by someone else (JupyterLab's
check: the hash, else `last_modified` more than 500 ms after the one it holds); a notebook saved
with a checkpoint keeps one (across renames). At the end every client reads back every file
(text, notebook, uploads by SHA-256) and the shared file holds one of the acknowledged versions.

The server's CPU time (user + system, from /proc) over the timed run is divided by the number
of operations; moto's too, as both servers use the same moto. The servers run one after the
other, each on its own bucket of one moto_server: ours, then s3contents (PyPI 0.11.2 in
`$S3CONTENTS_REF_PYTHON`). Goals are recorded with benches/goals.py (suite "load").

    python benches/load.py [--clients 50] [--seconds 300] [--quick] [--servers both|ours] [--results-dir DIR]

Used by tests/test_load.py (short run of ours, asserts the correctness part only) and
tests/test_benchmarks.py (--quick, both servers, the goals recorded).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
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
MiB = 1024 * 1024
CHUNK = MiB  # JupyterLab's upload chunk (CHUNK_SIZE in @jupyterlab/filebrowser)
CONFLICT_MARGIN_S = 0.5  # JupyterLab's lastModifiedCheckMargin
MIX = {"list": 30, "open": 15, "autosave": 25, "save": 10, "rename": 8, "upload": 5, "shared": 7}
OPERATIONS = tuple(MIX)
MANAGERS = {
    "ours": "s3contents_rs.AsyncS3ContentsManager",
    "s3contents": "s3contents.S3ContentsManager",
}


@dataclass
class Sizes:
    text_files: int = 8  # per client, created before the clock starts
    cells: int = 20  # code cells of each client's notebook (about 20 KB)
    upload_min: int = MiB + 1  # always chunked, as JupyterLab does above 1 MiB
    upload_max: int = 5 * MiB // 2


QUICK_SIZES = Sizes(text_files=2, cells=5, upload_min=MiB + 1, upload_max=3 * MiB // 2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def notebook(marker: str, cells: int) -> dict:
    """An nbformat 4.5 notebook whose first cell names the save it comes from."""
    code = [
        {
            "cell_type": "code",
            "id": f"c{i}",
            "metadata": {},
            "execution_count": i + 1,
            "source": f"x{i} = {i}\nprint(x{i})",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": f"line {i}\n" * 100}],
        }
        for i in range(cells)
    ]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": [{"cell_type": "markdown", "id": "marker", "metadata": {}, "source": marker}, *code],
    }


@dataclass
class Report:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process name -> CPU seconds over the timed run

    @property
    def operations(self) -> int:
        return sum(len(self.latencies[op]) for op in OPERATIONS)

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        ops = self.operations
        return {
            "operations": ops,
            "requests": sum(self.requests[op] for op in OPERATIONS),
            "seconds": self.seconds,
            "throughput_ops": ops / self.seconds if self.seconds else 0.0,
            "statuses": dict(self.statuses),
            "server_errors": len(self.server_errors),
            "problems": self.problems,
            "errors": len(self.server_errors) + len(self.problems),
            "error_examples": (self.server_errors + self.problems)[:10],
            "cpu_s": dict(self.cpu),
            "cpu_ms_per_op": {name: s * 1000 / ops for name, s in self.cpu.items()} if ops else {},
            "latency_ms": {
                op: {
                    "p50": pct(v, 0.5),
                    "p95": pct(v, 0.95),
                    "p99": pct(v, 0.99),
                    "max": max(v) * 1000,
                    "n": len(v),
                    "requests": self.requests[op],
                }
                for op, v in sorted(self.latencies.items())
            },
        }


class Client:
    """One JupyterLab user: a folder `load/u<n>/` of text files, one open notebook and up to two
    uploads, all its own; and the shared file all clients write."""

    def __init__(self, number: int, base: str, http: AsyncHTTPClient, report: Report, shared: dict, sizes: Sizes):
        self.n, self.base, self.http, self.report, self.sizes = number, base, http, report, sizes
        self.folder = f"load/u{number}"
        self.texts: dict[str, str] = {}  # path -> its content
        self.uploads: dict[str, str] = {}  # path -> SHA-256 of its last acknowledged upload
        self.notebook = f"{self.folder}/notebook.ipynb"
        self.marker = ""  # the last acknowledged save of the notebook
        self.known: tuple[str, str | None] | None = None  # (last_modified, hash) as JupyterLab holds them
        self.checkpointed = False
        self.uncertain: set[str] = set()  # paths a failed request may have left either way
        self.shared = shared  # "acked": every acknowledged content of the shared file
        self.rng = random.Random(number)
        self.counter = 0

    async def call(self, op: str, method: str, path: str, body: dict | None = None, query: str = "", ok=(200, 201)):
        url = f"{self.base}api/contents/{quote(path)}" + (f"?{query}" if query else "")
        request = HTTPRequest(
            url, method=method, body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
            request_timeout=600, allow_nonstandard_methods=True,
        )  # fmt: skip
        try:
            response = await self.http.fetch(request)
            code, payload = response.code, response.body
        except HTTPClientError as e:
            code, payload = e.code, (e.response.body if e.response else b"")
        self.report.requests[op] += 1
        self.report.statuses[code] += 1
        if code >= 500 and code != 599:  # 599: tornado's own timeout or connection error
            self.report.server_errors.append(f"{op}: {method} {path}: {code} {payload[:200]!r}")
        elif code not in ok:
            self.report.problems.append(f"{op}: {method} {path}: unexpected {code} {payload[:200]!r}")
        if code not in ok:
            return code, None
        return code, json.loads(payload) if payload else None

    def problem(self, text: str) -> None:
        self.report.problems.append(f"client {self.n}: {text}")

    def text(self) -> str:
        self.counter += 1
        return f"client {self.n} write {self.counter} " + "x" * self.rng.randint(0, 4000)

    def paths(self) -> set[str]:
        return {*self.texts, *self.uploads, self.notebook}

    async def setup(self) -> None:
        """The client's folder, text files and notebook, created before the clock starts."""
        await self.call("setup", "PUT", self.folder, {"type": "directory"})
        for i in range(self.sizes.text_files):
            path, content = f"{self.folder}/f{i}.txt", self.text()
            code, _ = await self.call("setup", "PUT", path, {"type": "file", "format": "text", "content": content})
            if code in (200, 201):
                self.texts[path] = content
        self.marker = f"client {self.n} created"
        await self.call("setup", "PUT", self.notebook, {"type": "notebook", "content": notebook(self.marker, 0)})
        await self.open("setup")

    async def run(self, deadline: float) -> None:
        """Each operation once (in a random order), then random ones by weight until `deadline`."""
        first = list(OPERATIONS)
        self.rng.shuffle(first)
        weights = [MIX[op] for op in OPERATIONS]
        while first or time.perf_counter() < deadline:
            op = first.pop() if first else self.rng.choices(OPERATIONS, weights)[0]
            started = time.perf_counter()
            await getattr(self, f"op_{op}")()
            self.report.latencies[op].append(time.perf_counter() - started)

    async def op_list(self) -> None:
        _, model = await self.call("list", "GET", self.folder, query="content=1")
        if model is not None:
            self.check_listing(model, "list")

    def check_listing(self, model: dict, stage: str) -> None:
        listed = {entry["path"] for entry in model["content"]} - self.uncertain
        expected = self.paths() - self.uncertain
        if listed != expected:
            self.problem(
                f"{stage}: listing of {self.folder} misses {sorted(expected - listed)}, has extra {sorted(listed - expected)}"
            )

    async def op_open(self) -> None:
        await self.open("open")

    async def open(self, op: str) -> None:
        path = self.notebook
        _, model = await self.call(op, "GET", path, query="type=notebook&content=1&hash=1")
        if model is not None:
            self.check_notebook(model, op)
            self.known = (model["last_modified"], model.get("hash"))
        # As JupyterLab's Context does once a document is loaded: a checkpoint if none exists.
        _, checkpoints = await self.call(op, "GET", f"{path}/checkpoints")
        if checkpoints is not None and not checkpoints:
            if self.checkpointed and path not in self.uncertain:
                self.problem(f"{op}: {path} lost its checkpoint")
            code, _ = await self.call(op, "POST", f"{path}/checkpoints")
            self.checkpointed = self.checkpointed or code == 201

    def check_notebook(self, model: dict, stage: str) -> None:
        if self.notebook in self.uncertain:
            return
        cells = model["content"]["cells"] if model.get("content") else []
        if not cells or cells[0]["source"] != self.marker:
            self.problem(f"{stage}: {self.notebook} reads back other than its last acknowledged save ({self.marker})")

    async def op_autosave(self) -> None:
        await self.save_notebook("autosave", checkpoint=False)

    async def op_save(self) -> None:
        await self.save_notebook("save", checkpoint=True)

    async def save_notebook(self, op: str, checkpoint: bool) -> None:
        """What JupyterLab's Context.save sends (and the save command's checkpoint after it)."""
        path = self.notebook
        _, disk = await self.call(op, "GET", path, query="content=0&hash=1")
        if disk is not None and self.known is not None and path not in self.uncertain and self.conflict(disk):
            self.problem(f"{op}: {path} looks changed on disk (JupyterLab would ask: 'File Changed')")
        self.counter += 1
        marker = f"client {self.n} save {self.counter}"
        model = {"type": "notebook", "format": "json", "content": notebook(marker, self.sizes.cells)}
        code, saved = await self.call(op, "PUT", path, model)
        if saved is None:
            self.uncertain.add(path)
            return
        self.marker = marker
        self.uncertain.discard(path)
        _, after = await self.call(op, "GET", path, query="content=0&hash=1")
        self.known = (saved["last_modified"], after.get("hash") if after else None)
        if checkpoint:
            code, _ = await self.call(op, "POST", f"{path}/checkpoints")
            self.checkpointed = self.checkpointed or code == 201

    def conflict(self, disk: dict) -> bool:
        """JupyterLab's test: different hashes, or (without one) a newer `last_modified` on disk."""
        last_modified, digest = self.known
        if digest is not None and disk.get("hash") is not None:
            return digest != disk["hash"]
        return (when(disk["last_modified"]) - when(last_modified)).total_seconds() > CONFLICT_MARGIN_S

    async def op_rename(self) -> None:
        old = self.rng.choice([*sorted(self.texts), self.notebook])
        self.counter += 1
        new = f"{self.folder}/r{self.counter}" + (".ipynb" if old == self.notebook else ".txt")
        code, model = await self.call("rename", "PATCH", old, {"path": new}, ok=(200,))
        if model is None:
            self.uncertain |= {old, new}
            return
        if old in self.uncertain:
            self.uncertain.add(new)
        if old == self.notebook:
            self.notebook = new
            self.known = (model["last_modified"], None)  # JupyterLab takes the model the rename returns
        else:
            self.texts[new] = self.texts.pop(old)

    async def op_upload(self) -> None:
        """A file in 1 MiB chunks, as JupyterLab's file browser uploads it."""
        self.counter += 1
        path = f"{self.folder}/data{self.counter % 2}.bin"
        data = self.rng.randbytes(self.rng.randint(self.sizes.upload_min, self.sizes.upload_max))
        count = (len(data) + CHUNK - 1) // CHUNK
        for i in range(count):
            model = {
                "type": "file",
                "format": "base64",
                "name": path.rsplit("/", 1)[1],
                "content": base64.b64encode(data[i * CHUNK : (i + 1) * CHUNK]).decode(),
            }
            if count > 1:
                model["chunk"] = -1 if i == count - 1 else i + 1
            code, _ = await self.call("upload", "PUT", path, model)
            if code not in (200, 201):
                self.uploads.pop(path, None)
                self.uncertain.add(path)
                return
        self.uploads[path] = hashlib.sha256(data).hexdigest()
        self.uncertain.discard(path)

    async def op_shared(self, op: str = "shared") -> None:
        content = self.text()
        code, _ = await self.call(op, "PUT", "load/shared.txt", {"type": "file", "format": "text", "content": content})
        if code in (200, 201):
            self.shared["acked"].add(content)
        else:
            self.shared["uncertain"] = True

    async def verify(self) -> None:
        """Every file the client was told is saved, read back after the run."""
        _, model = await self.call("verify", "GET", self.folder, query="content=1")
        if model is not None:
            self.check_listing(model, "at the end")
        for path, content in self.texts.items():
            if path in self.uncertain:
                continue
            _, model = await self.call("verify", "GET", path, query="type=file&format=text&content=1")
            if model is None or model["content"] != content:
                self.problem(f"at the end: {path} missing or different from its acknowledged content")
        _, model = await self.call("verify", "GET", self.notebook, query="type=notebook&content=1")
        if model is not None:
            self.check_notebook(model, "at the end")
        if self.checkpointed and self.notebook not in self.uncertain:
            _, checkpoints = await self.call("verify", "GET", f"{self.notebook}/checkpoints")
            if checkpoints is not None and not checkpoints:
                self.problem(f"at the end: {self.notebook} lost its checkpoint")
        for path, digest in self.uploads.items():
            if path in self.uncertain:
                continue
            _, model = await self.call("verify", "GET", path, query="type=file&format=base64&content=1")
            if model is None or hashlib.sha256(base64.b64decode(model["content"])).hexdigest() != digest:
                self.problem(f"at the end: upload {path} missing or different from the last acknowledged one")


async def run_load(
    base: str, clients: int, seconds: float, sizes: Sizes | None = None, pids: dict[str, int] | None = None
) -> Report:
    """Drive `clients` concurrent users against the server at `base` for `seconds`; `pids` names
    the processes (the server, moto) whose CPU time over the timed run goes in the report."""
    sizes = sizes or Sizes()
    http = AsyncHTTPClient(force_instance=True, max_clients=clients * 2)
    report, shared = Report(), {"acked": set(), "uncertain": False}
    users = [Client(i, base, http, report, shared, sizes) for i in range(clients)]
    await users[0].call("setup", "PUT", "load", {"type": "directory"})
    # The shared file exists before the clock starts: the clients overwrite it. (Two first
    # PUTs of one new path race: ours answers the later one 409, a create-only write.)
    await users[0].op_shared("setup")
    await asyncio.gather(*(u.setup() for u in users))
    pids = pids or {}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    await asyncio.gather(*(u.run(started + seconds) for u in users))
    report.seconds = time.perf_counter() - started
    report.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    await asyncio.gather(*(u.verify() for u in users))
    if shared["acked"]:
        _, model = await users[0].call("verify", "GET", "load/shared.txt", query="type=file&format=text&content=1")
        if model is None or (model["content"] not in shared["acked"] and not shared["uncertain"]):
            report.problems.append("load/shared.txt holds content nobody was told was saved")
    http.close()
    return report


def start_server(
    python: str,
    endpoint: str,
    bucket: str,
    prefix: str,
    creds: dict,
    workdir: Path,
    manager: str = MANAGERS["ours"],
):
    """A Jupyter server with `manager` (ours by default) on a free port; returns (proc, base URL)."""
    sys.path.insert(0, str(HERE))
    from run import free_port, wait_http

    port = free_port()
    cls = manager.rsplit(".", 1)[1]
    traits = {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, **creds}
    workdir.mkdir(parents=True, exist_ok=True)  # s3contents keeps its checkpoints here, on local disk
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
        JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
    )
    proc = subprocess.Popen(
        [python, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={workdir}", "--ServerApp.log_level=WARN",
         f"--ServerApp.contents_manager_class={manager}",
         *[f"--{cls}.{k}={v}" for k, v in traits.items()]],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "jupyter.log", "wb"), env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    wait_http(f"{base}api/status?token={TOKEN}", proc, f"jupyter server ({cls})")
    return proc, base


def print_report(summary: dict, clients: int, name: str = "ours") -> None:
    print(f"{name}: {clients} clients, {summary['seconds']:.1f} s: {summary['operations']} operations "
          f"({summary['throughput_ops']:.1f}/s), {summary['requests']} requests; statuses {summary['statuses']}")  # fmt: skip
    print(f"{'operation':<10} {'n':>6} {'requests':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for op, s in summary["latency_ms"].items():
        print(
            f"{op:<10} {s['n']:>6} {s['requests']:>9} {s['p50']:>9.1f} {s['p95']:>9.1f} {s['p99']:>9.1f} {s['max']:>9.1f}"
        )
    for process, ms in summary["cpu_ms_per_op"].items():
        print(f"CPU of {process}: {summary['cpu_s'][process]:.1f} s, {ms:.1f} ms per operation")
    verdict = "OK" if not summary["errors"] else "FAILED"
    print(f"correctness: {verdict}; {summary['errors']} errors ({summary['server_errors']} 5xx, "
          f"{len(summary['problems'])} problems): {summary['error_examples'][:5]}")  # fmt: skip


def side_by_side(results: dict[str, dict]) -> str:
    """p50/p99 per operation, throughput, errors and CPU per operation, a column per server."""
    names = list(results)
    lines = [f"{'':<22}" + "".join(f"{name:>24}" for name in names)]

    def row(label: str, cell) -> None:
        lines.append(f"{label:<22}" + "".join(f"{cell(results[name]):>24}" for name in names))

    def latency(op: str):
        def cell(s: dict) -> str:
            lat = s["latency_ms"].get(op)
            return f"{lat['p50']:.1f} / {lat['p99']:.1f} ms" if lat else "-"

        return cell

    for op in OPERATIONS:
        row(f"{op} p50 / p99", latency(op))
    row("operations", lambda s: f"{s['operations']} ({s['throughput_ops']:.1f}/s)")
    row("errors (5xx+problems)", lambda s: f"{s['errors']} ({s['server_errors']}+{len(s['problems'])})")
    row("server CPU per op", lambda s: f"{s['cpu_ms_per_op'].get('server', 0):.1f} ms")
    row("moto CPU per op", lambda s: f"{s['cpu_ms_per_op'].get('moto', 0):.1f} ms")
    return "\n".join(lines)


def goals_of(results: dict[str, dict], clients: int, seconds: float) -> list:
    from goals import Goal

    ours, theirs = results["ours"], results.get("s3contents")
    run = f"{clients} clients, {seconds:.0f} s"
    out = [
        Goal(
            "load",
            f"many users ({run}): 0 errors",
            f"{ours['errors']} errors ({ours['server_errors']} 5xx, {len(ours['problems'])} problems) "
            f"in {ours['operations']} operations",
            ours["errors"] == 0,
        )
    ]

    def lat(s: dict, op: str) -> str:
        v = s["latency_ms"].get(op)
        return f"{v['p50']:.1f}/{v['p99']:.1f} ms" if v else "-"

    for op in OPERATIONS:
        figure = f"ours {lat(ours, op)}" + (f", s3contents {lat(theirs, op)}" if theirs else "")
        out.append(Goal("load", f"many users: {op} p50/p99 ours vs s3contents", figure, None))

    def cpu(s: dict) -> str:
        per = s["cpu_ms_per_op"]
        return f"{per.get('server', 0):.1f} ms (moto {per.get('moto', 0):.1f} ms), {s['throughput_ops']:.1f} ops/s"

    figure = f"ours {cpu(ours)}" + (f"; s3contents {cpu(theirs)}" if theirs else "")
    out.append(Goal("load", "many users: server CPU per operation, throughput", figure, None))
    if theirs:
        out.append(
            Goal(
                "load",
                "many users: s3contents' errors under the same load",
                f"{theirs['errors']} errors ({theirs['server_errors']} 5xx, {len(theirs['problems'])} problems)",
                None,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="8 clients for 5 s, small notebooks")
    parser.add_argument("--servers", choices=["both", "ours"], default="both", help="'ours' skips s3contents")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    clients, seconds = (8, 5.0) if args.quick else (args.clients, args.seconds)
    sizes = QUICK_SIZES if args.quick else Sizes()
    sys.path.insert(0, str(HERE))
    import boto3

    import goals
    from run import reference_python, start_moto

    pythons = {"ours": sys.executable}
    if args.servers == "both":
        pythons["s3contents"] = reference_python()  # exits with a message when it is not set up
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    creds = {"access_key_id": "load", "secret_access_key": "load-secret", "region_name": "us-east-1"}
    moto, endpoint = start_moto(open(workdir / "moto.log", "wb"))
    results: dict[str, dict] = {}
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="load", aws_secret_access_key="load-secret",
                          region_name="us-east-1")  # fmt: skip
        for name, python in pythons.items():  # one after the other, each on its own bucket
            bucket = f"load-{name}"
            s3.create_bucket(Bucket=bucket)
            print(f"{name}: {clients} clients for {seconds:.0f} s ...", flush=True)
            server, base = start_server(python, endpoint, bucket, "bench", creds, workdir / name, MANAGERS[name])
            try:
                pids = {"server": server.pid, "moto": moto.pid}
                results[name] = asyncio.run(run_load(base, clients, seconds, sizes, pids)).summary()
            finally:
                server.terminate()
                server.wait(timeout=60)
            print_report(results[name], clients, name)
            print(flush=True)
    finally:
        moto.terminate()
        moto.wait(timeout=30)
    print(side_by_side(results))
    goals.record(args.results_dir, "load", goals_of(results, clients, seconds))
    out = args.results_dir / "load.json"
    out.write_text(json.dumps({"clients": clients, "seconds": seconds, "results": results}, indent=2))
    print(f"\nwritten {out}")
    return 0 if results["ours"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
