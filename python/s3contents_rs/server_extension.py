"""Jupyter server extension: large ``GET /api/contents`` replies serialised off the event loop.

With the async managers, reading and parsing a large notebook already happens off the event
loop. What is left on it is jupyter_server's ``ContentsHandler._finish_model``:
``json.dumps`` of the whole model (0.25–0.35 s for a 50 MB notebook), during which the
server answers nobody. When the server's contents manager is one of our async managers, this
extension swaps ``ContentsHandler`` in the server's routing for a subclass that serialises a
large model with the core's ``dumps_yielding`` (``json.dumps`` with ``ensure_ascii=False``; it
lets go of the GIL every millisecond or so) in a worker thread, along with the SHA-1 of the body
that tornado sends as its Etag, then sends those bytes with the headers jupyter_server sets.
Small replies, the other verbs and every other contents manager keep jupyter_server's handler
as it is. With either flavour of our managers, a missing bucket keeps its own message in
GET's 404 (``StoreContentsHandler``), which jupyter_server would reword as a missing file.

It also answers ``GET /api/s3contents/status`` (s3contents_rs/store_status.py), which the
package's JupyterLab extension asks.

Installing the package enables the extension (``etc/jupyter/jupyter_server_config.d/
s3contents_rs.json``); ``jupyter server extension disable s3contents_rs`` turns it off.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from typing import Any

from jupyter_server.services.contents import handlers as _contents_handlers
from jupyter_server.services.contents.handlers import ContentsHandler
from tornado.iostream import StreamClosedError

from ._base import StoreContentsMixin
from ._base_async import _OFF_LOOP_ENTRIES
from ._core import dumps_yielding
from .async_contents import AsyncObjectStoreContentsManager
from .exceptions import BucketNotFoundError
from .metrics import register_metrics

# A reply with content of this many bytes or more (the model's "size"), or a listing of
# _OFF_LOOP_ENTRIES entries or more, is serialised in a worker thread: below that, json.dumps
# on the loop takes a few milliseconds at most.
LARGE_REPLY_BYTES = 1024 * 1024

# jupyter_server's own `default` for json.dumps (datetimes), so the JSON is the same.
# (jupyter_server imports it from jupyter_client, by a name that depends on the version, and
# does not mark it as re-exported.)
_json_default = _contents_handlers.json_default  # type: ignore[attr-defined]


def is_large_model(model: dict[str, Any]) -> bool:
    """Whether serialising `model` is worth a worker thread."""
    content = model.get("content")
    if content is None:
        return False
    if model.get("type") == "directory":
        return len(content) >= _OFF_LOOP_ENTRIES
    size = model.get("size")
    return size is not None and size >= LARGE_REPLY_BYTES


# A large reply goes to the socket this many bytes at a time.
_WRITE_SLICE = 1024 * 1024

# A large notebook's model is freed this many cells at a time, in the worker thread.
_FREE_SLICE = 32


def _serialise(slot: list[dict[str, Any]]) -> tuple[bytes, str]:
    """The reply's body, and its Etag as tornado computes it (a SHA-1 of the body: 35 ms
    for 30 MB, which tornado's `finish` would spend on the loop). `slot` holds the model;
    once serialised, the model is freed here too, a slice at a time."""
    model = slot.pop()
    body = dumps_yielding(model, _json_default)
    etag = f'"{hashlib.sha1(body).hexdigest()}"'
    if sys.getrefcount(model) == 2:  # `model` and getrefcount's argument: no one else has it
        _free_in_slices(model)
    return body, etag


def _free_in_slices(model: dict[str, Any]) -> None:
    """Empty a notebook's list of cells a slice at a time. Freeing a 50 MB notebook's
    million objects in one go holds the GIL for 20-30 ms; between slices the interpreter
    lets the event loop's thread run. (A listing's objects are few enough to go at once.)"""
    content = model.get("content")
    cells = content.get("cells") if isinstance(content, dict) else None
    # Each held by its container, a variable here and getrefcount's argument: by no one else.
    if not isinstance(cells, list) or sys.getrefcount(content) != 3 or sys.getrefcount(cells) != 3:
        return
    while cells:
        del cells[-_FREE_SLICE:]


class StoreContentsHandler(ContentsHandler):
    """jupyter_server's ContentsHandler, except that GET's 404 for a missing bucket says so."""

    async def _finish_error(self, code: int, message: str) -> None:
        # jupyter_server's GET answers every 404 with "file or directory ... does not
        # exist"; a missing bucket is a configuration mistake and keeps its own words.
        failure = sys.exc_info()[1]
        cause = getattr(failure, "__cause__", None)
        if isinstance(cause, BucketNotFoundError):
            self.set_status(code)
            self.set_header("Content-Type", "application/json")
            await self.finish(json.dumps({"message": str(cause), "reason": None}))
            return
        await super()._finish_error(code, message)  # type: ignore[no-untyped-call]  # jupyter_server's, unannotated


class OffLoopContentsHandler(StoreContentsHandler):
    """StoreContentsHandler, except that a large model returned by GET is serialised in a
    worker thread instead of on the event loop."""

    # Set by `get` while jupyter_server's `get` runs: `_finish_model` then keeps a large
    # model here (a one-item list) instead of serialising it.
    _large_model_slot: list[dict[str, Any]] | None = None
    # The Etag of the body serialised in the worker thread.
    _etag: str | None = None

    async def get(self, path: str = "") -> None:
        slot: list[dict[str, Any]] = []
        self._large_model_slot = slot
        try:
            # (tornado types what `web.authenticated` wraps as maybe not awaitable; it is a coroutine.)
            await super().get(path)  # type: ignore[misc]
        finally:
            self._large_model_slot = None
        if not slot:
            return  # answered by jupyter_server (small model, error) or nothing to send
        body, self._etag = await asyncio.to_thread(_serialise, slot)
        await self._send_in_slices(body)

    async def _send_in_slices(self, body: bytes) -> None:
        """`self.finish(body)`, a slice at a time with the loop serving others in between:
        tornado would copy the whole body behind the headers and then write it to the
        socket in one go (tens of ms for 50 MB, on the loop)."""
        if len(body) <= _WRITE_SLICE:
            self.finish(body)
            return
        # What tornado's `finish` does before anything is sent: the Etag, and a 304 for a
        # matching If-None-Match.
        self.set_etag_header()
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.set_header("Content-Length", str(len(body)))
        view = memoryview(body)
        try:
            for start in range(0, len(body), _WRITE_SLICE):
                self.write(bytes(view[start : start + _WRITE_SLICE]))
                await self.flush()
        except StreamClosedError:  # the client went away: nothing left to answer
            return
        self.finish()

    def _finish_model(self, model: dict[str, Any], location: bool = True) -> None:
        slot = self._large_model_slot
        if slot is None or location or not is_large_model(model):
            super()._finish_model(model, location=location)  # type: ignore[no-untyped-call]  # jupyter_server's, unannotated
            return
        # The headers of ContentsHandler._finish_model (location=False); the body follows
        # once serialised, from `get`.
        self.set_header("Last-Modified", model["last_modified"])
        self.set_header("Content-Type", "application/json")
        slot.append(model)

    def compute_etag(self) -> str | None:
        # tornado's `finish` asks for it (and answers 304 to a matching If-None-Match).
        return self._etag or super().compute_etag()


def _contents_rules(web_app: Any) -> list[Any] | None:
    """The routing rules of jupyter_server's ContentsHandler (tornado `Rule`s, or `URLSpec`s
    with their `handler_class`), or None when the routing is not laid out as expected."""
    router = getattr(web_app, "wildcard_router", None)
    rules = getattr(router, "rules", None)
    if not isinstance(rules, list):
        return None
    found = [rule for rule in rules if getattr(rule, "target", None) is ContentsHandler]
    if not found or any(getattr(rule, "handler_class", ContentsHandler) is not ContentsHandler for rule in found):
        return None
    return found


def _route(rule: Any, handler: type) -> None:
    rule.target = handler
    if hasattr(rule, "handler_class"):  # a URLSpec
        rule.handler_class = handler


def load(serverapp: Any) -> None:
    from .store_status import add_status_handler

    log = serverapp.log
    add_status_handler(serverapp)  # for any contents manager (ours may be in a hybrid one)
    register_metrics(log)
    manager = serverapp.contents_manager
    if not isinstance(manager, StoreContentsMixin):
        log.debug("s3contents_rs extension: %s is not an s3contents_rs manager; nothing to do", type(manager).__name__)
        return
    off_loop = isinstance(manager, AsyncObjectStoreContentsManager)
    try:
        rules = _contents_rules(serverapp.web_app)
    except Exception:  # noqa: BLE001 (never break the server)
        rules = None
    if rules is None:
        log.warning(
            "s3contents_rs extension: jupyter_server's ContentsHandler is not where expected in "
            "the server's routing; large /api/contents replies stay serialised on the event loop"
        )
        return
    for rule in rules:
        _route(rule, OffLoopContentsHandler if off_loop else StoreContentsHandler)
    if off_loop:
        log.info(
            "s3contents_rs extension: large /api/contents replies (content of %d MiB or more, "
            "listings of %d entries or more) are serialised off the event loop",
            LARGE_REPLY_BYTES // (1024 * 1024),
            _OFF_LOOP_ENTRIES,
        )
