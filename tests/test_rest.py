"""REST-level tests: a real jupyter_server (pytest-jupyter) whose only contents
configuration is ``ServerApp.contents_manager_class`` = our manager (sync and
async) plus the S3 traits.  Exercises /api/contents (GET/PUT/POST/PATCH/DELETE),
checkpoints, trust and /files downloads, checking status codes and the objects
in the bucket. The server fixtures are in support/rest_fixtures.py.

A few REST round trips (marked ``every_backend``) run on every store, GCS, Azure and the
local filesystem too; the rest runs on S3 only, to keep CI time modest.
"""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from support.exact import notebook_text, same
from support.rest_fixtures import body, expect_status, put_json
from support.s3c_helpers import b64, sha256

pytestmark = pytest.mark.timeout(120)


# --------------------------------------------------------------------------- helpers
def make_nb(source="print('rest')"):
    nb = new_notebook()
    nb.cells.append(new_code_cell(source))
    return nb


def names(model) -> dict:
    assert model["type"] == "directory"
    return {m["name"]: m for m in model["content"]}


# --------------------------------------------------------------------------- tests
@pytest.mark.every_backend
@pytest.mark.s3_preexisting(
    {"top.txt": b"top", "folder/inner.ipynb": nbformat.writes(make_nb()).encode()}
)
def test_server_starts_and_lists_bucket_root(fetch, jp_serverapp, server_manager_class):
    assert isinstance(jp_serverapp.contents_manager, server_manager_class)
    r = fetch("api", "contents")
    assert r.code == 200
    model = body(r)
    assert model["type"] == "directory"
    assert model["path"] == ""
    entries = names(model)
    assert set(entries) == {"top.txt", "folder"}
    assert entries["folder"]["type"] == "directory"
    assert entries["top.txt"]["type"] == "file"
    r = fetch("api", "contents", "folder")
    assert set(names(body(r))) == {"inner.ipynb"}


@pytest.mark.s3_preexisting({"work/.s3keep": b"", "work/start.txt": b"s"})
@pytest.mark.cm_config(preferred_dir="work")
def test_preferred_dir_existing_folder(fetch, jp_serverapp):
    assert jp_serverapp.contents_manager.preferred_dir == "work"
    r = fetch("api", "contents", "work")
    assert set(names(body(r))) == {"start.txt"}


@pytest.mark.every_backend
def test_put_get_notebook(fetch, raw):
    nb = make_nb("x = 41 + 1")
    r = put_json(fetch, "work/nb.ipynb", {"type": "notebook", "content": nb})
    assert r.code == 201
    assert r.headers["Location"].endswith("/api/contents/work/nb.ipynb")
    created = body(r)
    assert created["path"] == "work/nb.ipynb"
    assert created["type"] == "notebook"
    assert created["content"] is None
    stored = raw.read("work/nb.ipynb")
    assert nbformat.reads(stored.decode(), as_version=4).cells[0].source == "x = 41 + 1"

    nb.cells[0].source = "x = 42"
    r = put_json(fetch, "work/nb.ipynb", {"type": "notebook", "content": nb})
    assert r.code == 200
    saved = body(r)

    r = fetch("api", "contents", "work/nb.ipynb")
    got = body(r)
    assert got["type"] == "notebook"
    assert got["format"] == "json"
    assert got["content"]["cells"][0]["source"] == "x = 42"
    assert got["last_modified"] == saved["last_modified"]

    r = fetch("api", "contents", "work/nb.ipynb", params={"content": "0"})
    meta = body(r)
    assert meta["content"] is None
    assert meta["last_modified"] == saved["last_modified"]

    r = fetch("api", "contents", "work/nb.ipynb", params={"hash": "1"})
    hashed = body(r)
    assert hashed["hash"] == sha256(raw.read("work/nb.ipynb"))
    assert hashed["hash_algorithm"] == "sha256"

    listing = names(body(fetch("api", "contents", "work")))
    assert listing["nb.ipynb"]["last_modified"] == saved["last_modified"]


