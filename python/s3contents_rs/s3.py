"""S3 (and S3-compatible: MinIO, Ceph, R2, ...) contents managers.

The traits have the names and meaning of the PyPI ``s3contents`` package, so an
existing jupyter config works after changing only the import line.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Any, Callable, Optional
from urllib.parse import urlparse

from traitlets import Any as AnyTrait
from traitlets import Bool, Enum, HasTraits, TraitError, Unicode, default, validate

from .async_contents import AsyncObjectStoreCheckpoints, AsyncObjectStoreContentsManager
from .contents import ObjectStoreCheckpoints, ObjectStoreContentsManager
from .exceptions import PermissionDeniedError

# AWS default endpoint as s3contents spells it; it means "no custom endpoint".
_AWS_DEFAULT_ENDPOINTS = {"", "https://s3.amazonaws.com", "s3.amazonaws.com"}
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_ACCESS_POINT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):s3:(?P<region>[a-z0-9\-]+):(?P<account>\d{12}):accesspoint[/:](?P<name>[a-z0-9\-]+)$"
)
_SSE_VALUES = ("", "AES256", "aws:kms", "aws:kms:dsse")


class BucketNameError(TraitError, ValueError):
    """``bucket`` cannot name a bucket (a ValueError too, as s3contents raises)."""


# Names S3 still serves but no longer lets anyone create: legacy us-east-1 buckets may
# have upper case and underscores, and up to 255 characters.
_LEGACY_BUCKET_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,255}$")


def validate_bucket(user_bucket: str, log: Any = None) -> str:
    """The bucket name from ``bucket``, accepting the forms s3contents accepts
    (``s3://bucket/ignored``, ``bucket/ignored``). A name outside today's S3 naming rules
    that a legacy bucket may still have (upper case, underscores) is kept, with a warning;
    anything else is refused."""
    if not user_bucket:
        raise BucketNameError("bucket: no bucket configured")
    if _ACCESS_POINT_ARN.match(user_bucket.removeprefix("s3://")):
        return user_bucket.removeprefix("s3://")
    parsed = urlparse(user_bucket)
    if parsed.netloc:
        bucket = parsed.netloc
    elif parsed.scheme or parsed.params or parsed.query or parsed.fragment:
        raise BucketNameError(f"bucket: invalid bucket specification {user_bucket!r}")
    else:
        bucket = parsed.path.lstrip("/").split("/", 1)[0]
    if bucket != user_bucket and log is not None:
        log.warning(
            "bucket: assuming you meant %r; please set bucket=%r in your config",
            bucket,
            bucket,
        )
    if _BUCKET_NAME.match(bucket) and ".." not in bucket:
        return bucket
    if _LEGACY_BUCKET_NAME.match(bucket) and bucket.strip(".") and ".." not in bucket:
        if log is not None:
            log.warning(
                "bucket: %r does not follow today's S3 bucket naming rules (3-63 characters: lowercase "
                "letters, digits, dots and hyphens); only an old us-east-1 bucket can have such a name, "
                "and it must be addressed path-style (addressing_style = 'path', the default)",
                bucket,
            )
        return bucket
    raise BucketNameError(
        f"bucket: {bucket!r} is not a valid S3 bucket name (3-63 characters: "
        "lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit; "
        "old us-east-1 buckets may also have upper case letters and underscores)"
    )


class S3Traits(HasTraits):
    """Configuration of an S3 contents manager (names as in s3contents)."""

    bucket = Unicode(
        "notebooks",
        help="Bucket name to store notebooks (s3://bucket/... is accepted).",
    ).tag(config=True, env="JPY_S3_BUCKET")
    prefix = Unicode("", help="Prefix path inside the specified bucket.").tag(
        config=True, env="JPY_S3_PREFIX"
    )
    endpoint_url = Unicode(
        "",
        help="S3 endpoint URL, e.g. http://127.0.0.1:9000 for MinIO. Empty: AWS for region_name.",
    ).tag(config=True, env="JPY_S3_ENDPOINT_URL")
    region_name = Unicode(
        help="Region name (default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1)."
    ).tag(config=True, env="JPY_S3_REGION_NAME")
    access_key_id = Unicode(None, allow_none=True, help="S3/AWS access key ID.").tag(
        config=True, env="JPY_S3_ACCESS_KEY_ID"
    )
    secret_access_key = Unicode(
        None, allow_none=True, help="S3/AWS secret access key."
    ).tag(config=True, env="JPY_S3_SECRET_ACCESS_KEY", secret=True)
    session_token = Unicode(None, allow_none=True, help="S3/AWS session token.").tag(
        config=True, env="JPY_S3_SESSION_TOKEN", secret=True
    )
    anon = Bool(False, help="Anonymous access: send unsigned requests.").tag(
        config=True, env="JPY_S3_ANON"
    )
    signature_version = Unicode(
        "",
        help="Signature version: '' or 's3v4' (SigV4), or 'UNSIGNED' (same as anon).",
    ).tag(config=True, env="JPY_S3_SIGNATURE_VERSION")
    sse = Unicode(
        "", help="Server-side encryption: '', 'AES256', 'aws:kms' or 'aws:kms:dsse'."
    ).tag(config=True, env="JPY_S3_SSE")
    kms_key_id = Unicode("", help="KMS key id used with sse='aws:kms'.").tag(
        config=True, env="JPY_S3_KMS_KEY_ID"
    )
    skip_tls_verify = Bool(
        False, help="Skip TLS certificate verification of the endpoint."
    ).tag(config=True, env="JPYNB_S3_SKIP_TLS_VERIFY")
    delimiter = Unicode("/", help="Path delimiter (only '/' is supported).").tag(
        config=True
    )
    addressing_style = Enum(
        ["auto", "path", "virtual"],
        "auto",
        help="""Bucket addressing: 'path' (endpoint/bucket/key) or 'virtual'
        (bucket.endpoint/key). 'auto': path style, unless s3fs_config_kwargs asks otherwise.""",
    ).tag(config=True)
    credential_provider = AnyTrait(
        None,
        allow_none=True,
        help="""Callable (or import string) returning fresh credentials: (access_key,
        secret_key, token, expiry) or a dict with those keys. It is called again shortly
        before `expiry` (a datetime or Unix seconds; None = never expires).""",
    ).tag(config=True)
    init_s3_hook = AnyTrait(
        None,
        allow_none=True,
        help="Callable run with the manager before connecting (may set boto3_session).",
    ).tag(config=True)
    boto3_session = AnyTrait(
        None,
        allow_none=True,
        help="A boto3/botocore session whose credentials are used (set by init_s3_hook).",
    )
    s3fs_additional_kwargs = AnyTrait(
        None,
        allow_none=True,
        help="s3contents compatibility: ServerSideEncryption and SSEKMSKeyId are honoured.",
    ).tag(config=True)
    s3fs_config_kwargs = AnyTrait(
        None,
        allow_none=True,
        help="s3contents compatibility: signature_version is honoured.",
    ).tag(config=True)

    @default("region_name")
    def _region_name_default(self) -> str:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region and self._aws_profile() is not None:
            region = self._aws_profile().region
        return region or "us-east-1"

    @validate("endpoint_url")
    def _validate_endpoint_url(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"].strip()
        if value in _AWS_DEFAULT_ENDPOINTS:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TraitError(
                f"endpoint_url: {value!r} must be an http:// or https:// URL"
            )
        return value.rstrip("/")

    @validate("sse")
    def _validate_sse(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in _SSE_VALUES:
            raise TraitError(
                f"sse: {proposal['value']!r} is not one of {', '.join(map(repr, _SSE_VALUES))}"
            )
        return proposal["value"]

    @validate("signature_version")
    def _validate_signature_version(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if str(value).lower() not in ("", "s3v4", "v4", "unsigned"):
            raise TraitError(
                f"signature_version: {value!r} is not supported (use 's3v4' or 'UNSIGNED')"
            )
        return str(value)

    @validate("delimiter")
    def _validate_delimiter(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] != "/":
            raise TraitError("delimiter: only '/' is supported")
        return proposal["value"]

    @validate("init_s3_hook", "credential_provider")
    def _validate_callable(self, proposal: dict[str, Any]) -> Any:
        value = proposal["value"]
        if isinstance(value, str):
            from traitlets.utils.importstring import import_item

            value = import_item(value)
        if value is not None and not callable(value):
            raise TraitError(f"{proposal['trait'].name} must be callable")
        return value

    def _s3_options(self) -> dict[str, str]:
        """object_store options for these traits (secrets stay inside the store).

        With no keys, no session and no provider, nothing about credentials is set, so
        object_store's own chain applies: AWS_* variables, web identity (EKS IRSA),
        ECS/EKS container credentials, then EC2 instance metadata."""
        options: dict[str, str] = {}
        if self.region_name:
            options["aws_region"] = self.region_name
        if self.endpoint_url:
            options["aws_endpoint"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["aws_allow_http"] = "true"
        if self.access_key_id:
            options["aws_access_key_id"] = self.access_key_id
        if self.secret_access_key:
            options["aws_secret_access_key"] = self.secret_access_key
        if self.session_token:
            options["aws_session_token"] = self.session_token
        signature = self.signature_version
        config_kwargs = (
            self.s3fs_config_kwargs if isinstance(self.s3fs_config_kwargs, dict) else {}
        )
        signature = signature or str(config_kwargs.get("signature_version", ""))
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
        style = self.addressing_style
        if style == "auto":
            style = str((config_kwargs.get("s3") or {}).get("addressing_style", "auto"))
        if style == "virtual":
            options["aws_virtual_hosted_style_request"] = "true"
            if self.endpoint_url:
                # object_store expects the bucket already in a virtual-hosted endpoint.
                scheme, _, host = self.endpoint_url.partition("://")
                options["aws_endpoint"] = f"{scheme}://{self.bucket}.{host}"
        return options

    def _credential_callback(self) -> Optional[Callable[[], Any]]:
        """A callback the core asks for fresh credentials, when they come from Python."""
        if self.access_key_id or self.anon:
            return None
        if self.credential_provider is not None:
            return _normalized(self.credential_provider)
        if self.boto3_session is not None:
            return _normalized(_session_provider(self.boto3_session))
        profile = self._aws_profile()
        if profile is not None and profile.provider is not None:
            return _normalized(profile.provider)
        return None

    def _aws_profile(self) -> Optional[AwsProfile]:
        """The shared-config profile whose credentials apply when none are configured here,
        found once (see `AwsProfile.find`)."""
        if "_aws_profile_found" not in self.__dict__:
            explicit = (
                self.access_key_id
                or self.anon
                or self.credential_provider
                or self.boto3_session
            )
            self.__dict__["_aws_profile_found"] = (
                None if explicit else AwsProfile.find()
            )
        return self.__dict__["_aws_profile_found"]

    def _store_location(
        self,
    ) -> tuple[str, dict[str, str], Optional[Callable[[], Any]]]:
        if self.init_s3_hook is not None:
            self.init_s3_hook(self)
        self.bucket = validate_bucket(self.bucket, getattr(self, "log", None))
        access_point = _ACCESS_POINT_ARN.match(self.bucket)
        if access_point:
            return _access_point_location(
                access_point, self._s3_options(), self._credential_callback()
            )
        return f"s3://{self.bucket}", self._s3_options(), self._credential_callback()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} bucket={self.bucket!r} prefix={self.prefix!r} endpoint={self.endpoint_url or 'AWS'!r}>"


# Profile settings that give credentials (any other profile only sets a region etc.).
_CREDENTIAL_SETTINGS = frozenset(
    {
        "aws_access_key_id",
        "role_arn",
        "credential_process",
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "web_identity_token_file",
        "credential_source",
        "login_session",
    }
)


class AwsProfile:
    """A profile of the AWS shared files (``~/.aws/credentials``, ``~/.aws/config``), which
    boto3 and so ``s3contents`` read and object_store does not.

    As botocore does: keys in AWS_ACCESS_KEY_ID win over any profile; AWS_PROFILE (or
    AWS_DEFAULT_PROFILE) names the profile, and naming one that does not exist stops the
    server; without a name, the ``default`` profile applies when the files have one and no
    web identity (EKS IRSA) is configured. With botocore installed, its session resolves the
    profile, so role_arn/source_profile, SSO and credential_process profiles work and are
    refreshed; without it the profile's static keys are read."""

    def __init__(
        self, name: str, provider: Optional[Callable[[], Any]], region: Optional[str]
    ):
        self.name = name
        self.provider = provider
        self.region = region

    @classmethod
    def find(cls) -> Optional[AwsProfile]:
        if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get(
            "AWS_SECRET_ACCESS_KEY"
        ):
            return None
        named = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        if (
            not named
            and os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
            and os.environ.get("AWS_ROLE_ARN")
        ):
            return None
        name = named or "default"
        credentials_file, config_file = _aws_shared_files()
        sections = _read_ini(credentials_file), _read_ini(config_file)
        in_credentials = sections[0].get(name)
        in_config = sections[1].get(name if name == "default" else f"profile {name}")
        if in_config is None and name != "default":
            in_config = sections[1].get(name)
        if in_credentials is None and in_config is None:
            if named:
                raise TraitError(
                    f"AWS_PROFILE: the profile {name!r} is in neither {credentials_file} nor {config_file} "
                    "(AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE choose other files)"
                )
            return None
        merged = {**(in_config or {}), **(in_credentials or {})}
        region = merged.get("region")
        if not _CREDENTIAL_SETTINGS.intersection(merged):
            # Like botocore: a profile without credentials (only a region, say) leaves
            # them to the rest of the chain (web identity, containers, instance metadata).
            return cls(name, None, region) if named else None
        session = _botocore_session(name)
        if session is not None:
            return cls(name, _session_provider(session), region)
        key, secret = (
            merged.get("aws_access_key_id"),
            merged.get("aws_secret_access_key"),
        )
        if not key or not secret:
            raise TraitError(
                f"AWS_PROFILE: the profile {name!r} has no aws_access_key_id/aws_secret_access_key; "
                "install botocore (pip install boto3) to use role, SSO or credential_process profiles"
            )
        static = (key, secret, merged.get("aws_session_token") or None, None)
        return cls(name, lambda: static, region)


def _aws_shared_files() -> tuple[str, str]:
    home = os.path.expanduser("~")
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
        home, ".aws", "credentials"
    )
    config = os.environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")
    return os.path.expanduser(credentials), os.path.expanduser(config)


