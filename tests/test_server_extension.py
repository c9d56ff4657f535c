"""The package's Jupyter server extension (s3contents_rs/server_extension.py): with an async
manager, large GET /api/contents replies are serialised in a worker thread.

A real jupyter_server (pytest-jupyter, in this process) on moto. Replies of the extension's
handler are compared with jupyter_server's own ContentsHandler on the same server and data:
the test puts jupyter_server's handler back in the routing rule for the reference request.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import (
    AsyncFileContentsManager,
    FileContentsManager,
)
from jupyter_server.services.contents.handlers import ContentsHandler
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support.s3c_helpers import manager_classes
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from s3contents_rs.server_extension import (
    LARGE_REPLY_BYTES,
    OffLoopContentsHandler,
    StoreContentsHandler,
    _route,
    _serialise,
    load,
)

pytestmark = pytest.mark.timeout(180)

EXTENSION_LOG = "large /api/contents replies"


@pytest.fixture
def server_kind() -> str:
    """Which contents manager the server runs (tests parametrize it to change it)."""
    return "async"


@pytest.fixture
def jp_server_config(server_kind, manager_kwargs):
    extensions = {
        "jupyter_server_terminals": False,
        "s3contents_rs": server_kind != "async_disabled",
    }
    if server_kind in ("async", "sync", "async_disabled"):
        cls = manager_classes()["sync" if server_kind == "sync" else "async"]
        traits = {cls.__name__: dict(manager_kwargs)}
    else:
        cls = {"file": FileContentsManager, "async_file": AsyncFileContentsManager}[
            server_kind
        ]
        traits = {}
    return Config(
        {
            "ServerApp": {
                "contents_manager_class": cls,
                "jpserver_extensions": extensions,
            },
            **traits,
        }
    )


# --------------------------------------------------------------------------- helpers
def contents_rules(serverapp) -> list:
    return [
        rule
        for rule in serverapp.web_app.wildcard_router.rules
        if isinstance(getattr(rule, "target", None), type)
        and issubclass(rule.target, ContentsHandler)
    ]


@contextlib.contextmanager
def jupyter_servers_handler(serverapp):
    """jupyter_server's ContentsHandler in the routing, for the requests made inside."""
    rules = contents_rules(serverapp)
    assert [rule.target for rule in rules] == [OffLoopContentsHandler]
    for rule in rules:
        _route(rule, ContentsHandler)
    try:
        yield
    finally:
        for rule in rules:
            _route(rule, OffLoopContentsHandler)


def headers_of(response) -> dict:
    """The reply's headers, except those that differ from one request to the next or with
    the body's bytes (ours is JSON with UTF-8, jupyter_server's escapes non-ASCII)."""
    skip = {"date", "content-length", "etag", "set-cookie"}
    return {
        name.lower(): value
        for name, value in response.headers.get_all()
        if name.lower() not in skip
    }


def get_both(fetch, serverapp, *parts, **kwargs):
    """(our reply, jupyter_server's reply); HTTPClientError's response for errors."""

    def one():
        try:
            return fetch(*parts, **kwargs)
        except HTTPClientError as e:
            return e.response

    ours = one()
    with jupyter_servers_handler(serverapp):
        theirs = one()
    return ours, theirs


def assert_same_reply(ours, theirs) -> dict:
    assert ours.code == theirs.code
    assert json.loads(ours.body) == json.loads(theirs.body)
    assert headers_of(ours) == headers_of(theirs)
    assert ours.headers["Content-Type"] == "application/json"
    return json.loads(ours.body)


def served_off_loop(response) -> bool:
    """Whether our handler serialised the reply itself: its JSON keeps non-ASCII text as
    UTF-8, jupyter_server's json.dumps escapes it (the test data holds an "é")."""
    return "é".encode() in response.body


def big_notebook(
    size: int, line: str = "output line %d: é and some more text to fill the line"
) -> str:
    """A notebook's JSON of about `size` bytes: code cells with many-line text outputs."""
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# Große Ausgabe"))
    per_cell = 200
    n = 0
    while n * len(line) < size:
        lines = [(line % (n + i)) + "\n" for i in range(per_cell)]
        cell = new_code_cell(
            f"for i in range({per_cell}): print(i)", execution_count=n // per_cell + 1
        )
        cell.outputs.append(new_output("stream", name="stdout", text=lines))
        nb.cells.append(cell)
        n += per_cell
    return json.dumps(nb)