def test_put_text_and_binary_files(fetch, raw):
    r = put_json(
        fetch, "f/a.txt", {"type": "file", "format": "text", "content": "héllo"}
    )
    assert r.code == 201
    assert raw.read("f/a.txt") == "héllo".encode()
    data = bytes(range(256))
    r = put_json(
        fetch, "f/b.bin", {"type": "file", "format": "base64", "content": b64(data)}
    )
    assert r.code == 201
    assert raw.read("f/b.bin") == data

    got = body(fetch("api", "contents", "f/a.txt"))
    assert (got["format"], got["content"], got["mimetype"]) == (
        "text",
        "héllo",
        "text/plain",
    )
    got = body(fetch("api", "contents", "f/b.bin"))
    assert got["format"] == "base64"
    assert base64.b64decode(got["content"]) == data
    got = body(
        fetch("api", "contents", "f/a.txt", params={"type": "file", "format": "base64"})
    )
    assert base64.b64decode(got["content"]) == "héllo".encode()


def test_put_directory(fetch, raw):
    r = put_json(fetch, "made", {"type": "directory"})
    assert r.code == 201
    assert body(r)["type"] == "directory"
    assert raw.exists("made/.s3keep")
    assert body(fetch("api", "contents", "made"))["content"] == []


def test_post_new_untitled(fetch, raw):
    def post(path, model):
        r = fetch("api", "contents", path, method="POST", body=json.dumps(model))
        assert r.code == 201
        return body(r)

    assert (post("", {"type": "notebook"}))["path"] == "Untitled.ipynb"
    assert (post("", {"type": "notebook"}))["path"] == "Untitled1.ipynb"
    assert (post("", {"type": "directory"}))["path"] == "Untitled Folder"
    assert (post("", {"type": "directory"}))["path"] == "Untitled Folder 1"
    assert (post("", {"type": "file", "ext": ".txt"}))["path"] == "untitled.txt"
    assert (post("Untitled Folder", {"type": "notebook"}))[
        "path"
    ] == "Untitled Folder/Untitled.ipynb"
    assert raw.exists("Untitled.ipynb")
    assert raw.exists("Untitled Folder 1/.s3keep")
    assert raw.exists("Untitled Folder/Untitled.ipynb")
    expect_status(
        404,
        fetch,
        "api",
        "contents",
        "missing-dir",
        method="POST",
        body=json.dumps({"type": "notebook"}),
    )
    # POST onto an existing file is refused
    expect_status(
        400,
        fetch,
        "api",
        "contents",
        "Untitled.ipynb",
        method="POST",
        body=json.dumps({"type": "notebook"}),
    )


def test_post_copy(fetch, raw):
    raw.put("src/nb.ipynb", nbformat.writes(make_nb()).encode())
    raw.put("src/sub/x.txt", b"x")
    r = fetch(
        "api",
        "contents",
        "src",
        method="POST",
        body=json.dumps({"copy_from": "src/nb.ipynb"}),
    )
    assert r.code == 201
    assert body(r)["path"] == "src/nb-Copy1.ipynb"
    assert raw.read("src/nb-Copy1.ipynb") == raw.read("src/nb.ipynb")
    r = fetch(
        "api",
        "contents",
        "",
        method="POST",
        body=json.dumps({"copy_from": "src/nb.ipynb"}),
    )
    assert body(r)["path"] == "nb.ipynb"
    # copying a directory
    r = fetch(
        "api",
        "contents",
        "src",
        method="POST",
        body=json.dumps({"copy_from": "src/sub"}),
    )
    assert r.code == 201
    assert body(r)["path"] == "src/sub-Copy1"
    assert body(r)["type"] == "directory"
    assert raw.read("src/sub-Copy1/x.txt") == b"x"
    expect_status(
        404,
        fetch,
        "api",
        "contents",
        "src",
        method="POST",
        body=json.dumps({"copy_from": "src/missing.ipynb"}),
    )


