"""The core's JSON parser and writer (`_core.loads_yielding`, `_core.dumps_yielding`),
which the async manager and its server extension use for large notebooks in worker
threads: the same objects as `json.loads` and the same bytes as `json.dumps`, and other
threads (the server's event loop) keep running while they work."""

from __future__ import annotations

import datetime
import enum
import gc
import json
import sys
import threading
import time

import nbformat
import pytest
from jupyter_client.jsonutil import json_default
from s3contents_rs._notebooks import _reads_yielding, _YieldingDecoder
from s3contents_rs._core import dumps_yielding, loads_yielding

from support.exact import same

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
    "123456789012345678901234567890",
    "-123456789012345678901234567890.5e-3",
    "1.7976931348623157e308",
    "5e-324",
    "2.2250738585072011e-308",
    "0.30000000000000004",
    "9007199254740993",
    "9007199254740993.0",
]
# Text the core's scanner leaves to json.loads (which loads_yielding then calls itself).
ONLY_JSON = [
    "NaN",
    "[Infinity, -Infinity]",
    '"\\ud800"',
    "[1e400]",
    '"\\udc00 low first"',
]
INVALID = ["", "{", '{"a": 1,}', "[1 2]", "'single'", "\ufeff{}", "[1.]", "01"]


@pytest.mark.parametrize("text", SAME_AS_JSON + ONLY_JSON)
def test_same_objects_as_json_loads(text):
    assert same(loads_yielding(text), json.loads(text))
    assert same(loads_yielding(text.encode()), json.loads(text.encode()))
    assert same(json.loads(text, cls=_YieldingDecoder), json.loads(text))


def test_integer_and_float_types_are_kept():
    parsed = loads_yielding(
        '{"count": 3, "ratio": 3.0, "big": 123456789012345678901234567890, "b": 1, "a": 2}'
    )
    assert type(parsed["count"]) is int and type(parsed["ratio"]) is float
    assert (
        parsed["big"] == 123456789012345678901234567890 and type(parsed["big"]) is int
    )
    assert list(parsed) == [
        "count",
        "ratio",
        "big",
        "b",
        "a",
    ]  # document order, as json.loads


@pytest.mark.parametrize("text", INVALID)
def test_invalid_json_is_json_decode_error(text):
    # nbformat turns a ValueError from json.loads into "Notebook does not appear to be JSON".
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as ours:
        loads_yielding(text)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text, cls=_YieldingDecoder)


