"""The store a test runs on and the manager under test (a pytest plugin, see tests/conftest.py).

Storage
-------
``backend`` names the store: ``"s3"`` (moto, or the external endpoint of
``S3CONTENTS_TEST_*``, see support/s3_fixtures.py) unless the test is marked
``every_backend``: then it runs once per store, S3, GCS (fake-gcs-server), Azure
(Azurite) and the local filesystem (support/backend_fixtures.py), one suite for every
store through the generic core. The params of the other stores carry the markers
``gcs``, ``azure`` and ``file`` (``-m "not gcs"`` leaves them out). Tests about S3
settings run on S3 only (``S3_ONLY`` and the tests that take the S3 fixtures), and a few
(test, store) pairs are skipped (``NOT_ON``) or must fail (``KNOWN_FAILURES``), each with
its reason; backend-specific behaviour has its own tests in test_backend_*.py.

Isolation
---------
Each test gets its own prefix ``test-<uuid>`` inside the bucket; every manager
built by the fixtures is rooted there, and the prefix is deleted after the
test.  Tests therefore never see each other's objects and the suite can run
unchanged against a shared external bucket.

Both managers
-------------
The ``cm`` fixture is parametrized over the sync and async manager classes and wraps
the manager in :class:`ManagerAdapter`, which exposes every method synchronously: for
the async manager each call is awaited on the test's event loop (and it is an error if
an API method of the async manager does not return an awaitable). A single test body
thus runs against both managers.
"""

from __future__ import annotations

import inspect
import uuid

import pytest
from support.backend_fixtures import RawAzure, RawDir, RawGcs
from support.s3_fixtures import RawBucket
from support.s3c_helpers import EventSink, ManagerAdapter, manager_classes

# The stores an ``every_backend`` test runs on besides S3 (each param marked with its name).
OTHER_BACKENDS = ["gcs", "azure", "file"]

# Tests about S3-only settings or the S3 classes themselves.
S3_ONLY = {
    "test_class_hierarchy": "checks the S3 class names",
    "test_instance_defaults": "checks the S3 checkpoint classes",
    "test_exceptions_module": "does not touch a store",
    "test_traits_exist_and_are_configurable": "checks the S3 traits",
    "test_invalid_config_rejected": "S3 bucket/sse/endpoint validation",
    "test_init_s3_hook_runs_before_storage_setup": "init_s3_hook is an S3 trait",
    "test_sse_aes256": "server-side encryption is an S3 setting",
    "test_signature_version_and_skip_tls_verify_accepted": "S3 settings",
    "test_async_manager_concurrent_operations": "builds the S3 manager class itself",
}
# Fixtures that only exist for S3: a test that takes one runs on S3 only.
_S3_FIXTURES = {"s3_settings", "s3_client"}

# (test, backend) pairs that do not apply (reported as skips with the reason);
# test_backend_*.py covers what the backend does instead.
NOT_ON = {
    (
        "test_console_style_directory_markers",
        "file",
    ): "a key ending in '/' (AWS console folder) cannot exist in a filesystem",
    (
        "test_rename_console_style_dir",
        "file",
    ): "a key ending in '/' cannot exist in a filesystem",
    (
        "test_delete_console_style_dir",
        "file",
    ): "a key ending in '/' cannot exist in a filesystem",
    ("test_exists_family", "file"): "writes an AWS-console folder key ('dir/')",
    (
        "test_directory_timestamps_are_aware",
        "file",
    ): "writes an AWS-console folder key ('dir/')",
    (
        "test_special_character_names_round_trip",
        "file",
    ): "the local store refuses names ending in '#<digits>' (400, tested in test_backend_file.py)",
    # object_store's Azure listing skips blobs whose names end in '/': such an
    # AWS-console folder marker is invisible there (no folder, nothing left over to see).
    (
        "test_console_style_directory_markers",
        "azure",
    ): "blobs named 'dir/' are not listed by object_store on Azure",
    (
        "test_delete_console_style_dir",
        "azure",
    ): "blobs named 'dir/' are not listed by object_store on Azure",
    ("test_exists_family", "azure"): "writes an AWS-console folder key ('dir/')",
    (
        "test_directory_timestamps_are_aware",
        "azure",
    ): "writes an AWS-console folder key ('dir/')",
}


# (test, backend) pairs that fail for a known reason (strict: they must fail).
KNOWN_FAILURES = {
    (
        "test_delete_console_style_dir",
        "gcs",
    ): "object_store cannot address a key ending in '/' and only S3 has "
    "a raw request for it (console_dirs.rs): the 'dir/' object survives a delete (README)",
    (
        "test_rename_console_style_dir",
        "gcs",
    ): "the same: the 'dir/' object survives the rename at the old path",
    (
        "test_rename_console_style_dir",
        "azure",
    ): "the 'dir/' blob survives the rename at the old path (object_store "
    "cannot address it and does not list it on Azure)",
}


