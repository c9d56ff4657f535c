"""``files_redirect``: ``/files/<path>`` answers with a redirect to a presigned URL of the
object, and the URL downloads the bytes straight from the store (moto, fake-gcs-server
with a service-account key, Azurite with the account key). The checks stay the server's:
hidden, missing and folder paths get the statuses they get without redirects. Stores
that cannot sign (anonymous S3, local files) stream, and say so once in the log.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request

import pytest

from support.rest_fixtures import expect_status

DATA = bytes(range(256)) * 40
FILES = {
    "d/data.bin": DATA,
    "d/notes.txt": "text ✓".encode(),
    "d/a b.txt": b"spaced",
    ".env": b"SECRET=1",
    "p/.hidden/x.txt": b"x",
    "p/dir/y.txt": b"y",
}


def _service_account(tmp_path) -> str:
    """A GCS service-account key made here: object_store signs with it locally (JWT
    bearer tokens for requests, V4 signatures for URLs); fake-gcs-server checks neither."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "notebooks@test-project.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return str(path)


@pytest.fixture
def manager_kwargs(manager_kwargs, backend, tmp_path):
    """The usual store of each backend, with files_redirect on (and, on GCS, a key that
    can sign instead of anonymous access)."""
    kwargs = {**manager_kwargs, "files_redirect": True}
    if backend == "gcs":
        kwargs["token"] = _service_account(tmp_path)
    return kwargs


def redirected(fetch, *parts, params=None) -> str:
    """The Location of a redirect from /files (not followed)."""
    r = fetch(*parts, params=params, follow_redirects=False, raise_error=False)
    assert r.code == 307, (r.code, r.body[:200])
    assert r.headers["Cache-Control"] == "no-store"
    return r.headers["Location"]


