"""Reliability through a real jupyter_server: trash, read-only, hostile URLs, access denied."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from support.fault_proxy import Fault
from support.reliability_fixtures import snapshot
from support.rest_fixtures import body
from support.s3c_helpers import free_port
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.timeout(120)


def status_of(fetch, *parts, **kwargs) -> int:
    try:
        return fetch(*parts, **kwargs).code
    except HTTPClientError as e:
        return e.code


def put_text(fetch, path: str, text: str):
    return fetch(
        "api",
        "contents",
        path,
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": text}),
    )


def test_rest_delete_moves_to_trash_which_is_unreachable(fetch, raw):
    put_text(fetch, "doc.txt", "draft")
    assert fetch("api", "contents", "doc.txt", method="DELETE").code == 204
    trashed = [k for k in raw.keys() if k.startswith(".Trash/")]
    assert len(trashed) == 1 and raw.read(trashed[0]) == b"draft"
    names = {m["name"] for m in body(fetch("api", "contents"))["content"]}
    assert names == set()
    for path in (".Trash", trashed[0]):
        assert status_of(fetch, "api", "contents", path) in (400, 404)
        assert status_of(fetch, "files", path) in (400, 403, 404)


@pytest.mark.cm_config(read_only=True)
@pytest.mark.s3_preexisting({"shared/lesson.txt": b"lesson"})
def test_rest_read_only(fetch, raw):
    before = snapshot(raw)
    model = body(fetch("api", "contents", "shared/lesson.txt"))
    assert model["content"] == "lesson" and model["writable"] is False
    assert fetch("files", "shared/lesson.txt").body == b"lesson"
    attempts = [
        (
            "api/contents/shared/lesson.txt",
            "PUT",
            {"type": "file", "format": "text", "content": "x"},
        ),
        ("api/contents/shared", "POST", {"type": "file"}),
        ("api/contents/shared", "POST", {"copy_from": "shared/lesson.txt"}),
        ("api/contents/shared/lesson.txt", "PATCH", {"path": "shared/moved.txt"}),
        ("api/contents/shared/lesson.txt", "DELETE", None),
        ("api/contents/shared/lesson.txt/checkpoints", "POST", {}),
    ]
    for url, method, payload in attempts:
        with pytest.raises(HTTPClientError) as info:
            fetch(
                *url.split("/"),
                method=method,
                body=None if payload is None else json.dumps(payload),
                allow_nonstandard_methods=True,
            )
        assert info.value.code == 403, (url, method, info.value.code)
        assert b"read-only" in info.value.response.body, info.value.response.body
    assert snapshot(raw) == before


# (jupyter_server does not percent-decode the path, so "%00" is a literal name there; NUL
# and control characters are covered at the manager level in test_hostile.py.)
HOSTILE_URLS = [
    "..%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "a/%2E%2E/%2e%2e/secret.txt",
    "..%5Csecret.txt",
    quote("x" * 1100),
]


def test_rest_hostile_paths_are_4xx(fetch, raw, s3_client, s3_settings, test_prefix):
    from support.s3_fixtures import RawBucket

    outside = RawBucket(s3_client, s3_settings.bucket, test_prefix + "-sibling")
    outside.put("secret.txt", b"secret")
    try:
        before = snapshot(raw)
        for url in HOSTILE_URLS:
            for method, payload in (
                ("GET", None),
                ("PUT", {"type": "file", "format": "text", "content": "x"}),
                ("DELETE", None),
                ("PATCH", {"path": "x.txt"}),
            ):
                status = status_of(
                    fetch,
                    "api",
                    "contents",
                    url,
                    method=method,
                    body=None if payload is None else json.dumps(payload),
                    allow_nonstandard_methods=True,
                )
                assert 400 <= status < 500, (url, method, status)
        assert snapshot(raw) == before
        assert outside.read("secret.txt") == b"secret"
    finally:
        outside.delete_all()


@pytest.fixture
def denied_config(jp_server_config, server_manager_class, fault_proxy):
    """The server's manager talks through the proxy, which denies everything."""
    traits = jp_server_config[server_manager_class.__name__]
    traits.endpoint_url = fault_proxy.url
    traits.max_retries = 0
    fault_proxy.add(Fault.error("AccessDenied"), times=None)
    return jp_server_config


def test_rest_access_denied_is_403_not_a_crash(denied_config, jp_serverapp, fetch):
    with pytest.raises(HTTPClientError) as info:
        fetch("api", "contents")
    assert info.value.code == 403
    message = json.loads(info.value.response.body)["message"]
    assert (
        message.startswith("access denied to s3://")
        and "the credentials need s3:ListBucket" in message
    ), message
    assert "<" not in message, message  # the store's words, never its XML


@pytest.fixture
def missing_bucket_config(jp_server_config, server_manager_class):
    traits = jp_server_config[server_manager_class.__name__]
    traits.bucket = f"missing-{uuid.uuid4().hex[:12]}"
    return jp_server_config


def test_rest_missing_bucket_is_404_saying_so(
    missing_bucket_config, server_manager_class, jp_serverapp, fetch
):
    """The server starts; every request then says what is wrong (s3contents: no server)."""
    bucket = missing_bucket_config[server_manager_class.__name__].bucket
    for parts in (("api", "contents"), ("api", "contents", "a.ipynb")):
        with pytest.raises(HTTPClientError) as info:
            fetch(*parts)
        assert info.value.code == 404
        message = json.loads(info.value.response.body)["message"]
        assert (
            message
            == f"bucket '{bucket}' does not exist (create it, or fix the bucket setting)"
        )


@pytest.fixture
def unreachable_config(jp_server_config, server_manager_class):
    traits = jp_server_config[server_manager_class.__name__]
    traits.endpoint_url = f"http://127.0.0.1:{free_port()}"
    traits.max_retries = 0
    traits.connect_timeout = 1.0
    return jp_server_config


def test_rest_unreachable_endpoint_is_503_naming_it(
    unreachable_config, server_manager_class, jp_serverapp, fetch
):
    endpoint = unreachable_config[server_manager_class.__name__].endpoint_url
    with pytest.raises(HTTPClientError) as info:
        fetch("api", "contents")
    assert info.value.code == 503
    message = json.loads(info.value.response.body)["message"]
    assert message.startswith(f"cannot reach {endpoint}: "), message
