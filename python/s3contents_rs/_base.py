"""What the sync and async managers share: traits, model building, naming, hooks.

Nothing here waits on the store; the managers call the core and hand its results to
these helpers, so both flavours build byte-identical models.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import hashlib
import itertools
import json
import logging
import mimetypes
import re
import weakref
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

import nbformat
import nbformat.v4
from nbformat.v4.rwbase import rejoin_lines, strip_transient
from tornado.web import HTTPError, StaticFileHandler
from traitlets import Bool, Dict, Enum, Float, HasTraits, Int, TraitError, Unicode, default, observe, validate
from traitlets.log import get_logger

from ._core import ContentsStore, Entry, loads_yielding
from ._prefix import expand_prefix
from .exceptions import NotFoundError, S3ContentsError
from .files import StoreFilesHandler
from .fs import ContentsFS
from ._logging import route_core_logs


# Notebooks (bytes) and listings (entries) from this size on are turned into models in a
# worker thread by the async manager (see StoreContentsMixin._off_loop). nbformat needs
# about 50 ms per MB here: 64 KB is a few milliseconds.
_OFF_LOOP_BYTES = 64 * 1024
_OFF_LOOP_ENTRIES = 500


class _YieldingDecoder(json.JSONDecoder):
    """For nbformat's `json.loads(text, cls=...)` in a worker thread: the core's parser,
    which releases the GIL while it works (`json.loads` holds it for 0.3 s per 50 MB,
    stopping the event loop) and gives exactly what `json.loads` gives (it hands the
    rare text it does not read itself, and invalid JSON, to `json.loads`)."""

    def decode(self, s: str, *args: Any) -> Any:
        return loads_yielding(s)


def _reads_yielding(data: Union[str, bytes], validation_error: dict[str, Any]) -> Any:
    """`nbformat.reads(data, as_version=4, capture_validation_error=validation_error)`,
    for a worker thread. A v4 notebook (all that Jupyter writes today) is built by the
    core directly as NotebookNodes, untracked by the cyclic garbage collector, in slices
    that let the event loop run: nbformat's `from_dict` copy of the whole tree, and the
    collector's full passes over it (0.1 s and more each, GIL held), do not happen.
    Then the rest of what nbformat's v4 reader and `reads` do: joining multi-line
    strings, dropping transient fields, validating."""
    try:
        nb = loads_yielding(data, nbformat.NotebookNode)
    except ValueError:  # invalid JSON: nbformat's own error for it
        return nbformat.reads(_text(data), as_version=4, capture_validation_error=validation_error)
    major, _ = nbformat.reader.get_version(nb)
    if major != 4:  # older formats go through nbformat's converters
        return nbformat.reads(
            _text(data), as_version=4, capture_validation_error=validation_error, cls=_YieldingDecoder
        )
    try:
        nb = strip_transient(rejoin_lines(nb))
    except AttributeError as e:  # as nbformat.reader.reads words it
        raise nbformat.ValidationError(f"The notebook is invalid and is missing an expected key: {e}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        get_logger().error("Notebook JSON is invalid: %s", e)  # as nbformat.reads logs it
        validation_error["ValidationError"] = e
    return nb


def _looks_like_a_notebook(nb: Any) -> bool:
    """What signing needs of a notebook (v4 cells or v3 worksheets, and a version)."""
    return (
        isinstance(nb, dict)
        and isinstance(nb.get("nbformat"), int)
        and isinstance(nb.get("cells", nb.get("worksheets")), list)
    )


def _utf8(text: str, path: str) -> bytes:
    """UTF-8 of text to store; lone surrogates cannot be stored: 400, as FileContentsManager."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise HTTPError(400, f"Encoding error saving {path}: {e}") from e


def _text(data: Union[str, bytes]) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


# Where _fill_notebook leaves a signature for _look_up_trust (never returned to a client).
_SIGNATURE = "__s3contents_rs_signature"

# Every store opened in this process, so uploads in progress are aborted at shutdown
# (jupyter_server exits normally on SIGTERM/SIGINT, which runs atexit handlers).
_open_stores: "weakref.WeakSet[ContentsStore]" = weakref.WeakSet()


@atexit.register
def _abort_uploads_at_exit() -> None:
    for store in list(_open_stores):
        try:
            aborted = store.abort_uploads()
        except Exception:  # noqa: BLE001 (shutting down: nothing left to report to)
            continue
        if aborted:
            logging.getLogger(__name__).warning(
                "Aborted %d unfinished upload(s) in %s at shutdown", aborted, store.url
            )


