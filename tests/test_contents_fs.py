"""The s3contents-compatible ``cm.fs`` read/write API (test_fs.py compares it with
s3contents itself).

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import base64

import pytest

from support.s3c_helpers import b64

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== fs
def test_fs_read_write(cm, raw):
    fs = cm.raw.fs
    fs.write("fs/t.txt", "text ✓", "text")
    assert raw.read("fs/t.txt") == "text ✓".encode()
    assert fs.read("fs/t.txt") == ("text ✓", "text")
    assert fs.read("fs/t.txt", format="text") == ("text ✓", "text")

    data = b"\x00\xff\x10"
    fs.write("fs/b.bin", b64(data), "base64")
    assert raw.read("fs/b.bin") == data
    content, fmt = fs.read("fs/b.bin")
    assert fmt == "base64"
    assert base64.b64decode(content) == data
    content, fmt = fs.read("fs/t.txt", format="base64")
    assert fmt == "base64"
    assert base64.b64decode(content) == "text ✓".encode()
    assert cm.get("fs/t.txt")["content"] == "text ✓"
