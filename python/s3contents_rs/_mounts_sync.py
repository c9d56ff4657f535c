"""The operations of a mounted tree (``mounts``), awaited: each goes to the store of the
mount its path is in (see _mount_table.py); copies and moves between two mounts are
the stores' own server-side copies when both mounts are the same store, and streamed
otherwise (download -> chunked upload, in bounded memory). Blocking flavour.

A move between two stores writes the whole target before it deletes anything of the
source: a failure leaves the source as it was, and retrying the move (on this server)
finishes it, skipping what already arrived.

Generated from _mounts_async.py by tools/generate_sync.py (``./dev.sh generate``): edit
that file, not this one.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Optional

from ._mount_table import Mount, MountTable, join, outer_entry, split_ext
from .exceptions import AlreadyExistsError, BadRequestError, NotFoundError, S3ContentsError

if TYPE_CHECKING:
    from ._core import Download as CoreDownload
    from ._core import Encoding  # a name of the stub only

# Files up to this size are copied between stores in one read and one write; larger
# ones stream: pieces of the download gathered into chunks of _CHUNK bytes.
_WHOLE = 8 * 1024 * 1024
_CHUNK = 8 * 1024 * 1024
_CHECKPOINTS = ".ipynb_checkpoints"
_MARKER = ".s3keep"
_TRASH = ".Trash"


class Download:
    """A mounted store's download, whose entry has its path in the whole tree."""

    def __init__(self, download: CoreDownload, mount: Mount) -> None:
        self._download = download
        self.entry = outer_entry(mount, download.entry)
        self.range = download.range
        self.not_modified = download.not_modified

    def read(self) -> bytes:
        return self._download.read()


