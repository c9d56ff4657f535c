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
