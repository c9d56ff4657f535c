"""The async manager's notebook reader (`_core.loads_yielding`) against `json.loads`:
time, and peak memory against the size of the tree both build.

Each measurement runs in a fresh process: the notebook text is loaded, the process's peak
resident size is reset (/proc/self/clear_refs), the parser runs once, and the figures are
read from /proc/self/status. `tree` is what the built objects hold (resident size after,
minus before); `peak` is the highest resident size during the parse, minus before. The
fast path builds Python objects straight from a flat tape of 12-byte tokens (no tree of
intermediate values), so its peak stays close to the tree itself; the goal (issue 12) is
a peak below twice the tree. Also checked, not timed: both give the same objects, float
bits and key order included.

    python benches/json_read.py [--quick] [--results-dir benches/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MB = 1_000_000
PEAK_TARGET = 2.0  # peak / tree

sys.path.insert(0, str(HERE.parent / "tests"))
from support.exact import notebook_text, same  # noqa: E402  (one generator for the bench and the tests)

CHILD = r"""
import gc, json, sys, time
from pathlib import Path
import nbformat
from s3contents_rs._core import loads_yielding

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
data = Path(sys.argv[1]).read_bytes()
parser = sys.argv[2]
gc.collect()
gc.disable()  # the collector's passes are not the parser's memory
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
before = status("VmRSS")
start = time.perf_counter()
if parser == "ours":
    obj = loads_yielding(data, nbformat.NotebookNode)
else:
    obj = json.loads(data, object_hook=nbformat.NotebookNode)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "tree": status("VmRSS") - before, "peak": status("VmHWM") - before}))
"""


def measure(path: Path, parser: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), parser],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def check_same(data: bytes) -> None:
    from s3contents_rs._core import loads_yielding

    if not same(loads_yielding(data), json.loads(data)):
        raise SystemExit("loads_yielding differs from json.loads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    args = parser.parse_args()
    sizes = [1 * MB, 5 * MB] if args.quick else [1 * MB, 20 * MB, 100 * MB]
    repeats = 1 if args.quick else 3
    results = []
    print(f"{'notebook':>9} {'parser':>11} {'median time':>12} {'tree':>9} {'peak':>9} {'peak/tree':>9} goal")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            data = notebook_text(size)
            check_same(data)
            path = Path(tmp) / "nb.ipynb"
            path.write_bytes(data)
            runs: dict[str, list[dict]] = {"ours": [], "json.loads": []}
            for _ in range(repeats):  # interleaved
                for name in runs:
                    runs[name].append(measure(path, name))
            for name, rs in runs.items():
                row = {
                    "notebook_bytes": len(data),
                    "parser": name,
                    "median_s": statistics.median(r["seconds"] for r in rs),
                    "tree_bytes": statistics.median(r["tree"] for r in rs),
                    "peak_bytes": statistics.median(r["peak"] for r in rs),
                }
                row["peak_over_tree"] = row["peak_bytes"] / max(row["tree_bytes"], 1)
                goal = ""
                if name == "ours":
                    goal = "pass" if row["peak_over_tree"] < PEAK_TARGET else "FAIL"
                    row["goal"] = goal
                results.append(row)
                print(
                    f"{len(data) / MB:>7.1f}MB {name:>11} {row['median_s'] * 1000:>10.1f}ms "
                    f"{row['tree_bytes'] / MB:>7.1f}MB {row['peak_bytes'] / MB:>7.1f}MB "
                    f"{row['peak_over_tree']:>9.2f} {goal}"
                )
    pauses = gil_pauses(sizes[-1])
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "json_read.json").write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "results": results,
                "gil_pauses": pauses,
            },
            indent=2,
        )
    )


def longest_pause_of_another_thread(work, arg) -> tuple[float, float]:
    """How long (s) `work(arg)` takes, and the longest time a thread that wants to run
    every millisecond had to wait meanwhile (the tests check only that it ran at all)."""
    import gc
    import threading

    pauses: list[float] = []
    stop = threading.Event()

    def ticker():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            pauses.append(now - last)
            last = now

    gc.disable()  # the collector's passes are not the parser's doing
    try:
        thread = threading.Thread(target=ticker)
        thread.start()
        time.sleep(0.02)
        pauses.clear()
        start = time.perf_counter()
        work(arg)
        elapsed = time.perf_counter() - start
        stop.set()
        thread.join()
    finally:
        gc.enable()
        gc.collect()
    return elapsed, max(pauses)


def gil_pauses(size: int) -> list[dict]:
    """The longest wait of another thread of the process (the event loop's, in Jupyter)
    while a notebook is parsed or written: json holds the GIL throughout, ours lets go."""
    from jupyter_client.jsonutil import json_default

    from s3contents_rs._core import dumps_yielding, loads_yielding

    text = notebook_text(size).decode()
    doc = json.loads(text)
    work = {
        "json.loads": json.loads,
        "loads_yielding": loads_yielding,
        "json.dumps": lambda d: json.dumps(d, default=json_default),
        "dumps_yielding": lambda d: dumps_yielding(d, json_default),
    }
    rows = []
    print(f"\n{'':>15} {'time':>9} {'longest wait of another thread':>31}  ({size / MB:.0f} MB notebook)")
    for name, function in work.items():
        elapsed, pause = longest_pause_of_another_thread(function, text if "loads" in name else doc)
        rows.append({"work": name, "seconds": elapsed, "longest_pause_s": pause})
        print(f"{name:>15} {elapsed * 1000:>7.1f}ms {pause * 1000:>29.1f}ms")
    return rows


if __name__ == "__main__":
    main()
