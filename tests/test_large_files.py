"""Large files: chunked uploads streamed into multipart uploads, the chunk protocol's
failure cases, abandoned and interrupted uploads, and content reads.

Every failure case also checks that nothing else in the bucket changed: the same
objects with the same ETags, and no multipart upload left behind.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time

import pytest
from support.fault_proxy import Fault
from support.s3c_helpers import EventSink, b64, expect_http

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part size S3 allows; uploads stream a part per 5 chunks


def chunk_model(data: bytes, number: int, **overrides) -> dict:
    model = {"type": "file", "format": "base64", "content": b64(data), "chunk": number}
    model.update(overrides)
    return model


def pieces(total: int, size: int = MiB, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(min(size, total - start)) for start in range(0, total, size)]


def upload(cm, path: str, parts: list[bytes]) -> dict:
    """Send `parts` as JupyterLab does (1, 2, ..., -1); returns the last model."""
    model = None
    for i, part in enumerate(parts):
        number = -1 if i == len(parts) - 1 else i + 1
        model = cm.save(chunk_model(part, number), path)
    return model


@pytest.fixture
def big_cm(make_cm):
    return make_cm(upload_part_size=PART)


# =========================================================================== streaming
def test_chunks_stream_into_parts_and_appear_only_when_complete(big_cm, raw):
    cm = big_cm
    events = EventSink(cm.raw.event_logger)
    raw.put("up/keep.txt", b"neighbour")
    raw.put("up/big.bin", b"previous version")
    parts = pieces(12 * MiB)
    received = 0
    for i, part in enumerate(parts[:-1], start=1):
        model = cm.save(chunk_model(part, i), "up/big.bin")
        received += len(part)
        # What LargeFileManager answers for an intermediate chunk: the file so far.
        assert (model["name"], model["path"], model["type"]) == (
            "big.bin",
            "up/big.bin",
            "file",
        )
        assert model["size"] == received and model["content"] is None
    # 11 MiB received: two full parts are already in the store, the rest is buffered.
    (key,) = raw.uploads()
    assert key == "up/big.bin"
    listed = raw.client.list_multipart_uploads(
        Bucket=raw.bucket, Prefix=raw.key("up/")
    )["Uploads"]
    uploaded = raw.client.list_parts(
        Bucket=raw.bucket, Key=raw.key("up/big.bin"), UploadId=listed[0]["UploadId"]
    )
    assert [p["Size"] for p in uploaded["Parts"]] == [PART, PART]
    # Until the last chunk the previous version is what everyone sees.
    assert raw.read("up/big.bin") == b"previous version"
    assert cm.get("up/big.bin")["content"] == "previous version"
    assert not [e for e in events.events() if e.get("action") == "save"]

    final = cm.save(chunk_model(parts[-1], -1), "up/big.bin")
    assert final["size"] == 12 * MiB and final["type"] == "file"
    assert (
        final["last_modified"] == cm.get("up/big.bin", content=False)["last_modified"]
    )
    stored = raw.read("up/big.bin")
    assert hashlib.sha256(stored).digest() == hashlib.sha256(b"".join(parts)).digest()
    assert raw.uploads() == []
    assert raw.read("up/keep.txt") == b"neighbour"
    assert [e["path"] for e in events.events() if e.get("action") == "save"] == [
        "up/big.bin"
    ]


def test_hooks_run_on_first_and_last_chunk(make_cm, raw):
    calls = []
    cm = make_cm(
        pre_save_hook=lambda model, path, contents_manager, **kw: calls.append(
            ("pre", path, model["chunk"])
        ),
        post_save_hook=lambda model, s3_path, contents_manager, **kw: calls.append(
            ("post", s3_path, model["size"])
        ),
    )
    upload(cm, "h.bin", [b"a" * 10, b"b" * 10, b"c" * 5])
    assert calls == [("pre", "h.bin", 1), ("post", "h.bin", 25)]


def test_concurrent_uploads_to_different_paths(big_cm, raw):
    a, b = pieces(6 * MiB, seed=1), pieces(6 * MiB, seed=2)
    for i, (pa, pb) in enumerate(zip(a, b)):
        number = -1 if i == len(a) - 1 else i + 1
        big_cm.save(chunk_model(pa, number), "a.bin")
        big_cm.save(chunk_model(pb, number), "b.bin")
    assert raw.read("a.bin") == b"".join(a)
    assert raw.read("b.bin") == b"".join(b)
    assert raw.uploads() == []


def test_second_upload_to_the_same_path_gets_409_while_the_first_is_active(cm, raw):
    cm.save(chunk_model(b"first-1 ", 1), "same.bin")
    before = raw.snapshot()
    err = expect_http(409, cm.save, chunk_model(b"second-1 ", 1), "same.bin")
    assert "in progress" in str(err.log_message)
    assert raw.snapshot() == before
    cm.save(chunk_model(b"first-2 ", 2), "same.bin")
    cm.save(chunk_model(b"first-end", -1), "same.bin")
    assert raw.read("same.bin") == b"first-1 first-2 first-end"
    # Once finished, the path takes new uploads again.
    upload(cm, "same.bin", [b"second-1 ", b"second-end"])
    assert raw.read("same.bin") == b"second-1 second-end"


# =========================================================================== protocol faults
BAD_CHUNKS = {
    "out of order": [chunk_model(b"1", 1), chunk_model(b"3", 3)],
    # The same chunk again with other bytes (the same bytes again is a retry, accepted).
    "repeated": [chunk_model(b"1", 1), chunk_model(b"2", 2), chunk_model(b"other", 2)],
    "never started": [chunk_model(b"2", 2)],
    "last without first": [chunk_model(b"end", -1)],
}

# Chunks refused before they reach the store, with LargeFileManager's messages where it
# has one: the upload in progress goes on, the client can send that chunk again.
REFUSED_CHUNKS = {
    "not base64": ({**chunk_model(b"", 2), "content": "***not base64***"}, None),
    "no type": (
        {"format": "base64", "content": "eA==", "chunk": 2},
        "No file type provided",
    ),
    "notebook type": (
        chunk_model(b"2", 2, type="notebook"),
        'File type "notebook" is not supported for large file transfer',
    ),
    "no content": (
        {"type": "file", "format": "base64", "chunk": 2},
        "No file content provided",
    ),
    "json format": (
        chunk_model(b"2", 2, format="json"),
        "Must specify format of file contents as 'text' or 'base64'",
    ),
    "chunk zero": (chunk_model(b"0", 0), None),
    "chunk not a number": (chunk_model(b"x", "2"), None),
}


@pytest.mark.parametrize("case", sorted(BAD_CHUNKS))
def test_bad_chunk_is_400_and_changes_nothing(cm, raw, case):
    raw.put("f/target.bin", b"stored before")
    raw.put("f/other.txt", b"other")
    before = raw.snapshot()
    *accepted, bad = BAD_CHUNKS[case]
    for model in accepted:
        cm.save(model, "f/target.bin")
    expect_http(400, cm.save, bad, "f/target.bin")
    # The broken upload is cancelled at once: no parts left billed, nothing replaced.
    assert raw.snapshot() == before
    assert raw.read("f/target.bin") == b"stored before"
    # And a fresh upload of the same path works.
    upload(cm, "f/target.bin", [b"new-1 ", b"new-end"])
    assert raw.read("f/target.bin") == b"new-1 new-end"


@pytest.mark.parametrize("case", sorted(REFUSED_CHUNKS))
def test_refused_chunk_is_400_and_the_upload_goes_on(cm, raw, case):
    raw.put("f/target.bin", b"stored before")
    bad, message = REFUSED_CHUNKS[case]
    cm.save(chunk_model(b"1 ", 1), "f/target.bin")
    err = expect_http(400, cm.save, bad, "f/target.bin")
    if message is not None:
        assert err.log_message == message
    assert raw.read("f/target.bin") == b"stored before"
    cm.save(chunk_model(b"2 ", 2), "f/target.bin")
    cm.save(chunk_model(b"end", -1), "f/target.bin")
    assert raw.read("f/target.bin") == b"1 2 end"
    assert raw.uploads() == []


def test_text_chunks_are_utf8(cm, raw):
    """LargeFileManager takes chunks as text too (clients other than JupyterLab send them)."""
    cm.save({"type": "file", "format": "text", "content": "é1 ", "chunk": 1}, "t.txt")
    cm.save(chunk_model("2 ".encode(), 2), "t.txt")
    cm.save(
        {"type": "file", "format": "text", "content": "fin ✓", "chunk": -1}, "t.txt"
    )
    assert raw.read("t.txt") == "é1 2 fin ✓".encode()


@pytest.mark.parametrize("path", [".hidden.bin", "dir/.secret/x.bin"])
def test_chunk_to_forbidden_path_is_400(cm, raw, path):
    before = raw.snapshot()
    expect_http(400, cm.save, chunk_model(b"x", 1), path)
    assert raw.snapshot() == before


def test_chunk_outside_the_root_is_404(cm, raw):
    before = raw.snapshot()
    expect_http(404, cm.save, chunk_model(b"x", 1), "../escape.bin")
    assert raw.snapshot() == before


def test_chunk_over_a_directory_is_refused(cm, raw):
    raw.put("folder/inside.txt", b"i")
    before = raw.snapshot()
    expect_http(400, cm.save, chunk_model(b"x", 1), "folder")
    assert raw.snapshot() == before


def test_abandoned_upload_is_aborted_in_the_store(make_cm, raw):
    cm = make_cm(upload_timeout=0.5)
    raw.put("keep.txt", b"k")
    before = raw.snapshot()
    cm.save(chunk_model(b"started", 1), "gone.bin")
    assert raw.uploads() == ["gone.bin"]
    deadline = time.monotonic() + 20
    while raw.uploads() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert raw.uploads() == [], "the reaper did not abort the abandoned upload"
    assert raw.snapshot() == before
    err = expect_http(400, cm.save, chunk_model(b"late", 2), "gone.bin")
    assert "no upload" in str(err.log_message)


def test_abandoned_upload_can_be_replaced_by_a_new_one(make_cm, raw):
    # Shorter than the 30 s "still active" window: the new upload may take over.
    cm = make_cm(upload_timeout=1.0)
    cm.save(chunk_model(b"old ", 1), "r.bin")
    time.sleep(1.2)
    upload(cm, "r.bin", [b"new ", b"end"])
    assert raw.read("r.bin") == b"new end"
    assert raw.uploads() == []


def test_abort_uploads_cancels_everything_in_progress(cm, raw):
    cm.save(chunk_model(b"1", 1), "x.bin")
    cm.save(chunk_model(b"1", 1), "y/z.bin")
    assert raw.uploads() == ["x.bin", "y/z.bin"]
    assert cm.raw.store.abort_uploads() == 2
    assert raw.uploads() == [] and raw.keys() == set()


def open_upload_ids(raw, s3_client, path: str) -> list[str]:
    key = raw.key(path)
    found = s3_client.list_multipart_uploads(Bucket=raw.bucket, Prefix=key).get(
        "Uploads", []
    )
    return sorted(u["UploadId"] for u in found if u["Key"] == key)


@pytest.mark.parametrize("retried_by", ["client", "manager"])
def test_a_lost_start_is_aborted_and_other_clients_uploads_are_kept(
    make_proxied_cm, fault_proxy, raw, s3_client, retried_by
):
    """The answer to CreateMultipartUpload is lost: S3 opened an upload we never learnt
    the id of. Whether the HTTP client retries the start itself or the upload fails and
    is retried, that upload is aborted; the uploads another client had open on the same
    key (and on a longer key of the same prefix) before are left alone."""
    theirs = s3_client.create_multipart_upload(
        Bucket=raw.bucket, Key=raw.key("shared.bin")
    )["UploadId"]
    neighbour = s3_client.create_multipart_upload(
        Bucket=raw.bucket, Key=raw.key("shared.bin.bak")
    )["UploadId"]
    cm = make_proxied_cm(max_retries=2 if retried_by == "client" else 0)
    fault_proxy.add(Fault("drop_response"), method="POST", target=r"\?uploads")
    try:
        upload(cm, "shared.bin", [b"first ", b"last"])
    except Exception:  # noqa: BLE001 (the manager's own retry: the upload is started again)
        assert retried_by == "manager"
        upload(cm, "shared.bin", [b"first ", b"last"])
    assert fault_proxy.faults_fired(), "the test meant to lose the answer to a start"
    assert raw.read("shared.bin") == b"first last"
    assert open_upload_ids(raw, s3_client, "shared.bin") == [theirs]
    assert open_upload_ids(raw, s3_client, "shared.bin.bak") == [neighbour]
    for key, upload_id in (
        (raw.key("shared.bin"), theirs),
        (raw.key("shared.bin.bak"), neighbour),
    ):
        s3_client.abort_multipart_upload(Bucket=raw.bucket, Key=key, UploadId=upload_id)


def test_an_upload_succeeds_when_the_open_uploads_cannot_be_listed(
    make_proxied_cm, fault_proxy, raw
):
    """Without s3:ListBucketMultipartUploads the check for leftovers fails: the upload
    itself is not affected (a warning is logged)."""
    cm = make_proxied_cm()
    fault_proxy.add(
        Fault.error("AccessDenied"), method="GET", target=r"[?&]uploads=", times=None
    )
    upload(cm, "denied.bin", [b"still ", b"stored"])
    assert fault_proxy.faults_fired(), (
        "the test meant to refuse the listing of open uploads"
    )
    assert raw.read("denied.bin") == b"still stored"
    assert raw.uploads() == []


# =========================================================================== reading
def test_get_large_binary_as_base64_and_text(big_cm, raw):
    data = b"".join(pieces(7 * MiB, seed=3))
    raw.put("bin.dat", data)
    for fmt in ("base64", None):
        model = big_cm.get("bin.dat", format=fmt)
        assert (
            model["format"] == "base64"
            and model["mimetype"] == "application/octet-stream"
        )
        assert base64.b64decode(model["content"]) == data
    expect_http(400, big_cm.get, "bin.dat", format="text")
    text = ("line ✓\n" * 300_000).encode()
    raw.put("big.txt", text)
    model = big_cm.get("big.txt")
    assert model["format"] == "text" and model["content"].encode() == text
    model = big_cm.get("big.txt", format="base64")
    assert base64.b64decode(model["content"]) == text
    hashed = big_cm.get("big.txt", require_hash=True)
    assert (
        hashed["hash"] == hashlib.sha256(text).hexdigest()
        and hashed["content"].encode() == text
    )


def test_new_file_is_not_listed_until_its_last_chunk(cm, raw):
    cm.save(chunk_model(b"part one ", 1), "fresh/new.bin")
    cm.save(chunk_model(b"part two ", 2), "fresh/new.bin")
    expect_http(404, cm.get, "fresh/new.bin")
    assert not cm.file_exists("fresh/new.bin")
    assert "fresh" not in {m["name"] for m in cm.get("")["content"]}
    cm.save(chunk_model(b"end", -1), "fresh/new.bin")
    assert [m["name"] for m in cm.get("fresh")["content"]] == ["new.bin"]
    assert cm.get("fresh/new.bin", format="text")["content"] == "part one part two end"
