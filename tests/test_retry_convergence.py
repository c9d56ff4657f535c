"""Any failed operation can simply be retried (issue 12, section 6).

Every operation is run once cleanly through the fault proxy to count its requests and
record the final state of the bucket. Then, for each request position, it is run again
from the same start with one fault at that position (an S3 500, a connection reset, or
a response lost after the store did the work; the outage tests fail every request from
that position on). If the operation fails, it is retried ONCE, with the same manager and
no fault, and that retry must succeed. Either way the bucket must end exactly as after
the clean run: the same objects with the same bytes (files, checkpoints, no
placeholder), and no multipart upload left open.

Retries in the store client are off (``max_retries=0``) so that each fault reaches the
operation; the tests with retries on check that a single fault on a request the client
does not retry itself (conditional PUT, bulk delete) no longer fails the operation.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from tornado.web import HTTPError

from support.fault_proxy import Fault

pytestmark = pytest.mark.timeout(600)

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": "x = 1"}
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}
NOTEBOOK_BYTES = (json.dumps(NOTEBOOK, indent=1) + "\n").encode()


def notebook_model(source: str = "x = 1") -> dict:
    nb = json.loads(json.dumps(NOTEBOOK))
    nb["cells"][0]["source"] = source
    return {"type": "notebook", "format": "json", "content": nb}


TREE = {
    "t/a.txt": b"a" * 10,
    "t/b.txt": b"bb",
    "t/.s3keep": b"",
    "t/sub/c.bin": bytes(range(50)),
    "t/sub/nb.ipynb": NOTEBOOK_BYTES,
    "t/sub/.ipynb_checkpoints/nb-checkpoint.ipynb": NOTEBOOK_BYTES,
}

UPLOAD = bytes(range(256)) * (6 * 4096)  # 6 MiB: two parts of a multipart upload


def upload(cm, path="big.bin"):
    half = len(UPLOAD) // 2
    for number, chunk in ((1, UPLOAD[:half]), (-1, UPLOAD[half:])):
        model = {"type": "file", "format": "base64", "chunk": number, "content": base64.b64encode(chunk).decode()}
        cm.save(model, path)


def text(content):
    return {"type": "file", "format": "text", "content": content}


# name -> (objects to start from, setup through the manager or None, the operation)
OPERATIONS = {
    "save": ({"s.txt": b"old"}, None, lambda cm: cm.save(text("new"), "s.txt")),
    "save_new_notebook": ({}, None, lambda cm: cm.save(notebook_model(), "n.ipynb")),
    "save_notebook_again": (
        {},
        lambda cm: cm.save(notebook_model(), "n.ipynb"),
        lambda cm: cm.save(notebook_model("y = 2"), "n.ipynb"),
    ),
    "new_notebook": ({}, None, lambda cm: cm.new(path="fresh.ipynb")),
    "new_directory": ({}, None, lambda cm: cm.new({"type": "directory"}, "folder")),
    "rename_file": (
        {"d/nb.ipynb": NOTEBOOK_BYTES, "d/.ipynb_checkpoints/nb-checkpoint.ipynb": b'{"old": 1}\n'},
        None,
        lambda cm: cm.rename("d/nb.ipynb", "d/nb2.ipynb"),
    ),
    "rename_tree": (TREE, None, lambda cm: cm.rename("t", "moved")),
    "copy_file": ({"c.txt": b"copy me", "dst/.s3keep": b""}, None, lambda cm: cm.copy("c.txt", "dst")),
    "copy_tree": (TREE, None, lambda cm: cm.copy("t", "t2")),
    "delete_file": (
        {"x.txt": b"bye", ".ipynb_checkpoints/x-checkpoint.txt": b"old bye"},
        None,
        lambda cm: cm.delete("x.txt"),
    ),
    "delete_tree": (TREE, None, lambda cm: cm.delete("t")),
    "checkpoint_create": ({"n.ipynb": NOTEBOOK_BYTES}, None, lambda cm: cm.create_checkpoint("n.ipynb")),
    "checkpoint_restore": (
        {"n.ipynb": b'{"edited": 1}\n', ".ipynb_checkpoints/n-checkpoint.ipynb": NOTEBOOK_BYTES},
        None,
        lambda cm: cm.restore_checkpoint("checkpoint", "n.ipynb"),
    ),
    "checkpoint_delete": (
        {"n.ipynb": NOTEBOOK_BYTES, ".ipynb_checkpoints/n-checkpoint.ipynb": NOTEBOOK_BYTES},
        None,
        lambda cm: cm.delete_checkpoint("checkpoint", "n.ipynb"),
    ),
    "chunked_upload": ({"big.bin": b"previous version"}, None, upload),
}

FAULTS = {
    "error500": Fault.error("InternalError"),
    "reset": Fault("reset"),
    "lost_response": Fault("drop_response"),
}

_TRASH_STAMP = re.compile(r"^\.Trash/[^/]+/")


def state(raw) -> dict:
    """Every object's bytes (trash stamps left out: a retried delete trashes again under
    a new stamp, with the same bytes) and the multipart uploads still open."""
    objects = {}
    for key in sorted(raw.keys()):
        objects[_TRASH_STAMP.sub(".Trash/*/", key)] = raw.read(key)
    return {"objects": objects, "uploads": raw.uploads()}


def start_from(raw, s3_client, objects) -> None:
    for upload_ in s3_client.list_multipart_uploads(Bucket=raw.bucket, Prefix=raw.prefix + "/").get("Uploads", []):
        s3_client.abort_multipart_upload(Bucket=raw.bucket, Key=upload_["Key"], UploadId=upload_["UploadId"])
    raw.delete_all()
    for path, body in objects.items():
        raw.put(path, body)


def converges(make_proxied_cm, fault_proxy, raw, s3_client, name, add_fault, **cm_kwargs):
    """Run operation `name` once per request position with `add_fault(position)`; retry
    once on failure; the bucket must end as after a clean run. Returns (positions, failed
    runs, runs in which the fault fired)."""
    objects, prepare, operation = OPERATIONS[name]

    def fresh_cm():
        start_from(raw, s3_client, objects)
        cm = make_proxied_cm(**cm_kwargs)
        if prepare is not None:
            prepare(cm)
        fault_proxy.reset()
        return cm

    cm = fresh_cm()
    operation(cm)
    positions = fault_proxy.count
    expected = state(raw)
    assert expected["uploads"] == [], expected
    failed = fired_runs = 0
    for position in range(positions):
        cm = fresh_cm()
        add_fault(position)
        try:
            operation(cm)
            fired_runs += bool(fault_proxy.faults_fired())
        except Exception as first:  # noqa: BLE001 (failing is allowed; the retry must finish it)
            failed += 1
            fired = fault_proxy.faults_fired()
            fired_runs += bool(fired)
            fault_proxy.reset()
            try:
                operation(cm)
            except Exception as e:  # noqa: BLE001
                pytest.fail(f"{name}, fault at request {position} ({fired}): first {first!r}; the retry failed: {e!r}")
        fault_proxy.reset()
        now = state(raw)
        assert now == expected, f"{name}, fault at request {position}: the bucket differs from a clean run"
    return positions, failed, fired_runs


# Operations made only of raw S3 requests the core retries itself (signed_s3.rs: a
# checkpoint is one CopyObject, whose answer dates it): one fault never reaches them.
RETRIED_INSIDE = {"checkpoint_create"}


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("name", OPERATIONS)
def test_one_fault_then_one_retry_converges(make_proxied_cm, fault_proxy, raw, s3_client, flavor, name, fault_name):
    if flavor == "async" and fault_name != "lost_response":
        pytest.skip("same Rust core as the sync flavour; the async flavour runs the lost-response case (run time)")
    fault = FAULTS[fault_name]
    positions, failed, fired = converges(
        make_proxied_cm, fault_proxy, raw, s3_client, name, lambda position: fault_proxy.add(fault, index=position)
    )
    assert positions > 0 and fired == positions, f"a fault fired in {fired} of {positions} runs"
    if name in RETRIED_INSIDE:
        assert failed == 0, "a fault the core retries itself made the operation fail"
    else:
        assert failed > 0, "no injected fault made the operation fail: the test injects nothing"


# (Not the copies: when the outage starts after a COPY, what was copied stays, and the
# retry's listing shows the name taken, so the manager picks another name: see README.)
@pytest.mark.parametrize("name", ["rename_file", "rename_tree", "delete_tree", "save_new_notebook", "chunked_upload"])
def test_outage_then_one_retry_converges(make_proxied_cm, fault_proxy, raw, s3_client, flavor, name):
    """The store stops answering at some request (every later one fails too, rollbacks
    included); once it is back, one retry finishes the operation."""
    if flavor == "async":
        pytest.skip("same Rust core as the sync flavour (run time)")
    converges(
        make_proxied_cm,
        fault_proxy,
        raw,
        s3_client,
        name,
        lambda position: fault_proxy.add(Fault.error("ServiceUnavailable"), from_index=position, times=None),
    )


# =========================================================================== client retries on
@pytest.mark.parametrize("fault", [Fault("reset"), Fault("drop_response")], ids=["reset", "lost_response"])
@pytest.mark.parametrize(
    "name,method,target",
    [
        ("new_notebook", "PUT", r"fresh\.ipynb"),  # create-only PUT (If-None-Match)
        ("copy_file", "PUT", r"dst/c\.txt"),  # the claim: create-only PUT; then the COPY
        ("rename_tree", "POST", r"\?delete"),  # DeleteObjects
        ("save_notebook_again", "PUT", r"n\.ipynb$"),  # If-Match PUT
    ],
    ids=["create", "claim", "bulk_delete", "if_match"],
)
def test_single_fault_on_unretried_requests_is_survived(
    make_proxied_cm, fault_proxy, raw, s3_client, flavor, name, method, target, fault
):
    objects, prepare, operation = OPERATIONS[name]
    start_from(raw, s3_client, objects)
    cm = make_proxied_cm()
    if prepare is not None:
        prepare(cm)
    fault_proxy.reset()
    operation(cm)
    expected = state(raw)

    start_from(raw, s3_client, objects)
    cm = make_proxied_cm(max_retries=2)
    if prepare is not None:
        prepare(cm)
    fault_proxy.reset()
    fault_proxy.add(fault, method=method, target=target)
    operation(cm)  # no error
    assert fault_proxy.faults_fired(), fault_proxy.records
    assert state(raw) == expected


# =========================================================================== placeholders
def test_a_placeholder_is_never_shown_as_a_file(make_proxied_cm, fault_proxy, raw, s3_client):
    """An outage right after a copy claimed its target leaves the placeholder (its
    rollback fails too): listings and gets do not show it, the retry replaces it, and the
    error says what was left."""
    start_from(raw, s3_client, {"c.txt": b"copy me", "dst/.s3keep": b""})
    cm = make_proxied_cm()
    # Requests after the manager's start-up: LIST dst (the free name), the claim's PUT and a
    # HEAD of the source (together, in either order), the COPY. The outage starts at the COPY.
    fault_proxy.add(Fault.error("ServiceUnavailable"), from_index=fault_proxy.count + 3, times=None)
    with pytest.raises(Exception) as info:
        cm.copy("c.txt", "dst")
    assert "dst/c.txt" in str(info.value) and "retrying the copy" in str(info.value), info.value
    fault_proxy.reset()
    assert raw.exists("dst/c.txt"), "the test meant to leave a placeholder"
    assert [m["name"] for m in cm.get("dst")["content"]] == []
    with pytest.raises(HTTPError):
        cm.get("dst/c.txt")
    model = cm.copy("c.txt", "dst")
    assert model["path"] == "dst/c.txt"
    assert raw.read("dst/c.txt") == b"copy me"
    assert [m["name"] for m in cm.get("dst")["content"]] == ["c.txt"]


def test_a_rename_that_left_the_file_at_both_paths_says_so(make_proxied_cm, fault_proxy, raw, s3_client):
    start_from(raw, s3_client, {"a.txt": b"moving"})
    cm = make_proxied_cm()
    fault_proxy.add(Fault.error("ServiceUnavailable"), method="POST", target=r"\?delete", times=None)
    fault_proxy.add(Fault.error("ServiceUnavailable"), method="DELETE", times=None)
    with pytest.raises(Exception) as info:
        cm.rename("a.txt", "b.txt")
    message = str(info.value)
    assert "both paths" in message and "retrying the rename" in message, message
    fault_proxy.reset()
    assert raw.read("a.txt") == raw.read("b.txt") == b"moving"
    cm.rename("a.txt", "b.txt")
    assert state(raw)["objects"] == {"b.txt": b"moving"}


def test_renaming_onto_an_identical_file_is_still_a_conflict(make_proxied_cm, fault_proxy, raw, s3_client):
    """Only what this server's own interrupted rename left is resumed: an identical file
    that was there before is someone's file, and the rename gets 409."""
    start_from(raw, s3_client, {"a.txt": b"same", "b.txt": b"same"})
    cm = make_proxied_cm()
    with pytest.raises(Exception) as info:
        cm.rename("a.txt", "b.txt")
    assert getattr(info.value, "status_code", None) == 409, info.value
    assert state(raw)["objects"] == {"a.txt": b"same", "b.txt": b"same"}
