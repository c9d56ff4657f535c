"""``mounts``: several stores in one file tree.

``mounts`` maps a folder of the root to a store, given as a URL or as a dict of settings::

    {"": "s3://home-bucket/users/{username}",
     "shared": "s3://team-bucket/shared",
     "datasets": {"url": "gs://public-data", "read_only": True}}

A dict takes ``url`` and the settings of the manager of that kind of store, by the same
names: the S3 settings (``endpoint_url``, ``access_key_id``, ``region_name``, ...) for
``s3://``, the GCS ones (``token``, ``endpoint_url``) for ``gs://``, the Azure ones
(``account``, ``account_key``, ...) for ``az://``, and for every store the general ones
(``prefix``, ``store_options``, ``read_only``, ``max_checkpoints``, timeouts, part
sizes), whose default is the manager's own value. The URL's path is the prefix (below it,
``prefix``); ``{username}`` and ``${NAME}`` are expanded in both.

The manager's own store is the root mount ("") when it has one (a named manager's
bucket, or ``url``); ``ObjectStoreContentsManager`` without ``url`` takes the root from
``mounts[""]``, and without that the root only lists the mounts.
"""

from __future__ import annotations

from typing import Any, Callable, Optional
from urllib.parse import urlparse

from traitlets import HasTraits, TraitError

from ._core import ContentsStore
from ._mount_table import Mount
from ._mounts_async import AsyncMountOps
from ._mounts_sync import MountOps
from ._prefix import expand_prefix
from ._settings import StoreSettings

# Settings a mount never takes from the manager (they say where the store is).
_OWN = {"url", "prefix", "store_options", "mounts"}
_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "azure": "azure", "abfs": "azure"}


class MountedStore(MountOps, AsyncMountOps):
    """A ``ContentsStore`` made of the stores of ``mounts`` (sync and async operations)."""


class _MountSettings(StoreSettings):
    """The general store settings of one mount (no manager around them)."""

    def __init__(self, **kwargs: Any) -> None:
        HasTraits.__init__(self, **kwargs)


def _settings_class(kind: str) -> type[HasTraits]:
    if kind == "s3":
        from .s3 import S3Traits

        return type("S3Mount", (S3Traits, _MountSettings), {})
    if kind == "gcs":
        from .gcs import GCSTraits

        return type("GCSMount", (GCSTraits, _MountSettings), {})
    if kind == "azure":
        from .azure import AzureTraits

        return type("AzureMount", (AzureTraits, _MountSettings), {})
    return _MountSettings


def open_mounted_store(manager: Any) -> MountedStore:
    """The store of a manager with ``mounts``."""
    mounts: dict[str, Mount] = {}
    spec = dict(manager.mounts)
    named = type(manager)._store_location is not StoreSettings._store_location
    if named or manager.url:
        if "" in spec:
            raise TraitError(
                f"mounts: {type(manager).__name__} already has a store at the root "
                f"({'its bucket settings' if named else 'url'}); mount other stores in folders, or use "
                "ObjectStoreContentsManager without url to mount a store at the root"
            )
        mounts[""] = _manager_mount(manager)
    for name, value in spec.items():
        mounts[name] = _mount(manager, _check_name(name), value)
    if not mounts:
        raise TraitError("mounts: no store is mounted")
    return MountedStore(mounts)


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TraitError(f"mounts: {name!r} is not a folder name")
    if name and ("/" in name.strip("/") or name.strip("/") in (".", "..") or name.strip("/").startswith(".")):
        raise TraitError(f"mounts: {name!r} must be one folder name at the root (not hidden, no '/')")
    return name.strip("/")


def _manager_mount(manager: Any) -> Mount:
    url, options, credentials = manager._store_location()
    return _build("", manager, url, manager.prefix, options, credentials, manager)


def _mount(manager: Any, name: str, value: Any) -> Mount:
    where = f"mounts[{name!r}]"
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict) or not isinstance(value.get("url"), str) or not value["url"]:
        raise TraitError(f"{where}: give a store URL, or a dict with 'url' and settings")
    settings = dict(value)
    url = settings.pop("url")
    parsed = urlparse(url)
    kind = _SCHEMES.get(parsed.scheme.lower(), "url")
    cls = _settings_class(kind)
    known = {n for n, t in cls.class_traits().items() if t.metadata.get("config")}
    unknown = sorted(set(settings) - known - {"prefix", "store_options"})
    if unknown or {"bucket", "container", "mounts"} & set(settings):
        bad = unknown or sorted({"bucket", "container", "mounts"} & set(settings))
        raise TraitError(f"{where}: unknown setting(s) {', '.join(map(repr, bad))} for a {kind} store")
    inherited = {
        n: getattr(manager, n)
        for n, t in StoreSettings.class_traits().items()
        if t.metadata.get("config") and n not in _OWN and n not in settings
    }
    path_prefix = parsed.path.strip("/") if kind != "url" else ""
    prefix = "/".join(p for p in (path_prefix, str(settings.pop("prefix", "")).strip("/")) if p)
    try:
        if kind == "s3":
            owner = cls(bucket=parsed.netloc, **inherited, **settings)
        elif kind == "gcs":
            owner = cls(bucket=parsed.netloc, **inherited, **settings)
        elif kind == "azure":
            owner = cls(container=parsed.netloc, **inherited, **settings)
        else:
            owner = cls(url=url, **inherited, **settings)
        store_url, options, credentials = owner._store_location()  # type: ignore[attr-defined]  # each backend's traits class has it
        return _build(name, owner, store_url, prefix, options, credentials, manager)
    except TraitError as e:
        raise TraitError(f"{where}: {e}") from e


def _build(
    name: str,
    owner: Any,
    url: str,
    prefix: str,
    options: dict[str, str],
    credentials: Optional[Callable[[], Any]],
    manager: Any,
) -> Mount:
    # As StoreSettings._open_store: object_store takes strings ("true", "30s").
    options = dict(options)
    options.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in owner.store_options.items()})
    kwargs = owner._store_kwargs()
    store = ContentsStore(url, expand_prefix(prefix), options, credential_provider=credentials, **kwargs)
    store.set_max_copy_folder_bytes(max(manager.max_copy_folder_size_mb, 0) * 1024 * 1024)
    max_checkpoints = owner.max_checkpoints if owner is not manager else None
    return Mount(
        name,
        store,
        read_only=owner.read_only,
        max_checkpoints=max_checkpoints,
        location=(url, tuple(sorted(options.items())), credentials),
        store_kwargs=kwargs,
    )
