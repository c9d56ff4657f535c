"""save: notebooks, text and binary files, directories, hooks, validation, trust,
large notebooks, chunked uploads.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import base64
import gc
import json
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from support.contents_helpers import b64_model, make_nb, nb_bytes, nb_model, text_model
from support.s3c_helpers import b64, check_model, expect_http, listing, nb_sources

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== save
def test_save_notebook(cm, raw):
    nb = make_nb("print(42)")
    model = check_model(cm.save(nb_model(nb), "work/nb.ipynb"), content=False)
    assert model["type"] == "notebook"
    assert model["name"] == "nb.ipynb"
    assert model["path"] == "work/nb.ipynb"
    assert model["content"] is None
    assert not model.get("message")
    stored = raw.read("work/nb.ipynb")
    assert model["size"] == len(stored)
    assert nb_sources(nbformat.reads(stored.decode("utf-8"), as_version=4)) == nb_sources(nb)
    got = cm.get("work/nb.ipynb")
    assert nb_sources(got["content"]) == nb_sources(nb)


def test_save_text_file(cm, raw):
    text = "line one\nünïcode ✓\n"
    model = check_model(cm.save(text_model(text), "notes/a.txt"), content=False)
    assert model["type"] == "file"
    assert model["content"] is None
    assert raw.read("notes/a.txt") == text.encode("utf-8")
    assert model["size"] == len(text.encode("utf-8"))
    assert cm.get("notes/a.txt")["content"] == text


def test_save_base64_file(cm, raw):
    data = bytes(range(256)) * 4
    cm.save(b64_model(data), "bin/data.bin")
    assert raw.read("bin/data.bin") == data
    model = cm.get("bin/data.bin")
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == data


def test_save_base64_with_newlines(cm, raw):
    """base64 as produced by base64.encodebytes (what FileContentsManager returns)."""
    data = b"\x00\x10\x80\xff" * 100
    cm.save(
        {
            "type": "file",
            "format": "base64",
            "content": base64.encodebytes(data).decode(),
        },
        "nl.bin",
    )
    assert raw.read("nl.bin") == data


def test_save_overwrites(cm, raw):
    cm.save(text_model("first"), "o.txt")
    cm.save(text_model("second, longer"), "o.txt")
    assert raw.read("o.txt") == b"second, longer"
    assert cm.get("o.txt")["content"] == "second, longer"


def test_save_directory_creates_marker(cm, raw):
    model = check_model(cm.save({"type": "directory"}, "newdir"), content=False)
    assert model["type"] == "directory"
    assert model["path"] == "newdir"
    assert raw.read("newdir/.s3keep") == b""
    assert check_model(cm.get("newdir"), content=True)["content"] == []
    assert "newdir" in listing(cm.get(""))
    # saving an existing directory again is fine
    cm.save({"type": "directory"}, "newdir")
    cm.save({"type": "directory"}, "newdir/child")
    assert raw.exists("newdir/child/.s3keep")
    assert set(listing(cm.get("newdir"))) == {"child"}


@pytest.mark.parametrize(
    "model",
    [
        {"content": "no type", "format": "text"},
        {"type": "file", "format": "text"},
        {"type": "bogus", "content": "x", "format": "text"},
        {"type": "file", "content": "missing format"},
        {"type": "file", "format": "base64", "content": "abc"},
        {"type": "file", "format": "nonsense", "content": "x"},
    ],
    ids=[
        "no-type",
        "no-content",
        "bad-type",
        "no-format",
        "invalid-base64",
        "bad-format",
    ],
)
def test_save_bad_model_is_400(cm, raw, model):
    expect_http(400, cm.save, model, "bad.txt")
    assert not raw.exists("bad.txt")


def test_pre_save_hook(make_cm, raw):
    calls = []

    def hook(model, path, contents_manager, **kwargs):
        calls.append((path, contents_manager))
        if model["type"] == "file":
            model["content"] = model["content"].upper()
        elif model["type"] == "notebook":
            for cell in model["content"]["cells"]:
                if cell["cell_type"] == "code":
                    cell["outputs"] = []
                    cell["execution_count"] = None

    cm = make_cm(pre_save_hook=hook)
    cm.save(text_model("shout"), "d/p.txt")
    assert raw.read("d/p.txt") == b"SHOUT"
    nb = make_nb(outputs=[new_output("stream", name="stdout", text="out")])
    nb.cells[1]["execution_count"] = 3
    cm.save(nb_model(nb), "d/p.ipynb")
    stored = nbformat.reads(raw.read("d/p.ipynb").decode(), as_version=4)
    assert stored.cells[1]["outputs"] == []
    assert stored.cells[1]["execution_count"] is None
    assert [c[0] for c in calls] == ["d/p.txt", "d/p.ipynb"]
    assert all(c[1] is cm.raw for c in calls)


def test_post_save_hook_gets_s3_path(make_cm, raw):
    calls = []

    def hook(model, s3_path, contents_manager, **kwargs):
        calls.append({"model": dict(model), "s3_path": s3_path, "cm": contents_manager})

    cm = make_cm(post_save_hook=hook)
    cm.save(text_model("posted"), "d/post.txt")
    assert len(calls) == 1
    call = calls[0]
    assert call["s3_path"] == "d/post.txt"
    assert call["cm"] is cm.raw
    assert call["model"]["path"] == "d/post.txt"
    assert call["model"]["type"] == "file"


def test_post_save_hook_readme_pattern_with_fs(make_cm, raw):
    """The s3contents README pattern: a post-save hook reading the saved file
    with contents_manager.fs.read and writing a derived file with fs.write."""

    def hook(model, s3_path, contents_manager, **kwargs):
        if not s3_path.endswith(".txt"):
            return
        content, fmt = contents_manager.fs.read(s3_path, format="text")
        assert fmt == "text"
        contents_manager.fs.write(s3_path[: -len(".txt")] + ".upper", content.upper(), "text")

    cm = make_cm(post_save_hook=hook)
    cm.save(text_model("derive me"), "d/src.txt")
    assert raw.read("d/src.upper") == b"DERIVE ME"


def test_post_save_hook_failure_is_500(make_cm, raw):
    def hook(**kwargs):
        raise RuntimeError("hook exploded")

    cm = make_cm(post_save_hook=hook)
    expect_http(500, cm.save, text_model("x"), "f.txt")


def test_notebook_validation_message(cm, raw):
    nb = make_nb()
    nb.cells[1]["bogus_property"] = 1  # not allowed by the nbformat schema
    model = cm.save(nb_model(nb), "invalid.ipynb")
    assert model["message"].startswith("Notebook validation failed"), model.get("message")
    assert raw.exists("invalid.ipynb")
    got = cm.get("invalid.ipynb")
    assert got["message"].startswith("Notebook validation failed"), got.get("message")


def test_unreadable_notebook_is_400(cm, raw):
    raw.put("broken.ipynb", b"{ this is not json")
    expect_http(400, cm.get, "broken.ipynb")
    # still accessible as a plain file
    assert cm.get("broken.ipynb", type="file")["content"] == "{ this is not json"


def test_trust_notebook(cm, raw):
    nb = make_nb(
        "1 + 1",
        outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=1)],
    )
    raw.put("t.ipynb", nb_bytes(nb))  # unsigned
    model = cm.get("t.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert code and all(c["metadata"].get("trusted") is False for c in code)

    cm.trust_notebook("t.ipynb")
    model = cm.get("t.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("trusted") is True for c in code)


def test_save_trusted_notebook_is_signed(cm, raw):
    nb = make_nb(
        "2 + 2",
        outputs=[new_output("execute_result", data={"text/plain": "4"}, execution_count=1)],
    )
    nb.cells[1]["metadata"]["trusted"] = True
    cm.save(nb_model(nb), "signed.ipynb")
    code = [c for c in cm.get("signed.ipynb")["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("trusted") is True for c in code)


def big_nb(cells: int = 400, *, trusted_output: bool = True) -> nbformat.NotebookNode:
    """A notebook of a few MB: above the size from which the async manager parses,
    validates and signs in a worker thread."""
    nb = new_notebook()
    for i in range(cells):
        outputs = [new_output("stream", name="stdout", text=f"line {i}\n" * 400)]
        if trusted_output:
            outputs.append(
                new_output(
                    "execute_result",
                    data={"text/html": f"<b>{i}</b>"},
                    execution_count=i,
                )
            )
        nb.cells.append(new_code_cell(f"print({i})", outputs=outputs))
    return nb


def test_large_notebook_trust_and_validation(cm, raw):
    """The large-notebook path (worker thread in the async manager) marks trust, signs
    on save and reports validation errors exactly as the small one does."""
    nb = big_nb()
    assert len(nb_bytes(nb)) > 1024 * 1024
    raw.put("big.ipynb", nb_bytes(nb))  # unsigned, with rich output
    model = cm.get("big.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert len(code) == 400 and all(c["metadata"]["trusted"] is False for c in code)
    assert "__s3contents_rs_signature" not in model and "message" not in model

    for cell in model["content"]["cells"]:
        cell["metadata"]["trusted"] = True
    cm.save({"type": "notebook", "content": model["content"]}, "big.ipynb")
    stored = json.loads(raw.read("big.ipynb"))
    assert all("trusted" not in c["metadata"] for c in stored["cells"]), "trust flags are not stored"
    code = [c for c in cm.get("big.ipynb")["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"]["trusted"] is True for c in code), "the save did not sign the notebook"

    invalid = json.loads(nb_bytes(nb))
    invalid["cells"][0]["bogus"] = 1
    raw.put("invalid.ipynb", json.dumps(invalid).encode())
    assert "Notebook validation failed" in cm.get("invalid.ipynb")["message"]


def test_large_notebook_does_not_block_the_event_loop(cm, raw):
    """While the async manager parses, validates and checks a large notebook, other
    coroutines on the server's event loop keep running (they would not run at all if
    the work ran on the loop)."""
    if not cm.is_async:
        pytest.skip("the blocking manager runs in its caller's thread")
    import asyncio

    nb = big_nb(800)
    raw.put("big.ipynb", nb_bytes(nb))
    manager = cm.raw

    async def scenario():
        fetched = await manager._store.get_async("big.ipynb", "text")
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                await asyncio.sleep(0)  # runs whenever the loop is free, however briefly
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = time.perf_counter()
        model = await manager._build_model_async(fetched, None, None, True, False)
        elapsed = time.perf_counter() - start
        saved_ticks = ticks
        await manager._serialize_async({"type": "notebook", "content": model["content"]}, "big.ipynb")
        done = True
        await task
        return model, elapsed, saved_ticks, ticks

    model, elapsed, get_ticks, all_ticks = cm.run(scenario())
    assert len(model["content"]["cells"]) == 800
    # Counted, not timed: work done on the loop itself would leave no turn to the ticker.
    assert get_ticks >= 1, f"the event loop did not run during {elapsed:.2f} s of parsing"
    assert all_ticks - get_ticks >= 1, "the event loop did not run while the notebook was serialised"


def test_large_notebook_is_parsed_by_the_yielding_parser(cm, raw, monkeypatch):
    """The async manager reads a large notebook with the core's parser, which lets the
    event loop run (json.loads would hold the GIL throughout); a small one with json."""
    if not cm.is_async:
        pytest.skip("the blocking manager runs in its caller's thread")
    import s3contents_rs._notebooks as notebooks

    parsed: list[int] = []
    real = notebooks.loads_yielding
    monkeypatch.setattr(
        notebooks,
        "loads_yielding",
        lambda data, *args: parsed.append(len(data)) or real(data, *args),
    )
    raw.put("big.ipynb", nb_bytes(big_nb()))
    raw.put("small.ipynb", nb_bytes(make_nb("1 + 1")))
    big, small = cm.get("big.ipynb"), cm.get("small.ipynb")
    assert len(parsed) == 1 and parsed[0] > 1024 * 1024, parsed
    assert len(big["content"]["cells"]) == 400 and small["content"]["cells"][1]["source"] == "1 + 1"
    # Built as nbformat builds it, and out of the cyclic collector's way.
    cell = big["content"]["cells"][0]
    assert isinstance(cell, nbformat.NotebookNode) and isinstance(cell.metadata, nbformat.NotebookNode)
    assert not gc.is_tracked(big["content"]["cells"]) and not gc.is_tracked(cell)


def test_large_listing_is_complete(cm, raw):
    """A folder above the size the async manager lists in a worker thread (and above one
    LIST page): every entry once, hidden and checkpoint entries left out."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"f{i:04d}.txt" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: raw.put(f"big/{n}", b"x"), names))
    raw.put("big/.hidden", b"h")
    raw.put("big/sub/a.txt", b"a")
    raw.put("big/.ipynb_checkpoints/f0000-checkpoint.txt", b"c")
    model = cm.get("big")
    listed = sorted(m["name"] for m in model["content"])
    assert listed == sorted(names + ["sub"])
    assert all(m["content"] is None for m in model["content"])


def test_chunked_upload(cm, raw):
    """Large-file upload as JupyterLab does it (chunk 1, 2, ..., -1)."""
    parts = [b"\x00first-", b"\x01second-", b"\x02last"]
    for i, part in enumerate(parts):
        chunk = -1 if i == len(parts) - 1 else i + 1
        model = cm.save(
            {"type": "file", "format": "base64", "content": b64(part), "chunk": chunk},
            "big/up.bin",
        )
        assert model["path"] == "big/up.bin"
    assert raw.read("big/up.bin") == b"".join(parts)
