"""``python -m s3contents_rs check``: try a configuration against its bucket.

Reads the same configuration the Jupyter server would (``jupyter_server_config.py`` in the
Jupyter config path, ``--config=FILE``, and ``--AsyncS3ContentsManager.bucket=...`` style
options), builds the contents manager, and tries what the server will need: list the
root, write a small probe object, read it back, checkpoint it, delete it. Each step prints
``ok`` or what is wrong in plain words; the exit status is 0 only when all passed.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any, Callable

from jupyter_core.application import JupyterApp
from traitlets import TraitError, default
from traitlets.utils.importstring import import_item

from .exceptions import ConfigError, S3ContentsError


class CheckFailed(Exception):
    """A step failed; the message says why in plain words."""


def explain(error: BaseException, manager: Any, action: str) -> str:
    """Plain words for what went wrong while trying to `action`: the core's errors already
    say it (no bucket, access denied and the permission needed, unreachable endpoint...)."""
    if isinstance(error, S3ContentsError):
        return str(error)
    return f"unexpected error while trying to {action} in {manager.store.place}: {type(error).__name__}: {error}"


def run_checks(manager: Any, say: Callable[[str], None]) -> bool:
    """Try everything the server needs; print one line per step. True when all passed."""
    store = manager.store
    probe = f".s3contents-rs-check-{uuid.uuid4().hex[:12]}"
    payload = b"s3contents-rs check probe\n"
    steps: list[tuple[str, Callable[[], None]]] = []

    def step(action: str):
        def register(fn: Callable[[], None]):
            steps.append((action, fn))
            return fn

        return register

    @step("list the root")
    def _list() -> None:
        children = store.list_dir("")
        if children is None:
            raise CheckFailed("the root could not be listed")

    @step("write a probe object")
    def _write() -> None:
        store.write(probe, payload)

    @step("read the probe back")
    def _read() -> None:
        _, data, _, _ = store.get(probe, "bytes")
        if data != payload:
            raise CheckFailed(
                f"read back {len(data or b'')} bytes that differ from the {len(payload)} written"
            )

    @step("create, list and delete a checkpoint")
    def _checkpoint() -> None:
        created = store.create_checkpoint(probe, 1)
        listed = [c.id for c in store.list_checkpoints(probe)]
        if created.id not in listed:
            raise CheckFailed(
                f"the checkpoint {created.id!r} was written but is not listed ({listed})"
            )
        store.delete_checkpoint(probe, created.id)

    @step("delete the probe object")
    def _delete() -> None:
        store.delete(probe, False)
        if store.file_exists(probe):
            raise CheckFailed("the probe object is still there after deleting it")

    ok = True
    written = False
    for action, fn in steps:
        try:
            fn()
        except CheckFailed as e:
            say(f"FAILED  {action}: {e}")
            ok = False
            break
        except (S3ContentsError, OSError) as e:
            say(f"FAILED  {action}: {explain(e, manager, action)}")
            ok = False
            break
        say(f"ok      {action}")
        written = written or fn is _write
    if written and not ok:
        try:  # leave nothing behind
            store.delete(probe, False)
        except (S3ContentsError, OSError):
            say(
                f"note    could not remove the probe object {probe!r}; delete it by hand"
            )
    return ok


def _configurable_classes() -> list[type]:
    """Every manager and checkpoints class the package exports (for --help-all)."""
    import s3contents_rs
    from traitlets.config import Configurable

    exported = (getattr(s3contents_rs, name) for name in s3contents_rs.__all__)
    return [c for c in exported if isinstance(c, type) and issubclass(c, Configurable)]


class CheckApp(JupyterApp):
    name = "s3contents-rs-check"
    description = __doc__
    # `python -m s3contents_rs check --help-all` lists every setting with its help text.
    # (`jupyter lab --help-all` only knows the classes jupyter_server lists statically.)
    classes = _configurable_classes()

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_server_config"

    def manager_class(self) -> type:
        from . import AsyncS3ContentsManager

        configured = self.config.get("ServerApp", {}).get(
            "contents_manager_class", AsyncS3ContentsManager
        )
        cls = import_item(configured) if isinstance(configured, str) else configured
        return cls

    def start(self) -> None:
        self.exit(0 if self.check(print) else 1)

    def check(self, say: Callable[[str], None]) -> bool:
        try:
            cls = self.manager_class()
        except Exception as e:  # noqa: BLE001 (any import problem is a config problem here)
            say(
                f"FAILED  configuration: ServerApp.contents_manager_class cannot be imported: {e}"
            )
            return False
        if not hasattr(cls, "store"):
            say(
                f"FAILED  configuration: ServerApp.contents_manager_class is {cls.__module__}.{cls.__name__}, "
                "not an s3contents_rs manager; nothing to check"
            )
            return False
        try:
            manager = cls(parent=self, log=self.log)
        except (TraitError, ConfigError) as e:
            say(f"FAILED  configuration: {e}")
            return False
        say(f"Checking {cls.__name__}: {manager.info_string()}")
        ok = run_checks(manager, say)
        say(
            "All checks passed."
            if ok
            else "The configuration does not work yet (see above)."
        )
        return ok


def main(argv: list[str] | None = None) -> int:
    app = CheckApp()
    app.initialize(argv)
    try:
        app.start()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
