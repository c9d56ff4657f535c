"""new / new_untitled naming, special characters in names, invalid paths.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import nbformat
import pytest

from support.contents_helpers import make_nb, nb_model, text_model
from support.s3c_helpers import check_model, expect_http, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== new / new_untitled
def test_new_notebook_file_directory(cm, raw):
    model = check_model(cm.new(path="n.ipynb"), content=False)
    assert model["type"] == "notebook"
    stored = nbformat.reads(raw.read("n.ipynb").decode(), as_version=4)
    assert stored.nbformat == 4 and stored.cells == []

    model = check_model(cm.new(path="f.txt"), content=False)
    assert model["type"] == "file"
    assert raw.read("f.txt") == b""

    model = check_model(cm.new({"type": "directory"}, path="d"), content=False)
    assert model["type"] == "directory"
    assert raw.exists("d/.s3keep")

    model = cm.new({"type": "file", "format": "text", "content": "given"}, path="d/g.txt")
    assert raw.read("d/g.txt") == b"given"


def test_new_untitled_naming(cm, raw):
    assert cm.new_untitled(type="notebook")["path"] == "Untitled.ipynb"
    assert cm.new_untitled(type="notebook")["path"] == "Untitled1.ipynb"
    assert cm.new_untitled(ext=".ipynb")["path"] == "Untitled2.ipynb"
    assert cm.new_untitled(type="file", ext=".txt")["path"] == "untitled.txt"
    assert cm.new_untitled(type="file", ext=".txt")["path"] == "untitled1.txt"
    assert cm.new_untitled()["path"] == "untitled"
    assert cm.new_untitled()["path"] == "untitled1"
    m1 = cm.new_untitled(type="directory")
    m2 = cm.new_untitled(type="directory")
    assert (m1["path"], m1["type"]) == ("Untitled Folder", "directory")
    assert (m2["path"], m2["type"]) == ("Untitled Folder 1", "directory")
    assert raw.exists("Untitled Folder/.s3keep")
    assert raw.exists("Untitled Folder 1/.s3keep")
    assert raw.exists("Untitled.ipynb") and raw.exists("untitled1.txt")
    assert set(listing(cm.get(""))) == {
        "Untitled.ipynb",
        "Untitled1.ipynb",
        "Untitled2.ipynb",
        "untitled.txt",
        "untitled1.txt",
        "untitled",
        "untitled1",
        "Untitled Folder",
        "Untitled Folder 1",
    }


def test_new_untitled_in_subdir_and_missing_dir(cm, raw):
    raw.put("sub/.s3keep")
    assert cm.new_untitled("sub", type="notebook")["path"] == "sub/Untitled.ipynb"
    assert cm.new_untitled("/sub/", type="directory")["path"] == "sub/Untitled Folder"
    assert raw.exists("sub/Untitled.ipynb")
    expect_http(404, cm.new_untitled, "missing", type="notebook")


def test_new_untitled_custom_names(make_cm):
    cm = make_cm(untitled_notebook="Notes", untitled_file="draft", untitled_directory="Box")
    assert cm.new_untitled(type="notebook")["path"] == "Notes.ipynb"
    assert cm.new_untitled(ext=".md")["path"] == "draft.md"
    assert cm.new_untitled(type="directory")["path"] == "Box"
    assert cm.new_untitled(type="directory")["path"] == "Box 1"


# =========================================================================== special names
SPECIAL_NAMES = [
    "ünïcødé 文件.txt",
    "spaces in name.ipynb",
    "we#ird?na%me&x+y=z.txt",
    "percent%20encoded.txt",
    "emoji 🎉.md",
]


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_character_names_round_trip(cm, raw, name):
    folder = "dír with späce #1"
    if name.endswith(".ipynb"):
        model = nb_model(make_nb())
    else:
        model = text_model(f"content of {name}")
    path = f"{folder}/{name}"
    saved = cm.save(model, path)
    assert saved["name"] == name
    assert saved["path"] == path
    assert raw.exists(path), sorted(raw.keys())  # key is the literal unicode path

    got = cm.get(path)
    assert got["name"] == name and got["path"] == path
    entries = listing(cm.get(folder))
    assert set(entries) == {name}
    assert entries[name]["path"] == path
    assert set(listing(cm.get(""))) == {folder}
    assert cm.file_exists(path)
    assert cm.dir_exists(folder)

    base, ext = name[: name.rfind(".")], name[name.rfind(".") :]
    cp = cm.create_checkpoint(path)
    assert raw.exists(f"{folder}/.ipynb_checkpoints/{base}-{cp['id']}{ext}"), sorted(raw.keys())

    new_name = "rénamed #2 + 100%" + ext
    cm.rename(path, f"{folder}/{new_name}")
    assert raw.exists(f"{folder}/{new_name}")
    assert not raw.exists(path)
    assert set(listing(cm.get(folder))) == {new_name}
    new_base = new_name[: new_name.rfind(".")]
    assert raw.exists(f"{folder}/.ipynb_checkpoints/{new_base}-{cp['id']}{ext}"), sorted(raw.keys())
    assert [c["id"] for c in cm.list_checkpoints(f"{folder}/{new_name}")] == [cp["id"]]

    cm.delete(f"{folder}/{new_name}")
    assert not raw.exists(f"{folder}/{new_name}")
    assert not any(".ipynb_checkpoints/" in k for k in raw.keys()), sorted(raw.keys())


# =========================================================================== invalid paths
@pytest.mark.parametrize(
    "path,status",
    # Outside the root: 404, as FileContentsManager. Inside it: refused as invalid.
    [
        ("../escape.txt", 404),
        ("a/../../escape.txt", 404),
        ("..", 404),
        ("a/../b.txt", 400),
    ],
)
def test_dotdot_paths_are_refused(cm, raw, path, status):
    raw.put("a/.s3keep")
    raw.put("b.txt", b"b")
    expect_http(status, cm.get, path)
    expect_http(status, cm.save, text_model("x"), path)
    expect_http(status, cm.delete, path)
    expect_http(status, cm.rename, "b.txt", path)
    expect_http(status, cm.rename, path, "c.txt")
    assert raw.read("b.txt") == b"b"
    assert raw.keys() == {"a/.s3keep", "b.txt"}
