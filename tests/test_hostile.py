"""Hostile and bad input: each gets a clear 4xx and changes nothing; nothing outside the
configured prefix is ever readable, listable or writable; access denied is a 403."""

from __future__ import annotations

import json

import pytest
from support.s3_fixtures import RawBucket
from support.fault_proxy import Fault
from support.reliability_fixtures import expect_status, snapshot
from support.s3c_helpers import listing

SECRET = b"the sibling's secret"

BAD_PATHS = [
    "..",
    "../secret.txt",
    "../../secret.txt",
    "a/../../secret.txt",
    "../alice2/secret.txt",
    "%2e%2e/secret.txt",
    "a/%2E%2e/%2e%2e/secret.txt",
    "a\\..\\..\\secret.txt",
    "..\\secret.txt",
    "a\x00b.txt",
    "a\nb.txt",
    "a\rb.txt",
    "a\x1bb.txt",
    "a\tb.txt",
    "x" * 1100,
    "d/" + "y" * 1030 + ".txt",
    ".Trash/x.txt",
]


@pytest.fixture
def siblings(s3_client, s3_settings, test_prefix):
    """The manager's prefix is <test>/alice; secrets live next to it and above it."""
    outer = RawBucket(s3_client, s3_settings.bucket, test_prefix)
    outer.put("secret.txt", SECRET)
    outer.put("alice2/secret.txt", SECRET)
    outer.put("alice2/.s3keep")
    outer.put("alice/a/.s3keep")
    outer.put("alice/b.txt", b"b")
    return outer


@pytest.fixture
def alice(make_cm, test_prefix, siblings):
    return make_cm(prefix=f"{test_prefix}/alice")


def every_call(cm, path: str):
    """Every manager call that takes a path, with `path` in each path argument."""
    text = {"type": "file", "format": "text", "content": "x"}
    return [
        ("get", cm.get, (path,)),
        ("get-no-content", cm.get, (path,), {"content": False}),
        ("save", cm.save, (text, path)),
        ("save-dir", cm.save, ({"type": "directory"}, path)),
        (
            "save-chunk",
            cm.save,
            (dict(text, format="base64", content="eA==", chunk=1), path),
        ),
        ("new", cm.new, (None, path)),
        ("new_untitled", cm.new_untitled, (path,)),
        ("delete", cm.delete, (path,)),
        ("rename-from", cm.rename, (path, "moved.txt")),
        ("rename-to", cm.rename, ("b.txt", path)),
        ("copy-from", cm.copy, (path,)),
        ("copy-to", cm.copy, ("b.txt", path)),
        ("create_checkpoint", cm.create_checkpoint, (path,)),
        ("list_checkpoints", cm.list_checkpoints, (path,)),
        ("restore_checkpoint", cm.restore_checkpoint, ("checkpoint", path)),
        ("delete_checkpoint", cm.delete_checkpoint, ("checkpoint", path)),
        ("file_exists", cm.file_exists, (path,)),
        ("dir_exists", cm.dir_exists, (path,)),
        ("exists", cm.exists, (path,)),
    ]


@pytest.mark.parametrize("path", BAD_PATHS, ids=[repr(p)[:24] for p in BAD_PATHS])
def test_bad_paths_are_4xx_and_change_nothing(alice, siblings, path):
    from tornado.web import HTTPError

    before = snapshot(siblings)
    for name, fn, args, *kwargs in every_call(alice, path):
        try:
            result = fn(*args, **(kwargs[0] if kwargs else {}))
        except HTTPError as e:
            assert 400 <= e.status_code < 500, (
                f"{name}({path!r}): {e.status_code} {e.log_message}"
            )
            assert SECRET.decode() not in str(e.log_message)
            continue
        # Only answers that reveal nothing are allowed without an error.
        assert result in (False, []), f"{name}({path!r}) answered {result!r}"
    assert snapshot(siblings) == before


def test_sibling_prefix_is_never_listed(alice, siblings):
    assert set(listing(alice.get(""))) == {"a", "b.txt"}
    assert not alice.dir_exists("alice2") and not alice.file_exists("secret.txt")
    expect_status(404, alice.get, "secret.txt")
    expect_status(404, alice.get, "alice2/secret.txt")


def test_odd_prefix_characters_round_trip(make_cm, test_prefix, s3_client, s3_settings):
    prefix = f"{test_prefix}/wéird pre fix/#?&+%"
    cm = make_cm(prefix=prefix)
    cm.save({"type": "file", "format": "text", "content": "ok"}, "f.txt")
    assert RawBucket(s3_client, s3_settings.bucket, prefix).read("f.txt") == b"ok"
    assert set(listing(cm.get(""))) == {"f.txt"}


