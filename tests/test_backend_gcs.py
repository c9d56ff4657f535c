"""What only GCS does: its traits, STORAGE_EMULATOR_HOST, and each way to log in.

The Contents API itself runs on GCS in test_backends.py. Requests go to fake-gcs-server
through the gateway of gcs_gateway.py, which records each request's Authorization
header: that is how these tests see which credentials object_store used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import urllib.parse
import urllib.request
import uuid

import pytest
from support.backend_fixtures import RawGcs
from support.login_fixtures import HttpsServer, QuietHandler
from support.s3c_helpers import ManagerAdapter, expect_http
from traitlets import TraitError

pytestmark = [pytest.mark.timeout(60), pytest.mark.gcs]


@pytest.fixture(params=["sync", "async"])
def gcs_class(request):
    from s3contents_rs import AsyncGCSContentsManager, GCSContentsManager

    return request.param, (
        AsyncGCSContentsManager if request.param == "async" else GCSContentsManager
    )


@pytest.fixture
def gcs_prefix(gcs_settings):
    prefix = f"test-{uuid.uuid4().hex}"
    raw = RawGcs(gcs_settings, prefix)
    yield prefix
    raw.delete_all()


@pytest.fixture(autouse=True)
def _no_ambient_google_credentials(monkeypatch, tmp_path):
    """Only what a test configures: no ADC file in HOME, no GOOGLE_* variables."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_SERVICE_ACCOUNT",
        "STORAGE_EMULATOR_HOST",
    ):
        monkeypatch.delenv(name, raising=False)


def save_and_read(cls_info, jp_asyncio_loop, raw: RawGcs, **traits) -> list:
    flavor, cls = cls_info
    cm = ManagerAdapter(cls(**traits), flavor, jp_asyncio_loop)
    cm.save({"type": "file", "format": "text", "content": "gcs ✓"}, "dir/a.txt")
    assert raw.read("dir/a.txt") == "gcs ✓".encode()
    assert cm.get("dir/a.txt")["content"] == "gcs ✓"
    return cm


def test_import_paths_and_traits():
    import s3contents_rs
    import s3contents_rs.gcs as gcs
    from jupyter_server.services.contents.manager import (
        AsyncContentsManager,
        ContentsManager,
    )

    assert s3contents_rs.GCSContentsManager is gcs.GCSContentsManager
    assert s3contents_rs.AsyncGCSContentsManager is gcs.AsyncGCSContentsManager
    assert issubclass(gcs.GCSContentsManager, ContentsManager)
    assert issubclass(gcs.AsyncGCSContentsManager, AsyncContentsManager)
    traits = gcs.GCSContentsManager.class_traits()
    for name in (
        "project",
        "token",
        "bucket",
        "prefix",
        "region_name",
        "separator",
        "endpoint_url",
    ):
        assert traits[name].metadata.get("config") is True, name


def test_separator_other_than_slash_is_rejected(gcs_class):
    with pytest.raises(TraitError, match="separator"):
        gcs_class[1](bucket="b", separator="|", token="anon")


def test_gs_url_bucket_form(gcs_class, gcs_settings, gcs_prefix, jp_asyncio_loop):
    raw = RawGcs(gcs_settings, gcs_prefix)
    cm = save_and_read(
        gcs_class,
        jp_asyncio_loop,
        raw,
        bucket=f"gs://{gcs_settings.bucket}/ignored",
        prefix=gcs_prefix,
        endpoint_url=gcs_settings.endpoint_url,
        token="anon",
    )
    assert cm.bucket == gcs_settings.bucket


