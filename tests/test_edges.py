"""The edges of /files and of file content: the header parsing the bindings do before the
core sees typed values, base64 encoded while an object streams in, checked against
Python's ``base64.b64encode`` for any length and any piece boundary, and a saved file's
base64 decoded in Rust, checked against Python's ``base64.b64decode``. Runs on file:// (a
local directory), whose store hands an object over in pieces of a few KiB."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3contents_rs import S3ContentsManager
from s3contents_rs._core import ContentsStore, decode_base64
from s3contents_rs.exceptions import RangeNotSatisfiableError

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# The local store reads in pieces of 8 KiB: lengths around their multiples put the
# boundaries at every offset of a 3-byte base64 group.
PIECE = 8 * 1024
LENGTHS = st.one_of(
    st.integers(min_value=0, max_value=64),
    st.builds(lambda k, d: max(0, k * PIECE + d), st.integers(1, 40), st.integers(-4, 4)),
    st.integers(min_value=0, max_value=300_000),
)


@pytest.fixture
def store(tmp_path):
    return ContentsStore(tmp_path.as_uri())


def data_of(length: int, seed: int) -> bytes:
    # Not UTF-8 (0xff), so "auto" takes the base64 path too.
    return bytes([0xFF]) + bytes((i * 131 + seed) % 256 for i in range(max(0, length - 1)))


@PROPERTY
@given(
    length=LENGTHS,
    seed=st.integers(0, 255),
    encoding=st.sampled_from(["base64", "auto"]),
)
def test_streamed_base64_is_b64encode(store, tmp_path, length, seed, encoding):
    data = data_of(length, seed)[:length]
    (tmp_path / "f.bin").write_bytes(data)
    _, content, fmt, _ = store.get("f.bin", encoding)
    if encoding == "auto" and not data:
        assert fmt == "text" and content == ""
        return
    assert fmt == "base64"
    assert content == base64.b64encode(data).decode("ascii")


@PROPERTY
@given(
    prefix=st.text(alphabet="abc ✓é\n", max_size=20_000),
    tail=st.binary(min_size=1, max_size=5),
)
def test_auto_switches_to_base64_at_any_offset(store, tmp_path, prefix, tail):
    data = prefix.encode() + tail
    (tmp_path / "f.bin").write_bytes(data)
    _, content, fmt, _ = store.get("f.bin", "auto")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert fmt == "base64" and content == base64.b64encode(data).decode("ascii")
    else:
        assert fmt == "text" and content == data.decode("utf-8")


@PROPERTY
@given(data=st.one_of(st.binary(max_size=2_000), st.builds(data_of, LENGTHS, st.integers(0, 255))))
def test_canonical_base64_is_decoded_in_rust(data):
    """What b64encode (and JupyterLab's btoa) produces always takes the Rust path."""
    assert decode_base64(base64.b64encode(data).decode("ascii")) == data


# Near-base64 text: the alphabet, padding, whitespace str.split() drops, the URL-safe
# alphabet's symbols and a non-ASCII letter.
NEAR_BASE64 = st.text(alphabet="QUJDRA0+/=\n\t \r\x0b\x0c\x1c-_é", max_size=40)


def python_save_decode(content: str) -> bytes:
    """How a saved file's base64 was decoded before the Rust path: line breaks (and other
    whitespace) dropped, then Python's strict-alphabet decoder."""
    return base64.b64decode("".join(content.split()).encode("ascii"), validate=True)


@PROPERTY
@given(text=st.one_of(NEAR_BASE64, st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())))
def test_any_text_decodes_in_rust_as_python_does_or_is_left_to_python(text):
    decoded = decode_base64(text)
    if decoded is not None:
        assert decoded == base64.b64decode(text, validate=True)


@pytest.fixture(scope="module")
def offline_manager():
    # Decoding a save's content asks the store nothing: no server behind this endpoint.
    return S3ContentsManager(
        bucket="unused", endpoint_url="http://127.0.0.1:9", access_key_id="k", secret_access_key="s"
    )


@PROPERTY
@given(text=st.one_of(NEAR_BASE64, st.binary(max_size=30).map(lambda b: base64.encodebytes(b).decode())))
def test_a_saved_files_base64_is_decoded_as_python_decodes_it(offline_manager, text):
    model = {"type": "file", "format": "base64", "content": text}
    try:
        expected = python_save_decode(text)
    except (ValueError, UnicodeEncodeError):
        with pytest.raises(Exception) as raised:
            offline_manager._serialize(model, "f.bin")
        assert getattr(raised.value, "status_code", None) == 400, raised.value
    else:
        assert offline_manager._serialize(model, "f.bin") == (expected, {})


DATA = bytes(range(256)) * 40


@pytest.fixture
def file_store(store, tmp_path):
    (tmp_path / "d.bin").write_bytes(DATA)
    return store


def body(download) -> bytes:
    out = b""
    while piece := download.read():
        out += piece
    return out


@pytest.mark.parametrize(
    "header, served",
    [
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, len(DATA))),
        ("bytes=-10", (len(DATA) - 10, len(DATA))),
        (" bytes = 5 - 9 ", None),  # the unit is `bytes=` exactly
        ("bytes= 5 - 9 ", (5, 10)),
        ("bytes=5000-99999", (5000, len(DATA))),
        ("bytes=0-18446744073709551615", (0, len(DATA))),
        # Ignored: the whole file (RFC 9110 lets a server ignore Range).
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=9-3", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=99999999999999999999-", None),
        ("", None),
    ],
)
def test_range_headers(file_store, header, served):
    download = file_store.open_download("d.bin", header, None)
    assert download.range == served and not download.not_modified
    start, end = served or (0, len(DATA))
    assert body(download) == DATA[start:end]


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=-0", "bytes=999999-1000000"])
def test_unsatisfiable_ranges(file_store, header):
    with pytest.raises(RangeNotSatisfiableError):
        file_store.open_download("d.bin", header, None)


def test_if_none_match_forms(file_store):
    etag = file_store.stat("d.bin").etag
    tag = etag.strip('"')
    current = [
        f'"{tag}"',
        f'W/"{tag}"',
        tag,
        "*",
        f'"other", "{tag}"',
        f'W/"x",W/"{tag}"',
        f' "{tag}" ',
    ]
    for header in current:
        for range_header in [None, "bytes=0-9", f"bytes={len(DATA)}-"]:
            download = file_store.open_download("d.bin", range_header, header)
            assert download.not_modified, (header, range_header)
            assert download.entry.etag.strip('"') == tag and body(download) == b""
    stale = ['"other"', 'W/"other"', f'"{tag}x"', f'"{tag}', "", " , ", '""']
    for header in stale:
        download = file_store.open_download("d.bin", None, header)
        assert not download.not_modified, header
        assert body(download) == DATA
