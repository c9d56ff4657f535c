"""A short run of benches/load.py through pytest-jupyter's server with the async manager:
asserts correctness only (no 5xx, every acknowledged write present); figures come from
running the benchmark itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
from load import run_load  # noqa: E402

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def jp_server_config(manager_kwargs):
    from s3contents_rs import AsyncS3ContentsManager

    return Config(
        {
            "ServerApp": {
                "contents_manager_class": AsyncS3ContentsManager,
                "jpserver_extensions": {"jupyter_server_terminals": False},
            },
            "AsyncS3ContentsManager": dict(manager_kwargs),
        }
    )


def test_load_no_5xx_and_no_lost_writes(jp_fetch, jp_asyncio_loop, raw):
    async def request(method, path, payload):
        kwargs = {"method": method}
        if payload is not None or method not in ("GET", "DELETE"):
            kwargs["body"] = json.dumps(payload or {})
        try:
            response = await jp_fetch("api", "contents", path, **kwargs)
        except HTTPClientError as e:
            return e.code, e.response.body.decode(errors="replace") if e.response else None
        return response.code, json.loads(response.body) if response.body else None

    report = jp_asyncio_loop.run_until_complete(run_load(request, clients=8, seconds=4.0))
    print(report.table())
    assert report.requests > 8 * 5, report.table()
    assert not report.server_errors, report.server_errors[:5]
    assert not report.lost_writes, report.lost_writes[:5]
    assert all(400 > status for status in report.statuses), report.statuses
