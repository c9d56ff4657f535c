"""``/files/<path>``: downloads streamed out of the store in bounded pieces.

jupyter_server's own FilesHandler asks the contents manager for the whole file as a
model (base64 for binaries) and writes it in one go, so a 2 GB download needs several
GB of server memory. This handler keeps FilesHandler's rules (authorization, hidden
files, ``?download=1``, Content-Type choice, sandboxing CSP) and streams the object
instead, with Content-Length, Last-Modified, ETag (304 on If-None-Match), HEAD and
single byte ranges (206/416).

With ``files_redirect`` on, a GET that passes the same checks is answered with a redirect
to a presigned URL of the object instead (the store then serves the bytes, ranges and
ETags itself); stores that cannot sign stream as above, and say so once in the log.
"""

from __future__ import annotations

import mimetypes
from typing import Any, Optional

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web
from tornado.escape import url_escape
from tornado.iostream import StreamClosedError

from ._core import ContentsStore, Entry
from .exceptions import RangeNotSatisfiableError, http_error, http_errors


class StoreFilesHandler(JupyterHandler):
    """Serve files of an object-store contents manager without loading them whole."""

    auth_resource = "contents"

    @property
    def content_security_policy(self) -> str:
        # As FilesHandler: served HTML/SVG must not script the Jupyter origin.
        return super().content_security_policy + "; sandbox allow-scripts"

    @web.authenticated
    @authorized
    async def head(self, path: str) -> None:
        await self._serve(path, include_body=False)

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._serve(path, include_body=True)

    @property
    def _store(self) -> ContentsStore:
        # jupyter_server types `contents_manager` as the base ContentsManager; here it is
        # always one of ours (server_extension.py routes /files/ to this handler for them).
        store: ContentsStore = self.contents_manager.store  # type: ignore[attr-defined]
        return store

    async def _serve(self, path: str, include_body: bool) -> None:
        # /files/ requests must originate from the same site (as in FilesHandler).
        self.check_xsrf_cookie()
        cm = self.contents_manager
        path = path.strip("/")
        if not cm.allow_hidden and cm._hidden(path):  # type: ignore[attr-defined]  # ours, as above
            self.log.info("Refusing to serve hidden file, via 404 Error")
            raise web.HTTPError(404)
        if include_body and getattr(cm, "files_redirect", False) and await self._redirect(path):
            return
        if not include_body:
            entry = await self._stat_file(path)
            self._set_headers(path, entry, None, None)
            self.set_header("Content-Length", entry.size or 0)
            return
        try:
            with http_errors():
                download = await self._store.open_download_async(
                    path, self.request.headers.get("Range"), self.request.headers.get("If-None-Match")
                )
        except web.HTTPError as e:
            if not isinstance(e.__cause__, RangeNotSatisfiableError):
                raise
            # Answered here: raising would drop the Content-Range header a 416 needs.
            entry = await self._stat_file(path)
            self.set_status(416)
            self.set_header("Content-Range", f"bytes */{entry.size}")
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(str(e.__cause__))
            return
        if download.not_modified:
            self.set_status(304)
            if download.entry.etag:
                self.set_header("Etag", _quoted(download.entry.etag))
            return
        first = await download.read_async()
        self._set_headers(path, download.entry, download.range, first)
        size = download.entry.size or 0
        if download.range is not None:
            start, end = download.range
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.set_header("Content-Length", end - start)
        else:
            self.set_header("Content-Length", size)
        await self._send(first, download)

    async def _redirect(self, path: str) -> bool:
        """Redirect to a presigned URL of the file; False where the store cannot give one.
        (HEAD is not redirected: a URL signed for GET does not answer HEAD on S3.)"""
        cm: Any = self.contents_manager  # one of ours (typed as the base ContentsManager)
        name = path.rsplit("/", 1)[-1]
        # As set_attachment_header: the store answers with the same header.
        disposition = (
            f"attachment; filename*=utf-8''{url_escape(name)}" if self.get_argument("download", None) else None
        )
        with http_errors():
            url, reason = await self._store.download_link_async(
                path, float(cm.files_redirect_expiry), disposition, _named_content_type(name)
            )
        if url is None:
            _log_once(cm, reason or "the store gave no presigned URL")
            return False
        self.set_header("Cache-Control", "no-store")  # the URL expires; never reuse the redirect
        self.redirect(url, status=307)
        return True

    async def _stat_file(self, path: str) -> Entry:
        with http_errors():
            entry = await self._store.stat_async(path)
        if entry is None:
            raise http_error(404, f"file or directory does not exist: {path!r}")
        if entry.kind != "file":
            raise http_error(400, f"{path} is a directory, not a file", reason="bad type")
        return entry

    def _set_headers(self, path: str, entry: Entry, served: Optional[tuple[int, int]], first: Optional[bytes]) -> None:
        name = path.rsplit("/", 1)[-1]
        if self.get_argument("download", None):
            self.set_attachment_header(name)
        self.set_header("Content-Type", _content_type(name, first))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Last-Modified", httputil.format_timestamp(entry.last_modified))
        if entry.etag:
            self.set_header("Etag", _quoted(entry.etag))

    async def _send(self, first: bytes, download: Any) -> None:
        """Write piece by piece, waiting for each to reach the socket (bounded memory)."""
        piece = first
        try:
            while piece:
                self.write(piece)
                await self.flush()
                piece = await download.read_async()
        except StreamClosedError:
            self.log.debug("Client went away during a download of %s", download.entry.path)


def _log_once(cm: Any, reason: str) -> None:
    """Say once per manager (and reason) that /files streams although files_redirect is on."""
    logged = cm.__dict__.setdefault("_files_redirect_logged", set())
    if reason not in logged:
        logged.add(reason)
        cm.log.info("files_redirect: %s: %s; /files downloads stream through the server", cm.store.place, reason)


def _content_type(name: str, first: Optional[bytes]) -> str:
    """FilesHandler's choice, with "is it text" judged on the first piece."""
    named = _named_content_type(name)
    if named is not None:
        return named
    return "text/plain; charset=UTF-8" if _looks_like_text(first) else "application/octet-stream"


def _named_content_type(name: str) -> Optional[str]:
    """FilesHandler's choice where the name decides it; None where the bytes would."""
    if name.lower().endswith(".ipynb"):
        return "application/x-ipynb+json"
    mime, encoding = mimetypes.guess_type(name)
    if mime == "text/plain":
        return "text/plain; charset=UTF-8"
    if encoding == "gzip":  # RFC 6713
        return "application/gzip"
    if encoding is not None:
        return "application/octet-stream"
    return mime


def _looks_like_text(first: Optional[bytes]) -> bool:
    if first is None:
        return False
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the piece is still text.
        return e.start >= len(first) - 3 and e.reason == "unexpected end of data"
    return True


def _quoted(etag: str) -> str:
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'