def test_storage_emulator_host_is_honoured(
    gcs_class, gcs_settings, gcs_prefix, monkeypatch, jp_asyncio_loop
):
    """As Google's client libraries: the emulator address, without credentials."""
    monkeypatch.setenv(
        "STORAGE_EMULATOR_HOST", gcs_settings.endpoint_url.removeprefix("http://")
    )
    gcs_settings.gateway.authorizations.clear()
    save_and_read(
        gcs_class,
        jp_asyncio_loop,
        RawGcs(gcs_settings, gcs_prefix),
        bucket=gcs_settings.bucket,
        prefix=gcs_prefix,
    )
    assert gcs_settings.gateway.authorizations, "no request reached the emulator"
    assert all(
        a in (None, "Bearer", "Bearer ") for a in gcs_settings.gateway.authorizations
    )


def test_anonymous_sends_no_credentials(
    gcs_class, gcs_settings, gcs_prefix, jp_asyncio_loop
):
    gcs_settings.gateway.authorizations.clear()
    save_and_read(
        gcs_class,
        jp_asyncio_loop,
        RawGcs(gcs_settings, gcs_prefix),
        bucket=gcs_settings.bucket,
        prefix=gcs_prefix,
        endpoint_url=gcs_settings.endpoint_url,
        token="anon",
    )
    assert all(
        a in (None, "Bearer", "Bearer ") for a in gcs_settings.gateway.authorizations
    )


def _rsa_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize("configured_by", ["token", "GOOGLE_APPLICATION_CREDENTIALS"])
def test_service_account_json_signs_requests(
    gcs_class,
    gcs_settings,
    gcs_prefix,
    tmp_path,
    monkeypatch,
    jp_asyncio_loop,
    configured_by,
):
    """A service-account JSON (as `token`, or found through the default chain): every
    request carries a JWT signed with its key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key, pem = _rsa_key()
    account = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "test-key-id",
        "private_key": pem,
        "client_email": "notebooks@test-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(account))
    gcs_settings.gateway.authorizations.clear()
    if configured_by == "token":
        login = {"token": str(path)}
    else:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
        login = {}
    save_and_read(
        gcs_class,
        jp_asyncio_loop,
        RawGcs(gcs_settings, gcs_prefix),
        bucket=gcs_settings.bucket,
        prefix=gcs_prefix,
        endpoint_url=gcs_settings.endpoint_url,
        **login,
    )
    bearers = {a for a in gcs_settings.gateway.authorizations if a}
    assert bearers, "no request carried credentials"
    for header in bearers:
        scheme, _, jwt = header.partition(" ")
        assert scheme == "Bearer"
        head, claims, signature = jwt.split(".")
        key.public_key().verify(
            _b64url_decode(signature),
            f"{head}.{claims}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        assert json.loads(_b64url_decode(head))["kid"] == "test-key-id"
        assert json.loads(_b64url_decode(claims))["iss"] == account["client_email"]


class _MetadataServer:
    """A GCE metadata server on loopback that hands out one access token."""

    token = "metadata-token-123"

    def __init__(self):
        outer = self
        self.requests: list[str] = []

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                if self.headers.get("Metadata-Flavor") != "Google":
                    self.reply(403, b"")
                    return
                body = json.dumps(
                    {
                        "access_token": outer.token,
                        "expires_in": 3600,
                        "token_type": "Bearer",
                    }
                ).encode()
                self.reply(200, body, headers={"Metadata-Flavor": "Google"})

        self.server = HttpsServer(Handler)

    @property
    def host(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def stop(self):
        self.server.stop()


def test_metadata_server_token(
    gcs_class, gcs_settings, gcs_prefix, monkeypatch, jp_asyncio_loop
):
    """No token configured, no ADC file: the token comes from the metadata server
    (GCE_METADATA_HOST points object_store at a local one)."""
    metadata = _MetadataServer()
    try:
        monkeypatch.setenv("GCE_METADATA_HOST", metadata.host)
        gcs_settings.gateway.authorizations.clear()
        save_and_read(
            gcs_class,
            jp_asyncio_loop,
            RawGcs(gcs_settings, gcs_prefix),
            bucket=gcs_settings.bucket,
            prefix=gcs_prefix,
            endpoint_url=gcs_settings.endpoint_url,
        )
    finally:
        metadata.stop()
    assert any("/token" in p for p in metadata.requests), metadata.requests
    assert f"Bearer {metadata.token}" in gcs_settings.gateway.authorizations


def test_token_file_kinds_map_to_store_options(tmp_path):
    """An authorized-user ADC file goes to object_store's ADC reader (its token exchange
    needs Google's OAuth endpoint, so only the mapping is checked here)."""
    from s3contents_rs.gcs import GCSTraits

    adc = tmp_path / "application_default_credentials.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
            }
        )
    )
    assert GCSTraits(bucket="b", token=str(adc))._gcs_options() == {
        "google_application_credentials": str(adc)
    }
    for default in (None, "google_default", "cloud"):
        assert GCSTraits(bucket="b", token=default)._gcs_options() == {}
    bad = tmp_path / "external.json"
    bad.write_text(json.dumps({"type": "external_account"}))
    with pytest.raises(TraitError, match="external_account"):
        GCSTraits(bucket="b", token=str(bad))._gcs_options()
    with pytest.raises(TraitError, match="cannot read"):
        GCSTraits(bucket="b", token=str(tmp_path / "missing.json"))._gcs_options()


