"""The S3 endpoint of the test session (a pytest plugin, loaded by tests/conftest.py).

* If ``S3CONTENTS_TEST_ENDPOINT``, ``S3CONTENTS_TEST_ACCESS_KEY_ID``,
  ``S3CONTENTS_TEST_SECRET_ACCESS_KEY`` and ``S3CONTENTS_TEST_BUCKET`` are set
  (``S3CONTENTS_TEST_REGION`` is optional), that endpoint and bucket are used.
  Only the bucket is created, and only if it is missing.
* Otherwise a ``moto_server`` from the running interpreter's environment is
  started on a free local port for the whole session and the bucket
  ``s3contents-rs-test`` is created in it.

:class:`RawBucket` is the boto3 view of one prefix that tests assert with.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from support.s3c_helpers import PrefixView, announce, free_port

DEFAULT_BUCKET = "s3contents-rs-test"


# --------------------------------------------------------------------------- S3 endpoint
@dataclasses.dataclass(frozen=True)
class S3Settings:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    region_name: str
    external: bool

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region_name,
            config=BotoConfig(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=30,
            ),
        )

    def manager_kwargs(self, prefix: str) -> dict:
        """The traits that point a manager at this endpoint/bucket/prefix."""
        return {
            "bucket": self.bucket,
            "prefix": prefix,
            "endpoint_url": self.endpoint_url,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "region_name": self.region_name,
        }


def _wait_for_http(
    url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60.0
):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"moto_server exited with code {proc.returncode} before answering; "
                f"log:\n{log_path.read_text(errors='replace')}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310
                resp.read()
                return
        except urllib.error.HTTPError:
            return  # it answered (any HTTP status means it is up)
        except Exception as e:  # noqa: BLE001
            last_error = e
            time.sleep(0.1)
    pytest.fail(
        f"moto_server did not answer at {url} within {timeout}s ({last_error!r}); "
        f"log:\n{log_path.read_text(errors='replace')}",
        pytrace=False,
    )


def _ensure_bucket(settings: S3Settings):
    client = settings.client()
    try:
        client.head_bucket(Bucket=settings.bucket)
        return
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code"))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            pytest.fail(
                f"cannot access bucket {settings.bucket!r} at {settings.endpoint_url}: {e}",
                pytrace=False,
            )
    kwargs = {"Bucket": settings.bucket}
    if settings.region_name and settings.region_name != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {
            "LocationConstraint": settings.region_name
        }
    client.create_bucket(**kwargs)


def pytest_report_header(config):
    endpoint = os.environ.get("S3CONTENTS_TEST_ENDPOINT")
    if endpoint:
        return f"s3contents-rs: external S3 endpoint {endpoint} (S3CONTENTS_TEST_*)"
    return "s3contents-rs: local moto_server (S3CONTENTS_TEST_ENDPOINT unset)"


@pytest.fixture(scope="session")
def s3_settings(request, tmp_path_factory):
    """Connection settings of the S3 endpoint used by the whole session."""
    env = os.environ
    keys = (
        "S3CONTENTS_TEST_ENDPOINT",
        "S3CONTENTS_TEST_ACCESS_KEY_ID",
        "S3CONTENTS_TEST_SECRET_ACCESS_KEY",
        "S3CONTENTS_TEST_BUCKET",
    )
    present = [k for k in keys if env.get(k)]
    if present and len(present) != len(keys):
        missing = sorted(set(keys) - set(present))
        pytest.fail(
            f"external S3 endpoint partially configured: missing {missing}",
            pytrace=False,
        )
    if present:
        settings = S3Settings(
            endpoint_url=env["S3CONTENTS_TEST_ENDPOINT"].rstrip("/"),
            access_key_id=env["S3CONTENTS_TEST_ACCESS_KEY_ID"],
            secret_access_key=env["S3CONTENTS_TEST_SECRET_ACCESS_KEY"],
            bucket=env["S3CONTENTS_TEST_BUCKET"],
            region_name=env.get("S3CONTENTS_TEST_REGION") or "us-east-1",
            external=True,
        )
        _ensure_bucket(settings)
        announce(
            request,
            f"\n[s3contents-rs tests] using external S3 endpoint {settings.endpoint_url} "
            f"bucket {settings.bucket!r}",
        )
        yield settings
        return

    moto = Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        pytest.fail(
            f"no external S3 configured (S3CONTENTS_TEST_* env vars) and {moto} does not "
            "exist: install moto[server] into the test environment",
            pytrace=False,
        )
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    log_file = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for_http(endpoint + "/", proc, log_path)
        settings = S3Settings(
            endpoint_url=endpoint,
            access_key_id="testing-access-key",
            secret_access_key="testing-secret-key",
            bucket=DEFAULT_BUCKET,
            region_name="us-east-1",
            external=False,
        )
        _ensure_bucket(settings)
        announce(
            request,
            f"\n[s3contents-rs tests] using moto_server at {endpoint} bucket {settings.bucket!r}",
        )
        yield settings
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log_file.close()


@pytest.fixture(scope="session")
def s3_client(s3_settings):
    """A plain boto3 client for asserting on the raw bucket."""
    return s3_settings.client()


# --------------------------------------------------------------------------- raw bucket view
class RawBucket(PrefixView):
    """boto3 view of the objects below one test's prefix.

    Paths given to the methods are relative to the prefix (API-style paths).
    """

    def __init__(self, client, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def put(self, path: str, body: bytes | str = b"") -> None:
        body = self.as_bytes(body)
        self.client.put_object(Bucket=self.bucket, Key=self.key(path), Body=body)

    def read(self, path: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(path))[
            "Body"
        ].read()

    def head(self, path: str) -> dict:
        return self.client.head_object(Bucket=self.bucket, Key=self.key(path))

    def exists(self, path: str) -> bool:
        try:
            self.head(path)
            return True
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code")) in (
                "404",
                "NoSuchKey",
                "NotFound",
            ):
                return False
            raise

    def keys(self) -> set[str]:
        """All keys below the prefix, relative to it."""
        out = set()
        pfx = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=pfx):
            for obj in page.get("Contents", []):
                out.add(obj["Key"][len(pfx) :])
        return out

    def uploads(self) -> list[str]:
        """Keys (relative to the prefix) of multipart uploads not completed or aborted."""
        pfx = f"{self.prefix}/" if self.prefix else ""
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=pfx)
        return sorted(u["Key"][len(pfx) :] for u in found.get("Uploads", []))

    def snapshot(self) -> dict:
        """Every object (with its ETag) and unfinished upload below the prefix."""
        pfx = f"{self.prefix}/" if self.prefix else ""
        objects = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=pfx):
            for obj in page.get("Contents", []):
                objects[obj["Key"][len(pfx) :]] = obj["ETag"]
        return {"objects": objects, "uploads": self.uploads()}

    def delete_all(self) -> None:
        pfx = f"{self.prefix}/" if self.prefix else ""
        assert pfx, "refusing to delete a whole bucket"
        paginator = self.client.get_paginator("list_objects_v2")
        batch = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=pfx):
            for obj in page.get("Contents", []):
                batch.append({"Key": obj["Key"]})
                if len(batch) == 1000:
                    self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch}
                    )
                    batch = []
        if batch:
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