def test_patch_rename(fetch, raw):
    raw.put("a.txt", b"a")
    raw.put("b.txt", b"b")
    raw.put("dir/x.txt", b"x")
    r = fetch(
        "api",
        "contents",
        "a.txt",
        method="PATCH",
        body=json.dumps({"path": "dir/moved.txt"}),
    )
    assert r.code == 200
    model = body(r)
    assert model["path"] == "dir/moved.txt"
    assert r.headers["Location"].endswith("/api/contents/dir/moved.txt")
    assert raw.read("dir/moved.txt") == b"a"
    assert not raw.exists("a.txt")

    r = fetch(
        "api", "contents", "dir", method="PATCH", body=json.dumps({"path": "renamed"})
    )
    assert body(r)["path"] == "renamed"
    assert raw.keys() >= {"renamed/x.txt", "renamed/moved.txt"}
    assert not any(k.startswith("dir/") for k in raw.keys())

    expect_status(
        409,
        fetch,
        "api",
        "contents",
        "b.txt",
        method="PATCH",
        body=json.dumps({"path": "renamed/x.txt"}),
    )
    expect_status(
        404,
        fetch,
        "api",
        "contents",
        "missing.txt",
        method="PATCH",
        body=json.dumps({"path": "new.txt"}),
    )
    assert raw.read("b.txt") == b"b"


def test_delete(fetch, raw):
    raw.put("gone.txt", b"g")
    raw.put("tree/a/b.txt", b"b")
    raw.put("tree/.s3keep")
    r = fetch("api", "contents", "gone.txt", method="DELETE")
    assert r.code == 204
    assert not raw.exists("gone.txt")
    expect_status(404, fetch, "api", "contents", "gone.txt")
    r = fetch("api", "contents", "tree", method="DELETE")
    assert r.code == 204
    assert not any(k.startswith("tree/") for k in raw.keys())
    expect_status(404, fetch, "api", "contents", "gone.txt", method="DELETE")
    expect_status(400, fetch, "api", "contents", "", method="DELETE")


def test_error_status_codes(fetch, raw):
    raw.put("d/f.txt", b"f")
    raw.put("bin.dat", b"\xff\xfe\x00")
    raw.put(".hidden.txt", b"h")
    expect_status(404, fetch, "api", "contents", "missing.ipynb")
    expect_status(404, fetch, "api", "contents", "missing-dir/x.txt")
    expect_status(400, fetch, "api", "contents", "d", params={"type": "file"})
    expect_status(
        400, fetch, "api", "contents", "d/f.txt", params={"type": "directory"}
    )
    expect_status(400, fetch, "api", "contents", "bin.dat", params={"format": "text"})
    expect_status(404, fetch, "api", "contents", ".hidden.txt")
    expect_status(
        400,
        fetch,
        "api",
        "contents",
        ".new.txt",
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": "x"}),
    )
    expect_status(
        400,
        fetch,
        "api",
        "contents",
        "bad.bin",
        method="PUT",
        body=json.dumps({"type": "file", "format": "base64", "content": "abc"}),
    )
    assert not raw.exists(".new.txt")
    assert not raw.exists("bad.bin")
    assert ".hidden.txt" not in names(body(fetch("api", "contents")))


def test_checkpoint_endpoints(fetch, raw):
    put_json(fetch, "c/f.txt", {"type": "file", "format": "text", "content": "v1"})
    r = fetch("api", "contents", "c/f.txt", "checkpoints", method="POST", body="")
    assert r.code == 201
    cp = body(r)
    assert cp["id"] == "checkpoint"
    assert r.headers["Location"].endswith(
        "/api/contents/c/f.txt/checkpoints/checkpoint"
    )
    assert raw.read("c/.ipynb_checkpoints/f-checkpoint.txt") == b"v1"

    r = fetch("api", "contents", "c/f.txt", "checkpoints")
    assert [c["id"] for c in body(r)] == ["checkpoint"]

    put_json(fetch, "c/f.txt", {"type": "file", "format": "text", "content": "v2"})
    assert raw.read("c/f.txt") == b"v2"
    r = fetch(
        "api",
        "contents",
        "c/f.txt",
        "checkpoints",
        "checkpoint",
        method="POST",
        body="",
    )
    assert r.code == 204
    assert raw.read("c/f.txt") == b"v1"

    r = fetch(
        "api", "contents", "c/f.txt", "checkpoints", "checkpoint", method="DELETE"
    )
    assert r.code == 204
    assert not raw.exists("c/.ipynb_checkpoints/f-checkpoint.txt")
    assert body(fetch("api", "contents", "c/f.txt", "checkpoints")) == []
    assert set(names(body(fetch("api", "contents", "c")))) == {"f.txt"}


