"""Folder dates: object stores keep none, and the 1970 epoch shows in JupyterLab as
"56 years ago". A folder is dated by the newest time the store gave for what a request
saw of it, else by one stable date per store (see `Contents::folder_time`)."""

from __future__ import annotations

import datetime

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def stored_time(raw, path: str) -> datetime.datetime:
    """The store's own time of the object at `path`, in whole seconds as models give it."""
    return raw.head(path)["LastModified"].replace(microsecond=0)


def test_a_listed_folder_is_dated_by_its_newest_entry(cm, raw):
    raw.put("box/old.txt", b"old")
    raw.put("box/new.txt", b"new")
    newest = max(stored_time(raw, "box/old.txt"), stored_time(raw, "box/new.txt"))
    model = cm.get("box")
    assert model["last_modified"] == newest
    assert model["created"] == newest


def test_a_folder_looked_up_without_content_agrees_with_its_listing_entry(cm, raw):
    raw.put("looked-up/deep/er/file.txt", b"x")
    model = cm.get("looked-up", content=False)
    (entry,) = [c for c in cm.get("")["content"] if c["name"] == "looked-up"]
    assert model["last_modified"] == entry["last_modified"] > EPOCH
    assert model["created"] == entry["created"]


def test_undated_subfolders_share_one_stable_date_that_is_not_the_epoch(cm, raw):
    raw.put("tree/a/one.txt", b"1")
    raw.put("tree/b/two.txt", b"2")
    first = {c["name"]: c["last_modified"] for c in cm.get("tree")["content"]}
    again = {c["name"]: c["last_modified"] for c in cm.get("tree")["content"]}
    assert first == again
    assert first["a"] == first["b"] > EPOCH
    # A folder with only subfolders gets the same stable date as its undated children.
    assert cm.get("tree")["last_modified"] == first["a"]


def test_new_folders_and_the_root_are_not_dated_1970(cm, raw):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    made = cm.new({"type": "directory"}, "made-now")
    assert made["last_modified"] >= before - datetime.timedelta(seconds=5)
    (entry,) = [c for c in cm.get("")["content"] if c["name"] == "made-now"]
    assert cm.get("made-now", content=False)["last_modified"] == entry["last_modified"] > EPOCH
    # Opened, the folder is dated by the marker the store wrote for it.
    assert cm.get("made-now")["last_modified"] == stored_time(raw, "made-now/.s3keep")
    untitled = cm.new_untitled(type="directory")
    assert untitled["last_modified"] > EPOCH
    root = cm.get("")
    assert root["last_modified"] > EPOCH
    assert all(child["last_modified"] > EPOCH for child in root["content"])
