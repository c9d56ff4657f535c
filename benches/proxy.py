"""A small HTTP/1.1 proxy on 127.0.0.1 that counts the S3 requests passing through it.

    python benches/proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--delay-ms 0]

Prints ``PROXY <url>`` on stdout once it listens. Point a client's endpoint at that URL;
every request is forwarded unchanged (bodies streamed, never buffered whole) to the
upstream server over a kept-alive connection per client connection.

Control endpoints (not forwarded): ``GET /__proxy__/counts`` returns the counts since the
last ``POST /__proxy__/reset`` as JSON ``{"total": n, "by_kind": {"LIST": n, ...}, "log":
[...]}``. Kinds name the S3 operation: LIST, GET, HEAD, PUT, COPY, DELETE, DELETE_MULTI,
MPU_CREATE, MPU_PART, MPU_COMPLETE, MPU_ABORT, BUCKET (anything else on a bucket). The log
has one entry per request, in the order they arrived: ``{"kind", "start", "end"}`` (seconds
since the reset: the request's head read, its answer written back; ``end`` is null if it
never finished) and, for a LIST, ``"max_keys"`` (the ``max-keys`` asked, null if none).
`round_trips` turns a log into the chain of requests sent one after another.

``--delay-ms N`` holds every request N ms before forwarding it: the round trip of a remote
endpoint, on a local server (requests in flight at once wait side by side, as on S3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

CONTROL = "/__proxy__/"
COPY_BUFFER = 1 << 20


def classify(method: str, target: str, headers: dict[str, str]) -> str:
    """The S3 operation a path-style request performs."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    key = url.path.lstrip("/").partition("/")[2]
    if method == "GET":
        if not key:
            return (
                "LIST" if ("list-type" in query or "prefix" in query or "delimiter" in query or not query) else "BUCKET"
            )
        return "GET"
    if method == "HEAD":
        return "HEAD" if key else "BUCKET"
    if method == "PUT":
        if not key:
            return "BUCKET"
        if "partNumber" in query:
            return "MPU_PART"
        return "COPY" if "x-amz-copy-source" in headers else "PUT"
    if method == "POST":
        if "delete" in query:
            return "DELETE_MULTI"
        if "uploads" in query:
            return "MPU_CREATE"
        if "uploadId" in query:
            return "MPU_COMPLETE"
        return "POST"
    if method == "DELETE":
        if "uploadId" in query:
            return "MPU_ABORT"
        return "DELETE" if key else "BUCKET"
    return method


def max_keys(target: str) -> int | None:
    values = parse_qs(urlsplit(target).query).get("max-keys")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


class Counts:
    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.log: list[dict] = []
        self.t0 = time.monotonic()

    def begin(self, method: str, target: str, headers: dict[str, str]) -> dict:
        kind = classify(method, target, headers)
        self.by_kind[kind] += 1
        entry: dict = {"kind": kind, "start": time.monotonic() - self.t0, "end": None}
        if kind == "LIST":
            entry["max_keys"] = max_keys(target)
        self.log.append(entry)
        return entry

    def end(self, entry: dict) -> None:
        entry["end"] = time.monotonic() - self.t0

    def snapshot(self) -> dict:
        return {"total": sum(self.by_kind.values()), "by_kind": dict(sorted(self.by_kind.items())), "log": self.log}


# ----------------------------------------------------------------------------- chains
SERIES, PARALLEL = " → ", " ∥ "
CHAIN_STAGES = 16  # a longer chain is shown as its first and last stages