def test_trust_endpoint(fetch, raw):
    nb = make_nb("1 + 1")
    nb.cells[0].outputs = [
        new_output("execute_result", data={"text/plain": "2"}, execution_count=1)
    ]
    raw.put("t.ipynb", nbformat.writes(nb).encode())
    got = body(fetch("api", "contents", "t.ipynb"))
    assert got["content"]["cells"][0]["metadata"]["trusted"] is False
    r = fetch("api", "contents", "t.ipynb", "trust", method="POST", body="")
    assert r.code == 201
    got = body(fetch("api", "contents", "t.ipynb"))
    assert got["content"]["cells"][0]["metadata"]["trusted"] is True


@pytest.mark.every_backend
def test_files_download(fetch, raw):
    data = bytes(range(256)) * 2
    nbdata = nbformat.writes(make_nb()).encode()
    raw.put("dl/blob.bin", data)
    raw.put("dl/readme.txt", "text ✓\r\nline2".encode())
    raw.put("dl/nb.ipynb", nbdata)
    r = fetch("files", "dl/blob.bin")
    assert r.code == 200
    assert r.body == data
    r = fetch("files", "dl/readme.txt")
    assert r.body == "text ✓\r\nline2".encode()
    r = fetch("files", "dl/nb.ipynb")
    assert r.body == nbdata
    expect_status(404, fetch, "files", "dl/missing.bin")


@pytest.mark.parametrize("name", ["ünïcødé 文件 #1.txt", "a b?c%d&e+f.txt"])
def test_special_names_rest(fetch, raw, name):
    folder = "späce dir #"
    path = f"{folder}/{name}"
    r = put_json(fetch, path, {"type": "file", "format": "text", "content": "special"})
    assert r.code == 201
    assert body(r)["path"] == path
    assert raw.read(path) == b"special"
    assert body(fetch("api", "contents", path))["content"] == "special"
    entries = names(body(fetch("api", "contents", folder)))
    assert set(entries) == {name}
    assert entries[name]["path"] == path
    assert (fetch("files", path)).body == b"special"
    new_path = f"{folder}/rénamed + {name}"
    r = fetch(
        "api", "contents", path, method="PATCH", body=json.dumps({"path": new_path})
    )
    assert body(r)["path"] == new_path
    assert raw.read(new_path) == b"special"
    assert not raw.exists(path)
    r = fetch("api", "contents", new_path, method="DELETE")
    assert r.code == 204
    assert not raw.exists(new_path)


def test_concurrent_requests(jp_fetch, jp_asyncio_loop, raw):
    """Parallel requests must all be served (no blocking/deadlock in the manager)."""
    import asyncio

    for i in range(8):
        raw.put(f"c/{i}.txt", str(i).encode())

    async def go():
        gets = [jp_fetch("api", "contents", f"c/{i}.txt") for i in range(8)]
        puts = [
            jp_fetch(
                "api",
                "contents",
                f"c/new{i}.txt",
                method="PUT",
                body=json.dumps(
                    {"type": "file", "format": "text", "content": f"new {i}"}
                ),
            )
            for i in range(4)
        ]
        lists = [jp_fetch("api", "contents", "c") for _ in range(2)]
        return await asyncio.gather(*gets, *puts, *lists)

    responses = jp_asyncio_loop.run_until_complete(go())
    assert [body(r)["content"] for r in responses[:8]] == [str(i) for i in range(8)]
    assert [r.code for r in responses[8:12]] == [201] * 4
    for i in range(4):
        assert raw.read(f"c/new{i}.txt") == f"new {i}".encode()
    final = names(
        body(jp_asyncio_loop.run_until_complete(jp_fetch("api", "contents", "c")))
    )
    assert set(final) == {f"{i}.txt" for i in range(8)} | {
        f"new{i}.txt" for i in range(4)
    }


