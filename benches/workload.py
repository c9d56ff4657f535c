"""What the benchmarks measure: the operations, their data, and the three ways to do them.

Imported by the runner (this project's venv) and run as a worker process, once per
contender, in whichever venv that contender needs:

* ``ours``: ``s3contents_rs.AsyncS3ContentsManager`` (the one a Jupyter server uses),
* ``s3contents``: PyPI ``s3contents`` 0.11.2 in its own venv (its pins clash with ours),
* ``floor``: the fewest raw boto3 requests that produce the same result, plus the
  nbformat work every contents manager must do (parse and validate notebooks, check and
  record their trust signature), so each figure reads as a ratio to what is necessary.

Worker protocol: one JSON command per stdin line, one JSON answer per stdout line.
Only stdlib, boto3, nbformat and jupyter_server are imported (all three venvs have them).
"""

from __future__ import annotations

import base64
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

KB, MB = 1000, 1000 * 1000
CHUNK = 1024 * 1024  # JupyterLab's chunked-upload slice
PART = 8 * 1024 * 1024  # our default upload_part_size; the floor uses the same
CONTENDERS = ("ours", "s3contents", "floor")


@dataclass
class Op:
    """One measured operation. ``bucket`` isolates it: moto scans a whole bucket per LIST."""

    name: str
    kind: str
    bucket: str
    params: dict[str, Any] = field(default_factory=dict)
    repeats: int = 5


def operations(quick: bool) -> list[Op]:
    q = quick
    list_sizes = (10, 100, 1000) if q else (10, 1000, 10000)
    nb_sizes = (
        (("10k", 10 * KB), ("1m", 1 * MB), ("5m", 5 * MB))
        if q
        else (("10k", 10 * KB), ("5m", 5 * MB), ("50m", 50 * MB))
    )
    tree = 200 if q else 2000
    upload = 20 * MB if q else 200 * MB
    reps, heavy = (1, 1) if q else (7, 3)
    ops: list[Op] = []
    for n in list_sizes:
        ops.append(Op(f"list_{n}", "list", f"bench-list-{n}", {"entries": n}, reps))
    # A folder's model without content (JupyterLab asks for it when it opens a path): the
    # largest listed folder, whose floor is one LIST of one key.
    n = list_sizes[-1]
    ops.append(Op(f"dir_meta_{n}", "dir_stat", f"bench-list-{n}", {"entries": n}, reps))
    for label, size in nb_sizes:
        big = size >= 50 * MB
        ops.append(Op(f"get_nb_{label}", "get", "bench-nb", {"label": label, "size": size}, heavy if big else reps))
    ops.append(Op(f"get_nb_{nb_sizes[1][0]}_no_content", "stat", "bench-nb", {"label": nb_sizes[1][0]}, reps))
    for label, size in nb_sizes:
        big = size >= 50 * MB
        ops.append(Op(f"save_nb_{label}", "save", "bench-rw", {"label": label, "size": size}, heavy if big else reps))
    ops.append(Op("new_untitled_after_100", "new_untitled", "bench-rw", {"existing": 100}, reps))
    ops.append(Op("copy_file", "copy", "bench-rw", {"size": 10 * KB}, reps))
    ops.append(Op(f"rename_tree_{tree}", "rename_tree", "bench-tree", {"files": tree}, heavy))
    ops.append(Op(f"delete_tree_{tree}", "delete_tree", "bench-tree", {"files": tree}, heavy))
    for step in ("create", "list", "restore"):
        ops.append(Op(f"checkpoint_{step}", f"checkpoint_{step}", "bench-rw", {"size": 1 * MB}, reps))
    ops.append(Op(f"upload_chunked_{upload // MB}m", "upload", "bench-upload", {"size": upload}, heavy))
    return ops


