"""The generic manager (one store URL) and what only the local and in-memory stores do.

The Contents API itself runs on file:// in test_backends.py.
"""

from __future__ import annotations

import pytest
from tornado.web import HTTPError
from traitlets import TraitError

from support.s3c_helpers import ManagerAdapter, listing

pytestmark = [pytest.mark.timeout(60), pytest.mark.file]


@pytest.fixture(params=["sync", "async"])
def generic(request, jp_asyncio_loop):
    from s3contents_rs import (
        AsyncObjectStoreContentsManager,
        ObjectStoreContentsManager,
    )

    cls = AsyncObjectStoreContentsManager if request.param == "async" else ObjectStoreContentsManager

    def make(**traits) -> ManagerAdapter:
        return ManagerAdapter(cls(**traits), request.param, jp_asyncio_loop)

    make.cls = cls
    return make


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


def test_file_url_stores_plain_files(generic, tmp_path):
    cm = generic(url=(tmp_path / "store").as_uri(), prefix="team")
    cm.save(text("on disk"), "a/b.txt")
    cm.save({"type": "directory"}, "a/sub")
    assert (tmp_path / "store" / "team" / "a" / "b.txt").read_text() == "on disk"
    assert (tmp_path / "store" / "team" / "a" / "sub" / ".s3keep").is_file()
    assert set(listing(cm.get("a"))) == {"b.txt", "sub"}


def test_url_path_is_a_prefix_below_which_prefix_applies(generic, tmp_path):
    cm = generic(url=(tmp_path / "store").as_uri() + "/", prefix="")
    other = generic(url=(tmp_path / "store").as_uri(), prefix="deeper/x")
    other.save(text("deep"), "f.txt")
    assert cm.get("deeper/x/f.txt")["content"] == "deep"
    assert cm.store.prefix == "" and other.store.prefix == "deeper/x"


def test_memory_url(generic):
    cm = generic(url="memory://")
    cm.save(text("in memory"), "m/x.txt")
    cp = cm.create_checkpoint("m/x.txt")
    cm.save(text("changed"), "m/x.txt")
    cm.restore_checkpoint(cp["id"], "m/x.txt")
    assert cm.get("m/x.txt")["content"] == "in memory"
    assert set(listing(cm.get("m"))) == {"x.txt"}


def test_deleting_last_file_leaves_no_empty_folders(generic, tmp_path):
    cm = generic(url=(tmp_path / "store").as_uri(), prefix="p")
    cm.save(text("x"), "a/b/c.txt")
    cm.delete("a/b/c.txt")
    assert not (tmp_path / "store" / "p" / "a" / "b").exists()
    assert cm.dir_exists("a/b") is False


def test_names_the_local_store_cannot_hold_are_400(generic, tmp_path):
    """object_store's local store keeps staging files as `<name>#<n>`: such names are
    refused up front, not stored and then unreadable."""
    cm = generic(url=(tmp_path / "store").as_uri())
    for path in ("take #1/a.txt", "copy#2"):
        with pytest.raises(HTTPError) as info:
            cm.save(text("x"), path)
        assert info.value.status_code == 400
        assert "#" in info.value.log_message
    cm.save(text("fine"), "take #one/a.txt")
    assert cm.get("take #one/a.txt")["content"] == "fine"


@pytest.mark.parametrize(
    ("traits", "message"),
    [
        ({}, "url"),
        ({"url": "ftp://host/x"}, "unsupported store URL scheme"),
        ({"url": "not a url"}, "invalid store URL"),
        ({"url": "memory://", "store_options": {"aws_region": "x"}}, "takes no option"),
        (
            {"url": "gs://bucket", "store_options": {"no_such_option": "1"}},
            "unknown GCS store option",
        ),
    ],
)
def test_bad_store_configuration_fails_at_startup(generic, traits, message):
    with pytest.raises(TraitError, match=message):
        generic.cls(**traits)


def test_named_managers_refuse_a_url(manager_class, manager_kwargs):
    """A url set on S3ContentsManager would otherwise be silently ignored."""
    with pytest.raises(TraitError, match="url"):
        manager_class(url="file:///tmp/x", **manager_kwargs)


def test_store_options_accept_booleans_and_numbers(generic, tmp_path):
    cm = generic(
        url="s3://bucket",
        store_options={
            "aws_allow_http": True,
            "aws_endpoint": "http://127.0.0.1:1",
            "aws_skip_signature": True,
            "aws_region": "eu-west-1",
        },
    )
    assert cm.store.url == "s3://bucket"
