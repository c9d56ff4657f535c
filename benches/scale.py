"""Listings at scale: a folder of 100 000 entries, and a bucket of 1 000 000 keys.

    .venv/bin/python benches/scale.py [--quick] [--results-dir DIR]

The keys are made inside moto before it serves (`filled_moto.py`: moto's own backend
objects and its own server; a million PUTs would take moto an hour), and this script
first checks that they list and read exactly like keys made by PUT. Quick mode: 5 000
entries and a 20 000-key bucket.

**A 100 000-entry folder.** Ours is a Jupyter server on `AsyncS3ContentsManager` (with
the package's server extension), asked `GET /api/contents/<folder>?content=1` as
JupyterLab's file browser asks it. The floor is raw boto3: a delimiter LIST of every page,
the same models (a dict per entry, as jupyter_server's managers build) and their JSON
(`json.dumps`, what jupyter_server's handler sends). Repetitions alternate (ours, floor;
floor, ours); medians. The manager alone, awaited in this process, is timed against the
floor without the JSON (printed for information). One more run of each through the
counting proxy (`proxy.py`) gives the LIST requests and checks that both list the same
names. While ours lists, a second connection polls `/api/status` every 10 ms (as
`stall.py`), and the server's resident memory is sampled every 20 ms (as `upload_rss.py`).

Memory bound. Where the listing lives on its way (read from the code):
crates/s3contents-core/src/contents/read.rs `list_dir_entry` collects every page's
`ObjectMeta` (object_store's `ListResult`) and builds the `Entry` list from it, both alive
until it returns; src/py/convert.rs `fetched` turns the entries into `_core.Entry` objects;
`_base.py`'s `_build_model` builds a dict per entry while the `fetched` tuple (in
`async_contents.py`'s `get`) still holds those objects; the server extension
(`server_extension.py` `_serialise`) writes the JSON with `dumps_yielding` while the model
is alive, drops the model, then sends the bytes a MiB at a time. So at its peak the server
holds one model (a dict of 12 fields per entry: measured here, about 2.5x the reply's
JSON), with the reply's bytes (1x) or the `Entry` objects (about 1x) next to it, plus
what the Rust forms (about 1x each) leave behind in the malloc arenas of the runtime's
threads, where the Python objects built later need not land: about 6x the reply in all
(6.0x measured at 100 000 entries). Bounded means a peak growth over the idle server of
at most `MEMORY_BOUND` = 8x the reply's size: a second copy of the models (2.5x) would
exceed it, as would anything that outgrows the entries.

**A 1 000 000-key bucket** of 10 000 folders of 100 files: a second Jupyter server opens
several folders picked at random (JupyterLab's GET of a folder), through the counting
proxy: each open must be one LIST request (one page). The floor's one LIST is timed next
to it.

moto scans the whole bucket (and sorts every key under the prefix) for every LIST page,
so a page of the 100 000-entry folder costs a scan of 100 000 keys and a page of a
million-key bucket a scan of a million: the same cost for ours and the floor, which makes
both times mostly moto's. moto's own resident memory is printed too.

Goals (benches/goals.py, suite "scale"): the listing within 1.1x the floor; one LIST per
1 000 entries, as the floor; peak memory bounded; /api/status p99 under 20 ms while it
lists; one LIST page per folder open in the million-key bucket.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import mimetypes
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import goals  # noqa: E402
import stall  # noqa: E402
from run import CREDS, machine, start_proxy  # noqa: E402
from stall import percentile, poll_during  # noqa: E402
from upload_rss import PeakSampler, rss_bytes  # noqa: E402
from workload import ours_manager, s3_client  # noqa: E402

SUITE = "scale"
FOLDER_BUCKET = "bench-scale-folder"
KEYS_BUCKET = "bench-scale-keys"
CHECK_BUCKET = "bench-scale-check"
PREFIX = "scale"
LIST_TARGET = 1.1  # ours / floor
P99_TARGET_MS = 20.0
MEMORY_BOUND = 8.0  # peak RSS growth / reply size (see the docstring)
PAGE = 1000  # keys per LIST page (S3's and moto's default)
MB = 1024 * 1024


def sizes(quick: bool) -> dict:
    return (
        {"entries": 5000, "folders": 200, "files": 100, "opens": 5, "repeats": 1}
        if quick
        else {"entries": 100_000, "folders": 10_000, "files": 100, "opens": 10, "repeats": 3}
    )


# ----------------------------------------------------------------------------- servers
def start_filled_moto(fill: list[str], log) -> tuple[subprocess.Popen, str, dict]:
    """moto serving the keys `fill` asks for (`filled_moto.py`'s arguments), its endpoint,
    and what it printed (keys, seconds to fill, resident MB before filling) plus its
    resident MB once filled."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "filled_moto.py"), *fill], stdout=subprocess.PIPE, stderr=log, text=True
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("MOTO "):
        raise SystemExit(f"filled moto failed to start ({line!r}); see its log")
    url, *fields = line.split(" ")[1:]
    info = {k: float(v) for k, v in (f.split("=") for f in fields)}
    info["rss_filled_mb"] = rss_bytes(proc.pid) / MB
    print(
        f"moto: {int(info['keys'])} keys made in {info['fill_s']:.1f} s, resident {info['rss_filled_mb']:.0f} MB",
        flush=True,
    )
    return proc, url, info


def stop(servers: list[Server], procs: list[subprocess.Popen]) -> None:
    for server in servers:
        server.stop()
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


class Server(stall.Server):
    """A Jupyter server on AsyncS3ContentsManager over one bucket (benches/stall.py's)."""

    timeout = 3600

    def __init__(self, name: str, bucket: str, endpoint: str, log_dir: Path) -> None:
        manager = "s3contents_rs.AsyncS3ContentsManager"
        super().__init__(name, sys.executable, endpoint, log_dir, bucket=bucket, prefix=PREFIX, manager=manager)

    def off_loop_extension(self) -> bool:
        """Whether the package's server extension serialises large replies off the loop."""
        return b"serialised off the event loop" in self.log_path.read_bytes()


def proxy_counts(proxy: str, reset: bool = False) -> dict:
    request = urllib.request.Request(
        f"{proxy}/__proxy__/{'reset' if reset else 'counts'}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


# ----------------------------------------------------------------------------- checks
def check_like_put(endpoint: str) -> None:
    """The filled keys list, HEAD and GET exactly like keys made by PUT (same body): same
    listing XML but for the names and the times' digits, same headers but for the dates."""
    client = s3_client(endpoint, CREDS)
    for i in range(3):
        client.put_object(Bucket=CHECK_BUCKET, Key=f"putmade/file{i:06d}.txt", Body=b"x")

    def listing(prefix: str) -> str:
        url = f"{endpoint}/{CHECK_BUCKET}?list-type=2&delimiter=%2F&prefix={prefix}%2F"
        xml = urllib.request.urlopen(url).read().decode()
        xml = xml.replace(f"{prefix}/", "<folder>/")
        return re.sub(r"(<LastModified>)([^<]*)", lambda m: m[1] + re.sub(r"\d", "N", m[2]), xml)

    def read(prefix: str) -> dict:
        key, skip = f"{prefix}/file000000.txt", {"date", "last-modified", "x-amzn-requestid"}
        answers = {"head": client.head_object(Bucket=CHECK_BUCKET, Key=key)}
        answers["get"] = got = client.get_object(Bucket=CHECK_BUCKET, Key=key)
        out = {
            v: {k: h for k, h in a["ResponseMetadata"]["HTTPHeaders"].items() if k not in skip}
            for v, a in answers.items()
        }
        return out | {"body": got["Body"].read()}

    filled, put = listing("filled"), listing("putmade")
    if filled != put:
        raise SystemExit(f"filled keys list unlike PUT-made ones:\n{filled}\n{put}")
    if read("filled") != read("putmade"):
        raise SystemExit(f"filled keys read unlike PUT-made ones: {read('filled')} {read('putmade')}")
    print("filled keys list, HEAD and GET like PUT-made ones (sizes, ETags, storage class, time format, headers)")


# ----------------------------------------------------------------------------- the floor
def floor_listing(client, folder: str, to_json: bool) -> tuple[dict, bytes | None, float]:
    """Every page of a delimiter LIST, a jupyter_server model per entry and (`to_json`) the
    reply's JSON; also the seconds the LISTs and models took (without the JSON)."""
    from jupyter_server.services.contents.handlers import json_default  # type: ignore[attr-defined]

    started = time.perf_counter()
    prefix = f"{PREFIX}/{folder}/"
    content = []
    newest = None
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=FOLDER_BUCKET, Prefix=prefix, Delimiter="/"):
        for o in page.get("Contents", []):
            name = o["Key"][len(prefix) :]
            if not name or name.startswith("."):
                continue
            when = o["LastModified"].replace(microsecond=0)
            newest = max(newest or when, when)
            path = f"{folder}/{name}"
            content.append(
                {
                    "name": name,
                    "path": path,
                    "type": "file",
                    "last_modified": when,
                    "created": when,
                    "content": None,
                    "format": None,
                    "mimetype": mimetypes.guess_type(path)[0],
                    "size": o["Size"],
                    "writable": True,
                    "hash": None,
                    "hash_algorithm": None,
                }
            )
        for p in page.get("CommonPrefixes", []):
            name = p["Prefix"][len(prefix) :].rstrip("/")
            if name.startswith("."):
                continue
            content.append(
                {"name": name, "path": f"{folder}/{name}", "type": "directory", "last_modified": newest,
                 "created": newest, "content": None, "format": None, "mimetype": None, "size": None,
                 "writable": True, "hash": None, "hash_algorithm": None}
            )  # fmt: skip
    model = {
        "name": folder, "path": folder, "type": "directory", "last_modified": newest, "created": newest,
        "content": content, "format": "json", "mimetype": None, "size": None, "writable": True,
        "hash": None, "hash_algorithm": None,
    }  # fmt: skip
    listed = time.perf_counter() - started
    body = json.dumps(model, default=json_default).encode() if to_json else None
    return model, body, listed


# ----------------------------------------------------------------------------- measures
def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Bytes of `value` and everything it holds (each object once)."""
    seen = set() if seen is None else seen
    if id(value) in seen or value is None or isinstance(value, bool):
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        size += sum(deep_size(v, seen) for v in value)
    return size


def in_process_manager(endpoint: str):
    return ours_manager(endpoint, CREDS, FOLDER_BUCKET, PREFIX)


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 000 entries, a 20 000-key bucket, one run each")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--entries", type=int, help="entries in the big folder (instead of the mode's)")
    parser.add_argument("--folders", type=int, help="folders of 100 files in the many-key bucket")
    parser.add_argument("--repeats", type=int, help="timed runs of each contender")
    args = parser.parse_args(argv)
    s = sizes(args.quick) | {k: v for k in ("entries", "folders", "repeats") if (v := getattr(args, k))}
    n, keys = s["entries"], s["folders"] * s["files"]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="scale-logs-"))
    log = open(log_dir / "s3.log", "wb")
    report: dict[str, Any] = {}
    # One moto per part: a million keys in the same process would slow the folder's LISTs
    # (moto's garbage collector walks them all) and hold 4 GB meanwhile.
    print(f"filling moto: a {n}-entry folder (and a 500-entry one to warm up on)", flush=True)
    fill = [f"--folder={FOLDER_BUCKET}/{PREFIX}/{name}:{count}" for name, count in (("big", n), ("small", 500))]
    moto, endpoint, report["folder_moto"] = start_filled_moto(fill + [f"--folder={CHECK_BUCKET}/filled:3"], log)
    procs: list[subprocess.Popen] = [moto]
    servers: list[Server] = []
    try:
        proxy_proc, proxy = start_proxy(endpoint, log)
        procs.insert(0, proxy_proc)
        check_like_put(endpoint)
        direct = Server("direct", FOLDER_BUCKET, endpoint, log_dir)  # timed, polled, sampled
        servers.append(direct)
        counted = Server("counted", FOLDER_BUCKET, proxy, log_dir)  # the same, through the proxy
        servers.append(counted)
        raw, raw_counted = s3_client(endpoint, CREDS), s3_client(proxy, CREDS)
        report["listing"] = measure_listing(s, endpoint, proxy, direct, counted, raw, raw_counted)
    finally:
        stop(servers, procs)
    print(f"filling moto: a {keys}-key bucket ({s['folders']} folders of {s['files']})", flush=True)
    fill = [f"--folders={KEYS_BUCKET}/{PREFIX}:{s['folders']}:{s['files']}"]
    moto, endpoint, report["bucket_moto"] = start_filled_moto(fill, log)
    procs, servers = [moto], []
    try:
        proxy_proc, proxy = start_proxy(endpoint, log)
        procs.insert(0, proxy_proc)
        many = Server("many", KEYS_BUCKET, proxy, log_dir)
        servers.append(many)
        report["bucket"] = measure_bucket(s, proxy, many, s3_client(proxy, CREDS))
        report["bucket_moto"]["rss_end_mb"] = rss_bytes(moto.pid) / MB
    finally:
        stop(servers, procs)
        log.close()
    return finish(args, s, report)


def measure_listing(s: dict, endpoint: str, proxy: str, direct: Server, counted: Server, raw, raw_counted) -> dict:
    n, path = s["entries"], "/api/contents/big?content=1"
    conn = direct.connection()
    # Warm-up, off the measured folder: imports, connections, the off-loop paths (500 entries).
    for server in (direct, counted):
        server.request(server.connection(), "GET", "/api/contents/small?content=1")
    floor_listing(raw, "small", to_json=True)
    # Requests, and the same names from both, through the counting proxy.
    proxy_counts(proxy, reset=True)
    reply = json.loads(counted.request(counted.connection(), "GET", path))
    ours_requests = proxy_counts(proxy)
    proxy_counts(proxy, reset=True)
    floor_model, _, _ = floor_listing(raw_counted, "big", to_json=True)
    floor_requests = proxy_counts(proxy)
    ours_names = sorted(e["name"] for e in reply["content"])
    floor_names = sorted(e["name"] for e in floor_model["content"])
    if len(ours_names) != n or ours_names != floor_names:
        raise SystemExit(f"listings differ: ours {len(ours_names)} entries, floor {len(floor_names)}, {n} stored")
    del reply, floor_model, ours_names, floor_names

    time.sleep(0.5)
    idle_rss = rss_bytes(direct.proc.pid)
    idle = poll_during(direct, lambda: time.sleep(0.5))
    runs: dict[str, list[float]] = {"ours": [], "floor": [], "floor_no_json": [], "manager": []}
    polls: list[float] = []
    peaks: list[int] = []
    reply_sizes: list[int] = []

    def list_big() -> None:
        reply_sizes.append(len(direct.request(conn, "GET", path)))

    for rep in range(s["repeats"]):
        for who in ("ours", "floor") if rep % 2 == 0 else ("floor", "ours"):
            if who == "floor":
                started = time.perf_counter()
                _, body, listed = floor_listing(raw, "big", to_json=True)
                runs["floor"].append(time.perf_counter() - started)
                runs["floor_no_json"].append(listed)
                del body
                continue
            sampler = PeakSampler(direct.proc.pid)
            sampler.start()
            polled = poll_during(direct, list_big)
            peaks.append(sampler.stop())
            runs["ours"].append(polled["duration_s"])
            polls += polled["latencies_ms"]
    # The manager alone, in this process (its own event loop), against the floor's LISTs and models.
    cm, loop = in_process_manager(endpoint), asyncio.new_event_loop()
    model_bytes = 0
    for rep in range(s["repeats"]):
        started = time.perf_counter()
        model = loop.run_until_complete(cm.get("big"))
        runs["manager"].append(time.perf_counter() - started)
        if rep == 0:
            model_bytes = deep_size(model)
        del model
    loop.close()
    return {
        "entries": n,
        "seconds": runs,
        "requests": {"ours": ours_requests, "floor": floor_requests},
        "reply_bytes": max(reply_sizes),
        "model_bytes": model_bytes,
        "idle_rss_bytes": idle_rss,
        "peak_rss_bytes": peaks,
        "polls_ms": polls,
        "idle_polls_ms": idle["latencies_ms"],
        "off_loop_extension": direct.off_loop_extension(),
    }


def measure_bucket(s: dict, proxy: str, many: Server, raw_counted) -> dict:
    conn = many.connection()
    picks = random.Random(17).sample(range(s["folders"]), s["opens"] + 1)
    many.request(conn, "GET", f"/api/contents/d{picks.pop():05d}?content=1")  # warm-up
    opens = []
    for k in picks:
        folder = f"d{k:05d}"
        proxy_counts(proxy, reset=True)
        started = time.perf_counter()
        reply = json.loads(many.request(conn, "GET", f"/api/contents/{folder}?content=1"))
        seconds = time.perf_counter() - started
        requests = proxy_counts(proxy)
        started = time.perf_counter()
        page = raw_counted.list_objects_v2(Bucket=KEYS_BUCKET, Prefix=f"{PREFIX}/{folder}/", Delimiter="/")
        floor_seconds = time.perf_counter() - started
        if len(reply["content"]) != s["files"] or page["KeyCount"] != s["files"]:
            raise SystemExit(f"{folder}: ours listed {len(reply['content'])}, the floor {page['KeyCount']}")
        opens.append({"folder": folder, "seconds": seconds, "floor_seconds": floor_seconds, "requests": requests})
    return {"keys": s["folders"] * s["files"], "folders": s["folders"], "opens": opens}


def finish(args: argparse.Namespace, s: dict, report: dict) -> int:
    listing, bucket = report["listing"], report["bucket"]
    n = listing["entries"]
    med = {k: statistics.median(v) for k, v in listing["seconds"].items()}
    ratio = med["ours"] / med["floor"]
    ratio_manager = med["manager"] / med["floor_no_json"]
    lists = {who: listing["requests"][who]["by_kind"].get("LIST", 0) for who in ("ours", "floor")}
    pages = math.ceil(n / PAGE)
    growth = [p - listing["idle_rss_bytes"] for p in listing["peak_rss_bytes"]]
    reply = listing["reply_bytes"]
    polls = listing["polls_ms"]
    p50, p99, worst = percentile(polls, 50), percentile(polls, 99), max(polls)
    idle = listing["idle_polls_ms"]

    runs = f"{s['repeats']} run{'s' if s['repeats'] > 1 else ''} each"
    print(f"\nA folder of {n} entries ({runs}, alternating; medians)")
    head = f"{'contender':<34} {'median':>10} {'min':>10} {'max':>10}  requests"
    print(head + "\n" + "-" * len(head))
    rows = [
        ("ours: server GET (HTTP, JSON)", "ours", listing["requests"]["ours"]),
        ("floor: LISTs + models + JSON", "floor", listing["requests"]["floor"]),
        ("ours: manager.get in-process", "manager", listing["requests"]["ours"]),
        ("floor: LISTs + models", "floor_no_json", listing["requests"]["floor"]),
    ]
    for label, key, requests in rows:
        v = listing["seconds"][key]
        print(f"{label:<34} {fmt_s(med[key]):>10} {fmt_s(min(v)):>10} {fmt_s(max(v)):>10}  {requests['by_kind']}")
    print(f"ours / floor: {ratio:.2f}x through the server, {ratio_manager:.2f}x for the manager alone")
    print(
        f"memory: reply {reply / MB:.1f} MB; server idle {listing['idle_rss_bytes'] / MB:.0f} MB, peak growth "
        + ", ".join(f"{g / MB:.1f} MB" for g in growth)
        + f" (first run {growth[0] / reply:.1f}x the reply); the model in a Python process holds "
        f"{listing['model_bytes'] / MB:.1f} MB ({listing['model_bytes'] / reply:.1f}x the reply)"
    )
    print(
        f"/api/status while ours lists: {len(polls)} polls, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms "
        f"(idle: p99 {percentile(idle, 99):.1f} ms); off-loop extension "
        f"{'on' if listing['off_loop_extension'] else 'OFF'}"
    )

    opens = bucket["opens"]
    print(f"\nOpening folders in a {bucket['keys']}-key bucket ({bucket['folders']} folders), through the proxy")
    head = f"{'folder':<8} {'ours':>10} {'floor LIST':>11}  requests"
    print(head + "\n" + "-" * len(head))
    for o in opens:
        print(f"{o['folder']:<8} {fmt_s(o['seconds']):>10} {fmt_s(o['floor_seconds']):>11}  {o['requests']['by_kind']}")
    one_page = all(o["requests"]["by_kind"] == {"LIST": 1} for o in opens)
    open_med = statistics.median(o["seconds"] for o in opens)
    moto = report["bucket_moto"]
    total_keys = int(moto["keys"])
    per_key = (moto["rss_filled_mb"] - moto["rss_empty_mb"]) * MB / total_keys
    print(
        f"moto: {total_keys} keys made in {moto['fill_s']:.0f} s, resident {moto['rss_filled_mb']:.0f} MB "
        f"({moto['rss_empty_mb']:.0f} MB empty: {per_key / 1024:.1f} KB a key), {moto['rss_end_mb']:.0f} MB at the end"
    )

    results = [
        goals.Goal(
            SUITE,
            f"list_{n} (server GET) within {LIST_TARGET}x the floor",
            f"{ratio:.2f}x ({fmt_s(med['ours'])} against {fmt_s(med['floor'])})",
            ratio <= LIST_TARGET,
        ),
        goals.Goal(
            SUITE,
            f"list_{n}: manager alone against LISTs + models",
            f"{ratio_manager:.2f}x ({fmt_s(med['manager'])} against {fmt_s(med['floor_no_json'])})",
            None,
        ),
        goals.Goal(
            SUITE,
            f"list_{n}: one LIST per {PAGE} entries, as the floor",
            f"{lists['ours']} LISTs (floor {lists['floor']}, {pages} pages)",
            lists["ours"] == lists["floor"] == pages and listing["requests"]["ours"]["total"] == pages,
        ),
        goals.Goal(
            SUITE,
            f"list_{n}: peak memory growth at most {MEMORY_BOUND:.0f}x the reply",
            f"{max(growth) / MB:.1f} MB for a {reply / MB:.1f} MB reply ({max(growth) / reply:.1f}x)",
            max(growth) <= MEMORY_BOUND * reply,
        ),
        goals.Goal(
            SUITE,
            f"list_{n}: /api/status p99 < {P99_TARGET_MS:.0f} ms",
            f"p99 {p99:.1f} ms (p50 {p50:.1f}, max {worst:.1f}, {len(polls)} polls)",
            p99 < P99_TARGET_MS,
        ),
        goals.Goal(
            SUITE,
            f"{bucket['keys']}-key bucket: one LIST page per folder open",
            f"{sum(o['requests']['by_kind'] == {'LIST': 1} for o in opens)} of {len(opens)} opens: 1 LIST "
            f"(median {fmt_s(open_med)})",
            one_page,
        ),
        goals.Goal(
            SUITE,
            "moto's resident memory (information)",
            f"{moto['rss_filled_mb']:.0f} MB for {total_keys} keys ({per_key / 1024:.1f} KB a key)",
            None,
        ),
    ]
    goals.record(args.results_dir, SUITE, results)
    print("\n" + goals.summary(results))

    stamp = dt.datetime.now(dt.timezone.utc)
    out = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "quick": args.quick,
        "sizes": s,
        "folder_moto": report["folder_moto"],
        "listing": {k: v for k, v in listing.items() if k not in ("polls_ms", "idle_polls_ms")}
        | {"medians_s": med, "ratio": ratio, "ratio_manager": ratio_manager, "polls": len(polls)}
        | {"p50_ms": p50, "p99_ms": p99, "max_ms": worst, "peak_growth_bytes": growth},
        "bucket": bucket,
        "bucket_moto": moto,
    }
    path = goals.write_report(args.results_dir, "scale", stamp, args.quick, out)
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
