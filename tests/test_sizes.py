"""Every size a store allows, on the local S3 server (moto) or an external endpoint:
copies above the single-copy limit go through a multipart copy (the limit lowered by
``multipart_copy_threshold`` so a few MB take that path), long chunked uploads grow
their parts, and a file too large to read into memory is a clear 413.

Every copy is checked byte for byte, with its content type and metadata, and no
multipart upload may be left behind.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from tornado.web import HTTPError

from support.fault_proxy import Fault
from support.reliability_fixtures import snapshot
from support.s3c_helpers import b64, expect_http

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part

pytestmark = pytest.mark.timeout(300)


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def copy_cm(make_cm):
    """A manager that copies anything above 1 MiB in parts of 5 MiB."""
    return make_cm(multipart_copy_threshold=MiB, multipart_copy_part_size=PART)


def put_with_metadata(raw, path: str, data: bytes) -> None:
    raw.client.put_object(
        Bucket=raw.bucket,
        Key=raw.key(path),
        Body=data,
        ContentType="application/x-test",
        Metadata={"owner": "ann"},
    )


def assert_same_object(raw, path: str, data: bytes, parts: int) -> None:
    stored = raw.read(path)
    assert len(stored) == len(data)
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest(), f"{path} differs"
    head = raw.head(path)
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"owner": "ann"}
    # A multipart object's ETag ends with its part count: proof of the multipart path.
    assert head["ETag"].strip('"').endswith(f"-{parts}"), head["ETag"]


def test_copy_rename_trash_and_checkpoint_above_the_threshold_copy_in_parts(copy_cm, raw):
    cm = copy_cm
    data = random_bytes(12 * MiB + 3, seed=1)  # parts of 5, 5 and 2 MiB + 3 bytes
    put_with_metadata(raw, "big/data.bin", data)

    copied = cm.copy("big/data.bin", "big/copy.bin")
    assert copied["path"] == "big/copy.bin" and copied["size"] == len(data)
    assert_same_object(raw, "big/copy.bin", data, parts=3)

    cm.rename("big/copy.bin", "big/renamed.bin")
    assert not raw.exists("big/copy.bin")
    assert_same_object(raw, "big/renamed.bin", data, parts=3)

    checkpoint = cm.create_checkpoint("big/renamed.bin")
    assert_same_object(raw, "big/.ipynb_checkpoints/renamed-checkpoint.bin", data, parts=3)
    raw.put("big/renamed.bin", b"overwritten")
    cm.restore_checkpoint(checkpoint["id"], "big/renamed.bin")
    assert_same_object(raw, "big/renamed.bin", data, parts=3)

    cm.delete("big/renamed.bin")
    assert not raw.exists("big/renamed.bin")
    [trashed] = [k for k in raw.keys() if k.startswith(".Trash/") and k.endswith("big/renamed.bin")]
    assert_same_object(raw, trashed, data, parts=3)

    # A folder holding a large file: the tree rename copies it in parts too.
    cm.rename("big", "moved")
    assert_same_object(raw, "moved/data.bin", data, parts=3)
    assert raw.uploads() == []


def test_files_at_or_below_the_threshold_keep_the_single_copy(copy_cm, raw):
    data = random_bytes(MiB, seed=2)
    put_with_metadata(raw, "small.bin", data)
    copy_cm.copy("small.bin", "small-copy.bin")
    assert raw.read("small-copy.bin") == data
    assert "-" not in raw.head("small-copy.bin")["ETag"]  # one CopyObject
    assert raw.head("small-copy.bin")["ContentType"] == "application/x-test"


@pytest.mark.parametrize("operation", ["copy", "rename", "checkpoint"])
def test_a_failed_multipart_copy_is_aborted_and_nothing_changes(make_proxied_cm, fault_proxy, raw, operation):
    """The store refuses the second part copy: the operation fails, the multipart
    upload is aborted (none left in the bucket) and every stored object is as before."""
    cm = make_proxied_cm(multipart_copy_threshold=MiB, multipart_copy_part_size=PART)
    data = random_bytes(12 * MiB, seed=3)
    put_with_metadata(raw, "src.bin", data)
    before = snapshot(raw)
    fault_proxy.add(Fault.error("AccessDenied"), method="PUT", target=r"partNumber=2&")
    if operation == "copy":
        expect_http(403, cm.copy, "src.bin", "dst.bin")
    elif operation == "rename":
        expect_http(403, cm.rename, "src.bin", "dst.bin")
    else:
        expect_http(403, cm.create_checkpoint, "src.bin")
    assert [r for r in fault_proxy.records if "partNumber=2&" in str(r)], "the part copy was attempted"
    assert raw.uploads() == []
    assert snapshot(raw) == before
    # Retried without the fault, it completes.
    if operation == "copy":
        cm.copy("src.bin", "dst.bin")
        assert_same_object(raw, "dst.bin", data, parts=3)
    elif operation == "rename":
        cm.rename("src.bin", "dst.bin")
        assert_same_object(raw, "dst.bin", data, parts=3)
    else:
        cm.create_checkpoint("src.bin")
        assert_same_object(raw, ".ipynb_checkpoints/src-checkpoint.bin", data, parts=3)
    assert raw.uploads() == []


def test_a_multipart_copy_whose_start_answer_was_lost_leaves_no_upload(make_proxied_cm, fault_proxy, raw, s3_client):
    """S3 opens the copy's multipart upload but its answer is lost: the copy fails, the
    upload it opened is aborted, another client's upload of the same key is kept, and the
    retried copy completes."""
    cm = make_proxied_cm(multipart_copy_threshold=MiB, multipart_copy_part_size=PART)
    data = random_bytes(7 * MiB, seed=5)
    put_with_metadata(raw, "src.bin", data)
    theirs = s3_client.create_multipart_upload(Bucket=raw.bucket, Key=raw.key("dst.bin"))["UploadId"]
    fault_proxy.add(Fault("drop_response"), method="POST", target=r"dst\.bin\?uploads")
    with pytest.raises(HTTPError):
        cm.copy("src.bin", "dst.bin")
    assert fault_proxy.faults_fired(), "the test meant to lose the answer to the copy's start"

    def open_ids():
        found = s3_client.list_multipart_uploads(Bucket=raw.bucket, Prefix=raw.key("dst.bin")).get("Uploads", [])
        return [u["UploadId"] for u in found]

    assert open_ids() == [theirs]
    cm.copy("src.bin", "dst.bin")
    assert_same_object(raw, "dst.bin", data, parts=2)
    assert open_ids() == [theirs]
    s3_client.abort_multipart_upload(Bucket=raw.bucket, Key=raw.key("dst.bin"), UploadId=theirs)


def test_copy_settings_are_checked(make_cm):
    from traitlets import TraitError

    from s3contents_rs.exceptions import ConfigError

    for bad in ({"multipart_copy_threshold": 0}, {"multipart_copy_part_size": MiB}):
        with pytest.raises((ConfigError, TraitError, ValueError)) as info:
            make_cm(**bad).get("")
        assert next(iter(bad)) in str(info.value)


# =========================================================================== uploads
def test_a_long_chunked_upload_grows_its_parts(make_cm, raw):
    """With 10 parts allowed, parts grow 5, 10, 20 MiB...: 17 MiB goes up as 5 + 10 + 2."""
    cm = make_cm(upload_part_size=PART, upload_max_parts=10)
    data = random_bytes(17 * MiB + 11, seed=4)
    chunks = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    for i, chunk in enumerate(chunks[:-1], start=1):
        cm.save(
            {"type": "file", "format": "base64", "content": b64(chunk), "chunk": i},
            "up.bin",
        )
    [upload] = raw.client.list_multipart_uploads(Bucket=raw.bucket, Prefix=raw.key(""))["Uploads"]
    listed = raw.client.list_parts(Bucket=raw.bucket, Key=raw.key("up.bin"), UploadId=upload["UploadId"])
    assert [p["Size"] for p in listed["Parts"]] == [PART, 2 * PART]
    final = cm.save(
        {"type": "file", "format": "base64", "content": b64(chunks[-1]), "chunk": -1},
        "up.bin",
    )
    assert final["size"] == len(data)
    assert hashlib.sha256(raw.read("up.bin")).digest() == hashlib.sha256(data).digest()
    assert raw.uploads() == []


def test_a_retried_chunk_is_accepted_once(make_cm, raw):
    """A client that got no answer sends the same chunk again: it is answered as the
    first attempt was and not appended twice (a chunk with other bytes is still a 400)."""
    cm = make_cm(upload_part_size=PART)
    chunks = [random_bytes(MiB, seed=i) for i in range(7)]
    for i, chunk in enumerate(chunks[:-1], start=1):
        first = cm.save(
            {"type": "file", "format": "base64", "content": b64(chunk), "chunk": i},
            "r.bin",
        )
        again = cm.save(
            {"type": "file", "format": "base64", "content": b64(chunk), "chunk": i},
            "r.bin",
        )
        assert first["size"] == again["size"] == i * MiB
    last = {"type": "file", "format": "base64", "content": b64(chunks[-1]), "chunk": -1}
    final = cm.save(dict(last), "r.bin")
    again = cm.save(dict(last), "r.bin")
    assert final["size"] == again["size"] == 7 * MiB
    assert raw.read("r.bin") == b"".join(chunks)
    assert raw.uploads() == []


# =========================================================================== reads
def test_a_file_above_max_content_size_is_a_413_with_the_sizes(make_cm, raw):
    cm = make_cm(max_content_size=1000)
    raw.put("ok.txt", "x" * 1000)
    raw.put("big.txt", "x" * 1001)
    assert cm.get("ok.txt")["content"] == "x" * 1000
    for kwargs in ({}, {"format": "text"}, {"format": "base64"}):
        error = expect_http(413, cm.get, "big.txt", **kwargs)
        assert "1001" in error.log_message and "1000" in error.log_message, error.log_message
        assert "max_content_size" in error.log_message
    # Without content, and as a listing entry, the file is still there.
    assert cm.get("big.txt", content=False)["size"] == 1001
    assert {e["name"] for e in cm.get("")["content"]} == {"ok.txt", "big.txt"}