@pytest.mark.every_backend
def test_chunked_upload_like_jupyterlab(fetch, raw):
    """JupyterLab uploads every file larger than 1 MiB in chunks: PUT with
    ``chunk`` = 1, 2, ..., and -1 for the last one; the object must end up as
    the concatenation of all chunks."""
    parts = [bytes([i]) * 1000 + b"|" for i in range(4)]
    numbers = [1, 2, 3, -1]
    for number, part in zip(numbers, parts):
        model = {
            "type": "file",
            "format": "base64",
            "name": "big.bin",
            "chunk": number,
            "content": b64(part),
        }
        r = fetch("api", "contents", "up/big.bin", method="PUT", body=json.dumps(model))
        assert r.code in (200, 201)
        assert body(r)["path"] == "up/big.bin"
    assert raw.read("up/big.bin") == b"".join(parts)
    got = body(fetch("api", "contents", "up/big.bin", params={"content": "0"}))
    assert got["size"] == sum(len(p) for p in parts)


@pytest.mark.parametrize(
    "size", [10 * 1024, 100 * 1024, 20 * 1024 * 1024], ids=["10KiB", "100KiB", "20MB"]
)
def test_open_and_save_keeps_every_number(fetch, raw, size):
    """A notebook written by json.dumps (not nbformat) whose outputs hold random floats
    (every last digit matters) and ints beyond 64 bits: GET it, PUT the same model back,
    and the stored object is exactly what nbformat's own read-then-write gives. The async
    manager reads notebooks of 64 KiB and more with the core's parser, so the 100 KiB and
    20 MB cases go through it."""
    original = notebook_text(size, seed=size)
    raw.put("exact/nb.ipynb", original)
    got = body(fetch("api", "contents", "exact/nb.ipynb"))
    assert got["type"] == "notebook"
    first = json.loads(original)["cells"][0]["outputs"][0]["data"]["application/json"]
    served = got["content"]["cells"][0]["outputs"][0]["data"]["application/json"]
    assert same(served, first)

    r = put_json(
        fetch, "exact/nb.ipynb", {"type": "notebook", "content": got["content"]}
    )
    assert r.code == 200
    expected = nbformat.writes(nbformat.reads(original.decode(), as_version=4))
    expected += (
        "" if expected.endswith("\n") else "\n"
    )  # nbformat.write adds it, as FileContentsManager saves
    assert raw.read("exact/nb.ipynb") == expected.encode()


def test_post_copy_of_a_folder_to_a_missing_folder(fetch, raw):
    """FileContentsManager puts the copy inside the missing folder; Location names it."""
    raw.put("src/a.txt", b"a")
    r = fetch(
        "api",
        "contents",
        "missing",
        method="POST",
        body=json.dumps({"copy_from": "src"}),
    )
    assert r.code == 201
    assert body(r)["path"] == "missing/src"
    assert r.headers["Location"].endswith("/api/contents/missing/src")
    assert raw.read("missing/src/a.txt") == b"a"


def test_a_percent_sign_in_a_path_reaches_the_message_once(fetch, raw):
    """Tornado's `log_message` doubles a `%` of a message without arguments, and
    jupyter_server's API error reply shows it: messages must not say `50%% off`."""
    raw.put("50% off/item.txt", b"x")
    error = expect_status(
        400,
        fetch,
        "api",
        "contents",
        "50% off",
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": "over a folder"}),
    )
    assert (
        body(error.response)["message"]
        == '"50% off" is a directory; cannot save a file over it'
    )


@pytest.mark.cm_config(
    endpoint_url="http://127.0.0.1:9", max_retries=0, retry_timeout=5.0
)
def test_a_store_url_in_a_message_keeps_its_percent_escapes(fetch):
    error = expect_status(503, fetch, "api", "contents", "folder")
    message = json.loads(error.response.body)["message"]
    assert (
        "http://127.0.0.1:9/" in message and "%2F" in message and "%%" not in message
    ), message
