"""Type stubs for the Rust extension module."""

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Optional, Union

__version__: str
# Python exception class name (s3contents_rs.exceptions) -> HTTP status: the one table.
ERROR_STATUS: dict[str, int]

class Entry:
    """A file or directory as the store describes it."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def kind(self) -> Literal["file", "directory"]: ...
    @property
    def size(self) -> Optional[int]: ...
    @property
    def last_modified(self) -> datetime: ...
    @property
    def etag(self) -> Optional[str]: ...

class Checkpoint:
    @property
    def id(self) -> str: ...
    @property
    def last_modified(self) -> datetime: ...

# (entry, content, content format, children): content is bytes when the format is
# "bytes", the final model string when it is "text" or "base64"; None without content.
Fetched = tuple[
    Entry,
    Optional[Union[bytes, str]],
    Optional[Literal["bytes", "text", "base64"]],
    Optional[list[Entry]],
]
Encoding = Literal["bytes", "text", "base64", "auto"]

class Download:
    """A file streaming out of the store for a ``/files`` download."""

    @property
    def entry(self) -> Entry: ...
    @property
    def range(self) -> Optional[tuple[int, int]]:
        """(start, end) of the bytes sent, end exclusive, for a range request."""
    @property
    def not_modified(self) -> bool: ...
    def read(self) -> bytes:
        """The next piece of the body (a few hundred KiB at most); b"" at the end."""
    def read_async(self) -> Awaitable[bytes]: ...

class ContentsStore:
    """Storage operations on one store and prefix. Every operation has a blocking form
    (releases the GIL) and an ``_async`` form returning an awaitable."""

    def __init__(
        self,
        url: str,
        prefix: str = "",
        options: Optional[Mapping[str, str]] = None,
        concurrency: int = 16,
        upload_part_size: int = 8388608,
        upload_timeout: float = 3600.0,
        read_only: bool = False,
        max_retries: int = 3,
        retry_timeout: float = 30.0,
        connect_timeout: float = 5.0,
        request_timeout: float = 60.0,
        credential_provider: Optional[
            Callable[[], tuple[str, str, Optional[str], Optional[float]]]
        ] = None,
        multipart_copy_threshold: int = 5368709120,
        multipart_copy_part_size: int = 536870912,
        max_content_size: int = 2147483648,
        upload_max_parts: int = 10000,
    ) -> None:
        """``credential_provider`` (S3 only) returns (key, secret, token, expiry as Unix
        seconds or None); it is called again when the credentials are within five
        minutes of expiry."""
    @property
    def read_only(self) -> bool: ...
    def set_max_copy_folder_bytes(self, limit: int) -> None: ...
    def create(self, api_path: str, data: bytes) -> Entry: ...
    def create_async(self, api_path: str, data: bytes) -> Awaitable[Entry]: ...
    def create_listed(self, api_path: str, data: bytes) -> Entry:
        """``create`` for a name just picked from a listing of its folder (no folder check)."""
    def create_listed_async(self, api_path: str, data: bytes) -> Awaitable[Entry]: ...
    def create_dir(self, api_path: str) -> Entry: ...
    def create_dir_async(self, api_path: str) -> Awaitable[Entry]: ...
    def move_to_trash(
        self, api_path: str, allow_non_empty: bool
    ) -> tuple[str, Literal["file", "directory"]]:
        """The trashed copy's location, and what was moved."""
    def move_to_trash_async(
        self, api_path: str, allow_non_empty: bool
    ) -> Awaitable[tuple[str, Literal["file", "directory"]]]: ...
    @property
    def uploads_in_progress(self) -> int: ...
    def write_chunk(
        self, api_path: str, chunk: int, data: bytes
    ) -> tuple[Optional[Entry], int]: ...
    def write_chunk_async(
        self, api_path: str, chunk: int, data: bytes
    ) -> Awaitable[tuple[Optional[Entry], int]]: ...
    def abort_uploads(self) -> int: ...
    def abort_uploads_async(self) -> Awaitable[int]: ...
    def abort_upload(self, api_path: str) -> bool: ...
    def abort_upload_async(self, api_path: str) -> Awaitable[bool]: ...
    @property
    def prefix(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def place(self) -> str: ...  # s3://bucket/prefix, as messages and the log name it
    def key_for(self, api_path: str) -> str: ...
    def get(self, api_path: str, encoding: Optional[Encoding]) -> Fetched:
        """Metadata, plus content in ``encoding`` (or a directory listing) unless None."""
    def get_async(
        self, api_path: str, encoding: Optional[Encoding]
    ) -> Awaitable[Fetched]: ...
    def open_download(
        self, api_path: str, range: Optional[str], if_none_match: Optional[str]
    ) -> Download:
        """Start streaming a file; ``range`` is an HTTP Range header value."""
    def open_download_async(
        self, api_path: str, range: Optional[str], if_none_match: Optional[str]
    ) -> Awaitable[Download]: ...
    def download_link(
        self,
        api_path: str,
        expires_in: float,
        content_disposition: Optional[str],
        content_type: Optional[str],
    ) -> tuple[Optional[str], Optional[str]]:
        """A presigned GET URL of the file, valid ``expires_in`` seconds, that answers with
        these headers where the store can: ``(url, None)``; ``(None, reason)`` where the
        store cannot give one (the caller streams). 404 for a missing file, 400 for a folder."""
    def download_link_async(
        self,
        api_path: str,
        expires_in: float,
        content_disposition: Optional[str],
        content_type: Optional[str],
    ) -> Awaitable[tuple[Optional[str], Optional[str]]]: ...
    def stat(self, api_path: str) -> Optional[Entry]: ...
    def stat_async(self, api_path: str) -> Awaitable[Optional[Entry]]: ...
    def list_dir(self, api_path: str) -> Optional[list[Entry]]: ...
    def list_dir_async(self, api_path: str) -> Awaitable[Optional[list[Entry]]]: ...
    def child_names(self, api_path: str) -> list[str]: ...
    def child_names_async(self, api_path: str) -> Awaitable[list[str]]: ...
    def list_stored(self, api_path: str) -> Optional[list[Entry]]:
        """Everything directly inside ``api_path`` as stored (markers, checkpoint folders and
        the trash included); None when nothing is there."""
    def list_stored_async(self, api_path: str) -> Awaitable[Optional[list[Entry]]]: ...
    def check_store(self) -> None:
        """One LIST at start-up; BucketNotFoundError when the bucket (container) does not exist."""
    def check_store_async(self) -> Awaitable[None]: ...
    def exists(self, api_path: str) -> bool: ...
    def exists_async(self, api_path: str) -> Awaitable[bool]: ...
    def file_exists(self, api_path: str) -> bool: ...
    def file_exists_async(self, api_path: str) -> Awaitable[bool]: ...
    def dir_exists(self, api_path: str) -> bool: ...
    def dir_exists_async(self, api_path: str) -> Awaitable[bool]: ...
    def write(self, api_path: str, data: bytes) -> Entry: ...
    def write_async(self, api_path: str, data: bytes) -> Awaitable[Entry]: ...
    def make_dir(self, api_path: str) -> Entry: ...
    def make_dir_async(self, api_path: str) -> Awaitable[Entry]: ...
    def delete(
        self, api_path: str, allow_non_empty: bool
    ) -> Literal["file", "directory"]:
        """Delete a file or folder; says which it was."""
    def delete_async(
        self, api_path: str, allow_non_empty: bool
    ) -> Awaitable[Literal["file", "directory"]]: ...
    def rename(self, old_path: str, new_path: str) -> Literal["file", "directory"]:
        """Move a file or folder; says which it was."""
    def rename_async(
        self, old_path: str, new_path: str
    ) -> Awaitable[Literal["file", "directory"]]: ...
    def copy(self, from_path: str, to_path: str) -> Entry: ...
    def copy_async(self, from_path: str, to_path: str) -> Awaitable[Entry]: ...
    def copy_listed(self, from_path: str, to_path: str) -> Entry:
        """``copy`` to a name just picked from a listing of its folder (target not looked up again)."""
    def copy_listed_async(self, from_path: str, to_path: str) -> Awaitable[Entry]: ...
    def create_checkpoint(self, api_path: str, keep: int) -> Checkpoint: ...
    def create_checkpoint_async(
        self, api_path: str, keep: int
    ) -> Awaitable[Checkpoint]: ...
    def add_checkpoint(self, api_path: str, keep: int) -> str:
        """``create_checkpoint`` without its timestamp (one request less); returns the id."""
    def add_checkpoint_async(self, api_path: str, keep: int) -> Awaitable[str]: ...
    def list_checkpoints(self, api_path: str) -> list[Checkpoint]: ...
    def list_checkpoints_async(self, api_path: str) -> Awaitable[list[Checkpoint]]: ...
    def restore_checkpoint(self, api_path: str, checkpoint_id: str) -> None: ...
    def restore_checkpoint_async(
        self, api_path: str, checkpoint_id: str
    ) -> Awaitable[None]: ...
    def delete_checkpoint(self, api_path: str, checkpoint_id: str) -> None: ...
    def delete_checkpoint_async(
        self, api_path: str, checkpoint_id: str
    ) -> Awaitable[None]: ...
    def rename_checkpoint(
        self, checkpoint_id: str, old_path: str, new_path: str
    ) -> None: ...
    def rename_checkpoint_async(
        self, checkpoint_id: str, old_path: str, new_path: str
    ) -> Awaitable[None]: ...

def loads_yielding(
    data: Union[str, bytes], dict_type: Optional[type[dict[str, Any]]] = None
) -> Any:
    """`json.loads(data)`, value for value (same types, floats to the last bit, ints of any
    size, keys in document order, the same errors), parsing with the GIL released and
    building objects in slices that let other threads run; text it does not read itself
    (NaN literals, lone surrogates, non-UTF-8 bytes, invalid JSON) goes to `json.loads`,
    with `object_hook=dict_type` when given. Objects are built as
    `dict_type` instances when given (a dict subclass such as nbformat's NotebookNode);
    the containers are left untracked by the cyclic garbage collector."""

def dumps_yielding(obj: Any, default: Callable[[Any], Any]) -> bytes:
    """`json.dumps(obj, default=default, ensure_ascii=False).encode()` (lone surrogates
    escaped), walking the objects in slices that let other threads run."""

def reset_log_cache() -> None:
    """Forget the Python log levels the core cached (call after changing a level)."""