def _read_ini(path: str) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as e:
        raise TraitError(f"AWS_PROFILE: cannot parse {path}: {e}") from e
    return {section: dict(parser.items(section)) for section in parser.sections()}


def _botocore_session(profile: str) -> Any:
    """A botocore session for the profile, with credentials, or None without botocore."""
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:
        return None
    session = botocore.session.Session(profile=profile)
    try:
        if not session.get_config_variable("region"):
            # The STS client of a role profile needs one; ours defaults to us-east-1 too.
            session.set_config_variable("region", "us-east-1")
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as e:
        raise TraitError(
            f"AWS_PROFILE: the profile {profile!r} cannot be used: {e}"
        ) from e
    if credentials is None:
        raise TraitError(f"AWS_PROFILE: the profile {profile!r} gives no credentials")
    return session


def _access_point_location(
    arn: re.Match[str],
    options: dict[str, str],
    credentials: Optional[Callable[[], Any]],
) -> tuple[str, dict[str, str], Optional[Callable[[], Any]]]:
    """An S3 access point ARN: requests go to the access point's own virtual-hosted
    endpoint, signed for the ARN's region."""
    partition, region, account, name = arn.group(
        "partition", "region", "account", "name"
    )
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    options = dict(options)
    options["aws_region"] = region
    options.setdefault(
        "aws_endpoint", f"https://{name}-{account}.s3-accesspoint.{region}.{suffix}"
    )
    options["aws_virtual_hosted_style_request"] = "true"
    return f"s3://{name}-{account}", options, credentials