def download(url: str):
    """GET the URL as a browser would (no Jupyter cookie or token): body and headers."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers


@pytest.mark.every_backend
@pytest.mark.s3_preexisting(FILES)
def test_redirect_downloads_the_bytes_from_the_store(fetch, backend):
    if backend == "file":
        pytest.skip("local files cannot be signed: test_local_files_stream_and_say_so_once")
    files = [("d/data.bin", DATA), ("d/notes.txt", FILES["d/notes.txt"])]
    if backend != "azure":  # see test_azure_downloads_with_disposition_stream
        files.append(("d/a b.txt", b"spaced"))
    for path, data in files:
        location = redirected(fetch, "files", *path.split("/"))
        assert urllib.parse.urlsplit(location).scheme == "http"
        assert "127.0.0.1" in location or "localhost" in location
        body, _ = download(location)
        assert body == data, path


@pytest.mark.s3_preexisting(FILES)
def test_s3_url_is_signed_with_the_response_headers(fetch):
    location = redirected(fetch, "files", "d", "notes.txt", params={"download": "1"})
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    signed = query["X-Amz-SignedHeaders"][0].split(";")
    assert signed == ["host"]
    # Query parameters are part of SigV4's canonical request: these are signed.
    assert query["response-content-disposition"] == ["attachment; filename*=utf-8''notes.txt"]
    assert query["response-content-type"] == ["text/plain; charset=UTF-8"]
    body, headers = download(location)
    assert body == FILES["d/notes.txt"]
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''notes.txt"
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    # Without ?download=1: no attachment header.
    location = redirected(fetch, "files", "d", "notes.txt")
    assert "response-content-disposition" not in location
    assert "Content-Disposition" not in download(location)[1]


@pytest.mark.s3_preexisting(FILES)
@pytest.mark.cm_config(files_redirect_expiry=60)
def test_expiry_setting(fetch):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(redirected(fetch, "files", "d", "data.bin")).query)
    assert query["X-Amz-Expires"] == ["60"]


@pytest.mark.every_backend
@pytest.mark.s3_preexisting(FILES)
def test_the_server_checks_before_redirecting(fetch):
    expect_status(404, fetch, "files", ".env")
    expect_status(404, fetch, "files", "p/.hidden/x.txt")
    expect_status(404, fetch, "files", "p/nothing.txt")
    expect_status(400, fetch, "files", "p/dir")
    # HEAD is answered by the server (a URL signed for GET does not answer HEAD on S3).
    r = fetch("files", "d/data.bin", method="HEAD")
    assert r.code == 200 and int(r.headers["Content-Length"]) == len(DATA)


@pytest.mark.every_backend
@pytest.mark.s3_preexisting(FILES)
@pytest.mark.cm_config(allow_hidden=True)
def test_hidden_files_redirect_when_allowed(fetch, backend):
    if backend == "file":
        pytest.skip("local files cannot be signed")
    assert download(redirected(fetch, "files", ".env"))[0] == b"SECRET=1"


def _stream_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("files_redirect:")]


def _streams_and_says_so_once(fetch, caplog, statuses=True):
    caplog.set_level(logging.INFO)
    for _ in range(3):
        r = fetch("files", "d/data.bin", follow_redirects=False)
        assert r.code == 200 and r.body == DATA
    r = fetch("files", "d/notes.txt", params={"download": "1"}, follow_redirects=False)
    assert r.headers["Content-Disposition"] == "attachment; filename*=utf-8''notes.txt"
    lines = _stream_lines(caplog)
    assert len(lines) == 1, lines
    assert "cannot presign" in lines[0] and "stream through the server" in lines[0]
    if not statuses:
        return
    expect_status(404, fetch, "files", "p/nothing.txt")
    expect_status(400, fetch, "files", "p/dir")
    expect_status(404, fetch, "files", ".env")


@pytest.mark.s3_preexisting(FILES)
@pytest.mark.cm_config(anon=True, access_key_id="", secret_access_key="")
def test_anonymous_s3_streams_and_says_so_once(fetch, caplog, raw):
    # Anonymous reads need public objects (the bucket stays private: the statuses of
    # missing files and folders are checked on local files below).
    for path in ("d/data.bin", "d/notes.txt"):
        raw.client.put_object_acl(Bucket=raw.bucket, Key=raw.key(path), ACL="public-read")
    _streams_and_says_so_once(fetch, caplog, statuses=False)


@pytest.mark.file
@pytest.mark.s3_preexisting(FILES)
@pytest.mark.parametrize("backend", ["file"], indirect=True)
def test_local_files_stream_and_say_so_once(fetch, caplog):
    _streams_and_says_so_once(fetch, caplog)


@pytest.mark.s3_preexisting(FILES)
@pytest.mark.parametrize("backend", ["azure"], indirect=True)
@pytest.mark.azure
def test_azure_downloads_with_disposition_stream(fetch, caplog):
    """An Azure SAS from object_store carries no Content-Disposition: ?download=1 streams
    (logged once), plain /files links still redirect. A name that URLs encode (a space)
    streams too: object_store 0.14 signs the encoded name, which Azure refuses (403)."""
    caplog.set_level(logging.INFO)
    for _ in range(2):
        r = fetch("files", "d/notes.txt", params={"download": "1"}, follow_redirects=False)
        assert r.code == 200 and r.body == FILES["d/notes.txt"]
        assert r.headers["Content-Disposition"] == "attachment; filename*=utf-8''notes.txt"
    lines = _stream_lines(caplog)
    assert len(lines) == 1 and "Content-Disposition" in lines[0], lines
    assert download(redirected(fetch, "files", "d", "notes.txt"))[0] == FILES["d/notes.txt"]
    for _ in range(2):
        r = fetch("files", "d/a b.txt", follow_redirects=False)
        assert r.code == 200 and r.body == b"spaced"
    lines = _stream_lines(caplog)
    assert len(lines) == 2 and "spaces" in lines[1], lines


def test_expiry_is_validated(manager_kwargs):
    from traitlets import TraitError

    from s3contents_rs import AsyncS3ContentsManager

    with pytest.raises(TraitError, match="files_redirect_expiry"):
        AsyncS3ContentsManager(**manager_kwargs, files_redirect_expiry=0)
    with pytest.raises(TraitError, match="files_redirect_expiry"):
        AsyncS3ContentsManager(**manager_kwargs, files_redirect_expiry=8 * 24 * 3600)
