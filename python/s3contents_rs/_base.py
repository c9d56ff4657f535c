"""What the sync and async managers share: models, naming, hooks, saving.

Nothing here waits on the store; the managers call the core and hand its results to
these helpers, so both flavours build byte-identical models. The settings and the store
are in _settings.py, the notebook fast path in _notebooks.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import mimetypes
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional, Union, cast

import nbformat
import nbformat.v4

from ._core import Entry, decode_base64
from ._notebooks import (
    _MESSAGE,
    _SIGNATURE,
    _VALIDATION,
    _looks_like_a_notebook,
    _reads_yielding,
    _text,
    _utf8,
)
from ._settings import StoreSettings
from .exceptions import HTTPError, http_error

if TYPE_CHECKING:
    from ._core import Encoding


class StoreContentsMixin(StoreSettings):
    """Models, naming and hooks of the object-store contents managers."""

    # -- paths and hidden files -----------------------------------------------------

    def _hidden(self, path: str) -> bool:
        # "." and ".." are not hidden names but invalid ones: the core answers those with 400.
        return any(part.startswith(".") and part not in (".", "..") for part in path.split("/"))

    def _refuse_hidden_read(self, path: str) -> None:
        if not self.allow_hidden and self._hidden(path):  # type: ignore[attr-defined]
            self.log.info("Refusing to serve hidden file or directory %r, via 404 Error", path)  # type: ignore[attr-defined]
            raise http_error(404, f"file or directory does not exist: {path!r}")

    def _refuse_hidden_write(self, path: str, action: str = "create file or directory") -> None:
        if not self.allow_hidden and self._hidden(path):  # type: ignore[attr-defined]
            raise http_error(400, f"Cannot {action} {path!r}")

    def _listed(self, entry: Entry) -> bool:
        if not self.should_list(entry.name):  # type: ignore[attr-defined]
            return False
        return self.allow_hidden or not entry.name.startswith(".")  # type: ignore[attr-defined]

    # -- models ----------------------------------------------------------------------

    @staticmethod
    def _model_type(path: str, kind: str, requested: Optional[str]) -> str:
        """The model type for an entry, or a 400 when `requested` contradicts it."""
        if kind == "directory":
            if requested not in (None, "directory"):
                raise http_error(400, f"{path} is a directory, not a {requested}", reason="bad type")
            return "directory"
        if requested == "directory":
            raise http_error(400, f"{path} is not a directory", reason="bad type")
        if requested == "notebook" or (requested is None and path.endswith(".ipynb")):
            return "notebook"
        return "file"

    def _base_model(self, entry: Entry, model_type: str) -> dict[str, Any]:
        """The model `get(content=False)` returns; `save` returns the same."""
        return {
            "name": entry.name,
            "path": entry.path,
            "type": model_type,
            "last_modified": entry.last_modified,
            "created": entry.last_modified,
            "content": None,
            "format": None,
            "mimetype": mimetypes.guess_type(entry.path)[0] if model_type == "file" else None,
            "size": entry.size,
            "writable": not self._read_only_at(entry.path),
            "hash": None,
            "hash_algorithm": None,
        }

    def _read_only_at(self, path: str) -> bool:
        """Whether ``path`` cannot be changed (with ``mounts``, each mount says)."""
        read_only_at = getattr(self._store, "read_only_at", None)
        return self.read_only if read_only_at is None else bool(read_only_at(path))

    @staticmethod
    def _content_encoding(
        path: str, requested_type: Optional[str], format: Optional[str], content: bool, require_hash: bool
    ) -> Optional[Encoding]:
        """How the core should hand over a file's content: the model's final text or
        base64 is produced in Rust while reading, so large files are not copied again
        here. Hashing needs the raw bytes."""
        if require_hash:
            return "bytes"
        if not content:
            return None
        if requested_type == "notebook" or (requested_type is None and path.endswith(".ipynb")):
            return "bytes"  # parsed from UTF-8 bytes: no Python str of the whole text
        return "text" if format == "text" else "base64" if format == "base64" else "auto"

    def _build_model(
        self,
        fetched: tuple[Entry, Optional[Union[str, bytes]], Optional[str], Optional[list[Entry]]],
        requested_type: Optional[str],
        format: Optional[str],
        content: bool,
        require_hash: bool,
        notary: Any = None,
    ) -> dict[str, Any]:
        """The model for what the core fetched. With `notary`, this runs off the event loop
        (see `_off_loop`): a notebook's trust signature is computed but not looked up, and
        `_look_up_trust` must be called on the loop thread with the returned model, then
        `_mark_and_word` (which marks the cells and words the validation message)."""
        entry, data, data_format, children = fetched
        model_type = self._model_type(entry.path, entry.kind, requested_type)
        model = self._base_model(entry, model_type)
        if model_type == "directory":
            if content:
                model["content"] = [
                    self._base_model(child, self._model_type(child.path, child.kind, None))
                    for child in children or []
                    if self._listed(child)
                ]
                model["format"] = "json"
            return model
        if content and data is not None:
            if model_type == "notebook":
                self._fill_notebook(model, data, notary)
            elif data_format == "bytes":
                self._fill_file(model, cast(bytes, data), format)
            else:
                self._fill_encoded_file(model, cast(str, data), cast(str, data_format), format)
        if require_hash and isinstance(data, bytes):
            model["hash"] = hashlib.new(self.hash_algorithm, data).hexdigest()
            model["hash_algorithm"] = self.hash_algorithm
        return model

    def _fill_notebook(self, model: dict[str, Any], data: Union[str, bytes], notary: Any = None) -> None:
        validation_error: dict[str, Any] = {}
        try:
            if notary is None:
                nb = nbformat.reads(_text(data), as_version=4, capture_validation_error=validation_error)
            else:  # off the loop: the parse must not hold the GIL for long
                nb = _reads_yielding(data, validation_error)
        except Exception as e:
            raise http_error(400, f"Unreadable Notebook: {model['path']} {e!r}") from e
        if notary is None:
            self.mark_trusted_cells(nb, model["path"])  # type: ignore[attr-defined]
        else:
            # NotebookNotary.check_signature in two halves: the HMAC over the whole
            # notebook here, the lookup in the notary's sqlite store (whose connection
            # belongs to the loop thread) in `_look_up_trust`.
            model[_SIGNATURE] = notary.compute_signature(nb) if nb.nbformat >= 3 else None
        model["content"] = nb
        model["format"] = "json"
        if notary is None:
            self.validate_notebook_model(model, validation_error)  # type: ignore[attr-defined]
        else:
            # Worded once the cells are marked (`_mark_and_word`), as FileContentsManager
            # words it: the message shows the invalid part with its cells' trust flags.
            model[_VALIDATION] = validation_error

    def _notebook_bytes(
        self, model: dict[str, Any], path: str, sign: Callable[[Any], Any]
    ) -> tuple[bytes, dict[str, Any], Any]:
        """The bytes to store for a notebook model, its validation error, and what
        `sign(nb)` returned: the signing step (`check_and_sign`, or its off-loop half)
        runs between nbformat's conversion and its writing."""
        nb, signed = self._signed_notebook(model, path, sign)
        data, validation_error = self._written_notebook(nb, path)
        return data, validation_error, signed

    def _signed_notebook(self, model: dict[str, Any], path: str, sign: Callable[[Any], Any]) -> tuple[Any, Any]:
        """nbformat's conversion of a notebook model, and what `sign(nb)` returned."""
        try:
            nb = nbformat.from_dict(model["content"])
        except Exception as e:
            raise http_error(400, f"Invalid notebook content for {path}: {e}") from e
        try:
            signed = sign(nb)
        except HTTPError:
            raise
        except UnicodeEncodeError as e:  # lone surrogates in the content: the user's
            raise http_error(400, f"Encoding error saving {path}: {e}") from e
        except Exception as e:
            # Signing fails on content that is no notebook (the user's: 400), or when
            # the notary's signature store fails (not the user's: 500).
            if not _looks_like_a_notebook(nb):
                raise http_error(400, f"Invalid notebook content for {path}: {e}") from e
            try:
                nbformat.writes(nb, version=nbformat.NO_CONVERT)
            except Exception as invalid:
                raise http_error(400, f"Invalid notebook content for {path}: {invalid}") from invalid
            raise self._unexpected_save_error(path, e) from e
        return nb, signed

    def _written_notebook(self, nb: Any, path: str) -> tuple[bytes, dict[str, Any]]:
        """The bytes of a notebook and its validation error: `nbformat.writes`, which
        validates with nbformat's validator (fastjsonschema unless NBFORMAT_VALIDATOR
        says otherwise; its errors are re-checked with jsonschema, whose error is reported)."""
        validation_error: dict[str, Any] = {}
        try:
            text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error)
        except Exception as e:
            raise http_error(400, f"Invalid notebook content for {path}: {e}") from e
        if not text.endswith("\n"):
            text += "\n"
        return _utf8(text, path), validation_error

    def _unexpected_save_error(self, path: str, error: Exception) -> HTTPError:
        """FileContentsManager's answer to an error that is not the user's: logged, 500."""
        self.log.error("Error while saving file: %s %s", path, error, exc_info=True)  # type: ignore[attr-defined]
        return http_error(500, f"Unexpected error while saving file: {path} {error}")

    @staticmethod
    def _check_format(format: Optional[str]) -> None:
        if format not in (None, "text", "base64"):
            raise http_error(400, f"Format must be one of 'text' or 'base64', not {format!r}", reason="bad format")

    @classmethod
    def _fill_encoded_file(cls, model: dict[str, Any], data: str, data_format: str, format: Optional[str]) -> None:
        """A file whose text or base64 the core produced."""
        cls._check_format(format)
        model["content"], model["format"] = data, data_format
        if model["mimetype"] is None:
            model["mimetype"] = "text/plain" if data_format == "text" else "application/octet-stream"

    @classmethod
    def _fill_file(cls, model: dict[str, Any], data: bytes, format: Optional[str]) -> None:
        cls._check_format(format)
        if format != "base64":
            try:
                model["content"], model["format"] = data.decode("utf-8"), "text"
            except UnicodeDecodeError as e:
                if format == "text":
                    raise http_error(400, f"{model['path']} is not UTF-8 encoded", reason="bad format") from e
        if model["format"] is None:
            model["content"] = base64.b64encode(data).decode("ascii")
            model["format"] = "base64"
        if model["mimetype"] is None:
            model["mimetype"] = "text/plain" if model["format"] == "text" else "application/octet-stream"

    # -- saving ----------------------------------------------------------------------

    def _check_save_model(self, model: dict[str, Any], path: str) -> None:
        if "type" not in model:
            raise http_error(400, "No file type provided")
        if "content" not in model and model["type"] != "directory":
            raise http_error(400, "No file content provided")
        if model["type"] not in ("notebook", "file", "directory"):
            raise http_error(400, f"Unhandled contents type: {model['type']}")
        if not path:
            raise http_error(400, "Cannot save over the root directory")
        self._refuse_hidden_write(path)

    def _serialize(self, model: dict[str, Any], path: str) -> tuple[bytes, dict[str, Any]]:
        """Bytes to store for a file or notebook model, plus any notebook validation error."""
        if model["type"] == "notebook":
            data, validation_error, _ = self._notebook_bytes(
                model,
                path,
                lambda nb: self.check_and_sign(nb, path),  # type: ignore[attr-defined]
            )
            return data, validation_error
        validation_error = {}
        content, fmt = model["content"], model.get("format")
        if fmt == "text":
            if not isinstance(content, str):
                raise http_error(400, f"Text content for {path} must be a string")
            return _utf8(content, path), validation_error
        if fmt == "base64":
            # Canonical base64 (what JupyterLab sends) is decoded in Rust, without the GIL;
            # anything else the lenient way below, which also words the errors.
            if isinstance(content, str) and (decoded := decode_base64(content)) is not None:
                return decoded, validation_error
            try:
                # Line breaks are allowed (as decodebytes allows them); anything else
                # outside the alphabet is an error rather than silently dropped.
                compact = "".join(content.split()).encode("ascii")
                return base64.b64decode(compact, validate=True), validation_error
            except (binascii.Error, UnicodeEncodeError, AttributeError) as e:
                raise http_error(400, f"Encoding error saving {path}: content is not valid base64") from e
        raise http_error(400, "Must specify format of file contents as 'text' or 'base64'")

    def _chunk_data(self, model: dict[str, Any], path: str) -> bytes:
        """Validate one chunk of a chunked upload and decode its bytes: LargeFileManager's
        checks, in its order and with its messages; text chunks are UTF-8 encoded."""
        chunk = model.get("chunk")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or (chunk < 1 and chunk != -1):
            raise http_error(400, f"Invalid chunk number {chunk!r}: expected 1, 2, ... or -1 for the last")
        if "type" not in model:
            raise http_error(400, "No file type provided")
        if model["type"] != "file":
            raise http_error(400, f'File type "{model["type"]}" is not supported for large file transfer')
        if "content" not in model:
            raise http_error(400, "No file content provided")
        if model.get("format") not in ("text", "base64"):
            raise http_error(400, "Must specify format of file contents as 'text' or 'base64'")
        if not path:
            raise http_error(400, "Cannot save over the root directory")
        self._refuse_hidden_write(path)
        data, _ = self._serialize(model, path)
        return data

    def _upload_progress_model(self, path: str, received: int) -> dict[str, Any]:
        """What LargeFileManager answers for an intermediate chunk: the file so far."""
        now = datetime.now(timezone.utc)
        return {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "type": "file",
            "last_modified": now,
            "created": now,
            "content": None,
            "format": None,
            "mimetype": mimetypes.guess_type(path)[0],
            "size": received,
            "writable": not self._read_only_at(path),
            "hash": None,
            "hash_algorithm": None,
        }

    def _saved_model(self, entry: Entry, model: dict[str, Any], validation_error: dict[str, Any]) -> dict[str, Any]:
        message = None
        if model["type"] == "notebook":
            if _MESSAGE in validation_error:  # already worded in the worker thread
                message = validation_error[_MESSAGE]
                if message:
                    model["message"] = message
            else:
                self.validate_notebook_model(model, validation_error=validation_error)  # type: ignore[attr-defined]
                message = model.get("message")
        saved = self._base_model(entry, self._model_type(entry.path, entry.kind, model["type"]))
        if message:
            saved["message"] = message
        return saved

    def _after_save(self, saved: dict[str, Any], path: str) -> dict[str, Any]:
        """Post-save hooks and the `save` event, once the object is in the store."""
        self.run_post_save_hooks(model=saved, os_path=path)
        self.emit(data={"action": "save", "path": path})  # type: ignore[attr-defined]
        return saved

    def run_post_save_hooks(self, model: dict[str, Any], os_path: str) -> None:
        """Call hooks as s3contents does: ``hook(model=, s3_path=, contents_manager=)``.

        ``s3_path`` is the API path (bucket and prefix excluded), usable with ``fs.read``.
        Hooks registered with ``register_post_save_hook`` get the same arguments.
        """
        hooks = [self.post_save_hook] if self.post_save_hook is not None else []  # type: ignore[attr-defined]
        hooks += self._post_save_hooks  # type: ignore[attr-defined]
        for hook in hooks:
            try:
                self.log.debug("Running post-save hook on %s", os_path)  # type: ignore[attr-defined]
                hook(model=model, s3_path=os_path, contents_manager=self)
            except Exception as e:
                self.log.error(  # type: ignore[attr-defined]
                    "Post-save hook %s failed on %s", getattr(hook, "__name__", hook), os_path, exc_info=True
                )
                raise http_error(500, f"Unexpected error while running post hook save: {e}") from e

    # -- creating --------------------------------------------------------------------

    def _untitled(self, type: str, ext: str) -> tuple[dict[str, Any], str, str]:
        """ContentsManager.new_untitled's model, file name to increment, and insert."""
        model: dict[str, Any] = {"type": type} if type else {}
        model.setdefault("type", "notebook" if ext == ".ipynb" else "file")
        if model["type"] == "directory":
            return model, self.untitled_directory + ext, " "  # type: ignore[attr-defined]
        if model["type"] == "notebook":
            return model, self.untitled_notebook + ".ipynb", ""  # type: ignore[attr-defined]
        if model["type"] == "file":
            return model, self.untitled_file + ext, ""  # type: ignore[attr-defined]
        raise http_error(400, f"Unexpected model type: {model['type']!r}")

    @staticmethod
    def _new_model(model: Optional[dict[str, Any]], path: str) -> dict[str, Any]:
        """ContentsManager.new's model: an empty notebook, text file or directory."""
        model = dict(model or {})
        model.setdefault("type", "notebook" if path.endswith(".ipynb") else "file")
        if "content" not in model and model["type"] != "directory":
            if model["type"] == "notebook":
                model["content"], model["format"] = nbformat.v4.new_notebook(), "json"
            else:
                model["content"], model["type"], model["format"] = "", "file", "text"
        return model

    def _store_checkpoints(self) -> bool:
        """True when checkpoints are ours, unmodified: a save may then make a notebook's
        first checkpoint straight in the store, without the HEAD for its timestamp."""
        from .async_contents import AsyncObjectStoreCheckpoints
        from .contents import ObjectStoreCheckpoints

        checkpoints = self.checkpoints  # type: ignore[attr-defined]
        return any(
            isinstance(checkpoints, base) and type(checkpoints).create_checkpoint is base.create_checkpoint
            for base in (ObjectStoreCheckpoints, AsyncObjectStoreCheckpoints)
        )

    def _log_trashed(self, path: str, trashed: str) -> None:
        self.log.info("Moved %s to the trash: %s", path, trashed)  # type: ignore[attr-defined]

    # -- naming ----------------------------------------------------------------------

    @staticmethod
    def _first_free_name(taken: set[str], filename: str, insert: str = "") -> str:
        """ContentsManager.increment_filename, against one listing of the directory."""
        basename, dot, ext = filename.rpartition(".")
        if ext != "ipynb":
            basename, dot, ext = filename.partition(".")
        suffix = dot + ext
        candidates = (f"{basename}{f'{insert}{i}' if i else ''}{suffix}" for i in itertools.count())
        return next(name for name in candidates if name not in taken)

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        parent, _, name = path.rpartition("/")
        return parent, name

    def get_kernel_path(self, path: str, model: Optional[dict[str, Any]] = None) -> str:
        # Kernels run on local disk; the bucket path has no meaning there.
        return ""
