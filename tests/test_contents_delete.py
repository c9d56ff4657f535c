"""delete: files, directory trees, checkpoints, always_delete_dir.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations


import pytest
from support.contents_helpers import text_model
from support.s3c_helpers import expect_http, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== delete
def test_delete_file_and_its_checkpoints(cm, raw):
    cm.save(text_model("bye"), "d/f.txt")
    cm.create_checkpoint("d/f.txt")
    raw.put("d/other.txt", b"stay")
    cm.delete("d/f.txt")
    assert not raw.exists("d/f.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert raw.read("d/other.txt") == b"stay"
    expect_http(404, cm.get, "d/f.txt")


def test_delete_directory_tree(cm, raw):
    for key in (
        "tree/.s3keep",
        "tree/a.txt",
        "tree/sub/b.ipynb",
        "tree/sub/.s3keep",
        "tree/.ipynb_checkpoints/a-checkpoint.txt",
        "tree/sub/.ipynb_checkpoints/b-checkpoint.ipynb",
    ):
        raw.put(key, b"x")
    raw.put("tree2/keep.txt", b"keep")
    cm.delete("tree")
    keys = raw.keys()
    assert not any(k.startswith("tree/") for k in keys), sorted(keys)
    assert "tree2/keep.txt" in keys
    expect_http(404, cm.get, "tree")
    assert set(listing(cm.get(""))) == {"tree2"}


def test_delete_empty_dir(cm, raw):
    raw.put("empty/.s3keep")
    cm.delete("empty")
    assert not any(k.startswith("empty/") for k in raw.keys()), sorted(raw.keys())
    assert not cm.dir_exists("empty")


def test_delete_console_style_dir(cm, raw):
    raw.put("console/")
    raw.put("console/inner.txt", b"x")
    cm.delete("console")
    assert not raw.exists("console/inner.txt")
    assert not raw.exists("console/")
    assert not cm.dir_exists("console")


def test_delete_missing_is_404(cm):
    expect_http(404, cm.delete, "missing.txt")
    expect_http(404, cm.delete, "missing/dir")


def test_delete_root_is_400(cm, raw):
    raw.put("keep.txt", b"k")
    expect_http(400, cm.delete, "")
    expect_http(400, cm.delete, "/")
    assert raw.exists("keep.txt")


def test_always_delete_dir_false(make_cm, raw):
    cm = make_cm(always_delete_dir=False, delete_to_trash=False)
    raw.put("full/.s3keep")
    raw.put("full/a.txt", b"a")
    raw.put("implicit/b.txt", b"b")
    raw.put("empty/.s3keep")
    raw.put("onlycp/.s3keep")
    raw.put("onlycp/.ipynb_checkpoints/gone-checkpoint.txt", b"old")

    expect_http(400, cm.delete, "full")
    expect_http(400, cm.delete, "implicit")
    assert raw.read("full/a.txt") == b"a"
    assert raw.read("implicit/b.txt") == b"b"

    cm.delete("empty")
    assert not raw.exists("empty/.s3keep")
    # a directory holding nothing but leftover checkpoints counts as empty
    cm.delete("onlycp")
    assert not any(k.startswith("onlycp/") for k in raw.keys())
    # files can always be deleted
    cm.delete("full/a.txt")
    assert not raw.exists("full/a.txt")


def test_always_delete_dir_false_still_trashes_full_folders(make_cm, raw):
    """FileContentsManager sends a non-empty folder to the trash whatever
    always_delete_dir says (outside Windows): the trash can give it back."""
    cm = make_cm(always_delete_dir=False, delete_to_trash=True)
    raw.put("full/a.txt", b"a")
    cm.delete("full")
    assert not cm.dir_exists("full")
    assert [
        k for k in raw.keys() if k.startswith(".Trash/") and k.endswith("/full/a.txt")
    ]
