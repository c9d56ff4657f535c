"""Behaviours matched to FileContentsManager that jupyter_server's own tests found
(tests/test_upstream_jupyter_server.py runs those): folder copies, the copy size limit,
renames onto existing paths, and errors that are not the user's while saving."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock

import nbformat
import pytest
from nbformat.sign import NotebookNotary

from support.s3c_helpers import expect_http

MiB = 1024 * 1024


def test_folder_copied_to_a_missing_folder_goes_inside_it(cm, raw):
    raw.put("src/a.txt", b"a")
    raw.put("src/sub/b.txt", b"b")
    model = cm.copy("src", "missing")
    assert (model["path"], model["name"], model["type"]) == (
        "missing/src",
        "src",
        "directory",
    )
    assert raw.read("missing/src/a.txt") == b"a"
    assert raw.read("missing/src/sub/b.txt") == b"b"
    # Missing parents too, as shutil.copytree makes them.
    assert cm.copy("src", "x/y")["path"] == "x/y/src"
    assert raw.read("x/y/src/sub/b.txt") == b"b"
    # A file still goes to the path given (FileContentsManager's copy of a file).
    assert cm.copy("src/a.txt", "x/c.txt")["path"] == "x/c.txt"
    assert raw.read("src/a.txt") == b"a"


def test_copy_of_a_folder_above_max_copy_folder_size_mb_is_400(make_cm, raw):
    raw.put("big/one.bin", b"x" * MiB)
    raw.put("big/sub/two.bin", b"x" * MiB)
    cm = make_cm(max_copy_folder_size_mb=1)
    err = expect_http(400, cm.copy, "big", "")
    assert "Can't copy folders larger than 1MB" in err.log_message and "big" in err.log_message
    assert not any(k.startswith("big-Copy1") for k in raw.keys())
    # The trait applies when changed on a running manager, as on FileContentsManager.
    cm.max_copy_folder_size_mb = 3
    assert cm.copy("big", "")["path"] == "big-Copy1"
    assert raw.read("big-Copy1/sub/two.bin") == b"x" * MiB
    cm.max_copy_folder_size_mb = 0  # no limit
    assert cm.copy("big", "")["path"] == "big-Copy2"
    # Files are not limited (FileContentsManager limits folders only).
    cm.max_copy_folder_size_mb = 1
    assert cm.copy("big/one.bin", "")["path"] == "one.bin"


def test_rename_onto_an_existing_path_inside_the_source_is_409(cm, raw):
    raw.put("foo/nb.ipynb", b"{}")
    raw.put("foo/bar/file.txt", b"f")
    expect_http(409, cm.rename, "foo", "foo/bar")
    expect_http(409, cm.rename, "foo", "foo/nb.ipynb")
    # A new path inside the source is still refused as a move into itself.
    expect_http(400, cm.rename, "foo", "foo/new")
    assert raw.keys() == {"foo/nb.ipynb", "foo/bar/file.txt"}


def test_a_broken_signature_store_is_500_and_logged(cm, raw, tmp_path, caplog):
    """FileContentsManager's answer when the notary cannot store a signature even after
    recreating its store: 500 "Unexpected error while saving file", logged."""
    notary = NotebookNotary(data_dir=str(tmp_path))
    cm.notary = notary
    nb = nbformat.v4.new_notebook()
    cm.save({"type": "notebook", "content": nb}, "n.ipynb")
    before = raw.read("n.ipynb")
    broken = MagicMock()
    broken.store_signature.side_effect = RuntimeError("store is broken")
    notary.store = broken
    notary.store_factory = lambda: broken
    nb.cells.append(nbformat.v4.new_markdown_cell("changed"))
    with caplog.at_level(logging.WARNING):
        err = expect_http(500, cm.save, {"type": "notebook", "content": nb}, "n.ipynb")
    assert err.log_message.startswith("Unexpected error while saving file: n.ipynb")
    assert "store is broken" in err.log_message
    assert "corrupted or unavailable" in caplog.text and "Error while saving file" in caplog.text
    assert raw.read("n.ipynb") == before


@pytest.mark.parametrize(
    "model",
    [
        {"type": "file", "format": "text", "content": "a\ud800b"},
        {"type": "file", "format": "text", "content": "a\udc80", "chunk": 1},
        {
            "type": "notebook",
            "content": nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x\udc80")]),
        },
    ],
    ids=["text", "text chunk", "notebook"],
)
def test_lone_surrogates_are_400_and_store_nothing(cm, raw, model):
    err = expect_http(400, cm.save, model, "s.ipynb" if model["type"] == "notebook" else "s.txt")
    assert err.log_message.startswith("Encoding error saving s.")
    assert raw.keys() == set()
    assert raw.uploads() == []


def test_missing_checkpoints_are_404(cm, raw):
    raw.put("f.txt", b"x")
    for call in (cm.restore_checkpoint, cm.delete_checkpoint):
        expect_http(404, call, "nope", "f.txt")
        expect_http(404, call, "checkpoint", "gone.txt")
    assert raw.keys() == {"f.txt"}
