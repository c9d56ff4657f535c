"""hybridcontents.HybridContentsManager with S3ContentsManager mounted at the
root and a local jupyter_server LargeFileManager mounted at ``local``,
exercised through the REST API of a real jupyter_server.

hybridcontents is synchronous (it calls ``mgr.get(...)`` without awaiting), so
only the sync S3ContentsManager can be mounted in it.
"""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import LargeFileManager
from nbformat.v4 import new_code_cell, new_notebook
from support.doc_snippets import README, python_blocks
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def local_dir(tmp_path):
    d = tmp_path / "local-root"
    d.mkdir()
    return d


@pytest.fixture
def jp_server_config(manager_kwargs, local_dir):
    from hybridcontents import HybridContentsManager
    from s3contents_rs import S3ContentsManager

    return Config(
        {
            "ServerApp": {
                "contents_manager_class": HybridContentsManager,
                "jpserver_extensions": {"jupyter_server_terminals": False},
            },
            "HybridContentsManager": {
                "manager_classes": {"": S3ContentsManager, "local": LargeFileManager},
                "manager_kwargs": {
                    "": dict(manager_kwargs),
                    "local": {"root_dir": str(local_dir)},
                },
            },
        }
    )


def body(response):
    return json.loads(response.body.decode("utf-8"))


def names(model) -> dict:
    assert model["type"] == "directory"
    return {m["name"]: m for m in model["content"]}


def make_nb(source):
    nb = new_notebook()
    nb.cells.append(new_code_cell(source))
    return nb


def test_hybrid_root_lists_both(fetch, jp_serverapp, raw, local_dir):
    from s3contents_rs import S3ContentsManager

    assert isinstance(jp_serverapp.contents_manager.managers[""], S3ContentsManager)
    raw.put("in-s3.txt", b"s3")
    raw.put("s3dir/x.txt", b"x")
    (local_dir / "on-disk.txt").write_text("disk")
    root = names(body(fetch("api", "contents")))
    assert set(root) == {"in-s3.txt", "s3dir", "local"}
    assert root["local"]["type"] == "directory"
    assert root["s3dir"]["type"] == "directory"
    local = names(body(fetch("api", "contents", "local")))
    assert set(local) == {"on-disk.txt"}
    assert local["on-disk.txt"]["path"] == "local/on-disk.txt"


def test_hybrid_save_and_get_in_s3(fetch, raw, local_dir):
    nb = make_nb("s3 = True")
    r = fetch(
        "api",
        "contents",
        "work/s3.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "content": nb}),
    )
    assert r.code == 201
    assert body(r)["path"] == "work/s3.ipynb"
    stored = nbformat.reads(raw.read("work/s3.ipynb").decode(), as_version=4)
    assert stored.cells[0].source == "s3 = True"
    got = body(fetch("api", "contents", "work/s3.ipynb"))
    assert got["type"] == "notebook"
    assert got["content"]["cells"][0]["source"] == "s3 = True"
    r = fetch(
        "api",
        "contents",
        "blob.bin",
        method="PUT",
        body=json.dumps(
            {
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(b"\x00\xff").decode(),
            }
        ),
    )
    assert raw.read("blob.bin") == b"\x00\xff"
    assert not (local_dir / "work").exists()
    with pytest.raises(HTTPClientError) as info:
        fetch("api", "contents", "work/missing.txt")
    assert info.value.code == 404


def test_hybrid_save_and_get_local(fetch, raw, local_dir):
    r = fetch(
        "api",
        "contents",
        "local/l.txt",
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": "local text"}),
    )
    assert r.code == 201
    assert body(r)["path"] == "local/l.txt"
    assert (local_dir / "l.txt").read_text() == "local text"
    got = body(fetch("api", "contents", "local/l.txt"))
    assert got["content"] == "local text"
    assert got["path"] == "local/l.txt"
    assert not raw.exists("local/l.txt")
    assert "local" not in {k.split("/", 1)[0] for k in raw.keys()}


def test_hybrid_rename_and_delete_in_s3(fetch, raw):
    raw.put("a/old.txt", b"old")
    r = fetch(
        "api",
        "contents",
        "a/old.txt",
        method="PATCH",
        body=json.dumps({"path": "a/new.txt"}),
    )
    assert body(r)["path"] == "a/new.txt"
    assert raw.read("a/new.txt") == b"old"
    assert not raw.exists("a/old.txt")
    r = fetch("api", "contents", "a/new.txt", method="DELETE")
    assert r.code == 204
    assert not raw.exists("a/new.txt")


def _readme_hybrid_snippet() -> str:
    (snippet,) = [b for b in python_blocks(README) if "HybridContentsManager" in b]
    return snippet


def test_the_readme_hybrid_example_works_as_written(
    tmp_path, monkeypatch, manager_kwargs, raw
):
    """The README's config runs verbatim in a fresh home (its local folder does not exist
    yet); only the store's settings are then pointed at the test store, as a user fills
    in their own bucket and keys."""
    from hybridcontents import HybridContentsManager
    from s3contents_rs import S3ContentsManager

    monkeypatch.setenv("HOME", str(tmp_path))
    c = Config()
    exec(compile(_readme_hybrid_snippet(), "README.md", "exec"), {"c": c})
    local = tmp_path / "local-notebooks"
    assert local.is_dir(), "the example creates its local folder"
    assert c.ServerApp.contents_manager_class is HybridContentsManager
    c.HybridContentsManager.manager_kwargs[""].update(manager_kwargs)

    cm = HybridContentsManager(config=c)
    assert isinstance(cm.managers[""], S3ContentsManager)
    cm.save({"type": "file", "format": "text", "content": "in the bucket"}, "cloud.txt")
    cm.save({"type": "file", "format": "text", "content": "on disk"}, "local/disk.txt")
    assert raw.read("cloud.txt") == b"in the bucket"
    assert (local / "disk.txt").read_text() == "on disk"
    assert {m["name"] for m in cm.get("")["content"]} >= {"cloud.txt", "local"}
