"""Large files through a real Jupyter server: chunked REST uploads of hundreds of MB,
streamed ``/files`` downloads (ranges, ETags, HEAD, headers, hidden files), and uploads
in progress aborted when the server shuts down."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from support.rest_fixtures import body, expect_status, put_json
from support.s3c_helpers import b64, free_port
from tornado.httpclient import HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

pytestmark = pytest.mark.timeout(600)

MiB = 1024 * 1024
# Several hundred MB by default; S3CONTENTS_TEST_BIG_UPLOAD_MB changes it (e.g. to
# spare a metered external bucket).
BIG_UPLOAD_MB = int(os.environ.get("S3CONTENTS_TEST_BIG_UPLOAD_MB", "300"))


def put_chunks(fetch, path: str, chunks):
    """Upload like JupyterLab: 1 MiB base64 chunks numbered 1, 2, ..., -1."""
    chunks = iter(chunks)
    current, number = next(chunks), 1
    for following in chunks:
        r = put_json(
            fetch,
            path,
            {
                "type": "file",
                "format": "base64",
                "chunk": number,
                "content": b64(current),
            },
        )
        assert r.code in (200, 201)
        current, number = following, number + 1
    r = put_json(
        fetch,
        path,
        {"type": "file", "format": "base64", "chunk": -1, "content": b64(current)},
    )
    assert r.code in (200, 201)
    return body(r)


def random_chunks(total: int, digest, seed: int = 11):
    rng = random.Random(seed)
    for start in range(0, total, MiB):
        piece = rng.randbytes(min(MiB, total - start))
        digest.update(piece)
        yield piece


@pytest.mark.parametrize("rest_flavor", ["async"])
def test_upload_hundreds_of_mb_in_1mib_chunks(
    fetch, raw, rest_flavor, jp_http_port, jp_base_url, jp_auth_header, jp_asyncio_loop
):
    total = BIG_UPLOAD_MB * MiB
    sent = hashlib.sha256()
    model = put_chunks(fetch, "big/data.bin", random_chunks(total, sent))
    assert model["size"] == total and model["path"] == "big/data.bin"
    assert raw.uploads() == []
    # jp_fetch's client refuses bodies over 100 MB; stream the download into a hash.
    received = hashlib.sha256()
    client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=total + MiB)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}files/big/data.bin"
    request = HTTPRequest(
        url,
        headers=jp_auth_header,
        streaming_callback=received.update,
        request_timeout=300,
    )
    try:
        r = jp_asyncio_loop.run_until_complete(client.fetch(request))
    finally:
        client.close()
    assert r.code == 200 and int(r.headers["Content-Length"]) == total
    assert received.hexdigest() == sent.hexdigest()


@pytest.mark.s3_preexisting(
    {"d/data.bin": bytes(range(256)) * 40, "d/notes.txt": "text ✓".encode()}
)
def test_files_ranges(fetch):
    data = bytes(range(256)) * 40
    whole = fetch("files", "d/data.bin")
    assert whole.code == 200 and whole.body == data
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert int(whole.headers["Content-Length"]) == len(data)
    for header, expected, content_range in [
        ("bytes=0-99", data[:100], f"bytes 0-99/{len(data)}"),
        ("bytes=100-", data[100:], f"bytes 100-{len(data) - 1}/{len(data)}"),
        (
            "bytes=-10",
            data[-10:],
            f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}",
        ),
        ("bytes=5000-99999", data[5000:], f"bytes 5000-{len(data) - 1}/{len(data)}"),
    ]:
        r = fetch("files", "d/data.bin", headers={"Range": header})
        assert r.code == 206, header
        assert r.body == expected, header
        assert r.headers["Content-Range"] == content_range
        assert int(r.headers["Content-Length"]) == len(expected)
    # Several ranges: the whole file (allowed by RFC 9110).
    r = fetch("files", "d/data.bin", headers={"Range": "bytes=0-1,5-6"})
    assert r.code == 200 and r.body == data
    err = expect_status(
        416, fetch, "files", "d/data.bin", headers={"Range": f"bytes={len(data)}-"}
    )
    assert err.response.headers["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.s3_preexisting({"e/a.txt": b"first version"})
def test_files_etag_last_modified_and_304(fetch, raw):
    r = fetch("files", "e/a.txt")
    etag = r.headers["Etag"]
    assert etag == raw.head("e/a.txt")["ETag"]
    model = body(fetch("api", "contents", "e/a.txt", params={"content": "0"}))
    from tornado.httputil import format_timestamp
    from datetime import datetime

    assert r.headers["Last-Modified"] == format_timestamp(
        datetime.fromisoformat(model["last_modified"].replace("Z", "+00:00"))
    )
    expect_status(304, fetch, "files", "e/a.txt", headers={"If-None-Match": etag})
    raw.put("e/a.txt", b"second version")
    r = fetch("files", "e/a.txt", headers={"If-None-Match": etag})
    assert r.code == 200 and r.body == b"second version" and r.headers["Etag"] != etag


@pytest.mark.s3_preexisting({"h/big.bin": b"\x00\x01" * 5000, "h/dir/x.txt": b"x"})
def test_files_head(fetch):
    r = fetch("files", "h/big.bin", method="HEAD")
    assert r.code == 200 and r.body == b""
    assert int(r.headers["Content-Length"]) == 10000
    assert r.headers["Etag"] and r.headers["Last-Modified"]
    expect_status(404, fetch, "files", "h/missing.bin", method="HEAD")
    expect_status(400, fetch, "files", "h/dir", method="HEAD")


@pytest.mark.s3_preexisting(
    {
        "t/plain.txt": b"plain",
        "t/blob": b"\x00\xff\xfe binary",
        "t/README": "unicode ✓ text".encode(),
        "t/page.html": b"<p>hi</p>",
        "t/data.csv.gz": b"\x1f\x8b",
        "t/nb.ipynb": b"{}",
    }
)
def test_files_content_types_like_files_handler(fetch):
    expected = {
        "plain.txt": "text/plain; charset=UTF-8",
        "blob": "application/octet-stream",
        "README": "text/plain; charset=UTF-8",
        "page.html": "text/html",
        "data.csv.gz": "application/gzip",
        "nb.ipynb": "application/x-ipynb+json",
    }
    for name, content_type in expected.items():
        assert fetch("files", "t", name).headers["Content-Type"] == content_type, name
    r = fetch("files", "t", "page.html")
    assert "sandbox allow-scripts" in r.headers["Content-Security-Policy"]
    r = fetch("files", "t", "plain.txt", params={"download": "1"})
    assert r.headers["Content-Disposition"] == "attachment; filename*=utf-8''plain.txt"


@pytest.mark.s3_preexisting(
    {".env": b"SECRET=1", "p/.hidden/x.txt": b"x", "p/dir/y.txt": b"y"}
)
def test_files_refuses_hidden_directories_and_missing(fetch):
    expect_status(404, fetch, "files", ".env")
    expect_status(404, fetch, "files", "p/.hidden/x.txt")
    expect_status(404, fetch, "files", "p/nothing.txt")
    expect_status(400, fetch, "files", "p/dir")


@pytest.mark.s3_preexisting({".env": b"SECRET=1"})
@pytest.mark.cm_config(allow_hidden=True)
def test_files_serves_hidden_when_allowed(fetch):
    assert fetch("files", ".env").body == b"SECRET=1"


# --------------------------------------------------------------------------- shutdown
@pytest.mark.parametrize("manager", ["S3ContentsManager", "AsyncS3ContentsManager"])
def test_server_shutdown_aborts_uploads_in_progress(
    manager, manager_kwargs, raw, tmp_path
):
    port, token = free_port(), "shutdown-test-token"
    traits = [
        f"--{manager}.{name}={value}"
        for name, value in manager_kwargs.items()
        if isinstance(value, str)
    ]
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
    )
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}", "--allow-root",
            f"--ServerApp.contents_manager_class=s3contents_rs.{manager}",
            f"--ServerApp.root_dir={tmp_path}", *traits,
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/contents/up/partial.bin"
        chunk = json.dumps(
            {
                "type": "file",
                "format": "base64",
                "chunk": 1,
                "content": b64(b"x" * 1000),
            }
        ).encode()
        deadline = time.monotonic() + 60
        while True:
            request = urllib.request.Request(
                url,
                data=chunk,
                method="PUT",
                headers={"Authorization": f"token {token}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    assert r.status in (200, 201)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert raw.uploads() == ["up/partial.bin"]
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    assert raw.uploads() == [], (tmp_path / "server.log").read_text()
    assert "Aborted 1 unfinished upload" in (tmp_path / "server.log").read_text()
    assert raw.keys() == set()
