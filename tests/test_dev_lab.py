"""The lab's local S3 server keeps its buckets in a folder (``./dev.sh lab``: ``./.lab-data/``).

The server is started the way the lab starts it (``start_local_s3`` of ``python -m
s3contents_rs lab``, which ``./dev.sh lab`` runs with ``--local-s3-data .lab-data``). A notebook
is saved through the contents manager, the server is killed (SIGKILL: what was acknowledged must
already be on disk, no shutdown hook is involved), a new one is started on the same folder, and
everything reads back byte for byte, with the same ETag and Last-Modified."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import boto3
import nbformat
import pytest
from s3contents_rs import AsyncS3ContentsManager
from s3contents_rs.__main__ import _ensure_bucket, start_local_s3

pytestmark = pytest.mark.timeout(120)

BUCKET, KEY, SECRET, REGION = "notebooks", "local", "local-secret", "us-east-1"
ROOT = Path(__file__).resolve().parents[1]


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )


def manager(endpoint: str) -> AsyncS3ContentsManager:
    return AsyncS3ContentsManager(
        bucket=BUCKET,
        endpoint_url=endpoint,
        access_key_id=KEY,
        secret_access_key=SECRET,
        region_name=REGION,
    )


def snapshot(endpoint: str) -> dict[str, tuple[bytes, str, object, str]]:
    s3 = client(endpoint)
    out = {}
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        got = s3.get_object(Bucket=BUCKET, Key=obj["Key"])
        out[obj["Key"]] = (
            got["Body"].read(),
            got["ETag"],
            got["LastModified"],
            got["ContentType"],
        )
    return out


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=30)


def test_lab_data_survive_a_restart_byte_for_byte(tmp_path):
    data = tmp_path / "lab-data"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('héllo ✓')"),
        nbformat.v4.new_markdown_cell("# $x^2$ 1.0e-7"),
    ]
    nb.metadata["custom"] = {"float": 0.1, "big": 2**70}

    server, endpoint = start_local_s3(data)
    try:
        _ensure_bucket(endpoint, BUCKET, KEY, SECRET, REGION)
        cm = manager(endpoint)

        async def write():
            await cm.new(path="work", model={"type": "directory"})
            await cm.save(
                {"type": "notebook", "format": "json", "content": nb},
                "work/analysis.ipynb",
            )
            await cm.create_checkpoint("work/analysis.ipynb")
            await cm.save(
                {"type": "file", "format": "text", "content": "gone soon"},
                "scratch.txt",
            )
            await cm.save(
                {"type": "file", "format": "base64", "content": "AAEC/w=="},
                "work/raw.bin",
            )
            await cm.delete("scratch.txt")
            return await cm.get("work/analysis.ipynb")

        saved = asyncio.run(write())
        before = snapshot(endpoint)
        assert "work/analysis.ipynb" in before and "scratch.txt" not in before
        assert any(".ipynb_checkpoints/" in k for k in before)
    finally:
        kill(server)

    server, endpoint2 = start_local_s3(data)
    try:
        assert snapshot(endpoint2) == before
        cm = manager(endpoint2)

        async def read():
            model = await cm.get("work/analysis.ipynb")
            listing = await cm.get("", content=True)
            checkpoints = await cm.list_checkpoints("work/analysis.ipynb")
            return model, listing, checkpoints

        model, listing, checkpoints = asyncio.run(read())
        assert model["content"] == saved["content"]
        assert model["last_modified"] == saved["last_modified"]
        assert [c["source"] for c in model["content"]["cells"]] == [
            c["source"] for c in nb.cells
        ]
        assert {e["name"] for e in listing["content"]} == {"work"}
        assert len(checkpoints) == 1
        # Still a working store: a change after the restart is kept too.
        client(endpoint2).delete_object(Bucket=BUCKET, Key="work/raw.bin")
    finally:
        kill(server)

    server, endpoint3 = start_local_s3(data)
    try:
        after = snapshot(endpoint3)
        assert set(after) == set(before) - {"work/raw.bin"}
        assert all(after[k] == before[k] for k in after)
    finally:
        kill(server)


def test_without_a_data_folder_the_server_keeps_nothing(tmp_path):
    server, endpoint = start_local_s3()
    try:
        _ensure_bucket(endpoint, BUCKET, KEY, SECRET, REGION)
        client(endpoint).put_object(Bucket=BUCKET, Key="a.txt", Body=b"a")
    finally:
        kill(server)
    server, endpoint = start_local_s3()
    try:
        assert client(endpoint).list_buckets()["Buckets"] == []
    finally:
        kill(server)


def test_the_local_server_is_moto_from_this_environment():
    """Not the first ``moto_server`` on PATH: the server script runs with the lab's Python."""
    server, _ = start_local_s3()
    try:
        assert server.args[0] == sys.executable
        assert Path(server.args[1]).name == "_local_s3.py"
    finally:
        kill(server)


def test_dev_sh_lab_keeps_its_data_in_the_checkout_and_passes_arguments_on():
    text = (ROOT / "dev.sh").read_text()
    assert (
        'exec "$VENV/bin/python" -m s3contents_rs lab --local-s3-data "$PWD/.lab-data" "$@"'
        in text
    )
    assert "/.lab-data/" in (ROOT / ".gitignore").read_text().splitlines()
    help_text = subprocess.run(
        ["bash", str(ROOT / "dev.sh"), "help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port 9999 --no-browser" in help_text and ".lab-data" in help_text