def large_document() -> str:
    cells = [
        {
            "cell_type": "code",
            "execution_count": i,
            "metadata": {},
            "source": f"print({i})",
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": [f"line {j}\n" for j in range(200)],
                }
            ],
        }
        for i in range(12000)
    ]
    return json.dumps(
        {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    )


def steps_of_another_thread_during(parse, arg) -> int:
    """How many times another thread ran Python code while `parse(arg)` ran: not a time
    (benches/json_read.py prints the pauses), but whether the parser let go of the GIL.
    The switch interval is raised for the measure, so no thread is made to hand over the
    GIL: one runs only when the other gives it up (`time.sleep`, or the core's slices)."""
    steps = 0
    stop = threading.Event()

    def ticker():
        nonlocal steps
        while not stop.is_set():
            steps += 1
            time.sleep(
                0
            )  # gives the GIL back: the parsing thread is never kept waiting

    interval = sys.getswitchinterval()
    gc.disable()  # no finalizers running Python code in the middle of the parse
    sys.setswitchinterval(60)
    thread = threading.Thread(target=ticker)
    try:
        thread.start()
        while steps < 10:
            time.sleep(0.001)
        before = steps
        parsed = parse(arg)
        during = steps - before
        del parsed
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join()
        gc.enable()
        gc.collect()
    return during


def test_large_document_same_and_other_threads_keep_running():
    text = large_document()
    assert loads_yielding(text) == json.loads(text)
    # json.loads holds the GIL from start to end: the other thread cannot run at all.
    assert steps_of_another_thread_during(json.loads, text) == 0
    # Ours lets it go between slices of about a millisecond.
    assert steps_of_another_thread_during(loads_yielding, text) > 0


# ------------------------------------------------------------------ bytes, NotebookNode


def test_bytes_and_str_give_the_same_objects():
    text = '{"a": ["é", 1, {"b": null}]}'
    assert loads_yielding(text.encode()) == loads_yielding(text) == json.loads(text)
    # Bytes json.loads decodes otherwise (UTF-16, surrogates) get its answer, not ours.
    for data in ['["é"]'.encode("utf-16"), b'["\xed\xa0\x80"]', b"\xff\xfe not utf-8"]:
        try:
            expected = ("value", json.loads(data))
        except ValueError as e:
            expected = ("error", type(e), str(e))
        try:
            got = ("value", loads_yielding(data))
        except ValueError as e:
            got = ("error", type(e), str(e))
        assert got == expected


def test_dicts_built_as_the_given_dict_type_and_left_untracked():
    parsed = loads_yielding(
        b'{"cells": [{"metadata": {}, "outputs": [[1], {"x": 2}]}]}',
        nbformat.NotebookNode,
    )
    cell = parsed["cells"][0]
    assert (
        type(parsed)
        is type(cell)
        is type(cell["metadata"])
        is type(cell["outputs"][1])
        is nbformat.NotebookNode
    )
    assert (
        parsed.cells[0].outputs[1].x == 2
    )  # attribute access, as nbformat's from_dict gives
    containers = [
        parsed,
        parsed["cells"],
        cell,
        cell["metadata"],
        cell["outputs"],
        cell["outputs"][0],
    ]
    assert not any(gc.is_tracked(c) for c in containers)
    # CPython tracks a dict again once a container is put in it, so cycles made later
    # through dicts are still collected.
    cell["metadata"]["tags"] = ["later"]
    assert gc.is_tracked(cell["metadata"])
    with pytest.raises(TypeError):
        loads_yielding("{}", list)


# ----------------------------------------------------------------------- dumps_yielding


class Color(enum.IntEnum):
    RED = 3


class ItemsOverride(dict):
    def items(self):
        return [("only", "this")]


DUMPED = [
    None,
    True,
    False,
    0,
    -5,
    2**70,
    -(2**80),
    1.5,
    1e-05,
    1e16,
    -0.0,
    0.1,
    float("nan"),
    float("inf"),
    -float("inf"),
    "",
    'a"b\\c\n\r\t\b\f\x00\x01\x1f\x7f é 漢字 😀 /',
    [],
    {},
    (),
    [1, [2, [3, []]]],
    (1, "two"),
    {"a": {"b": [{}, []]}, "z": None},
    {1: "int", 1.5: "float", True: "bool", None: "none", "s": "str", -2: 0},
    Color.RED,
    {"color": Color.RED},
    datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc),
    b"raw bytes",
    {"when": datetime.date(2026, 1, 2)},
    ItemsOverride(a=1),
    nbformat.NotebookNode(a=[nbformat.NotebookNode(b=1)]),
    "x" * 200_000 + '"\n\x02',
]


@pytest.mark.parametrize("obj", DUMPED, ids=range(len(DUMPED)))
def test_dumps_yielding_is_json_dumps(obj):
    expected = json.dumps(obj, default=json_default, ensure_ascii=False).encode()
    assert dumps_yielding(obj, json_default) == expected


def test_dumps_yielding_escapes_lone_surrogates_as_json_does():
    obj = {"s": "a\ud800b", "ok": "é"}
    dumped = dumps_yielding(obj, json_default)
    assert json.loads(dumped) == obj
    assert dumped == b'{"s": "a\\ud800b", "ok": "\xc3\xa9"}'


def circular_list():
    items: list = [1]
    items.append(items)
    return items


def circular_dict():
    d: dict = {}
    d["self"] = [d]
    return d


class Unknown:
    pass


@pytest.mark.parametrize(
    "obj",
    [
        circular_list(),
        circular_dict(),
        {(1, 2): "tuple key"},
        [Unknown()],
        {"a": {"b": object()}},
    ],
    ids=[
        "circular-list",
        "circular-dict",
        "tuple-key",
        "unknown-object",
        "nested-unknown",
    ],
)
def test_dumps_yielding_fails_as_json_dumps_does(obj):
    with pytest.raises(Exception) as ours:
        dumps_yielding(obj, json_default)
    with pytest.raises(Exception) as theirs:
        json.dumps(obj, default=json_default)
    assert type(ours.value) is type(theirs.value)
    # json names the unknown object by its repr, which differs between the two calls
    # only for objects made anew by `default`; here it is the same object.
    assert str(ours.value) == str(theirs.value)


