"""Contents-manager API tests, run against both the sync and the async manager (the
``cm`` fixture is parametrized) on every store (the ``backend`` fixture,
tests/support/backends.py: S3, GCS, Azure, local files).

The contract is jupyter_server's FileContentsManager (models, types, formats,
naming, HTTP status codes) plus the S3 storage layout of the PyPI package
``s3contents``: path ``a/b.ipynb`` is the object ``<prefix>/a/b.ipynb``, an
empty directory is ``<dir>/.s3keep``, checkpoints live in the bucket at
``<dir>/.ipynb_checkpoints/<basename>-<id><ext>``.
"""

from __future__ import annotations

import base64
import datetime
import gc
import json
import logging
import time

import boto3
import nbformat
import pytest
from jupyter_server.services.contents.checkpoints import AsyncCheckpoints, Checkpoints
from jupyter_server.services.contents.manager import AsyncContentsManager, ContentsManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support.s3c_helpers import b64, check_model, expect_http, listing, manager_classes, nb_sources, sha256
from traitlets import TraitError
from traitlets.config import Config, LoggingConfigurable

# Every store (S3, GCS, Azure, local files) through the ``backend`` fixture, sync and async
# manager through ``cm``; what stays on S3 and why: tests/support/backends.py.
pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# --------------------------------------------------------------------------- helpers
def make_nb(source: str = "print('hello')", *, outputs=None) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# A title"))
    nb.cells.append(new_code_cell(source, outputs=outputs or []))
    return nb


def nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def nb_model(nb) -> dict:
    return {"type": "notebook", "content": nb}


def text_model(text: str) -> dict:
    return {"type": "file", "format": "text", "content": text}


def b64_model(data: bytes) -> dict:
    return {"type": "file", "format": "base64", "content": b64(data)}


def utc(dt: datetime.datetime) -> datetime.datetime:
    return dt.astimezone(datetime.timezone.utc)


# =========================================================================== classes / config
def test_class_hierarchy():
    import s3contents_rs
    from s3contents_rs import (
        AsyncS3Checkpoints,
        AsyncS3ContentsManager,
        S3Checkpoints,
        S3ContentsManager,
    )

    assert issubclass(S3ContentsManager, ContentsManager)
    assert not issubclass(S3ContentsManager, AsyncContentsManager)
    assert issubclass(AsyncS3ContentsManager, AsyncContentsManager)
    assert issubclass(S3Checkpoints, Checkpoints)
    assert issubclass(AsyncS3Checkpoints, AsyncCheckpoints)
    assert hasattr(s3contents_rs, "exceptions")


def test_instance_defaults(cm):
    from s3contents_rs import AsyncS3Checkpoints, S3Checkpoints

    expected = AsyncS3Checkpoints if cm.is_async else S3Checkpoints
    assert isinstance(cm.raw.checkpoints, expected)
    assert cm.max_checkpoints == 1
    assert cm.always_delete_dir is True
    assert cm.delimiter == "/"
    assert cm.allow_hidden is False


def test_exceptions_module():
    from s3contents_rs import exceptions as exc

    expected = {
        "NotFoundError": (FileNotFoundError, 404),
        "AlreadyExistsError": (FileExistsError, 409),
        "PermissionDeniedError": (PermissionError, 403),
        "InvalidPathError": (ValueError, 400),
        "BadRequestError": (Exception, 400),
    }
    for name, (base, status) in expected.items():
        cls = getattr(exc, name)
        assert issubclass(cls, base), f"{name} should subclass {base.__name__}"
        err = cls("boom")
        assert err.status_code == status, f"{name}.status_code == {err.status_code}"
    err = exc.StorageError("boom")
    assert isinstance(err, Exception)
    assert isinstance(err.status_code, int) and err.status_code >= 500


S3_TRAITS = [
    "bucket",
    "prefix",
    "endpoint_url",
    "region_name",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "anon",
    "signature_version",
    "sse",
    "kms_key_id",
    "skip_tls_verify",
    "delimiter",
    "init_s3_hook",
    "pre_save_hook",
    "post_save_hook",
    "max_checkpoints",
]


@pytest.mark.parametrize("flavor_name", ["sync", "async"])
def test_traits_exist_and_are_configurable(flavor_name):
    cls = manager_classes()[flavor_name]
    traits = cls.class_traits()
    for name in [*S3_TRAITS, "boto3_session", "allow_hidden", "hide_globs", "always_delete_dir"]:
        assert name in traits, f"missing trait {name}"
    for name in S3_TRAITS:
        assert traits[name].metadata.get("config") is True, f"trait {name} is not config=True"


@pytest.mark.parametrize(
    ("trait", "value"),
    [
        ("bucket", "Bad_Bucket!"),
        ("sse", "nonsense"),
        ("endpoint_url", "127.0.0.1:9000"),
    ],
)
def test_invalid_config_rejected(manager_class, manager_kwargs, trait, value):
    kwargs = dict(manager_kwargs)
    kwargs[trait] = value
    with pytest.raises((TraitError, ValueError)) as info:
        manager_class(**kwargs)
    assert trait in str(info.value), f"error message does not name {trait!r}: {info.value}"


def test_bucket_url_form(make_cm, raw, s3_settings, caplog):
    log = logging.getLogger("s3contents_rs.tests.bucket_url")
    with caplog.at_level(logging.WARNING):
        cm = make_cm(bucket=f"s3://{s3_settings.bucket}/ignored/part", log=log)
    assert cm.bucket == s3_settings.bucket
    assert any(r.levelno >= logging.WARNING for r in caplog.records), "no warning was logged"
    cm.save(text_model("via url bucket"), "u.txt")
    assert raw.read("u.txt") == b"via url bucket"
    assert cm.get("u.txt")["content"] == "via url bucket"


def test_parent_log_and_config_kwargs(manager_class, flavor, manager_kwargs, raw, jp_asyncio_loop):
    """HybridContentsManager-style construction: cls(parent=..., log=..., **kwargs)."""
    from support.s3c_helpers import ManagerAdapter

    parent = LoggingConfigurable(config=Config({manager_class.__name__: {"max_checkpoints": 2}}))
    log = logging.getLogger("s3contents_rs.tests.parent")
    mgr = manager_class(parent=parent, log=log, **manager_kwargs)
    assert mgr.parent is parent
    assert mgr.log is log
    assert mgr.max_checkpoints == 2
    cm = ManagerAdapter(mgr, flavor, jp_asyncio_loop)
    cm.save(text_model("x"), "p.txt")
    assert raw.read("p.txt") == b"x"


def test_config_object_construction(manager_class, flavor, manager_kwargs, raw, jp_asyncio_loop):
    """Traits given through a traitlets Config (how jupyter_server configures it)."""
    from support.s3c_helpers import ManagerAdapter

    mgr = manager_class(config=Config({manager_class.__name__: dict(manager_kwargs)}))
    assert mgr.prefix == manager_kwargs["prefix"]
    cm = ManagerAdapter(mgr, flavor, jp_asyncio_loop)
    cm.save(text_model("cfg"), "c.txt")
    assert raw.read("c.txt") == b"cfg"


def test_init_s3_hook_runs_before_storage_setup(make_cm, raw, test_prefix):
    calls = []

    def hook(manager):
        calls.append(manager)
        manager.prefix = f"{test_prefix}/from-hook"

    cm = make_cm(prefix=f"{test_prefix}/from-ctor", init_s3_hook=hook)
    assert calls == [cm.raw]
    cm.save(text_model("h"), "h.txt")
    assert raw.exists("from-hook/h.txt")
    assert not raw.exists("from-ctor/h.txt")


def test_boto3_session_credentials(make_cm, s3_settings, raw):
    session = boto3.Session(
        aws_access_key_id=s3_settings.access_key_id,
        aws_secret_access_key=s3_settings.secret_access_key,
        region_name=s3_settings.region_name,
    )
    cm = make_cm(access_key_id=None, secret_access_key=None, boto3_session=session)
    cm.save(text_model("session"), "s.txt")
    assert raw.read("s.txt") == b"session"


