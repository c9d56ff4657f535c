"""The managers' settings (traits) and the store they build from them.

The store is built on first use and checked at start-up, so a configuration mistake stops
the server with a clear message. Every store opened in the process is remembered, so the
uploads still in progress are aborted when the server exits.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import weakref
from typing import Any, Callable, Optional, cast

from tornado.web import StaticFileHandler
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    HasTraits,
    Int,
    TraitError,
    Unicode,
    default,
    observe,
    validate,
)

from ._core import ContentsStore, __version__
from ._logging import route_core_logs
from ._prefix import expand_prefix
from ._redaction import _guard_application_log, _redact_shown_config
from .exceptions import S3ContentsError
from .files import StoreFilesHandler
from .fs import ContentsFS

# Every store opened in this process, so uploads in progress are aborted at shutdown
# (jupyter_server exits normally on SIGTERM/SIGINT, which runs atexit handlers).
_open_stores: weakref.WeakSet[ContentsStore] = weakref.WeakSet()


@atexit.register
def _abort_uploads_at_exit() -> None:
    for store in list(_open_stores):
        try:
            aborted = store.abort_uploads()
        except Exception:  # noqa: BLE001 (shutting down: nothing left to report to)
            continue
        if aborted:
            logging.getLogger(__name__).warning("Aborted %d unfinished upload(s) in %s at shutdown", aborted, store.url)


class StoreSettings(HasTraits):
    """The settings shared by every object-store contents manager, and their store."""

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

    mounts = Dict(
        config=True,
        help="""Other stores shown as folders of the root: folder name -> store URL, or a dict
        with "url" and that store's settings (e.g. {"shared": "s3://team-bucket/shared",
        "datasets": {"url": "gs://public-data", "read_only": True}}). The manager's own
        store is the root; ObjectStoreContentsManager without url takes it from "" (none:
        the root only lists the mounts). See docs/usage.md, "Several stores in one tree".""",
    )

    # -- /files redirects (issue 16) ---------------------------------------------------
    files_redirect = Bool(
        False,
        config=True,
        help="""Answer GET /files/<path> with a redirect (307) to a short-lived presigned URL
        of the object, after the usual checks (login, hidden files, the file exists), so
        downloads come straight from the store instead of through the server. Stores that
        cannot sign (anonymous access, SAS tokens, local files, memory) stream as before, and
        say so once in the log. On Azure, ?download=1 links also stream (no Content-Disposition
        in object_store's SAS).""",
    )

    files_redirect_expiry = Int(
        300,
        config=True,
        help="Seconds a presigned /files URL stays valid (files_redirect); 1 to 604800 (7 days).",
    )

    @validate("files_redirect_expiry")
    def _validate_files_redirect_expiry(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 1 <= value <= 7 * 24 * 3600:
            raise TraitError("files_redirect_expiry must be from 1 to 604800 seconds (7 days)")
        return value

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
        value: int = proposal["value"]
        return value

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
        named = type(self)._store_location is not StoreSettings._store_location
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
                if self.mounts:
                    from ._mounts import open_mounted_store

                    # A MountedStore answers every ContentsStore method (for the whole tree).
                    store = cast(ContentsStore, open_mounted_store(self))
                else:
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

    def info_string(self) -> str:
        """The line jupyter_server logs at start-up for its contents manager: the version,
        the manager and its store, e.g. ``s3contents_rs 0.1.0: AsyncS3ContentsManager on
        s3://bucket/prefix``."""
        return f"s3contents_rs {__version__}: {type(self).__name__} on {self._store.place}"

    def _check_store_at_start(self) -> None:
        """One LIST at start-up. What is wrong (no bucket, refused, unreachable, no
        credentials) is logged in one line, and the server still starts: every request
        then answers the same message with its status, which JupyterLab shows, and a role
        without ListBucket on the root (which s3contents users asked for) still works."""
        try:
            self._store.check_store()
        except S3ContentsError as e:
            self.log.error("%s cannot use %s: %s", type(self).__name__, self._store.place, e)  # type: ignore[attr-defined]

    @property
    def _checkpointed(self) -> set[str]:
        """Notebooks known to have a checkpoint (saves skip the check for them)."""
        self._store  # noqa: B018
        checkpointed: set[str] = self.__dict__["_checkpointed"]
        return checkpointed

    @property
    def store(self) -> ContentsStore:
        """The Rust storage core behind this manager."""
        return self._store
