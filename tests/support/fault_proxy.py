"""A fault-injecting HTTP proxy for the S3 tests.

It sits on 127.0.0.1 between a contents manager (``endpoint_url=proxy.url``) and the real
S3 server, forwards every request byte for byte (signatures stay valid: nothing the
client signed is changed), numbers the requests, and applies the faults a test asked for:

* ``delay``: wait, then forward;
* ``call``: run a callback (e.g. another client's write), then forward;
* ``drop``: close the connection without forwarding (the store never sees the request);
* ``reset``: the same, with a TCP reset;
* ``status``: answer an S3 error (``500 InternalError``, ``503 SlowDown``,
  ``403 AccessDenied``...) without forwarding;
* ``drop_response`` / ``reset_response``: forward (the store DOES execute the request),
  then lose the response: the client cannot know whether it happened.

Rules pick requests by their index (0-based, counted since the last ``reset()``; or
every request from ``from_index`` on, an outage), by
method, and by a regular expression on the request target (path and query). Each rule
fires ``times`` times (``None``: for ever).

The proxy does not rewrite the Host header (that would break the signature), so against
an external endpoint it works where the server accepts requests for any host name
(MinIO, Ceph, moto), not with AWS itself.

Used by ``tests/test_faults.py`` and the other reliability tests, through the
``fault_proxy`` fixture in ``tests/reliability_fixtures.py``.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import socketserver
import ssl
import struct
import threading
import time
from contextlib import nullcontext
from typing import Callable, Optional
from urllib.parse import urlparse

ERROR_STATUS = {
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
    "AccessDenied": 403,
}
_REASONS = {403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclasses.dataclass
class Fault:
    action: str  # delay | call | drop | reset | status | drop_response | reset_response
    code: str = "InternalError"  # S3 error code for `status`
    seconds: float = 0.0  # for `delay`
    callback: Optional[Callable[[], None]] = None  # for `call`

    @classmethod
    def error(cls, code: str = "InternalError") -> Fault:
        return cls("status", code=code)


@dataclasses.dataclass
class Rule:
    fault: Fault
    index: Optional[int] = None
    method: Optional[str] = None
    target: Optional[re.Pattern] = None
    times: Optional[int] = 1
    fired: int = 0
    from_index: Optional[int] = None  # every request from this one on (an outage)

    def matches(self, index: int, method: str, target: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.index is not None and index != self.index:
            return False
        if self.from_index is not None and index < self.from_index:
            return False
        if self.method is not None and method != self.method:
            return False
        if self.target is not None and not self.target.search(target):
            return False
        return True


@dataclasses.dataclass
class Record:
    index: int
    method: str
    target: str
    fault: Optional[str]
    status: Optional[int] = None
    copy_source: bool = False  # an x-amz-copy-source header (copies, part copies)
    sent: int = 0  # request body bytes, as they travel
    received: int = 0  # response body bytes, as they travel


class _Closed(Exception):
    pass


def _read_head(reader) -> list[bytes]:
    """Start line and header lines (raw, with CRLF), or [] on a clean EOF."""
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            if lines:
                raise _Closed("connection closed inside a message head")
            return []
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return lines


def _header(lines: list[bytes], name: bytes) -> Optional[bytes]:
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _read_body(reader, lines: list[bytes], *, until_close: bool) -> bytes:
    """The raw body bytes as they travel (chunked framing kept as is)."""
    encoding = (_header(lines, b"transfer-encoding") or b"").lower()
    if b"chunked" in encoding:
        raw = bytearray()
        while True:
            size_line = reader.readline(65537)
            if not size_line:
                raise _Closed("connection closed inside a chunked body")
            raw += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = reader.readline(65537)
                    raw += trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        return bytes(raw)
            raw += reader.read(size + 2)
    length = _header(lines, b"content-length")
    if length is not None:
        data = reader.read(int(length))
        if len(data) != int(length):
            raise _Closed("connection closed inside a body")
        return data
    return reader.read() if until_close else b""


class FaultProxy:
    """Forwards to ``upstream`` (an http:// or https:// URL); see the module docstring."""

    def __init__(self, upstream: str):
        parsed = urlparse(upstream)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_tls = parsed.scheme == "https"
        self.upstream_port = parsed.port or (443 if self.upstream_tls else 80)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._next_index = 0
        self.records: list[Record] = []
        # moto checks If-None-Match / If-Match, then writes, without a lock (its
        # responses.py put_object): two concurrent create-only PUTs of one key can both
        # succeed there, never on S3. When set, conditional writes pass one at a time, as
        # atomic as S3 makes them.
        self.atomic_conditional_writes = False
        self._conditional_lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve_connection(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128  # the default 5 drops concurrent connects (1 s SYN retry)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()

    # -- configuration --------------------------------------------------------------
    def add(
        self,
        fault: Fault,
        *,
        index: Optional[int] = None,
        method: Optional[str] = None,
        target: Optional[str] = None,
        times: Optional[int] = 1,
        from_index: Optional[int] = None,
    ) -> Rule:
        rule = Rule(
            fault,
            index,
            method,
            re.compile(target) if target else None,
            times,
            from_index=from_index,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def reset(self) -> None:
        """Forget rules, records and settings; request numbering restarts at 0."""
        with self._lock:
            self._rules.clear()
            self.records = []
            self._next_index = 0
            self.atomic_conditional_writes = False

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def count(self) -> int:
        with self._lock:
            return self._next_index

    def faults_fired(self) -> list[Record]:
        with self._lock:
            return [r for r in self.records if r.fault]

    # -- the proxy ------------------------------------------------------------------
    def _decide(self, method: str, target: str) -> tuple[Record, Optional[Fault]]:
        with self._lock:
            index = self._next_index
            self._next_index += 1
            fault = None
            for rule in self._rules:
                if rule.matches(index, method, target):
                    rule.fired += 1
                    fault = rule.fault
                    break
            record = Record(index, method, target, fault.action if fault else None)
            self.records.append(record)
            return record, fault

    def _connect_upstream(self) -> socket.socket:
        sock = socket.create_connection((self.upstream_host, self.upstream_port), timeout=60)
        if self.upstream_tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.upstream_host)
        return sock

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        sock.close()

    def _serve_connection(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        upstream: Optional[socket.socket] = None
        upstream_reader = None
        try:
            while True:
                head = _read_head(reader)
                if not head:
                    return
                body = _read_body(reader, head, until_close=False)
                method, target, _ = head[0].decode("latin-1").split(" ", 2)
                record, fault = self._decide(method, target)
                record.copy_source = _header(head, b"x-amz-copy-source") is not None
                record.sent = len(body)
                if fault is not None and fault.action == "delay":
                    time.sleep(fault.seconds)
                if fault is not None and fault.action == "call" and fault.callback is not None:
                    fault.callback()
                if fault is not None and fault.action in ("drop", "reset"):
                    if fault.action == "reset":
                        self._reset(client)
                    else:
                        client.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.action == "status":
                    status = ERROR_STATUS.get(fault.code, 500)
                    record.status = status
                    payload = (
                        '<?xml version="1.0" encoding="UTF-8"?>\n'
                        f"<Error><Code>{fault.code}</Code><Message>injected by the test fault proxy</Message>"
                        "<RequestId>fault-proxy</RequestId></Error>"
                    ).encode()
                    reply = (
                        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                        "Content-Type: application/xml\r\n"
                        f"Content-Length: {0 if method == 'HEAD' else len(payload)}\r\n\r\n"
                    ).encode()
                    record.received = 0 if method == "HEAD" else len(payload)
                    client.sendall(reply if method == "HEAD" else reply + payload)
                    continue
                if upstream is None:
                    upstream = self._connect_upstream()
                    upstream_reader = upstream.makefile("rb")
                conditional = method == "PUT" and (
                    _header(head, b"if-none-match") is not None or _header(head, b"if-match") is not None
                )
                atomic = self._conditional_lock if self.atomic_conditional_writes and conditional else nullcontext()
                with atomic:
                    upstream.sendall(b"".join(head) + body)
                    response_head = _read_head(upstream_reader)
                    if not response_head:
                        raise _Closed("upstream closed the connection")
                    status = int(response_head[0].split()[1])
                    record.status = status
                    no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                    closes = (_header(response_head, b"connection") or b"").lower() == b"close" or response_head[
                        0
                    ].startswith(b"HTTP/1.0")
                    response_body = b"" if no_body else _read_body(upstream_reader, response_head, until_close=closes)
                record.received = len(response_body)
                if closes:
                    upstream.close()
                    upstream, upstream_reader = None, None
                if fault is not None and fault.action in (
                    "drop_response",
                    "reset_response",
                ):
                    if fault.action == "reset_response":
                        self._reset(client)
                    else:
                        client.shutdown(socket.SHUT_RDWR)
                    return
                client.sendall(b"".join(response_head) + response_body)
                if closes:
                    return
        except (_Closed, OSError, ValueError, IndexError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            try:
                client.close()
            except OSError:
                pass
