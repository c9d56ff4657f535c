"""The Contents API suite of test_contents.py, run again over every other backend.

test_contents.py runs on S3 (moto, or the external endpoint from S3CONTENTS_TEST_*).
This module collects the same test functions a second time with the storage fixtures
(``manager_class``, ``manager_kwargs``, ``raw``, ``test_prefix``) overridden for GCS
(fake-gcs-server), Azure (Azurite) and the local filesystem, so one suite covers every
store through the generic core. Tests that are about S3 settings are not repeated
(listed below with the reason); backend-specific behaviour has its own tests in
test_backend_*.py.
"""

from __future__ import annotations

import inspect
import uuid

import pytest

import test_contents as _suite
import test_rest as _rest
from backend_fixtures import RawAzure, RawDir, RawGcs

pytestmark = pytest.mark.timeout(60)

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
# Fixtures that only exist for S3.
_S3_FIXTURES = {"s3_settings", "s3_client"}

for _name, _test in vars(_suite).items():
    if not (_name.startswith("test_") and inspect.isfunction(_test)):
        continue
    if _name in S3_ONLY or _S3_FIXTURES & set(inspect.signature(_test).parameters):
        continue
    globals()[_name] = _test

# A few REST round trips through a real jupyter_server per backend (the full REST suite
# runs on S3 only, to keep CI time modest).
REST_SMOKE = [
    "test_server_starts_and_lists_bucket_root",
    "test_put_get_notebook",
    "test_files_download",
    "test_chunked_upload_like_jupyterlab",
]
for _name in REST_SMOKE:
    globals()[_name] = getattr(_rest, _name)
jp_server_config = _rest.jp_server_config
rest_flavor = _rest.rest_flavor

BACKENDS = ["gcs", "azure", "file"]

# (test, backend) pairs that do not apply (reported as skips with the reason);
# test_backend_*.py covers what the backend does instead.
NOT_ON = {
    ("test_console_style_directory_markers", "file"): "a key ending in '/' (AWS console folder) cannot exist in a filesystem",
    ("test_rename_console_style_dir", "file"): "a key ending in '/' cannot exist in a filesystem",
    ("test_delete_console_style_dir", "file"): "a key ending in '/' cannot exist in a filesystem",
    ("test_exists_family", "file"): "writes an AWS-console folder key ('dir/')",
    ("test_directory_timestamps_are_aware", "file"): "writes an AWS-console folder key ('dir/')",
    ("test_special_character_names_round_trip", "file"): "the local store refuses names ending in '#<digits>' (400, tested in test_backend_file.py)",
    # object_store's Azure listing skips blobs whose names end in '/': such an
    # AWS-console folder marker is invisible there (no folder, nothing left over to see).
    ("test_console_style_directory_markers", "azure"): "blobs named 'dir/' are not listed by object_store on Azure",
    ("test_delete_console_style_dir", "azure"): "blobs named 'dir/' are not listed by object_store on Azure",
    ("test_exists_family", "azure"): "writes an AWS-console folder key ('dir/')",
    ("test_directory_timestamps_are_aware", "azure"): "writes an AWS-console folder key ('dir/')",
}


# (test, backend) pairs that fail for a known reason (strict: they must fail).
KNOWN_FAILURES = {
    ("test_delete_console_style_dir", "gcs"): "object_store cannot address a key ending in '/' and only S3 has "
    "a raw request for it (console_dirs.rs): the 'dir/' object survives a delete (README)",
    ("test_rename_console_style_dir", "gcs"): "the same: the 'dir/' object survives the rename at the old path",
    ("test_rename_console_style_dir", "azure"): "the 'dir/' blob survives the rename at the old path (object_store "
    "cannot address it and does not list it on Azure)",
}


