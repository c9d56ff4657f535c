"""Benchmarks: s3contents-rs against PyPI s3contents and the raw-request floor.

    ./dev.sh bench                 # everything (sets up both venvs first)
    ./dev.sh bench --quick         # small sizes, few repeats: about a minute
    .venv/bin/python benches/run.py --only list_ --repeats 3

One local S3 server (moto) serves all three contenders; each runs in its own worker
process (s3contents in `$S3CONTENTS_REF_PYTHON`, its pins clash with ours), and the
repetitions are interleaved (A B C, B C A, ...) so drift hits everyone alike. The tree
rename, thousands of requests that keep moto's one Python process busy, is measured again
on s3s-fs (a Rust S3 server over a directory, built by ./dev.sh bench), which spends an
eighth of moto's time per request, and on s3s-fs behind a proxy that holds each request
10 ms, the round trip of a remote endpoint (`--s3-servers moto` skips both). Timed runs
go straight to the server; one extra, untimed-for-the-table run per contender goes
through a counting proxy on 127.0.0.1 (it doubles as the warm-up) and gives the number
of HTTP requests each operation sends.

Output: a table on the terminal, `benches/results/bench-<time>.json` (+ `latest.json`)
and a PNG bar chart of the ratios. Then the other benchmark scripts in SUITES run
(each prints its own table and writes its own JSON next to these).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import CONTENDERS, Op, operations, prepare_shared, s3_client  # noqa: E402

RESULTS = HERE / "results"
CREDS = {"key": "bench-key", "secret": "bench-secret"}
# Further benchmark scripts run after this one, each called as
# `python benches/<name>.py [--quick] --results-dir DIR`; add a name here to hook one in.
SUITES = ["stall", "upload_rss", "load", "json_read", "obstore_floor", "scale"]

# Targets from the issue: listings, gets and saves within 1.3x of the floor; new_untitled
# in O(1) requests; a 2 000-file tree rename at least 10x faster than s3contents.
FLOOR_TARGET = 1.3
FLOOR_KINDS = ("list", "dir_stat", "get", "stat", "save")
RENAME_TARGET = 10.0
# Local S3 servers. moto serves every operation family; the others serve only the families
# in EXTRA_SERVER_KINDS. moto spends 3-5 ms of CPU in one Python process on each request,
# so a 2 000-request tree rename measures moto for every contender; s3s-fs spends about
# 0.5 ms, in Rust; "s3s-fs+10ms" is s3s-fs behind proxy.py holding each request 10 ms
# (benches/README.md, "Notes on the test servers"). The rename target is judged on both.
LATENCY_MS = 10
S3_SERVERS = ("moto", "s3s-fs", f"s3s-fs+{LATENCY_MS}ms")
EXTRA_SERVER_KINDS = ("rename_tree",)
RENAME_TARGET_SERVERS = S3_SERVERS[1:]
# s3s-fs from crates.io, with the answers it gets wrong on keys that name a directory put
# right (benches/s3s-fs-server); ./dev.sh bench builds and installs it here.
S3S_FS = HERE.parent / ".tools" / "bin" / "bench-s3s-fs"
# Counted in steady state: a notebook's first save also creates its first checkpoint.
STEADY_STATE_KINDS = ("save",)


# ----------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{what} exited during start-up") from None
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer at {url}")


def start_moto(log) -> tuple[subprocess.Popen, str]:
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        raise SystemExit(f"{moto} not found: install moto[server] (./dev.sh setup does)")
    port = free_port()
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url, proc, "moto_server")
    return proc, url


def start_s3s_fs(log, root: Path) -> tuple[subprocess.Popen, str]:
    """s3s-fs (benches/s3s-fs-server) serving the folder `root` (one sub-folder per bucket)."""
    binary = Path(os.environ.get("S3S_FS") or S3S_FS)
    if not binary.exists():
        raise SystemExit(
            f"{binary} not found: ./dev.sh bench builds it (cargo install --path "
            "benches/s3s-fs-server --locked --root .tools), or pass --s3-servers moto"
        )
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "--port", str(port), "--access-key", CREDS["key"], "--secret-key", CREDS["secret"], str(root)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url, proc, "s3s-fs")
    return proc, url


def data_dir() -> Path:
    """A fresh folder for a file-system server's data: in memory where there is a tmpfs
    (moto keeps its data in memory too). The caller removes it."""
    shm = Path("/dev/shm")
    return Path(
        tempfile.mkdtemp(prefix="bench-s3-data-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)
    )


def start_s3_server(kind: str, log, data: Path) -> tuple[list[subprocess.Popen], str]:
    """The server's processes (last to stop first) and its endpoint; a file-system server
    keeps its data in a new sub-folder of `data`."""
    if kind == "moto":
        proc, url = start_moto(log)
        return [proc], url
    root = data / kind
    root.mkdir()
    proc, url = start_s3s_fs(log, root)
    procs = [proc]
    if kind != "s3s-fs":  # s3s-fs+<N>ms
        delay, url = start_proxy(url, log, delay_ms=LATENCY_MS)
        procs.append(delay)
    return procs, url


def start_proxy(upstream: str, log, delay_ms: float = 0) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "proxy.py"), "--upstream", upstream, "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("PROXY "):
        raise SystemExit(f"counting proxy failed to start: {line!r}")
    return proc, line.split(" ", 1)[1]


def reference_python() -> str:
    ref = os.environ.get("S3CONTENTS_REF_PYTHON", "")
    if not ref or not Path(ref).exists():
        raise SystemExit(
            "S3CONTENTS_REF_PYTHON must name the python of a venv with s3contents==0.11.2 "
            "(./dev.sh bench sets it up in .venv-s3contents)"
        )
    return ref


class Worker:
    def __init__(self, name: str, python: str, endpoint: str, proxy: str, quick: bool, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"worker-{name}.log"
        self.cwd = tempfile.mkdtemp(prefix=f"bench-{name}-")  # s3contents keeps checkpoints on local disk
        env = dict(os.environ, JUPYTER_DATA_DIR=self.cwd, JUPYTER_CONFIG_DIR=self.cwd, JUPYTER_RUNTIME_DIR=self.cwd)
        env["PYTHONPATH"] = str(HERE)
        args = json.dumps({"name": name, "endpoint": endpoint, "proxy": proxy, "creds": CREDS, "quick": quick})
        self.proc = subprocess.Popen(
            [python, str(HERE / "workload.py"), args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "w"),
            text=True,
            cwd=self.cwd,
            env=env,
        )

    def run(self, op: Op, rep: int, counted: bool = False) -> dict:
        self.proc.stdin.write(json.dumps({"op": op.name, "rep": rep, "counted": counted}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{self.name} worker died during {op.name}; its log ends with:\n{tail}")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"{self.name} failed {op.name}: {answer['error']}\n{answer['traceback']}")
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.cwd, ignore_errors=True)


# ----------------------------------------------------------------------------- measuring
def row_name(op: Op, server: str) -> str:
    return op.name if server == "moto" else f"{op.name}@{server}"


def measure(op: Op, workers: dict[str, Worker], repeats: int, server: str = "moto") -> dict:
    row: dict = {
        "name": row_name(op, server),
        "kind": op.kind,
        "server": server,
        "params": op.params,
        "repeats": repeats,
        "contenders": {},
    }
    rep = {name: 0 for name in CONTENDERS}  # a tree rename picks its folder names with it

    def run(name: str, counted: bool = False) -> dict:
        answer = workers[name].run(op, rep[name], counted)
        rep[name] += 1
        return answer

    for name in CONTENDERS:
        if op.kind in STEADY_STATE_KINDS:
            run(name, counted=True)  # the first save of a notebook also creates its checkpoint
        answer = run(name, counted=True)  # through the proxy: counts, and warms up
        row["contenders"][name] = {"requests": answer["requests"], "result": answer["result"], "seconds": []}
    order = list(CONTENDERS)
    for _ in range(repeats):
        for name in order:
            row["contenders"][name]["seconds"].append(run(name)["seconds"])
        order = order[1:] + order[:1]
    for stats in row["contenders"].values():
        s = stats["seconds"]
        stats.update(median=statistics.median(s), min=min(s), max=max(s))
    ours, ref, floor = (row["contenders"][n] for n in CONTENDERS)
    row["ratio_s3contents_over_ours"] = ref["median"] / ours["median"]
    row["ratio_ours_over_floor"] = ours["median"] / floor["median"]
    row["targets"] = targets(op, row, server)
    return row


def targets(op: Op, row: dict, server: str) -> dict:
    c = row["contenders"]
    requests = {n: c[n]["requests"]["total"] for n in CONTENDERS}
    out: dict = {"requests_equal_floor": requests["ours"] == requests["floor"]}
    if op.kind in FLOOR_KINDS:
        out["within_1_3x_floor"] = row["ratio_ours_over_floor"] <= FLOOR_TARGET
    if op.kind == "rename_tree" and server in RENAME_TARGET_SERVERS:
        out["10x_faster_than_s3contents"] = row["ratio_s3contents_over_ours"] >= RENAME_TARGET
    if op.kind == "new_untitled":
        # O(1): no request per existing name (100 of them here).
        out["constant_requests"] = requests["ours"] < op.params["existing"] // 10
    return out


# ----------------------------------------------------------------------------- output
def fmt_time(s: float) -> str:
    return f"{s * 1000:.1f}ms" if s < 1 else f"{s:.2f}s"


def _cell(contender: dict) -> str:
    """A contender's median time, and its range."""
    return f"{fmt_time(contender['median'])} ({fmt_time(contender['min'])}-{fmt_time(contender['max'])})"


