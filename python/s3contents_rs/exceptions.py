"""Exceptions raised by the storage core, each with the HTTP status Jupyter answers with.

They subclass the matching builtin where one exists, so plain Python code can catch
``FileNotFoundError`` and friends. Their ``status_code`` comes from the core's one table
(``ErrorKind::status`` in Rust, exported as ``_core.ERROR_STATUS``), which also decides
which class an error of the core raises. :func:`http_errors` turns them into
``tornado.web.HTTPError`` in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional, SupportsIndex

from tornado.web import HTTPError

from ._core import ERROR_STATUS


class _AsIs(str):
    """A message that Tornado's ``%``-escaping and ``%``-formatting both leave as written."""

    def replace(self, old: str, new: str, count: SupportsIndex = -1) -> str:  # type: ignore[override]
        return self if (old, new) == ("%", "%%") else str.replace(self, old, new, count)

    def __mod__(self, args: Any) -> str:
        return self if args == () else str.__mod__(self, args)


def http_error(
    status_code: int, message: str, reason: Optional[str] = None
) -> HTTPError:
    """Tornado's own ``HTTPError`` (jupyter_server's tests check the exact type) whose
    message reaches the user as written. Tornado 6.5 doubles every ``%`` of a message
    that has no arguments, expecting ``%``-formatting later, but jupyter_server's API
    error reply shows ``log_message`` unformatted: a store URL's ``%2F`` became ``%%2F``."""
    return HTTPError(status_code, _AsIs(message), reason=reason)


class S3ContentsError(Exception):
    """Base class of every error raised by s3contents_rs."""

    status_code = 500


class InvalidPathError(S3ContentsError, ValueError):
    """The path cannot be stored (traversal, control characters, too long)."""


class BadRequestError(S3ContentsError, ValueError):
    """The request does not fit what is stored (wrong type, bad content)."""


class ConfigError(S3ContentsError, ValueError):
    """The store configuration is invalid."""


class PermissionDeniedError(S3ContentsError, PermissionError):
    """The store refused the request with the configured credentials."""


class NotFoundError(S3ContentsError, FileNotFoundError):
    """No file or directory at that path."""


class BucketNotFoundError(NotFoundError):
    """The bucket (or container) itself does not exist: a configuration mistake, which
    the contents API reports as it is (jupyter_server rewords every other 404 of a GET)."""


class AlreadyExistsError(S3ContentsError, FileExistsError):
    """The target path is already taken."""


class ConflictError(S3ContentsError):
    """The object changed underneath the request."""


class RangeNotSatisfiableError(S3ContentsError, ValueError):
    """A download asked for a byte range past the end of the file."""


class TooLargeError(S3ContentsError, ValueError):
    """A file larger than the server holds in memory (max_content_size), or an upload
    larger than the store accepts."""


class StorageError(S3ContentsError, OSError):
    """The store failed (network, server error)."""


class StoreUnavailableError(S3ContentsError, ConnectionError):
    """The store could not be reached, or kept failing after the configured retries."""


class InternalError(S3ContentsError):
    """A bug in s3contents_rs; please report it."""


def _all_subclasses(cls: type) -> list[type]:
    return [
        sub
        for direct in cls.__subclasses__()
        for sub in (direct, *_all_subclasses(direct))
    ]


for _class in _all_subclasses(S3ContentsError):
    _class.status_code = ERROR_STATUS[
        _class.__name__
    ]  # (the classes of this module only: fs.py's come later)
del _class


@contextlib.contextmanager
def http_errors() -> Iterator[None]:
    """Translate core errors into the HTTP errors Jupyter's handlers expect."""
    try:
        yield
    except S3ContentsError as e:
        raise http_error(e.status_code, str(e)) from e
