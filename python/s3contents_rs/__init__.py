"""Jupyter contents (notebooks, files, folders, checkpoints) in object storage.

Drop-in for the ``s3contents`` package::

    from s3contents_rs import S3ContentsManager        # instead of: from s3contents import ...
    c.ServerApp.contents_manager_class = S3ContentsManager
"""

from typing import Any

from ._core import ContentsStore, __version__
from .async_contents import AsyncObjectStoreCheckpoints, AsyncObjectStoreContentsManager
from .azure import (
    AsyncAzureCheckpoints,
    AsyncAzureContentsManager,
    AzureCheckpoints,
    AzureContentsManager,
)
from .contents import ObjectStoreCheckpoints, ObjectStoreContentsManager
from .gcs import (
    AsyncGCSCheckpoints,
    AsyncGCSContentsManager,
    GCSCheckpoints,
    GCSContentsManager,
)
from .s3 import (
    AsyncS3Checkpoints,
    AsyncS3ContentsManager,
    S3Checkpoints,
    S3ContentsManager,
)

__all__ = [
    "AsyncAzureCheckpoints",
    "AsyncAzureContentsManager",
    "AzureCheckpoints",
    "AzureContentsManager",
    "AsyncGCSCheckpoints",
    "AsyncGCSContentsManager",
    "AsyncObjectStoreCheckpoints",
    "AsyncObjectStoreContentsManager",
    "AsyncS3Checkpoints",
    "AsyncS3ContentsManager",
    "ContentsStore",
    "GCSCheckpoints",
    "GCSContentsManager",
    "ObjectStoreCheckpoints",
    "ObjectStoreContentsManager",
    "S3Checkpoints",
    "S3ContentsManager",
    "__version__",
]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension of this package (enabled on install): with an async
    manager, large /api/contents replies are serialised off the event loop; and
    /api/s3contents/status, which the package's JupyterLab extension asks."""
    return [{"module": "s3contents_rs"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .server_extension import load

    load(serverapp)
