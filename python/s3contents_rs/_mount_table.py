"""The table behind ``mounts``: which store serves a path, and the paths translated.

A manager with ``mounts`` talks to one :class:`~s3contents_rs._mounts.MountedStore`, which
has the API of the core's ``ContentsStore``; each call goes to the store of the mount the
path is in (``"shared/a.ipynb"`` -> store of ``shared``, inner path ``"a.ipynb"``), and the
entries it answers come back with the outer paths. This module holds that translation;
the operations are in _mounts_async.py (and _mounts_sync.py, generated from it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from ._core import ContentsStore
from .exceptions import BadRequestError, NotFoundError, PermissionDeniedError

# The date a folder of the root shows when its store cannot say: stable for the process,
# and never 1970 (which JupyterLab shows as "56 years ago").
_FIRST_NEEDED = datetime.now(timezone.utc).replace(microsecond=0)


class MountEntry:
    """An entry of a mounted store, under its path in the whole tree (the core's
    ``Entry`` has no constructor; this has the same attributes)."""

    __slots__ = ("name", "path", "kind", "size", "last_modified", "etag")

    def __init__(
        self, path: str, kind: str, size: Optional[int], last_modified: datetime, etag: Optional[str] = None
    ) -> None:
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.kind = kind
        self.size = size
        self.last_modified = last_modified
        self.etag = etag

    def __repr__(self) -> str:
        return f"MountEntry(path={self.path!r}, kind={self.kind!r}, size={self.size!r}, last_modified={self.last_modified})"


class Mount:
    """One mount: its name (a folder of the root, "" for the root itself), its store, and
    what makes two mounts the same store (for server-side copies between them)."""

    def __init__(
        self,
        name: str,
        store: ContentsStore,
        *,
        read_only: bool,
        max_checkpoints: Optional[int],
        location: tuple[str, tuple[tuple[str, str], ...], Any],
        store_kwargs: dict[str, Any],
    ) -> None:
        self.name = name
        self.store = store
        self.read_only = read_only
        self.max_checkpoints = max_checkpoints
        self.location = location  # (url, options, credential callback)
        self.store_kwargs = store_kwargs

    def outer(self, inner: str) -> str:
        """The path in the whole tree of a path in this mount."""
        if not self.name:
            return inner
        return f"{self.name}/{inner}" if inner else self.name

    def keep(self, keep: int) -> int:
        return keep if self.max_checkpoints is None else self.max_checkpoints


def outer_entry(mount: Mount, entry: Any) -> Any:
    """``entry`` of ``mount``'s store under its path in the whole tree."""
    if not mount.name:
        return entry
    return MountEntry(mount.outer(entry.path), entry.kind, entry.size, entry.last_modified, entry.etag)


