"""Helpers shared by the test modules (importable as ``s3c_helpers``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import io
import json
import logging

import pytest

# Every environment variable through which the AWS credential chain could find a login:
# the tests that check what happens without one take all of them away.
AWS_LOGIN_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_METADATA_ENDPOINT",
)


# --------------------------------------------------------------------------- events
class EventSink:
    """Collects the JSON events emitted by a manager's EventLogger."""

    def __init__(self, event_logger):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        event_logger.register_handler(self.handler)

    def events(self) -> list[dict]:
        self.handler.flush()
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def actions(self, schema_suffix: str = "contents_service/v1") -> list[tuple]:
        return [
            (e["action"], e["path"], e.get("source_path"))
            for e in self.events()
            if e.get("__schema__", "").endswith(schema_suffix)
        ]


# --------------------------------------------------------------------------- helpers
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def listing(model: dict) -> dict[str, dict]:
    """name -> entry for a directory model with content."""
    assert model["type"] == "directory", model
    assert isinstance(model["content"], list), model
    names = [m["name"] for m in model["content"]]
    assert len(names) == len(set(names)), f"duplicate entries in listing: {sorted(names)}"
    return {m["name"]: m for m in model["content"]}


# --------------------------------------------------------------------------- models
def check_model(model: dict, *, content: bool, require_hash: bool = False) -> dict:
    """Assert a model is well-formed the way jupyter_server's REST handler
    requires (``validate_model``) plus the typing FileContentsManager gives."""
    import datetime as _dt

    from jupyter_server.services.contents.handlers import validate_model

    validate_model(model, expect_content=content, expect_hash=require_hash)
    assert model["type"] in ("directory", "file", "notebook"), model
    assert model["writable"] is True, model
    for key in ("created", "last_modified"):
        value = model[key]
        assert isinstance(value, _dt.datetime), f"{key} is {value!r}"
        assert value.tzinfo is not None, f"{key} is naive: {value!r}"
        assert value.utcoffset() == _dt.timedelta(0), f"{key} not UTC: {value!r}"
    if model["type"] == "directory":
        assert model["size"] is None, model
        assert model["mimetype"] is None, model
        if content:
            assert model["format"] == "json", model
            for entry in model["content"]:
                check_model(entry, content=False)
    else:
        assert isinstance(model["size"], int), model
    if model["type"] == "notebook":
        assert model["mimetype"] is None, model
        if content:
            assert model["format"] == "json", model
    if not require_hash and model["type"] != "directory":
        assert model.get("hash") is None, model
    return model


def nb_sources(nb) -> list[tuple[str, str]]:
    return [(c["cell_type"], c["source"]) for c in nb["cells"]]


# --------------------------------------------------------------------------- managers
# Methods of AsyncS3ContentsManager that must be coroutines (return awaitables).
ASYNC_API = frozenset(
    {
        "get",
        "save",
        "new",
        "new_untitled",
        "copy",
        "rename",
        "rename_file",
        "update",
        "delete",
        "delete_file",
        "exists",
        "file_exists",
        "dir_exists",
        "is_hidden",
        "trust_notebook",
        "create_checkpoint",
        "list_checkpoints",
        "restore_checkpoint",
        "delete_checkpoint",
        "increment_filename",
    }
)


def manager_classes():
    from s3contents_rs import AsyncS3ContentsManager, S3ContentsManager

    return {"sync": S3ContentsManager, "async": AsyncS3ContentsManager}


class ManagerAdapter:
    """Synchronous facade over a sync or async contents manager.

    ``adapter.get(path)`` calls ``manager.get(path)``; for the async flavour the
    call is made inside a coroutine on the test's event loop and awaited.
    Attribute reads/writes other than methods go straight to the manager.
    """

    def __init__(self, manager, flavor: str, loop: asyncio.AbstractEventLoop):
        object.__setattr__(self, "raw", manager)
        object.__setattr__(self, "flavor", flavor)
        object.__setattr__(self, "loop", loop)

    @property
    def is_async(self) -> bool:
        return self.flavor == "async"

    def run(self, awaitable):
        """Run an awaitable to completion on the test loop."""

        async def _await():
            return await awaitable

        return self.loop.run_until_complete(_await())

    def __getattr__(self, name):
        attr = getattr(self.raw, name)
        if not callable(attr) or inspect.isclass(attr):
            return attr
        if not self.is_async:
            if name not in ASYNC_API:
                return attr

            def sync_call(*args, **kwargs):
                result = attr(*args, **kwargs)
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()
                    raise AssertionError(
                        f"S3ContentsManager.{name}() returned an awaitable; the sync manager must return plain values"
                    )
                return result

            sync_call.__name__ = name
            return sync_call

        def call(*args, **kwargs):
            async def _call():
                result = attr(*args, **kwargs)
                if inspect.isawaitable(result):
                    return await result
                if name in ASYNC_API:
                    raise AssertionError(
                        f"AsyncS3ContentsManager.{name}() returned {type(result).__name__}, not an awaitable"
                    )
                return result

            return self.loop.run_until_complete(_call())

        call.__name__ = name
        return call

    def __setattr__(self, name, value):
        setattr(self.raw, name, value)


def expect_http(status: int, fn, *args, **kwargs):
    """Call ``fn`` and check it raises tornado's HTTPError with ``status``."""
    from tornado.web import HTTPError

    with pytest.raises(HTTPError) as info:
        fn(*args, **kwargs)
    assert info.value.status_code == status, (
        f"expected HTTP {status}, got {info.value.status_code}: {info.value.log_message}"
    )
    return info.value


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefixView:
    """The common part of the raw views of a store (boto3, fake-gcs-server's JSON API,
    azure-storage-blob, plain files) that tests assert with: paths given to their methods
    are relative to one test's prefix (API-style paths)."""

    prefix: str

    def key(self, path: str) -> str:
        path = path.lstrip("/")
        return f"{self.prefix}/{path}" if self.prefix else path

    @staticmethod
    def as_bytes(body: bytes | str) -> bytes:
        return body.encode("utf-8") if isinstance(body, str) else body


def announce(request, message: str) -> None:
    """Print past pytest's output capture."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capman is None:  # pragma: no cover
        print(message)
        return
    with capman.global_and_fixture_disabled():
        reporter.write_line(message)