def put_many(raw, paths: list[str], body: bytes = b"x") -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: raw.put(p, body), paths))


# --------------------------------------------------------------------------- which servers
@pytest.mark.filterwarnings(
    "ignore:The synchronous ContentsManager classes are deprecated"
)
@pytest.mark.parametrize(
    "server_kind", ["async", "sync", "file", "async_file", "async_disabled"]
)
def test_handler_swapped_for_our_managers_only(jp_serverapp, server_kind, caplog):
    """Our async manager: the off-loop handler; our sync manager: the handler that keeps a
    missing bucket's message; any other manager: jupyter_server's own."""
    package = jp_serverapp.extension_manager.extensions.get("s3contents_rs")
    if server_kind == "async_disabled":
        assert package is None or not package.enabled
    else:
        assert package is not None and package.enabled
        assert "s3contents_rs" in jp_serverapp.extension_manager.extension_points
    swapped = server_kind == "async"
    expected = {"async": OffLoopContentsHandler, "sync": StoreContentsHandler}.get(
        server_kind, ContentsHandler
    )
    assert [rule.target for rule in contents_rules(jp_serverapp)] == [expected]
    if server_kind == "async_disabled":
        return

    # Loading it again (the server's log records of its start are not captured): one info
    # line when it swaps, nothing else.
    for rule in contents_rules(jp_serverapp):
        _route(rule, ContentsHandler)
    with caplog.at_level(logging.DEBUG):
        load(jp_serverapp)
    assert [rule.target for rule in contents_rules(jp_serverapp)] == [expected]
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    if swapped:
        assert [r.levelno for r in lines] == [logging.INFO] and EXTENSION_LOG in lines[
            0
        ].getMessage()
    else:
        assert lines == []


def test_unexpected_routing_is_left_alone(jp_serverapp, caplog):
    """Another handler in ContentsHandler's place (another extension's, a later
    jupyter_server's): a warning, and the routing stays as it is."""

    class SomeoneElsesHandler(ContentsHandler):
        pass

    rules = contents_rules(jp_serverapp)
    for rule in rules:
        _route(rule, SomeoneElsesHandler)
    with caplog.at_level(logging.WARNING):
        load(jp_serverapp)
    assert [rule.target for rule in rules] == [SomeoneElsesHandler]
    assert any(
        r.levelno == logging.WARNING and "not where expected" in r.getMessage()
        for r in caplog.records
    )


