"""The Prometheus metrics at /metrics of a real jupyter_server, against what a proxy in front
of the store saw: after a scripted REST session (list, save, rename a folder, a chunked upload,
a missing file, a store fault that object_store retries), the request counts per operation and
outcome, the retries and the bytes each way are the proxy's, exactly."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.fault_proxy import Fault
from support.rest_fixtures import body, expect_status, put_json

pytestmark = pytest.mark.timeout(180)

MIB = 1024 * 1024


def operation(record) -> str:
    """The operation of a request the proxy saw, by the rules docs/metrics.md states."""
    method, target = record.method, record.target
    query = target.partition("?")[2]
    params = {p.partition("=")[0] for p in query.split("&") if p}
    if method == "HEAD":
        return "HEAD"
    if method == "GET":
        return "LIST" if params & {"list-type", "delimiter", "uploads"} else "GET"
    if method == "PUT":
        if "partNumber" in params:
            return "MULTIPART_PART"
        return "COPY" if record.copy_source else "PUT"
    if method == "POST":
        if "uploads" in params:
            return "MULTIPART_CREATE"
        if "uploadId" in params:
            return "MULTIPART_COMPLETE"
        return "DELETE" if "delete" in params else "OTHER"
    if method == "DELETE":
        return "MULTIPART_ABORT" if "uploadId" in params else "DELETE"
    return "OTHER"


def outcome(status: int | None) -> str:
    if status is None:
        return "error"  # the proxy dropped the connection
    if status < 400:
        return "ok"
    named = {
        404: "not_found",
        401: "denied",
        403: "denied",
        412: "precondition",
        409: "already_exists",
        429: "throttled",
        503: "throttled",
    }
    return named.get(status, "other_4xx" if status < 500 else "5xx")


def proxy_view(records) -> tuple[Counter, Counter]:
    """Requests by (operation, outcome), and retries by operation: a request repeating the
    method and target of one that failed transiently."""
    requests, retries, failed = Counter(), Counter(), Counter()
    for r in records:
        key = (r.method, r.target)
        if failed[key]:
            failed[key] -= 1
            retries[operation(r)] += 1
        o = outcome(r.status)
        requests[(operation(r), o)] += 1
        if o in ("throttled", "5xx", "timeout", "error"):
            failed[key] += 1
    return requests, +retries


def scrape(fetch, store: str) -> dict[str, list]:
    """The samples of our metric families for `store`: name -> [(labels, value)]."""
    text = fetch("metrics").body.decode()
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("s3contents_") and s.labels.get("store") == store:
                labels = {k: v for k, v in s.labels.items() if k != "store"}
                samples.setdefault(s.name, []).append((labels, s.value))
    return samples


def metrics_view(samples) -> tuple[Counter, Counter]:
    requests = Counter(
        {(lab["operation"], lab["outcome"]): int(v) for lab, v in samples.get("s3contents_store_requests_total", [])}
    )
    retries = Counter({lab["operation"]: int(v) for lab, v in samples.get("s3contents_store_retries_total", [])})
    return requests, retries


def value(samples, name: str, **labels) -> float:
    found = [v for lab, v in samples.get(name, []) if all(lab.get(k) == w for k, w in labels.items())]
    return sum(found)


@pytest.fixture
def metered_config(jp_server_config, server_manager_class, fault_proxy):
    """The server's manager talks to S3 through the counting proxy (reset before start)."""
    traits = jp_server_config[server_manager_class.__name__]
    traits.endpoint_url = fault_proxy.url
    return jp_server_config


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_metrics_count_what_the_proxy_sees(metered_config, jp_serverapp, fetch, fault_proxy):
    store = jp_serverapp.contents_manager._store.place
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

    # A scripted session: list, make a folder, save a notebook and a file, read them,
    # rename the folder, a missing file, a read the store refuses once (SlowDown, retried).
    assert body(fetch("api", "contents"))["type"] == "directory"
    put_json(fetch, "work", {"type": "directory"})
    put_json(fetch, "work/analysis.ipynb", {"type": "notebook", "content": notebook})
    put_json(fetch, "work/notes.txt", {"type": "file", "format": "text", "content": "hello " * 100})
    assert body(fetch("api", "contents", "work/analysis.ipynb"))["type"] == "notebook"
    fetch("api", "contents", "work", method="PATCH", body=json.dumps({"path": "project"}))
    expect_status(404, fetch, "api", "contents", "no-such-file.txt")
    fault_proxy.add(Fault.error("SlowDown"), method="GET", target=re.compile(r"project/notes\.txt$"), times=1)
    assert body(fetch("api", "contents", "project/notes.txt"))["content"].startswith("hello")

    # A chunked upload (1 MiB chunks, as JupyterLab sends) into a multipart upload,
    # which is open while the chunks arrive.
    chunks = [bytes([n]) * MIB for n in range(6)]
    for number, chunk in enumerate(chunks[:-1], start=1):
        put_json(
            fetch, "project/data.bin", {"type": "file", "format": "base64", "chunk": number, "content": b64(chunk)}
        )
    assert value(scrape(fetch, store), "s3contents_store_open_multipart_uploads") == 1
    put_json(fetch, "project/data.bin", {"type": "file", "format": "base64", "chunk": -1, "content": b64(chunks[-1])})
    fetch("api", "contents", "project/notes.txt", method="DELETE")

    samples = scrape(fetch, store)
    records = list(fault_proxy.records)
    proxy_requests, proxy_retries = proxy_view(records)
    requests, retries = metrics_view(samples)
    assert requests == proxy_requests
    assert retries == proxy_retries == Counter({"GET": 1})
    for op in ("LIST", "GET", "PUT", "COPY", "DELETE", "MULTIPART_CREATE", "MULTIPART_PART", "MULTIPART_COMPLETE"):
        assert proxy_requests[(op, "ok")] > 0, op
    assert proxy_requests[("GET", "throttled")] == 1
    assert sum(n for (op, o), n in proxy_requests.items() if o == "not_found") >= 1

    # The latency histograms count every request; the bytes are the bodies the proxy carried.
    for op in {op for op, _ in proxy_requests}:
        assert value(samples, "s3contents_store_request_duration_seconds_count", operation=op) == sum(
            n for (o, _), n in proxy_requests.items() if o == op
        )
    assert value(samples, "s3contents_store_written_bytes_total") == sum(r.sent for r in records)
    # object_store does not read the body of an answer it retries (the injected SlowDown).
    read = sum(r.received for r in records if outcome(r.status) not in ("throttled", "5xx"))
    assert value(samples, "s3contents_store_read_bytes_total") == read
    assert value(samples, "s3contents_store_open_multipart_uploads") == 0

    # Contents operations by kind, timed once each (outermost call).
    contents = Counter()
    for labels, v in samples.get("s3contents_contents_operation_duration_seconds_count", []):
        contents[(labels["operation"], labels["outcome"])] += int(v)
    # jupyter_server's PUT of a path that does not exist yet calls `new`; its PATCH (rename)
    # answers with a `get` of the new path.
    assert contents[("new", "ok")] == 3, contents
    assert contents[("save_chunk", "ok")] == 6
    assert contents[("get", "ok")] == 4  # the root, the notebook, the renamed folder, the retried file
    assert contents[("get", "not_found")] == 1
    assert contents[("rename", "ok")] == 1
    assert contents[("delete", "ok")] == 1
    assert sum(contents.values()) == 16
