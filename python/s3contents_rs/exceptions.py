"""Exceptions raised by the storage core, each with the HTTP status Jupyter answers with.

They subclass the matching builtin where one exists, so plain Python code can catch
``FileNotFoundError`` and friends. :func:`http_errors` turns them into
``tornado.web.HTTPError`` in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tornado.web import HTTPError


class S3ContentsError(Exception):
    """Base class of every error raised by s3contents_rs."""

    status_code = 500


class InvalidPathError(S3ContentsError, ValueError):
    """The path cannot be stored (traversal, control characters, too long)."""

    status_code = 400


class BadRequestError(S3ContentsError, ValueError):
    """The request does not fit what is stored (wrong type, bad content)."""

    status_code = 400


class ConfigError(S3ContentsError, ValueError):
    """The store configuration is invalid."""

    status_code = 400


class PermissionDeniedError(S3ContentsError, PermissionError):
    """The store refused the request with the configured credentials."""

    status_code = 403


class NotFoundError(S3ContentsError, FileNotFoundError):
    """No file or directory at that path."""

    status_code = 404


class AlreadyExistsError(S3ContentsError, FileExistsError):
    """The target path is already taken."""

    status_code = 409


class ConflictError(S3ContentsError):
    """The object changed underneath the request."""

    status_code = 409


class RangeNotSatisfiableError(S3ContentsError, ValueError):
    """A download asked for a byte range past the end of the file."""

    status_code = 416


class TooLargeError(S3ContentsError, ValueError):
    """A file larger than the server holds in memory (max_content_size), or an upload
    larger than the store accepts."""

    status_code = 413


class StorageError(S3ContentsError, OSError):
    """The store failed (network, server error)."""

    status_code = 500


class StoreUnavailableError(S3ContentsError, ConnectionError):
    """The store could not be reached, or kept failing after the configured retries."""

    status_code = 503


class InternalError(S3ContentsError):
    """A bug in s3contents_rs; please report it."""

    status_code = 500


@contextlib.contextmanager
def http_errors() -> Iterator[None]:
    """Translate core errors into the HTTP errors Jupyter's handlers expect."""
    try:
        yield
    except S3ContentsError as e:
        raise HTTPError(e.status_code, str(e), reason=_REASONS.get(e.status_code)) from e


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    416: "Range Not Satisfiable",
    503: "Service Unavailable",
}
