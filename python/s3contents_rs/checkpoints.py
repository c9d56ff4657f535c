"""Checkpoints kept in the bucket at ``<dir>/.ipynb_checkpoints/<name>-<id><ext>``.

Create and restore are server-side copies; nothing passes through the Jupyter server.
They read the store and ``max_checkpoints`` from their parent contents manager.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints, Checkpoints

from ._core import Checkpoint, ContentsStore
from .exceptions import http_errors


def _model(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"id": checkpoint.id, "last_modified": checkpoint.last_modified}


class _StoreCheckpointsMixin:
    parent: Any

    @property
    def _store(self) -> ContentsStore:
        return self.parent.store

    @property
    def _keep(self) -> int:
        return int(getattr(self.parent, "max_checkpoints", 1))


class ObjectStoreCheckpoints(_StoreCheckpointsMixin, Checkpoints):
    def create_checkpoint(self, contents_mgr, path):
        with http_errors():
            return _model(self._store.create_checkpoint(path.strip("/"), self._keep))

    def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
        with http_errors():
            self._store.restore_checkpoint(path.strip("/"), checkpoint_id)

    def rename_checkpoint(self, checkpoint_id, old_path, new_path):
        with http_errors():
            self._store.rename_checkpoint(checkpoint_id, old_path.strip("/"), new_path.strip("/"))

    def delete_checkpoint(self, checkpoint_id, path):
        with http_errors():
            self._store.delete_checkpoint(path.strip("/"), checkpoint_id)

    def list_checkpoints(self, path):
        with http_errors():
            return [_model(c) for c in self._store.list_checkpoints(path.strip("/"))]


class AsyncObjectStoreCheckpoints(_StoreCheckpointsMixin, AsyncCheckpoints):
    async def create_checkpoint(self, contents_mgr, path):
        with http_errors():
            return _model(await self._store.create_checkpoint_async(path.strip("/"), self._keep))

    async def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
        with http_errors():
            await self._store.restore_checkpoint_async(path.strip("/"), checkpoint_id)

    async def rename_checkpoint(self, checkpoint_id, old_path, new_path):
        with http_errors():
            await self._store.rename_checkpoint_async(
                checkpoint_id, old_path.strip("/"), new_path.strip("/")
            )

    async def delete_checkpoint(self, checkpoint_id, path):
        with http_errors():
            await self._store.delete_checkpoint_async(path.strip("/"), checkpoint_id)

    async def list_checkpoints(self, path):
        with http_errors():
            return [_model(c) for c in await self._store.list_checkpoints_async(path.strip("/"))]
