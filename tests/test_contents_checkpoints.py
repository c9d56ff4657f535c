"""Checkpoints: create, list, restore, delete, max_checkpoints.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import datetime
import json
import time

import pytest

from support.contents_helpers import make_nb, nb_model, text_model
from support.s3c_helpers import expect_http, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== checkpoints
def test_checkpoint_lifecycle(cm, raw):
    cm.save(text_model("original"), "d/f.txt")
    assert cm.list_checkpoints("d/f.txt") == []

    cp = cm.create_checkpoint("d/f.txt")
    assert cp["id"] == "checkpoint"
    assert isinstance(cp["last_modified"], datetime.datetime)
    assert cp["last_modified"].tzinfo is not None
    assert raw.read("d/.ipynb_checkpoints/f-checkpoint.txt") == b"original"

    listed = cm.list_checkpoints("d/f.txt")
    assert [c["id"] for c in listed] == ["checkpoint"]
    assert listed[0]["last_modified"] == cp["last_modified"]

    cm.save(text_model("modified"), "d/f.txt")
    assert raw.read("d/f.txt") == b"modified"
    cm.restore_checkpoint("checkpoint", "d/f.txt")
    assert raw.read("d/f.txt") == b"original"
    assert cm.get("d/f.txt")["content"] == "original"

    cm.delete_checkpoint("checkpoint", "d/f.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert cm.list_checkpoints("d/f.txt") == []
    # the checkpoint folder is never shown
    assert set(listing(cm.get("d"))) == {"f.txt"}


def test_checkpoint_of_root_level_file(cm, raw):
    cm.save(text_model("root"), "r.txt")
    cm.create_checkpoint("r.txt")
    assert raw.read(".ipynb_checkpoints/r-checkpoint.txt") == b"root"
    assert set(listing(cm.get(""))) == {"r.txt"}


def test_checkpoint_notebook_key_and_byte_identical_restore(cm, raw):
    nb = make_nb("original")
    original = json.dumps(nb, separators=(",", ":")).encode("utf-8")  # non-nbformat layout
    raw.put("n/nb.ipynb", original)
    cp = cm.create_checkpoint("n/nb.ipynb")
    assert raw.read(f"n/.ipynb_checkpoints/nb-{cp['id']}.ipynb") == original
    cm.save(nb_model(make_nb("changed")), "n/nb.ipynb")
    assert raw.read("n/nb.ipynb") != original
    cm.restore_checkpoint(cp["id"], "n/nb.ipynb")
    assert raw.read("n/nb.ipynb") == original


def test_checkpoint_binary_restore(cm, raw):
    data = bytes(range(256))
    raw.put("bin/x.bin", data)
    cp = cm.create_checkpoint("bin/x.bin")
    raw.put("bin/x.bin", b"overwritten")
    cm.restore_checkpoint(cp["id"], "bin/x.bin")
    assert raw.read("bin/x.bin") == data


def test_single_checkpoint_is_replaced(cm, raw):
    cm.save(text_model("v1"), "f.txt")
    cm.create_checkpoint("f.txt")
    cm.save(text_model("v2"), "f.txt")
    cp = cm.create_checkpoint("f.txt")
    assert cp["id"] == "checkpoint"
    assert [c["id"] for c in cm.list_checkpoints("f.txt")] == ["checkpoint"]
    assert raw.read(".ipynb_checkpoints/f-checkpoint.txt") == b"v2"
    assert [k for k in raw.keys() if ".ipynb_checkpoints/" in k] == [".ipynb_checkpoints/f-checkpoint.txt"]


@pytest.mark.timeout(90)
def test_max_checkpoints_three(make_cm, raw):
    cm = make_cm(max_checkpoints=3)
    ids = []
    for i in range(4):
        cm.save(text_model(f"version {i}"), "d/f.txt")
        ids.append(cm.create_checkpoint("d/f.txt")["id"])
        if i < 3:
            time.sleep(1.1)  # S3 timestamps have one-second resolution
    assert len(set(ids)) == 4, ids
    listed = [c["id"] for c in cm.list_checkpoints("d/f.txt")]
    assert len(listed) == 3, listed
    assert listed == [ids[3], ids[2], ids[1]], (
        listed,
        ids,
    )  # newest first, oldest pruned
    cp_keys = {k for k in raw.keys() if k.startswith("d/.ipynb_checkpoints/")}
    assert cp_keys == {f"d/.ipynb_checkpoints/f-{i}.txt" for i in ids[1:]}, cp_keys
    assert raw.read(f"d/.ipynb_checkpoints/f-{ids[2]}.txt") == b"version 2"

    cm.save(text_model("current"), "d/f.txt")
    cm.restore_checkpoint(ids[1], "d/f.txt")
    assert raw.read("d/f.txt") == b"version 1"
    cm.restore_checkpoint(ids[3], "d/f.txt")
    assert raw.read("d/f.txt") == b"version 3"

    cm.delete_checkpoint(ids[2], "d/f.txt")
    assert [c["id"] for c in cm.list_checkpoints("d/f.txt")] == [ids[3], ids[1]]

    cm.rename("d/f.txt", "d/g.txt")
    assert [c["id"] for c in cm.list_checkpoints("d/g.txt")] == [ids[3], ids[1]]
    assert raw.read(f"d/.ipynb_checkpoints/g-{ids[1]}.txt") == b"version 1"

    cm.delete("d/g.txt")
    assert not any(k.startswith("d/.ipynb_checkpoints/") for k in raw.keys())


def test_missing_checkpoint_is_404(cm, raw):
    cm.save(text_model("x"), "f.txt")
    expect_http(404, cm.delete_checkpoint, "checkpoint", "f.txt")
    expect_http(404, cm.restore_checkpoint, "checkpoint", "f.txt")
    assert raw.read("f.txt") == b"x"
