"""What only Azure does: its traits and ways to log in, against Azurite.

The Contents API itself runs on Azure in test_backends.py. Azurite checks shared-key
and SAS signatures; it accepts bearer tokens only over HTTPS with OAuth enabled, so
managed and workload identity are checked as configuration here (README says so).
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from backend_fixtures import RawAzure
from s3c_helpers import ManagerAdapter
from tornado.web import HTTPError
from traitlets import TraitError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["sync", "async"])
def azure_cm(request, azure_settings, jp_asyncio_loop):
    from s3contents_rs import AsyncAzureContentsManager, AzureContentsManager

    cls = AsyncAzureContentsManager if request.param == "async" else AzureContentsManager
    prefix = f"test-{uuid.uuid4().hex}"
    raw = RawAzure(azure_settings, prefix)

    def make(**traits) -> ManagerAdapter:
        kwargs = {"account": azure_settings.account, "container": azure_settings.container,
                  "endpoint_url": azure_settings.endpoint_url, "prefix": prefix, **traits}
        return ManagerAdapter(cls(**kwargs), request.param, jp_asyncio_loop)

    make.raw = raw
    yield make
    raw.delete_all()


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


def container_sas(settings, **permissions) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        settings.account, settings.container, account_key=settings.key,
        permission=ContainerSasPermissions(**permissions),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1),
    )


def test_import_paths_and_traits():
    import s3contents_rs
    import s3contents_rs.azure as azure
    from jupyter_server.services.contents.manager import AsyncContentsManager, ContentsManager

    assert s3contents_rs.AzureContentsManager is azure.AzureContentsManager
    assert issubclass(azure.AzureContentsManager, ContentsManager)
    assert issubclass(azure.AsyncAzureContentsManager, AsyncContentsManager)
    traits = azure.AzureContentsManager.class_traits()
    for name in ("account", "container", "prefix", "endpoint_url", "account_key", "sas_token",
                 "client_id", "client_secret", "tenant_id", "federated_token_file", "use_managed_identity"):
        assert traits[name].metadata.get("config") is True, name


def test_account_key(azure_cm, azure_settings):
    cm = azure_cm(account_key=azure_settings.key, container=f"az://{azure_settings.container}/ignored")
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
    sas = container_sas(azure_settings, read=True, write=True, delete=True, list=True, add=True, create=True)
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

    managed = AzureTraits(account="acct", use_managed_identity=True, client_id="user-assigned-id")._azure_options()
    assert managed == {"azure_storage_account_name": "acct", "azure_credential_type": "managed_identity",
                       "azure_storage_client_id": "user-assigned-id"}
    workload = AzureTraits(account="acct", client_id="app", tenant_id="tenant",
                           federated_token_file="/var/run/secrets/azure/tokens/azure-identity-token")._azure_options()
    assert workload["azure_federated_token_file"].endswith("azure-identity-token")
    assert workload["azure_storage_tenant_id"] == "tenant"
    principal = AzureTraits(account="acct", client_id="app", tenant_id="t", client_secret="s")._azure_options()
    assert principal["azure_storage_client_secret"] == "s"


def test_missing_account_is_a_startup_error(monkeypatch):
    from s3contents_rs import AzureContentsManager

    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(TraitError, match="account"):
        AzureContentsManager(container="c")
