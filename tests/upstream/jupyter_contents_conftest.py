"""jupyter_server's own contents tests, run against our managers.

tests/test_upstream_jupyter_server.py copies this file into the extracted jupyter_server
sdist as ``tests/services/contents/conftest.py`` and runs pytest there in a subprocess,
with ``S3CONTENTS_UPSTREAM`` (JSON) naming the manager classes and the traits that point
them at the local (or external) store:

    {"classes": {"sync": "s3contents_rs.S3ContentsManager", "async": "..."},
     "flavors": ["async"], "traits": {"bucket": ..., "endpoint_url": ..., ...},
     "prefix": "upstream-<uuid>"}

What this file changes, and nothing else:

* the fixtures that build a FileContentsManager / LargeFileManager (or a server with one)
  build ours instead, sync and async, each test on a fresh prefix of its own;
* ``contents_dir`` (upstream: a local directory the tests write files into) is a
  :class:`StorePath`, the small part of ``pathlib.Path`` those tests use, writing to the
  store under the test's prefix; test_api's ``pathlib.Path(str(contents_dir) + ...)``
  checks go to the store too;
* the helpers that make folders on disk (``_make_dir``, ``_make_big_dir``) make them in
  the store; ``cm._get_os_path(path)`` (FileContentsManager's API path -> file location)
  is the path itself from the root;
* the tests that can only hold for a local filesystem are deselected: DESELECTED below,
  each with its reason (printed at the end of the run);
* where our managers are deliberately stricter than FileContentsManager (README, Known
  limitations), the test runs and must fail with an HTTPError: STRICTER below.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import json
import os
import pathlib
import uuid

import pytest
from traitlets.config import Config

CONFIG = json.loads(os.environ["S3CONTENTS_UPSTREAM"])


def _load(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


CLASSES = {flavor: _load(dotted) for flavor, dotted in CONFIG["classes"].items()}
# The flavours this run tests ("sync", "async"; both unless the config names some): the
# caller runs one subprocess per flavour so they can go to different test workers.
FLAVORS = CONFIG.get("flavors") or sorted(CLASSES, reverse=True)

# The one list of upstream tests that do not run here: "<file>::<test>" -> reason.
DESELECTED = {
    "test_manager.py::test_root_dir": "root_dir must be an existing local directory",
    "test_manager.py::test_missing_root_dir": "root_dir must be an existing local directory",
    "test_manager.py::test_invalid_root_dir": "root_dir must be an existing local directory",
    "test_manager.py::test_get_os_path": "FileContentsManager's mapping of API paths to OS paths",
    "test_manager.py::test_get_os_path_posix": "FileContentsManager's mapping of API paths to OS paths",
    "test_manager.py::test_checkpoint_subdir": "FileCheckpoints' OS path of a checkpoint",
    "test_manager.py::test_bad_symlink": "makes a symlink on disk",
    "test_manager.py::test_recursive_symlink": "makes a symlink on disk",
    "test_manager.py::test_good_symlink": "makes a symlink on disk",
    "test_manager.py::test_403": "chmods a file on disk (and skips as root)",
    "test_manager.py::test_regression_is_hidden": (
        "expects FileContentsManager to call jupyter_core's is_hidden() on OS paths (patched to raise)"
    ),
    "test_manager.py::test_created_timestamp": "backdates the file's mtime on disk with os.utime",
    "test_manager.py::test_created_timestamp_fallback_to_epoch": "patches os.lstat of the file on disk",
    "test_manager.py::test_base_model_invalid_timestamp_fallback": "patches os.lstat of the file on disk",
    "test_api.py::test_regression_is_hidden": (
        "expects FileContentsManager to call jupyter_core's is_hidden() on OS paths (patched to raise)"
    ),
    "test_largefilemanager.py::test_save_in_subdirectory": "makes the folder on disk (tmp_path / 'foo').mkdir()",
}


# Tests our managers fail on purpose, where they are stricter than FileContentsManager
# (README "Known limitations"): they run, and must fail with an HTTPError (strict xfail).
STRICTER = {
    "test_largefilemanager.py::test_saving_different_chunks": (
        "chunked uploads are multipart uploads: a second chunk 1 while an upload of that path "
        "is in progress is 409, a repeated chunk or a last chunk with no upload in progress "
        "is 400 (LargeFileManager appends whatever comes)"
    ),
}


def pytest_collection_modifyitems(config, items):
    from tornado.web import HTTPError

    keep, dropped = [], []
    for item in items:
        key = f"{item.path.name}::{item.originalname}"
        (dropped if key in DESELECTED else keep).append(item)
        if key in STRICTER:
            item.add_marker(pytest.mark.xfail(reason=STRICTER[key], raises=HTTPError, strict=True))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("deselected: only hold for a local filesystem")
    for key, reason in DESELECTED.items():
        terminalreporter.write_line(f"{key}: {reason}")
    terminalreporter.section("expected to fail: stricter than FileContentsManager")
    for key, reason in STRICTER.items():
        terminalreporter.write_line(f"{key}: {reason}")


# --------------------------------------------------------------------------- our managers
@pytest.fixture
def store_prefix() -> str:
    """A fresh prefix for each test, deleted after it (a store that keeps every test's
    objects gets slower to list: moto_server scans the whole bucket)."""
    name = uuid.uuid4().hex
    yield f"{CONFIG['prefix']}/{name}"
    flush_writes()
    run = CLASSES["sync"](**{**CONFIG["traits"], "prefix": CONFIG["prefix"]}).store
    if run.exists(name):
        run.delete(name, True)


def _api_location(path: str) -> str:
    return "/" + path.strip("/")


def make_manager(flavor: str, prefix: str, root_dir: str | None = None, **traits):
    manager = CLASSES[flavor](**{**CONFIG["traits"], "prefix": prefix, **traits})
    if root_dir is not None:
        # Unused by our managers; test_escape_root writes files next to it.
        manager.root_dir = root_dir
    manager._get_os_path = _api_location
    return manager


@pytest.fixture
def local_root(tmp_path) -> str:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return str(root)


@pytest.fixture(params=FLAVORS)
def jp_contents_manager(request, store_prefix, local_root):
    return make_manager(request.param, store_prefix, local_root)


@pytest.fixture(params=FLAVORS)
def jp_large_contents_manager(request, store_prefix, local_root):
    return make_manager(request.param, store_prefix, local_root)


@pytest.fixture(params=FLAVORS)
def contents_manager(request, contents, store_prefix, local_root):
    """test_checkpoints: the manager over the files of the `contents` fixture."""
    return make_manager(request.param, store_prefix, local_root)


@pytest.fixture(params=FLAVORS)
def jp_file_contents_manager_class(request, store_prefix):
    """Upstream passes a class and calls it with root_dir=...; every manager made in one
    test shares the test's prefix, as FileContentsManagers of one root_dir share files."""

    def make(root_dir=None, **traits):
        return make_manager(request.param, store_prefix, root_dir, **traits)

    return make


