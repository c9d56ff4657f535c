"""Google Cloud Storage contents managers.

The traits have the names of the PyPI ``s3contents`` GCS manager (``project``, ``token``,
``bucket``, ``prefix``, ``region_name``, ``separator``); the store is object_store's GCS
client behind the same core as every other backend.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional

from traitlets import HasTraits, TraitError, Unicode, validate

from .async_contents import AsyncObjectStoreCheckpoints, AsyncObjectStoreContentsManager
from .contents import ObjectStoreCheckpoints, ObjectStoreContentsManager

# gcsfs token values that mean "find credentials yourself" (ADC file, then metadata server).
_DEFAULT_CHAIN_TOKENS = ("", "google_default", "cloud")


class GCSTraits(HasTraits):
    """Configuration of a GCS contents manager (names as in s3contents)."""

    project = Unicode(
        None,
        allow_none=True,
        help="GCP project (accepted for compatibility; not needed to read or write objects).",
    ).tag(config=True, env="JPYNB_GCS_PROJECT")
    token = Unicode(
        None,
        allow_none=True,
        help="""Credentials: path to a service-account JSON key or an authorized-user
        (application default credentials) JSON file; "anon" for unauthenticated requests;
        empty/"google_default"/"cloud" for the default chain (GOOGLE_APPLICATION_CREDENTIALS,
        ~/.config/gcloud/application_default_credentials.json, then the metadata server).""",
    ).tag(config=True, env="JPYNB_GCS_TOKEN_PATH")
    region_name = Unicode("us-east-1", help="Accepted for compatibility; GCS needs no region.").tag(
        config=True, env="JPYNB_GCS_REGION_NAME"
    )
    bucket = Unicode("notebooks", help="Bucket name to store notebooks (gs://bucket is accepted).").tag(
        config=True, env="JPYNB_GCS_BUCKET"
    )
    prefix = Unicode("", help="Prefix path inside the specified bucket.").tag(config=True)
    separator = Unicode("/", help="Path separator (only '/' is supported).").tag(config=True)
    endpoint_url = Unicode(
        "",
        help="""GCS endpoint, e.g. http://127.0.0.1:4443 for fake-gcs-server. Empty: the
        STORAGE_EMULATOR_HOST environment variable if set (as Google's client libraries do),
        else Google.""",
    ).tag(config=True)

    @validate("separator")
    def _validate_separator(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"]
        if value != "/":
            raise TraitError("separator: only '/' is supported")
        return value

    @validate("bucket")
    def _validate_bucket(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"].strip()
        value = value.removeprefix("gs://").removeprefix("gcs://").split("/", 1)[0]
        if not value:
            raise TraitError("bucket: no bucket configured")
        return value

    @validate("endpoint_url")
    def _validate_endpoint_url(self, proposal: dict[str, Any]) -> str:
        value: str = proposal["value"].strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise TraitError(f"endpoint_url: {value!r} must be an http:// or https:// URL")
        return value

    def _emulator_host(self) -> str:
        host = os.environ.get("STORAGE_EMULATOR_HOST", "").strip().rstrip("/")
        if host and "://" not in host:
            host = f"http://{host}"
        return host

    def _gcs_options(self) -> dict[str, str]:
        options: dict[str, str] = {}
        emulator = self._emulator_host()
        endpoint = self.endpoint_url or emulator
        if endpoint:
            options["google_base_url"] = endpoint
            if endpoint.startswith("http://"):
                options["allow_http"] = "true"
        token = (self.token or "").strip()
        if token == "anon" or (not token and emulator and not self.endpoint_url):
            # Google's client libraries talk to an emulator without credentials.
            options["google_skip_signature"] = "true"
        elif token not in _DEFAULT_CHAIN_TOKENS:
            options.update(_credentials_file_options(os.path.expanduser(token)))
        return options

    def _store_location(
        self,
    ) -> tuple[str, dict[str, str], Optional[Callable[[], Any]]]:
        return f"gs://{self.bucket}", self._gcs_options(), None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} bucket={self.bucket!r} prefix={self.prefix!r}>"


def _credentials_file_options(path: str) -> dict[str, str]:
    """object_store options for a credentials JSON file, by its ``type``."""
    try:
        with open(path, encoding="utf-8") as f:
            kind = json.load(f).get("type")
    except (OSError, ValueError) as e:
        raise TraitError(f"token: cannot read the credentials file {path!r}: {e}") from e
    if kind == "service_account":
        return {"google_service_account": path}
    if kind == "authorized_user":
        return {"google_application_credentials": path}
    raise TraitError(f"token: {path!r} has credentials of type {kind!r}; use a service_account or authorized_user file")


class GCSCheckpoints(ObjectStoreCheckpoints):
    """Checkpoints of GCSContentsManager, stored in the bucket."""


class AsyncGCSCheckpoints(AsyncObjectStoreCheckpoints):
    """Checkpoints of AsyncGCSContentsManager, stored in the bucket."""


class GCSContentsManager(GCSTraits, ObjectStoreContentsManager):
    """Notebooks, files and folders in a GCS bucket (blocking; for HybridContentsManager)."""

    default_checkpoints_class = GCSCheckpoints


class AsyncGCSContentsManager(GCSTraits, AsyncObjectStoreContentsManager):
    """Notebooks, files and folders in a GCS bucket; never blocks the server's event loop."""

    default_checkpoints_class = AsyncGCSCheckpoints