class StoreContentsMixin(HasTraits):
    """Traits and pure logic of the object-store contents managers."""

    url = Unicode(
        "",
        config=True,
        help="""The store, as one URL: s3://bucket, gs://bucket, az://container,
        file:///absolute/dir or memory://. A path after the bucket is a key prefix.
        The named managers (S3, GCS, Azure) build it from their own settings.""",
    )

    prefix = Unicode(
        "",
        config=True,
        help="""Key prefix everything lives under. {username} is replaced by the JupyterHub
        user (JUPYTERHUB_USER) and ${NAME} by the environment variable NAME.""",
    )

    store_options = Dict(
        key_trait=Unicode(),
        config=True,
        help="""Extra object_store options for the store (keys as object_store documents
        them, e.g. "aws_virtual_hosted_style_request", "proxy_url", "timeout"). They
        override what the named managers derive from their settings.""",
    )

    max_checkpoints = Int(
        1,
        config=True,
        help="""How many checkpoints to keep per file, in the bucket next to it under
        .ipynb_checkpoints/. 1 behaves exactly like Jupyter's single checkpoint; N > 1
        keeps a history of N, listed newest first and restorable by id.""",
    )

    always_delete_dir = Bool(
        True,
        config=True,
        help="""If True (default), deleting a non-empty directory deletes everything in it,
        as s3contents users expect. If False, a final delete (delete_to_trash off) of a
        non-empty directory is refused with 400 'directory not empty', like
        FileContentsManager; moving it to the trash is always allowed.""",
    )

    hash_algorithm = Enum(
        sorted(hashlib.algorithms_available),
        default_value="sha256",
        config=True,
        help="Hash algorithm used for the 'hash' field of models when a hash is requested.",
    )

    upload_part_size = Int(
        8 * 1024 * 1024,
        config=True,
        help="""Part size of the multipart uploads behind chunked (large file) uploads, in
        bytes; at least 5 MiB (the S3 minimum). Server memory per upload stays near this.""",
    )

    upload_timeout = Float(
        3600.0,
        config=True,
        help="Seconds after which an unfinished chunked upload is aborted in the store.",
    )

    read_only = Bool(
        False,
        config=True,
        help="""Serve the store read-only (shared course material): every model says
        writable: false and every change is refused with 403.""",
    )

    delete_to_trash = Bool(
        True,
        config=True,
        help="""If True (default, as in jupyter_server), deleted files and folders are moved
        to <prefix>/.Trash/<timestamp>/<path> in the bucket (never listed, not reachable
        through the API; expire them with a lifecycle rule). If False, deletes are final.""",
    )

    max_retries = Int(
        3,
        config=True,
        help="""Retries of a store request that failed in a transient way (5xx, SlowDown,
        throttling, connection errors), with exponential backoff. 0 disables retries.""",
    )

    retry_timeout = Float(
        30.0,
        config=True,
        help="Seconds after the first attempt of a request after which it is not retried any more.",
    )

    connect_timeout = Float(5.0, config=True, help="Seconds allowed to connect to the store.")

    request_timeout = Float(
        60.0,
        config=True,
        help="Seconds allowed for one store request, response included (per attempt).",
    )

    max_copy_folder_size_mb = Int(
        500,
        config=True,
        help="""The largest folder (in MB, everything in it) a copy accepts, as in
        FileContentsManager; a larger one is refused with 400. 0 removes the limit.""",
    )

    @observe("max_copy_folder_size_mb")
    def _max_copy_folder_size_changed(self, change: dict[str, Any]) -> None:
        store = self.__dict__.get("_built_store")
        if store is not None:
            store.set_max_copy_folder_bytes(max(change["new"], 0) * 1024 * 1024)

    multipart_copy_threshold = Int(
        5 * 1024**3,
        config=True,
        help="""Files larger than this many bytes are copied (renamed, copied, moved to the
        trash, checkpointed) with a multipart copy (S3, in parts of multipart_copy_part_size),
        a rewrite loop (GCS, at most this many bytes in whole MiB per call) or a Copy Blob
        waited for until done (Azure). The default is S3's own single-copy limit (5 GiB); at
        that default S3 and GCS try a copy whole first, so smaller files cost no extra
        request; Azure asks each source's size first.""",
    )

    multipart_copy_part_size = Int(
        512 * 1024**2,
        config=True,
        help="""S3: part size of multipart copies, in bytes (5 MiB to 5 GiB); grown when the
        object would need more than 10 000 parts.""",
    )

    max_content_size = Int(
        2 * 1024**3,
        config=True,
        help="""The largest file, in bytes, that opening it (GET /api/contents with content)
        reads into the server's memory; a larger one is refused with 413 and the sizes.
        Downloads through /files stream and are not limited.""",
    )

    upload_max_parts = Int(
        10_000,
        config=True,
        help="""Most parts of the multipart upload behind a chunked upload (S3 allows
        10 000). Parts grow (upload_part_size, doubled every twelfth of this count) so a
        long upload never runs out of parts.""",
    )

    def _store_kwargs(self) -> dict[str, Any]:
        return {
            "upload_part_size": self.upload_part_size,
            "upload_timeout": self.upload_timeout,
            "multipart_copy_threshold": self.multipart_copy_threshold,
            "multipart_copy_part_size": self.multipart_copy_part_size,
            "max_content_size": self.max_content_size,
            "upload_max_parts": self.upload_max_parts,
            "read_only": self.read_only,
            "max_retries": self.max_retries,
            "retry_timeout": self.retry_timeout,
            "connect_timeout": self.connect_timeout,
            "request_timeout": self.request_timeout,
        }

    @default("files_handler_class")
    def _files_handler_class_default(self) -> type:
        return StoreFilesHandler

    @default("files_handler_params")
    def _files_handler_params_default(self) -> dict[str, Any]:
        # If configured back to jupyter_server's FilesHandler: its StaticFileHandler base
        # insists on a `path` argument it then never uses.
        if issubclass(self.files_handler_class, StaticFileHandler):  # type: ignore[attr-defined]
            return {"path": "/"}
        return {}

    @validate("max_checkpoints")
    def _validate_max_checkpoints(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1:
            raise TraitError("max_checkpoints must be at least 1")
        return proposal["value"]

    # -- the store -------------------------------------------------------------------

    def _store_location(self) -> tuple[str, dict[str, str], Optional[Callable[[], Any]]]:
        """The store URL, its options and an optional S3 credential callback; the named
        managers derive them from their own settings."""
        if not self.url:
            raise TraitError(
                "url: no store configured (for example s3://bucket/prefix, gs://bucket, "
                "az://container, file:///srv/notebooks or memory://)"
            )
        return self.url, {}, None

    def _open_store(self) -> ContentsStore:
        named = type(self)._store_location is not StoreContentsMixin._store_location
        if named and self.url:
            raise TraitError(
                f"url: {type(self).__name__} takes its store from its own settings (bucket, "
                "container, ...); use ObjectStoreContentsManager for a store URL"
            )
        url, options, credentials = self._store_location()
        # object_store takes strings ("true", "30s"); accept True and numbers too.
        options.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.store_options.items()})
        return ContentsStore(
            url, expand_prefix(self.prefix), options, credential_provider=credentials, **self._store_kwargs()
        )

    @property
    def _store(self) -> ContentsStore:
        # Built on first use: traitlets validates `preferred_dir` (which asks the store)
        # before __init__ returns. __init__ forces it, so bad config fails at startup.
        store = self.__dict__.get("_built_store")
        if store is None:
            try:
                store = self._open_store()
            except S3ContentsError as e:
                raise TraitError(f"{type(self).__name__}: {e}") from e
            _open_stores.add(store)
            store.set_max_copy_folder_bytes(max(self.max_copy_folder_size_mb, 0) * 1024 * 1024)
            self.__dict__["_built_store"] = store
            self.__dict__["_checkpointed"] = set()
        return store

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        route_core_logs(self.log)  # type: ignore[attr-defined]
        self._store  # noqa: B018 (build now, so configuration errors surface at startup)
        self._check_store_at_start()
        _redact_shown_config(self)
        _guard_application_log()
        self.fs = ContentsFS(self)

    def _check_store_at_start(self) -> None:
        """A bucket that does not exist stops the start-up with FileNotFoundError (our
        NotFoundError), as in s3contents; any other failure here (no network yet, a login
        refused) is only logged: each request reports it again when it happens."""
        try:
            self._store.check_store()
        except NotFoundError as e:
            bucket = getattr(self, "bucket", None) or getattr(self, "container", None)
            where = f"bucket {bucket!r}" if bucket else self._store.url
            raise NotFoundError(f"{e} ({type(self).__name__}, {where})") from None
        except S3ContentsError as e:
            self.log.warning("Could not list %s at start-up: %s", self._store.url, e)  # type: ignore[attr-defined]

    @property
    def _checkpointed(self) -> set[str]:
        """Notebooks known to have a checkpoint (saves skip the check for them)."""
        self._store  # noqa: B018
        return self.__dict__["_checkpointed"]

    @property
    def store(self) -> ContentsStore:
        """The Rust storage core behind this manager."""
        return self._store

    # -- paths and hidden files -----------------------------------------------------

    def _hidden(self, path: str) -> bool:
        # "." and ".." are not hidden names but invalid ones: the core answers those with 400.
        return any(part.startswith(".") and part not in (".", "..") for part in path.split("/"))

    def _refuse_hidden_read(self, path: str) -> None:
        if not self.allow_hidden and self._hidden(path):  # type: ignore[attr-defined]
            self.log.info("Refusing to serve hidden file or directory %r, via 404 Error", path)  # type: ignore[attr-defined]
            raise HTTPError(404, f"file or directory does not exist: {path!r}")

    def _refuse_hidden_write(self, path: str, action: str = "create file or directory") -> None:
        if not self.allow_hidden and self._hidden(path):  # type: ignore[attr-defined]
            raise HTTPError(400, f"Cannot {action} {path!r}")

    def _listed(self, entry: Entry) -> bool:
        if not self.should_list(entry.name):  # type: ignore[attr-defined]
            return False
        return self.allow_hidden or not entry.name.startswith(".")  # type: ignore[attr-defined]

    # -- models ----------------------------------------------------------------------

    @staticmethod
    def _model_type(path: str, kind: str, requested: Optional[str]) -> str:
        """The model type for an entry, or a 400 when `requested` contradicts it."""
        if kind == "directory":
            if requested not in (None, "directory"):
                raise HTTPError(400, f"{path} is a directory, not a {requested}", reason="bad type")
            return "directory"
        if requested == "directory":
            raise HTTPError(400, f"{path} is not a directory", reason="bad type")
        if requested == "notebook" or (requested is None and path.endswith(".ipynb")):
            return "notebook"
        return "file"

    def _base_model(self, entry: Entry, model_type: str) -> dict[str, Any]:
        """The model `get(content=False)` returns; `save` returns the same."""
        return {
            "name": entry.name,
            "path": entry.path,
            "type": model_type,
            "last_modified": entry.last_modified,
            "created": entry.last_modified,
            "content": None,
            "format": None,
            "mimetype": mimetypes.guess_type(entry.path)[0] if model_type == "file" else None,
            "size": entry.size,
            "writable": not self.read_only,
            "hash": None,
            "hash_algorithm": None,
        }

    @staticmethod
    def _content_encoding(
        path: str, requested_type: Optional[str], format: Optional[str], content: bool, require_hash: bool
    ) -> Optional[str]:
        """How the core should hand over a file's content: the model's final text or
        base64 is produced in Rust while reading, so large files are not copied again
        here. Hashing needs the raw bytes."""
        if require_hash:
            return "bytes"
        if not content:
            return None
        if requested_type == "notebook" or (requested_type is None and path.endswith(".ipynb")):
            return "bytes"  # parsed from UTF-8 bytes: no Python str of the whole text
        return format if format in ("text", "base64") else "auto"

    def _build_model(
        self,
        fetched: tuple[Entry, Optional[Union[str, bytes]], Optional[str], Optional[list[Entry]]],
        requested_type: Optional[str],
        format: Optional[str],
        content: bool,
        require_hash: bool,
        notary: Any = None,
    ) -> dict[str, Any]:
        """The model for what the core fetched. With `notary`, this runs off the event loop
        (see `_off_loop`): a notebook's trust signature is computed but not looked up, and
        `_look_up_trust` must be called on the loop thread with the returned model."""
        entry, data, data_format, children = fetched
        model_type = self._model_type(entry.path, entry.kind, requested_type)
        model = self._base_model(entry, model_type)
        if model_type == "directory":
            if content:
                model["content"] = [
                    self._base_model(child, self._model_type(child.path, child.kind, None))
                    for child in children or []
                    if self._listed(child)
                ]
                model["format"] = "json"
            return model
        if content and data is not None:
            if model_type == "notebook":
                self._fill_notebook(model, data, notary)
            elif data_format == "bytes":
                self._fill_file(model, data, format)
            else:
                self._fill_encoded_file(model, data, data_format, format)
        if require_hash and isinstance(data, bytes):
            model["hash"] = hashlib.new(self.hash_algorithm, data).hexdigest()
            model["hash_algorithm"] = self.hash_algorithm
        return model

    def _fill_notebook(self, model: dict[str, Any], data: Union[str, bytes], notary: Any = None) -> None:
        validation_error: dict[str, Any] = {}
        try:
            if notary is None:
                nb = nbformat.reads(_text(data), as_version=4, capture_validation_error=validation_error)
            else:  # off the loop: the parse must not hold the GIL for long
                nb = _reads_yielding(data, validation_error)
        except Exception as e:
            raise HTTPError(400, f"Unreadable Notebook: {model['path']} {e!r}") from e
        if notary is None:
            self.mark_trusted_cells(nb, model["path"])  # type: ignore[attr-defined]
        else:
            # NotebookNotary.check_signature in two halves: the HMAC over the whole
            # notebook here, the lookup in the notary's sqlite store (whose connection
            # belongs to the loop thread) in `_look_up_trust`.
            model[_SIGNATURE] = notary.compute_signature(nb) if nb.nbformat >= 3 else None
        model["content"] = nb
        model["format"] = "json"
        self.validate_notebook_model(model, validation_error)  # type: ignore[attr-defined]

    # -- keeping the event loop free (async manager) ----------------------------------

    def _off_loop(self, size: int) -> Any:
        """The notary to hand to work done in a worker thread, or None to stay on the loop.

        nbformat's parsing, validation and signing of a large notebook take seconds of
        pure Python; on the event loop they stall every other request of the server. In a
        worker thread the loop still runs between the GIL's switches (5 ms). The notary's
        signature store is an sqlite connection tied to the thread that opened it, so it
        is opened here, on the loop thread, and only used there (`_look_up_trust`,
        `_store_signature`). Managers that override the trust hooks keep running them
        on the loop, as jupyter_server does."""
        from jupyter_server.services.contents.manager import ContentsManager

        cls = type(self)
        if size < _OFF_LOOP_BYTES:
            return None
        if cls.mark_trusted_cells is not ContentsManager.mark_trusted_cells:  # type: ignore[attr-defined]
            return None
        if cls.check_and_sign is not ContentsManager.check_and_sign:  # type: ignore[attr-defined]
            return None
        notary = self.notary  # type: ignore[attr-defined]
        notary.secret, notary.digestmod  # noqa: B018 (computed here, not in the thread)
        return notary

    def _look_up_trust(self, model: dict[str, Any], notary: Any) -> Optional[bool]:
        """On the loop thread: the first half of what `mark_trusted_cells` does, with the
        signature that `_fill_notebook` computed in the worker thread. Returns whether
        the notebook is trusted (None for a model without a notebook); the caller marks
        the cells (`notary.mark_cells`), which needs no sqlite and can run off the loop."""
        if _SIGNATURE not in model:
            return None
        signature = model.pop(_SIGNATURE)
        trusted = signature is not None and notary.store.check_signature(signature, notary.algorithm)
        if not trusted:
            self.log.warning("Notebook %s is not trusted", model["path"])  # type: ignore[attr-defined]
        return bool(trusted)

    def _serialize_notebook_off_loop(
        self, model: dict[str, Any], path: str, notary: Any
    ) -> tuple[bytes, dict[str, Any], Optional[str], bool]:
        """In a worker thread: `_serialize` of a notebook, with `check_and_sign` split as
        `_look_up_trust` splits the trust check; returns the bytes, the validation error,
        and the signature to store (`_store_signature`) and whether all cells were trusted."""

        def check_cells_and_compute_signature(nb: Any) -> tuple[Optional[str], bool]:
            trusted = notary.check_cells(nb)
            return (notary.compute_signature(nb) if trusted and nb.nbformat >= 3 else None), trusted

        data, validation_error, (signature, trusted) = self._notebook_bytes(
            model, path, check_cells_and_compute_signature
        )
        return data, validation_error, signature, trusted

    def _notebook_bytes(
        self, model: dict[str, Any], path: str, sign: Callable[[Any], Any]
    ) -> tuple[bytes, dict[str, Any], Any]:
        """The bytes to store for a notebook model, its validation error, and what
        `sign(nb)` returned: the signing step (`check_and_sign`, or its off-loop half)
        runs between nbformat's conversion and its writing."""
        validation_error: dict[str, Any] = {}
        try:
            nb = nbformat.from_dict(model["content"])
        except Exception as e:
            raise HTTPError(400, f"Invalid notebook content for {path}: {e}") from e
        try:
            signed = sign(nb)
        except HTTPError:
            raise
        except UnicodeEncodeError as e:  # lone surrogates in the content: the user's
            raise HTTPError(400, f"Encoding error saving {path}: {e}") from e
        except Exception as e:
            # Signing fails on content that is no notebook (the user's: 400), or when
            # the notary's signature store fails (not the user's: 500).
            if not _looks_like_a_notebook(nb):
                raise HTTPError(400, f"Invalid notebook content for {path}: {e}") from e
            try:
                nbformat.writes(nb, version=nbformat.NO_CONVERT)
            except Exception as invalid:
                raise HTTPError(400, f"Invalid notebook content for {path}: {invalid}") from invalid
            raise self._unexpected_save_error(path, e) from e
        try:
            text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error)
        except Exception as e:
            raise HTTPError(400, f"Invalid notebook content for {path}: {e}") from e
        if not text.endswith("\n"):
            text += "\n"
        return _utf8(text, path), validation_error, signed

    def _store_signature(self, notary: Any, signature: Optional[str], trusted: bool, path: str) -> None:
        """On the loop thread: the rest of `check_and_sign` (same warning, same recovery
        from a broken signature store)."""
        if not trusted:
            self.log.warning("Notebook %s is not trusted", path)  # type: ignore[attr-defined]
            return
        if signature is None:
            return
        try:
            notary.store.store_signature(signature, notary.algorithm)
        except Exception:
            self.log.warning(  # type: ignore[attr-defined]
                "Signature store for notebook %s is corrupted or unavailable; recreating the store.",
                path,
                exc_info=True,
            )
            try:
                notary.store = notary.store_factory()
                notary.store.store_signature(signature, notary.algorithm)
            except Exception as e:
                raise self._unexpected_save_error(path, e) from e

    def _unexpected_save_error(self, path: str, error: Exception) -> HTTPError:
        """FileContentsManager's answer to an error that is not the user's: logged, 500."""
        self.log.error("Error while saving file: %s %s", path, error, exc_info=True)  # type: ignore[attr-defined]
        return HTTPError(500, f"Unexpected error while saving file: {path} {error}")

    @staticmethod
    def _check_format(format: Optional[str]) -> None:
        if format not in (None, "text", "base64"):
            raise HTTPError(400, f"Format must be one of 'text' or 'base64', not {format!r}", reason="bad format")

    @classmethod
    def _fill_encoded_file(cls, model: dict[str, Any], data: str, data_format: str, format: Optional[str]) -> None:
        """A file whose text or base64 the core produced."""
        cls._check_format(format)
        model["content"], model["format"] = data, data_format
        if model["mimetype"] is None:
            model["mimetype"] = "text/plain" if data_format == "text" else "application/octet-stream"

    @classmethod
    def _fill_file(cls, model: dict[str, Any], data: bytes, format: Optional[str]) -> None:
        cls._check_format(format)
        if format != "base64":
            try:
                model["content"], model["format"] = data.decode("utf-8"), "text"
            except UnicodeDecodeError as e:
                if format == "text":
                    raise HTTPError(400, f"{model['path']} is not UTF-8 encoded", reason="bad format") from e
        if model["format"] is None:
            model["content"] = base64.b64encode(data).decode("ascii")
            model["format"] = "base64"
        if model["mimetype"] is None:
            model["mimetype"] = "text/plain" if model["format"] == "text" else "application/octet-stream"

    # -- saving ----------------------------------------------------------------------

    def _check_save_model(self, model: dict[str, Any], path: str) -> None:
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if "content" not in model and model["type"] != "directory":
            raise HTTPError(400, "No file content provided")
        if model["type"] not in ("notebook", "file", "directory"):
            raise HTTPError(400, "Unhandled contents type: %s" % model["type"])
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_hidden_write(path)

    def _serialize(self, model: dict[str, Any], path: str) -> tuple[bytes, dict[str, Any]]:
        """Bytes to store for a file or notebook model, plus any notebook validation error."""
        if model["type"] == "notebook":
            data, validation_error, _ = self._notebook_bytes(
                model, path, lambda nb: self.check_and_sign(nb, path)  # type: ignore[attr-defined]
            )
            return data, validation_error
        validation_error: dict[str, Any] = {}
        content, fmt = model["content"], model.get("format")
        if fmt == "text":
            if not isinstance(content, str):
                raise HTTPError(400, f"Text content for {path} must be a string")
            return _utf8(content, path), validation_error
        if fmt == "base64":
            try:
                # Line breaks are allowed (as decodebytes allows them); anything else
                # outside the alphabet is an error rather than silently dropped.
                compact = "".join(content.split()).encode("ascii")
                return base64.b64decode(compact, validate=True), validation_error
            except (binascii.Error, UnicodeEncodeError, AttributeError) as e:
                raise HTTPError(400, f"Encoding error saving {path}: content is not valid base64") from e
        raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")

    def _chunk_data(self, model: dict[str, Any], path: str) -> bytes:
        """Validate one chunk of a chunked upload and decode its bytes: LargeFileManager's
        checks, in its order and with its messages; text chunks are UTF-8 encoded."""
        chunk = model.get("chunk")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or (chunk < 1 and chunk != -1):
            raise HTTPError(400, f"Invalid chunk number {chunk!r}: expected 1, 2, ... or -1 for the last")
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if model["type"] != "file":
            raise HTTPError(400, f'File type "{model["type"]}" is not supported for large file transfer')
        if "content" not in model:
            raise HTTPError(400, "No file content provided")
        if model.get("format") not in ("text", "base64"):
            raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_hidden_write(path)
        data, _ = self._serialize(model, path)
        return data

    def _upload_progress_model(self, path: str, received: int) -> dict[str, Any]:
        """What LargeFileManager answers for an intermediate chunk: the file so far."""
        now = datetime.now(timezone.utc)
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "type": "file",
            "last_modified": now,
            "created": now,
            "content": None,
            "format": None,
            "mimetype": mimetypes.guess_type(path)[0],
            "size": received,
            "writable": not self.read_only,
            "hash": None,
            "hash_algorithm": None,
        }

    def _saved_model(
        self, entry: Entry, model: dict[str, Any], validation_error: dict[str, Any]
    ) -> dict[str, Any]:
        message = None
        if model["type"] == "notebook":
            self.validate_notebook_model(model, validation_error=validation_error)  # type: ignore[attr-defined]
            message = model.get("message")
        saved = self._base_model(entry, self._model_type(entry.path, entry.kind, model["type"]))
        if message:
            saved["message"] = message
        return saved

    def _after_save(self, saved: dict[str, Any], path: str) -> dict[str, Any]:
        """Post-save hooks and the `save` event, once the object is in the store."""
        self.run_post_save_hooks(model=saved, os_path=path)
        self.emit(data={"action": "save", "path": path})  # type: ignore[attr-defined]
        return saved

    def run_post_save_hooks(self, model: dict[str, Any], os_path: str) -> None:
        """Call hooks as s3contents does: ``hook(model=, s3_path=, contents_manager=)``.

        ``s3_path`` is the API path (bucket and prefix excluded), usable with ``fs.read``.
        Hooks registered with ``register_post_save_hook`` get the same arguments.
        """
        hooks = [self.post_save_hook] if self.post_save_hook is not None else []  # type: ignore[attr-defined]
        hooks += self._post_save_hooks  # type: ignore[attr-defined]
        for hook in hooks:
            try:
                self.log.debug("Running post-save hook on %s", os_path)  # type: ignore[attr-defined]
                hook(model=model, s3_path=os_path, contents_manager=self)
            except Exception as e:
                self.log.error("Post-save hook %s failed on %s", getattr(hook, "__name__", hook), os_path, exc_info=True)  # type: ignore[attr-defined]
                raise HTTPError(500, f"Unexpected error while running post hook save: {e}") from e

    # -- creating --------------------------------------------------------------------

    def _untitled(self, type: str, ext: str) -> tuple[dict[str, Any], str, str]:
        """ContentsManager.new_untitled's model, file name to increment, and insert."""
        model: dict[str, Any] = {"type": type} if type else {}
        model.setdefault("type", "notebook" if ext == ".ipynb" else "file")
        if model["type"] == "directory":
            return model, self.untitled_directory + ext, " "  # type: ignore[attr-defined]
        if model["type"] == "notebook":
            return model, self.untitled_notebook + ".ipynb", ""  # type: ignore[attr-defined]
        if model["type"] == "file":
            return model, self.untitled_file + ext, ""  # type: ignore[attr-defined]
        raise HTTPError(400, "Unexpected model type: %r" % model["type"])

    @staticmethod
    def _new_model(model: Optional[dict[str, Any]], path: str) -> dict[str, Any]:
        """ContentsManager.new's model: an empty notebook, text file or directory."""
        model = dict(model or {})
        model.setdefault("type", "notebook" if path.endswith(".ipynb") else "file")
        if "content" not in model and model["type"] != "directory":
            if model["type"] == "notebook":
                model["content"], model["format"] = nbformat.v4.new_notebook(), "json"
            else:
                model["content"], model["type"], model["format"] = "", "file", "text"
        return model

    def _store_checkpoints(self) -> bool:
        """True when checkpoints are ours, unmodified: a save may then make a notebook's
        first checkpoint straight in the store, without the HEAD for its timestamp."""
        from .checkpoints import AsyncObjectStoreCheckpoints, ObjectStoreCheckpoints

        checkpoints = self.checkpoints  # type: ignore[attr-defined]
        return any(
            isinstance(checkpoints, base) and type(checkpoints).create_checkpoint is base.create_checkpoint
            for base in (ObjectStoreCheckpoints, AsyncObjectStoreCheckpoints)
        )

    def _log_trashed(self, path: str, trashed: str) -> None:
        self.log.info("Moved %s to the trash: %s", path, trashed)  # type: ignore[attr-defined]

    # -- naming ----------------------------------------------------------------------

    @staticmethod
    def _first_free_name(taken: set[str], filename: str, insert: str = "") -> str:
        """ContentsManager.increment_filename, against one listing of the directory."""
        basename, dot, ext = filename.rpartition(".")
        if ext != "ipynb":
            basename, dot, ext = filename.partition(".")
        suffix = dot + ext
        candidates = (f"{basename}{f'{insert}{i}' if i else ''}{suffix}" for i in itertools.count())
        return next(name for name in candidates if name not in taken)

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        parent, _, name = path.rpartition("/")
        return parent, name

    def info_string(self) -> str:
        return f"Serving contents from {self._store.url} (prefix {self._store.prefix!r})"

    def get_kernel_path(self, path: str, model: Optional[dict[str, Any]] = None) -> str:
        # Kernels run on local disk; the bucket path has no meaning there.
        return ""