# ----------------------------------------------------------------------------- data
def make_notebook(size: int) -> dict:
    """A deterministic nbformat-4 notebook of about `size` bytes of JSON (code + outputs)."""
    rng = random.Random(size)
    words = ["alpha", "beta", "gamma", "delta", "frame", "value", "result", "index", "x", "y"]
    cells, total, n = [], 200, 0
    while total < size:
        text = " ".join(rng.choice(words) for _ in range(min(800, max(10, (size - total) // 6)))) + "\n"
        source = f"values_{n} = [{', '.join(str(rng.randint(0, 999)) for _ in range(20))}]\nprint(values_{n})"
        cells.append(
            {
                "cell_type": "code",
                "execution_count": n + 1,
                "id": f"cell-{n}",
                "metadata": {},
                "source": source,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
            }
        )
        total += len(text) + len(source) + 200
        n += 1
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_bytes(size: int) -> bytes:
    import nbformat

    return (nbformat.writes(nbformat.from_dict(make_notebook(size))) + "\n").encode()


def upload_chunks(size: int) -> list[str]:
    """The base64 slices JupyterLab would send for a `size`-byte file."""
    rng = random.Random(7)
    block = bytes(rng.getrandbits(8) for _ in range(64 * 1024))
    data = (block * (size // len(block) + 1))[:size]
    return [base64.b64encode(data[i : i + CHUNK]).decode() for i in range(0, size, CHUNK)]


def s3_client(endpoint: str, creds: dict):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["key"],
        aws_secret_access_key=creds["secret"],
        config=Config(
            s3={"addressing_style": "path"},
            max_pool_connections=32,
            retries={"max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def ours_manager(endpoint: str, creds: dict, bucket: str, prefix: str, **settings: Any):
    """Our AsyncS3ContentsManager on the local server `endpoint`."""
    from s3contents_rs import AsyncS3ContentsManager

    return AsyncS3ContentsManager(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region_name="us-east-1",
        access_key_id=creds["key"],
        secret_access_key=creds["secret"],
        **settings,
    )


def put_many(client, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=body), keys))


def tree_keys(root: str, files: int) -> list[str]:
    """`files` small files spread over 20 sub-folders of `root`."""
    return [f"{root}/sub{i % 20:02d}/file{i:05d}.txt" for i in range(files)]


def rename_names(rep: int) -> tuple[str, str]:
    """Source and target folder of the rep-th tree rename: each rename moves the tree to a
    name no earlier run used. (Renaming back and forth would do on S3 and moto, but a
    file-system server such as s3s-fs keeps the emptied directory, answers a HEAD of its
    name with a 500, and could list it as a prefix.)"""
    return ("tree_a" if rep == 0 else f"tree_r{rep}"), f"tree_r{rep + 1}"


def check_renamed(client, bucket: str, prefix: str, files: int, result: dict) -> None:
    """The renamed tree is whole (every file, with its one-byte body) and the source is gone."""

    def keys(folder: str) -> dict[str, int]:
        root, out = f"{prefix}/{folder}/", {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
            out.update({o["Key"][len(root) :]: o["Size"] for o in page.get("Contents", [])})
        return out

    left = keys(result["from"])
    # Folder markers are fine (s3contents writes one in every sub-folder it creates).
    moved = {k: size for k, size in keys(result["to"]).items() if k.rsplit("/", 1)[-1] != ".s3keep"}
    want = {k.split("/", 1)[1]: 1 for k in tree_keys("tree", files)}
    if left or moved != want:
        missing, extra = sorted(set(want) - set(moved))[:3], sorted(set(moved) - set(want))[:3]
        wrong = sorted(k for k in set(want) & set(moved) if moved[k] != 1)[:3]
        raise AssertionError(
            f"rename {result['from']} -> {result['to']}: {len(left)} objects left at the source, "
            f"{len(moved)} of {files} at the target (missing {missing}, extra {extra}, wrong size {wrong})"
        )


def prepare_shared(client, ops: list[Op]) -> None:
    """Read-only fixtures every contender reads, and the per-contender write fixtures."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in sorted({op.bucket for op in ops} - existing):
        client.create_bucket(Bucket=bucket)
    done: set[str] = set()
    for op in ops:
        if op.kind in ("list", "dir_stat") and op.bucket not in done:
            done.add(op.bucket)
            n = op.params["entries"]
            put_many(client, op.bucket, [f"shared/dir/file{i:05d}.txt" for i in range(n)])
        elif op.kind == "get":
            client.put_object(
                Bucket=op.bucket, Key=f"shared/nb_{op.params['label']}.ipynb", Body=notebook_bytes(op.params["size"])
            )
        elif op.kind == "new_untitled":
            body = notebook_bytes(1 * KB)
            names = ["Untitled.ipynb"] + [f"Untitled{i}.ipynb" for i in range(1, op.params["existing"])]
            for who in CONTENDERS:
                put_many(client, op.bucket, [f"{who}/untitled/{n}" for n in names], body)
        elif op.kind == "copy":
            for who in CONTENDERS:
                client.put_object(
                    Bucket=op.bucket, Key=f"{who}/copy/source.ipynb", Body=notebook_bytes(op.params["size"])
                )
        elif op.kind.startswith("checkpoint_") and "ckpt" not in done:
            done.add("ckpt")
            for who in CONTENDERS:
                client.put_object(Bucket=op.bucket, Key=f"{who}/ckpt/nb.ipynb", Body=notebook_bytes(op.params["size"]))
        elif op.kind == "rename_tree":
            for who in CONTENDERS:
                put_many(client, op.bucket, tree_keys(f"{who}/tree_a", op.params["files"]))


# ----------------------------------------------------------------------------- contenders
class Contender:
    """Runs one operation; `prepare`/`cleanup` are untimed, `run` is timed."""

    def __init__(self, endpoint: str, creds: dict, name: str) -> None:
        self.endpoint, self.creds, self.name = endpoint, creds, name
        self.raw = s3_client(endpoint, creds)
        self.state: dict[str, Any] = {}

    def prefix(self, op: Op) -> str:
        return "shared" if op.kind in ("list", "dir_stat", "get", "stat") else self.name

    def prepare(self, op: Op, rep: int) -> None:
        if op.kind == "delete_tree":
            put_many(self.raw, op.bucket, tree_keys(f"{self.name}/tree_d", op.params["files"]))
        elif op.kind == "checkpoint_restore" and "restore_id" not in self.state:
            self.call(op, "checkpoint_create")
            # Finding the id is not part of the operation: JupyterLab already has it.
            self.state["restore_id"] = self.call(op, "checkpoint_list_ids")["ids"][0]
        elif op.kind == "save" and "nb" not in self.state.get(op.name, {}):
            self.state[op.name] = {"nb": make_notebook(op.params["size"])}
        elif op.kind == "upload" and "chunks" not in self.state:
            self.state["chunks"] = upload_chunks(op.params["size"])

    def run(self, op: Op, rep: int) -> dict:
        return self.call(op, op.kind, rep)

    def call(self, op: Op, kind: str, rep: int = 0) -> dict:
        raise NotImplementedError

    def cleanup(self, op: Op, result: dict) -> None:
        if op.kind in ("new_untitled", "copy"):
            self.remove(op, result["path"])
        elif op.kind == "rename_tree":
            check_renamed(self.raw, op.bucket, self.name, op.params["files"], result)

    def remove(self, op: Op, path: str) -> None:
        raise NotImplementedError


def _upload_models(chunks: list[str]):
    for i, content in enumerate(chunks, start=1):
        yield {"type": "file", "format": "base64", "chunk": -1 if i == len(chunks) else i, "content": content}


class ManagerContender(Contender):
    """A Jupyter contents manager: ours (async) or s3contents (sync)."""

    def __init__(self, endpoint: str, creds: dict, name: str) -> None:
        super().__init__(endpoint, creds, name)
        self.managers: dict[tuple[str, str], Any] = {}
        self.loop = None
        if name == "ours":
            import asyncio

            from s3contents_rs import AsyncS3ContentsManager as cls

            self.loop = asyncio.new_event_loop()
        else:
            from s3contents import S3ContentsManager as cls
        self.cls = cls

    def cm(self, op: Op):
        key = (op.bucket, self.prefix(op))
        if key not in self.managers:
            extra = {}
            if self.name == "ours":
                # s3contents deletes for real; our default moves to a trash prefix first.
                extra["delete_to_trash"] = False
            self.managers[key] = self.cls(
                bucket=op.bucket,
                prefix=key[1],
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                access_key_id=self.creds["key"],
                secret_access_key=self.creds["secret"],
                **extra,
            )
        return self.managers[key]

    def wait(self, value):
        if self.loop is not None and hasattr(value, "__await__"):

            async def await_it():
                return await value

            return self.loop.run_until_complete(await_it())
        return value

    def call(self, op: Op, kind: str, rep: int = 0) -> dict:
        cm, w = self.cm(op), self.wait
        if kind == "list":
            model = w(cm.get("dir"))
            return {"entries": len(model["content"])}
        if kind == "get":
            model = w(cm.get(f"nb_{op.params['label']}.ipynb"))
            return {"cells": len(model["content"]["cells"])}
        if kind == "stat":
            model = w(cm.get(f"nb_{op.params['label']}.ipynb", content=False))
            return {"size": model["size"]}
        if kind == "dir_stat":
            return {"type": w(cm.get("dir", content=False))["type"]}
        if kind == "save":
            nb = self.state[op.name]["nb"]
            model = w(cm.save({"type": "notebook", "content": nb}, f"saved_{op.params['label']}.ipynb"))
            return {"size": model["size"]}
        if kind == "new_untitled":
            model = w(cm.new_untitled(path="untitled", type="notebook"))
            return {"path": model["path"]}
        if kind == "copy":
            model = w(cm.copy("copy/source.ipynb", "copy"))
            return {"path": model["path"]}
        if kind == "rename_tree":
            a, b = rename_names(rep)
            w(cm.rename(a, b))
            return {"from": a, "to": b}
        if kind == "delete_tree":
            w(cm.delete("tree_d"))
            return {}
        if kind == "checkpoint_create":
            return {"id": w(cm.create_checkpoint("ckpt/nb.ipynb"))["id"]}
        if kind == "checkpoint_list":
            return {"checkpoints": len(w(cm.list_checkpoints("ckpt/nb.ipynb")))}
        if kind == "checkpoint_list_ids":
            return {"ids": [c["id"] for c in w(cm.list_checkpoints("ckpt/nb.ipynb"))]}
        if kind == "checkpoint_restore":
            w(cm.restore_checkpoint(self.state["restore_id"], "ckpt/nb.ipynb"))
            return {"id": self.state["restore_id"]}
        if kind == "upload":
            for model in _upload_models(self.state["chunks"]):
                saved = w(cm.save(model, "upload.bin"))
            return {"size": saved["size"]}
        raise ValueError(kind)

    def remove(self, op: Op, path: str) -> None:
        self.wait(self.cm(op).delete(path))


class FloorContender(Contender):
    """The minimal raw requests, plus the nbformat work every contents manager does."""

    def __init__(self, endpoint: str, creds: dict, name: str) -> None:
        super().__init__(endpoint, creds, name)
        import tempfile

        from jupyter_server.services.contents.manager import ContentsManager

        # Only for its notary: the same trust check and signing a manager does.
        self.notary = ContentsManager().notary
        self.notary.data_dir = tempfile.mkdtemp(prefix="bench-notary-")
        self.pool = ThreadPoolExecutor(16)

    def key(self, op: Op, path: str) -> str:
        return f"{self.prefix(op)}/{path}"

    def names(self, op: Op, folder: str) -> list[str]:
        """One delimiter LIST per 1000 entries (what a directory listing needs)."""
        out = []
        for page in self.raw.get_paginator("list_objects_v2").paginate(
            Bucket=op.bucket, Prefix=self.key(op, folder) + "/", Delimiter="/"
        ):
            out += [o["Key"].rsplit("/", 1)[1] for o in page.get("Contents", [])]
            out += [p["Prefix"].rstrip("/").rsplit("/", 1)[1] for p in page.get("CommonPrefixes", [])]
        return out

    def read_notebook(self, data: bytes):
        import nbformat

        nb = nbformat.reads(data.decode(), as_version=4)
        self.notary.mark_cells(nb, self.notary.check_signature(nb))
        return nb

    def write_notebook(self, op: Op, path: str, nb_dict: dict) -> dict:
        import nbformat

        nb = nbformat.from_dict(nb_dict)
        if self.notary.check_cells(nb):
            self.notary.sign(nb)
        data = (nbformat.writes(nb) + "\n").encode()
        self.raw.put_object(Bucket=op.bucket, Key=self.key(op, path), Body=data)
        # S3 answers a PUT without Last-Modified: the saved model needs the store's.
        head = self.raw.head_object(Bucket=op.bucket, Key=self.key(op, path))
        return {"size": head["ContentLength"], "last_modified": head["LastModified"]}

    def checkpoint_key(self, op: Op, path: str) -> str:
        folder, _, name = path.rpartition("/")
        return self.key(op, f"{folder}/.ipynb_checkpoints/{name[:-6]}-checkpoint.ipynb")

    def copy(self, op: Op, source_key: str, target_key: str) -> dict:
        """One COPY; S3's answer dates the copy (CopyObjectResult's LastModified and ETag)."""
        answer = self.raw.copy_object(
            Bucket=op.bucket, Key=target_key, CopySource={"Bucket": op.bucket, "Key": source_key}
        )
        return answer["CopyObjectResult"]

    def call(self, op: Op, kind: str, rep: int = 0) -> dict:
        raw, b = self.raw, op.bucket
        if kind == "list":
            return {"entries": len(self.names(op, "dir"))}
        if kind == "get":
            data = raw.get_object(Bucket=b, Key=self.key(op, f"nb_{op.params['label']}.ipynb"))["Body"].read()
            return {"cells": len(self.read_notebook(data)["cells"])}
        if kind == "stat":
            return {
                "size": raw.head_object(Bucket=b, Key=self.key(op, f"nb_{op.params['label']}.ipynb"))["ContentLength"]
            }
        if kind == "dir_stat":
            page = raw.list_objects_v2(Bucket=b, Prefix=self.key(op, "dir") + "/", MaxKeys=1)
            return {"type": "directory" if page.get("KeyCount") else None}
        if kind == "save":
            return {
                "size": self.write_notebook(op, f"saved_{op.params['label']}.ipynb", self.state[op.name]["nb"])["size"]
            }
        if kind == "new_untitled":
            import nbformat

            taken = set(self.names(op, "untitled"))
            name = next(n for n in (f"Untitled{i or ''}.ipynb" for i in range(10**6)) if n not in taken)
            path = f"untitled/{name}"
            self.write_notebook(op, path, nbformat.v4.new_notebook())
            self.copy(op, self.key(op, path), self.checkpoint_key(op, path))  # Jupyter's first checkpoint
            return {"path": path}
        if kind == "copy":
            # The folder's listing picks the name and gives the source's size; the COPY's
            # answer gives the copy's time: the model needs nothing more.
            page = raw.list_objects_v2(Bucket=b, Prefix=self.key(op, "copy") + "/", Delimiter="/")
            sizes = {o["Key"].rsplit("/", 1)[1]: o["Size"] for o in page.get("Contents", [])}
            name = next(n for n in (f"source-Copy{i}.ipynb" for i in range(1, 10**6)) if n not in sizes)
            copied = self.copy(op, self.key(op, "copy/source.ipynb"), self.key(op, f"copy/{name}"))
            return {"path": f"copy/{name}", "size": sizes["source.ipynb"], "last_modified": copied["LastModified"]}
        if kind == "rename_tree":
            a, b2 = rename_names(rep)
            # One LIST answers "is the target taken?" for a file or a folder of that name.
            hit = raw.list_objects_v2(Bucket=b, Prefix=self.key(op, b2), Delimiter="/", MaxKeys=2)
            assert not hit.get("Contents") and not hit.get("CommonPrefixes"), hit
            keys = self.tree(op, a)
            src, dst = self.key(op, a) + "/", self.key(op, b2) + "/"
            list(self.pool.map(lambda k: self.copy(op, k, dst + k[len(src) :]), keys))
            self.bulk_delete(op, keys)
            return {"from": a, "to": b2}
        if kind == "delete_tree":
            self.bulk_delete(op, self.tree(op, "tree_d"))
            return {}
        if kind == "checkpoint_create":
            copied = self.copy(op, self.key(op, "ckpt/nb.ipynb"), self.checkpoint_key(op, "ckpt/nb.ipynb"))
            return {"id": "checkpoint", "last_modified": copied["LastModified"]}
        if kind == "checkpoint_list":
            prefix = self.checkpoint_key(op, "ckpt/nb.ipynb").rsplit("-", 1)[0] + "-"
            return {"checkpoints": raw.list_objects_v2(Bucket=b, Prefix=prefix, Delimiter="/")["KeyCount"]}
        if kind == "checkpoint_list_ids":
            return {"ids": ["checkpoint"]}
        if kind == "checkpoint_restore":
            self.copy(op, self.checkpoint_key(op, "ckpt/nb.ipynb"), self.key(op, "ckpt/nb.ipynb"))
            return {"id": "checkpoint"}
        if kind == "upload":
            return {"size": self.upload(op)}
        raise ValueError(kind)

    def tree(self, op: Op, folder: str) -> list[str]:
        keys = []
        for page in self.raw.get_paginator("list_objects_v2").paginate(
            Bucket=op.bucket, Prefix=self.key(op, folder) + "/"
        ):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def bulk_delete(self, op: Op, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            self.raw.delete_objects(
                Bucket=op.bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
            )

    def upload(self, op: Op) -> int:
        """Multipart upload in parts of PART bytes: memory bounded like ours."""
        key = self.key(op, "upload.bin")
        upload_id = self.raw.create_multipart_upload(Bucket=op.bucket, Key=key)["UploadId"]
        parts, buffer = [], bytearray()

        def send(data: bytes) -> None:
            number = len(parts) + 1
            etag = self.raw.upload_part(Bucket=op.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)[
                "ETag"
            ]
            parts.append({"PartNumber": number, "ETag": etag})

        for chunk in self.state["chunks"]:
            buffer += base64.b64decode(chunk)
            if len(buffer) >= PART:
                send(bytes(buffer[:PART]))
                del buffer[:PART]
        if buffer or not parts:
            send(bytes(buffer))
        self.raw.complete_multipart_upload(
            Bucket=op.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        return self.raw.head_object(Bucket=op.bucket, Key=key)["ContentLength"]

    def remove(self, op: Op, path: str) -> None:
        keys = [self.key(op, path)]
        if path.endswith(".ipynb"):
            keys.append(self.checkpoint_key(op, path))
        self.bulk_delete(op, keys)


# ----------------------------------------------------------------------------- worker
def proxy_counts(proxy: str, reset: bool = False) -> dict:
    """Requests the counting proxy (benches/proxy.py) saw since its last reset."""
    import urllib.request

    request = urllib.request.Request(
        f"{proxy}/__proxy__/{'reset' if reset else 'counts'}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def worker(name: str, endpoint: str, proxy: str, creds: dict, quick: bool) -> None:
    """Answer commands from the runner on stdin/stdout until EOF."""
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    ops = {op.name: op for op in operations(quick)}
    make: Callable[..., Contender] = FloorContender if name == "floor" else ManagerContender
    direct, counted = make(endpoint, creds, name), make(proxy, creds, name)
    for line in sys.stdin:
        command = json.loads(line)
        op = ops[command["op"]]
        who = counted if command.get("counted") else direct
        who.state = direct.state  # share prepared data (notebooks, upload chunks)
        try:
            who.prepare(op, command["rep"])
            if isinstance(who, ManagerContender):
                who.cm(op)  # made before counting: its start-up bucket check is not the operation's
            if command.get("counted"):
                proxy_counts(proxy, reset=True)
            start = time.perf_counter()
            result = who.run(op, command["rep"])
            seconds = time.perf_counter() - start
            # Read before the cleanup, so only the operation's own requests count.
            requests = proxy_counts(proxy) if command.get("counted") else None
            who.cleanup(op, result)
            answer = {"seconds": seconds, "result": result, "requests": requests}
        except Exception as e:  # noqa: BLE001 (reported to the runner, which fails loudly)
            import traceback

            answer = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        out.write(json.dumps(answer, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    worker(args["name"], args["endpoint"], args["proxy"], args["creds"], args["quick"])


__all__ = ["CONTENDERS", "Op", "asdict", "operations", "prepare_shared", "s3_client", "notebook_bytes"]
