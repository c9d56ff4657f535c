"""A short run of the load benchmark (benches/load.py) as a correctness test: many
concurrent JupyterLab-like clients (list, open, save, autosave, rename, chunked upload)
through one server's REST API; every acknowledged write must be in the store with its
content, listings and checkpoints must follow, and no request may get an unexpected
answer. Timings are only printed. (s3contents under the same load: the benchmark's smoke
test in tests/test_benchmarks.py.)"""

from __future__ import annotations

import asyncio
import sys

import pytest

from support.scripts import load_script

load = load_script("benches/load.py")

pytestmark = [pytest.mark.timeout(300), pytest.mark.benchmarks]


def test_concurrent_clients_lose_no_acknowledged_write(manager_kwargs, raw, tmp_path):
    traits = dict(manager_kwargs)
    endpoint, bucket, prefix = (
        traits.pop("endpoint_url"),
        traits.pop("bucket"),
        traits.pop("prefix"),
    )
    server, base = load.start_server(sys.executable, endpoint, bucket, prefix, traits, tmp_path)
    try:
        report = asyncio.run(
            load.run_load(base, clients=8, seconds=5.0, sizes=load.QUICK_SIZES, pids={"server": server.pid})
        )
    finally:
        server.terminate()
        server.wait(timeout=60)
    summary = report.summary()
    load.print_report(summary, 8)
    assert report.server_errors == []
    assert report.problems == []
    # Every kind of operation ran (each client does each once), with JupyterLab's requests.
    latency = summary["latency_ms"]
    assert set(load.OPERATIONS) <= set(latency)
    assert all(latency[op]["n"] >= 8 for op in load.OPERATIONS)
    assert latency["list"]["requests"] == latency["list"]["n"]
    assert latency["autosave"]["requests"] == 3 * latency["autosave"]["n"]  # GET, PUT, GET
    assert latency["save"]["requests"] == 4 * latency["save"]["n"]  # ... and POST checkpoints
    assert latency["upload"]["requests"] == 2 * latency["upload"]["n"]  # 1-1.5 MiB: chunk 1, -1
    # The final check read every client's files back; the server's CPU time was measured.
    assert report.requests["verify"] >= 8 * 4
    assert summary["cpu_s"]["server"] > 0 and summary["cpu_ms_per_op"]["server"] > 0
    assert any(key.startswith("load/u") for key in raw.keys())


def test_the_checks_see_what_a_user_would_see():
    """The checks themselves, on made-up answers: a listing that lost a file or kept a
    renamed-away name, and a notebook changed on disk as JupyterLab's save judges it."""
    report = load.Report()
    client = load.Client(0, "http://unused/", None, report, {"acked": set()}, load.QUICK_SIZES)
    client.texts = {"load/u0/a.txt": "a", "load/u0/b.txt": "b"}

    def listing(*paths):
        return {"content": [{"path": p} for p in paths]}

    client.check_listing(listing("load/u0/a.txt", "load/u0/b.txt", "load/u0/notebook.ipynb"), "list")
    assert report.problems == []
    client.check_listing(listing("load/u0/a.txt", "load/u0/old.txt", "load/u0/notebook.ipynb"), "list")
    assert len(report.problems) == 1 and "misses ['load/u0/b.txt']" in report.problems[0]
    assert "extra ['load/u0/old.txt']" in report.problems[0]
    client.uncertain = {"load/u0/b.txt", "load/u0/old.txt"}  # a failed request may have left either
    client.check_listing(listing("load/u0/a.txt", "load/u0/old.txt", "load/u0/notebook.ipynb"), "list")
    assert len(report.problems) == 1
    # JupyterLab compares hashes when both sides have one, else last_modified with 500 ms to spare.
    client.known = ("2026-01-01T00:00:00.000000Z", "h1")
    assert not client.conflict({"last_modified": "2026-01-01T00:00:09Z", "hash": "h1"})
    assert client.conflict({"last_modified": "2026-01-01T00:00:00Z", "hash": "h2"})
    client.known = ("2026-01-01T00:00:00.000000Z", None)
    assert not client.conflict({"last_modified": "2026-01-01T00:00:00.400Z", "hash": "h2"})
    assert client.conflict({"last_modified": "2026-01-01T00:00:00.600Z", "hash": None})