def test_dumps_yielding_follows_default_chains_and_detects_their_cycles():
    class Wrapper:
        def __init__(self, inner):
            self.inner = inner

    def unwrap(o):
        if isinstance(o, Wrapper):
            return o.inner
        raise TypeError("not serializable")

    nested = Wrapper(Wrapper([Wrapper({"k": Wrapper(1)})]))
    assert (
        dumps_yielding(nested, unwrap)
        == json.dumps(nested, default=unwrap, ensure_ascii=False).encode()
    )
    loop = Wrapper(None)
    loop.inner = [loop]
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps_yielding(loop, unwrap)


def test_dumps_yielding_objects_made_by_default_are_not_mistaken_for_cycles():
    """json_default makes a new list of each set: freed as soon as written, its address can
    come back for the next one, which must not read as a circular reference."""
    nested_sets = [frozenset([frozenset([frozenset([i])])]) for i in range(50)]
    assert (
        dumps_yielding(nested_sets, json_default)
        == json.dumps(nested_sets, default=json_default).encode()
    )


def test_large_document_dumps_the_same_and_other_threads_keep_running():
    doc = json.loads(large_document())
    doc["cells"][0]["outputs"][0]["text"].append("é\n" * 100_000)  # one long string too
    expected = json.dumps(doc, default=json_default, ensure_ascii=False).encode()
    assert dumps_yielding(doc, json_default) == expected
    assert (
        steps_of_another_thread_during(
            lambda d: json.dumps(d, default=json_default), doc
        )
        == 0
    )
    assert (
        steps_of_another_thread_during(lambda d: dumps_yielding(d, json_default), doc)
        > 0
    )


# ---------------------------------------------------------- nbformat.reads, off the loop

V4_LINES = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": 1,
            "id": "a1",
            "metadata": {"trusted": True, "tags": ["t"]},
            "source": ["x = 1\n", "print(x)"],
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["1\n", "2\n"]},
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"text/plain": ["a\n", "b"], "image/png": "iVBOR\n"},
                },
            ],
        },
        {
            "cell_type": "markdown",
            "id": "m1",
            "metadata": {},
            "source": ["# Title\n", "text"],
        },
    ],
    "metadata": {
        "signature": "sha256:abc",
        "orig_nbformat": 3,
        "kernelspec": {"name": "python3", "display_name": "P"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}
INVALID_V4 = {
    "cells": [{"cell_type": "code", "metadata": {}, "source": "x", "id": "c"}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # a code cell without outputs / execution_count
V3 = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "old"},
    "worksheets": [
        {
            "cells": [
                {
                    "cell_type": "code",
                    "input": "1+1",
                    "language": "python",
                    "outputs": [],
                    "prompt_number": 1,
                    "metadata": {},
                }
            ],
            "metadata": {},
        }
    ],
}


def node_types_everywhere(a, b) -> bool:
    if isinstance(a, dict):
        return (
            type(a) is type(b)
            and a.keys() == b.keys()
            and all(node_types_everywhere(a[k], b[k]) for k in a)
        )
    if isinstance(a, list):
        return (
            type(b) is list
            and len(a) == len(b)
            and all(node_types_everywhere(x, y) for x, y in zip(a, b))
        )
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    "nb", [V4_LINES, INVALID_V4, V3], ids=["v4-multiline-transient", "v4-invalid", "v3"]
)
def test_reads_yielding_is_nbformat_reads(nb):
    text = json.dumps(nb)
    theirs_error: dict = {}
    theirs = nbformat.reads(text, as_version=4, capture_validation_error=theirs_error)
    ours_error: dict = {}
    ours = _reads_yielding(text.encode(), ours_error)
    if nb["nbformat"] < 4:  # the upgrade gives each cell a random id
        for their_cell, our_cell in zip(theirs.cells, ours.cells):
            our_cell["id"] = their_cell["id"]
    assert node_types_everywhere(theirs, ours)
    assert ours_error.keys() == theirs_error.keys()
    if theirs_error:
        assert str(ours_error["ValidationError"]) == str(
            theirs_error["ValidationError"]
        )


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[1, 2]",
        b'{"nbformat": 4}',
        b'{"nbformat": 4, "nbformat_minor": 5}',
    ],
)
def test_reads_yielding_refuses_what_nbformat_reads_refuses(text):
    with pytest.raises(Exception) as theirs:
        nbformat.reads(text.decode(), as_version=4)
    with pytest.raises(Exception) as ours:
        _reads_yielding(text, {})
    assert type(ours.value) is type(theirs.value)