class MountOps(MountTable):
    """Every ``ContentsStore`` operation, dispatched to the mounts."""

    # -- reading -----------------------------------------------------------------------

    def _mount_points(self) -> list[Any]:
        points = []
        for name, mount in sorted(self.mounts.items()):
            if name:
                try:
                    inner = mount.store.stat("")
                except S3ContentsError:
                    inner = None  # the folder still shows; opening it says what is wrong
                points.append(self._mount_point_entry(mount, inner))
        return points

    def get(self, api_path: str, encoding: Optional[Encoding]) -> Any:
        path = self._clean(api_path)
        if not path:
            points = self._mount_points()
            if self._root is None:
                return self._root_entry(points), None, None, (points if encoding is not None else None)
            entry, data, fmt, children = self._root.store.get("", encoding)
            return entry, data, fmt, (self._with_points(children, points) if children is not None else None)
        mount, inner = self._resolve(path)
        entry, data, fmt, children = mount.store.get(inner, encoding)
        children = None if children is None else [outer_entry(mount, c) for c in children]
        return outer_entry(mount, entry), data, fmt, children

    def stat(self, api_path: str) -> Any:
        path = self._clean(api_path)
        if not path and self._root is None:
            return self._root_entry(self._mount_points())
        found = self._find(path)
        if found is None:
            return None
        mount, inner = found
        entry = mount.store.stat(inner)
        if entry is None and self._is_mount_point(path):
            return self._mount_point_entry(mount, None)
        return None if entry is None else outer_entry(mount, entry)

    def _list(self, api_path: str, stored: bool) -> Optional[list[Any]]:
        path = self._clean(api_path)
        if not path:
            points = self._mount_points()
            children = None
            if self._root is not None:
                lister = self._root.store.list_stored if stored else self._root.store.list_dir
                children = lister("")
            return self._with_points(children, points)
        found = self._find(path)
        if found is None:
            return None
        mount, inner = found
        lister = mount.store.list_stored if stored else mount.store.list_dir
        children = lister(inner)
        if children is None:
            return [] if self._is_mount_point(path) else None
        return [outer_entry(mount, c) for c in children]

    def list_dir(self, api_path: str) -> Optional[list[Any]]:
        return self._list(api_path, False)

    def list_stored(self, api_path: str) -> Optional[list[Any]]:
        return self._list(api_path, True)

    def child_names(self, api_path: str, file: Optional[str]) -> tuple[list[str], Any]:
        path = self._clean(api_path)
        if not path:
            names, found = self._root.store.child_names("", file) if self._root is not None else ([], None)
            return sorted(set(names) | {name for name in self.mounts if name}), found
        mount, inner = self._resolve(path)
        return mount.store.child_names(inner, file)

    def exists(self, api_path: str) -> bool:
        return self.dir_exists(api_path) or self.file_exists(api_path)

    def file_exists(self, api_path: str) -> bool:
        path = self._clean(api_path)
        found = self._find(path)
        if not path or found is None or self._is_mount_point(path):
            return False
        return found[0].store.file_exists(found[1])

    def dir_exists(self, api_path: str) -> bool:
        path = self._clean(api_path)
        if not path or self._is_mount_point(path):
            return True
        found = self._find(path)
        return found is not None and found[0].store.dir_exists(found[1])

    def open_download(self, api_path: str, range: Optional[str], if_none_match: Optional[str]) -> Any:
        mount, inner = self._resolve(api_path)
        return Download(mount.store.open_download(inner, range, if_none_match), mount)

    def check_store(self) -> None:
        for mount in self.mounts.values():
            try:
                mount.store.check_store()
            except S3ContentsError as e:
                raise type(e)(f"mount {mount.name or '/'!r}: {e}") from e

    # -- writing -----------------------------------------------------------------------

    def write(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "write")
        return outer_entry(mount, mount.store.write(inner, data))

    def create(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, mount.store.create(inner, data))

    def create_listed(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, mount.store.create_listed(inner, data))

    def create_with_checkpoint(self, api_path: str, data: bytes, listed: bool, keep: int) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, mount.store.create_with_checkpoint(inner, data, listed, mount.keep(keep)))

    def create_dir(self, api_path: str) -> Any:
        if self._is_mount_point(api_path):
            raise AlreadyExistsError(f"{self._clean(api_path)!r} already exists (a mount point)")
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, mount.store.create_dir(inner))

    def make_dir(self, api_path: str) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, mount.store.make_dir(inner))

    def write_chunk(self, api_path: str, chunk: int, data: bytes) -> tuple[Any, int]:
        mount, inner = self._writable(api_path, "write")
        entry, received = mount.store.write_chunk(inner, chunk, data)
        return (None if entry is None else outer_entry(mount, entry)), received

    def abort_upload(self, api_path: str) -> bool:
        found = self._find(api_path)
        return found is not None and found[0].store.abort_upload(found[1])

    def abort_uploads(self) -> int:
        total = 0
        for mount in self.mounts.values():
            total += mount.store.abort_uploads()
        return total

    def delete(self, api_path: str, allow_non_empty: bool) -> str:
        self._refuse_mount_point(api_path, "delete")
        mount, inner = self._writable(api_path, "delete")
        return mount.store.delete(inner, allow_non_empty)

    def move_to_trash(self, api_path: str, allow_non_empty: bool) -> tuple[str, str]:
        self._refuse_mount_point(api_path, "delete")
        mount, inner = self._writable(api_path, "delete")
        trashed, kind = mount.store.move_to_trash(inner, allow_non_empty)
        return f"{mount.store.place}: {trashed}", kind

    # -- checkpoints -------------------------------------------------------------------

    def create_checkpoint(self, api_path: str, keep: int) -> Any:
        mount, inner = self._writable(api_path, "create a checkpoint of")
        return mount.store.create_checkpoint(inner, mount.keep(keep))

    def add_checkpoint(self, api_path: str, keep: int) -> str:
        mount, inner = self._writable(api_path, "create a checkpoint of")
        return mount.store.add_checkpoint(inner, mount.keep(keep))

    def list_checkpoints(self, api_path: str) -> list[Any]:
        found = self._find(api_path)
        if found is None or self._is_mount_point(api_path):
            return []
        return found[0].store.list_checkpoints(found[1])

    def restore_checkpoint(self, api_path: str, checkpoint_id: str) -> None:
        mount, inner = self._writable(api_path, "restore a checkpoint of")
        mount.store.restore_checkpoint(inner, checkpoint_id)

    def delete_checkpoint(self, api_path: str, checkpoint_id: str) -> None:
        mount, inner = self._writable(api_path, "delete a checkpoint of")
        mount.store.delete_checkpoint(inner, checkpoint_id)

    def rename_checkpoint(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        source, old = self._writable(old_path, "rename a checkpoint of")
        target, new = self._writable(new_path, "rename a checkpoint of")
        if source is target:
            source.store.rename_checkpoint(checkpoint_id, old, new)
            return
        old_key, new_key = _checkpoint_path(old, checkpoint_id), _checkpoint_path(new, checkpoint_id)
        self._copy_file(source, old_key, target, new_key)
        source.store.delete_checkpoint(old, checkpoint_id)

    # -- copies and moves --------------------------------------------------------------

    def rename(self, old_path: str, new_path: str) -> str:
        self._refuse_mount_point(old_path, "rename")
        self._refuse_mount_point(new_path, "rename a file or folder to")
        source, old = self._writable(old_path, "rename")
        target, new = self._writable(new_path, "rename")
        if source is target:
            return source.store.rename(old, new)
        shared = self._shared(source, target)
        if shared is not None:
            store, a, b = shared
            kind: str = store.rename(join(a, old), join(b, new))
            return kind
        return self._transfer(source, old, target, new, move=True)

    def copy(self, from_path: str, to_path: str) -> Any:
        return self._copy(from_path, to_path, listed=False, listed_source=None)

    def copy_listed(self, from_path: str, to_path: str, listed_source: Any) -> Any:
        return self._copy(from_path, to_path, listed=True, listed_source=listed_source)

    def _copy(self, from_path: str, to_path: str, listed: bool, listed_source: Any) -> Any:
        self._refuse_mount_point(to_path, "copy to")
        source, old = self._resolve(from_path)
        target, new = self._writable(to_path, "copy to")
        if source is target:
            if listed:
                return outer_entry(target, source.store.copy_listed(old, new, listed_source))
            return outer_entry(target, source.store.copy(old, new))
        shared = self._shared(source, target)
        if shared is not None:
            store, a, b = shared
            store.copy(join(a, old), join(b, new))
        else:
            self._transfer(source, old, target, new, move=False)
        entry = target.store.stat(new)
        if entry is None:
            raise NotFoundError(f"file or directory does not exist: {self._clean(to_path)!r}")
        return outer_entry(target, entry)

    def _transfer(self, source: Mount, old: str, target: Mount, new: str, move: bool) -> str:
        """Copy (then, for a move, delete) a file or folder from one store to another.
        The whole target is written before anything of the source is deleted."""
        key = (source.outer(old), target.outer(new))
        resuming = move and key in self._unfinished_moves
        entry = source.store.stat(old)
        if entry is None:
            if resuming and target.store.exists(new):
                self._unfinished_moves.discard(key)  # the last attempt finished all but its answer
                return "directory" if target.store.dir_exists(new) else "file"
            raise NotFoundError(f"file or directory does not exist: {key[0]!r}")
        if not resuming and target.store.exists(new):
            raise AlreadyExistsError(f"file or directory already exists: {key[1]!r}")
        files, dirs = self._tree(source, old, new, entry, limit=not move)
        if move:
            self._unfinished_moves.add(key)
        try:
            for inner_dir in dirs:
                target.store.make_dir(inner_dir)
            for inner_file, to, size in files:
                if resuming:
                    there = target.store.stat(to)
                    if there is not None and there.size == size:
                        continue  # arrived in an earlier attempt
                self._copy_file(source, inner_file, target, to, size)
        except BaseException:
            if not move:
                # A failed copy leaves nothing half-made behind (the source is untouched).
                with contextlib.suppress(Exception):
                    target.store.delete(new, True)
            raise
        if move:
            source.store.delete(old, True)
            self._unfinished_moves.discard(key)
        return entry.kind

    def _tree(
        self, mount: Mount, path: str, new: str, entry: Any, limit: bool
    ) -> tuple[list[tuple[str, str, Optional[int]]], list[str]]:
        """What a copy of ``path`` to ``new`` must write: its files (checkpoints included,
        folder markers left out) as (from, to, size), and the folders to make at the
        target (those with a marker: empty folders stay)."""
        if entry.kind == "file":
            files: list[tuple[str, str, Optional[int]]] = [
                (_checkpoint_path(path, c.id), _checkpoint_path(new, c.id), None)
                for c in mount.store.list_checkpoints(path)
            ]
            files.append((path, new, entry.size))  # last: its arrival completes the copy
            return files, []
        files, dirs, pending, total = [], [new], [path], 0
        cap = getattr(self, "_max_copy_folder_bytes", 0) if limit else 0
        while pending:
            folder = pending.pop()
            for child in mount.store.list_stored(folder) or []:
                if child.kind == "directory":
                    if not (folder == "" and child.name == _TRASH):
                        pending.append(child.path)
                elif child.name == _MARKER:
                    if folder != path:
                        dirs.append(_moved(folder, path, new))
                else:
                    files.append((child.path, _moved(child.path, path, new), child.size))
                    total += child.size or 0
            if cap and total > cap:
                raise BadRequestError(
                    f"cannot copy {mount.outer(path)!r}: the folder holds more than "
                    f"{cap // (1024 * 1024)} MB (max_copy_folder_size_mb)"
                )
        return files, dirs

    def _copy_file(
        self, source: Mount, path: str, target: Mount, to: str, size: Optional[int] = None
    ) -> None:
        """One file from one store to another: small ones whole, large ones streamed as a
        chunked upload (memory: one chunk)."""
        if size is not None and size <= _WHOLE:
            _, data, _, _ = source.store.get(path, "bytes")
            assert isinstance(data, bytes)  # what the "bytes" encoding gives
            target.store.write(to, data)
            return
        download = source.store.open_download(path, None, None)
        number, pending, held, piece = 0, [], 0, download.read()
        try:
            while True:
                pending.append(piece)
                held += len(piece)
                piece = download.read()
                if not piece:
                    break
                if held >= _CHUNK:
                    number += 1
                    target.store.write_chunk(to, number, b"".join(pending))
                    pending, held = [], 0
            if number == 0:
                target.store.write(to, b"".join(pending))
            else:
                target.store.write_chunk(to, -1, b"".join(pending))
        except BaseException:
            if number:
                with contextlib.suppress(Exception):
                    target.store.abort_upload(to)
            raise


def _checkpoint_path(path: str, checkpoint_id: str) -> str:
    """Where the core keeps a checkpoint of ``path`` (checkpoints.rs ``checkpoint_key``)."""
    parent, _, name = path.rpartition("/")
    stem, ext = split_ext(name)
    return join(parent, _CHECKPOINTS, f"{stem}-{checkpoint_id}{ext}")


def _moved(path: str, old: str, new: str) -> str:
    """``path`` (``old`` or inside it) at the same place under ``new``."""
    return new + path[len(old) :] if old else join(new, path)
