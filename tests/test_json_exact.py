"""`loads_yielding` is `json.loads` and `dumps_yielding` is `json.dumps`, for every input:
property tests over random JSON text (numbers written every way JSON allows, strings with
every escape, duplicate keys, deep nesting, random whitespace, and broken text), and real
notebooks with plotly, vega-lite and widget outputs made by those libraries."""

from __future__ import annotations

import datetime
import json
import math
import random
import struct

import nbformat
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jupyter_client.jsonutil import json_default
from s3contents_rs._notebooks import _reads_yielding
from s3contents_rs._core import dumps_yielding, loads_yielding

from support.exact import assert_loads_like_json, same

PROPERTY = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# ------------------------------------------------------------------- JSON text, any form

WHITESPACE = st.sampled_from(["", "", " ", "\n", "\t", "\r\n  ", "  "])
INT_PART = st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,45}", fullmatch=True))
FRACTION = st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,40}", fullmatch=True))
EXPONENT = st.one_of(st.just(""), st.from_regex(r"[eE][+-]?[0-9]{1,4}", fullmatch=True))
NUMBERS = st.one_of(
    st.builds(
        lambda sign, i, f, e: sign + i + f + e,
        st.sampled_from(["", "-"]),
        INT_PART,
        FRACTION,
        EXPONENT,
    ),
    # Every float, subnormals and the extremes included, as Python and other writers print them.
    st.floats(allow_nan=False, allow_infinity=False).flatmap(
        lambda x: st.sampled_from(
            [
                repr(x),
                f"{x:.17g}",
                f"{x:.17e}",
                f"{x:.20f}" if abs(x) < 1e30 else repr(x),
            ]
        )
    ),
    st.integers(min_value=-(2**256), max_value=2**256).map(str),
    st.sampled_from(
        [
            "-0",
            "-0.0",
            "1e308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "4.9e-324",
            "2e-324",
            "2.4703282292062328e-324",
            "1e-400",
            "1E400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
        ]
    ),
)


def escape(c: str) -> st.SearchStrategy[str]:
    short = {
        '"': '\\"',
        "\\": "\\\\",
        "/": "\\/",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
    }
    forms = [f"\\u{ord(c):04x}", f"\\u{ord(c):04X}"] if ord(c) < 0x10000 else []
    if ord(c) >= 0x10000:  # a surrogate pair
        high, low = (
            0xD800 + ((ord(c) - 0x10000) >> 10),
            0xDC00 + ((ord(c) - 0x10000) & 0x3FF),
        )
        forms.append(f"\\u{high:04x}\\u{low:04X}")
    if c in short:
        forms.append(short[c])
    if c not in '"\\' and (ord(c) >= 0x20) and not 0xD800 <= ord(c) <= 0xDFFF:
        forms.append(c)  # as is
    return st.sampled_from(forms)


STRING_PIECE = st.one_of(
    st.text(
        alphabet=st.characters(
            blacklist_characters='"\\', min_codepoint=0x20, blacklist_categories=["Cs"]
        ),
        min_size=1,
        max_size=8,
    ),
    st.characters().flatmap(
        escape
    ),  # every code point, surrogates included (as \\u escapes)
    st.sampled_from(
        [
            "\\ud83d\\ude00",
            "\\ud800",
            "\\udfff",
            "\\ud800\\u0041",
            "\\u0000",
            "é",
            "漢字",
            "😀",
            "\x7f",
        ]
    ),
)
STRINGS = st.lists(STRING_PIECE, max_size=6).map(
    lambda pieces: '"' + "".join(pieces) + '"'
)
SCALARS = st.one_of(NUMBERS, STRINGS, st.sampled_from(["true", "false", "null"]))


def wrap(w, text):
    return w + text + w


def containers(children):
    items = st.lists(st.tuples(WHITESPACE, children), max_size=6)
    arrays = items.map(lambda xs: "[" + ",".join(wrap(w, x) for w, x in xs) + "]")
    # Keys drawn from a few names so duplicates are common (the last value wins, the first place stays).
    keys = st.one_of(
        st.sampled_from(['"a"', '"b"', '"a"', '"\\u0061"', '"é"', '"\\ud83d\\ude00"']),
        STRINGS,
    )
    pairs = st.lists(st.tuples(WHITESPACE, keys, WHITESPACE, children), max_size=6)
    objects = pairs.map(
        lambda ps: "{" + ",".join(f"{w}{k}{w}:{v2}" for w, k, _, v2 in ps) + "}"
    )
    return st.one_of(arrays, objects)


JSON_TEXT = st.tuples(WHITESPACE, st.recursive(SCALARS, containers, max_leaves=40)).map(
    lambda t: wrap(*t)
)


@PROPERTY
@given(JSON_TEXT)
def test_loads_is_json_loads_on_valid_text(text):
    assert_loads_like_json(text)
    assert_loads_like_json(text.encode("utf-8", "surrogatepass"))


@PROPERTY
@given(JSON_TEXT, st.data())
def test_loads_is_json_loads_on_broken_text(text, data):
    """One edit anywhere: a deleted, replaced or inserted character. The same value or the
    same error (type and message, position included)."""
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    junk = data.draw(
        st.sampled_from(list(',:[]{}"\\ 0-.eE+\x00\x1f\ufeffnNIu') + ["\ud800"])
    )
    edit = data.draw(st.sampled_from(["delete", "replace", "insert"]))
    if edit == "delete":
        broken = text[:at] + text[at + 1 :]
    elif edit == "replace":
        broken = text[:at] + junk + text[at + 1 :]
    else:
        broken = text[:at] + junk + text[at:]
    assert_loads_like_json(broken)
    assert_loads_like_json(broken.encode("utf-8", "surrogatepass"))


