"""get: models of notebooks, files and directories, formats, errors, timestamps.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import base64
import datetime

import pytest
from support.contents_helpers import (
    b64_model,
    make_nb,
    nb_bytes,
    nb_model,
    text_model,
    utc,
)
from support.s3c_helpers import check_model, expect_http, listing, nb_sources, sha256

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== get
def test_get_root_empty(cm):
    model = check_model(cm.get(""), content=True)
    assert model["name"] == ""
    assert model["path"] == ""
    assert model["type"] == "directory"
    assert model["content"] == []
    model = check_model(cm.get("", content=False), content=False)
    assert model["content"] is None
    assert model["format"] is None


def test_get_notebook(cm, raw):
    nb = make_nb()
    data = nb_bytes(nb)
    raw.put("sub/nb.ipynb", data)
    model = check_model(cm.get("sub/nb.ipynb"), content=True)
    assert model["name"] == "nb.ipynb"
    assert model["path"] == "sub/nb.ipynb"
    assert model["type"] == "notebook"
    assert model["format"] == "json"
    assert model["size"] == len(data)
    assert nb_sources(model["content"]) == nb_sources(nb)
    assert model["content"]["nbformat"] == 4

    model = check_model(cm.get("sub/nb.ipynb", content=False), content=False)
    assert model["type"] == "notebook"
    assert model["content"] is None
    assert model["format"] is None
    assert model["size"] == len(data)


def test_get_text_file(cm, raw):
    data = "héllo wörld\n".encode()
    raw.put("d/hello.txt", data)
    model = check_model(cm.get("d/hello.txt"), content=True)
    assert model["type"] == "file"
    assert model["format"] == "text"
    assert model["content"] == "héllo wörld\n"
    assert model["mimetype"] == "text/plain"
    assert model["size"] == len(data)
    assert model["name"] == "hello.txt"
    assert model["path"] == "d/hello.txt"

    model = check_model(cm.get("d/hello.txt", content=False), content=False)
    assert model["content"] is None
    assert model["format"] is None
    assert model["mimetype"] == "text/plain"
    assert model["size"] == len(data)


def test_get_binary_file_defaults_to_base64(cm, raw):
    data = b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10
    raw.put("img.png", data)
    model = check_model(cm.get("img.png"), content=True)
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == data
    assert model["mimetype"] == "image/png"
    assert model["size"] == len(data)


def test_get_binary_unknown_extension_mimetype(cm, raw):
    raw.put("blob.dat", b"\xff\xfe\x00")
    model = cm.get("blob.dat")
    assert model["format"] == "base64"
    assert model["mimetype"] == "application/octet-stream"
    assert cm.get("blob.dat", content=False)["mimetype"] is None


def test_get_text_file_as_base64(cm, raw):
    raw.put("t.txt", b"plain text")
    model = check_model(cm.get("t.txt", format="base64"), content=True)
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == b"plain text"
    assert model["mimetype"] == "text/plain"


def test_get_binary_as_text_is_400(cm, raw):
    raw.put("bin.txt", b"\xff\xfe\xfd not utf-8")
    expect_http(400, cm.get, "bin.txt", format="text")


def test_get_type_mismatch_is_400(cm, raw):
    raw.put("dir/.s3keep")
    raw.put("dir/f.txt", b"x")
    raw.put("nb.ipynb", nb_bytes(make_nb()))
    expect_http(400, cm.get, "dir", type="file")
    expect_http(400, cm.get, "dir", type="notebook")
    expect_http(400, cm.get, "dir/f.txt", type="directory")
    expect_http(400, cm.get, "nb.ipynb", type="directory")
    # the matching explicit types work
    assert cm.get("dir", type="directory")["type"] == "directory"
    assert cm.get("nb.ipynb", type="notebook")["type"] == "notebook"
    assert cm.get("dir/f.txt", type="file")["content"] == "x"


def test_get_notebook_as_file(cm, raw):
    data = nb_bytes(make_nb())
    raw.put("nb.ipynb", data)
    model = check_model(cm.get("nb.ipynb", type="file"), content=True)
    assert model["type"] == "file"
    assert model["format"] == "text"
    assert model["content"] == data.decode("utf-8")
    model = check_model(cm.get("nb.ipynb", type="file", format="base64"), content=True)
    assert base64.b64decode(model["content"]) == data


def test_get_json_file_as_notebook(cm, raw):
    nb = make_nb("x = 1")
    raw.put("nb.json", nb_bytes(nb))
    model = check_model(cm.get("nb.json", type="notebook"), content=True)
    assert model["type"] == "notebook"
    assert nb_sources(model["content"]) == nb_sources(nb)


@pytest.mark.parametrize("path", ["nope.txt", "nope", "a/b/c.ipynb", "nope/"])
def test_get_missing_is_404(cm, path):
    expect_http(404, cm.get, path)
    expect_http(404, cm.get, path, content=False)


def test_get_strips_slashes(cm, raw):
    raw.put("dir/hello.txt", b"hi")
    model = cm.get("/dir/hello.txt/")
    assert model["path"] == "dir/hello.txt"
    assert model["content"] == "hi"
    assert cm.get("/dir/")["path"] == "dir"


@pytest.mark.parametrize("content", [True, False])
def test_require_hash(cm, raw, content):
    nbdata = nb_bytes(make_nb())
    raw.put("h/nb.ipynb", nbdata)
    raw.put("h/f.txt", b"hash me")
    raw.put("h/b.bin", b"\x00\x01\xff")
    for path, data in (
        ("h/nb.ipynb", nbdata),
        ("h/f.txt", b"hash me"),
        ("h/b.bin", b"\x00\x01\xff"),
    ):
        model = check_model(
            cm.get(path, content=content, require_hash=True),
            content=content,
            require_hash=True,
        )
        assert model["hash"] == sha256(data), path
        assert model["hash_algorithm"] == "sha256", path
        model = cm.get(path, content=content)
        assert model.get("hash") is None, path


def test_directory_listing_entries(cm, raw):
    nbdata = nb_bytes(make_nb())
    raw.put("proj/a.ipynb", nbdata)
    raw.put("proj/b.txt", b"bee")
    raw.put("proj/sub/.s3keep")
    model = check_model(cm.get("proj"), content=True)
    entries = listing(model)
    assert set(entries) == {"a.ipynb", "b.txt", "sub"}
    assert entries["a.ipynb"]["type"] == "notebook"
    assert entries["a.ipynb"]["path"] == "proj/a.ipynb"
    assert entries["a.ipynb"]["size"] == len(nbdata)
    assert entries["b.txt"]["type"] == "file"
    assert entries["b.txt"]["size"] == 3
    assert entries["b.txt"]["mimetype"] == "text/plain"
    assert entries["sub"]["type"] == "directory"
    assert entries["sub"]["path"] == "proj/sub"
    for entry in entries.values():
        assert entry["content"] is None
        assert entry["format"] is None


# =========================================================================== timestamps
@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("d/ts.txt", text_model("timestamps")),
        ("d/ts.ipynb", nb_model(make_nb())),
        ("ts-root.bin", b64_model(b"\x00\x01")),
    ],
    ids=["text", "notebook", "root-binary"],
)
def test_last_modified_identical_everywhere(cm, raw, path, model):
    saved = check_model(cm.save(model, path), content=False)
    meta = cm.get(path, content=False)
    full = cm.get(path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    entry = listing(cm.get(parent))[path.rsplit("/", 1)[-1]]
    stamps = {
        "save": saved["last_modified"],
        "get(content=False)": meta["last_modified"],
        "get(content=True)": full["last_modified"],
        "listing": entry["last_modified"],
    }
    assert len(set(stamps.values())) == 1, stamps
    s3_time = utc(raw.head(path)["LastModified"])
    assert abs(utc(saved["last_modified"]) - s3_time) < datetime.timedelta(seconds=1), (
        saved["last_modified"],
        s3_time,
    )
    assert (
        saved["size"]
        == meta["size"]
        == full["size"]
        == entry["size"]
        == len(raw.read(path))
    )


def test_directory_timestamps_are_aware(cm, raw):
    raw.put("withmarker/.s3keep")
    raw.put("implicit/f.txt", b"f")
    raw.put("console/")
    for path in ("", "withmarker", "implicit", "console"):
        check_model(cm.get(path), content=True)
        check_model(cm.get(path, content=False), content=False)
