"""Per-user prefixes for JupyterHub: `{username}` and `${VAR}` in `prefix`.

One hub config, many users: each manager is confined to its own prefix and can
neither read nor write another user's files.
"""

from __future__ import annotations

import pytest
from tornado.web import HTTPError
from traitlets import TraitError

from support.s3c_helpers import ManagerAdapter, listing

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def user_cm(manager_class, flavor, manager_kwargs, test_prefix, monkeypatch, jp_asyncio_loop):
    """user_cm("alice") -> the manager a hub-spawned server of alice would build."""

    def make(user: str, template: str = "users/{username}", **traits) -> ManagerAdapter:
        monkeypatch.setenv("JUPYTERHUB_USER", user)
        kwargs = dict(manager_kwargs, prefix=f"{test_prefix}/{template}", **traits)
        return ManagerAdapter(manager_class(**kwargs), flavor, jp_asyncio_loop)

    return make


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


def expect_status(status: int, fn, *args) -> None:
    with pytest.raises(HTTPError) as info:
        fn(*args)
    assert info.value.status_code == status, info.value.log_message


def test_username_prefix_confines_each_user(user_cm, raw, test_prefix):
    alice = user_cm("alice")
    bob = user_cm("bob")
    assert alice.store.prefix == f"{test_prefix}/users/alice"
    assert bob.store.prefix == f"{test_prefix}/users/bob"

    alice.save(text("alice's secret"), "secret.txt")
    bob.save(text("bob's notes"), "notes.txt")
    assert raw.read("users/alice/secret.txt") == b"alice's secret"
    assert raw.read("users/bob/notes.txt") == b"bob's notes"
    assert set(listing(alice.get(""))) == {"secret.txt"}
    assert set(listing(bob.get(""))) == {"notes.txt"}

    # Nothing outside the prefix can be named, read or written.
    for escape in (
        "../alice/secret.txt",
        "/../alice/secret.txt",
        "..",
        "a/../../alice/secret.txt",
    ):
        # 404 for a path outside the root, as FileContentsManager answers.
        expect_status(404, bob.get, escape)
        expect_status(404, bob.save, text("overwrite"), escape)
        expect_status(404, bob.delete, escape)
        expect_status(404, bob.rename, "notes.txt", escape)
    expect_status(404, bob.get, "secret.txt")
    expect_status(404, bob.copy, "notes.txt", "../alice")
    assert raw.read("users/alice/secret.txt") == b"alice's secret"
    assert raw.keys() == {"users/alice/secret.txt", "users/bob/notes.txt"}


def test_user_whose_name_prefixes_another_sees_only_their_own(user_cm, raw):
    user_cm("alice").save(text("a"), "a.txt")
    al = user_cm("al")
    assert listing(al.get("")) == {}
    assert al.file_exists("a.txt") is False
    al.save(text("al"), "a.txt")
    assert raw.read("users/alice/a.txt") == b"a"
    assert raw.read("users/al/a.txt") == b"al"


def test_environment_variables_in_prefix(user_cm, raw, monkeypatch, test_prefix):
    monkeypatch.setenv("S3CRS_TEST_TEAM", "physics")
    cm = user_cm("carol", template="${S3CRS_TEST_TEAM}/{username}/work")
    assert cm.store.prefix == f"{test_prefix}/physics/carol/work"
    cm.save(text("c"), "c.txt")
    assert raw.read("physics/carol/work/c.txt") == b"c"


@pytest.mark.parametrize(
    ("user", "template", "message"),
    [
        (None, "users/{username}", "JUPYTERHUB_USER is not set"),
        ("", "users/{username}", "JUPYTERHUB_USER is not set"),
        ("eve/../alice", "users/{username}", "not a single path segment"),
        ("..", "users/{username}", "not a single path segment"),
        (
            "eve",
            "${S3CRS_TEST_UNSET_VARIABLE}/x",
            "S3CRS_TEST_UNSET_VARIABLE is not set",
        ),
        ("eve", "users/{user}", "unknown placeholder '{user}'"),
        ("eve", "users/${lower-case}", "unknown placeholder '${lower-case}'"),
    ],
)
def test_unusable_template_values_stop_startup(
    manager_class, manager_kwargs, test_prefix, monkeypatch, user, template, message
):
    monkeypatch.delenv("S3CRS_TEST_UNSET_VARIABLE", raising=False)
    if user is None:
        monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    else:
        monkeypatch.setenv("JUPYTERHUB_USER", user)
    with pytest.raises(TraitError, match="prefix") as info:
        manager_class(**dict(manager_kwargs, prefix=f"{test_prefix}/{template}"))
    assert message in str(info.value)
