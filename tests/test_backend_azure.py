"""What only Azure does: its traits and ways to log in, against Azurite.

The Contents API itself runs on Azure in test_backends.py. Azurite checks shared-key
and SAS signatures. Bearer tokens it accepts only over HTTPS with OAuth on: a second
Azurite runs so (self-signed certificate) for the token logins, with the managed
identity endpoint and Microsoft Entra ID's token endpoint on loopback.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import random
import re
import urllib.parse
import uuid

import pytest
from support.backend_fixtures import RawAzure
from support.s3c_helpers import ManagerAdapter, expect_http, free_port
from tornado.web import HTTPError
from traitlets import TraitError

pytestmark = [pytest.mark.timeout(60), pytest.mark.azure]


@pytest.fixture(params=["sync", "async"])
def azure_cm(request, azure_settings, jp_asyncio_loop):
    from s3contents_rs import AsyncAzureContentsManager, AzureContentsManager

    cls = (
        AsyncAzureContentsManager if request.param == "async" else AzureContentsManager
    )
    prefix = f"test-{uuid.uuid4().hex}"
    raw = RawAzure(azure_settings, prefix)

    def make(**traits) -> ManagerAdapter:
        kwargs = {
            "account": azure_settings.account,
            "container": azure_settings.container,
            "endpoint_url": azure_settings.endpoint_url,
            "prefix": prefix,
            **traits,
        }
        return ManagerAdapter(cls(**kwargs), request.param, jp_asyncio_loop)

    make.raw = raw
    yield make
    raw.delete_all()


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


def container_sas(settings, **permissions) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        settings.account,
        settings.container,
        account_key=settings.key,
        permission=ContainerSasPermissions(**permissions),
        expiry=datetime.datetime.now(datetime.timezone.utc)
        + datetime.timedelta(hours=1),
    )


def test_import_paths_and_traits():
    import s3contents_rs
    import s3contents_rs.azure as azure
    from jupyter_server.services.contents.manager import (
        AsyncContentsManager,
        ContentsManager,
    )

    assert s3contents_rs.AzureContentsManager is azure.AzureContentsManager
    assert issubclass(azure.AzureContentsManager, ContentsManager)
    assert issubclass(azure.AsyncAzureContentsManager, AsyncContentsManager)
    traits = azure.AzureContentsManager.class_traits()
    for name in (
        "account",
        "container",
        "prefix",
        "endpoint_url",
        "account_key",
        "sas_token",
        "client_id",
        "client_secret",
        "tenant_id",
        "federated_token_file",
        "use_managed_identity",
    ):
        assert traits[name].metadata.get("config") is True, name


def test_account_key(azure_cm, azure_settings):
    cm = azure_cm(
        account_key=azure_settings.key,
        container=f"az://{azure_settings.container}/ignored",
    )
    cm.save(text("shared key"), "k.txt")
    assert azure_cm.raw.read("k.txt") == b"shared key"


def test_wrong_account_key_is_403(azure_cm, azure_settings):
    import base64

    cm = azure_cm(account_key=base64.b64encode(b"not the key").decode())
    with pytest.raises(HTTPError) as info:
        cm.save(text("x"), "k.txt")
    assert info.value.status_code == 403, info.value.log_message
    assert not azure_cm.raw.exists("k.txt")


def test_sas_token(azure_cm, azure_settings):
    sas = container_sas(
        azure_settings,
        read=True,
        write=True,
        delete=True,
        list=True,
        add=True,
        create=True,
    )
    cm = azure_cm(sas_token="?" + sas)
    cm.save(text("via sas"), "s.txt")
    cm.rename("s.txt", "t.txt")
    assert azure_cm.raw.read("t.txt") == b"via sas"
    assert not azure_cm.raw.exists("s.txt")


def test_read_only_sas_cannot_write(azure_cm, azure_settings):
    azure_cm.raw.put("r.txt", b"readable")
    cm = azure_cm(sas_token=container_sas(azure_settings, read=True, list=True))
    assert cm.get("r.txt")["content"] == "readable"
    with pytest.raises(HTTPError) as info:
        cm.save(text("x"), "w.txt")
    assert info.value.status_code == 403, info.value.log_message
    assert not azure_cm.raw.exists("w.txt")


def test_identity_settings_map_to_store_options():
    from s3contents_rs.azure import AzureTraits

    managed = AzureTraits(
        account="acct", use_managed_identity=True, client_id="user-assigned-id"
    )._azure_options()
    assert managed == {
        "azure_storage_account_name": "acct",
        "azure_credential_type": "managed_identity",
        "azure_storage_client_id": "user-assigned-id",
    }
    workload = AzureTraits(
        account="acct",
        client_id="app",
        tenant_id="tenant",
        federated_token_file="/var/run/secrets/azure/tokens/azure-identity-token",
    )._azure_options()
    assert workload["azure_federated_token_file"].endswith("azure-identity-token")
    assert workload["azure_storage_tenant_id"] == "tenant"
    principal = AzureTraits(
        account="acct", client_id="app", tenant_id="t", client_secret="s"
    )._azure_options()
    assert principal["azure_storage_client_secret"] == "s"


def test_missing_account_is_a_startup_error(monkeypatch):
    from s3contents_rs import AzureContentsManager

    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(TraitError, match="account"):
        AzureContentsManager(container="c")


# --------------------------------------------------------------------------- managed identity
def _jwt(claims: dict) -> str:
    """An unsigned-looking JWT: Azurite's "basic" OAuth checks issuer, audience and
    lifetime, not the signature (it cannot know Entra ID's keys)."""
    import base64
    import json

    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class _ManagedIdentityEndpoint:
    """The VM/App Service identity endpoint on loopback, handing out one token."""

    def __init__(self, audience: str):
        import json
        import time

        from support.login_fixtures import HttpsServer, QuietHandler

        now = int(time.time())
        token = _jwt(
            {
                "aud": audience,
                "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
                "iat": now - 60,
                "nbf": now - 60,
                "exp": now + 3600,
                "oid": "notebooks-identity",
            }
        )
        outer = self
        self.requests: list[tuple[str, str | None]] = []

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append((self.path, self.headers.get("metadata")))
                self.reply(
                    200,
                    json.dumps(
                        {
                            "access_token": token,
                            "expires_on": str(now + 3600),
                            "token_type": "Bearer",
                            "resource": "https://storage.azure.com",
                        }
                    ).encode(),
                )

        self.server = HttpsServer(Handler)
        self.url = f"{self.server.url}/metadata/identity/oauth2/token"

    def stop(self):
        self.server.stop()


@pytest.fixture(scope="module")
def azurite_oauth(tmp_path_factory):
    """A second Azurite, over HTTPS (self-signed) with OAuth bearer tokens accepted."""
    from support.backend_fixtures import AZURITE_ACCOUNT, AZURITE_KEY, ROOT, Server
    from support.net_proxies import self_signed_certificate

    azurite = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not azurite.exists():
        pytest.fail(
            f"{azurite} is missing: ./dev.sh setup installs Azurite from npm",
            pytrace=False,
        )
    workspace = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = self_signed_certificate(workspace)
    port = free_port()
    argv = [
        str(azurite),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
        "--oauth",
        "basic",
        "--cert",
        str(cert),
        "--key",
        str(key),
    ]
    server = Server(
        "azurite (https, oauth)", argv, workspace / "azurite.log", cwd=workspace
    )
    endpoint = f"https://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        import ssl
        import time
        import urllib.request

        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(
                    f"{endpoint}?comp=list", timeout=2, context=context
                )  # noqa: S310
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or server.proc.poll() is not None:
                    pytest.fail(
                        f"azurite (https) did not start; log:\n{server.log()}",
                        pytrace=False,
                    )
                time.sleep(0.2)
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            endpoint,
            credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
            connection_verify=False,
        )
        service.create_container("identity")
        yield endpoint, service.get_container_client("identity")
    finally:
        server.stop()


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_managed_identity(azurite_oauth, flavor, jp_asyncio_loop):
    from support.backend_fixtures import AZURITE_ACCOUNT
    from s3contents_rs import AsyncAzureContentsManager, AzureContentsManager

    endpoint, container = azurite_oauth
    cls = AsyncAzureContentsManager if flavor == "async" else AzureContentsManager
    identity = _ManagedIdentityEndpoint("https://storage.azure.com")
    wrong = _ManagedIdentityEndpoint("https://vault.azure.net")
    traits = {
        "account": AZURITE_ACCOUNT,
        "container": "identity",
        "endpoint_url": endpoint,
        "prefix": f"mi-{flavor}",
        "use_managed_identity": True,
        "client_id": "user-assigned-id",
    }
    try:
        cm = ManagerAdapter(
            cls(
                **traits,
                store_options={
                    "azure_msi_endpoint": identity.url,
                    "allow_invalid_certificates": "true",
                },
            ),
            flavor,
            jp_asyncio_loop,
        )
        cm.save(text("managed identity"), "m.txt")
        assert cm.get("m.txt")["content"] == "managed identity"

        refused = ManagerAdapter(
            cls(
                **traits,
                store_options={
                    "azure_msi_endpoint": wrong.url,
                    "allow_invalid_certificates": "true",
                },
            ),
            flavor,
            jp_asyncio_loop,
        )
        with pytest.raises(HTTPError) as info:
            refused.save(text("x"), "w.txt")
        assert info.value.status_code == 403, info.value.log_message
    finally:
        identity.stop()
        wrong.stop()
    assert (
        container.download_blob(f"mi-{flavor}/m.txt").readall() == b"managed identity"
    )
    path, metadata_header = identity.requests[0]
    assert (
        "resource=https%3A%2F%2Fstorage.azure.com" in path
        and "client_id=user-assigned-id" in path
    )
    assert metadata_header == "true"


