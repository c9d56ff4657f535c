"""How the core classifies the errors of real stores (issue 13).

Each test makes the local S3 (moto_server), GCS (fake-gcs-server) or Azure (Azurite)
server produce an error, and checks the exception class the store raises and its HTTP
status. These are the errors the core reads without types: object_store leaves refused
listings, missing buckets and token requests `Generic`, and the status and error code
of those are read from its wording in one function (`object_store_wording` in
crates/s3contents-core/src/answer.rs). An object_store upgrade that changes the wording
fails here instead of turning a 403 into a 500.

The statuses are the core's one table (`_core.ERROR_STATUS`): each test checks that the
raised class carries the status of that table.
"""

from __future__ import annotations

import base64
import datetime
import socket
import uuid

import pytest

from s3contents_rs import exceptions
from s3contents_rs._core import ERROR_STATUS
from support.s3c_helpers import AWS_LOGIN_VARIABLES
from support.signing_moto import signing_moto as signing_moto_server

pytestmark = pytest.mark.timeout(120)

# Short retries: an unreachable store should be reported in seconds.
FAST = {"max_retries": 1, "retry_timeout": 2.0, "connect_timeout": 1.0, "request_timeout": 5.0}


def raises(expected: type[exceptions.S3ContentsError], status: int, call, *args) -> exceptions.S3ContentsError:
    """`call(*args)` raises exactly `expected`, whose status is `status` in the core's table."""
    with pytest.raises(exceptions.S3ContentsError) as caught:
        call(*args)
    error = caught.value
    assert type(error) is expected, f"{type(error).__name__}: {error}"
    assert ERROR_STATUS[expected.__name__] == status
    assert error.status_code == status
    return error


def quiet(cls):
    """`cls` without the start-up check of the store (which logs what is wrong): the tests
    ask the store themselves."""
    return type(cls.__name__, (cls,), {"_check_store_at_start": lambda self: None})


def store_of(cls, **traits):
    return quiet(cls)(**traits).store


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- S3 (moto_server)
@pytest.fixture
def s3_store(s3_settings):
    from s3contents_rs import S3ContentsManager

    if s3_settings.external:
        pytest.skip("classification tests need the local moto_server")

    def make(**traits):
        kwargs = {**s3_settings.manager_kwargs(f"errclass-{uuid.uuid4().hex}"), **FAST, **traits}
        return store_of(S3ContentsManager, **kwargs)

    return make


def test_s3_missing_object_is_404(s3_store):
    store = s3_store()
    raises(exceptions.NotFoundError, 404, store.get, "missing.txt", None)
    raises(exceptions.NotFoundError, 404, store.rename, "missing.txt", "b.txt")


def missing_bucket_message(bucket: str) -> str:
    return f"bucket '{bucket}' does not exist (create it, or fix the bucket setting)"


def test_s3_missing_bucket_is_404_and_says_so(s3_store):
    bucket = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    store = s3_store(bucket=bucket)
    for call, args in ((store.list_dir, ("",)), (store.write, ("a.txt", b"x")), (store.check_store, ())):
        error = raises(exceptions.BucketNotFoundError, 404, call, *args)
        assert str(error) == missing_bucket_message(bucket)


def test_s3_create_over_an_existing_file_is_409(s3_store):
    store = s3_store()
    store.write("a.txt", b"1")
    raises(exceptions.AlreadyExistsError, 409, store.create, "a.txt", b"2")


def test_s3_unreachable_endpoint_is_503(s3_store):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    store = s3_store(endpoint_url=endpoint)
    for call, args in ((store.list_dir, ("",)), (store.get, ("a.txt", None)), (store.write, ("a.txt", b"x"))):
        error = raises(exceptions.StoreUnavailableError, 503, call, *args)
        assert str(error).startswith(f"cannot reach {endpoint}: "), str(error)
        assert "refused" in str(error).lower(), str(error)  # the transport's own words
        assert "http" not in str(error).split(": ", 1)[1], str(error)  # no request URLs


# ---------------------------------------------------------- S3 with signatures (moto IAM auth)
BUCKET = "signed-errors"


