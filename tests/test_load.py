"""A short run of the load benchmark (benches/load.py) as a correctness test: many
concurrent clients through one server's REST API; every acknowledged write must be in
the store with its content, and no request may get a 5xx. Timings are only printed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))

from load import print_report, run_load, start_server  # noqa: E402

pytestmark = pytest.mark.timeout(300)


def test_concurrent_clients_lose_no_acknowledged_write(manager_kwargs, raw, tmp_path):
    traits = dict(manager_kwargs)
    endpoint, bucket, prefix = traits.pop("endpoint_url"), traits.pop("bucket"), traits.pop("prefix")
    server, base = start_server(sys.executable, endpoint, bucket, prefix, traits, tmp_path)
    try:
        report = asyncio.run(run_load(base, clients=8, seconds=5.0))
    finally:
        server.terminate()
        server.wait(timeout=60)
    summary = report.summary()
    print_report(summary, 8)
    assert report.server_errors == []
    assert report.problems == []
    # Every kind of operation ran, and the final check read every client's files.
    assert {"save", "get", "list", "rename", "checkpoint", "verify"} <= set(summary["latency_ms"])
    assert summary["latency_ms"]["verify"]["n"] >= 8
    assert any(key.startswith("load/u") for key in raw.keys())
