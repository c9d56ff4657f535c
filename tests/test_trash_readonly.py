"""Recoverable deletes (``delete_to_trash``) and the ``read_only`` mode."""

from __future__ import annotations

import json

import pytest

from support.reliability_fixtures import expect_status, snapshot
from support.s3c_helpers import listing

NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": "# kept"}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def trashed(raw) -> dict[str, bytes]:
    """Trashed objects by their original path (timestamps stripped)."""
    return {k.split("/", 2)[2]: raw.read(k) for k in raw.keys() if k.startswith(".Trash/")}


# =========================================================================== trash
def test_deleted_notebook_is_restored_byte_identical_from_the_trash(cm, raw, s3_client, s3_settings):
    cm.save({"type": "notebook", "content": NOTEBOOK}, "work/analysis.ipynb")
    original = raw.read("work/analysis.ipynb")
    cm.delete("work/analysis.ipynb")
    assert not raw.exists("work/analysis.ipynb")
    expect_status(404, cm.get, "work/analysis.ipynb")
    [key] = [k for k in raw.keys() if k.startswith(".Trash/")]
    assert key.endswith("/work/analysis.ipynb"), key
    # Restore as the README says: copy the object back (here with boto3, as `aws s3 cp` would).
    s3_client.copy_object(
        Bucket=s3_settings.bucket,
        Key=raw.key("work/analysis.ipynb"),
        CopySource={"Bucket": s3_settings.bucket, "Key": raw.key(key)},
    )
    assert raw.read("work/analysis.ipynb") == original
    assert cm.get("work/analysis.ipynb")["content"]["cells"][0]["source"] == "# kept"


def test_deleted_folder_goes_to_the_trash(cm, raw):
    raw.put("proj/a.txt", b"a")
    raw.put("proj/sub/b.bin", bytes(range(256)))
    raw.put("proj/.s3keep")
    cm.delete("proj")
    assert not any(k.startswith("proj/") for k in raw.keys()), sorted(raw.keys())
    assert trashed(raw) == {
        "proj/a.txt": b"a",
        "proj/sub/b.bin": bytes(range(256)),
        "proj/.s3keep": b"",
    }


@pytest.mark.parametrize("allow_hidden", [False, True])
def test_trash_is_hidden_and_unreachable(make_cm, raw, allow_hidden):
    cm = make_cm(allow_hidden=allow_hidden)
    raw.put("gone.txt", b"secret draft")
    raw.put("here.txt", b"x")
    cm.delete("gone.txt")
    assert set(listing(cm.get(""))) == {"here.txt"}
    [key] = [k for k in raw.keys() if k.startswith(".Trash/")]
    before = snapshot(raw)
    for path in (".Trash", key, ".Trash/" + key.split("/")[1]):
        # Hidden names read as 404 unless allow_hidden; the reserved name is 400 anyway.
        expect_status(400 if allow_hidden else 404, cm.get, path)
        expect_status(400, cm.save, {"type": "file", "format": "text", "content": "x"}, path)
        expect_status(400, cm.delete, path)
        expect_status(400, cm.rename, path, "back.txt")
        expect_status(400, cm.rename, "here.txt", path)
    expect_status(400 if allow_hidden else 404, cm.copy, key, "")
    expect_status(400, cm.copy, "here.txt", ".Trash")
    assert snapshot(raw) == before


def test_delete_to_trash_off_deletes_for_real(make_cm, raw):
    cm = make_cm(delete_to_trash=False)
    raw.put("d/x.txt", b"x")
    raw.put("y.txt", b"y")
    cm.delete("d")
    cm.delete("y.txt")
    assert raw.keys() == set()


def test_trash_with_checkpoints_and_nested_prefix(make_cm, raw, test_prefix, s3_settings, s3_client):
    from support.s3_fixtures import RawBucket

    cm = make_cm(prefix=f"{test_prefix}/team/ann")
    nested = RawBucket(s3_client, s3_settings.bucket, f"{test_prefix}/team/ann")
    cm.save({"type": "file", "format": "text", "content": "v1"}, "f.txt")
    cm.delete("f.txt")
    assert [k for k in raw.keys() if "/.Trash/" in k][0].startswith("team/ann/.Trash/")
    assert trashed(nested) == {"f.txt": b"v1"}


# =========================================================================== read-only
def test_read_only_reads_work_and_every_write_is_403(make_cm, raw):
    raw.put("nb.ipynb", json.dumps(NOTEBOOK))
    raw.put("dir/f.txt", b"text")
    raw.put(".ipynb_checkpoints/nb-checkpoint.ipynb", json.dumps(NOTEBOOK))
    cm = make_cm(read_only=True)
    before = snapshot(raw)

    root = cm.get("")
    assert root["writable"] is False
    assert all(entry["writable"] is False for entry in root["content"])
    assert cm.get("nb.ipynb")["writable"] is False
    assert cm.get("dir/f.txt")["content"] == "text"
    assert cm.get("dir/f.txt", content=False)["writable"] is False
    assert [c["id"] for c in cm.list_checkpoints("nb.ipynb")] == ["checkpoint"]

    writes = [
        (cm.save, {"type": "file", "format": "text", "content": "x"}, "dir/f.txt"),
        (cm.save, {"type": "file", "format": "text", "content": "x"}, "new.txt"),
        (cm.save, {"type": "directory"}, "newdir"),
        (
            cm.save,
            {"type": "file", "format": "base64", "content": "eA==", "chunk": 1},
            "up.bin",
        ),
        (cm.new_untitled, "", "notebook"),
        (cm.new, None, "n.txt"),
        (cm.copy, "dir/f.txt", "dir"),
        (cm.rename, "dir/f.txt", "dir/g.txt"),
        (cm.delete, "dir/f.txt"),
        (cm.delete, "dir"),
        (cm.create_checkpoint, "nb.ipynb"),
        (cm.restore_checkpoint, "checkpoint", "nb.ipynb"),
        (cm.delete_checkpoint, "checkpoint", "nb.ipynb"),
    ]
    for fn, *args in writes:
        error = expect_status(403, fn, *args)
        assert "read-only" in error.log_message, (fn.__name__, error.log_message)
    assert snapshot(raw) == before
