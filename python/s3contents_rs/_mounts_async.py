"""The operations of a mounted tree (``mounts``), awaited: each goes to the store of the
mount its path is in (see _mount_table.py); copies and moves between two mounts are
the stores' own server-side copies when both mounts are the same store, and streamed
otherwise (download -> chunked upload, in bounded memory).

A move between two stores writes the whole target before it deletes anything of the
source: a failure leaves the source as it was, and retrying the move (on this server)
finishes it, skipping what already arrived. The synchronous twin, _mounts_sync.py, is
generated from this file (``./dev.sh generate``).
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


class AsyncDownload:
    """A mounted store's download, whose entry has its path in the whole tree."""

    def __init__(self, download: CoreDownload, mount: Mount) -> None:
        self._download = download
        self.entry = outer_entry(mount, download.entry)
        self.range = download.range
        self.not_modified = download.not_modified

    async def read_async(self) -> bytes:
        return await self._download.read_async()


class AsyncMountOps(MountTable):
    """Every ``ContentsStore`` operation, dispatched to the mounts."""

    # -- reading -----------------------------------------------------------------------

    async def _mount_points_async(self) -> list[Any]:
        points = []
        for name, mount in sorted(self.mounts.items()):
            if name:
                try:
                    inner = await mount.store.stat_async("")
                except S3ContentsError:
                    inner = None  # the folder still shows; opening it says what is wrong
                points.append(self._mount_point_entry(mount, inner))
        return points

    async def get_async(self, api_path: str, encoding: Optional[Encoding]) -> Any:
        path = self._clean(api_path)
        if not path:
            points = await self._mount_points_async()
            if self._root is None:
                return self._root_entry(points), None, None, (points if encoding is not None else None)
            entry, data, fmt, children = await self._root.store.get_async("", encoding)
            return entry, data, fmt, (self._with_points(children, points) if children is not None else None)
        mount, inner = self._resolve(path)
        entry, data, fmt, children = await mount.store.get_async(inner, encoding)
        children = None if children is None else [outer_entry(mount, c) for c in children]
        return outer_entry(mount, entry), data, fmt, children

    async def stat_async(self, api_path: str) -> Any:
        path = self._clean(api_path)
        if not path and self._root is None:
            return self._root_entry(await self._mount_points_async())
        found = self._find(path)
        if found is None:
            return None
        mount, inner = found
        entry = await mount.store.stat_async(inner)
        if entry is None and self._is_mount_point(path):
            return self._mount_point_entry(mount, None)
        return None if entry is None else outer_entry(mount, entry)

    async def _list_async(self, api_path: str, stored: bool) -> Optional[list[Any]]:
        path = self._clean(api_path)
        if not path:
            points = await self._mount_points_async()
            children = None
            if self._root is not None:
                lister = self._root.store.list_stored_async if stored else self._root.store.list_dir_async
                children = await lister("")
            return self._with_points(children, points)
        found = self._find(path)
        if found is None:
            return None
        mount, inner = found
        lister = mount.store.list_stored_async if stored else mount.store.list_dir_async
        children = await lister(inner)
        if children is None:
            return [] if self._is_mount_point(path) else None
        return [outer_entry(mount, c) for c in children]

    async def list_dir_async(self, api_path: str) -> Optional[list[Any]]:
        return await self._list_async(api_path, False)

    async def list_stored_async(self, api_path: str) -> Optional[list[Any]]:
        return await self._list_async(api_path, True)

    async def child_names_async(self, api_path: str, file: Optional[str]) -> tuple[list[str], Any]:
        path = self._clean(api_path)
        if not path:
            names, found = await self._root.store.child_names_async("", file) if self._root is not None else ([], None)
            return sorted(set(names) | {name for name in self.mounts if name}), found
        mount, inner = self._resolve(path)
        return await mount.store.child_names_async(inner, file)

    async def exists_async(self, api_path: str) -> bool:
        return await self.dir_exists_async(api_path) or await self.file_exists_async(api_path)

    async def file_exists_async(self, api_path: str) -> bool:
        path = self._clean(api_path)
        found = self._find(path)
        if not path or found is None or self._is_mount_point(path):
            return False
        return await found[0].store.file_exists_async(found[1])

    async def dir_exists_async(self, api_path: str) -> bool:
        path = self._clean(api_path)
        if not path or self._is_mount_point(path):
            return True
        found = self._find(path)
        return found is not None and await found[0].store.dir_exists_async(found[1])

    async def open_download_async(self, api_path: str, range: Optional[str], if_none_match: Optional[str]) -> Any:
        mount, inner = self._resolve(api_path)
        return AsyncDownload(await mount.store.open_download_async(inner, range, if_none_match), mount)

    async def check_store_async(self) -> None:
        for mount in self.mounts.values():
            try:
                await mount.store.check_store_async()
            except S3ContentsError as e:
                raise type(e)(f"mount {mount.name or '/'!r}: {e}") from e

    # -- writing -----------------------------------------------------------------------

    async def write_async(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "write")
        return outer_entry(mount, await mount.store.write_async(inner, data))

    async def create_async(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, await mount.store.create_async(inner, data))

    async def create_listed_async(self, api_path: str, data: bytes) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, await mount.store.create_listed_async(inner, data))

    async def create_with_checkpoint_async(self, api_path: str, data: bytes, listed: bool, keep: int) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, await mount.store.create_with_checkpoint_async(inner, data, listed, mount.keep(keep)))

    async def create_dir_async(self, api_path: str) -> Any:
        if self._is_mount_point(api_path):
            raise AlreadyExistsError(f"{self._clean(api_path)!r} already exists (a mount point)")
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, await mount.store.create_dir_async(inner))

    async def make_dir_async(self, api_path: str) -> Any:
        mount, inner = self._writable(api_path, "create")
        return outer_entry(mount, await mount.store.make_dir_async(inner))

    async def write_chunk_async(self, api_path: str, chunk: int, data: bytes) -> tuple[Any, int]:
        mount, inner = self._writable(api_path, "write")
        entry, received = await mount.store.write_chunk_async(inner, chunk, data)
        return (None if entry is None else outer_entry(mount, entry)), received

    async def abort_upload_async(self, api_path: str) -> bool:
        found = self._find(api_path)
        return found is not None and await found[0].store.abort_upload_async(found[1])

    async def abort_uploads_async(self) -> int:
        total = 0
        for mount in self.mounts.values():
            total += await mount.store.abort_uploads_async()
        return total

    async def delete_async(self, api_path: str, allow_non_empty: bool) -> str:
        self._refuse_mount_point(api_path, "delete")
        mount, inner = self._writable(api_path, "delete")
        return await mount.store.delete_async(inner, allow_non_empty)

    async def move_to_trash_async(self, api_path: str, allow_non_empty: bool) -> tuple[str, str]:
        self._refuse_mount_point(api_path, "delete")
        mount, inner = self._writable(api_path, "delete")
        trashed, kind = await mount.store.move_to_trash_async(inner, allow_non_empty)
        return f"{mount.store.place}: {trashed}", kind

    # -- checkpoints -------------------------------------------------------------------

    async def create_checkpoint_async(self, api_path: str, keep: int) -> Any:
        mount, inner = self._writable(api_path, "create a checkpoint of")
        return await mount.store.create_checkpoint_async(inner, mount.keep(keep))

    async def add_checkpoint_async(self, api_path: str, keep: int) -> str:
        mount, inner = self._writable(api_path, "create a checkpoint of")
        return await mount.store.add_checkpoint_async(inner, mount.keep(keep))

    async def list_checkpoints_async(self, api_path: str) -> list[Any]:
        found = self._find(api_path)
        if found is None or self._is_mount_point(api_path):
            return []
        return await found[0].store.list_checkpoints_async(found[1])

    async def restore_checkpoint_async(self, api_path: str, checkpoint_id: str) -> None:
        mount, inner = self._writable(api_path, "restore a checkpoint of")
        await mount.store.restore_checkpoint_async(inner, checkpoint_id)

    async def delete_checkpoint_async(self, api_path: str, checkpoint_id: str) -> None:
        mount, inner = self._writable(api_path, "delete a checkpoint of")
        await mount.store.delete_checkpoint_async(inner, checkpoint_id)

    async def rename_checkpoint_async(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        source, old = self._writable(old_path, "rename a checkpoint of")
        target, new = self._writable(new_path, "rename a checkpoint of")
        if source is target:
            await source.store.rename_checkpoint_async(checkpoint_id, old, new)
            return
        old_key, new_key = _checkpoint_path(old, checkpoint_id), _checkpoint_path(new, checkpoint_id)
        await self._copy_file_async(source, old_key, target, new_key)
        await source.store.delete_checkpoint_async(old, checkpoint_id)

    # -- copies and moves --------------------------------------------------------------

    async def rename_async(self, old_path: str, new_path: str) -> str:
        self._refuse_mount_point(old_path, "rename")
        self._refuse_mount_point(new_path, "rename a file or folder to")
        source, old = self._writable(old_path, "rename")
        target, new = self._writable(new_path, "rename")
        if source is target:
            return await source.store.rename_async(old, new)
        shared = self._shared(source, target)
        if shared is not None:
            store, a, b = shared
            kind: str = await store.rename_async(join(a, old), join(b, new))
            return kind
        return await self._transfer_async(source, old, target, new, move=True)

    async def copy_async(self, from_path: str, to_path: str) -> Any:
        return await self._copy_async(from_path, to_path, listed=False, listed_source=None)

    async def copy_listed_async(self, from_path: str, to_path: str, listed_source: Any) -> Any:
        return await self._copy_async(from_path, to_path, listed=True, listed_source=listed_source)

    async def _copy_async(self, from_path: str, to_path: str, listed: bool, listed_source: Any) -> Any:
        self._refuse_mount_point(to_path, "copy to")
        source, old = self._resolve(from_path)
        target, new = self._writable(to_path, "copy to")
        if source is target:
            if listed:
                return outer_entry(target, await source.store.copy_listed_async(old, new, listed_source))
            return outer_entry(target, await source.store.copy_async(old, new))
        shared = self._shared(source, target)
        if shared is not None:
            store, a, b = shared
            await store.copy_async(join(a, old), join(b, new))
        else:
            await self._transfer_async(source, old, target, new, move=False)
        entry = await target.store.stat_async(new)
        if entry is None:
            raise NotFoundError(f"file or directory does not exist: {self._clean(to_path)!r}")
        return outer_entry(target, entry)

    async def _transfer_async(self, source: Mount, old: str, target: Mount, new: str, move: bool) -> str:
        """Copy (then, for a move, delete) a file or folder from one store to another.
        The whole target is written before anything of the source is deleted."""
        key = (source.outer(old), target.outer(new))
        resuming = move and key in self._unfinished_moves
        entry = await source.store.stat_async(old)
        if entry is None:
            if resuming and await target.store.exists_async(new):
                self._unfinished_moves.discard(key)  # the last attempt finished all but its answer
                return "directory" if await target.store.dir_exists_async(new) else "file"
            raise NotFoundError(f"file or directory does not exist: {key[0]!r}")
        if not resuming and await target.store.exists_async(new):
            raise AlreadyExistsError(f"file or directory already exists: {key[1]!r}")
        files, dirs = await self._tree_async(source, old, new, entry, limit=not move)
        if move:
            self._unfinished_moves.add(key)
        try:
            for inner_dir in dirs:
                await target.store.make_dir_async(inner_dir)
            for inner_file, to, size in files:
                if resuming:
                    there = await target.store.stat_async(to)
                    if there is not None and there.size == size:
                        continue  # arrived in an earlier attempt
                await self._copy_file_async(source, inner_file, target, to, size)
        except BaseException:
            if not move:
                # A failed copy leaves nothing half-made behind (the source is untouched).
                with contextlib.suppress(Exception):
                    await target.store.delete_async(new, True)
            raise
        if move:
            await source.store.delete_async(old, True)
            self._unfinished_moves.discard(key)
        return entry.kind

    async def _tree_async(
        self, mount: Mount, path: str, new: str, entry: Any, limit: bool
    ) -> tuple[list[tuple[str, str, Optional[int]]], list[str]]:
        """What a copy of ``path`` to ``new`` must write: its files (checkpoints included,
        folder markers left out) as (from, to, size), and the folders to make at the
        target (those with a marker: empty folders stay)."""
        if entry.kind == "file":
            files: list[tuple[str, str, Optional[int]]] = [
                (_checkpoint_path(path, c.id), _checkpoint_path(new, c.id), None)
                for c in await mount.store.list_checkpoints_async(path)
            ]
            files.append((path, new, entry.size))  # last: its arrival completes the copy
            return files, []
        files, dirs, pending, total = [], [new], [path], 0
        cap = getattr(self, "_max_copy_folder_bytes", 0) if limit else 0
        while pending:
            folder = pending.pop()
            for child in await mount.store.list_stored_async(folder) or []:
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

    async def _copy_file_async(
        self, source: Mount, path: str, target: Mount, to: str, size: Optional[int] = None
    ) -> None:
        """One file from one store to another: small ones whole, large ones streamed as a
        chunked upload (memory: one chunk)."""
        if size is not None and size <= _WHOLE:
            _, data, _, _ = await source.store.get_async(path, "bytes")
            assert isinstance(data, bytes)  # what the "bytes" encoding gives
            await target.store.write_async(to, data)
            return
        download = await source.store.open_download_async(path, None, None)
        number, pending, held, piece = 0, [], 0, await download.read_async()
        try:
            while True:
                pending.append(piece)
                held += len(piece)
                piece = await download.read_async()
                if not piece:
                    break
                if held >= _CHUNK:
                    number += 1
                    await target.store.write_chunk_async(to, number, b"".join(pending))
                    pending, held = [], 0
            if number == 0:
                await target.store.write_async(to, b"".join(pending))
            else:
                await target.store.write_chunk_async(to, -1, b"".join(pending))
        except BaseException:
            if number:
                with contextlib.suppress(Exception):
                    await target.store.abort_upload_async(to)
            raise


def _checkpoint_path(path: str, checkpoint_id: str) -> str:
    """Where the core keeps a checkpoint of ``path`` (checkpoints.rs ``checkpoint_key``)."""
    parent, _, name = path.rpartition("/")
    stem, ext = split_ext(name)
    return join(parent, _CHECKPOINTS, f"{stem}-{checkpoint_id}{ext}")


def _moved(path: str, old: str, new: str) -> str:
    """``path`` (``old`` or inside it) at the same place under ``new``."""
    return new + path[len(old) :] if old else join(new, path)