class _Redacted:
    """Stands in for a secret in config that is printed or logged."""

    def __repr__(self) -> str:
        return "'<redacted>'"


# Config names (traits and store_options keys) that hold secrets: keys, tokens, SAS...
_SECRET_NAME = re.compile(r"secret|token|password|sas|account_key|service_account|_key$", re.IGNORECASE)


def _redacted(config: Any, secret: frozenset = frozenset()) -> Any:
    """A copy of a (nested) config dict with secret values replaced."""
    if not isinstance(config, dict):
        return config
    return {
        name: _Redacted() if (name in secret or _SECRET_NAME.search(str(name))) and isinstance(value, str)
        else _redacted(value, secret)
        for name, value in config.items()
    }


def _redact_shown_config(manager: HasTraits) -> None:
    """`jupyter server --show-config` prints the loaded config once the managers exist
    (and then exits): replace the secrets in it. Traits tagged ``secret=True`` count."""
    app = getattr(manager, "parent", None)
    if not getattr(app, "show_config", False):
        return
    secret = frozenset(name for name, trait in manager.traits().items() if trait.metadata.get("secret"))
    for name, section in list(app.config.items()):
        if isinstance(section, dict):
            app.config[name] = type(section)(_redacted(section, secret))


class _RedactConfigLog(logging.Filter):
    """traitlets logs the whole loaded config at DEBUG ("Config changed: ..."): redact it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = _redacted(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _guard_application_log() -> None:
    """Install the filter on the running application's logger. Called when this module is
    imported, which a config file does before the app logs what it loaded."""
    from traitlets.config import Application

    if Application.initialized():
        log = Application.instance().log
        if isinstance(log, logging.Logger) and not any(isinstance(f, _RedactConfigLog) for f in log.filters):
            log.addFilter(_RedactConfigLog())


_guard_application_log()
