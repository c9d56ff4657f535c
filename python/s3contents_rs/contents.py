"""The synchronous manager and its checkpoints: each call blocks its thread with the GIL
released. Use it where a plain ``ContentsManager`` is required (``HybridContentsManager``);
in a normal server prefer :class:`~s3contents_rs.AsyncObjectStoreContentsManager`.

Generated from async_contents.py by tools/generate_sync.py (``./dev.sh generate``): edit
that file, not this one.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal, Optional

from jupyter_server.services.contents.checkpoints import Checkpoints
from jupyter_server.services.contents.manager import ContentsManager, copy_pat
from traitlets import default

from ._base import StoreContentsMixin
from ._core import Entry
from .checkpoints import StoreCheckpointsMixin, checkpoint_model
from .exceptions import AlreadyExistsError, HTTPError, NotFoundError, http_error, http_errors
from .metrics import new_kind, save_kind, timed

# `# type: ignore[no-untyped-call]` below: calls to jupyter_server's own methods, which have no
# annotations (mypy's untyped_calls_exclude matches the class called on, which is ours).

# How many free names a create tries before giving up with 409 (each loss means another
# server created that very name in the same instant; N racing creators lose at most N-1).
_CREATE_ATTEMPTS = 16


class ObjectStoreCheckpoints(StoreCheckpointsMixin, Checkpoints):
    """Checkpoints in the bucket, next to their file (see checkpoints.py)."""

    @timed("create_checkpoint")
    def create_checkpoint(self, contents_mgr: Any, path: str) -> dict[str, Any]:
        with http_errors():
            return checkpoint_model(self._store.create_checkpoint(path.strip("/"), self._keep))

    @timed("restore_checkpoint")
    def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: str, path: str) -> None:
        with http_errors():
            self._store.restore_checkpoint(path.strip("/"), checkpoint_id)

    @timed("rename_checkpoint")
    def rename_checkpoint(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        with http_errors():
            self._store.rename_checkpoint(checkpoint_id, old_path.strip("/"), new_path.strip("/"))

    @timed("delete_checkpoint")
    def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        with http_errors():
            self._store.delete_checkpoint(path.strip("/"), checkpoint_id)

    @timed("list_checkpoints")
    def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        with http_errors():
            return [checkpoint_model(c) for c in self._store.list_checkpoints(path.strip("/"))]


class ObjectStoreContentsManager(StoreContentsMixin, ContentsManager):
    """Jupyter contents in an object store (blocking flavour)."""

    # The checkpoints class used unless `checkpoints_class` is configured: each named
    # manager (S3, GCS, Azure) sets its own, so logs and --help-all show the right one.
    default_checkpoints_class: type = ObjectStoreCheckpoints

    @default("checkpoints_class")
    def _checkpoints_class_default(self) -> type:
        return self.default_checkpoints_class

    # -- reading -------------------------------------------------------------------

    @timed("get")
    def get(
        self,
        path: str,
        content: bool = True,
        type: Optional[str] = None,
        format: Optional[str] = None,
        require_hash: bool = False,
    ) -> dict[str, Any]:
        path = path.strip("/")
        self._refuse_hidden_read(path)
        with http_errors():
            fetched = self._store.get(
                path, self._content_encoding(path, type, format, bool(content), require_hash)
            )
        model = self._build_model(fetched, type, format, bool(content), require_hash)
        self.emit(data={"action": "get", "path": path})  # type: ignore[no-untyped-call]
        return model

    def dir_exists(self, path: str) -> bool:
        with http_errors():
            return self._store.dir_exists(path.strip("/"))

    def file_exists(self, path: str = "") -> bool:
        with http_errors():
            return self._store.file_exists(path.strip("/"))

    def exists(self, path: str) -> bool:
        with http_errors():
            return self._store.exists(path.strip("/"))

    def is_hidden(self, path: str) -> bool:
        return self._hidden(path.strip("/"))

    # -- writing -------------------------------------------------------------------

    @timed(save_kind)
    def save(
        self, model: dict[str, Any], path: str = "", _create_only: bool = False, _listed: bool = False
    ) -> dict[str, Any]:
        path = path.strip("/")
        if model.get("chunk") is not None:
            return self._save_chunk(model, path)
        self.run_pre_save_hooks(model=model, path=path)  # type: ignore[no-untyped-call]
        self._check_save_model(model, path)
        self.log.debug("Saving %s", path)
        validation_error: dict[str, Any]
        with http_errors():
            if model["type"] == "directory":
                make_dir = self._store.create_dir if _create_only else self._store.make_dir
                entry, validation_error = make_dir(path), {}
            else:
                data, validation_error = self._serialize(model, path)
                with_checkpoint = _create_only and model["type"] == "notebook" and self._store_checkpoints()
                if with_checkpoint:
                    # A new notebook's first checkpoint: its COPY goes out with the HEAD
                    # that dates the file (any checkpoint of that name is a leftover).
                    entry = self._store.create_with_checkpoint(path, data, _listed, self.max_checkpoints)
                    self._checkpointed.add(path)
                else:
                    if _create_only:
                        write = self._store.create_listed if _listed else self._store.create
                    else:
                        write = self._store.write
                    entry = write(path, data)
                if model["type"] == "notebook" and not with_checkpoint:
                    try:
                        self._ensure_checkpoint(path, new=_create_only)
                    except Exception:
                        # A create leaves nothing half-made, so retrying it succeeds.
                        if _create_only:
                            with contextlib.suppress(Exception):
                                self._store.delete(path, False)
                        raise
        return self._after_save(self._saved_model(entry, model, validation_error), path)

    def _save_chunk(self, model: dict[str, Any], path: str) -> dict[str, Any]:
        """One chunk of a large upload, streamed into a multipart upload in the store."""
        if model["chunk"] == 1:
            self.run_pre_save_hooks(model=model, path=path)  # type: ignore[no-untyped-call]
        # A refused chunk leaves the upload in progress as it was (LargeFileManager):
        # the client may send that chunk again.
        data = self._chunk_data(model, path)
        with http_errors():
            entry, received = self._store.write_chunk(path, model["chunk"], data)
        if entry is None:
            return self._upload_progress_model(path, received)
        return self._after_save(self._base_model(entry, "file"), path)

    def _ensure_checkpoint(self, path: str, new: bool = False) -> None:
        """FileContentsManager keeps one checkpoint per notebook; check once per path.
        A file just created (create-only) gets its first checkpoint without looking: any
        checkpoint of that name is a leftover of an older file."""
        if not new and path in self._checkpointed:
            return
        if new or not self.checkpoints.list_checkpoints(path):
            if self._store_checkpoints():
                with http_errors():
                    self._store.add_checkpoint(path, self.max_checkpoints)
            else:
                self.create_checkpoint(path)  # type: ignore[no-untyped-call]
        self._checkpointed.add(path)

    def delete_file(self, path: str) -> None:
        self._delete(path)

    def _delete(self, path: str) -> Literal["file", "directory"]:
        """Delete (or trash) a file or folder; returns "file" or "directory"."""
        path = path.strip("/")
        self._refuse_hidden_write(path, "delete file or directory")
        with http_errors():
            if self.delete_to_trash:
                # A folder in the trash can be restored: always_delete_dir guards only
                # final deletes, as in FileContentsManager (outside Windows).
                trashed, kind = self._store.move_to_trash(path, True)
                self._log_trashed(path, trashed)
            else:
                kind = self._store.delete(path, self.always_delete_dir)
        return kind

    @timed("delete")
    def delete(self, path: str) -> None:
        if type(self).delete_file is not ObjectStoreContentsManager.delete_file:
            super().delete(path)  # type: ignore[no-untyped-call]  # a subclass's own delete_file
            return
        path = path.strip("/")
        if not path:
            raise http_error(400, "Can't delete root")
        # A folder's checkpoints live inside it and went with it; the store's own
        # checkpoints of a file went in the same bulk delete (retry-safe).
        if self._delete(path) == "file" and not self._store_checkpoints():
            self.checkpoints.delete_all_checkpoints(path)
        self._checkpointed.discard(path)
        self.emit(data={"action": "delete", "path": path})  # type: ignore[no-untyped-call]

    def rename_file(self, old_path: str, new_path: str) -> None:
        self._rename(old_path, new_path)

    def _rename(self, old_path: str, new_path: str) -> Optional[Literal["file", "directory"]]:
        """Move a file or folder; returns "file", "directory" or None (same path)."""
        old_path, new_path = old_path.strip("/"), new_path.strip("/")
        if old_path == new_path:
            return None
        self._refuse_hidden_write(old_path, "rename file or directory")
        self._refuse_hidden_write(new_path, "rename file or directory")
        with http_errors():
            kind = self._store.rename(old_path, new_path)
        self._checkpointed.discard(old_path)
        return kind

    @timed("rename")
    def rename(self, old_path: str, new_path: str) -> None:
        if type(self).rename_file is not ObjectStoreContentsManager.rename_file:
            super().rename(old_path, new_path)  # type: ignore[no-untyped-call]  # a subclass's own rename_file
            return
        # A folder's checkpoints live inside it and moved with it; the store's own
        # checkpoints of a file moved with it, in the same transfer (retry-safe).
        if self._rename(old_path, new_path) == "file" and not self._store_checkpoints():
            self.checkpoints.rename_all_checkpoints(old_path, new_path)
        self.emit(data={"action": "rename", "path": new_path, "source_path": old_path})  # type: ignore[no-untyped-call]

    # -- creating (create-only writes: concurrent creators never overwrite each other) --

    @timed("new_untitled")
    def new_untitled(self, path: str = "", type: str = "", ext: str = "") -> dict[str, Any]:
        path = path.strip("/")
        model, filename, insert = self._untitled(type, ext)
        for attempt in range(_CREATE_ATTEMPTS):
            # One listing: the free name, and 404 when the folder does not exist.
            name = self.increment_filename(filename, path, insert=insert)
            new_path = f"{path}/{name}".strip("/")
            try:
                return self.save(
                    self._new_model(dict(model), new_path), new_path, _create_only=True, _listed=True
                )
            except HTTPError as e:
                if e.status_code != 409 or attempt == _CREATE_ATTEMPTS - 1:
                    raise
                self.log.info("%s/%s was just created by someone else; trying the next name", path, name)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @timed(new_kind)
    def new(self, model: Optional[dict[str, Any]] = None, path: str = "") -> dict[str, Any]:
        """Create a new file or directory; 409 if anything exists at `path` (even created
        a moment ago by another server)."""
        path = path.strip("/")
        return self.save(self._new_model(model, path), path, _create_only=True)

    # -- naming ----------------------------------------------------------------------

    def increment_filename(self, filename: str, path: str = "", insert: str = "") -> str:
        """The first free name, from one listing of `path` (404 when it is no folder)."""
        name, _ = self._free_name(filename, path, insert, None)
        return name

    def _free_name(
        self, filename: str, path: str, insert: str, file: Optional[str]
    ) -> tuple[str, Optional[Entry]]:
        """`increment_filename`, and the listed entry of the file named `file` in `path`:
        a copy next to its source passes it on, so the source is asked no HEAD."""
        with http_errors():
            try:
                names, found = self._store.child_names(path.strip("/"), file)
            except NotFoundError:
                raise http_error(404, f"No such directory: {path.strip('/')}") from None
        return self._first_free_name(set(names), filename, insert), found

    @timed("copy")
    def copy(self, from_path: str, to_path: Optional[str] = None) -> dict[str, Any]:
        """Copy a file or a directory tree server-side (FileContentsManager naming)."""
        path = from_path.strip("/")
        from_dir, from_name = self._split(path)
        self._refuse_hidden_read(path)
        with http_errors():
            for attempt in range(_CREATE_ATTEMPTS):
                target, auto_named, listed_source = self._copy_target(path, from_dir, from_name, to_path)
                if auto_named and target == path:
                    # The source's own name was free in the listing of its folder.
                    raise http_error(404, f"file or directory does not exist: {path!r}")
                self._refuse_hidden_write(target)
                try:
                    if auto_named:
                        # A name just picked from the folder's listing is not looked up again.
                        entry = self._store.copy_listed(path, target, listed_source)
                    else:
                        entry = self._store.copy(path, target)
                    break
                except AlreadyExistsError:
                    # Another server took that free name meanwhile: pick the next one.
                    if not auto_named or attempt == _CREATE_ATTEMPTS - 1:
                        raise
        model = self._base_model(entry, self._model_type(entry.path, entry.kind, None))
        self.emit(data={"action": "copy", "path": target, "source_path": path})  # type: ignore[no-untyped-call]
        return model

    def _copy_target(
        self, path: str, from_dir: str, from_name: str, to_path: Optional[str]
    ) -> tuple[str, bool, Optional[Entry]]:
        """The copy's path, whether it was picked as free from a listing, and the source's
        entry when that listing was of the source's own folder."""
        to_dir = from_dir if to_path is None else to_path.strip("/")
        source_name = from_name if to_dir == from_dir else None
        try:
            name, listed_source = self._free_name(copy_pat.sub(".", from_name), to_dir, "-Copy", source_name)
            return f"{to_dir}/{name}".strip("/"), True, listed_source
        except HTTPError as e:
            if e.status_code != 404:
                raise
        if to_path is not None and self.dir_exists(path):
            # A folder copied to a folder that does not exist goes inside it, under its
            # own name, as in FileContentsManager (missing parents are implied).
            return f"{to_dir}/{copy_pat.sub('.', from_name)}".strip("/"), False, None
        parent, _ = self._split(to_dir)
        if to_path is None or (parent and not self.dir_exists(parent)):
            raise http_error(404, f"No such parent directory: {parent or to_dir} to copy file in")
        return to_dir, False, None