# ------------------------------------------------------------------ copies above the threshold
MiB = 1024 * 1024


def put_described(gcs_settings, raw: RawGcs, path: str, data: bytes) -> None:
    """An object with a content type and custom metadata, which a copy must keep."""
    query = urllib.parse.urlencode({"uploadType": "media", "name": raw.key(path)})
    _json_request("POST", f"{raw.upload}?{query}", data, "application/x-test")
    _json_request(
        "PATCH",
        raw._object_url(path),
        json.dumps({"metadata": {"owner": "ann"}}).encode(),
        "application/json",
    )


def _json_request(
    method: str, url: str, body: bytes | None = None, content_type: str | None = None
) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def assert_same_object(raw: RawGcs, path: str, data: bytes) -> None:
    stored = raw.read(path)
    assert len(stored) == len(data)
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest(), (
        f"{path} differs"
    )
    meta = _json_request("GET", raw._object_url(path))
    assert meta["contentType"] == "application/x-test"
    assert meta.get("metadata") == {"owner": "ann"}


def rewrites(gateway, since: int) -> list[tuple[str, str | None]]:
    """The rewrite calls (target, Authorization) the gateway passed on since `since`."""
    return [
        (target, auth)
        for method, target, auth in gateway.requests[since:]
        if method == "POST" and "/rewriteTo/" in target
    ]


