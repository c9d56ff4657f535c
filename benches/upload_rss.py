"""Peak memory of the Jupyter server during large chunked uploads, ours vs s3contents.

For each file size, a fresh Jupyter server is started per implementation (ours with
AsyncS3ContentsManager from this venv; PyPI s3contents from the reference venv given by
S3CONTENTS_REF_PYTHON, as ``./dev.sh bench`` sets up), both on the same local S3 server.
The client uploads the file as JupyterLab does (1 MiB chunks, base64, chunk 1, 2, ..., -1)
while a sampler reads the server's resident memory every 20 ms. Printed per run: peak RSS
growth over the idle server, upload throughput, and that the stored object is complete.

    python benches/upload_rss.py [--quick] [--sizes 50,500] [--results-dir benches/results]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import free_port, start_moto, wait_http  # noqa: E402

MiB = 1024 * 1024
BUCKET = "bench-upload-rss"
TOKEN = "bench-token"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class PeakSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def start_jupyter(python: str, manager: str, prefix: str, endpoint: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cls = manager.rsplit(".", 1)[1]
    traits = {
        "bucket": BUCKET,
        "prefix": prefix,
        "endpoint_url": endpoint,
        "access_key_id": "bench",
        "secret_access_key": "bench-secret",
        "region_name": "us-east-1",
    }
    args = [f"--{cls}.{k}={v}" for k, v in traits.items()]
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
        JUPYTER_RUNTIME_DIR=str(workdir / "rt"),
    )
    proc = subprocess.Popen(
        [python, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={workdir}",
         f"--ServerApp.contents_manager_class={manager}", "--ServerApp.log_level=WARN", *args],
        stdout=subprocess.DEVNULL, stderr=open(workdir / f"{cls}-{port}.log", "wb"), env=env,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", proc, f"{cls} server")
    return proc, port


def upload(port: int, path: str, size: int, seed: int) -> float:
    """Chunked upload like JupyterLab; returns seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    rng = random.Random(seed)
    headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
    count = (size + MiB - 1) // MiB
    started = time.perf_counter()
    for i in range(count):
        piece = rng.randbytes(min(MiB, size - i * MiB))
        number = -1 if i == count - 1 else i + 1
        model = {
            "type": "file",
            "format": "base64",
            "chunk": number,
            "content": base64.b64encode(piece).decode(),
        }
        conn.request("PUT", f"/api/contents/{path}", body=json.dumps(model), headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"chunk {number} of {path}: HTTP {response.status}")
    return time.perf_counter() - started


def measure(name: str, python: str, manager: str, size_mb: int, endpoint: str, s3, workdir: Path) -> dict:
    prefix = f"{name}-{size_mb}mb-{time.time_ns()}"
    proc, port = start_jupyter(python, manager, prefix, endpoint, workdir)
    try:
        upload(port, "warmup.bin", 3 * MiB, seed=1)  # load every code path first
        time.sleep(0.5)
        idle = rss_bytes(proc.pid)
        sampler = PeakSampler(proc.pid)
        sampler.start()
        seconds = upload(port, "big.bin", size_mb * MiB, seed=2)
        peak = sampler.stop()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    head = s3.head_object(Bucket=BUCKET, Key=f"{prefix}/big.bin")
    return {
        "implementation": name,
        "size_mb": size_mb,
        "idle_rss_mb": idle / MiB,
        "peak_rss_growth_mb": (peak - idle) / MiB,
        "seconds": seconds,
        "throughput_mb_s": size_mb / seconds,
        "stored_complete": head["ContentLength"] == size_mb * MiB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,500", help="file sizes in MB, comma-separated")
    parser.add_argument("--quick", action="store_true", help="10 and 50 MB only")
    parser.add_argument("--results-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args()
    sizes = [10, 50] if args.quick else [int(s) for s in args.sizes.split(",")]
    ref_python = os.environ.get("S3CONTENTS_REF_PYTHON")
    implementations = [("s3contents-rs", sys.executable, "s3contents_rs.AsyncS3ContentsManager")]
    if ref_python:
        implementations.append(("s3contents", ref_python, "s3contents.S3ContentsManager"))
    else:
        print("S3CONTENTS_REF_PYTHON is not set: measuring s3contents-rs only (run ./dev.sh bench)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-rss-"))
    moto, endpoint = start_moto(open(workdir / "moto.log", "wb"))
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                      aws_secret_access_key="bench-secret", region_name="us-east-1")  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    results = []
    try:
        for size in sizes:  # interleaved: ours, theirs, for each size
            for name, python, manager in implementations:
                print(f"uploading {size} MB through {name} ...", flush=True)
                results.append(measure(name, python, manager, size, endpoint, s3, workdir))
    finally:
        moto.terminate()
    print()
    print(f"{'implementation':<15} {'size MB':>8} {'peak RSS growth MB':>19} {'MB/s':>7} {'complete':>9}")
    for r in results:
        print(f"{r['implementation']:<15} {r['size_mb']:>8} {r['peak_rss_growth_mb']:>19.1f} "
              f"{r['throughput_mb_s']:>7.1f} {str(r['stored_complete']):>9}")  # fmt: skip
    by = {(r["implementation"], r["size_mb"]): r for r in results}
    for size in sizes:
        ours, theirs = by.get(("s3contents-rs", size)), by.get(("s3contents", size))
        if ours and theirs:
            print(f"{size} MB: s3contents grows {theirs['peak_rss_growth_mb'] / max(ours['peak_rss_growth_mb'], 1):.1f}x "
                  f"more; throughput ratio ours/s3contents {ours['throughput_mb_s'] / theirs['throughput_mb_s']:.2f}")  # fmt: skip
    out = Path(args.results_dir) / "upload_rss.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "results": results}, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
