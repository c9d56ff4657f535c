"""copy and rename (update): naming, conflicts, directory trees, checkpoints moving along.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import nbformat
import pytest

from support.contents_helpers import make_nb, nb_bytes, text_model
from support.s3c_helpers import check_model, expect_http, listing, nb_sources

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== copy
def test_copy_file_naming(cm, raw):
    nbdata = nb_bytes(make_nb("copied"))
    raw.put("d/nb.ipynb", nbdata)
    m1 = check_model(cm.copy("d/nb.ipynb"), content=False)
    assert m1["path"] == "d/nb-Copy1.ipynb"
    assert m1["type"] == "notebook"
    assert cm.copy("d/nb.ipynb")["path"] == "d/nb-Copy2.ipynb"
    assert cm.copy("d/nb-Copy1.ipynb")["path"] == "d/nb-Copy3.ipynb"
    copied = nbformat.reads(raw.read("d/nb-Copy1.ipynb").decode(), as_version=4)
    assert nb_sources(copied) == nb_sources(make_nb("copied"))
    assert raw.read("d/nb.ipynb") == nbdata  # source untouched


def test_copy_multi_extension(cm, raw):
    raw.put("data.tar.gz", b"\x1f\x8b\x08\x00binary")
    assert cm.copy("data.tar.gz")["path"] == "data-Copy1.tar.gz"
    assert raw.read("data-Copy1.tar.gz") == b"\x1f\x8b\x08\x00binary"


def test_copy_binary_is_byte_identical(cm, raw):
    data = bytes(range(256)) * 3
    raw.put("b/raw.bin", data)
    model = cm.copy("b/raw.bin", "b")
    assert model["path"] == "b/raw-Copy1.bin"
    assert raw.read("b/raw-Copy1.bin") == data


def test_copy_into_directory(cm, raw):
    raw.put("nb.ipynb", nb_bytes(make_nb()))
    raw.put("target/.s3keep")
    assert cm.copy("nb.ipynb", "target")["path"] == "target/nb.ipynb"
    assert cm.copy("nb.ipynb", "target")["path"] == "target/nb-Copy1.ipynb"
    assert raw.exists("target/nb.ipynb") and raw.exists("target/nb-Copy1.ipynb")


def test_copy_to_explicit_path(cm, raw):
    raw.put("a.txt", b"alpha")
    raw.put("sub/.s3keep")
    model = cm.copy("a.txt", "sub/b.txt")
    assert model["path"] == "sub/b.txt"
    assert raw.read("sub/b.txt") == b"alpha"


def test_copy_onto_itself_is_409_and_a_missing_source_404(cm, raw):
    raw.put("a.txt", b"a")
    expect_http(409, cm.copy, "a.txt", "a.txt")
    expect_http(404, cm.copy, "gone.txt")
    expect_http(404, cm.copy, "gone.txt", "")
    raw.put("dir/x.txt", b"x")
    expect_http(404, cm.copy, "gone.txt", "dir")
    assert raw.keys() == {"a.txt", "dir/x.txt"}, "a failed copy left its claim behind"


def test_copy_onto_existing_file_is_409(cm, raw):
    raw.put("a.txt", b"alpha")
    raw.put("b.txt", b"beta")
    expect_http(409, cm.copy, "a.txt", "b.txt")
    assert raw.read("b.txt") == b"beta"


def test_copy_missing_is_404(cm):
    expect_http(404, cm.copy, "missing.ipynb")


def test_copy_directory(cm, raw):
    nbdata = nb_bytes(make_nb())
    raw.put("outer/folder/.s3keep")
    raw.put("outer/folder/a.txt", b"a")
    raw.put("outer/folder/sub/b.ipynb", nbdata)
    raw.put("outer/folder/sub/c.bin", b"\x00\xff")

    model = check_model(cm.copy("outer/folder", "outer"), content=False)
    assert model["type"] == "directory"
    assert model["path"] == "outer/folder-Copy1"
    assert raw.read("outer/folder-Copy1/a.txt") == b"a"
    assert raw.read("outer/folder-Copy1/sub/b.ipynb") == nbdata
    assert raw.read("outer/folder-Copy1/sub/c.bin") == b"\x00\xff"
    assert set(listing(cm.get("outer/folder-Copy1"))) == {"a.txt", "sub"}
    # the source is untouched
    assert raw.read("outer/folder/a.txt") == b"a"

    assert cm.copy("outer/folder")["path"] == "outer/folder-Copy2"
    assert set(listing(cm.get("outer"))) == {"folder", "folder-Copy1", "folder-Copy2"}

    raw.put("dest/.s3keep")
    assert cm.copy("outer/folder", "dest")["path"] == "dest/folder"
    assert raw.read("dest/folder/sub/c.bin") == b"\x00\xff"


# =========================================================================== rename / update
def test_rename_file(cm, raw):
    raw.put("a.txt", b"payload")
    raw.put("sub/.s3keep")
    cm.rename("a.txt", "b.txt")
    assert not raw.exists("a.txt")
    assert raw.read("b.txt") == b"payload"
    expect_http(404, cm.get, "a.txt")
    assert cm.get("b.txt")["content"] == "payload"

    cm.rename("b.txt", "sub/c.txt")
    assert raw.read("sub/c.txt") == b"payload"
    assert not raw.exists("b.txt")


def test_update_renames_and_returns_model(cm, raw):
    raw.put("u.ipynb", nb_bytes(make_nb()))
    model = check_model(cm.update({"path": "v.ipynb"}, "u.ipynb"), content=False)
    assert model["path"] == "v.ipynb"
    assert model["name"] == "v.ipynb"
    assert model["type"] == "notebook"
    assert model["content"] is None
    assert not raw.exists("u.ipynb") and raw.exists("v.ipynb")


def test_rename_directory_tree(cm, raw):
    nbdata = nb_bytes(make_nb())
    files = {
        "proj/.s3keep": b"",
        "proj/a.ipynb": nbdata,
        "proj/b.txt": b"bee",
        "proj/deep/er/c.bin": b"\x00\x01",
        "proj/deep/.s3keep": b"",
        "proj/.ipynb_checkpoints/a-checkpoint.ipynb": nbdata,
    }
    for key, body in files.items():
        raw.put(key, body)
    raw.put("proj-sibling/keep.txt", b"sibling")  # shares the name prefix

    cm.rename("proj", "renamed")
    keys = raw.keys()
    assert not any(k.startswith("proj/") for k in keys), sorted(keys)
    for key, body in files.items():
        new_key = "renamed/" + key[len("proj/") :]
        assert raw.read(new_key) == body, new_key
    assert raw.read("proj-sibling/keep.txt") == b"sibling"
    assert set(listing(cm.get(""))) == {"renamed", "proj-sibling"}
    assert set(listing(cm.get("renamed"))) == {"a.ipynb", "b.txt", "deep"}
    assert [c["id"] for c in cm.list_checkpoints("renamed/a.ipynb")] == ["checkpoint"]


def test_rename_marker_less_directory(cm, raw):
    raw.put("implicit/x.txt", b"x")
    raw.put("implicit/y/z.txt", b"z")
    cm.rename("implicit", "explicit")
    assert raw.keys() >= {"explicit/x.txt", "explicit/y/z.txt"}
    assert not any(k.startswith("implicit/") for k in raw.keys())
    assert cm.get("explicit/y/z.txt")["content"] == "z"


def test_rename_onto_existing_is_409(cm, raw):
    raw.put("a.txt", b"a")
    raw.put("b.txt", b"b")
    raw.put("d1/.s3keep")
    raw.put("d1/x.txt", b"x")
    raw.put("d2/.s3keep")
    expect_http(409, cm.rename, "a.txt", "b.txt")
    expect_http(409, cm.rename, "d1", "d2")
    expect_http(409, cm.rename, "a.txt", "d2")
    assert raw.read("a.txt") == b"a" and raw.read("b.txt") == b"b"
    assert raw.read("d1/x.txt") == b"x"


def test_rename_missing_is_404(cm):
    expect_http(404, cm.rename, "missing.txt", "other.txt")
    expect_http(404, cm.update, {"path": "other.txt"}, "missing.txt")


def test_rename_moves_checkpoints(cm, raw):
    cm.save(text_model("v1"), "d/f.txt")
    cm.create_checkpoint("d/f.txt")
    assert raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    cm.rename("d/f.txt", "d/g.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert raw.read("d/.ipynb_checkpoints/g-checkpoint.txt") == b"v1"
    assert [c["id"] for c in cm.list_checkpoints("d/g.txt")] == ["checkpoint"]
    assert cm.list_checkpoints("d/f.txt") == []
    cm.save(text_model("v2"), "d/g.txt")
    cm.restore_checkpoint("checkpoint", "d/g.txt")
    assert raw.read("d/g.txt") == b"v1"


def test_rename_console_style_dir(cm, raw):
    raw.put("console/")
    raw.put("console/inner.txt", b"x")
    cm.rename("console", "moved")
    assert raw.read("moved/inner.txt") == b"x"
    assert cm.dir_exists("moved")
    assert not raw.exists("console/inner.txt")
    assert not raw.exists("console/")
    assert not cm.dir_exists("console")
