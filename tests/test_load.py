"""A short run of the load benchmark (benches/load.py) as a correctness test: many
concurrent clients through one server's REST API; every acknowledged write must be in
the store with its content, and no request may get a 5xx. Timings are only printed."""

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
        report = asyncio.run(load.run_load(base, clients=8, seconds=5.0))
    finally:
        server.terminate()
        server.wait(timeout=60)
    summary = report.summary()
    load.print_report(summary, 8)
    assert report.server_errors == []
    assert report.problems == []
    # Every kind of operation ran, and the final check read every client's files.
    assert {"save", "get", "list", "rename", "checkpoint", "verify"} <= set(summary["latency_ms"])
    assert summary["latency_ms"]["verify"]["n"] >= 8
    assert any(key.startswith("load/u") for key in raw.keys())