@pytest.fixture(scope="module")
def signing_moto(tmp_path_factory):
    """moto_server checking every signature against its IAM (tests/support/signing_moto.py):
    (endpoint, admin keys, reader keys), with a bucket holding one readable object."""
    with signing_moto_server(tmp_path_factory.mktemp("moto-errors"), buckets=(BUCKET,)) as server:
        server.client("s3", server.admin).put_object(Bucket=BUCKET, Key="errors/readable.txt", Body=b"readable")
        yield server.endpoint, server.admin, server.reader


@pytest.fixture
def signed_store(signing_moto, monkeypatch, tmp_path):
    from s3contents_rs import S3ContentsManager

    for name in AWS_LOGIN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    endpoint, admin, reader = signing_moto

    def make(keys):
        return store_of(
            S3ContentsManager,
            bucket=BUCKET,
            prefix="errors",
            endpoint_url=endpoint,
            access_key_id=keys[0],
            secret_access_key=keys[1],
            region_name="us-east-1",
            **FAST,
        )

    make.admin, make.reader = admin, reader
    return make


def test_s3_signature_mismatch_is_403(signed_store):
    store = signed_store((signed_store.admin[0], "not-the-secret"))
    # A refused LIST is a generic error of object_store: its status is read from its text.
    for call, args in ((store.list_dir, ("",)), (store.write, ("a.txt", b"x"))):
        error = raises(exceptions.PermissionDeniedError, 403, call, *args)
        assert "SignatureDoesNotMatch" in str(error), str(error)
        assert str(error).startswith(f"access denied to s3://{BUCKET}/errors: "), str(error)
        assert "<" not in str(error), str(error)  # the store's words, not its XML
    # A HEAD answer has no body: the status alone says it.
    raises(exceptions.PermissionDeniedError, 403, store.get, "readable.txt", None)


def test_s3_unknown_access_key_is_403(signed_store):
    store = signed_store(("AKIAUNKNOWNKEY000000", "secret"))
    for call, args in ((store.list_dir, ("",)), (store.write, ("a.txt", b"x"))):
        error = raises(exceptions.PermissionDeniedError, 403, call, *args)
        assert "InvalidAccessKeyId" in str(error), str(error)


def test_s3_refused_permission_is_403_and_names_it(signed_store):
    store = signed_store(signed_store.reader)
    # A write first lists (is there a folder of that name?): refused LIST, a generic error.
    error = raises(exceptions.PermissionDeniedError, 403, store.write, "a.txt", b"x")
    assert "AccessDenied" in str(error), str(error)
    error = raises(exceptions.PermissionDeniedError, 403, store.list_dir, "")
    assert str(error).startswith(f"access denied to s3://{BUCKET}/errors: the credentials need s3:ListBucket"), str(
        error
    )
    assert "<" not in str(error), str(error)


def test_s3_no_credentials_anywhere_says_so_and_where_it_looked(signing_moto, monkeypatch, tmp_path):
    """No keys in the settings, the environment or ~/.aws, and no instance metadata service
    (on a closed port here, as off EC2): the message says that, not a network error."""
    from s3contents_rs import S3ContentsManager

    for name in AWS_LOGIN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    endpoint = signing_moto[0]
    store = store_of(
        S3ContentsManager,
        bucket=BUCKET,
        prefix="errors",
        endpoint_url=endpoint,
        region_name="us-east-1",
        store_options={"aws_metadata_endpoint": f"http://127.0.0.1:{closed_port()}"},
        **FAST,
    )
    for call, args in ((store.list_dir, ("",)), (store.write, ("a.txt", b"x"))):
        error = raises(exceptions.PermissionDeniedError, 403, call, *args)
        message = str(error)
        assert message.startswith(f"cannot log in to s3://{BUCKET}/errors: no AWS credentials found. Looked in "), (
            message
        )
        for source in (
            "access_key_id",
            "AWS_ACCESS_KEY_ID",
            "~/.aws/credentials",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "instance metadata",
        ):
            assert source in message, (source, message)
        assert "169.254" not in message and "127.0.0.1" not in message, message


