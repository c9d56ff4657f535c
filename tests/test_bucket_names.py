"""Bucket names and missing buckets, as s3contents treats them.

* A name S3 still serves though nobody can create it any more (old us-east-1 buckets with
  upper case or underscores) is used, with a warning; a name no bucket can have is refused.
* A bucket that does not exist no longer stops the start-up (s3contents raises
  FileNotFoundError there, so the user only ever sees a server that did not start): the
  log says so in one line, and every request answers 404 with the same words.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from traitlets import TraitError

from s3contents_rs import GCSContentsManager
from s3contents_rs.exceptions import NotFoundError
from s3contents_rs.s3 import validate_bucket

LOG = logging.getLogger("s3contents_rs.tests.bucket_names")


@pytest.mark.parametrize(
    ("given", "bucket", "warned"),
    [
        ("notebooks", "notebooks", False),
        ("Legacy_Bucket", "Legacy_Bucket", True),
        ("s3://BUCKET/some/key/", "BUCKET", True),
        ("//BUCKET", "BUCKET", True),
        ("my.bucket-1", "my.bucket-1", False),
    ],
)
def test_bucket_names_s3_serves_are_accepted(given, bucket, warned, caplog):
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        assert validate_bucket(given, LOG) == bucket
    assert bool(caplog.records) is warned, [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("given", ["", "bad name", "Bad_Bucket!", "a..b", "..", "x" * 256])
def test_names_no_bucket_can_have_are_refused(given):
    with pytest.raises(TraitError) as info:
        validate_bucket(given, LOG)
    assert isinstance(info.value, ValueError)  # what s3contents raises for an empty name
    assert "bucket" in str(info.value)


def test_a_legacy_bucket_name_works_end_to_end(make_cm, s3_settings, s3_client, caplog):
    if s3_settings.external:
        pytest.fail(
            "this test creates its own bucket; run it against the local moto server",
            pytrace=False,
        )
    bucket = f"Legacy_{uuid.uuid4().hex[:8]}"
    s3_client.create_bucket(Bucket=bucket)
    try:
        with caplog.at_level(logging.WARNING):
            cm = make_cm(bucket=bucket, prefix="")
        assert any("naming rules" in r.getMessage() for r in caplog.records)
        cm.save({"type": "file", "format": "text", "content": "old bucket"}, "x.txt")
        assert cm.get("x.txt")["content"] == "old bucket"
        assert [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]] == ["x.txt"]
    finally:
        for obj in s3_client.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3_client.delete_object(Bucket=bucket, Key=obj["Key"])
        s3_client.delete_bucket(Bucket=bucket)


def start_up_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "cannot use" in r.getMessage()]


def test_a_missing_bucket_is_one_line_at_start_up_and_404_after(manager_class, manager_kwargs, caplog):
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    said = f"bucket '{missing}' does not exist (create it, or fix the bucket setting)"
    with caplog.at_level(logging.INFO):
        cm = manager_class(**dict(manager_kwargs, bucket=missing))
    place = f"s3://{missing}/{manager_kwargs['prefix'].strip('/')}"
    assert start_up_errors(caplog) == [f"{manager_class.__name__} cannot use {place}: {said}"]
    with pytest.raises(NotFoundError) as info:
        cm.store.list_dir("")
    assert info.value.status_code == 404 and str(info.value) == said


@pytest.mark.gcs
def test_a_missing_gcs_bucket_is_one_line_at_start_up(gcs_settings, caplog):
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    with caplog.at_level(logging.INFO):
        GCSContentsManager(bucket=missing, endpoint_url=gcs_settings.endpoint_url, token="anon")
    said = f"bucket '{missing}' does not exist (create it, or fix the bucket setting)"
    assert start_up_errors(caplog) == [f"GCSContentsManager cannot use gs://{missing}: {said}"]


def test_other_start_up_failures_only_warn(manager_class, manager_kwargs, caplog):
    """A store that does not answer at start-up is not a reason to refuse to start: each
    request reports it (s3contents would crash here)."""
    from support.s3c_helpers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING):
        manager_class(**dict(manager_kwargs, endpoint_url=endpoint, max_retries=0))
    lines = start_up_errors(caplog)
    assert len(lines) == 1 and f"cannot use s3://{manager_kwargs['bucket']}" in lines[0], lines
    assert f": cannot reach {endpoint}: " in lines[0], lines
