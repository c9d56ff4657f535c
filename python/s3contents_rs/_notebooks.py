"""The notebook fast path: reading a notebook with the core's JSON parser, which gives
exactly what ``json.loads`` gives while letting the event loop run, and the small helpers
of notebook and text bytes that the managers share."""

from __future__ import annotations

import json
from typing import Any, Union

import nbformat
import nbformat.v4
from nbformat.v4.rwbase import rejoin_lines, strip_transient
from traitlets.log import get_logger

from ._core import loads_yielding
from .exceptions import http_error


class _YieldingDecoder(json.JSONDecoder):
    """For nbformat's `json.loads(text, cls=...)` in a worker thread: the core's parser,
    which releases the GIL while it works (`json.loads` holds it for 0.3 s per 50 MB,
    stopping the event loop) and gives exactly what `json.loads` gives (it hands the
    rare text it does not read itself, and invalid JSON, to `json.loads`)."""

    def decode(self, s: str, *args: Any) -> Any:
        return loads_yielding(s)


def _reads_yielding(data: Union[str, bytes], validation_error: dict[str, Any]) -> Any:
    """`nbformat.reads(data, as_version=4, capture_validation_error=validation_error)`,
    for a worker thread. A v4 notebook (all that Jupyter writes today) is built by the
    core directly as NotebookNodes, untracked by the cyclic garbage collector, in slices
    that let the event loop run: nbformat's `from_dict` copy of the whole tree, and the
    collector's full passes over it (0.1 s and more each, GIL held), do not happen.
    Then the rest of what nbformat's v4 reader and `reads` do: joining multi-line
    strings, dropping transient fields, validating."""
    try:
        nb = loads_yielding(data, nbformat.NotebookNode)
    except ValueError:  # invalid JSON: nbformat's own error for it
        return nbformat.reads(_text(data), as_version=4, capture_validation_error=validation_error)
    major, _ = nbformat.reader.get_version(nb)
    if major != 4:  # older formats go through nbformat's converters
        return nbformat.reads(
            _text(data),
            as_version=4,
            capture_validation_error=validation_error,
            cls=_YieldingDecoder,
        )
    try:
        nb = strip_transient(rejoin_lines(nb))
    except AttributeError as e:  # as nbformat.reader.reads words it
        raise nbformat.ValidationError(f"The notebook is invalid and is missing an expected key: {e}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        get_logger().error("Notebook JSON is invalid: %s", e)  # as nbformat.reads logs it
        validation_error["ValidationError"] = e
    return nb


def _looks_like_a_notebook(nb: Any) -> bool:
    """What signing needs of a notebook (v4 cells or v3 worksheets, and a version)."""
    return (
        isinstance(nb, dict)
        and isinstance(nb.get("nbformat"), int)
        and isinstance(nb.get("cells", nb.get("worksheets")), list)
    )


def _utf8(text: str, path: str) -> bytes:
    """UTF-8 of text to store; lone surrogates cannot be stored: 400, as FileContentsManager."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise http_error(400, f"Encoding error saving {path}: {e}") from e


def _text(data: Union[str, bytes]) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


# Where _fill_notebook leaves a signature for _look_up_trust (never returned to a client).
_SIGNATURE = "__s3contents_rs_signature"
# Where _fill_notebook leaves a validation error for _mark_and_word (never returned either).
_VALIDATION = "__s3contents_rs_validation"
# Where the async manager leaves a save's validation message, worded in its worker thread
# (it holds the JSON of the invalid part, the whole notebook at worst), for _saved_model.
_MESSAGE = "__s3contents_rs_message"