def test_installed_and_enabled_in_the_environment():
    """`pip install` (wheel or editable) puts the config.d file that enables the extension
    into the environment, and `jupyter server extension list` finds it enabled and OK."""
    config = Path(
        sys.prefix, "etc", "jupyter", "jupyter_server_config.d", "s3contents_rs.json"
    )
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"s3contents_rs": True}}
    }
    jupyter = Path(sys.executable).parent / "jupyter"
    out = subprocess.run(
        [str(jupyter), "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)  # its colours
    assert re.search(r"^\s*s3contents_rs enabled\s*$", text, re.M), text
    assert re.search(r"^\s*s3contents_rs \S+ OK\s*$", text, re.M), text


# --------------------------------------------------------------------------- same replies
def test_large_notebook_same_reply_as_jupyter_server(fetch, jp_serverapp, raw):
    text = big_notebook(3 * 1024 * 1024)
    raw.put("big/nb.ipynb", text.encode())
    small = nbformat.v4.new_notebook(cells=[new_code_cell("print('é')")])
    raw.put("big/small.ipynb", nbformat.writes(small).encode())

    for params in (
        {},
        {"type": "notebook"},
        {"hash": "1"},
        {"type": "notebook", "format": "text"},
    ):
        ours, theirs = get_both(
            fetch, jp_serverapp, "api", "contents", "big/nb.ipynb", params=params
        )
        model = assert_same_reply(ours, theirs)
        assert served_off_loop(ours) and not served_off_loop(theirs), params
        assert model["type"] == "notebook" and model["size"] >= LARGE_REPLY_BYTES
        expected = json.loads(text)["cells"]
        assert [c["source"] for c in model["content"]["cells"]] == [
            c["source"] for c in expected
        ]
        assert ours.headers["Last-Modified"] == theirs.headers["Last-Modified"]
        assert ours.headers["Etag"] == '"%s"' % hashlib.sha1(ours.body).hexdigest()

    # The Etag computed in the worker thread still gives 304 Not Modified.
    etag = ours.headers["Etag"]
    r = fetch(
        "api",
        "contents",
        "big/nb.ipynb",
        headers={"If-None-Match": etag},
        raise_error=False,
    )
    assert r.code == 304 and r.body == b""

    # Without content, and a small notebook: jupyter_server's own serialisation.
    for path, params in (("big/nb.ipynb", {"content": "0"}), ("big/small.ipynb", {})):
        ours, theirs = get_both(
            fetch, jp_serverapp, "api", "contents", path, params=params
        )
        assert_same_reply(ours, theirs)
        assert ours.body == theirs.body
        assert not served_off_loop(ours)


def test_large_file_same_reply_as_jupyter_server(fetch, jp_serverapp, raw):
    data = "".join(f"ligne é {i}\n" for i in range(120_000)).encode()
    assert len(data) >= LARGE_REPLY_BYTES
    raw.put("data/big.txt", data)

    params = {"type": "file", "format": "text"}
    ours, theirs = get_both(
        fetch, jp_serverapp, "api", "contents", "data/big.txt", params=params
    )
    assert assert_same_reply(ours, theirs)["content"] == data.decode()
    assert served_off_loop(ours) and not served_off_loop(theirs)

    # base64 is plain ASCII: the very same bytes either way.
    params = {"type": "file", "format": "base64"}
    ours, theirs = get_both(
        fetch, jp_serverapp, "api", "contents", "data/big.txt", params=params
    )
    assert base64.b64decode(assert_same_reply(ours, theirs)["content"]) == data
    assert ours.body == theirs.body and ours.headers["Etag"] == theirs.headers["Etag"]


def test_large_listing_same_reply_as_jupyter_server(fetch, jp_serverapp, raw):
    names = [f"f{i:04d}.txt" for i in range(519)] + ["café.txt"]
    put_many(raw, [f"many/{n}" for n in names])
    raw.put("few/café.txt", b"x")

    ours, theirs = get_both(fetch, jp_serverapp, "api", "contents", "many")
    model = assert_same_reply(ours, theirs)
    assert served_off_loop(ours) and not served_off_loop(theirs)
    assert sorted(m["name"] for m in model["content"]) == sorted(names)
    assert ours.headers["Etag"] == '"%s"' % hashlib.sha1(ours.body).hexdigest()

    ours, theirs = get_both(fetch, jp_serverapp, "api", "contents", "few")
    assert_same_reply(ours, theirs)
    assert ours.body == theirs.body


def test_error_replies_unchanged(fetch, jp_serverapp, raw):
    raw.put("big/nb.ipynb", big_notebook(LARGE_REPLY_BYTES + 1024).encode())
    raw.put(".hidden/secret.txt", b"s")
    cases = [
        (("api", "contents", "nowhere.ipynb"), {}, 404),
        (("api", "contents", "big", "missing.ipynb"), {}, 404),
        (("api", "contents", ".hidden", "secret.txt"), {}, 404),
        (("api", "contents", "big/nb.ipynb"), {"format": "xml"}, 400),
        (("api", "contents", "big/nb.ipynb"), {"content": "2"}, 400),
        (("api", "contents", "big/nb.ipynb"), {"hash": "yes"}, 400),
        (("api", "contents", "big/nb.ipynb"), {"type": "directory"}, 400),
    ]
    for parts, params, status in cases:
        ours, theirs = get_both(fetch, jp_serverapp, *parts, params=params)
        assert (ours.code, theirs.code) == (status, status), (parts, params)
        assert headers_of(ours) == headers_of(theirs)
        if status == 404:  # jupyter_server's plain-text message
            assert ours.body == theirs.body, (parts, params)
        else:  # a JSON error (its traceback shows the handler)
            a, b = json.loads(ours.body), json.loads(theirs.body)
            assert (a["message"], a.get("reason")) == (b["message"], b.get("reason")), (
                parts,
                params,
            )


def test_writes_still_answer(fetch, jp_serverapp):
    """The other verbs stay jupyter_server's (a save of a large notebook answers without
    content, a copy, a rename, a delete)."""
    nb = json.loads(big_notebook(LARGE_REPLY_BYTES + 1024))
    r = fetch(
        "api",
        "contents",
        "w/nb.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "content": nb}),
    )
    assert r.code == 201 and json.loads(r.body)["content"] is None
    r = fetch(
        "api",
        "contents",
        "w",
        method="POST",
        body=json.dumps({"copy_from": "w/nb.ipynb"}),
    )
    assert r.code == 201
    copied = json.loads(r.body)["path"]
    r = fetch(
        "api",
        "contents",
        copied,
        method="PATCH",
        body=json.dumps({"path": "w/moved.ipynb"}),
    )
    assert r.code == 200
    assert fetch("api", "contents", "w/moved.ipynb", method="DELETE").code == 204
    model = json.loads(fetch("api", "contents", "w/nb.ipynb").body)
    assert [c["source"] for c in model["content"]["cells"]] == [
        c["source"] for c in nb["cells"]
    ]


def test_a_model_someone_else_holds_is_left_intact():
    """After serialising, the handler frees a large model a slice at a time (in the worker
    thread), but only when nothing else holds it: a manager may keep its models."""
    nb = json.loads(big_notebook(LARGE_REPLY_BYTES))
    model = {"type": "notebook", "size": LARGE_REPLY_BYTES, "content": nb}
    cells = len(nb["cells"])
    body, etag = _serialise([model])
    assert json.loads(body) == model and len(model["content"]["cells"]) == cells
    assert etag == '"%s"' % hashlib.sha1(body).hexdigest()
    entries = [{"name": str(i)} for i in range(600)]
    _serialise([{"type": "directory", "content": entries}])
    assert len(entries) == 600


# --------------------------------------------------------------------------- the event loop
@pytest.mark.timeout(300)
def test_event_loop_answers_while_a_large_reply_is_serialised(
    jp_serverapp,
    http_server_client,
    jp_asyncio_loop,
    jp_http_port,
    jp_base_url,
    jp_auth_header,
    raw,
    monkeypatch,
):
    """A large GET /api/contents reply is serialised in a worker thread, and the server's
    event loop is free while it is: from inside the serialisation (instrumented), a request
    to /api/status is answered before the serialisation goes on. If the serialisation held
    the loop (as jupyter_server's handler does with json.dumps), that request could not be
    answered until it finished, and the instrumented step would time out.

    Speed is not asserted here: benches/stall.py measures /api/status latency under load."""
    import s3contents_rs.server_extension as extension

    text = big_notebook(8 * 1024 * 1024)
    raw.put("huge.ipynb", text.encode())
    expected_cells = len(json.loads(text)["cells"])
    del text

    seen: list[dict] = []
    real_serialise = extension._serialise
    loop_thread = (
        threading.get_ident()
    )  # pytest-jupyter runs the server's loop in this thread

    def instrumented(slot: list) -> tuple[bytes, str]:
        conn = http.client.HTTPConnection("127.0.0.1", jp_http_port, timeout=60)
        try:
            conn.request("GET", f"{jp_base_url}api/status", headers=jp_auth_header)
            status = conn.getresponse()
            status.read()
            seen.append({"thread": threading.get_ident(), "status": status.status})
        except OSError as e:  # a held loop shows up as a timeout here
            seen.append({"thread": threading.get_ident(), "status": repr(e)})
        finally:
            conn.close()
        return real_serialise(slot)

    monkeypatch.setattr(extension, "_serialise", instrumented)

    def big_get() -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", jp_http_port, timeout=240)
        conn.request(
            "GET", f"{jp_base_url}api/contents/huge.ipynb", headers=jp_auth_header
        )
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body

    async def fetch_from_a_thread():
        # The client runs in a thread of its own: the loop serves, it does not wait.
        return await asyncio.to_thread(big_get)

    status, body = jp_asyncio_loop.run_until_complete(fetch_from_a_thread())
    assert status == 200, status
    assert len(seen) == 1, (
        seen
    )  # the large reply went through the off-loop serialiser once
    assert seen[0]["thread"] != loop_thread, (
        "the reply was serialised on the event loop's thread"
    )
    assert seen[0]["status"] == 200, (
        f"/api/status was not answered while serialising: {seen[0]['status']}"
    )
    assert "é".encode() in body  # our handler's UTF-8 reply
    assert len(json.loads(body)["content"]["cells"]) == expected_cells