@pytest.fixture(params=FLAVORS)
def file_manager_with_notary(request, store_prefix, tmp_path):
    from nbformat.sign import NotebookNotary

    notary_dir = tmp_path / "notary"
    notary_dir.mkdir()
    manager = make_manager(request.param, store_prefix)
    manager.notary = NotebookNotary(data_dir=str(notary_dir))
    return manager


# --------------------------------------------------------------------------- the server
@pytest.fixture(params=FLAVORS)
def jp_argv(request):
    return [f"--ServerApp.contents_manager_class={CONFIG['classes'][request.param]}"]


@pytest.fixture
def jp_server_config(store_prefix):
    traits = {**CONFIG["traits"], "prefix": store_prefix}
    return Config({cls.__name__: dict(traits) for cls in CLASSES.values()})


# --------------------------------------------------------------------------- files in the store
_writer = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="store-path-writer")
_pending: list[concurrent.futures.Future] = []


def flush_writes() -> None:
    while _pending:
        _pending.pop().result()


_in_test_body = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    global _in_test_body
    flush_writes()
    _in_test_body = True
    try:
        return (yield)
    finally:
        _in_test_body = False


class StorePath:
    """What the upstream tests do with a ``pathlib.Path`` under ``contents_dir``, on the
    store: join, mkdir, write_text/bytes, is_file/is_dir, relative_to, str."""

    roots: dict[str, object] = {}  # str(root) -> store, for pathlib.Path(str) lookups

    def __init__(self, store, mark: str, rel: str = ""):
        self.store = store
        self.mark = mark
        self.rel = rel.strip("/")

    def joinpath(self, *parts) -> StorePath:
        rel = "/".join(p for p in [self.rel, *(str(part).strip("/") for part in parts)] if p)
        return StorePath(self.store, self.mark, rel)

    __truediv__ = joinpath

    def __str__(self) -> str:
        return f"{self.mark}/{self.rel}" if self.rel else self.mark

    def __repr__(self) -> str:
        return f"StorePath({str(self)!r})"

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    def relative_to(self, other: StorePath) -> pathlib.PurePosixPath:
        return pathlib.PurePosixPath(self.rel).relative_to(other.rel or ".")

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        if not self.rel:
            if exist_ok:
                return
            raise FileExistsError(str(self))
        if not exist_ok and self.store.dir_exists(self.rel):
            raise FileExistsError(str(self))
        self._do(self.store.make_dir, self.rel)

    def _do(self, call, *args) -> None:
        """In the test body: now. In fixtures (the `contents` fixture makes ~50 objects
        per test): in parallel, all done before the test body runs (flush_writes). A
        store needs no parent folder before a child, so the order does not matter."""
        if _in_test_body:
            call(*args)
        else:
            _pending.append(_writer.submit(call, *args))

    def write_bytes(self, data: bytes) -> int:
        self._do(self.store.write, self.rel, bytes(data))
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def is_dir(self) -> bool:
        flush_writes()
        return not self.rel or self.store.dir_exists(self.rel)

    def is_file(self) -> bool:
        flush_writes()
        return bool(self.rel) and self.store.file_exists(self.rel)

    def exists(self) -> bool:
        return self.is_dir() or self.is_file()