class MountTable:
    """Path -> (mount, inner path), and the checks every operation shares."""

    def __init__(self, mounts: dict[str, Mount]) -> None:
        self.mounts = mounts  # name -> Mount; "" is the root mount when there is one
        self._root = mounts.get("")
        self._unfinished_moves: set[tuple[str, str]] = set()
        self._shared_stores: dict[Any, Any] = {}

    # -- finding the mount --------------------------------------------------------------

    @staticmethod
    def _clean(path: str) -> str:
        return path.strip("/")

    def _find(self, path: str) -> Optional[tuple[Mount, str]]:
        """The mount and inner path of ``path``; None for the root without a root mount,
        and for anything at the root that no mount holds when there is no root mount."""
        path = self._clean(path)
        top, _, rest = path.partition("/")
        if top and top in self.mounts:
            return self.mounts[top], rest
        if self._root is not None:
            return self._root, path
        return None

    def _resolve(self, path: str, action: str = "read") -> tuple[Mount, str]:
        """``_find``, with the errors for a path no store holds."""
        found = self._find(path)
        if found is not None:
            return found
        path = self._clean(path)
        if action == "read" or not path:
            raise NotFoundError(f"file or directory does not exist: {path!r}")
        raise PermissionDeniedError(
            f"cannot {action} {path!r}: the root folder only holds the mounts ({self._mount_list()}), "
            "and no store is mounted at the root"
        )

    def _writable(self, path: str, action: str) -> tuple[Mount, str]:
        mount, inner = self._resolve(path, action)
        if mount.read_only:
            raise PermissionDeniedError(
                f"permission denied while trying to {action} {self._clean(path)!r}: "
                f"{self._describe(mount)} is mounted read-only; nothing can be changed there"
            )
        return mount, inner

    def _is_mount_point(self, path: str) -> bool:
        path = self._clean(path)
        return bool(path) and path in self.mounts

    def _refuse_mount_point(self, path: str, action: str) -> None:
        if self._is_mount_point(path):
            path = self._clean(path)
            raise BadRequestError(
                f"cannot {action} {path!r}: it is a mount point ({self._describe(self.mounts[path])}); "
                "change the mounts setting to move or remove it"
            )

    def _mount_list(self) -> str:
        return ", ".join(sorted(name for name in self.mounts if name)) or "none"

    @staticmethod
    def _describe(mount: Mount) -> str:
        return f"{mount.name or '/'} = {mount.store.place}"

    # -- the root folder ----------------------------------------------------------------

    def _mount_point_entry(self, mount: Mount, inner_root: Any) -> MountEntry:
        date = inner_root.last_modified if inner_root is not None else _FIRST_NEEDED
        return MountEntry(mount.name, "directory", None, date)

    def _root_entry(self, points: list[MountEntry]) -> Any:
        date = max((p.last_modified for p in points), default=_FIRST_NEEDED)
        return MountEntry("", "directory", None, date)

    def _with_points(self, children: Optional[list[Any]], points: list[MountEntry]) -> list[Any]:
        """The root mount's children (if any), with the mount points in place of anything
        of the same name (a mount hides what the root store has under its name)."""
        names = {p.name for p in points}
        return [c for c in children or [] if c.name not in names] + points

    # -- what does not wait on a store ---------------------------------------------------

    def read_only_at(self, path: str) -> bool:
        """Whether models at ``path`` say ``writable: false``."""
        found = self._find(path)
        return True if found is None else found[0].read_only

    @property
    def read_only(self) -> bool:
        return all(m.read_only for m in self.mounts.values())

    @property
    def prefix(self) -> str:
        return self._root.store.prefix if self._root is not None else ""

    @property
    def url(self) -> str:
        return self._root.store.url if self._root is not None else "mounts://"

    @property
    def place(self) -> str:
        return "mounts: " + ", ".join(
            f"{('/' + name) if name else '/'} = {m.store.place}" for name, m in sorted(self.mounts.items())
        )

    @property
    def uploads_in_progress(self) -> int:
        return sum(m.store.uploads_in_progress for m in self.mounts.values())

    def key_for(self, api_path: str) -> str:
        mount, inner = self._resolve(api_path)
        return mount.store.key_for(inner)

    def set_max_copy_folder_bytes(self, limit: int) -> None:
        self._max_copy_folder_bytes = limit
        for mount in self.mounts.values():
            mount.store.set_max_copy_folder_bytes(limit)

    # -- the same store behind two mounts -----------------------------------------------

    def _shared(self, a: Mount, b: Mount) -> Optional[tuple[ContentsStore, str, str]]:
        """When both mounts are the same store (same URL, options and login), one store on
        the prefix they share, and the path of each mount's root in it: a copy or move
        between them is then the store's own server-side copy."""
        if a.location != b.location or a.location[2] is not None or a.location[0].startswith("memory:"):
            return None  # (each memory:// store is a store of its own)
        pa, pb = a.store.prefix.strip("/"), b.store.prefix.strip("/")
        sa, sb = pa.split("/") if pa else [], pb.split("/") if pb else []
        common: list[str] = []
        for x, y in zip(sa, sb):
            if x != y:
                break
            common.append(x)
        key = (a.location, tuple(common))
        store = self._shared_stores.get(key)
        if store is None:
            url, options, _ = a.location
            kwargs = dict(a.store_kwargs, read_only=False)
            store = ContentsStore(url, "/".join(common), dict(options), **kwargs)
            store.set_max_copy_folder_bytes(getattr(self, "_max_copy_folder_bytes", 0))
            self._shared_stores[key] = store
        return store, "/".join(sa[len(common) :]), "/".join(sb[len(common) :])


def join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def split_ext(name: str) -> tuple[str, str]:
    """The core's split of a file name into stem and extension (keys.rs ``split_ext``):
    leading dots belong to the stem."""
    start = len(name) - len(name.lstrip("."))
    i = name.rfind(".", start)
    return (name, "") if i < 0 else (name[:i], name[i:])
