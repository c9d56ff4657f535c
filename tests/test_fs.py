"""``contents_manager.fs`` gives what s3contents' ``fs`` gives, call for call.

The same script of ``fs`` calls runs against s3contents 0.11.2 (under the reference
interpreter, see test_s3contents_compat.py) and against our S3ContentsManager, each in its
own prefix of the same bucket; every result (return value, or exception class and HTTP
status) must be the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.reference import ref_python

import s3contents_rs

pytestmark = pytest.mark.timeout(300)

SCRIPT = textwrap.dedent(
    r"""
    import base64, datetime, json, sys
    from tornado.web import HTTPError
    cfg = json.loads(sys.argv[1])
    if cfg["impl"] == "s3contents":
        from s3contents import S3ContentsManager
    else:
        from s3contents_rs import S3ContentsManager
    fs = S3ContentsManager(**cfg["kwargs"]).fs
    full = fs.get_prefix()
    out = []

    def norm(value):
        if isinstance(value, str):
            return value.replace(full, "<bucket/prefix>")
        if isinstance(value, (list, tuple)):
            return [norm(v) for v in value]
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, datetime.datetime):
            utc = value.utcoffset() == datetime.timedelta(0)
            return f"datetime(utc={utc}, whole_seconds={value.microsecond == 0})"
        return value

    def call(name, *args, sort=False, **kwargs):
        try:
            result = getattr(fs, name)(*args, **kwargs)
            result = sorted(result) if sort else result
        except Exception as e:
            # (our exceptions carry a status too; compare the HTTP errors' only)
            result = ["raised", type(e).__name__, e.status_code if isinstance(e, HTTPError) else None]
        out.append([name, norm(list(args)), norm(result)])

    call("init")
    call("write", "a.txt", "hello", "text")
    call("write", "bin.dat", base64.b64encode(bytes(range(256))).decode(), "base64")
    call("write", "d/x.txt", "x", "text")
    call("write", "bad.txt", "x", "json")
    call("write", "bad.txt", "not base64!", "base64")
    call("mkdir", "e")
    call("writenotebook", "n.ipynb", "{}")
    for path in ("", "d", "e", "a.txt", "missing"):
        call("ls", path, sort=True)
    for path in ("a.txt", "d", "e", "", "missing"):
        call("isfile", path)
        call("isdir", path)
    for path, fmt in (("a.txt", "text"), ("a.txt", None), ("a.txt", "json"), ("bin.dat", None),
                      ("bin.dat", "base64"), ("bin.dat", "text"), ("d", "text"), ("missing", None)):
        call("read", path, fmt)
    for path in ("a.txt", "e", "d", "missing"):
        call("lstat", path)
    call("cp", "a.txt", "b.txt")
    call("read", "b.txt", "text")
    call("cp", "d", "d3")
    call("ls", "d3", sort=True)
    call("mv", "b.txt", "c.txt")
    call("isfile", "b.txt")
    call("write", "a.txt", "changed", "text")
    call("cp", "a.txt", "c.txt")
    call("read", "c.txt", "text")
    call("mv", "d3", "d4")
    call("isdir", "d3")
    call("ls", "d4", sort=True)
    call("rm", "c.txt")
    call("rm", "d4")
    call("rm", "missing")
    call("ls", "", sort=True)
    call("path", "x/y")
    call("path", full + "/x")
    call("remove_prefix", full + "/x")
    call("remove_prefix", ["a", full + "/b"])
    call("read", full + "/a.txt", "text")
    out.append(["get_prefix", [], norm(fs.get_prefix())])
    print("RESULT:" + json.dumps(out))
    """
)


def run(
    python: str, impl: str, kwargs: dict, tmp_path: Path, pythonpath: str | None = None
) -> list:
    script = tmp_path / "fs_script.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env["JUPYTER_DATA_DIR"] = str(tmp_path / f"data-{impl}")
    proc = subprocess.run(
        [python, str(script), json.dumps({"impl": impl, "kwargs": kwargs})],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT:")]
    assert proc.returncode == 0 and lines, (
        f"{impl} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
    return json.loads(lines[-1][len("RESULT:") :])


@pytest.mark.compatibility
def test_fs_gives_what_s3contents_fs_gives(
    s3_settings, s3_client, test_prefix, tmp_path
):
    from support.s3_fixtures import RawBucket

    theirs_prefix = f"{test_prefix}-s3contents"
    try:
        theirs = run(
            ref_python(),
            "s3contents",
            s3_settings.manager_kwargs(theirs_prefix),
            tmp_path,
        )
    finally:
        RawBucket(s3_client, s3_settings.bucket, theirs_prefix).delete_all()
    ours = run(
        sys.executable, "ours", s3_settings.manager_kwargs(test_prefix), tmp_path
    )
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine == reference, (
            f"fs.{mine[0]}{tuple(mine[1])}: ours {mine[2]!r}, s3contents {reference[2]!r}"
        )
    # and the script did something: the file written first is read back
    assert ["read", ["a.txt", "text"], ["hello", "text"]] in ours


def test_fs_is_stricter_where_s3contents_would_lose_data(make_cm, raw):
    fs = make_cm().raw.fs  # blocking for both managers, as in s3contents
    fs.write("keep.txt", "keep", "text")
    # s3contents' rm("") deletes everything under the prefix (or the bucket's content)
    from tornado.web import HTTPError

    with pytest.raises(HTTPError) as info:
        fs.rm("")
    assert info.value.status_code == 400
    assert raw.read("keep.txt") == b"keep"
    # a missing file is NoSuchFile, which is also a FileNotFoundError (404)
    with pytest.raises(FileNotFoundError):
        fs.read("nope.txt", "text")
    assert issubclass(
        s3contents_rs.fs.NoSuchFile, s3contents_rs.exceptions.NotFoundError
    )