class _PathlibWithStore:
    """test_api's ``pathlib``: ``Path(str(contents_dir) + "/x")`` is that StorePath."""

    def __getattr__(self, name):
        return getattr(pathlib, name)

    @staticmethod
    def Path(*parts):  # noqa: N802 (pathlib's name)
        text = "/".join(str(p) for p in parts)
        for mark, store in StorePath.roots.items():
            if text == mark or text.startswith(mark + "/"):
                return StorePath(store, mark, text[len(mark) :])
        return pathlib.Path(*parts)


@pytest.fixture
def contents_dir(store_prefix):
    """The test's prefix in the store, written through a sync store of the same traits
    (hidden names allowed: the fixtures write .hidden files as the upstream ones do)."""
    store = make_manager("sync", store_prefix, allow_hidden=True).store
    mark = f"/store-root/{store_prefix}"
    StorePath.roots[mark] = store
    yield StorePath(store, mark)
    flush_writes()
    StorePath.roots.pop(mark, None)


# --------------------------------------------------------------------------- helpers of test_manager
def _make_dir(contents_manager, api_path):
    contents_manager.store.make_dir(api_path.strip("/"))


def _make_big_dir(contents_manager, api_path):
    """A folder just over max_copy_folder_size_mb (upstream: 10 x limit subfolders of 200
    small files each; here 1 MiB files, fewer requests for the same total)."""
    api_path = api_path.strip("/")
    contents_manager.store.make_dir(api_path)
    megabyte = b"x" * (1024 * 1024)
    for i in range(contents_manager.max_copy_folder_size_mb + 1):
        contents_manager.store.write(f"{api_path}/subfolder-{i % 3}/file{i}.txt", megabyte)


# Module-level fixtures of the upstream files that build FileContentsManagers: removed,
# so the ones above apply. Module-level helpers: replaced.
_OWN_FIXTURES = {
    "test_manager.py": [
        "jp_contents_manager",
        "jp_file_contents_manager_class",
        "file_manager_with_notary",
    ],
    "test_largefilemanager.py": ["jp_large_contents_manager"],
    "test_checkpoints.py": ["contents_manager"],
    "test_api.py": ["jp_argv"],
}
_HELPERS = {
    "test_manager.py": {"_make_dir": _make_dir, "_make_big_dir": _make_big_dir},
    "test_api.py": {"pathlib": _PathlibWithStore()},
}


def pytest_collectstart(collector):
    if not isinstance(collector, pytest.Module):
        return
    name = collector.path.name
    if name not in _OWN_FIXTURES and name not in _HELPERS:
        return
    module = collector.obj  # the same module for its doctest collector: patch once
    if getattr(module, "_s3contents_rs_patched", False):
        return
    for fixture in _OWN_FIXTURES.get(name, []):
        delattr(module, fixture)
    for attr, value in _HELPERS.get(name, {}).items():
        assert hasattr(module, attr), f"{name} no longer has {attr}: update this conftest"
        setattr(module, attr, value)
    module._s3contents_rs_patched = True