def round_trips(log: list[dict]) -> tuple[int, str]:
    """The depth of a request log (the longest run of requests each of which started after
    the previous one ended: the round trips a client waited for one after another) and its
    chain in time order, e.g. ``LIST → PUT → (HEAD ∥ COPY)``.

    Requests whose times overlap, directly or through others, form one stage, in brackets,
    with a count per kind, and its own depth where some waited for others:
    ``(COPY×200, 13 deep)``."""
    done = sorted((e for e in log if e.get("end") is not None), key=lambda e: (e["start"], e["end"]))
    if not done:
        return 0, ""
    # Whatever ended before a request started also ended before any later start, so the
    # deepest chain ended so far only grows: one sweep over the ends.
    ends = sorted(range(len(done)), key=lambda i: done[i]["end"])
    depth = [0] * len(done)
    deepest, j = 0, 0
    for i, e in enumerate(done):
        while j < len(ends) and done[ends[j]]["end"] <= e["start"]:
            deepest = max(deepest, depth[ends[j]])
            j += 1
        depth[i] = deepest + 1
    stages: list[list[int]] = []
    reach = float("-inf")  # the latest end of the current stage
    for i, e in enumerate(done):
        if e["start"] >= reach:
            stages.append([])
        stages[-1].append(i)
        reach = max(reach, e["end"])
    names = []
    for stage in stages:
        if len(stage) == 1:
            names.append(done[stage[0]]["kind"])
            continue
        kinds = Counter(done[i]["kind"] for i in stage)
        text = PARALLEL.join(k if n == 1 else f"{k}×{n}" for k, n in kinds.items())
        deep = max(depth[i] for i in stage) - min(depth[i] for i in stage) + 1
        names.append(f"({text}, {deep} deep)" if deep > 1 else f"({text})")
    if len(names) > CHAIN_STAGES:
        head, tail = CHAIN_STAGES // 2, CHAIN_STAGES // 2 - 1
        names = names[:head] + [f"… {len(names) - head - tail} more …"] + names[-tail:]
    return max(depth), SERIES.join(names)


async def read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def encode_head(first: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([first] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1")


async def relay_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str], until_close: bool
) -> None:
    """Copy one message body (Content-Length, chunked, or until EOF) from reader to writer."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            writer.write(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    line = await reader.readuntil(b"\r\n")
                    writer.write(line)
                    if line == b"\r\n":
                        break
                break
            await copy_exact(reader, writer, size + 2)
        await writer.drain()
        return
    if "content-length" in headers:
        await copy_exact(reader, writer, int(headers["content-length"]))
        return
    if until_close:
        while chunk := await reader.read(COPY_BUFFER):
            writer.write(chunk)
            await writer.drain()


async def copy_exact(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
    while n > 0:
        chunk = await reader.read(min(n, COPY_BUFFER))
        if not chunk:
            raise ConnectionError("peer closed mid-body")
        writer.write(chunk)
        n -= len(chunk)
        await writer.drain()


class Proxy:
    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.delay = delay
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.counts = Counts()

    async def control(self, method: str, target: str, writer: asyncio.StreamWriter) -> None:
        if target.startswith(CONTROL + "reset"):
            self.counts = Counts()
        body = json.dumps(self.counts.snapshot()).encode()
        writer.write(
            encode_head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            + body
        )
        await writer.drain()

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                head = await read_head(client_reader)
                if head is None:
                    return
                first, header_list = head
                method, target, _ = first.split(" ", 2)
                headers = {k.lower(): v for k, v in header_list}
                if target.startswith(CONTROL):
                    await self.control(method, target, client_writer)
                    continue
                entry = self.counts.begin(method, target, headers)
                if self.delay:
                    await asyncio.sleep(self.delay)
                if upstream is None:
                    upstream = await asyncio.open_connection(self.host, self.port)
                up_reader, up_writer = upstream
                # Answer "Expect: 100-continue" ourselves and stream the body straight on.
                if headers.get("expect", "").lower() == "100-continue":
                    header_list = [(k, v) for k, v in header_list if k.lower() != "expect"]
                    client_writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await client_writer.drain()
                up_writer.write(encode_head(first, header_list))
                await relay_body(client_reader, up_writer, headers, until_close=False)
                await up_writer.drain()
                while True:
                    response = await read_head(up_reader)
                    if response is None:
                        raise ConnectionError("upstream closed the connection")
                    status_line, response_headers = response
                    client_writer.write(encode_head(status_line, response_headers))
                    status = int(status_line.split(" ", 2)[1])
                    if status >= 200:
                        break
                lower = {k.lower(): v for k, v in response_headers}
                if method != "HEAD" and status not in (204, 304):
                    await relay_body(up_reader, client_writer, lower, until_close=True)
                await client_writer.drain()
                self.counts.end(entry)
                if lower.get("connection", "").lower() == "close" or (
                    "content-length" not in lower
                    and "chunked" not in lower.get("transfer-encoding", "")
                    and method != "HEAD"
                    and status not in (204, 304)
                ):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            if upstream is not None:
                upstream[1].close()
            client_writer.close()


async def serve(upstream: str, port: int, delay_ms: float = 0.0) -> None:
    proxy = Proxy(upstream, delay_ms / 1000)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", port, limit=1 << 16)
    bound = server.sockets[0].getsockname()[1]
    print(f"PROXY http://127.0.0.1:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="hold every request this long before forwarding it")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.upstream, args.port, args.delay_ms))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