def table(rows: list[dict]) -> str:
    head = [
        "operation",
        "ours median (min-max)",
        "s3contents median (min-max)",
        "floor median",
        "s3c/ours",
        "ours/floor",
        "requests ours/s3c/floor",
        "targets",
    ]
    lines = [head]
    for r in rows:
        c = r["contenders"]
        missed = [k for k, ok in r["targets"].items() if not ok]
        lines.append(
            [
                r["name"],
                _cell(c["ours"]),
                _cell(c["s3contents"]),
                fmt_time(c["floor"]["median"]),
                f"{r['ratio_s3contents_over_ours']:.1f}x",
                f"{r['ratio_ours_over_floor']:.2f}x",
                "/".join(str(c[n]["requests"]["total"]) for n in CONTENDERS),
                "ok" if not missed else "MISSED " + ",".join(missed),
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def markdown(rows: list[dict]) -> str:
    """The results as a Markdown table, for benches/README.md."""

    def cell(stats: dict) -> str:
        return f"{fmt_time(stats['median'])} ({fmt_time(stats['min'])}–{fmt_time(stats['max'])})"

    out = [
        "| operation | ours median (min–max) | s3contents median (min–max) | floor | s3c/ours | ours/floor "
        "| requests ours / s3c / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["contenders"]
        out.append(
            f"| {r['name']} | {cell(c['ours'])} | {cell(c['s3contents'])} | {fmt_time(c['floor']['median'])} "
            f"| {r['ratio_s3contents_over_ours']:.1f}x | {r['ratio_ours_over_floor']:.2f}x "
            f"| {' / '.join(str(c[n]['requests']['total']) for n in CONTENDERS)} |"
        )
    return "\n".join(out)


def request_detail(rows: list[dict]) -> str:
    out = ["requests by kind (ours | s3contents | floor):"]
    for r in rows:
        parts = [" ".join(f"{k}={v}" for k, v in r["contenders"][n]["requests"]["by_kind"].items()) for n in CONTENDERS]
        out.append(f"  {r['name']}: {' | '.join(parts)}")
    return "\n".join(out)


def chart(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.45 * len(rows) + 1.5), sharey=True)
    speedup = [r["ratio_s3contents_over_ours"] for r in rows]
    to_floor = [r["ratio_ours_over_floor"] for r in rows]
    axes[0].barh(names, speedup, color=["#2a9d8f" if v >= 1 else "#e76f51" for v in speedup])
    axes[0].axvline(1, color="black", lw=0.8)
    axes[0].set_xscale("log")
    axes[0].set_title("s3contents time / ours (higher is better for us)")
    axes[1].barh(names, to_floor, color=["#2a9d8f" if v <= FLOOR_TARGET else "#e9c46a" for v in to_floor])
    axes[1].axvline(1, color="black", lw=0.8)
    axes[1].axvline(FLOOR_TARGET, color="grey", ls="--", lw=0.8)
    axes[1].set_xscale("log")
    axes[1].set_title("ours / raw-request floor (1.0 = nothing wasted)")
    for ax, values in ((axes[0], speedup), (axes[1], to_floor)):
        for y, v in enumerate(values):
            ax.annotate(f"{v:.2f}x", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "python": platform.python_version()}


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI smoke run)")
    parser.add_argument(
        "--only", action="append", default=[], help="run operations whose name contains this (repeatable)"
    )
    parser.add_argument("--repeats", type=int, help="timed repetitions per operation (default: per operation)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--no-suites", action="store_true", help=f"skip the other benchmark scripts ({', '.join(SUITES)})"
    )
    parser.add_argument(
        "--s3-servers",
        default=",".join(S3_SERVERS),
        help=f"comma-separated local S3 servers to run on ({', '.join(S3_SERVERS)}; default: all). "
        f"Only moto serves every operation; the others serve {', '.join(EXTRA_SERVER_KINDS)}",
    )
    args = parser.parse_args(argv)

    servers = [s.strip() for s in args.s3_servers.split(",") if s.strip()]
    if not servers or set(servers) - set(S3_SERVERS):
        raise SystemExit(f"--s3-servers takes a comma-separated list of {', '.join(S3_SERVERS)}")
    ops = [op for op in operations(args.quick) if not args.only or any(s in op.name for s in args.only)]
    plan = [
        (server, [op for op in ops if server == "moto" or op.kind in EXTRA_SERVER_KINDS])
        for server in S3_SERVERS
        if server in servers
    ]
    plan = [(server, server_ops) for server, server_ops in plan if server_ops]
    if not plan:
        raise SystemExit("no operation matches --only on these --s3-servers")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    pythons = {"ours": sys.executable, "s3contents": reference_python(), "floor": sys.executable}
    rows = []
    data = data_dir()
    try:
        for server, server_ops in plan:
            procs: list[subprocess.Popen] = []
            workers: dict[str, Worker] = {}
            try:
                server_procs, endpoint = start_s3_server(server, open(log_dir / f"{server}.log", "wb"), data)
                procs += server_procs
                proxy_proc, proxy = start_proxy(endpoint, open(log_dir / f"proxy-{server}.log", "w"))
                procs.append(proxy_proc)
                print(f"local S3 server {server} {endpoint}, counting proxy {proxy}; preparing data...", flush=True)
                t0 = time.perf_counter()
                prepare_shared(s3_client(endpoint, CREDS), server_ops)
                print(f"data ready in {time.perf_counter() - t0:.1f}s", flush=True)
                workers = {n: Worker(n, pythons[n], endpoint, proxy, args.quick, log_dir) for n in CONTENDERS}
                for op in server_ops:
                    repeats = args.repeats or op.repeats
                    t0 = time.perf_counter()
                    rows.append(measure(op, workers, repeats, server))
                    r = rows[-1]
                    print(
                        f"  {r['name']:<28} {time.perf_counter() - t0:6.1f}s   s3c/ours {r['ratio_s3contents_over_ours']:.2f}x"
                        f"   ours/floor {r['ratio_ours_over_floor']:.2f}x",
                        flush=True,
                    )
            finally:
                for w in workers.values():
                    w.close()
                for p in reversed(procs):
                    p.terminate()
                    p.wait(timeout=10)
                shutil.rmtree(data / server, ignore_errors=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)

    report = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "store": "moto_server (local, in-memory) on 127.0.0.1; rows named ...@s3s-fs: s3s-fs (local, over a "
        f"directory on a tmpfs) on 127.0.0.1; ...@s3s-fs+{LATENCY_MS}ms: the same behind proxy.py holding each "
        f"request {LATENCY_MS} ms",
        "s3_servers": [server for server, _ in plan],
        "contenders": {
            "ours": "s3contents_rs.AsyncS3ContentsManager",
            "s3contents": "s3contents 0.11.2 S3ContentsManager",
            "floor": "minimal boto3 requests + the nbformat work any contents manager does",
        },
        "operations": rows,
    }
    name = f"bench-{stamp.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}"
    json_path = args.results_dir / f"{name}.json"
    json_path.write_text(json.dumps(report, indent=2))
    shutil.copyfile(json_path, args.results_dir / "latest.json")
    (args.results_dir / "latest.md").write_text(markdown(rows) + "\n")
    print()
    print(table(rows))
    print()
    print(request_detail(rows))
    print(f"\nJSON: {json_path}")
    if not args.no_chart:
        png = args.results_dir / f"{name}.png"
        chart(rows, png)
        shutil.copyfile(png, args.results_dir / "latest.png")
        print(f"chart: {png}")
    missed = [(r["name"], k) for r in rows for k, ok in r["targets"].items() if not ok]
    print(f"targets missed: {len(missed)}" + "".join(f"\n  {n}: {k}" for n, k in missed))

    status = 0
    if not args.no_suites:
        for suite in SUITES:
            script = HERE / f"{suite}.py"
            if not script.exists():
                continue
            print(f"\n== {suite} ==", flush=True)
            cmd = [sys.executable, str(script), "--results-dir", str(args.results_dir)] + (
                ["--quick"] if args.quick else []
            )
            status |= subprocess.call(cmd)
    shutil.rmtree(log_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