def pytest_generate_tests(metafunc):
    """Every backend for every test; the pairs of NOT_ON show up as skips with their
    reason, those of KNOWN_FAILURES as strict expected failures."""
    if "backend" in metafunc.fixturenames:
        name = metafunc.function.__name__
        params = [
            pytest.param(b, marks=pytest.mark.skip(reason=f"not on {b}: {NOT_ON[(name, b)]}"))
            if (name, b) in NOT_ON
            else pytest.param(b, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[(name, b)]))
            if (name, b) in KNOWN_FAILURES
            else b
            for b in BACKENDS
        ]
        metafunc.parametrize("backend", params, indirect=True)


@pytest.fixture
def backend(request) -> str:
    return request.param


def _raw_view(backend: str, request, prefix: str):
    if backend == "gcs":
        return RawGcs(request.getfixturevalue("gcs_settings"), prefix)
    if backend == "azure":
        return RawAzure(request.getfixturevalue("azure_settings"), prefix)
    if backend == "file":
        return RawDir(request.getfixturevalue("file_store_root"), prefix)
    raise AssertionError(backend)


@pytest.fixture
def test_prefix(backend, request):
    prefix = f"test-{uuid.uuid4().hex}"
    view = _raw_view(backend, request, prefix)
    yield prefix
    view.delete_all()


@pytest.fixture
def raw(backend, request, test_prefix):
    return _raw_view(backend, request, test_prefix)


def _classes(backend: str) -> tuple[type, type]:
    """(sync, async) manager classes of a backend."""
    from s3contents_rs import (
        AsyncAzureContentsManager,
        AsyncGCSContentsManager,
        AsyncObjectStoreContentsManager,
        AzureContentsManager,
        GCSContentsManager,
        ObjectStoreContentsManager,
    )

    return {
        "gcs": (GCSContentsManager, AsyncGCSContentsManager),
        "azure": (AzureContentsManager, AsyncAzureContentsManager),
        "file": (ObjectStoreContentsManager, AsyncObjectStoreContentsManager),
    }[backend]


@pytest.fixture
def manager_class(backend, flavor):
    return _classes(backend)[flavor == "async"]


@pytest.fixture
def server_manager_class(backend, rest_flavor):
    return _classes(backend)[rest_flavor == "async"]


@pytest.fixture
def manager_kwargs(backend, request, test_prefix) -> dict:
    if backend == "gcs":
        gcs = request.getfixturevalue("gcs_settings")
        return {"bucket": gcs.bucket, "prefix": test_prefix, "endpoint_url": gcs.endpoint_url, "token": "anon"}
    if backend == "azure":
        azure = request.getfixturevalue("azure_settings")
        return {"account": azure.account, "account_key": azure.key, "container": azure.container,
                "endpoint_url": azure.endpoint_url, "prefix": test_prefix}
    if backend == "file":
        root = request.getfixturevalue("file_store_root")
        return {"url": root.as_uri(), "prefix": test_prefix}
    raise AssertionError(backend)


@pytest.mark.parametrize("kind", ["S3", "GCS", "Azure"])
@pytest.mark.parametrize("flavour", ["", "Async"])
def test_named_managers_keep_checkpoints_in_their_own_class(kind, flavour):
    """Each named manager checkpoints with its own class (what logs and --help-all show),
    of the matching flavour; building a store sends no request, so no server is needed."""
    import s3contents_rs
    from s3contents_rs.checkpoints import AsyncObjectStoreCheckpoints, ObjectStoreCheckpoints

    settings = {"S3": dict(bucket="bkt", access_key_id="key", secret_access_key="secret"),
                "GCS": dict(bucket="bkt", token="anon"),
                "Azure": dict(account="acct", container="ctr", account_key="a2V5")}[kind]
    manager = getattr(s3contents_rs, f"{flavour}{kind}ContentsManager")(**settings)
    expected = getattr(s3contents_rs, f"{flavour}{kind}Checkpoints")
    assert manager.checkpoints_class is expected
    assert type(manager.checkpoints) is expected
    assert issubclass(expected, AsyncObjectStoreCheckpoints if flavour else ObjectStoreCheckpoints)
