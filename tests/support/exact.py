"""What "exactly as json.loads" means in the exactness tests."""

from __future__ import annotations

import json
import math
import random
import struct

from s3contents_rs._core import loads_yielding


def same(a, b) -> bool:
    """Equal value for value, type for type, float bit for bit, key order included.
    Iterative, so documents nested deeper than Python's recursion limit compare too."""
    pending = [(a, b)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, float):
            if struct.pack("<d", a) != struct.pack("<d", b) and not (
                math.isnan(a) and math.isnan(b)
            ):
                return False
        elif isinstance(a, dict):
            if list(a) != list(b):
                return False
            pending.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b))
        elif a != b:
            return False
    return True


def outcome(loads, data):
    """A call's value, or its error's type and message."""
    try:
        return "value", loads(data)
    except RecursionError:
        return "error", RecursionError, ""
    except ValueError as e:  # JSONDecodeError, the int digit limit...
        return "error", type(e), str(e)


def assert_loads_like_json(data) -> None:
    ours, theirs = outcome(loads_yielding, data), outcome(json.loads, data)
    assert ours[0] == theirs[0], (data[:200], ours, theirs)
    if ours[0] == "value":
        assert same(ours[1], theirs[1]), data[:200]
    else:
        assert ours[1:] == theirs[1:]


def notebook_text(size: int, seed: int = 1) -> bytes:
    """A v4 notebook of about `size` bytes whose outputs are random floats (every last digit
    matters) and ints beyond 64 bits, as numeric outputs and widget state hold them."""
    rng = random.Random(seed)
    cells, total = [], 0
    while total < size:
        floats = [
            rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-30, 30) for _ in range(200)
        ]
        ints = [rng.getrandbits(100) - 2**99 for _ in range(20)]
        data = {
            "application/json": {"values": floats, "ids": ints},
            "text/plain": str(floats[:3]),
        }
        cell = {
            "cell_type": "code",
            "execution_count": len(cells) + 1,
            "id": f"c{len(cells)}",
            "metadata": {},
            "source": "compute()",
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": len(cells) + 1,
                    "data": data,
                    "metadata": {},
                }
            ],
        }
        cells.append(cell)
        total += len(json.dumps(cell))
    nb = {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1, ensure_ascii=False).encode()
