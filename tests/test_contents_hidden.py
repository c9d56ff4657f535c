"""Hidden files and folders: allow_hidden, hide_globs, markers and checkpoint folders.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import pytest

from support.contents_helpers import text_model
from support.s3c_helpers import expect_http, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== hidden
def test_hidden_files(cm, raw):
    raw.put(".secret.txt", b"s")
    raw.put("visible.txt", b"v")
    raw.put("dir/.hidden/x.txt", b"x")
    raw.put("dir/shown.txt", b"y")

    assert set(listing(cm.get(""))) == {"visible.txt", "dir"}
    assert set(listing(cm.get("dir"))) == {"shown.txt"}
    expect_http(404, cm.get, ".secret.txt")
    expect_http(404, cm.get, "dir/.hidden/x.txt")
    expect_http(404, cm.get, "dir/.hidden")
    expect_http(400, cm.save, text_model("no"), ".new.txt")
    expect_http(400, cm.save, text_model("no"), "dir/.hid/new.txt")
    assert not raw.exists(".new.txt")

    assert cm.is_hidden(".secret.txt") is True
    assert cm.is_hidden("dir/.hidden/x.txt") is True
    assert cm.is_hidden("dir/.hidden") is True
    assert cm.is_hidden("dir/shown.txt") is False
    assert cm.is_hidden("visible.txt") is False
    assert cm.is_hidden("") is False


def test_allow_hidden(make_cm, raw):
    cm = make_cm(allow_hidden=True)
    raw.put(".secret.txt", b"s")
    raw.put("visible.txt", b"v")
    raw.put("d/.s3keep")
    raw.put("d/.ipynb_checkpoints/visible-checkpoint.txt", b"cp")
    assert set(listing(cm.get(""))) == {".secret.txt", "visible.txt", "d"}
    assert cm.get(".secret.txt")["content"] == "s"
    cm.save(text_model("ok"), ".new.txt")
    assert raw.read(".new.txt") == b"ok"
    # markers and checkpoint folders are never listed, even with allow_hidden
    assert set(listing(cm.get("d"))) == set()


def test_hide_globs(make_cm, raw):
    raw.put("keep.py", b"k")
    raw.put("mod.pyc", b"\x00")
    raw.put("__pycache__/mod.cpython-311.pyc", b"\x00")
    raw.put("debug.log", b"log")
    cm = make_cm()
    assert set(listing(cm.get(""))) == {"keep.py", "debug.log"}
    cm = make_cm(hide_globs=["*.log"])
    assert set(listing(cm.get(""))) == {"keep.py", "mod.pyc", "__pycache__"}


def test_markers_and_checkpoint_dirs_never_listed(cm, raw):
    raw.put(".s3keep")
    raw.put("d/.s3keep")
    raw.put("d/f.txt", b"f")
    raw.put("d/.ipynb_checkpoints/f-checkpoint.txt", b"f")
    raw.put(".ipynb_checkpoints/x-checkpoint.txt", b"x")
    assert set(listing(cm.get(""))) == {"d"}
    assert set(listing(cm.get("d"))) == {"f.txt"}