class _EntraTokenEndpoint:
    """Microsoft Entra ID's token endpoint on loopback (behind a TLS proxy: object_store
    only asks it over HTTPS); records each request's form."""

    def __init__(self, directory):
        import json
        import time
        import urllib.parse

        from support.login_fixtures import HttpsServer, QuietHandler
        from support.net_proxies import TlsProxy

        now = int(time.time())
        token = _jwt(
            {
                "aud": "https://storage.azure.com",
                "iss": "https://sts.windows.net/tenant-1/",
                "iat": now - 60,
                "nbf": now - 60,
                "exp": now + 3600,
            }
        )
        outer = self
        self.requests: list[tuple[str, dict]] = []

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                form = urllib.parse.parse_qs(self.read_body().decode())
                outer.requests.append((self.path, {k: v[0] for k, v in form.items()}))
                self.reply(
                    200,
                    json.dumps(
                        {
                            "access_token": token,
                            "expires_in": 3600,
                            "token_type": "Bearer",
                        }
                    ).encode(),
                )

        self.server = HttpsServer(Handler)
        self.tls = TlsProxy(self.server.port, directory)
        self.url = self.tls.url

    def stop(self):
        self.tls.stop()
        self.server.stop()


@pytest.mark.parametrize("login", ["service principal", "workload identity"])
def test_entra_id_logins(azurite_oauth, login, tmp_path, jp_asyncio_loop):
    from support.backend_fixtures import AZURITE_ACCOUNT
    from s3contents_rs import AsyncAzureContentsManager

    endpoint, container = azurite_oauth
    entra = _EntraTokenEndpoint(tmp_path)
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-kubernetes-token")
    credentials = (
        {"client_secret": "principal-secret"}
        if login == "service principal"
        else {"federated_token_file": str(token_file)}
    )
    prefix = "sp" if login == "service principal" else "wi"
    try:
        cm = ManagerAdapter(
            AsyncAzureContentsManager(
                account=AZURITE_ACCOUNT,
                container="identity",
                endpoint_url=endpoint,
                prefix=prefix,
                client_id="app-id",
                tenant_id="tenant-1",
                **credentials,
                store_options={
                    "azure_storage_authority_host": entra.url,
                    "allow_invalid_certificates": "true",
                },
            ),
            "async",
            jp_asyncio_loop,
        )
        cm.save(text(login), "e.txt")
    finally:
        entra.stop()
    assert container.download_blob(f"{prefix}/e.txt").readall() == login.encode()
    path, form = entra.requests[0]
    assert path == "/tenant-1/oauth2/v2.0/token"
    assert form["client_id"] == "app-id" and form["grant_type"] == "client_credentials"
    if login == "service principal":
        assert form["client_secret"] == "principal-secret"
    else:
        assert form["client_assertion"] == "federated-kubernetes-token"


