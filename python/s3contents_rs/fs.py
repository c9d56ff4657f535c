"""``contents_manager.fs``: the small file API s3contents' hook examples use.

Paths are API paths (relative to the bucket prefix), as hooks receive them in ``s3_path``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Optional

from .exceptions import BadRequestError

if TYPE_CHECKING:
    from ._base import StoreContentsMixin


class ContentsFS:
    def __init__(self, manager: StoreContentsMixin) -> None:
        self._manager = manager

    def read(self, path: str, format: Optional[str] = None) -> tuple[str, str]:
        """Return ``(content, format)``: text when it decodes as UTF-8 (or is asked for
        as "text"/"json"), else base64."""
        encoding = "auto" if format is None else "base64" if format == "base64" else "text"
        _, content, content_format, _ = self._manager.store.get(path.strip("/"), encoding)
        if content is None:
            raise BadRequestError(f"{path!r} is a directory, not a file")
        return content, content_format

    def write(self, path: str, content: str, format: str = "text") -> None:
        """Write ``content`` given as text or base64 to the file at ``path``."""
        if format == "text":
            data = content.encode("utf-8")
        elif format == "base64":
            data = base64.b64decode(content.encode("ascii"), validate=True)
        else:
            raise BadRequestError("Must specify format of file contents as 'text' or 'base64'")
        self._manager.store.write(path.strip("/"), data)

    def isfile(self, path: str) -> bool:
        return self._manager.store.file_exists(path.strip("/"))

    def isdir(self, path: str) -> bool:
        return self._manager.store.dir_exists(path.strip("/"))