# --------------------------------------------------------------------------- GCS (fake-gcs-server)
@pytest.fixture
def gcs_store(gcs_settings, monkeypatch, tmp_path):
    from s3contents_rs import GCSContentsManager

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)

    def make(**traits):
        kwargs = {
            "bucket": gcs_settings.bucket,
            "prefix": f"errclass-{uuid.uuid4().hex}",
            "endpoint_url": gcs_settings.endpoint_url,
            "token": "anon",
            **FAST,
            **traits,
        }
        return store_of(GCSContentsManager, **kwargs)

    return make


def test_gcs_missing_object_is_404(gcs_store):
    store = gcs_store()
    raises(exceptions.NotFoundError, 404, store.get, "missing.txt", None)


def test_gcs_missing_bucket_is_404_and_says_so(gcs_store):
    # fake-gcs-server answers a missing bucket with a 500; the gateway in front of it
    # (tests/support/gcs_gateway.py) answers what GCS answers, 404 NoSuchBucket.
    bucket = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    store = gcs_store(bucket=bucket)
    error = raises(exceptions.BucketNotFoundError, 404, store.list_dir, "")
    assert str(error) == missing_bucket_message(bucket)


def test_gcs_unreachable_endpoint_is_503(gcs_store):
    store = gcs_store(endpoint_url=f"http://127.0.0.1:{closed_port()}")
    for call, args in ((store.list_dir, ("",)), (store.get, ("a.txt", None))):
        raises(exceptions.StoreUnavailableError, 503, call, *args)


# --------------------------------------------------------------------------- Azure (Azurite)
@pytest.fixture
def azure_store(azure_settings):
    from s3contents_rs import AzureContentsManager

    def make(**traits):
        kwargs = {
            "account": azure_settings.account,
            "container": azure_settings.container,
            "endpoint_url": azure_settings.endpoint_url,
            "account_key": azure_settings.key,
            "prefix": f"errclass-{uuid.uuid4().hex}",
            **FAST,
            **traits,
        }
        return store_of(AzureContentsManager, **kwargs)

    return make


def container_sas(settings, **permissions) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        settings.account,
        settings.container,
        account_key=settings.key,
        permission=ContainerSasPermissions(**permissions),
        expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1),
    )


def test_azure_missing_object_is_404(azure_store):
    store = azure_store()
    raises(exceptions.NotFoundError, 404, store.get, "missing.txt", None)


def test_azure_missing_container_is_404_and_says_so(azure_store):
    container = f"missing-{uuid.uuid4().hex[:12]}"
    store = azure_store(container=container)
    for call, args in ((store.list_dir, ("",)), (store.write, ("a.txt", b"x"))):
        error = raises(exceptions.BucketNotFoundError, 404, call, *args)
        assert str(error) == missing_bucket_message(container)


def test_azure_create_over_an_existing_file_is_409(azure_store):
    store = azure_store()
    store.write("a.txt", b"1")
    raises(exceptions.AlreadyExistsError, 409, store.create, "a.txt", b"2")


def test_azure_wrong_key_is_403(azure_store):
    store = azure_store(account_key=base64.b64encode(b"not the key").decode())
    for call, args in ((store.list_dir, ("",)), (store.get, ("a.txt", None)), (store.write, ("a.txt", b"x"))):
        raises(exceptions.PermissionDeniedError, 403, call, *args)


def test_azure_refused_permission_is_403(azure_store, azure_settings):
    store = azure_store(account_key="", sas_token=container_sas(azure_settings, read=True))
    raises(exceptions.PermissionDeniedError, 403, store.write, "a.txt", b"x")
    raises(exceptions.PermissionDeniedError, 403, store.list_dir, "")


def test_azure_unreachable_endpoint_is_503(azure_store, azure_settings):
    endpoint = f"http://127.0.0.1:{closed_port()}/{azure_settings.account}"
    store = azure_store(endpoint_url=endpoint)
    for call, args in ((store.list_dir, ("",)), (store.get, ("a.txt", None))):
        raises(exceptions.StoreUnavailableError, 503, call, *args)