@PROPERTY
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**200), max_value=2**200),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(st.text(max_size=5), children, max_size=5),
        ),
        max_leaves=60,
    ),
    st.booleans(),
    st.sampled_from([None, 1, "\t"]),
)
def test_loads_is_json_loads_on_what_json_dumps_writes(value, ascii_only, indent):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert_loads_like_json(text)
    assert same(loads_yielding(text), value)


@pytest.mark.parametrize("depth", [1, 150, 199, 200, 201, 500, 5000, 100_000])
def test_deep_nesting_is_json_loads(depth):
    for open_, close in (("[", "]"), ('{"k":', "}")):
        assert_loads_like_json(open_ * depth + "1" + close * depth)


def test_floats_across_the_whole_range_keep_every_bit():
    """Bit patterns spread over all exponents, subnormals included: each float's shortest
    repr and its 17-digit form read back to the same bits as json.loads gives."""
    rng = random.Random(12)
    floats = [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        for _ in range(50_000)
    ]
    floats = [x for x in floats if math.isfinite(x)] + [
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1e308,
        -0.0,
    ]
    for fmt in (repr, lambda x: f"{x:.17g}", lambda x: f"{x:.25e}"):
        text = "[" + ",".join(fmt(x) for x in floats) + "]"
        ours, theirs = loads_yielding(text), json.loads(text)
        assert same(ours, theirs)


def test_big_ints_beyond_the_interpreter_limit_fail_as_json_loads_does():
    assert_loads_like_json("[" + "9" * 5000 + "]")
    assert_loads_like_json("[" + "9" * 4300 + "]")


# ------------------------------------------------------------------------ dumps_yielding


DUMPABLE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**200), max_value=2**200),
        st.floats(),
        st.text(alphabet=st.characters()),
        st.binary(max_size=8),
        st.datetimes(timezones=st.just(datetime.timezone.utc)),
        st.sets(st.integers(), max_size=3),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(
            st.one_of(
                st.text(max_size=5),
                st.integers(),
                st.floats(),
                st.booleans(),
                st.none(),
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=60,
)


@PROPERTY
@given(DUMPABLE)
# A lone surrogate next to characters that only ASCII escaping would escape (found by
# hypothesis: they were written as \u007f / \u00e9 instead of as is).
@example("\x7f\ud800")
@example({"k\udc00": ["\u00e9\ud800\u2028", "\x7f"]})
def test_dumps_is_json_dumps(value):
    try:
        expected = (
            "bytes",
            json.dumps(value, default=json_default, ensure_ascii=False).encode(
                "utf-8", "backslashreplace"
            ),
        )
    except (TypeError, ValueError) as e:
        expected = ("error", type(e), str(e))
    try:
        got = ("bytes", dumps_yielding(value, json_default))
    except (TypeError, ValueError) as e:
        got = ("error", type(e), str(e))
    # (A lone surrogate, which UTF-8 cannot hold, is written as json's \\udXXX escape.)
    assert got == expected


# ----------------------------------------------------------- notebooks made by libraries


def real_outputs_notebook() -> str:
    """A notebook whose outputs are what plotly, altair (vega-lite) and ipywidgets make."""
    import altair as alt
    import ipywidgets
    import plotly.graph_objects as go

    rng = random.Random(7)
    xs = [rng.gauss(0, 1) for _ in range(2000)]
    ys = [rng.lognormvariate(0, 1) * 1e-7 for _ in range(2000)]
    plotly_fig = go.Figure(go.Scatter(x=xs, y=ys, mode="markers")).update_layout(
        title="random"
    )
    plotly_json = json.loads(plotly_fig.to_json())
    chart = (
        alt.Chart(
            alt.Data(values=[{"x": x, "y": y} for x, y in zip(xs[:500], ys[:500])])
        )
        .mark_point()
        .encode(x="x:Q", y="y:Q")
    )
    vega = chart.to_dict()
    slider = ipywidgets.FloatSlider(
        value=float(xs[0]), min=-1e300, max=1e300, step=1e-9
    )
    state = ipywidgets.Widget.get_manager_state(drop_defaults=False)
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": state}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "fig",
            execution_count=1,
            outputs=[
                nbformat.v4.new_output(
                    "execute_result",
                    {
                        "application/vnd.plotly.v1+json": plotly_json,
                        "text/plain": "Figure",
                    },
                    execution_count=1,
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "chart",
            execution_count=2,
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    {"application/vnd.vegalite.v5+json": vega, "text/plain": "Chart"},
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "slider",
            execution_count=3,
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    {
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": slider.model_id,
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": "Slider",
                    },
                )
            ],
        ),
    ]
    return nbformat.writes(nb)


def test_real_plotly_vega_widget_notebook_reads_exactly():
    text = real_outputs_notebook()
    assert_loads_like_json(text)
    assert_loads_like_json(text.encode())
    ours = _reads_yielding(text.encode(), {})
    theirs = nbformat.reads(text, as_version=4)
    assert same(json.loads(json.dumps(ours)), json.loads(json.dumps(theirs)))
    # Written back, not a byte changes.
    assert nbformat.writes(ours) == nbformat.writes(theirs) == text
