"""How keys map to files and folders: exists, folder markers, marker-less and
AWS-console-style folders.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import pytest

from support.contents_helpers import text_model
from support.s3c_helpers import check_model, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== exists
def test_exists_family(cm, raw):
    raw.put("dir/.s3keep")
    raw.put("dir/f.txt", b"f")
    raw.put("implicit/g.txt", b"g")
    raw.put("console/")
    assert cm.dir_exists("") is True
    assert cm.file_exists("") is False
    assert cm.dir_exists("dir") is True
    assert cm.dir_exists("/dir/") is True
    assert cm.dir_exists("implicit") is True
    assert cm.dir_exists("console") is True
    assert cm.file_exists("dir") is False
    assert cm.file_exists("dir/f.txt") is True
    assert cm.dir_exists("dir/f.txt") is False
    assert cm.exists("dir/f.txt") is True
    assert cm.exists("dir") is True
    assert cm.exists("implicit") is True
    assert cm.exists("nope") is False
    assert cm.file_exists("nope") is False
    assert cm.dir_exists("nope") is False
    assert cm.dir_exists("di") is False  # a key prefix is not a directory
    assert cm.file_exists("dir/f.tx") is False


# =========================================================================== layout variants
def test_marker_less_directories(cm, raw):
    raw.put("deep/er/file.txt", b"deep")
    root = listing(cm.get(""))
    assert set(root) == {"deep"}
    assert root["deep"]["type"] == "directory"
    deep = check_model(cm.get("deep"), content=True)
    assert set(listing(deep)) == {"er"}
    assert listing(deep)["er"]["type"] == "directory"
    er = check_model(cm.get("deep/er"), content=True)
    assert set(listing(er)) == {"file.txt"}
    assert cm.get("deep/er/file.txt")["content"] == "deep"
    cm.save(text_model("new"), "deep/new.txt")
    assert set(listing(cm.get("deep"))) == {"er", "new.txt"}


def test_console_style_directory_markers(cm, raw):
    raw.put("console/")
    raw.put("console2/")
    raw.put("console2/inner.txt", b"inner")
    raw.put("console2/nested/")
    root = listing(cm.get(""))
    assert set(root) == {"console", "console2"}
    assert root["console"]["type"] == "directory"
    assert root["console2"]["type"] == "directory"
    assert check_model(cm.get("console"), content=True)["content"] == []
    inner = listing(cm.get("console2"))
    assert set(inner) == {"inner.txt", "nested"}
    assert inner["nested"]["type"] == "directory"
    assert cm.get("console2/nested")["content"] == []
    cm.save(text_model("x"), "console/x.txt")
    assert set(listing(cm.get("console"))) == {"x.txt"}
