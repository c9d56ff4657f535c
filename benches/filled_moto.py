"""moto's own S3 server, with buckets of many keys made before it serves.

    python benches/filled_moto.py --folder BUCKET/PATH:COUNT --folders BUCKET/PREFIX:FOLDERS:FILES

moto answers a few hundred requests a second, so a million PUTs would take an hour. This
launcher makes the keys through moto's S3 backend objects (`S3Backend.put_object`, the call
moto's PUT handler makes, with the storage class a PUT without headers gives), then serves
them with the application `moto_server` runs (`DomainDispatcherApplication` on werkzeug,
through `moto.server.ThreadedMotoServer`): the keys are moto's own and go out through moto's
own S3 protocol. `scale.py` checks that they list and read exactly like keys made by PUT.

``--folder b/p/dir:N`` makes ``p/dir/file000000.txt`` ... in bucket ``b`` (N files);
``--folders b/p:F:N`` makes F folders ``p/d00000/`` ... of N files each. Every file holds
one byte. Prints ``MOTO <url> keys=<n> fill_s=<seconds> rss_empty_mb=<MB before filling>``
once it serves, then serves until terminated.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time

BODY = b"x"
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()
REGION = "us-east-1"


def folder_keys(path: str, count: int) -> list[str]:
    return [f"{path}/file{i:06d}.txt" for i in range(count)]


def folders_keys(prefix: str, folders: int, files: int) -> list[str]:
    return [f"{prefix}/d{f:05d}/file{i:03d}.txt" for f in range(folders) for i in range(files)]


def parse(args: argparse.Namespace) -> dict[str, list[str]]:
    """Keys to make, by bucket."""
    out: dict[str, list[str]] = {}
    for spec in args.folder:
        where, count = spec.rsplit(":", 1)
        bucket, path = where.split("/", 1)
        out.setdefault(bucket, []).extend(folder_keys(path, int(count)))
    for spec in args.folders:
        where, folders, files = spec.rsplit(":", 2)
        bucket, prefix = where.split("/", 1)
        out.setdefault(bucket, []).extend(folders_keys(prefix, int(folders), int(files)))
    return out


def fill(keys: dict[str, list[str]]) -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    # The backend moto's S3 handler uses for requests signed with any unknown key.
    backend = s3_backends[DEFAULT_ACCOUNT_ID][get_partition(REGION)]
    made = 0
    for bucket, names in keys.items():
        backend.create_bucket(bucket, REGION)
        acl = backend.get_bucket(bucket).acl
        for name in names:
            # What moto's PUT handler does for boto3's plain PUT: storage class STANDARD,
            # the payload hash boto3 signs kept as metadata, the bucket's ACL; no
            # notification is configured.
            key = backend.put_object(bucket, name, BODY, storage="STANDARD", disable_notification=True)
            key.set_metadata({"X-Amz-Content-SHA256": BODY_SHA256})
            if acl is not None:
                key.set_acl(acl)
            made += 1
    return made


def rss_mb() -> float:
    """This process's resident memory (Linux; 0 elsewhere)."""
    try:
        status = open("/proc/self/status").read()
    except OSError:
        return 0.0
    return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--folder", action="append", default=[], help="BUCKET/PATH:COUNT")
    parser.add_argument("--folders", action="append", default=[], help="BUCKET/PREFIX:FOLDERS:FILES")
    args = parser.parse_args()
    import moto.s3.models  # noqa: F401  (loaded before the empty server's memory is read)
    from moto.server import ThreadedMotoServer

    empty = rss_mb()
    started = time.perf_counter()
    made = fill(parse(args))
    fill_s = time.perf_counter() - started
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"MOTO http://{host}:{port} keys={made} fill_s={fill_s:.1f} rss_empty_mb={empty:.0f}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
