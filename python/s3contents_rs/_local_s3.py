"""The lab's local S3 server: moto's S3 server, optionally keeping its buckets in a folder.

Run as a script with the Python of the environment it belongs to (``python _local_s3.py``,
not ``-m``: the server needs moto only, not the package's extension)::

    python _local_s3.py [--host 127.0.0.1] [--port 0] [--data-dir DIR]

It prints one line, ``listening on http://HOST:PORT``, once the socket is bound, then serves
until it is stopped. With ``--data-dir`` every bucket and object is also kept in DIR:

- on start, the buckets and objects found there are put back into moto, before the first
  request is answered (content, content type and user metadata, last-modified, ETag);
- after every request that can change something (PUT, POST, DELETE), before its answer goes
  out, the objects that changed are written to DIR and the ones that went are removed from it.
  A write the client has seen succeed is on disk, so a kill or a crash loses nothing that was
  acknowledged.

Not kept: object versions (only the latest), ACLs, tags, bucket settings, and multipart uploads
not yet completed. moto's own request recorder (MOTO_ENABLE_RECORDING) is not used: it replays
every request ever made, which grows with every save and cannot replay multipart uploads (their
upload ids are new on each replay).

Layout of DIR: ``s3/<bucket>/index.json`` (key -> blob name and attributes) and
``s3/<bucket>/blobs/<sha256 of the content>``; both written to a temporary name and renamed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

MUTATING = {"PUT", "POST", "DELETE"}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Store:
    """The folder that mirrors moto's S3 backend."""

    def __init__(self, root: Path, backend: Any) -> None:
        self.root = root / "s3"
        self.root.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        # Held while a changing request runs and is written out: one at a time, so what is
        # written is the state that request left (reads go on meanwhile).
        self.lock = threading.RLock()
        # bucket -> key -> the FakeKey object last written to disk (moto makes a new
        # object for every write, so identity says whether a key changed)
        self.seen: dict[str, dict[str, Any]] = {}
        self.index: dict[str, dict[str, Any]] = {}

    def restore(self) -> int:
        count = 0
        for bdir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            index_file = bdir / "index.json"
            if not index_file.exists():
                continue
            index = json.loads(index_file.read_text())
            name = bdir.name
            self.backend.create_bucket(name, index.get("region", "us-east-1"))
            seen = self.seen[name] = {}
            for key_name, entry in index["objects"].items():
                value = (bdir / "blobs" / entry["blob"]).read_bytes()
                key = self.backend.put_object(name, key_name, value, disable_notification=True)
                key.set_metadata(dict(entry.get("metadata", {})))
                if entry.get("last_modified"):
                    key.last_modified = datetime.datetime.fromisoformat(entry["last_modified"])
                if entry.get("etag"):
                    key._etag = entry["etag"]
                seen[key_name] = key
                count += 1
            self.index[name] = index
        return count

    def sync(self) -> None:
        with self.lock:
            buckets = dict(self.backend.buckets)
            for name in list(self.seen):
                if name not in buckets:
                    shutil.rmtree(self.root / name, ignore_errors=True)
                    del self.seen[name], self.index[name]
            for name, bucket in buckets.items():
                self._sync_bucket(name, bucket)

    def _sync_bucket(self, name: str, bucket: Any) -> None:
        from moto.s3.models import FakeKey

        bdir = self.root / name
        blobs = bdir / "blobs"
        seen = self.seen.setdefault(name, {})
        index = self.index.setdefault(name, {"region": bucket.region_name, "objects": {}})
        current = {k: v for k, v in bucket.keys.items() if isinstance(v, FakeKey)}
        changed = False
        for key_name in [k for k in seen if k not in current]:
            del seen[key_name], index["objects"][key_name]
            changed = True
        for key_name, key in current.items():
            if seen.get(key_name) is key:
                continue
            value = key.value
            blob = hashlib.sha256(value).hexdigest()
            blobs.mkdir(parents=True, exist_ok=True)
            if not (blobs / blob).exists():
                _write_atomic(blobs / blob, value)
            index["objects"][key_name] = {
                "blob": blob,
                "metadata": dict(key.metadata),
                "last_modified": key.last_modified.isoformat(),
                "etag": key.etag.strip('"'),
            }
            seen[key_name] = key
            changed = True
        if changed or not (bdir / "index.json").exists():
            bdir.mkdir(parents=True, exist_ok=True)
            _write_atomic(
                bdir / "index.json",
                json.dumps(index, indent=1, sort_keys=True).encode(),
            )
            if blobs.exists():
                used = {e["blob"] for e in index["objects"].values()}
                for f in blobs.iterdir():
                    if f.name not in used:
                        f.unlink()


def make_app(store: Store | None) -> Any:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )

    app = DomainDispatcherApplication(create_backend_app)
    if store is None:
        return app

    def persisting(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") not in MUTATING:
            return app(environ, start_response)
        with store.lock:
            body = list(app(environ, start_response))  # the request has been carried out
            store.sync()  # ... and is on disk before its answer goes out
        return body

    return persisting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the default)")
    parser.add_argument("--data-dir", type=Path, help="keep the buckets in this folder across restarts")
    args = parser.parse_args(argv)

    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]  # moto's documented import, re-exported unmarked
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.s3.models import s3_backends
    from werkzeug.serving import make_server

    # No line per request on stderr (it is the lab's terminal); errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    store = None
    if args.data_dir is not None:
        store = Store(args.data_dir.resolve(), s3_backends[DEFAULT_ACCOUNT_ID]["aws"])
        restored = store.restore()
        print(f"restored {restored} object(s) from {args.data_dir}", flush=True)
    server = make_server(
        args.host,
        args.port,
        make_app(store),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    os.environ.setdefault("MOTO_PORT", str(server.port))
    print(f"listening on http://{args.host}:{server.port}", flush=True)
    # Nothing more on stdout: whoever started us may stop reading it (werkzeug's request
    # log goes to stderr).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
