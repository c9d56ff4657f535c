"""Checkpoints kept in the bucket at ``<dir>/.ipynb_checkpoints/<name>-<id><ext>``.

Create and restore are server-side copies; nothing passes through the Jupyter server.
They read the store and ``max_checkpoints`` from their parent contents manager. The
classes live next to their managers (``AsyncObjectStoreCheckpoints`` in async_contents.py,
``ObjectStoreCheckpoints`` generated from it in contents.py); this module holds what they
share and still offers both names.
"""

from __future__ import annotations

from typing import Any

from ._core import Checkpoint, ContentsStore


def checkpoint_model(checkpoint: Checkpoint) -> dict[str, Any]:
    return {"id": checkpoint.id, "last_modified": checkpoint.last_modified}


class StoreCheckpointsMixin:
    parent: Any

    @property
    def _store(self) -> ContentsStore:
        store: ContentsStore = self.parent.store
        return store

    @property
    def _keep(self) -> int:
        return int(getattr(self.parent, "max_checkpoints", 1))


def __getattr__(name: str) -> Any:
    # Imported on first use: the manager modules import this one.
    if name == "AsyncObjectStoreCheckpoints":
        from .async_contents import AsyncObjectStoreCheckpoints

        return AsyncObjectStoreCheckpoints
    if name == "ObjectStoreCheckpoints":
        from .contents import ObjectStoreCheckpoints

        return ObjectStoreCheckpoints
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
