"""Keeping the event loop free: what only the async manager adds to the shared mixin.

nbformat's parsing, validation and signing of a large notebook, base64 of a large file,
a large listing's models and the post-save hooks (which often call the store through
``fs``, blocking) run in a worker thread, so the Jupyter server keeps serving meanwhile.
The sync manager, generated from the async one, calls the plain methods of
:class:`~s3contents_rs._base.StoreContentsMixin` that these wrap (``_build_model_async``
becomes ``_build_model``, and so on).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Optional

from ._base import StoreContentsMixin
from ._notebooks import _MESSAGE, _SIGNATURE, _VALIDATION

if TYPE_CHECKING:
    from ._core import Fetched

# Notebooks (bytes) and listings (entries) from this size on are turned into models in a
# worker thread. nbformat needs about 50 ms per MB here: 64 KB is a few milliseconds.
_OFF_LOOP_BYTES = 64 * 1024
_OFF_LOOP_ENTRIES = 500


class AsyncStoreContentsMixin(StoreContentsMixin):
    """StoreContentsMixin plus the off-loop versions of its heavy steps."""

    async def _build_model_async(
        self, fetched: Fetched, type: Optional[str], format: Optional[str], content: bool, require_hash: bool
    ) -> dict[str, Any]:
        """`_build_model`, in a worker thread when it is heavy (a large notebook to parse,
        validate and check, a large listing), so the event loop keeps serving."""
        _, data, _, children = fetched
        if children is not None and len(children) >= _OFF_LOOP_ENTRIES:
            return await asyncio.to_thread(self._build_model, fetched, type, format, content, require_hash)
        notary = self._off_loop(len(data)) if data is not None else None
        if notary is None:
            return self._build_model(fetched, type, format, content, require_hash)
        model = await asyncio.to_thread(self._build_model, fetched, type, format, content, require_hash, notary)
        trusted = self._look_up_trust(model, notary)
        if trusted is not None:  # marking tens of thousands of cells: pure Python, off the loop too
            await asyncio.to_thread(self._mark_and_word, model, notary, trusted)
        return model

    def _mark_and_word(self, model: dict[str, Any], notary: Any, trusted: bool) -> None:
        """In a worker thread: the rest of `mark_trusted_cells` (marking the cells), then
        `validate_notebook_model` with the error `_fill_notebook` left, in
        FileContentsManager's order: an invalid part's JSON in the message (the whole
        notebook at worst) shows its cells' trust flags."""
        notary.mark_cells(model["content"], trusted)
        if _VALIDATION in model:
            self.validate_notebook_model(model, model.pop(_VALIDATION))  # type: ignore[attr-defined]

    async def _serialize_async(self, model: dict[str, Any], path: str) -> tuple[bytes, dict[str, Any]]:
        """`_serialize`, with a notebook's signing, validation and JSON in a worker thread,
        and a large file's base64 decoded there too."""
        if model["type"] != "notebook":
            content = model.get("content")
            if isinstance(content, str) and len(content) >= _OFF_LOOP_BYTES:
                return await asyncio.to_thread(self._serialize, model, path)
            return self._serialize(model, path)
        notary = self._off_loop(_OFF_LOOP_BYTES)
        if notary is None:
            # A subclass's own `check_and_sign` runs on the loop, as jupyter_server runs
            # it; nbformat's validation and JSON still run in the worker thread.
            nb, _ = self._signed_notebook(model, path, lambda nb: self.check_and_sign(nb, path))  # type: ignore[attr-defined]
            return await asyncio.to_thread(self._written_notebook_off_loop, nb, path)
        data, validation_error, signature, trusted = await asyncio.to_thread(
            self._serialize_notebook_off_loop, model, path, notary
        )
        self._store_signature(notary, signature, trusted, path)
        return data, validation_error

    async def _after_save_async(self, saved: dict[str, Any], path: str) -> dict[str, Any]:
        """`_after_save`, with the post-save hooks in a worker thread: they often read or
        write the store (through `fs`, whose calls block until the store answers), and the
        event loop must keep serving meanwhile."""
        if self.post_save_hook is not None or self._post_save_hooks:  # type: ignore[attr-defined]
            await asyncio.to_thread(self.run_post_save_hooks, model=saved, os_path=path)
        self.emit(data={"action": "save", "path": path})  # type: ignore[attr-defined]
        return saved

    async def _chunk_data_async(self, model: dict[str, Any], path: str) -> bytes:
        """`_chunk_data`, with a large chunk's base64 decoded in a worker thread."""
        content = model.get("content")
        if isinstance(content, str) and len(content) >= _OFF_LOOP_BYTES:
            return await asyncio.to_thread(self._chunk_data, model, path)
        return self._chunk_data(model, path)

    def _off_loop(self, size: int) -> Any:
        """The notary to hand to work done in a worker thread, or None to stay on the loop.

        nbformat's parsing, validation and signing of a large notebook take seconds of
        pure Python; on the event loop they stall every other request of the server. In a
        worker thread the loop still runs between the GIL's switches (5 ms). The notary's
        signature store is an sqlite connection tied to the thread that opened it, so it
        is opened here, on the loop thread, and only used there (`_look_up_trust`,
        `_store_signature`). Managers that override the trust hooks keep running them
        on the loop, as jupyter_server does."""
        from jupyter_server.services.contents.manager import ContentsManager

        cls = type(self)
        if size < _OFF_LOOP_BYTES:
            return None
        if cls.mark_trusted_cells is not ContentsManager.mark_trusted_cells:  # type: ignore[attr-defined]
            return None
        if cls.check_and_sign is not ContentsManager.check_and_sign:  # type: ignore[attr-defined]
            return None
        notary = self.notary  # type: ignore[attr-defined]
        notary.secret, notary.digestmod  # noqa: B018 (computed here, not in the thread)
        return notary

    def _look_up_trust(self, model: dict[str, Any], notary: Any) -> Optional[bool]:
        """On the loop thread: the first half of what `mark_trusted_cells` does, with the
        signature that `_fill_notebook` computed in the worker thread. Returns whether
        the notebook is trusted (None for a model without a notebook); the caller marks
        the cells (`notary.mark_cells`), which needs no sqlite and can run off the loop."""
        if _SIGNATURE not in model:
            return None
        signature = model.pop(_SIGNATURE)
        trusted = signature is not None and notary.store.check_signature(signature, notary.algorithm)
        if not trusted:
            self.log.warning("Notebook %s is not trusted", model["path"])  # type: ignore[attr-defined]
        return bool(trusted)

    def _serialize_notebook_off_loop(
        self, model: dict[str, Any], path: str, notary: Any
    ) -> tuple[bytes, dict[str, Any], Optional[str], bool]:
        """In a worker thread: `_serialize` of a notebook, with `check_and_sign` split as
        `_look_up_trust` splits the trust check; returns the bytes, the validation error,
        and the signature to store (`_store_signature`) and whether all cells were trusted."""

        def check_cells_and_compute_signature(nb: Any) -> tuple[Optional[str], bool]:
            trusted = notary.check_cells(nb)
            return (notary.compute_signature(nb) if trusted and nb.nbformat >= 3 else None), trusted

        nb, (signature, trusted) = self._signed_notebook(model, path, check_cells_and_compute_signature)
        data, validation_error = self._written_notebook_off_loop(nb, path)
        return data, validation_error, signature, trusted

    def _written_notebook_off_loop(self, nb: Any, path: str) -> tuple[bytes, dict[str, Any]]:
        """In a worker thread: `_written_notebook`, and the message `validate_notebook_model`
        words for its validation error (`_saved_model` takes it from there): the message
        holds the JSON of what is invalid, the whole notebook at worst, too long to write
        on the loop. A manager that overrides `validate_notebook_model` keeps it on the loop."""
        from jupyter_server.services.contents.manager import ContentsManager

        data, validation_error = self._written_notebook(nb, path)
        if validation_error and type(self).validate_notebook_model is ContentsManager.validate_notebook_model:  # type: ignore[attr-defined]
            worded: dict[str, Any] = {}
            self.validate_notebook_model(worded, validation_error=validation_error)  # type: ignore[attr-defined]
            validation_error[_MESSAGE] = worded.get("message")
        return data, validation_error

    def _store_signature(self, notary: Any, signature: Optional[str], trusted: bool, path: str) -> None:
        """On the loop thread: the rest of `check_and_sign` (same warning, same recovery
        from a broken signature store)."""
        if not trusted:
            self.log.warning("Notebook %s is not trusted", path)  # type: ignore[attr-defined]
            return
        if signature is None:
            return
        try:
            notary.store.store_signature(signature, notary.algorithm)
        except Exception:
            self.log.warning(  # type: ignore[attr-defined]
                "Signature store for notebook %s is corrupted or unavailable; recreating the store.",
                path,
                exc_info=True,
            )
            try:
                notary.store = notary.store_factory()
                notary.store.store_signature(signature, notary.algorithm)
            except Exception as e:
                raise self._unexpected_save_error(path, e) from e
