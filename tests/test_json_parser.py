"""The core's JSON parser (`_core.loads_yielding`), which the async manager uses to read
large notebooks in a worker thread: the same objects as `json.loads`, and other threads
(the server's event loop) keep running while it works."""

from __future__ import annotations

import gc
import json
import threading
import time

import pytest
from s3contents_rs._base import _YieldingDecoder
from s3contents_rs._core import loads_yielding

SAME_AS_JSON = [
    "{}",
    "[]",
    '"text"',
    "null",
    "true",
    "0",
    "-0.0",
    "1e-05",
    "0.1",
    "1.5e300",
    "-9223372036854775808",
    "18446744073709551615",
    '{"b": [1, 2.5, true, false, null], "a": {"nested": ["x", {"y": []}]}}',
    '{"dup": 1, "dup": 2}',
    '"\\u00e9 \\ud83d\\ude00 \\n\\t\\"\\\\ / \\u0000"',
    '"é 😀 漢字"',
    '  {"spaces" :  [ 1 , 2 ] }  ',
]
# Text serde_json refuses and json.loads reads: the decoder falls back to json.
ONLY_JSON = ["NaN", "[Infinity, -Infinity]", '"\\ud800"', "[1e400]"]
INVALID = ["", "{", '{"a": 1,}', "[1 2]", "'single'"]


def same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b)


@pytest.mark.parametrize("text", SAME_AS_JSON)
def test_same_objects_as_json_loads(text):
    assert same(loads_yielding(text), json.loads(text))


def test_integer_and_float_types_are_kept():
    parsed = loads_yielding('{"count": 3, "ratio": 3.0, "big": 18446744073709551615}')
    assert type(parsed["count"]) is int and type(parsed["ratio"]) is float
    assert parsed["big"] == 18446744073709551615 and type(parsed["big"]) is int


@pytest.mark.parametrize("text", ONLY_JSON)
def test_refused_text_falls_back_to_json(text):
    with pytest.raises(ValueError):
        loads_yielding(text)
    parsed = json.loads(text, cls=_YieldingDecoder)
    assert json.dumps(parsed) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", INVALID)
def test_invalid_json_is_json_decode_error(text):
    # nbformat turns a ValueError from json.loads into "Notebook does not appear to be JSON".
    with pytest.raises(json.JSONDecodeError):
        json.loads(text, cls=_YieldingDecoder)


def large_document() -> str:
    cells = [
        {"cell_type": "code", "execution_count": i, "metadata": {}, "source": f"print({i})",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"line {j}\n" for j in range(200)]}]}
        for i in range(12000)
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def longest_pause_of_another_thread(parse, text: str) -> tuple[float, float]:
    """How long (s) `parse(text)` takes, and the longest time a thread that wants to run
    every millisecond had to wait meanwhile."""
    pauses: list[float] = []
    stop = threading.Event()

    def ticker():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            pauses.append(now - last)
            last = now

    # The cyclic GC's pass over the new objects (any parser's, at a moment of its own) is
    # not the parser's doing: keep it out of the measure.
    gc.disable()
    try:
        thread = threading.Thread(target=ticker)
        thread.start()
        time.sleep(0.02)
        pauses.clear()
        start = time.perf_counter()
        parsed = parse(text)
        elapsed = time.perf_counter() - start
        stop.set()
        thread.join()
        del parsed
    finally:
        gc.enable()
        gc.collect()
    return elapsed, max(pauses)


def test_large_document_same_and_other_threads_keep_running():
    text = large_document()
    assert loads_yielding(text) == json.loads(text)
    json_time, json_pause = longest_pause_of_another_thread(json.loads, text)
    ours_time, ours_pause = longest_pause_of_another_thread(loads_yielding, text)
    # json.loads holds the GIL from start to end: the other thread waits all along.
    assert json_pause > 0.5 * json_time, (json_time, json_pause)
    # Ours leaves it free between slices of about a millisecond (other threads of the test
    # process may hold it for their own 5 ms switch intervals too).
    assert ours_pause < 0.25 * json_pause, (json_time, json_pause, ours_time, ours_pause)