def _session_provider(session: Any) -> Callable[[], Any]:
    """Credentials of a boto3 Session or botocore session, asked each time: a session
    with refreshable credentials (the s3contents "AWS key refresh" recipe) refreshes them
    itself when they are about to expire."""

    def provide() -> tuple[Any, Any, Any, Any]:
        credentials = session.get_credentials()
        if credentials is None:
            raise PermissionDeniedError("boto3_session has no credentials")
        frozen = credentials.get_frozen_credentials()
        return (
            frozen.access_key,
            frozen.secret_key,
            frozen.token,
            getattr(credentials, "_expiry_time", None),
        )

    return provide


def _normalized(
    provider: Callable[[], Any],
) -> Callable[[], tuple[str, str, Optional[str], Optional[float]]]:
    """Wrap a user's provider so the core always gets (key, secret, token, expiry seconds)."""

    def call() -> tuple[str, str, Optional[str], Optional[float]]:
        return _credential_tuple(provider())

    return call


def _credential_tuple(value: Any) -> tuple[str, str, Optional[str], Optional[float]]:
    """Accepts a tuple/list (key, secret[, token[, expiry]]), a dict with boto3 or
    botocore names, or an object with access_key/secret_key/token (botocore credentials)."""
    if isinstance(value, dict):

        def pick(*names: str) -> Any:
            return next((value[n] for n in names if value.get(n) is not None), None)

        key = pick("access_key_id", "aws_access_key_id", "AccessKeyId", "access_key")
        secret = pick(
            "secret_access_key",
            "aws_secret_access_key",
            "SecretAccessKey",
            "secret_key",
        )
        token = pick("session_token", "aws_session_token", "SessionToken", "token")
        expiry = pick("expiry", "expiry_time", "expiration", "Expiration")
    elif isinstance(value, (tuple, list)) and 2 <= len(value) <= 4:
        key, secret, token, expiry = (*value, None, None)[:4]
    elif hasattr(value, "access_key") and hasattr(value, "secret_key"):
        key, secret, token = (
            value.access_key,
            value.secret_key,
            getattr(value, "token", None),
        )
        expiry = getattr(value, "expiry_time", None) or getattr(
            value, "_expiry_time", None
        )
    else:
        raise TypeError(
            "credential_provider must return (access_key, secret_key, token, expiry), a dict "
            f"with those keys, or botocore credentials; got {type(value).__name__}"
        )
    if not key or not secret:
        raise ValueError("credential_provider returned no access key or secret key")
    return (
        str(key),
        str(secret),
        (str(token) if token else None),
        _expiry_seconds(expiry),
    )