def test_nested_prefix(make_cm, raw, test_prefix):
    cm = make_cm(prefix=f"{test_prefix}/nested/deeper")
    cm.save(text_model("n"), "a/b.txt")
    assert raw.read("nested/deeper/a/b.txt") == b"n"
    assert set(listing(cm.get("a"))) == {"b.txt"}


def test_empty_prefix_maps_paths_to_bucket_root(make_cm, raw, test_prefix):
    cm = make_cm(prefix="")
    model = cm.save(text_model("root"), f"{test_prefix}/x.txt")
    assert model["path"] == f"{test_prefix}/x.txt"
    assert raw.read("x.txt") == b"root"  # key is exactly "<test_prefix>/x.txt"
    assert "x.txt" in listing(cm.get(test_prefix))


def test_sse_aes256(make_cm, raw):
    cm = make_cm(sse="AES256")
    cm.save(text_model("secret"), "enc.txt")
    assert raw.head("enc.txt").get("ServerSideEncryption") == "AES256"


def test_sse_kms_with_key_id(make_cm, raw, s3_settings):
    if s3_settings.external:
        pytest.skip("SSE-KMS needs a real KMS key id; only checked against moto")
    key_id = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    cm = make_cm(sse="aws:kms", kms_key_id=key_id)
    cm.save(text_model("kms"), "kms.txt")
    head = raw.head("kms.txt")
    assert head.get("ServerSideEncryption") == "aws:kms"
    assert head.get("SSEKMSKeyId") == key_id
    assert cm.get("kms.txt")["content"] == "kms"


def test_signature_version_and_skip_tls_verify_accepted(make_cm, raw):
    cm = make_cm(signature_version="s3v4", skip_tls_verify=True)
    cm.save(text_model("sig"), "sig.txt")
    assert raw.read("sig.txt") == b"sig"


def test_preferred_dir(make_cm, raw):
    raw.put("work/.s3keep")
    cm = make_cm(preferred_dir="work")
    assert cm.preferred_dir == "work"
    with pytest.raises(TraitError):
        make_cm(preferred_dir="does-not-exist")


# =========================================================================== get
def test_get_root_empty(cm):
    model = check_model(cm.get(""), content=True)
    assert model["name"] == ""
    assert model["path"] == ""
    assert model["type"] == "directory"
    assert model["content"] == []
    model = check_model(cm.get("", content=False), content=False)
    assert model["content"] is None
    assert model["format"] is None


def test_get_notebook(cm, raw):
    nb = make_nb()
    data = nb_bytes(nb)
    raw.put("sub/nb.ipynb", data)
    model = check_model(cm.get("sub/nb.ipynb"), content=True)
    assert model["name"] == "nb.ipynb"
    assert model["path"] == "sub/nb.ipynb"
    assert model["type"] == "notebook"
    assert model["format"] == "json"
    assert model["size"] == len(data)
    assert nb_sources(model["content"]) == nb_sources(nb)
    assert model["content"]["nbformat"] == 4

    model = check_model(cm.get("sub/nb.ipynb", content=False), content=False)
    assert model["type"] == "notebook"
    assert model["content"] is None
    assert model["format"] is None
    assert model["size"] == len(data)


def test_get_text_file(cm, raw):
    data = "héllo wörld\n".encode()
    raw.put("d/hello.txt", data)
    model = check_model(cm.get("d/hello.txt"), content=True)
    assert model["type"] == "file"
    assert model["format"] == "text"
    assert model["content"] == "héllo wörld\n"
    assert model["mimetype"] == "text/plain"
    assert model["size"] == len(data)
    assert model["name"] == "hello.txt"
    assert model["path"] == "d/hello.txt"

    model = check_model(cm.get("d/hello.txt", content=False), content=False)
    assert model["content"] is None
    assert model["format"] is None
    assert model["mimetype"] == "text/plain"
    assert model["size"] == len(data)


def test_get_binary_file_defaults_to_base64(cm, raw):
    data = b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10
    raw.put("img.png", data)
    model = check_model(cm.get("img.png"), content=True)
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == data
    assert model["mimetype"] == "image/png"
    assert model["size"] == len(data)


def test_get_binary_unknown_extension_mimetype(cm, raw):
    raw.put("blob.dat", b"\xff\xfe\x00")
    model = cm.get("blob.dat")
    assert model["format"] == "base64"
    assert model["mimetype"] == "application/octet-stream"
    assert cm.get("blob.dat", content=False)["mimetype"] is None


def test_get_text_file_as_base64(cm, raw):
    raw.put("t.txt", b"plain text")
    model = check_model(cm.get("t.txt", format="base64"), content=True)
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == b"plain text"
    assert model["mimetype"] == "text/plain"


def test_get_binary_as_text_is_400(cm, raw):
    raw.put("bin.txt", b"\xff\xfe\xfd not utf-8")
    expect_http(400, cm.get, "bin.txt", format="text")


def test_get_type_mismatch_is_400(cm, raw):
    raw.put("dir/.s3keep")
    raw.put("dir/f.txt", b"x")
    raw.put("nb.ipynb", nb_bytes(make_nb()))
    expect_http(400, cm.get, "dir", type="file")
    expect_http(400, cm.get, "dir", type="notebook")
    expect_http(400, cm.get, "dir/f.txt", type="directory")
    expect_http(400, cm.get, "nb.ipynb", type="directory")
    # the matching explicit types work
    assert cm.get("dir", type="directory")["type"] == "directory"
    assert cm.get("nb.ipynb", type="notebook")["type"] == "notebook"
    assert cm.get("dir/f.txt", type="file")["content"] == "x"


def test_get_notebook_as_file(cm, raw):
    data = nb_bytes(make_nb())
    raw.put("nb.ipynb", data)
    model = check_model(cm.get("nb.ipynb", type="file"), content=True)
    assert model["type"] == "file"
    assert model["format"] == "text"
    assert model["content"] == data.decode("utf-8")
    model = check_model(cm.get("nb.ipynb", type="file", format="base64"), content=True)
    assert base64.b64decode(model["content"]) == data


def test_get_json_file_as_notebook(cm, raw):
    nb = make_nb("x = 1")
    raw.put("nb.json", nb_bytes(nb))
    model = check_model(cm.get("nb.json", type="notebook"), content=True)
    assert model["type"] == "notebook"
    assert nb_sources(model["content"]) == nb_sources(nb)


@pytest.mark.parametrize("path", ["nope.txt", "nope", "a/b/c.ipynb", "nope/"])
def test_get_missing_is_404(cm, path):
    expect_http(404, cm.get, path)
    expect_http(404, cm.get, path, content=False)


def test_get_strips_slashes(cm, raw):
    raw.put("dir/hello.txt", b"hi")
    model = cm.get("/dir/hello.txt/")
    assert model["path"] == "dir/hello.txt"
    assert model["content"] == "hi"
    assert cm.get("/dir/")["path"] == "dir"


@pytest.mark.parametrize("content", [True, False])
def test_require_hash(cm, raw, content):
    nbdata = nb_bytes(make_nb())
    raw.put("h/nb.ipynb", nbdata)
    raw.put("h/f.txt", b"hash me")
    raw.put("h/b.bin", b"\x00\x01\xff")
    for path, data in (("h/nb.ipynb", nbdata), ("h/f.txt", b"hash me"), ("h/b.bin", b"\x00\x01\xff")):
        model = check_model(cm.get(path, content=content, require_hash=True), content=content, require_hash=True)
        assert model["hash"] == sha256(data), path
        assert model["hash_algorithm"] == "sha256", path
        model = cm.get(path, content=content)
        assert model.get("hash") is None, path