def _backend_param(name: str, backend: str):
    marks = [getattr(pytest.mark, backend)]
    if (name, backend) in NOT_ON:
        marks.append(
            pytest.mark.skip(reason=f"not on {backend}: {NOT_ON[(name, backend)]}")
        )
    elif (name, backend) in KNOWN_FAILURES:
        marks.append(
            pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[(name, backend)])
        )
    return pytest.param(backend, marks=marks)


def pytest_generate_tests(metafunc):
    """Every store for every test marked ``every_backend`` (S3 only for the tests about
    S3); the pairs of NOT_ON show up as skips with their reason, those of KNOWN_FAILURES
    as strict expected failures."""
    if (
        "backend" not in metafunc.fixturenames
        or metafunc.definition.get_closest_marker("every_backend") is None
    ):
        return
    name = metafunc.function.__name__
    if name in S3_ONLY or _S3_FIXTURES & set(
        inspect.signature(metafunc.function).parameters
    ):
        return
    params = ["s3"] + [_backend_param(name, b) for b in OTHER_BACKENDS]
    metafunc.parametrize("backend", params, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The store this test runs on: "s3", or the param of an ``every_backend`` test."""
    return getattr(request, "param", "s3")


def raw_view(backend: str, request, prefix: str):
    """A raw view (not through our code) of ``prefix`` in the store of ``backend``."""
    if backend == "s3":
        settings = request.getfixturevalue("s3_settings")
        return RawBucket(request.getfixturevalue("s3_client"), settings.bucket, prefix)
    if backend == "gcs":
        return RawGcs(request.getfixturevalue("gcs_settings"), prefix)
    if backend == "azure":
        return RawAzure(request.getfixturevalue("azure_settings"), prefix)
    if backend == "file":
        return RawDir(request.getfixturevalue("file_store_root"), prefix)
    raise AssertionError(backend)


@pytest.fixture
def test_prefix(backend, request):
    """A unique prefix inside the bucket for this test; deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex}"
    view = raw_view(backend, request, prefix)
    yield prefix
    view.delete_all()


@pytest.fixture
def raw(backend, request, test_prefix):
    """Raw view of this test's prefix (boto3 on S3)."""
    return raw_view(backend, request, test_prefix)


def backend_classes(backend: str) -> dict[str, type]:
    """flavour ("sync"/"async") -> manager class of a store."""
    if backend == "s3":
        return manager_classes()
    from s3contents_rs import (
        AsyncAzureContentsManager,
        AsyncGCSContentsManager,
        AsyncObjectStoreContentsManager,
        AzureContentsManager,
        GCSContentsManager,
        ObjectStoreContentsManager,
    )

    sync, async_ = {
        "gcs": (GCSContentsManager, AsyncGCSContentsManager),
        "azure": (AzureContentsManager, AsyncAzureContentsManager),
        "file": (ObjectStoreContentsManager, AsyncObjectStoreContentsManager),
    }[backend]
    return {"sync": sync, "async": async_}


@pytest.fixture
def manager_kwargs(backend, request, test_prefix) -> dict:
    """Constructor kwargs pointing a manager at this test's prefix."""
    if backend == "s3":
        return request.getfixturevalue("s3_settings").manager_kwargs(test_prefix)
    if backend == "gcs":
        gcs = request.getfixturevalue("gcs_settings")
        return {
            "bucket": gcs.bucket,
            "prefix": test_prefix,
            "endpoint_url": gcs.endpoint_url,
            "token": "anon",
        }
    if backend == "azure":
        azure = request.getfixturevalue("azure_settings")
        return {
            "account": azure.account,
            "account_key": azure.key,
            "container": azure.container,
            "endpoint_url": azure.endpoint_url,
            "prefix": test_prefix,
        }
    if backend == "file":
        root = request.getfixturevalue("file_store_root")
        return {"url": root.as_uri(), "prefix": test_prefix}
    raise AssertionError(backend)


# --------------------------------------------------------------------------- managers
@pytest.fixture(params=["sync", "async"])
def flavor(request) -> str:
    return request.param


@pytest.fixture
def manager_class(backend, flavor):
    return backend_classes(backend)[flavor]


@pytest.fixture
def make_cm(manager_class, flavor, manager_kwargs, jp_asyncio_loop):
    """Factory: ``make_cm(**trait_overrides) -> ManagerAdapter`` for this flavour."""

    def make(**overrides) -> ManagerAdapter:
        kwargs = dict(manager_kwargs)
        kwargs.update(overrides)
        return ManagerAdapter(manager_class(**kwargs), flavor, jp_asyncio_loop)

    return make


@pytest.fixture
def cm(make_cm) -> ManagerAdapter:
    """The manager under test (sync and async), rooted at this test's prefix."""
    return make_cm()


# --------------------------------------------------------------------------- events
@pytest.fixture
def events(cm) -> EventSink:
    """Records the jupyter_events emitted by ``cm``."""
    return EventSink(cm.raw.event_logger)