def test_copies_above_the_threshold_are_rewrites(
    gcs_class, gcs_settings, gcs_prefix, jp_asyncio_loop
):
    """With the threshold at 1 MiB, copy, rename, checkpoint, restore, trash and a folder
    rename of a 3 MiB file go through the JSON API's rewrite, 1 MiB per call (fake-gcs-server
    copies everything in its first call, so the token loop runs once here), and every copy
    is the same bytes, content type and metadata."""
    flavor, cls = gcs_class
    raw = RawGcs(gcs_settings, gcs_prefix)
    gateway = gcs_settings.gateway
    cm = ManagerAdapter(
        cls(
            bucket=gcs_settings.bucket,
            prefix=gcs_prefix,
            endpoint_url=gcs_settings.endpoint_url,
            token="anon",
            multipart_copy_threshold=MiB,
        ),
        flavor,
        jp_asyncio_loop,
    )
    data = random.Random(1).randbytes(3 * MiB + 3)
    put_described(gcs_settings, raw, "big/data.bin", data)

    def rewritten(operation, *args):
        since = len(gateway.requests)
        result = operation(*args)
        calls = rewrites(gateway, since)
        assert calls, f"{operation.__name__} made no rewrite"
        for target, auth in calls:
            assert "maxBytesRewrittenPerCall=1048576" in target, target
            assert "ifSourceGenerationMatch=" in target, (
                target
            )  # bound to the source read
            assert auth is None, auth  # anonymous store: no token
        return result

    copied = rewritten(cm.copy, "big/data.bin", "big/copy.bin")
    assert copied["path"] == "big/copy.bin" and copied["size"] == len(data)
    assert_same_object(raw, "big/copy.bin", data)

    rewritten(cm.rename, "big/copy.bin", "big/renamed.bin")
    assert not raw.exists("big/copy.bin")
    assert_same_object(raw, "big/renamed.bin", data)

    checkpoint = rewritten(cm.create_checkpoint, "big/renamed.bin")
    assert_same_object(raw, "big/.ipynb_checkpoints/renamed-checkpoint.bin", data)
    raw.put("big/renamed.bin", b"overwritten")
    rewritten(cm.restore_checkpoint, checkpoint["id"], "big/renamed.bin")
    assert_same_object(raw, "big/renamed.bin", data)

    rewritten(cm.delete, "big/renamed.bin")
    assert not raw.exists("big/renamed.bin")
    [trashed] = [
        k
        for k in raw.keys()
        if k.startswith(".Trash/") and k.endswith("big/renamed.bin")
    ]
    assert_same_object(raw, trashed, data)

    rewritten(cm.rename, "big", "moved")
    assert_same_object(raw, "moved/data.bin", data)

    # A copy onto an existing file is refused before anything is copied.
    since = len(gateway.requests)
    raw.put("moved/other.bin", b"keep")
    expect_http(409, cm.copy, "moved/data.bin", "moved/other.bin")
    assert rewrites(gateway, since) == []
    assert raw.read("moved/other.bin") == b"keep"


def test_files_at_or_below_the_threshold_keep_the_single_copy(
    gcs_class, gcs_settings, gcs_prefix, jp_asyncio_loop
):
    flavor, cls = gcs_class
    raw = RawGcs(gcs_settings, gcs_prefix)
    cm = ManagerAdapter(
        cls(
            bucket=gcs_settings.bucket,
            prefix=gcs_prefix,
            endpoint_url=gcs_settings.endpoint_url,
            token="anon",
            multipart_copy_threshold=MiB,
        ),
        flavor,
        jp_asyncio_loop,
    )
    data = random.Random(2).randbytes(MiB)
    put_described(gcs_settings, raw, "small.bin", data)
    since = len(gcs_settings.gateway.requests)
    cm.copy("small.bin", "small-copy.bin")
    assert rewrites(gcs_settings.gateway, since) == []
    assert_same_object(raw, "small-copy.bin", data)


def test_a_rewrite_sends_the_store_token(
    gcs_class, gcs_settings, gcs_prefix, monkeypatch, jp_asyncio_loop
):
    """The rewrite carries the bearer token of the store's credentials (here from a
    metadata server)."""
    flavor, cls = gcs_class
    raw = RawGcs(gcs_settings, gcs_prefix)
    metadata = _MetadataServer()
    try:
        monkeypatch.setenv("GCE_METADATA_HOST", metadata.host)
        cm = ManagerAdapter(
            cls(
                bucket=gcs_settings.bucket,
                prefix=gcs_prefix,
                endpoint_url=gcs_settings.endpoint_url,
                multipart_copy_threshold=MiB,
            ),
            flavor,
            jp_asyncio_loop,
        )
        data = random.Random(3).randbytes(2 * MiB)
        put_described(gcs_settings, raw, "a.bin", data)
        since = len(gcs_settings.gateway.requests)
        cm.copy("a.bin", "b.bin")
        calls = rewrites(gcs_settings.gateway, since)
        assert calls and all(auth == f"Bearer {metadata.token}" for _, auth in calls), (
            calls
        )
        assert_same_object(raw, "b.bin", data)
    finally:
        metadata.stop()
