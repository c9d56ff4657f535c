"""Compatibility with buckets written by the PyPI ``s3contents`` package.

A helper script runs under a separate interpreter that has ``s3contents``
(0.11.x) installed: ``$S3CONTENTS_REF_PYTHON``, or ``/tmp/refvenv/bin/python``
when that exists.  If neither is available the tests FAIL (never skip): the
compatibility claim is part of the contract.

* s3contents writes a notebook, text and binary files, a directory and nested
  files under this test's prefix; our managers must list and read them.
* our manager writes the same kinds of objects; s3contents must list and read
  them back.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pytest

from support.reference import ref_python
from support.s3c_helpers import check_model, listing

pytestmark = [pytest.mark.timeout(180), pytest.mark.compatibility]

BINARY = bytes(range(256))

REF_SCRIPT = textwrap.dedent(
    r"""
    import base64, json, sys
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from s3contents import S3ContentsManager

    cfg = json.loads(sys.argv[1])
    m = S3ContentsManager(**cfg["kwargs"])

    def nb(source):
        n = new_notebook()
        n.cells.append(new_markdown_cell("# from s3contents"))
        n.cells.append(new_code_cell(source))
        return n

    def entries(path):
        return sorted([e["name"], e["type"]] for e in m.get(path)["content"])

    if cfg["mode"] == "write":
        m.save({"type": "notebook", "content": nb("a = 1")}, "compat.ipynb")
        m.save({"type": "file", "format": "text", "content": "hello from s3contents\n"}, "hello.txt")
        m.save({"type": "file", "format": "base64", "content": cfg["b64"]}, "data.bin")
        m.save({"type": "directory"}, "folder")
        m.save({"type": "file", "format": "text", "content": "nested text"}, "folder/nested.txt")
        m.save({"type": "directory"}, "folder/sub")
        m.save({"type": "notebook", "content": nb("deep = True")}, "folder/sub/deep.ipynb")
        m.save({"type": "directory"}, "empty")
        out = {"root": entries(""), "folder": entries("folder")}
    else:
        out = {
            "root": entries(""),
            "ours": entries("ours"),
            "text": m.get("ours/text.txt")["content"],
            "nb_sources": [c["source"] for c in m.get("ours/nb.ipynb")["content"]["cells"]],
            "bin": m.get("ours/bin.dat")["content"],
            "empty": entries("ours/empty"),
            "dir_exists": m.dir_exists("ours/empty"),
        }
    print("RESULT:" + json.dumps(out))
    """
)


def run_ref(mode: str, manager_kwargs: dict, tmp_path: Path) -> dict:
    script = tmp_path / "s3contents_ref.py"
    script.write_text(REF_SCRIPT)
    cfg = {
        "mode": mode,
        "kwargs": manager_kwargs,
        "b64": base64.b64encode(BINARY).decode(),
    }
    env = dict(os.environ)
    # keep the reference interpreter's notary DB etc. out of the real home
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "ref-data")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "ref-config")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [ref_python(), str(script), json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT:")]
    if proc.returncode != 0 or not lines:
        pytest.fail(
            f"reference s3contents script ({mode}) failed with exit code {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    return json.loads(lines[-1][len("RESULT:") :])


def test_read_bucket_written_by_s3contents(cm, raw, manager_kwargs, tmp_path):
    ref = run_ref("write", manager_kwargs, tmp_path)
    # sanity: what s3contents itself sees
    assert ref["root"] == sorted(
        [
            ["compat.ipynb", "notebook"],
            ["data.bin", "file"],
            ["empty", "directory"],
            ["folder", "directory"],
            ["hello.txt", "file"],
        ]
    ), ref
    assert raw.exists("folder/.s3keep")

    root = check_model(cm.get(""), content=True)
    entries = listing(root)
    assert {name: e["type"] for name, e in entries.items()} == {
        "compat.ipynb": "notebook",
        "hello.txt": "file",
        "data.bin": "file",
        "folder": "directory",
        "empty": "directory",
    }
    assert entries["hello.txt"]["size"] == len(b"hello from s3contents\n")

    nb = check_model(cm.get("compat.ipynb"), content=True)
    assert [c["source"] for c in nb["content"]["cells"]] == [
        "# from s3contents",
        "a = 1",
    ]
    assert nb["size"] == len(raw.read("compat.ipynb"))

    text = check_model(cm.get("hello.txt"), content=True)
    assert (text["format"], text["content"]) == ("text", "hello from s3contents\n")

    data = check_model(cm.get("data.bin"), content=True)
    assert data["format"] == "base64"
    assert base64.b64decode(data["content"]) == BINARY

    folder = listing(check_model(cm.get("folder"), content=True))
    assert {n: e["type"] for n, e in folder.items()} == {
        "nested.txt": "file",
        "sub": "directory",
    }
    assert cm.get("folder/nested.txt")["content"] == "nested text"
    deep = cm.get("folder/sub/deep.ipynb")
    assert [c["source"] for c in deep["content"]["cells"]] == [
        "# from s3contents",
        "deep = True",
    ]
    assert check_model(cm.get("empty"), content=True)["content"] == []

    # and we can keep working in it
    cm.save({"type": "file", "format": "text", "content": "ours"}, "folder/ours.txt")
    cm.rename("folder/nested.txt", "folder/moved.txt")
    assert set(listing(cm.get("folder"))) == {"moved.txt", "ours.txt", "sub"}
    cm.delete("folder")
    assert not any(k.startswith("folder/") for k in raw.keys())


def test_s3contents_reads_what_we_write(cm, raw, manager_kwargs, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("ours = 1"))
    # Create the folder first, as Jupyter does (s3contents hides folders that
    # have no .s3keep marker from its listings: its filter_deleted_markers).
    cm.save({"type": "directory"}, "ours")
    cm.save({"type": "notebook", "content": nb}, "ours/nb.ipynb")
    cm.save(
        {"type": "file", "format": "text", "content": "written by s3contents-rs"},
        "ours/text.txt",
    )
    cm.save(
        {
            "type": "file",
            "format": "base64",
            "content": base64.b64encode(BINARY).decode(),
        },
        "ours/bin.dat",
    )
    cm.save({"type": "directory"}, "ours/empty")

    ref = run_ref("read", manager_kwargs, tmp_path)
    assert ["ours", "directory"] in ref["root"], ref
    ours = [e for e in ref["ours"] if e[0] != ".ipynb_checkpoints"]
    assert ours == sorted(
        [
            ["bin.dat", "file"],
            ["empty", "directory"],
            ["nb.ipynb", "notebook"],
            ["text.txt", "file"],
        ]
    ), ref
    assert ref["text"] == "written by s3contents-rs"
    assert ref["nb_sources"] == ["ours = 1"]
    assert base64.b64decode(ref["bin"]) == BINARY
    assert ref["empty"] == []
    assert ref["dir_exists"] is True