@pytest.mark.parametrize("prefix", ["../escape", "a/../../b", "a\\b", "a\x00b"])
def test_bad_prefix_is_refused_at_startup(manager_class, manager_kwargs, prefix):
    from traitlets import TraitError

    with pytest.raises(TraitError, match="prefix"):
        manager_class(**dict(manager_kwargs, prefix=prefix))


# =========================================================================== bad content
BAD_SAVES = [
    (
        "invalid base64",
        {"type": "file", "format": "base64", "content": "not base64!!"},
        "f.bin",
    ),
    (
        "text not a string",
        {"type": "file", "format": "text", "content": {"a": 1}},
        "f.txt",
    ),
    ("no format", {"type": "file", "content": "x"}, "f.txt"),
    (
        "unknown type",
        {"type": "spreadsheet", "content": "x", "format": "text"},
        "f.txt",
    ),
    (
        "notebook not json",
        {"type": "notebook", "content": "not a notebook", "format": "json"},
        "n.ipynb",
    ),
    (
        "notebook wrong nbformat",
        {
            "type": "notebook",
            "content": {"nbformat": 99, "cells": []},
            "format": "json",
        },
        "n.ipynb",
    ),
    (
        "notebook no cells",
        {"type": "notebook", "content": {"metadata": {}}, "format": "json"},
        "n.ipynb",
    ),
    ("file over directory", {"type": "file", "format": "text", "content": "x"}, "dir"),
    (
        "notebook over directory",
        {
            "type": "notebook",
            "format": "json",
            "content": {
                "cells": [],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            },
        },
        "dir",
    ),
    ("directory over file", {"type": "directory"}, "existing.txt"),
    ("root", {"type": "file", "format": "text", "content": "x"}, ""),
]


@pytest.mark.parametrize("what,model,path", BAD_SAVES, ids=[b[0] for b in BAD_SAVES])
def test_bad_saves_are_400_and_change_nothing(cm, raw, what, model, path):
    raw.put("dir/inside.txt", b"inside")
    raw.put("existing.txt", b"existing")
    raw.put("f.bin", b"old bin")
    raw.put("f.txt", b"old text")
    raw.put(
        "n.ipynb",
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
    )
    before = snapshot(raw)
    expect_status(400, cm.save, model, path)
    assert snapshot(raw) == before


@pytest.mark.parametrize(
    "path,kwargs",
    [
        ("bin.dat", {"format": "text"}),
        ("dir", {"type": "file"}),
        ("dir", {"type": "notebook"}),
        ("text.txt", {"type": "directory"}),
        ("text.txt", {"format": "yaml"}),
        ("broken.ipynb", {}),
        ("broken.ipynb", {"type": "notebook"}),
    ],
)
def test_bad_reads_are_400(cm, raw, path, kwargs):
    raw.put("bin.dat", bytes([0xFF, 0xFE, 0x00, 0x80]))
    raw.put("dir/x.txt", b"x")
    raw.put("text.txt", b"text")
    raw.put("broken.ipynb", b"{ not json")
    before = snapshot(raw)
    expect_status(400, cm.get, path, **kwargs)
    assert snapshot(raw) == before


# =========================================================================== access denied
@pytest.mark.parametrize(
    "method,call,permission",
    [
        ("GET", lambda cm: cm.get("f.txt"), "s3:GetObject"),
        ("GET", lambda cm: cm.get(""), "s3:ListBucket"),
        (
            "PUT",
            lambda cm: cm.save(
                {"type": "file", "format": "text", "content": "x"}, "f.txt"
            ),
            "s3:PutObject",
        ),
        ("POST", lambda cm: cm.delete("d"), "s3:DeleteObject"),
    ],
    ids=["read", "list", "write", "delete"],
)
def test_access_denied_is_403_naming_the_permission(
    make_proxied_cm, fault_proxy, raw, method, call, permission
):
    raw.put("f.txt", b"f")
    raw.put("d/x.txt", b"x")
    before = snapshot(raw)
    cm = make_proxied_cm(delete_to_trash=False)
    fault_proxy.add(Fault.error("AccessDenied"), method=method, times=None)
    error = expect_status(403, call, cm)
    assert permission in error.log_message, error.log_message
    assert snapshot(raw) == before


def test_access_denied_does_not_crash_the_server_at_startup(
    manager_class, manager_kwargs, fault_proxy, flavor
):
    """A manager whose credentials cannot list the bucket still starts; requests get 403."""
    fault_proxy.add(Fault.error("AccessDenied"), times=None)
    manager = manager_class(
        **dict(manager_kwargs, endpoint_url=fault_proxy.url, max_retries=0)
    )
    assert manager.store is not None