def _expiry_seconds(expiry: Any) -> Optional[float]:
    """Unix seconds from a datetime (naive = UTC), an ISO 8601 string or a number."""
    if expiry is None or expiry == "":
        return None
    if isinstance(expiry, (int, float)):
        return float(expiry)
    if isinstance(expiry, str):
        expiry = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
    if isinstance(expiry, datetime):
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=timezone.utc)
        return expiry.timestamp()
    raise TypeError(
        f"credential expiry must be a datetime, ISO string or Unix seconds, not {type(expiry).__name__}"
    )


class S3Checkpoints(ObjectStoreCheckpoints):
    """Checkpoints of S3ContentsManager, stored in the bucket."""


class AsyncS3Checkpoints(AsyncObjectStoreCheckpoints):
    """Checkpoints of AsyncS3ContentsManager, stored in the bucket."""


class S3ContentsManager(S3Traits, ObjectStoreContentsManager):
    """Notebooks, files and folders in an S3 bucket (blocking; for HybridContentsManager)."""

    default_checkpoints_class = S3Checkpoints


class AsyncS3ContentsManager(S3Traits, AsyncObjectStoreContentsManager):
    """Notebooks, files and folders in an S3 bucket; never blocks the server's event loop."""

    default_checkpoints_class = AsyncS3Checkpoints