def test_directory_listing_entries(cm, raw):
    nbdata = nb_bytes(make_nb())
    raw.put("proj/a.ipynb", nbdata)
    raw.put("proj/b.txt", b"bee")
    raw.put("proj/sub/.s3keep")
    model = check_model(cm.get("proj"), content=True)
    entries = listing(model)
    assert set(entries) == {"a.ipynb", "b.txt", "sub"}
    assert entries["a.ipynb"]["type"] == "notebook"
    assert entries["a.ipynb"]["path"] == "proj/a.ipynb"
    assert entries["a.ipynb"]["size"] == len(nbdata)
    assert entries["b.txt"]["type"] == "file"
    assert entries["b.txt"]["size"] == 3
    assert entries["b.txt"]["mimetype"] == "text/plain"
    assert entries["sub"]["type"] == "directory"
    assert entries["sub"]["path"] == "proj/sub"
    for entry in entries.values():
        assert entry["content"] is None
        assert entry["format"] is None


# =========================================================================== save
def test_save_notebook(cm, raw):
    nb = make_nb("print(42)")
    model = check_model(cm.save(nb_model(nb), "work/nb.ipynb"), content=False)
    assert model["type"] == "notebook"
    assert model["name"] == "nb.ipynb"
    assert model["path"] == "work/nb.ipynb"
    assert model["content"] is None
    assert not model.get("message")
    stored = raw.read("work/nb.ipynb")
    assert model["size"] == len(stored)
    assert nb_sources(nbformat.reads(stored.decode("utf-8"), as_version=4)) == nb_sources(nb)
    got = cm.get("work/nb.ipynb")
    assert nb_sources(got["content"]) == nb_sources(nb)


def test_save_text_file(cm, raw):
    text = "line one\nünïcode ✓\n"
    model = check_model(cm.save(text_model(text), "notes/a.txt"), content=False)
    assert model["type"] == "file"
    assert model["content"] is None
    assert raw.read("notes/a.txt") == text.encode("utf-8")
    assert model["size"] == len(text.encode("utf-8"))
    assert cm.get("notes/a.txt")["content"] == text


def test_save_base64_file(cm, raw):
    data = bytes(range(256)) * 4
    cm.save(b64_model(data), "bin/data.bin")
    assert raw.read("bin/data.bin") == data
    model = cm.get("bin/data.bin")
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == data


def test_save_base64_with_newlines(cm, raw):
    """base64 as produced by base64.encodebytes (what FileContentsManager returns)."""
    data = b"\x00\x10\x80\xff" * 100
    cm.save({"type": "file", "format": "base64", "content": base64.encodebytes(data).decode()}, "nl.bin")
    assert raw.read("nl.bin") == data


def test_save_overwrites(cm, raw):
    cm.save(text_model("first"), "o.txt")
    cm.save(text_model("second, longer"), "o.txt")
    assert raw.read("o.txt") == b"second, longer"
    assert cm.get("o.txt")["content"] == "second, longer"


def test_save_directory_creates_marker(cm, raw):
    model = check_model(cm.save({"type": "directory"}, "newdir"), content=False)
    assert model["type"] == "directory"
    assert model["path"] == "newdir"
    assert raw.read("newdir/.s3keep") == b""
    assert check_model(cm.get("newdir"), content=True)["content"] == []
    assert "newdir" in listing(cm.get(""))
    # saving an existing directory again is fine
    cm.save({"type": "directory"}, "newdir")
    cm.save({"type": "directory"}, "newdir/child")
    assert raw.exists("newdir/child/.s3keep")
    assert set(listing(cm.get("newdir"))) == {"child"}


@pytest.mark.parametrize(
    "model",
    [
        {"content": "no type", "format": "text"},
        {"type": "file", "format": "text"},
        {"type": "bogus", "content": "x", "format": "text"},
        {"type": "file", "content": "missing format"},
        {"type": "file", "format": "base64", "content": "abc"},
        {"type": "file", "format": "nonsense", "content": "x"},
    ],
    ids=["no-type", "no-content", "bad-type", "no-format", "invalid-base64", "bad-format"],
)
def test_save_bad_model_is_400(cm, raw, model):
    expect_http(400, cm.save, model, "bad.txt")
    assert not raw.exists("bad.txt")


def test_pre_save_hook(make_cm, raw):
    calls = []

    def hook(model, path, contents_manager, **kwargs):
        calls.append((path, contents_manager))
        if model["type"] == "file":
            model["content"] = model["content"].upper()
        elif model["type"] == "notebook":
            for cell in model["content"]["cells"]:
                if cell["cell_type"] == "code":
                    cell["outputs"] = []
                    cell["execution_count"] = None

    cm = make_cm(pre_save_hook=hook)
    cm.save(text_model("shout"), "d/p.txt")
    assert raw.read("d/p.txt") == b"SHOUT"
    nb = make_nb(outputs=[new_output("stream", name="stdout", text="out")])
    nb.cells[1]["execution_count"] = 3
    cm.save(nb_model(nb), "d/p.ipynb")
    stored = nbformat.reads(raw.read("d/p.ipynb").decode(), as_version=4)
    assert stored.cells[1]["outputs"] == []
    assert stored.cells[1]["execution_count"] is None
    assert [c[0] for c in calls] == ["d/p.txt", "d/p.ipynb"]
    assert all(c[1] is cm.raw for c in calls)


def test_post_save_hook_gets_s3_path(make_cm, raw):
    calls = []

    def hook(model, s3_path, contents_manager, **kwargs):
        calls.append({"model": dict(model), "s3_path": s3_path, "cm": contents_manager})

    cm = make_cm(post_save_hook=hook)
    cm.save(text_model("posted"), "d/post.txt")
    assert len(calls) == 1
    call = calls[0]
    assert call["s3_path"] == "d/post.txt"
    assert call["cm"] is cm.raw
    assert call["model"]["path"] == "d/post.txt"
    assert call["model"]["type"] == "file"


def test_post_save_hook_readme_pattern_with_fs(make_cm, raw):
    """The s3contents README pattern: a post-save hook reading the saved file
    with contents_manager.fs.read and writing a derived file with fs.write."""

    def hook(model, s3_path, contents_manager, **kwargs):
        if not s3_path.endswith(".txt"):
            return
        content, fmt = contents_manager.fs.read(s3_path, format="text")
        assert fmt == "text"
        contents_manager.fs.write(s3_path[: -len(".txt")] + ".upper", content.upper(), "text")

    cm = make_cm(post_save_hook=hook)
    cm.save(text_model("derive me"), "d/src.txt")
    assert raw.read("d/src.upper") == b"DERIVE ME"


def test_post_save_hook_failure_is_500(make_cm, raw):
    def hook(**kwargs):
        raise RuntimeError("hook exploded")

    cm = make_cm(post_save_hook=hook)
    expect_http(500, cm.save, text_model("x"), "f.txt")


def test_notebook_validation_message(cm, raw):
    nb = make_nb()
    nb.cells[1]["bogus_property"] = 1  # not allowed by the nbformat schema
    model = cm.save(nb_model(nb), "invalid.ipynb")
    assert model["message"].startswith("Notebook validation failed"), model.get("message")
    assert raw.exists("invalid.ipynb")
    got = cm.get("invalid.ipynb")
    assert got["message"].startswith("Notebook validation failed"), got.get("message")


def test_unreadable_notebook_is_400(cm, raw):
    raw.put("broken.ipynb", b"{ this is not json")
    expect_http(400, cm.get, "broken.ipynb")
    # still accessible as a plain file
    assert cm.get("broken.ipynb", type="file")["content"] == "{ this is not json"


