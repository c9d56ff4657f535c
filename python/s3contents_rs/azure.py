"""Azure Blob Storage contents managers.

Credentials, in the order they are tried when several are set: ``account_key``,
``sas_token``, a service principal (``client_id`` + ``client_secret`` + ``tenant_id``),
workload identity (``client_id`` + ``tenant_id`` + ``federated_token_file``, as AKS sets
them in AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE), then managed
identity (the instance metadata endpoint, or IDENTITY_ENDPOINT on App Service).
With none configured, object_store's own lookup of the AZURE_* variables applies.
"""

from __future__ import annotations

from typing import Any, Callable, Optional
from urllib.parse import urlparse

from traitlets import Bool, HasTraits, TraitError, Unicode, default, validate

from .async_contents import AsyncObjectStoreCheckpoints, AsyncObjectStoreContentsManager
from .contents import ObjectStoreCheckpoints, ObjectStoreContentsManager


class AzureTraits(HasTraits):
    """Configuration of an Azure Blob Storage contents manager."""

    account = Unicode("", help="Storage account name.").tag(config=True)
    container = Unicode(
        "notebooks",
        help="Blob container holding the notebooks (az://container is accepted).",
    ).tag(config=True)
    prefix = Unicode("", help="Prefix path inside the container.").tag(config=True)
    endpoint_url = Unicode(
        "",
        help="""Blob service endpoint including the account, e.g.
        http://127.0.0.1:10000/devstoreaccount1 for Azurite. Empty: https://<account>.blob.core.windows.net.""",
    ).tag(config=True)
    account_key = Unicode(
        None, allow_none=True, help="Storage account access key (shared key)."
    ).tag(config=True)
    sas_token = Unicode(
        None,
        allow_none=True,
        help="Shared access signature (query string, with or without '?').",
    ).tag(config=True)
    client_id = Unicode(
        None,
        allow_none=True,
        help="Client id of a service principal, workload identity or user-assigned managed identity.",
    ).tag(config=True)
    client_secret = Unicode(
        None, allow_none=True, help="Service principal secret."
    ).tag(config=True)
    tenant_id = Unicode(None, allow_none=True, help="Microsoft Entra tenant id.").tag(
        config=True
    )
    federated_token_file = Unicode(
        None,
        allow_none=True,
        help="Workload identity token file (AZURE_FEDERATED_TOKEN_FILE on AKS).",
    ).tag(config=True)
    use_managed_identity = Bool(
        False,
        help="Use the managed identity of the VM / container (with client_id for a user-assigned one).",
    ).tag(config=True)
    anon = Bool(
        False, help="Anonymous access to a public container: unsigned requests."
    ).tag(config=True)

    @validate("container")
    def _validate_container(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        for scheme in ("az://", "azure://"):
            value = value.removeprefix(scheme)
        value = value.split("/", 1)[0]
        if not value:
            raise TraitError("container: no container configured")
        return value

    @validate("endpoint_url")
    def _validate_endpoint_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip().rstrip("/")
        if value and urlparse(value).scheme not in ("http", "https"):
            raise TraitError(
                f"endpoint_url: {value!r} must be an http:// or https:// URL"
            )
        return value

    @default("account")
    def _account_default(self) -> str:
        import os

        return os.environ.get("AZURE_STORAGE_ACCOUNT_NAME", "")

    def _azure_options(self) -> dict[str, str]:
        options: dict[str, str] = {}
        if self.account:
            options["azure_storage_account_name"] = self.account
        if self.endpoint_url:
            options["azure_storage_endpoint"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["azure_allow_http"] = "true"
        if self.anon:
            options["azure_skip_signature"] = "true"
        if self.account_key:
            options["azure_storage_account_key"] = self.account_key
        if self.sas_token:
            options["azure_storage_sas_key"] = self.sas_token.lstrip("?")
        if self.client_id:
            options["azure_storage_client_id"] = self.client_id
        if self.client_secret:
            options["azure_storage_client_secret"] = self.client_secret
        if self.tenant_id:
            options["azure_storage_tenant_id"] = self.tenant_id
        if self.federated_token_file:
            options["azure_federated_token_file"] = self.federated_token_file
        if self.use_managed_identity:
            options["azure_credential_type"] = "managed_identity"
        return options

    def _store_location(
        self,
    ) -> tuple[str, dict[str, str], Optional[Callable[[], Any]]]:
        if not self.account and not self.endpoint_url:
            raise TraitError(
                "account: no storage account configured (or set AZURE_STORAGE_ACCOUNT_NAME)"
            )
        return f"az://{self.container}", self._azure_options(), None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} account={self.account!r} container={self.container!r} prefix={self.prefix!r}>"


class AzureCheckpoints(ObjectStoreCheckpoints):
    """Checkpoints of AzureContentsManager, stored in the container."""


class AsyncAzureCheckpoints(AsyncObjectStoreCheckpoints):
    """Checkpoints of AsyncAzureContentsManager, stored in the container."""


class AzureContentsManager(AzureTraits, ObjectStoreContentsManager):
    """Notebooks, files and folders in Azure Blob Storage (blocking; for HybridContentsManager)."""

    default_checkpoints_class = AzureCheckpoints


class AsyncAzureContentsManager(AzureTraits, AsyncObjectStoreContentsManager):
    """Notebooks, files and folders in Azure Blob Storage; never blocks the server's event loop."""

    default_checkpoints_class = AsyncAzureCheckpoints
