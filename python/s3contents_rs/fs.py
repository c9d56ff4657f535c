"""``contents_manager.fs``: the file API of s3contents' ``S3FS``/``GCSFS``, for hooks and
code written against s3contents.

Same method names, signatures and results as s3contents 0.11.2 (the newest release):
paths are API paths relative to the bucket prefix (as hooks receive them in ``s3_path``);
``bucket/prefix/...`` paths are accepted too, as there. Everything goes through the Rust
core (no boto3/s3fs). Where it is stricter than s3contents (it refuses to delete the whole
prefix with ``rm("")``, to write a file over a folder or a folder over a file) it raises
instead of doing it; see the README, "Known limitations".
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlparse

from .exceptions import AlreadyExistsError, NotFoundError, http_error

if TYPE_CHECKING:
    from ._base import StoreContentsMixin


_TRASH = ".Trash"


class GenericFSError(Exception):
    """Base class of the ``fs`` errors, as ``s3contents.genericfs.GenericFSError``."""


class NoSuchFile(GenericFSError, NotFoundError):
    """``read`` of a path that is not a file (as s3contents' ``NoSuchFile``; also a
    FileNotFoundError, status 404)."""

    def __init__(self, path: str, *args: Any) -> None:
        self.path = path
        self.message = f"No such file or directory: {path}"
        super().__init__(self.message, *args)


class ContentsFS:
    """The ``fs`` of a manager: ``ls``, ``isfile``, ``isdir``, ``mv``, ``cp``, ``rm``,
    ``mkdir``, ``read``, ``lstat``, ``write``, ``writenotebook``, ``init`` and the path
    helpers ``get_prefix``/``prefix_``, ``remove_prefix``, ``path``, ``strip``, ``join``."""

    delimiter = "/"
    separator = "/"  # GCSFS's name for it
    dir_keep_file = ".s3keep"

    def __init__(self, manager: StoreContentsMixin) -> None:
        self._manager = manager

    @property
    def _store(self) -> Any:
        return self._manager.store

    @property
    def log(self) -> Any:
        return self._manager.log  # type: ignore[attr-defined]

    @property
    def bucket(self) -> str:
        """The bucket (container) name; for a manager configured by URL, the URL's host."""
        for trait in ("bucket", "container"):
            value = getattr(self._manager, trait, None)
            if isinstance(value, str) and value:
                return value
        return urlparse(self._store.url).netloc

    @property
    def prefix(self) -> str:
        """The key prefix inside the bucket (expanded: ``{username}`` etc. replaced)."""
        return self._store.prefix

    # -- s3contents' GenericFS methods ------------------------------------------------

    def init(self) -> None:
        """What s3contents does when it starts: the root marker, a listing, a check."""
        self.mkdir("")
        self.ls("")
        self.isdir("")

    def ls(self, path: str = "") -> list[str]:
        """Paths (relative to the prefix) of everything directly inside the folder
        ``path``, folder markers (``.s3keep``) and hidden folders included, as s3fs lists
        them (except our trash folder at the root); ``[path]`` for a file; FileNotFoundError when nothing is there."""
        rel = self._rel(path)
        children = self._store.list_stored(rel)
        if children is not None:
            # Our trash (<prefix>/.Trash) is out of reach of the API, and of fs.rm.
            return [child.path for child in children if rel or child.name != _TRASH]
        if rel and self._store.file_exists(rel):
            return [rel]
        if not rel:
            return []
        raise FileNotFoundError(self.path(rel))

    def isfile(self, path: str) -> bool:
        rel = self._rel(path)
        return bool(rel) and self._store.file_exists(rel)

    def isdir(self, path: str) -> bool:
        return self._store.dir_exists(self._rel(path))

    def mv(self, old_path: str, new_path: str) -> None:
        """Copy, then delete the source (what s3contents does)."""
        self.cp(old_path, new_path)
        self.rm(old_path)

    def cp(self, old_path: str, new_path: str) -> None:
        """Copy a file (server-side), or a folder with everything in it; an existing
        target file is replaced. Nothing happens when ``old_path`` does not exist."""
        old, new = self._rel(old_path), self._rel(new_path)
        if self.isdir(old):
            for item in self.ls(old):
                self.cp(item, new + item[len(old) :] if old else self.join(new, item))
            self.mkdir(new)
        elif self.isfile(old):
            try:
                self._store.copy(old, new)
            except AlreadyExistsError:
                # Replace it as s3fs does; one PUT, so the old content stays until then.
                _, data, _, _ = self._store.get(old, "bytes")
                self._store.write(new, data)

    def rm(self, path: str) -> None:
        """Delete a file, or a folder and everything in it; nothing when absent.
        (Deletes are final, not to the trash, as in s3contents.)"""
        rel = self._rel(path)
        if not rel:
            raise http_error(
                400,
                "fs.rm: refusing to delete everything under the prefix; remove the entries of ls('') instead",
            )
        try:
            self._store.delete(rel, True)
        except NotFoundError:
            pass

    def mkdir(self, path: str) -> None:
        """Create the folder's marker object (``<path>/.s3keep``)."""
        rel = self._rel(path)
        if not rel:
            self._store.write(self.dir_keep_file, b"")
            return
        self._store.make_dir(rel)
        marker = self.join(rel, self.dir_keep_file)
        if not self._store.file_exists(marker):  # a folder that only has files in it
            self._store.write(marker, b"")

    def read(self, path: str, format: Optional[str] = None) -> tuple[str, str]:
        """``(content, format)``: text when ``format`` is None, "text" or "json" and the
        file is UTF-8 (400 when "text" was asked for and it is not), else base64."""
        rel = self._rel(path)
        if not self.isfile(rel):
            raise NoSuchFile(self.path(rel))
        try:
            _, data, _, _ = self._store.get(rel, "bytes")
        except NotFoundError:  # deleted in between
            raise NoSuchFile(self.path(rel)) from None
        if format is None or format in ("text", "json"):
            try:
                return data.decode("utf-8"), "text"
            except UnicodeError:
                if format == "text":
                    err = f"{self.path(rel)} is not UTF-8 encoded"
                    self.log.error(err)
                    raise http_error(400, err, reason="bad format") from None
        return base64.b64encode(data).decode("ascii"), "base64"

    def lstat(self, path: str) -> dict[str, Any]:
        """``{"ST_MTIME": datetime (whole seconds, UTC), "SIZE": bytes}`` of a file, or
        of a folder's marker; ``{"ST_MTIME": None, "SIZE": 0}`` when there is none."""
        rel = self._rel(path)
        entry = None
        if rel and self._store.file_exists(rel):
            entry = self._store.stat(rel)
        elif self.isdir(rel):
            marker = self.join(rel, self.dir_keep_file) if rel else self.dir_keep_file
            entry = self._store.stat(marker)
        if entry is None or entry.kind != "file":
            return {"ST_MTIME": None, "SIZE": 0}
        mtime: datetime.datetime = entry.last_modified
        return {"ST_MTIME": mtime.replace(microsecond=0), "SIZE": entry.size or 0}

    def write(self, path: str, content: str, format: str = "text") -> None:
        """Write ``content`` given as text or base64 to the file at ``path``."""
        rel = self._rel(path)
        if format not in {"text", "base64"}:
            raise http_error(
                400, "Must specify format of file contents as 'text' or 'base64'"
            )
        try:
            if format == "text":
                data = content.encode("utf8")
            else:
                data = base64.b64decode(content.encode("ascii"))
        except (UnicodeError, binascii.Error, AttributeError) as e:
            raise http_error(400, f"Encoding error saving {self.path(rel)}: {e}") from e
        self._store.write(rel, data)

    def writenotebook(self, path: str, content: str) -> None:
        self._store.write(self._rel(path), content.encode("utf-8"))

    # -- path helpers ---------------------------------------------------------------

    def get_prefix(self) -> str:
        """Full prefix: bucket + optional prefix."""
        return self.delimiter.join(p for p in (self.bucket, self.prefix) if p)

    prefix_ = property(get_prefix)

    def strip(self, path: Union[str, list[str], tuple[str, ...]]) -> Any:
        if isinstance(path, str):
            return path.strip(self.delimiter)
        return [self.strip(p) for p in path]

    def join(self, *paths: str) -> str:
        return self.delimiter.join(p for p in self.strip(paths) if p)

    def remove_prefix(self, path: Union[str, list[str], tuple[str, ...]]) -> Any:
        """Remove ``bucket/prefix`` (if present) from a path or list of paths."""
        if isinstance(path, (list, tuple)):
            return [self.remove_prefix(p) for p in path]
        full = self.prefix_
        if full and path.startswith(full):
            path = path[len(full) :]
        return path[1:] if path.startswith(self.delimiter) else path

    def path(self, *path: str) -> str:
        """``bucket/prefix/<path>``: join paths including the bucket and prefix."""
        parts = self.remove_prefix([p for p in path if p])
        return self.delimiter.join([self.prefix_, *parts])

    # -- ours -----------------------------------------------------------------------

    def _rel(self, path: str) -> str:
        """The API path for a path given relative to the prefix or as bucket/prefix/path
        (stripped only as a whole leading segment: a file named like the bucket stays)."""
        path = (path or "").strip(self.delimiter)
        full = self.prefix_
        if path == full:
            return ""
        if full and path.startswith(full + self.delimiter):
            path = path[len(full) + 1 :]
        return path.strip(self.delimiter)