# ------------------------------------------------------------------ copies above the threshold
MiB = 1024 * 1024


class StoreLog(logging.Handler):
    """The store's debug lines (each request, with its status), through the manager's log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "s3contents_rs.store":
            self.lines.append(record.getMessage())


def logged_manager(azure_cm, azure_settings, **traits):
    log = logging.getLogger(f"test-azure-{uuid.uuid4().hex[:8]}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    records = StoreLog()
    log.addHandler(records)
    return azure_cm(account_key=azure_settings.key, log=log, **traits), records


def put_described(raw: RawAzure, path: str, data: bytes) -> None:
    """A blob with a content type and metadata, which a copy must keep."""
    from azure.storage.blob import ContentSettings

    raw.container.upload_blob(
        raw.key(path),
        data,
        overwrite=True,
        metadata={"owner": "ann"},
        content_settings=ContentSettings(content_type="application/x-test"),
    )


def assert_same_blob(raw: RawAzure, path: str, data: bytes) -> None:
    stored = raw.read(path)
    assert len(stored) == len(data)
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest(), (
        f"{path} differs"
    )
    props = raw.container.get_blob_client(raw.key(path)).get_blob_properties()
    assert props.content_settings.content_type == "application/x-test"
    assert props.metadata == {"owner": "ann"}


def status_reads(records: StoreLog, since: int, raw: RawAzure, path: str) -> list[str]:
    """The copy-status reads (HEAD of the target's blob URL) logged since `since`."""
    quoted = urllib.parse.quote(raw.key(path), safe="/")
    return [
        line
        for line in records.lines[since:]
        if line.startswith("HEAD http") and f"/{quoted} -> " in line
    ]


def test_copies_above_the_threshold_wait_for_the_copy(azure_cm, azure_settings):
    """With the threshold at 1 MiB, copy, rename, checkpoint, restore, trash and a folder
    rename of a 3 MiB blob read the target's copy status after Copy Blob (Azurite copies
    synchronously, so the first read says success), and every copy is the same bytes,
    content type and metadata."""
    cm, records = logged_manager(azure_cm, azure_settings, multipart_copy_threshold=MiB)
    raw = azure_cm.raw
    data = random.Random(1).randbytes(3 * MiB + 3)
    put_described(raw, "big/data.bin", data)

    def waited(target: str, operation, *args):
        since = len(records.lines)
        result = operation(*args)
        reads = status_reads(records, since, raw, target)
        assert reads and all(" -> 200 OK in " in line for line in reads), records.lines[
            since:
        ]
        return result

    copied = waited("big/copy.bin", cm.copy, "big/data.bin", "big/copy.bin")
    assert copied["path"] == "big/copy.bin" and copied["size"] == len(data)
    assert_same_blob(raw, "big/copy.bin", data)

    waited("big/renamed.bin", cm.rename, "big/copy.bin", "big/renamed.bin")
    assert not raw.exists("big/copy.bin")
    assert_same_blob(raw, "big/renamed.bin", data)

    checkpoint_key = "big/.ipynb_checkpoints/renamed-checkpoint.bin"
    checkpoint = waited(checkpoint_key, cm.create_checkpoint, "big/renamed.bin")
    assert_same_blob(raw, checkpoint_key, data)
    raw.put("big/renamed.bin", b"overwritten")
    waited(
        "big/renamed.bin", cm.restore_checkpoint, checkpoint["id"], "big/renamed.bin"
    )
    assert_same_blob(raw, "big/renamed.bin", data)

    cm.delete("big/renamed.bin")
    assert not raw.exists("big/renamed.bin")
    [trashed] = [
        k
        for k in raw.keys()
        if k.startswith(".Trash/") and k.endswith("big/renamed.bin")
    ]
    assert_same_blob(raw, trashed, data)

    waited("moved/data.bin", cm.rename, "big", "moved")
    assert_same_blob(raw, "moved/data.bin", data)

    # A copy onto an existing file is refused before anything is copied.
    raw.put("moved/other.bin", b"keep")
    expect_http(409, cm.copy, "moved/data.bin", "moved/other.bin")
    assert raw.read("moved/other.bin") == b"keep"


def test_files_at_or_below_the_threshold_are_not_waited_for(azure_cm, azure_settings):
    cm, records = logged_manager(azure_cm, azure_settings, multipart_copy_threshold=MiB)
    raw = azure_cm.raw
    data = random.Random(2).randbytes(MiB)
    put_described(raw, "small.bin", data)
    since = len(records.lines)
    cm.copy("small.bin", "small-copy.bin")
    assert status_reads(records, since, raw, "small-copy.bin") == []
    assert_same_blob(raw, "small-copy.bin", data)


@pytest.mark.parametrize("operation", ["copy", "rename", "checkpoint"])
def test_a_copy_whose_status_cannot_be_read_fails_and_leaves_no_target(
    azure_cm, azure_settings, operation
):
    """Azurite, behind the fault proxy, copies; every read of the target's copy status then
    fails (500, the retries included): the operation fails, no target is left (the copy is
    deleted) and the source is untouched. Without the fault it completes."""
    from support.fault_proxy import Fault, FaultProxy

    proxy = FaultProxy(azure_settings.endpoint_url)
    try:
        cm = azure_cm(
            account_key=azure_settings.key,
            multipart_copy_threshold=MiB,
            max_retries=0,
            endpoint_url=f"{proxy.url}/{azure_settings.account}",
        )
        raw = azure_cm.raw
        data = random.Random(4).randbytes(2 * MiB)
        put_described(raw, "src.bin", data)
        target = {
            "copy": "dst.bin",
            "rename": "dst.bin",
            "checkpoint": ".ipynb_checkpoints/src-checkpoint.bin",
        }[operation]
        target_path = (
            re.escape("/" + urllib.parse.quote(raw.key(target), safe="/")) + "$"
        )

        def fail_status_reads():
            # Armed by the Copy Blob itself, so the manager's own checks before it pass.
            proxy.add(
                Fault.error("InternalError"),
                method="HEAD",
                target=target_path,
                times=None,
            )

        proxy.add(
            Fault("call", callback=fail_status_reads), method="PUT", target=target_path
        )
        run = {
            "copy": lambda: cm.copy("src.bin", "dst.bin"),
            "rename": lambda: cm.rename("src.bin", "dst.bin"),
            "checkpoint": lambda: cm.create_checkpoint("src.bin"),
        }[operation]
        with pytest.raises(HTTPError) as info:
            run()
        assert info.value.status_code >= 500, info.value
        heads = [r for r in proxy.records if r.method == "HEAD" and r.fault == "status"]
        assert len(heads) >= 3, proxy.records  # the status read, retried
        assert not raw.exists(target)
        assert_same_blob(raw, "src.bin", data)

        proxy.reset()
        run()
        assert_same_blob(raw, target, data)
    finally:
        proxy.close()
