"""S3 (and S3-compatible: MinIO, Ceph, R2, ...) contents managers.

The traits have the names and meaning of the PyPI ``s3contents`` package, so an
existing jupyter config works after changing only the import line.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from traitlets import Any as AnyTrait
from traitlets import Bool, HasTraits, TraitError, Unicode, default, validate

from ._core import ContentsStore
from .async_contents import AsyncObjectStoreContentsManager
from .checkpoints import AsyncObjectStoreCheckpoints, ObjectStoreCheckpoints
from .contents import ObjectStoreContentsManager

# AWS default endpoint as s3contents spells it; it means "no custom endpoint".
_AWS_DEFAULT_ENDPOINTS = {"", "https://s3.amazonaws.com", "s3.amazonaws.com"}
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_ACCESS_POINT_ARN = re.compile(r"^arn:aws[a-z\-]*:s3:[a-z0-9\-]+:\d{12}:accesspoint[/:][A-Za-z0-9.\-]+$")
_SSE_VALUES = ("", "AES256", "aws:kms", "aws:kms:dsse")


def validate_bucket(user_bucket: str, log: Any = None) -> str:
    """The bucket name from ``bucket``, accepting the forms s3contents accepts
    (``s3://bucket/ignored``, ``bucket/ignored``), and checking S3 naming rules."""
    if not user_bucket:
        raise TraitError("bucket: no bucket configured")
    if _ACCESS_POINT_ARN.match(user_bucket.removeprefix("s3://")):
        return user_bucket.removeprefix("s3://")
    parsed = urlparse(user_bucket)
    if parsed.netloc:
        bucket = parsed.netloc
    elif parsed.scheme or parsed.params or parsed.query or parsed.fragment:
        raise TraitError(f"bucket: invalid bucket specification {user_bucket!r}")
    else:
        bucket = parsed.path.split("/", 1)[0]
    if bucket != user_bucket and log is not None:
        log.warning("bucket: assuming you meant %r; please set bucket=%r in your config", bucket, bucket)
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise TraitError(
            f"bucket: {bucket!r} is not a valid S3 bucket name (3-63 characters: "
            "lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)"
        )
    return bucket


class S3Traits(HasTraits):
    """Configuration of an S3 contents manager (names as in s3contents)."""

    bucket = Unicode("notebooks", help="Bucket name to store notebooks (s3://bucket/... is accepted).").tag(
        config=True, env="JPY_S3_BUCKET"
    )
    prefix = Unicode("", help="Prefix path inside the specified bucket.").tag(config=True, env="JPY_S3_PREFIX")
    endpoint_url = Unicode(
        "", help="S3 endpoint URL, e.g. http://127.0.0.1:9000 for MinIO. Empty: AWS for region_name."
    ).tag(config=True, env="JPY_S3_ENDPOINT_URL")
    region_name = Unicode("us-east-1", help="Region name.").tag(config=True, env="JPY_S3_REGION_NAME")
    access_key_id = Unicode(None, allow_none=True, help="S3/AWS access key ID.").tag(
        config=True, env="JPY_S3_ACCESS_KEY_ID"
    )
    secret_access_key = Unicode(None, allow_none=True, help="S3/AWS secret access key.").tag(
        config=True, env="JPY_S3_SECRET_ACCESS_KEY"
    )
    session_token = Unicode(None, allow_none=True, help="S3/AWS session token.").tag(
        config=True, env="JPY_S3_SESSION_TOKEN"
    )
    anon = Bool(False, help="Anonymous access: send unsigned requests.").tag(config=True, env="JPY_S3_ANON")
    signature_version = Unicode(
        "", help="Signature version: '' or 's3v4' (SigV4), or 'UNSIGNED' (same as anon)."
    ).tag(config=True, env="JPY_S3_SIGNATURE_VERSION")
    sse = Unicode("", help="Server-side encryption: '', 'AES256', 'aws:kms' or 'aws:kms:dsse'.").tag(
        config=True, env="JPY_S3_SSE"
    )
    kms_key_id = Unicode("", help="KMS key id used with sse='aws:kms'.").tag(config=True, env="JPY_S3_KMS_KEY_ID")
    skip_tls_verify = Bool(False, help="Skip TLS certificate verification of the endpoint.").tag(
        config=True, env="JPYNB_S3_SKIP_TLS_VERIFY"
    )
    delimiter = Unicode("/", help="Path delimiter (only '/' is supported).").tag(config=True)
    init_s3_hook = AnyTrait(
        None, allow_none=True, help="Callable run with the manager before connecting (may set boto3_session)."
    ).tag(config=True)
    boto3_session = AnyTrait(
        None, allow_none=True, help="A boto3/botocore session whose credentials are used (set by init_s3_hook)."
    )
    s3fs_additional_kwargs = AnyTrait(
        None, allow_none=True, help="s3contents compatibility: ServerSideEncryption and SSEKMSKeyId are honoured."
    ).tag(config=True)
    s3fs_config_kwargs = AnyTrait(
        None, allow_none=True, help="s3contents compatibility: signature_version is honoured."
    ).tag(config=True)

    @validate("endpoint_url")
    def _validate_endpoint_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        if value in _AWS_DEFAULT_ENDPOINTS:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TraitError(f"endpoint_url: {value!r} must be an http:// or https:// URL")
        return value.rstrip("/")

    @validate("sse")
    def _validate_sse(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in _SSE_VALUES:
            raise TraitError(f"sse: {proposal['value']!r} is not one of {', '.join(map(repr, _SSE_VALUES))}")
        return proposal["value"]

    @validate("signature_version")
    def _validate_signature_version(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if str(value).lower() not in ("", "s3v4", "v4", "unsigned"):
            raise TraitError(f"signature_version: {value!r} is not supported (use 's3v4' or 'UNSIGNED')")
        return str(value)

    @validate("delimiter")
    def _validate_delimiter(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] != "/":
            raise TraitError("delimiter: only '/' is supported")
        return proposal["value"]

    @validate("init_s3_hook")
    def _validate_init_s3_hook(self, proposal: dict[str, Any]) -> Any:
        value = proposal["value"]
        if isinstance(value, str):
            from traitlets.utils.importstring import import_item

            value = import_item(value)
        if value is not None and not callable(value):
            raise TraitError("init_s3_hook must be callable")
        return value

    def _s3_options(self) -> dict[str, str]:
        """object_store options for these traits (secrets stay inside the store)."""
        options: dict[str, str] = {"aws_region": self.region_name or "us-east-1"}
        if self.endpoint_url:
            options["aws_endpoint"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["aws_allow_http"] = "true"
        access_key, secret_key, token = self.access_key_id, self.secret_access_key, self.session_token
        if not access_key and self.boto3_session is not None:
            access_key, secret_key, token = _session_credentials(self.boto3_session)
        if access_key:
            options["aws_access_key_id"] = access_key
        if secret_key:
            options["aws_secret_access_key"] = secret_key
        if token:
            options["aws_session_token"] = token
        signature = self.signature_version
        if isinstance(self.s3fs_config_kwargs, dict):
            signature = signature or str(self.s3fs_config_kwargs.get("signature_version", ""))
        if self.anon or signature.lower() == "unsigned":
            options["aws_skip_signature"] = "true"
        sse, kms_key = self.sse, self.kms_key_id
        if isinstance(self.s3fs_additional_kwargs, dict):
            sse = sse or self.s3fs_additional_kwargs.get("ServerSideEncryption", "")
            kms_key = kms_key or self.s3fs_additional_kwargs.get("SSEKMSKeyId", "")
        if sse:
            options["aws_server_side_encryption"] = sse
        if kms_key:
            options["aws_sse_kms_key_id"] = kms_key
        if self.skip_tls_verify:
            options["allow_invalid_certificates"] = "true"
        return options

    def _open_store(self) -> ContentsStore:
        if self.init_s3_hook is not None:
            self.init_s3_hook(self)
        self.bucket = validate_bucket(self.bucket, getattr(self, "log", None))
        return ContentsStore(f"s3://{self.bucket}", self.prefix, self._s3_options(), **self._store_kwargs())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} bucket={self.bucket!r} prefix={self.prefix!r} endpoint={self.endpoint_url or 'AWS'!r}>"


def _session_credentials(session: Any) -> tuple[str | None, str | None, str | None]:
    """Credentials of a boto3 Session or botocore session, as a snapshot."""
    getter = getattr(session, "get_credentials", None)
    credentials = getter() if getter else None
    if credentials is None:
        return None, None, None
    frozen = credentials.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


class S3Checkpoints(ObjectStoreCheckpoints):
    """Checkpoints of S3ContentsManager, stored in the bucket."""


class AsyncS3Checkpoints(AsyncObjectStoreCheckpoints):
    """Checkpoints of AsyncS3ContentsManager, stored in the bucket."""


class S3ContentsManager(S3Traits, ObjectStoreContentsManager):
    """Notebooks, files and folders in an S3 bucket (blocking; for HybridContentsManager)."""

    @default("checkpoints_class")
    def _checkpoints_class_default(self) -> type:
        return S3Checkpoints


class AsyncS3ContentsManager(S3Traits, AsyncObjectStoreContentsManager):
    """Notebooks, files and folders in an S3 bucket; never blocks the server's event loop."""

    @default("checkpoints_class")
    def _checkpoints_class_default(self) -> type:
        return AsyncS3Checkpoints