def test_trust_notebook(cm, raw):
    nb = make_nb("1 + 1", outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=1)])
    raw.put("t.ipynb", nb_bytes(nb))  # unsigned
    model = cm.get("t.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert code and all(c["metadata"].get("trusted") is False for c in code)

    cm.trust_notebook("t.ipynb")
    model = cm.get("t.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("trusted") is True for c in code)


def test_save_trusted_notebook_is_signed(cm, raw):
    nb = make_nb("2 + 2", outputs=[new_output("execute_result", data={"text/plain": "4"}, execution_count=1)])
    nb.cells[1]["metadata"]["trusted"] = True
    cm.save(nb_model(nb), "signed.ipynb")
    code = [c for c in cm.get("signed.ipynb")["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("trusted") is True for c in code)


def big_nb(cells: int = 400, *, trusted_output: bool = True) -> nbformat.NotebookNode:
    """A notebook of a few MB: above the size from which the async manager parses,
    validates and signs in a worker thread."""
    nb = new_notebook()
    for i in range(cells):
        outputs = [new_output("stream", name="stdout", text=f"line {i}\n" * 400)]
        if trusted_output:
            outputs.append(new_output("execute_result", data={"text/html": f"<b>{i}</b>"}, execution_count=i))
        nb.cells.append(new_code_cell(f"print({i})", outputs=outputs))
    return nb


def test_large_notebook_trust_and_validation(cm, raw):
    """The large-notebook path (worker thread in the async manager) marks trust, signs
    on save and reports validation errors exactly as the small one does."""
    nb = big_nb()
    assert len(nb_bytes(nb)) > 1024 * 1024
    raw.put("big.ipynb", nb_bytes(nb))  # unsigned, with rich output
    model = cm.get("big.ipynb")
    code = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    assert len(code) == 400 and all(c["metadata"]["trusted"] is False for c in code)
    assert "__s3contents_rs_signature" not in model and "message" not in model

    for cell in model["content"]["cells"]:
        cell["metadata"]["trusted"] = True
    cm.save({"type": "notebook", "content": model["content"]}, "big.ipynb")
    stored = json.loads(raw.read("big.ipynb"))
    assert all("trusted" not in c["metadata"] for c in stored["cells"]), "trust flags are not stored"
    code = [c for c in cm.get("big.ipynb")["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"]["trusted"] is True for c in code), "the save did not sign the notebook"

    invalid = json.loads(nb_bytes(nb))
    invalid["cells"][0]["bogus"] = 1
    raw.put("invalid.ipynb", json.dumps(invalid).encode())
    assert "Notebook validation failed" in cm.get("invalid.ipynb")["message"]


def test_large_notebook_does_not_block_the_event_loop(cm, raw):
    """While the async manager parses, validates and checks a large notebook, other
    coroutines on the server's event loop keep running (they would not run at all if
    the work ran on the loop)."""
    if not cm.is_async:
        pytest.skip("the blocking manager runs in its caller's thread")
    import asyncio

    nb = big_nb(800)
    raw.put("big.ipynb", nb_bytes(nb))
    manager = cm.raw

    async def scenario():
        fetched = await manager._store.get_async("big.ipynb", "text")
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = time.perf_counter()
        model = await manager._build_model_async(fetched, None, None, True, False)
        elapsed = time.perf_counter() - start
        saved_ticks = ticks
        await manager._serialize_async({"type": "notebook", "content": model["content"]}, "big.ipynb")
        done = True
        await task
        return model, elapsed, saved_ticks, ticks

    model, elapsed, get_ticks, all_ticks = cm.run(scenario())
    assert len(model["content"]["cells"]) == 800
    assert elapsed > 0.05, f"the notebook parsed too fast ({elapsed:.3f} s) for this test to mean anything"
    assert get_ticks >= 3, f"the event loop ran {get_ticks} times in {elapsed:.2f} s of parsing"
    assert all_ticks - get_ticks >= 3, "the event loop did not run while the notebook was serialised"


def test_large_notebook_is_parsed_by_the_yielding_parser(cm, raw, monkeypatch):
    """The async manager reads a large notebook with the core's parser, which lets the
    event loop run (json.loads would hold the GIL throughout); a small one with json."""
    if not cm.is_async:
        pytest.skip("the blocking manager runs in its caller's thread")
    import s3contents_rs._notebooks as notebooks

    parsed: list[int] = []
    real = notebooks.loads_yielding
    monkeypatch.setattr(notebooks, "loads_yielding", lambda data, *args: parsed.append(len(data)) or real(data, *args))
    raw.put("big.ipynb", nb_bytes(big_nb()))
    raw.put("small.ipynb", nb_bytes(make_nb("1 + 1")))
    big, small = cm.get("big.ipynb"), cm.get("small.ipynb")
    assert len(parsed) == 1 and parsed[0] > 1024 * 1024, parsed
    assert len(big["content"]["cells"]) == 400 and small["content"]["cells"][1]["source"] == "1 + 1"
    # Built as nbformat builds it, and out of the cyclic collector's way.
    cell = big["content"]["cells"][0]
    assert isinstance(cell, nbformat.NotebookNode) and isinstance(cell.metadata, nbformat.NotebookNode)
    assert not gc.is_tracked(big["content"]["cells"]) and not gc.is_tracked(cell)


def test_large_listing_is_complete(cm, raw):
    """A folder above the size the async manager lists in a worker thread (and above one
    LIST page): every entry once, hidden and checkpoint entries left out."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"f{i:04d}.txt" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: raw.put(f"big/{n}", b"x"), names))
    raw.put("big/.hidden", b"h")
    raw.put("big/sub/a.txt", b"a")
    raw.put("big/.ipynb_checkpoints/f0000-checkpoint.txt", b"c")
    model = cm.get("big")
    listed = sorted(m["name"] for m in model["content"])
    assert listed == sorted(names + ["sub"])
    assert all(m["content"] is None for m in model["content"])


def test_chunked_upload(cm, raw):
    """Large-file upload as JupyterLab does it (chunk 1, 2, ..., -1)."""
    parts = [b"\x00first-", b"\x01second-", b"\x02last"]
    for i, part in enumerate(parts):
        chunk = -1 if i == len(parts) - 1 else i + 1
        model = cm.save({"type": "file", "format": "base64", "content": b64(part), "chunk": chunk}, "big/up.bin")
        assert model["path"] == "big/up.bin"
    assert raw.read("big/up.bin") == b"".join(parts)


# =========================================================================== new / new_untitled
def test_new_notebook_file_directory(cm, raw):
    model = check_model(cm.new(path="n.ipynb"), content=False)
    assert model["type"] == "notebook"
    stored = nbformat.reads(raw.read("n.ipynb").decode(), as_version=4)
    assert stored.nbformat == 4 and stored.cells == []

    model = check_model(cm.new(path="f.txt"), content=False)
    assert model["type"] == "file"
    assert raw.read("f.txt") == b""

    model = check_model(cm.new({"type": "directory"}, path="d"), content=False)
    assert model["type"] == "directory"
    assert raw.exists("d/.s3keep")

    model = cm.new({"type": "file", "format": "text", "content": "given"}, path="d/g.txt")
    assert raw.read("d/g.txt") == b"given"


def test_new_untitled_naming(cm, raw):
    assert cm.new_untitled(type="notebook")["path"] == "Untitled.ipynb"
    assert cm.new_untitled(type="notebook")["path"] == "Untitled1.ipynb"
    assert cm.new_untitled(ext=".ipynb")["path"] == "Untitled2.ipynb"
    assert cm.new_untitled(type="file", ext=".txt")["path"] == "untitled.txt"
    assert cm.new_untitled(type="file", ext=".txt")["path"] == "untitled1.txt"
    assert cm.new_untitled()["path"] == "untitled"
    assert cm.new_untitled()["path"] == "untitled1"
    m1 = cm.new_untitled(type="directory")
    m2 = cm.new_untitled(type="directory")
    assert (m1["path"], m1["type"]) == ("Untitled Folder", "directory")
    assert (m2["path"], m2["type"]) == ("Untitled Folder 1", "directory")
    assert raw.exists("Untitled Folder/.s3keep")
    assert raw.exists("Untitled Folder 1/.s3keep")
    assert raw.exists("Untitled.ipynb") and raw.exists("untitled1.txt")
    assert set(listing(cm.get(""))) == {
        "Untitled.ipynb",
        "Untitled1.ipynb",
        "Untitled2.ipynb",
        "untitled.txt",
        "untitled1.txt",
        "untitled",
        "untitled1",
        "Untitled Folder",
        "Untitled Folder 1",
    }


def test_new_untitled_in_subdir_and_missing_dir(cm, raw):
    raw.put("sub/.s3keep")
    assert cm.new_untitled("sub", type="notebook")["path"] == "sub/Untitled.ipynb"
    assert cm.new_untitled("/sub/", type="directory")["path"] == "sub/Untitled Folder"
    assert raw.exists("sub/Untitled.ipynb")
    expect_http(404, cm.new_untitled, "missing", type="notebook")


def test_new_untitled_custom_names(make_cm):
    cm = make_cm(untitled_notebook="Notes", untitled_file="draft", untitled_directory="Box")
    assert cm.new_untitled(type="notebook")["path"] == "Notes.ipynb"
    assert cm.new_untitled(ext=".md")["path"] == "draft.md"
    assert cm.new_untitled(type="directory")["path"] == "Box"
    assert cm.new_untitled(type="directory")["path"] == "Box 1"


# =========================================================================== copy
def test_copy_file_naming(cm, raw):
    nbdata = nb_bytes(make_nb("copied"))
    raw.put("d/nb.ipynb", nbdata)
    m1 = check_model(cm.copy("d/nb.ipynb"), content=False)
    assert m1["path"] == "d/nb-Copy1.ipynb"
    assert m1["type"] == "notebook"
    assert cm.copy("d/nb.ipynb")["path"] == "d/nb-Copy2.ipynb"
    assert cm.copy("d/nb-Copy1.ipynb")["path"] == "d/nb-Copy3.ipynb"
    copied = nbformat.reads(raw.read("d/nb-Copy1.ipynb").decode(), as_version=4)
    assert nb_sources(copied) == nb_sources(make_nb("copied"))
    assert raw.read("d/nb.ipynb") == nbdata  # source untouched


def test_copy_multi_extension(cm, raw):
    raw.put("data.tar.gz", b"\x1f\x8b\x08\x00binary")
    assert cm.copy("data.tar.gz")["path"] == "data-Copy1.tar.gz"
    assert raw.read("data-Copy1.tar.gz") == b"\x1f\x8b\x08\x00binary"


def test_copy_binary_is_byte_identical(cm, raw):
    data = bytes(range(256)) * 3
    raw.put("b/raw.bin", data)
    model = cm.copy("b/raw.bin", "b")
    assert model["path"] == "b/raw-Copy1.bin"
    assert raw.read("b/raw-Copy1.bin") == data


def test_copy_into_directory(cm, raw):
    raw.put("nb.ipynb", nb_bytes(make_nb()))
    raw.put("target/.s3keep")
    assert cm.copy("nb.ipynb", "target")["path"] == "target/nb.ipynb"
    assert cm.copy("nb.ipynb", "target")["path"] == "target/nb-Copy1.ipynb"
    assert raw.exists("target/nb.ipynb") and raw.exists("target/nb-Copy1.ipynb")


def test_copy_to_explicit_path(cm, raw):
    raw.put("a.txt", b"alpha")
    raw.put("sub/.s3keep")
    model = cm.copy("a.txt", "sub/b.txt")
    assert model["path"] == "sub/b.txt"
    assert raw.read("sub/b.txt") == b"alpha"


def test_copy_onto_itself_is_409_and_a_missing_source_404(cm, raw):
    raw.put("a.txt", b"a")
    expect_http(409, cm.copy, "a.txt", "a.txt")
    expect_http(404, cm.copy, "gone.txt")
    expect_http(404, cm.copy, "gone.txt", "")
    raw.put("dir/x.txt", b"x")
    expect_http(404, cm.copy, "gone.txt", "dir")
    assert raw.keys() == {"a.txt", "dir/x.txt"}, "a failed copy left its claim behind"


def test_copy_onto_existing_file_is_409(cm, raw):
    raw.put("a.txt", b"alpha")
    raw.put("b.txt", b"beta")
    expect_http(409, cm.copy, "a.txt", "b.txt")
    assert raw.read("b.txt") == b"beta"


def test_copy_missing_is_404(cm):
    expect_http(404, cm.copy, "missing.ipynb")


def test_copy_directory(cm, raw):
    nbdata = nb_bytes(make_nb())
    raw.put("outer/folder/.s3keep")
    raw.put("outer/folder/a.txt", b"a")
    raw.put("outer/folder/sub/b.ipynb", nbdata)
    raw.put("outer/folder/sub/c.bin", b"\x00\xff")

    model = check_model(cm.copy("outer/folder", "outer"), content=False)
    assert model["type"] == "directory"
    assert model["path"] == "outer/folder-Copy1"
    assert raw.read("outer/folder-Copy1/a.txt") == b"a"
    assert raw.read("outer/folder-Copy1/sub/b.ipynb") == nbdata
    assert raw.read("outer/folder-Copy1/sub/c.bin") == b"\x00\xff"
    assert set(listing(cm.get("outer/folder-Copy1"))) == {"a.txt", "sub"}
    # the source is untouched
    assert raw.read("outer/folder/a.txt") == b"a"

    assert cm.copy("outer/folder")["path"] == "outer/folder-Copy2"
    assert set(listing(cm.get("outer"))) == {"folder", "folder-Copy1", "folder-Copy2"}

    raw.put("dest/.s3keep")
    assert cm.copy("outer/folder", "dest")["path"] == "dest/folder"
    assert raw.read("dest/folder/sub/c.bin") == b"\x00\xff"


# =========================================================================== rename / update
def test_rename_file(cm, raw):
    raw.put("a.txt", b"payload")
    raw.put("sub/.s3keep")
    cm.rename("a.txt", "b.txt")
    assert not raw.exists("a.txt")
    assert raw.read("b.txt") == b"payload"
    expect_http(404, cm.get, "a.txt")
    assert cm.get("b.txt")["content"] == "payload"

    cm.rename("b.txt", "sub/c.txt")
    assert raw.read("sub/c.txt") == b"payload"
    assert not raw.exists("b.txt")


def test_update_renames_and_returns_model(cm, raw):
    raw.put("u.ipynb", nb_bytes(make_nb()))
    model = check_model(cm.update({"path": "v.ipynb"}, "u.ipynb"), content=False)
    assert model["path"] == "v.ipynb"
    assert model["name"] == "v.ipynb"
    assert model["type"] == "notebook"
    assert model["content"] is None
    assert not raw.exists("u.ipynb") and raw.exists("v.ipynb")


def test_rename_directory_tree(cm, raw):
    nbdata = nb_bytes(make_nb())
    files = {
        "proj/.s3keep": b"",
        "proj/a.ipynb": nbdata,
        "proj/b.txt": b"bee",
        "proj/deep/er/c.bin": b"\x00\x01",
        "proj/deep/.s3keep": b"",
        "proj/.ipynb_checkpoints/a-checkpoint.ipynb": nbdata,
    }
    for key, body in files.items():
        raw.put(key, body)
    raw.put("proj-sibling/keep.txt", b"sibling")  # shares the name prefix

    cm.rename("proj", "renamed")
    keys = raw.keys()
    assert not any(k.startswith("proj/") for k in keys), sorted(keys)
    for key, body in files.items():
        new_key = "renamed/" + key[len("proj/") :]
        assert raw.read(new_key) == body, new_key
    assert raw.read("proj-sibling/keep.txt") == b"sibling"
    assert set(listing(cm.get(""))) == {"renamed", "proj-sibling"}
    assert set(listing(cm.get("renamed"))) == {"a.ipynb", "b.txt", "deep"}
    assert [c["id"] for c in cm.list_checkpoints("renamed/a.ipynb")] == ["checkpoint"]


def test_rename_marker_less_directory(cm, raw):
    raw.put("implicit/x.txt", b"x")
    raw.put("implicit/y/z.txt", b"z")
    cm.rename("implicit", "explicit")
    assert raw.keys() >= {"explicit/x.txt", "explicit/y/z.txt"}
    assert not any(k.startswith("implicit/") for k in raw.keys())
    assert cm.get("explicit/y/z.txt")["content"] == "z"


def test_rename_onto_existing_is_409(cm, raw):
    raw.put("a.txt", b"a")
    raw.put("b.txt", b"b")
    raw.put("d1/.s3keep")
    raw.put("d1/x.txt", b"x")
    raw.put("d2/.s3keep")
    expect_http(409, cm.rename, "a.txt", "b.txt")
    expect_http(409, cm.rename, "d1", "d2")
    expect_http(409, cm.rename, "a.txt", "d2")
    assert raw.read("a.txt") == b"a" and raw.read("b.txt") == b"b"
    assert raw.read("d1/x.txt") == b"x"


def test_rename_missing_is_404(cm):
    expect_http(404, cm.rename, "missing.txt", "other.txt")
    expect_http(404, cm.update, {"path": "other.txt"}, "missing.txt")


def test_rename_moves_checkpoints(cm, raw):
    cm.save(text_model("v1"), "d/f.txt")
    cm.create_checkpoint("d/f.txt")
    assert raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    cm.rename("d/f.txt", "d/g.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert raw.read("d/.ipynb_checkpoints/g-checkpoint.txt") == b"v1"
    assert [c["id"] for c in cm.list_checkpoints("d/g.txt")] == ["checkpoint"]
    assert cm.list_checkpoints("d/f.txt") == []
    cm.save(text_model("v2"), "d/g.txt")
    cm.restore_checkpoint("checkpoint", "d/g.txt")
    assert raw.read("d/g.txt") == b"v1"


# =========================================================================== delete
def test_delete_file_and_its_checkpoints(cm, raw):
    cm.save(text_model("bye"), "d/f.txt")
    cm.create_checkpoint("d/f.txt")
    raw.put("d/other.txt", b"stay")
    cm.delete("d/f.txt")
    assert not raw.exists("d/f.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert raw.read("d/other.txt") == b"stay"
    expect_http(404, cm.get, "d/f.txt")


def test_delete_directory_tree(cm, raw):
    for key in (
        "tree/.s3keep",
        "tree/a.txt",
        "tree/sub/b.ipynb",
        "tree/sub/.s3keep",
        "tree/.ipynb_checkpoints/a-checkpoint.txt",
        "tree/sub/.ipynb_checkpoints/b-checkpoint.ipynb",
    ):
        raw.put(key, b"x")
    raw.put("tree2/keep.txt", b"keep")
    cm.delete("tree")
    keys = raw.keys()
    assert not any(k.startswith("tree/") for k in keys), sorted(keys)
    assert "tree2/keep.txt" in keys
    expect_http(404, cm.get, "tree")
    assert set(listing(cm.get(""))) == {"tree2"}


def test_delete_empty_dir(cm, raw):
    raw.put("empty/.s3keep")
    cm.delete("empty")
    assert not any(k.startswith("empty/") for k in raw.keys()), sorted(raw.keys())
    assert not cm.dir_exists("empty")


def test_delete_console_style_dir(cm, raw):
    raw.put("console/")
    raw.put("console/inner.txt", b"x")
    cm.delete("console")
    assert not raw.exists("console/inner.txt")
    assert not raw.exists("console/")
    assert not cm.dir_exists("console")


def test_rename_console_style_dir(cm, raw):
    raw.put("console/")
    raw.put("console/inner.txt", b"x")
    cm.rename("console", "moved")
    assert raw.read("moved/inner.txt") == b"x"
    assert cm.dir_exists("moved")
    assert not raw.exists("console/inner.txt")
    assert not raw.exists("console/")
    assert not cm.dir_exists("console")


def test_delete_missing_is_404(cm):
    expect_http(404, cm.delete, "missing.txt")
    expect_http(404, cm.delete, "missing/dir")


def test_delete_root_is_400(cm, raw):
    raw.put("keep.txt", b"k")
    expect_http(400, cm.delete, "")
    expect_http(400, cm.delete, "/")
    assert raw.exists("keep.txt")


def test_always_delete_dir_false(make_cm, raw):
    cm = make_cm(always_delete_dir=False, delete_to_trash=False)
    raw.put("full/.s3keep")
    raw.put("full/a.txt", b"a")
    raw.put("implicit/b.txt", b"b")
    raw.put("empty/.s3keep")
    raw.put("onlycp/.s3keep")
    raw.put("onlycp/.ipynb_checkpoints/gone-checkpoint.txt", b"old")

    expect_http(400, cm.delete, "full")
    expect_http(400, cm.delete, "implicit")
    assert raw.read("full/a.txt") == b"a"
    assert raw.read("implicit/b.txt") == b"b"

    cm.delete("empty")
    assert not raw.exists("empty/.s3keep")
    # a directory holding nothing but leftover checkpoints counts as empty
    cm.delete("onlycp")
    assert not any(k.startswith("onlycp/") for k in raw.keys())
    # files can always be deleted
    cm.delete("full/a.txt")
    assert not raw.exists("full/a.txt")


def test_always_delete_dir_false_still_trashes_full_folders(make_cm, raw):
    """FileContentsManager sends a non-empty folder to the trash whatever
    always_delete_dir says (outside Windows): the trash can give it back."""
    cm = make_cm(always_delete_dir=False, delete_to_trash=True)
    raw.put("full/a.txt", b"a")
    cm.delete("full")
    assert not cm.dir_exists("full")
    assert [k for k in raw.keys() if k.startswith(".Trash/") and k.endswith("/full/a.txt")]


# =========================================================================== exists
def test_exists_family(cm, raw):
    raw.put("dir/.s3keep")
    raw.put("dir/f.txt", b"f")
    raw.put("implicit/g.txt", b"g")
    raw.put("console/")
    assert cm.dir_exists("") is True
    assert cm.file_exists("") is False
    assert cm.dir_exists("dir") is True
    assert cm.dir_exists("/dir/") is True
    assert cm.dir_exists("implicit") is True
    assert cm.dir_exists("console") is True
    assert cm.file_exists("dir") is False
    assert cm.file_exists("dir/f.txt") is True
    assert cm.dir_exists("dir/f.txt") is False
    assert cm.exists("dir/f.txt") is True
    assert cm.exists("dir") is True
    assert cm.exists("implicit") is True
    assert cm.exists("nope") is False
    assert cm.file_exists("nope") is False
    assert cm.dir_exists("nope") is False
    assert cm.dir_exists("di") is False  # a key prefix is not a directory
    assert cm.file_exists("dir/f.tx") is False


# =========================================================================== hidden
def test_hidden_files(cm, raw):
    raw.put(".secret.txt", b"s")
    raw.put("visible.txt", b"v")
    raw.put("dir/.hidden/x.txt", b"x")
    raw.put("dir/shown.txt", b"y")

    assert set(listing(cm.get(""))) == {"visible.txt", "dir"}
    assert set(listing(cm.get("dir"))) == {"shown.txt"}
    expect_http(404, cm.get, ".secret.txt")
    expect_http(404, cm.get, "dir/.hidden/x.txt")
    expect_http(404, cm.get, "dir/.hidden")
    expect_http(400, cm.save, text_model("no"), ".new.txt")
    expect_http(400, cm.save, text_model("no"), "dir/.hid/new.txt")
    assert not raw.exists(".new.txt")

    assert cm.is_hidden(".secret.txt") is True
    assert cm.is_hidden("dir/.hidden/x.txt") is True
    assert cm.is_hidden("dir/.hidden") is True
    assert cm.is_hidden("dir/shown.txt") is False
    assert cm.is_hidden("visible.txt") is False
    assert cm.is_hidden("") is False


def test_allow_hidden(make_cm, raw):
    cm = make_cm(allow_hidden=True)
    raw.put(".secret.txt", b"s")
    raw.put("visible.txt", b"v")
    raw.put("d/.s3keep")
    raw.put("d/.ipynb_checkpoints/visible-checkpoint.txt", b"cp")
    assert set(listing(cm.get(""))) == {".secret.txt", "visible.txt", "d"}
    assert cm.get(".secret.txt")["content"] == "s"
    cm.save(text_model("ok"), ".new.txt")
    assert raw.read(".new.txt") == b"ok"
    # markers and checkpoint folders are never listed, even with allow_hidden
    assert set(listing(cm.get("d"))) == set()


def test_hide_globs(make_cm, raw):
    raw.put("keep.py", b"k")
    raw.put("mod.pyc", b"\x00")
    raw.put("__pycache__/mod.cpython-311.pyc", b"\x00")
    raw.put("debug.log", b"log")
    cm = make_cm()
    assert set(listing(cm.get(""))) == {"keep.py", "debug.log"}
    cm = make_cm(hide_globs=["*.log"])
    assert set(listing(cm.get(""))) == {"keep.py", "mod.pyc", "__pycache__"}


def test_markers_and_checkpoint_dirs_never_listed(cm, raw):
    raw.put(".s3keep")
    raw.put("d/.s3keep")
    raw.put("d/f.txt", b"f")
    raw.put("d/.ipynb_checkpoints/f-checkpoint.txt", b"f")
    raw.put(".ipynb_checkpoints/x-checkpoint.txt", b"x")
    assert set(listing(cm.get(""))) == {"d"}
    assert set(listing(cm.get("d"))) == {"f.txt"}


# =========================================================================== layout variants
def test_marker_less_directories(cm, raw):
    raw.put("deep/er/file.txt", b"deep")
    root = listing(cm.get(""))
    assert set(root) == {"deep"}
    assert root["deep"]["type"] == "directory"
    deep = check_model(cm.get("deep"), content=True)
    assert set(listing(deep)) == {"er"}
    assert listing(deep)["er"]["type"] == "directory"
    er = check_model(cm.get("deep/er"), content=True)
    assert set(listing(er)) == {"file.txt"}
    assert cm.get("deep/er/file.txt")["content"] == "deep"
    cm.save(text_model("new"), "deep/new.txt")
    assert set(listing(cm.get("deep"))) == {"er", "new.txt"}


def test_console_style_directory_markers(cm, raw):
    raw.put("console/")
    raw.put("console2/")
    raw.put("console2/inner.txt", b"inner")
    raw.put("console2/nested/")
    root = listing(cm.get(""))
    assert set(root) == {"console", "console2"}
    assert root["console"]["type"] == "directory"
    assert root["console2"]["type"] == "directory"
    assert check_model(cm.get("console"), content=True)["content"] == []
    inner = listing(cm.get("console2"))
    assert set(inner) == {"inner.txt", "nested"}
    assert inner["nested"]["type"] == "directory"
    assert cm.get("console2/nested")["content"] == []
    cm.save(text_model("x"), "console/x.txt")
    assert set(listing(cm.get("console"))) == {"x.txt"}


# =========================================================================== timestamps
@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("d/ts.txt", text_model("timestamps")),
        ("d/ts.ipynb", nb_model(make_nb())),
        ("ts-root.bin", b64_model(b"\x00\x01")),
    ],
    ids=["text", "notebook", "root-binary"],
)
def test_last_modified_identical_everywhere(cm, raw, path, model):
    saved = check_model(cm.save(model, path), content=False)
    meta = cm.get(path, content=False)
    full = cm.get(path)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    entry = listing(cm.get(parent))[path.rsplit("/", 1)[-1]]
    stamps = {
        "save": saved["last_modified"],
        "get(content=False)": meta["last_modified"],
        "get(content=True)": full["last_modified"],
        "listing": entry["last_modified"],
    }
    assert len(set(stamps.values())) == 1, stamps
    s3_time = utc(raw.head(path)["LastModified"])
    assert abs(utc(saved["last_modified"]) - s3_time) < datetime.timedelta(seconds=1), (
        saved["last_modified"],
        s3_time,
    )
    assert saved["size"] == meta["size"] == full["size"] == entry["size"] == len(raw.read(path))


def test_directory_timestamps_are_aware(cm, raw):
    raw.put("withmarker/.s3keep")
    raw.put("implicit/f.txt", b"f")
    raw.put("console/")
    for path in ("", "withmarker", "implicit", "console"):
        check_model(cm.get(path), content=True)
        check_model(cm.get(path, content=False), content=False)


# =========================================================================== special names
SPECIAL_NAMES = [
    "ünïcødé 文件.txt",
    "spaces in name.ipynb",
    "we#ird?na%me&x+y=z.txt",
    "percent%20encoded.txt",
    "emoji 🎉.md",
]


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_character_names_round_trip(cm, raw, name):
    folder = "dír with späce #1"
    if name.endswith(".ipynb"):
        model = nb_model(make_nb())
    else:
        model = text_model(f"content of {name}")
    path = f"{folder}/{name}"
    saved = cm.save(model, path)
    assert saved["name"] == name
    assert saved["path"] == path
    assert raw.exists(path), sorted(raw.keys())  # key is the literal unicode path

    got = cm.get(path)
    assert got["name"] == name and got["path"] == path
    entries = listing(cm.get(folder))
    assert set(entries) == {name}
    assert entries[name]["path"] == path
    assert set(listing(cm.get(""))) == {folder}
    assert cm.file_exists(path)
    assert cm.dir_exists(folder)

    base, ext = name[: name.rfind(".")], name[name.rfind(".") :]
    cp = cm.create_checkpoint(path)
    assert raw.exists(f"{folder}/.ipynb_checkpoints/{base}-{cp['id']}{ext}"), sorted(raw.keys())

    new_name = "rénamed #2 + 100%" + ext
    cm.rename(path, f"{folder}/{new_name}")
    assert raw.exists(f"{folder}/{new_name}")
    assert not raw.exists(path)
    assert set(listing(cm.get(folder))) == {new_name}
    new_base = new_name[: new_name.rfind(".")]
    assert raw.exists(f"{folder}/.ipynb_checkpoints/{new_base}-{cp['id']}{ext}"), sorted(raw.keys())
    assert [c["id"] for c in cm.list_checkpoints(f"{folder}/{new_name}")] == [cp["id"]]

    cm.delete(f"{folder}/{new_name}")
    assert not raw.exists(f"{folder}/{new_name}")
    assert not any(".ipynb_checkpoints/" in k for k in raw.keys()), sorted(raw.keys())


# =========================================================================== invalid paths
@pytest.mark.parametrize(
    "path,status",
    # Outside the root: 404, as FileContentsManager. Inside it: refused as invalid.
    [("../escape.txt", 404), ("a/../../escape.txt", 404), ("..", 404), ("a/../b.txt", 400)],
)
def test_dotdot_paths_are_refused(cm, raw, path, status):
    raw.put("a/.s3keep")
    raw.put("b.txt", b"b")
    expect_http(status, cm.get, path)
    expect_http(status, cm.save, text_model("x"), path)
    expect_http(status, cm.delete, path)
    expect_http(status, cm.rename, "b.txt", path)
    expect_http(status, cm.rename, path, "c.txt")
    assert raw.read("b.txt") == b"b"
    assert raw.keys() == {"a/.s3keep", "b.txt"}


# =========================================================================== checkpoints
def test_checkpoint_lifecycle(cm, raw):
    cm.save(text_model("original"), "d/f.txt")
    assert cm.list_checkpoints("d/f.txt") == []

    cp = cm.create_checkpoint("d/f.txt")
    assert cp["id"] == "checkpoint"
    assert isinstance(cp["last_modified"], datetime.datetime)
    assert cp["last_modified"].tzinfo is not None
    assert raw.read("d/.ipynb_checkpoints/f-checkpoint.txt") == b"original"

    listed = cm.list_checkpoints("d/f.txt")
    assert [c["id"] for c in listed] == ["checkpoint"]
    assert listed[0]["last_modified"] == cp["last_modified"]

    cm.save(text_model("modified"), "d/f.txt")
    assert raw.read("d/f.txt") == b"modified"
    cm.restore_checkpoint("checkpoint", "d/f.txt")
    assert raw.read("d/f.txt") == b"original"
    assert cm.get("d/f.txt")["content"] == "original"

    cm.delete_checkpoint("checkpoint", "d/f.txt")
    assert not raw.exists("d/.ipynb_checkpoints/f-checkpoint.txt")
    assert cm.list_checkpoints("d/f.txt") == []
    # the checkpoint folder is never shown
    assert set(listing(cm.get("d"))) == {"f.txt"}


def test_checkpoint_of_root_level_file(cm, raw):
    cm.save(text_model("root"), "r.txt")
    cm.create_checkpoint("r.txt")
    assert raw.read(".ipynb_checkpoints/r-checkpoint.txt") == b"root"
    assert set(listing(cm.get(""))) == {"r.txt"}


def test_checkpoint_notebook_key_and_byte_identical_restore(cm, raw):
    nb = make_nb("original")
    original = json.dumps(nb, separators=(",", ":")).encode("utf-8")  # non-nbformat layout
    raw.put("n/nb.ipynb", original)
    cp = cm.create_checkpoint("n/nb.ipynb")
    assert raw.read(f"n/.ipynb_checkpoints/nb-{cp['id']}.ipynb") == original
    cm.save(nb_model(make_nb("changed")), "n/nb.ipynb")
    assert raw.read("n/nb.ipynb") != original
    cm.restore_checkpoint(cp["id"], "n/nb.ipynb")
    assert raw.read("n/nb.ipynb") == original


def test_checkpoint_binary_restore(cm, raw):
    data = bytes(range(256))
    raw.put("bin/x.bin", data)
    cp = cm.create_checkpoint("bin/x.bin")
    raw.put("bin/x.bin", b"overwritten")
    cm.restore_checkpoint(cp["id"], "bin/x.bin")
    assert raw.read("bin/x.bin") == data


def test_single_checkpoint_is_replaced(cm, raw):
    cm.save(text_model("v1"), "f.txt")
    cm.create_checkpoint("f.txt")
    cm.save(text_model("v2"), "f.txt")
    cp = cm.create_checkpoint("f.txt")
    assert cp["id"] == "checkpoint"
    assert [c["id"] for c in cm.list_checkpoints("f.txt")] == ["checkpoint"]
    assert raw.read(".ipynb_checkpoints/f-checkpoint.txt") == b"v2"
    assert [k for k in raw.keys() if ".ipynb_checkpoints/" in k] == [".ipynb_checkpoints/f-checkpoint.txt"]


@pytest.mark.timeout(90)
def test_max_checkpoints_three(make_cm, raw):
    cm = make_cm(max_checkpoints=3)
    ids = []
    for i in range(4):
        cm.save(text_model(f"version {i}"), "d/f.txt")
        ids.append(cm.create_checkpoint("d/f.txt")["id"])
        if i < 3:
            time.sleep(1.1)  # S3 timestamps have one-second resolution
    assert len(set(ids)) == 4, ids
    listed = [c["id"] for c in cm.list_checkpoints("d/f.txt")]
    assert len(listed) == 3, listed
    assert listed == [ids[3], ids[2], ids[1]], (listed, ids)  # newest first, oldest pruned
    cp_keys = {k for k in raw.keys() if k.startswith("d/.ipynb_checkpoints/")}
    assert cp_keys == {f"d/.ipynb_checkpoints/f-{i}.txt" for i in ids[1:]}, cp_keys
    assert raw.read(f"d/.ipynb_checkpoints/f-{ids[2]}.txt") == b"version 2"

    cm.save(text_model("current"), "d/f.txt")
    cm.restore_checkpoint(ids[1], "d/f.txt")
    assert raw.read("d/f.txt") == b"version 1"
    cm.restore_checkpoint(ids[3], "d/f.txt")
    assert raw.read("d/f.txt") == b"version 3"

    cm.delete_checkpoint(ids[2], "d/f.txt")
    assert [c["id"] for c in cm.list_checkpoints("d/f.txt")] == [ids[3], ids[1]]

    cm.rename("d/f.txt", "d/g.txt")
    assert [c["id"] for c in cm.list_checkpoints("d/g.txt")] == [ids[3], ids[1]]
    assert raw.read(f"d/.ipynb_checkpoints/g-{ids[1]}.txt") == b"version 1"

    cm.delete("d/g.txt")
    assert not any(k.startswith("d/.ipynb_checkpoints/") for k in raw.keys())


def test_missing_checkpoint_is_404(cm, raw):
    cm.save(text_model("x"), "f.txt")
    expect_http(404, cm.delete_checkpoint, "checkpoint", "f.txt")
    expect_http(404, cm.restore_checkpoint, "checkpoint", "f.txt")
    assert raw.read("f.txt") == b"x"


# =========================================================================== events
def test_events_emitted(cm, events, raw):
    raw.put("d/.s3keep")
    cm.save(text_model("e"), "d/e.txt")
    cm.get("d/e.txt")
    cm.copy("d/e.txt", "d")
    cm.rename("d/e.txt", "d/r.txt")
    cm.delete("d/r.txt")
    actions = events.actions()
    assert ("save", "d/e.txt", None) in actions, actions
    assert ("get", "d/e.txt", None) in actions, actions
    assert ("copy", "d/e-Copy1.txt", "d/e.txt") in actions, actions
    assert ("rename", "d/r.txt", "d/e.txt") in actions, actions
    assert ("delete", "d/r.txt", None) in actions, actions
    order = [a for a in actions if a[0] in ("copy", "rename", "delete")]
    assert [a[0] for a in order] == ["copy", "rename", "delete"], actions


# =========================================================================== fs
def test_fs_read_write(cm, raw):
    fs = cm.raw.fs
    fs.write("fs/t.txt", "text ✓", "text")
    assert raw.read("fs/t.txt") == "text ✓".encode()
    assert fs.read("fs/t.txt") == ("text ✓", "text")
    assert fs.read("fs/t.txt", format="text") == ("text ✓", "text")

    data = b"\x00\xff\x10"
    fs.write("fs/b.bin", b64(data), "base64")
    assert raw.read("fs/b.bin") == data
    content, fmt = fs.read("fs/b.bin")
    assert fmt == "base64"
    assert base64.b64decode(content) == data
    content, fmt = fs.read("fs/t.txt", format="base64")
    assert fmt == "base64"
    assert base64.b64decode(content) == "text ✓".encode()
    assert cm.get("fs/t.txt")["content"] == "text ✓"


# =========================================================================== async concurrency
def test_async_manager_concurrent_operations(manager_kwargs, raw, jp_asyncio_loop):
    """Many coroutines in flight at once on one loop (what a busy server does)."""
    import asyncio

    from support.s3c_helpers import ManagerAdapter

    mgr = manager_classes()["async"](**manager_kwargs)
    cm = ManagerAdapter(mgr, "async", jp_asyncio_loop)

    async def scenario():
        await asyncio.gather(
            *(mgr.save(text_model(f"file {i}"), f"many/f{i:02d}.txt") for i in range(20))
        )
        models = await asyncio.gather(*(mgr.get(f"many/f{i:02d}.txt") for i in range(20)))
        listing_model, exists = await asyncio.gather(mgr.get("many"), mgr.file_exists("many/f07.txt"))
        return models, listing_model, exists

    models, listing_model, exists = cm.run(scenario())
    assert [m["content"] for m in models] == [f"file {i}" for i in range(20)]
    assert set(listing(listing_model)) == {f"f{i:02d}.txt" for i in range(20)}
    assert exists is True
    assert raw.read("many/f13.txt") == b"file 13"
