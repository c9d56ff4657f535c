"""Manager classes, traits and configuration.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import logging

import boto3
import pytest
from jupyter_server.services.contents.checkpoints import AsyncCheckpoints, Checkpoints
from jupyter_server.services.contents.manager import (
    AsyncContentsManager,
    ContentsManager,
)
from support.contents_helpers import text_model
from support.s3c_helpers import listing, manager_classes
from traitlets import TraitError
from traitlets.config import Config, LoggingConfigurable

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== classes / config
def test_class_hierarchy():
    import s3contents_rs
    from s3contents_rs import (
        AsyncS3Checkpoints,
        AsyncS3ContentsManager,
        S3Checkpoints,
        S3ContentsManager,
    )

    assert issubclass(S3ContentsManager, ContentsManager)
    assert not issubclass(S3ContentsManager, AsyncContentsManager)
    assert issubclass(AsyncS3ContentsManager, AsyncContentsManager)
    assert issubclass(S3Checkpoints, Checkpoints)
    assert issubclass(AsyncS3Checkpoints, AsyncCheckpoints)
    assert hasattr(s3contents_rs, "exceptions")


def test_instance_defaults(cm):
    from s3contents_rs import AsyncS3Checkpoints, S3Checkpoints

    expected = AsyncS3Checkpoints if cm.is_async else S3Checkpoints
    assert isinstance(cm.raw.checkpoints, expected)
    assert cm.max_checkpoints == 1
    assert cm.always_delete_dir is True
    assert cm.delimiter == "/"
    assert cm.allow_hidden is False


def test_exceptions_module():
    from s3contents_rs import exceptions as exc

    expected = {
        "NotFoundError": (FileNotFoundError, 404),
        "AlreadyExistsError": (FileExistsError, 409),
        "PermissionDeniedError": (PermissionError, 403),
        "InvalidPathError": (ValueError, 400),
        "BadRequestError": (Exception, 400),
    }
    for name, (base, status) in expected.items():
        cls = getattr(exc, name)
        assert issubclass(cls, base), f"{name} should subclass {base.__name__}"
        err = cls("boom")
        assert err.status_code == status, f"{name}.status_code == {err.status_code}"
    err = exc.StorageError("boom")
    assert isinstance(err, Exception)
    assert isinstance(err.status_code, int) and err.status_code >= 500


S3_TRAITS = [
    "bucket",
    "prefix",
    "endpoint_url",
    "region_name",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "anon",
    "signature_version",
    "sse",
    "kms_key_id",
    "skip_tls_verify",
    "delimiter",
    "init_s3_hook",
    "pre_save_hook",
    "post_save_hook",
    "max_checkpoints",
]


@pytest.mark.parametrize("flavor_name", ["sync", "async"])
def test_traits_exist_and_are_configurable(flavor_name):
    cls = manager_classes()[flavor_name]
    traits = cls.class_traits()
    for name in [
        *S3_TRAITS,
        "boto3_session",
        "allow_hidden",
        "hide_globs",
        "always_delete_dir",
    ]:
        assert name in traits, f"missing trait {name}"
    for name in S3_TRAITS:
        assert traits[name].metadata.get("config") is True, (
            f"trait {name} is not config=True"
        )


@pytest.mark.parametrize(
    ("trait", "value"),
    [
        ("bucket", "Bad_Bucket!"),
        ("sse", "nonsense"),
        ("endpoint_url", "127.0.0.1:9000"),
    ],
)
def test_invalid_config_rejected(manager_class, manager_kwargs, trait, value):
    kwargs = dict(manager_kwargs)
    kwargs[trait] = value
    with pytest.raises((TraitError, ValueError)) as info:
        manager_class(**kwargs)
    assert trait in str(info.value), (
        f"error message does not name {trait!r}: {info.value}"
    )


def test_bucket_url_form(make_cm, raw, s3_settings, caplog):
    log = logging.getLogger("s3contents_rs.tests.bucket_url")
    with caplog.at_level(logging.WARNING):
        cm = make_cm(bucket=f"s3://{s3_settings.bucket}/ignored/part", log=log)
    assert cm.bucket == s3_settings.bucket
    assert any(r.levelno >= logging.WARNING for r in caplog.records), (
        "no warning was logged"
    )
    cm.save(text_model("via url bucket"), "u.txt")
    assert raw.read("u.txt") == b"via url bucket"
    assert cm.get("u.txt")["content"] == "via url bucket"


def test_parent_log_and_config_kwargs(
    manager_class, flavor, manager_kwargs, raw, jp_asyncio_loop
):
    """HybridContentsManager-style construction: cls(parent=..., log=..., **kwargs)."""
    from support.s3c_helpers import ManagerAdapter

    parent = LoggingConfigurable(
        config=Config({manager_class.__name__: {"max_checkpoints": 2}})
    )
    log = logging.getLogger("s3contents_rs.tests.parent")
    mgr = manager_class(parent=parent, log=log, **manager_kwargs)
    assert mgr.parent is parent
    assert mgr.log is log
    assert mgr.max_checkpoints == 2
    cm = ManagerAdapter(mgr, flavor, jp_asyncio_loop)
    cm.save(text_model("x"), "p.txt")
    assert raw.read("p.txt") == b"x"


def test_config_object_construction(
    manager_class, flavor, manager_kwargs, raw, jp_asyncio_loop
):
    """Traits given through a traitlets Config (how jupyter_server configures it)."""
    from support.s3c_helpers import ManagerAdapter

    mgr = manager_class(config=Config({manager_class.__name__: dict(manager_kwargs)}))
    assert mgr.prefix == manager_kwargs["prefix"]
    cm = ManagerAdapter(mgr, flavor, jp_asyncio_loop)
    cm.save(text_model("cfg"), "c.txt")
    assert raw.read("c.txt") == b"cfg"


def test_init_s3_hook_runs_before_storage_setup(make_cm, raw, test_prefix):
    calls = []

    def hook(manager):
        calls.append(manager)
        manager.prefix = f"{test_prefix}/from-hook"

    cm = make_cm(prefix=f"{test_prefix}/from-ctor", init_s3_hook=hook)
    assert calls == [cm.raw]
    cm.save(text_model("h"), "h.txt")
    assert raw.exists("from-hook/h.txt")
    assert not raw.exists("from-ctor/h.txt")


def test_boto3_session_credentials(make_cm, s3_settings, raw):
    session = boto3.Session(
        aws_access_key_id=s3_settings.access_key_id,
        aws_secret_access_key=s3_settings.secret_access_key,
        region_name=s3_settings.region_name,
    )
    cm = make_cm(access_key_id=None, secret_access_key=None, boto3_session=session)
    cm.save(text_model("session"), "s.txt")
    assert raw.read("s.txt") == b"session"


def test_nested_prefix(make_cm, raw, test_prefix):
    cm = make_cm(prefix=f"{test_prefix}/nested/deeper")
    cm.save(text_model("n"), "a/b.txt")
    assert raw.read("nested/deeper/a/b.txt") == b"n"
    assert set(listing(cm.get("a"))) == {"b.txt"}


def test_empty_prefix_maps_paths_to_bucket_root(make_cm, raw, test_prefix):
    cm = make_cm(prefix="")
    model = cm.save(text_model("root"), f"{test_prefix}/x.txt")
    assert model["path"] == f"{test_prefix}/x.txt"
    assert raw.read("x.txt") == b"root"  # key is exactly "<test_prefix>/x.txt"
    assert "x.txt" in listing(cm.get(test_prefix))


def test_sse_aes256(make_cm, raw):
    cm = make_cm(sse="AES256")
    cm.save(text_model("secret"), "enc.txt")
    assert raw.head("enc.txt").get("ServerSideEncryption") == "AES256"


def test_sse_kms_with_key_id(make_cm, raw, s3_settings):
    if s3_settings.external:
        pytest.skip("SSE-KMS needs a real KMS key id; only checked against moto")
    key_id = (
        "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    cm = make_cm(sse="aws:kms", kms_key_id=key_id)
    cm.save(text_model("kms"), "kms.txt")
    head = raw.head("kms.txt")
    assert head.get("ServerSideEncryption") == "aws:kms"
    assert head.get("SSEKMSKeyId") == key_id
    assert cm.get("kms.txt")["content"] == "kms"


def test_signature_version_and_skip_tls_verify_accepted(make_cm, raw):
    cm = make_cm(signature_version="s3v4", skip_tls_verify=True)
    cm.save(text_model("sig"), "sig.txt")
    assert raw.read("sig.txt") == b"sig"


def test_preferred_dir(make_cm, raw):
    raw.put("work/.s3keep")
    cm = make_cm(preferred_dir="work")
    assert cm.preferred_dir == "work"
    with pytest.raises(TraitError):
        make_cm(preferred_dir="does-not-exist")
