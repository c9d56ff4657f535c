"""Notebook validation: nbformat's fastjsonschema validator (its default since nbformat 5.3;
since 5.7 an error it finds is looked up again with jsonschema, whose error is the one
reported) gives exactly what the jsonschema validator gives, on get and on save, and what
jupyter_server's FileContentsManager gives; it is the validator our managers use; and the
async manager validates and writes a saved notebook in a worker thread.

The validator is chosen here as an admin would, with NBFORMAT_VALIDATOR (nbformat's only
switch for `reads`, `writes` and `validate`), for the length of one comparison.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import threading
import warnings
from unittest import mock

import nbformat
import nbformat.v4.convert
import nbformat.validator
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_server.services.contents.filemanager import FileContentsManager
from jupyter_server.services.contents.manager import ContentsManager
from nbformat.json_compat import FastJsonSchemaValidator, JsonSchemaValidator, get_current_validator
from tornado.web import HTTPError

from s3contents_rs._notebooks import _reads_yielding
from support.contents_helpers import make_nb, nb_bytes, nb_model
from support.s3c_helpers import manager_classes

VALIDATORS = ("fastjsonschema", "jsonschema")

# -- notebooks: valid ones, and ones broken in varied ways ------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=8) | st.sampled_from(["", "a\n", "x,y", "ok", "\n"])
SCALARS = st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from([1.0, 0.5, -1.5]) | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
MULTILINE = TEXT | st.lists(TEXT, max_size=3)
CELL_IDS = st.from_regex(r"\A[a-zA-Z0-9_-]{1,12}\Z") | st.sampled_from(["", "a\n", "a b", "x" * 65, "ok"])
MIME = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "image/png",
        "application/json",
        "application/vnd.x+json",
        "text/x\n",
        "application/json\n",
    ]
)
MIMEBUNDLE = st.dictionaries(MIME, MULTILINE | JSON, max_size=3)


def _dict(required: dict, optional: dict) -> st.SearchStrategy:
    return st.fixed_dictionaries(required, optional=optional)


OUTPUTS = st.one_of(
    _dict({"output_type": st.just("stream"), "name": st.sampled_from(["stdout", "stderr"]), "text": MULTILINE}, {}),
    _dict(
        {"output_type": st.just("display_data"), "data": MIMEBUNDLE, "metadata": st.just({})},
        {"transient": st.just({"display_id": "d"})},
    ),
    _dict(
        {
            "output_type": st.just("execute_result"),
            "data": MIMEBUNDLE,
            "metadata": st.just({}),
            "execution_count": st.none() | st.integers(0, 9),
        },
        {},
    ),
    _dict(
        {"output_type": st.just("error"), "ename": TEXT, "evalue": TEXT, "traceback": st.lists(TEXT, max_size=2)}, {}
    ),
)
CELL_METADATA = _dict(
    {},
    {
        "tags": st.lists(TEXT, max_size=3),
        "name": TEXT,
        "collapsed": st.booleans(),
        "scrolled": st.booleans() | st.just("auto"),
        "jupyter": _dict({}, {"source_hidden": st.booleans(), "outputs_hidden": st.booleans()}),
        "editable": st.booleans(),
        "format": TEXT,
    },
)


def cells(minor: int) -> st.SearchStrategy:
    base = {"metadata": CELL_METADATA, "source": MULTILINE}
    optional = {"id": CELL_IDS} if minor >= 5 else {}
    return st.one_of(
        _dict(
            {"cell_type": st.just("markdown"), **base},
            {**optional, "attachments": st.just({"a.png": {"image/png": "AA=="}})},
        ),
        _dict({"cell_type": st.just("raw"), **base}, optional),
        _dict(
            {
                "cell_type": st.just("code"),
                **base,
                "outputs": st.lists(OUTPUTS, max_size=3),
                "execution_count": st.none() | st.integers(0, 9),
            },
            optional,
        ),
    )


@st.composite
def valid_ish_notebooks(draw) -> dict:
    """nbformat 4.0 to 4.5 notebooks (and a few from the future), of every cell and output
    type; most are valid, some not (a name or tag the schema refuses, an id missing or bad)."""
    minor = draw(st.integers(0, 5) | st.just(6))
    metadata = draw(
        _dict(
            {},
            {
                "kernelspec": st.just({"name": "python3", "display_name": "Python 3"}),
                "language_info": st.just({"name": "python"}),
                "title": TEXT,
            },
        )
    )
    return {
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": metadata,
        "cells": draw(st.lists(cells(minor), max_size=4)),
    }


def _containers(node, path=()):
    yield path, node
    children = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in children:
        if isinstance(child, (dict, list)):
            yield from _containers(child, (*path, key))


KEYS = st.sampled_from(
    ["id", "cell_type", "output_type", "source", "metadata", "outputs", "execution_count", "data", "text", "name"]
)
ODD_VALUES = JSON | st.sampled_from(["markdown", "code", "raw", "heading", "stream", "display_data", "pyout", -1, 5])


@st.composite
def notebooks(draw) -> dict:
    """A notebook, then up to three breakages anywhere in it: a value of the wrong type or
    an unknown cell or output type, a key missing, a key the schema does not allow."""
    nb = copy.deepcopy(draw(valid_ish_notebooks()))  # st.just's values are shared between examples
    for _ in range(draw(st.integers(0, 3))):
        path, node = draw(st.sampled_from(list(_containers(nb))))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(node, list):
            if not node or action == "add":
                node.append(draw(ODD_VALUES))
            elif action == "delete":
                del node[draw(st.integers(0, len(node) - 1))]
            else:
                node[draw(st.integers(0, len(node) - 1))] = draw(ODD_VALUES)
        elif action == "add" or not node:
            node[draw(KEYS | TEXT)] = draw(ODD_VALUES)
        else:
            key = draw(st.sampled_from(sorted(node)))
            if action == "delete":
                del node[key]
            else:
                node[key] = draw(ODD_VALUES)
    return nb


# -- what a user sees -------------------------------------------------------------------


@contextlib.contextmanager
def validating_with(name: str):
    """nbformat's validator chosen as an admin chooses it, and the ids nbformat makes up
    for cells without one (validating, upgrading) numbered rather than random, so that two
    runs compare equal."""
    counter = itertools.count()
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, {"NBFORMAT_VALIDATOR": name}))
        for module, attr in ((nbformat.validator, "generate_corpus_id"), (nbformat.v4.convert, "random_cell_id")):
            stack.enter_context(mock.patch.object(module, attr, lambda: f"made-{next(counter)}"))
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")  # nbformat's MissingIDFieldWarning, DuplicateCellId
        yield


def _message(validation_error: dict) -> str | None:
    worded: dict = {}
    ContentsManager.validate_notebook_model(None, worded, validation_error)  # does not use self
    return worded.get("message")


def validation_seen(manager, nb: dict) -> list:
    """Our validation of `nb`: read from its JSON (both readers the managers use) and
    written on save, each with the message the user gets or the error raised."""
    seen: list = []
    data = json.dumps(nb).encode()
    for reader in ("nbformat.reads", "_reads_yielding"):
        validation_error: dict = {}
        try:
            if reader == "nbformat.reads":
                read = nbformat.reads(data.decode(), as_version=4, capture_validation_error=validation_error)
            else:
                read = _reads_yielding(data, validation_error)
            seen.append((reader, _message(validation_error), json.dumps(read, sort_keys=True)))
        except Exception as e:  # noqa: BLE001 (any error the reader raises is compared)
            seen.append((reader, "raised", repr(e)))
    try:
        stored, validation_error, _ = manager._notebook_bytes(
            {"content": copy.deepcopy(nb)}, "n.ipynb", lambda nb: None
        )
        seen.append(("save", _message(validation_error), stored))
    except HTTPError as e:
        seen.append(("save", e.status_code, e.log_message))
    return seen


@pytest.fixture
def plain_manager(manager_kwargs):
    """A sync manager on the test bucket, for its validation helpers (no requests)."""
    return manager_classes()["sync"](**manager_kwargs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nb=notebooks())
def test_fastjsonschema_gives_what_jsonschema_gives(plain_manager, nb):
    seen = {}
    for name in VALIDATORS:
        with validating_with(name):
            seen[name] = validation_seen(plain_manager, nb)
    assert seen["fastjsonschema"] == seen["jsonschema"]


def test_the_generated_notebooks_are_valid_and_invalid_in_varied_ways(plain_manager):
    """The property above sees both outcomes and many kinds of error, not one."""
    kinds: set[str] = set()
    valid = 0

    @settings(max_examples=300, deadline=None, database=None)
    @given(nb=notebooks())
    def collect(nb):
        nonlocal valid
        with validating_with("jsonschema"):
            [*_, (_, message, _)] = validation_seen(plain_manager, nb)
        if message is None:
            valid += 1
        elif isinstance(message, str):
            kinds.add(message.split("\n")[0][:40])

    collect()
    assert valid >= 20 and len(kinds) >= 8, (valid, kinds)


# -- through the managers: ours on either validator, and FileContentsManager --------------


def _save(manager, nb: dict, path: str):
    try:
        return ("saved", manager.save(nb_model(copy.deepcopy(nb)), path).get("message"))
    except HTTPError as e:
        return ("refused", e.status_code)
    except Exception as e:  # noqa: BLE001 (what jupyter_server's handler would answer 500 to)
        return ("refused", 500, repr(e))


def _get(manager, path: str, shown_path: str):
    try:
        return ("got", manager.get(path).get("message"))
    except HTTPError as e:
        # FileContentsManager names the file by its path on disk, ours by its API path.
        return ("refused", e.status_code, e.log_message.replace(shown_path, "<path>"))
    except Exception as e:  # noqa: BLE001 (a cell without a type fails trust marking, for both)
        return ("raised", repr(e))


@pytest.fixture
def file_cm(tmp_path):
    root = tmp_path / "fcm"
    root.mkdir()
    return FileContentsManager(root_dir=str(root))


_example = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nb=notebooks())
def test_saves_and_gets_report_what_filecontentsmanager_reports(cm, raw, file_cm, nb):
    """Ours (sync and async, on the local S3 server) under either validator, and
    FileContentsManager under nbformat's default, give the same messages on save and on
    get, and refuse the same notebooks."""
    i = next(_example)
    data = json.dumps(nb).encode()
    results = {}
    for name in VALIDATORS:
        with validating_with(name):
            raw.put(f"{name}-{i}.ipynb", data)
            results[name] = (
                _save(cm, nb, f"{name}-saved-{i}.ipynb"),
                _get(cm, f"{name}-{i}.ipynb", f"{name}-{i}.ipynb"),
            )
    with validating_with("fastjsonschema"):
        on_disk = os.path.join(file_cm.root_dir, f"disk-{i}.ipynb")
        with open(on_disk, "wb") as f:
            f.write(data)
        theirs = (_save(file_cm, nb, f"saved-{i}.ipynb"), _get(file_cm, f"disk-{i}.ipynb", on_disk))
    assert results["fastjsonschema"] == results["jsonschema"]
    (saved, got), (their_saved, their_got) = results["fastjsonschema"], theirs
    assert got == their_got
    if their_saved[0] == "saved":
        assert saved == their_saved
    else:
        # Content that is no notebook: FileContentsManager answers 500 (its catch-all),
        # ours 400 (the content is the user's); either refuses it.
        assert saved[0] == "refused"


def test_an_invalid_notebook_saves_with_filecontentsmanagers_message(cm, raw, file_cm):
    """The message of an invalid notebook's save and get, small and large (the async
    manager words a large one's message in its worker thread)."""
    small = make_nb()
    small.cells[1]["bogus_property"] = 1
    large = make_nb()
    large.cells[0]["source"] = "x" * (200 * 1024)
    large["bogus"] = 1  # the error's instance is the whole notebook
    for name, nb in (("small", small), ("large", large)):
        ours = cm.save(nb_model(nb), f"{name}.ipynb")
        theirs = file_cm.save(nb_model(nb), f"{name}.ipynb")
        assert ours["message"].startswith("Notebook validation failed"), ours
        assert ours["message"] == theirs["message"]
        assert cm.get(f"{name}.ipynb")["message"] == file_cm.get(f"{name}.ipynb")["message"]
        assert raw.read(f"{name}.ipynb") == open(os.path.join(file_cm.root_dir, f"{name}.ipynb"), "rb").read()


# -- which validator, and where -----------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch):
    """Every validation of a whole notebook, as (validator, thread), and the thread of each
    `nbformat.writes` (the notebook's JSON)."""
    calls: list[tuple[str, threading.Thread]] = []
    for cls in (FastJsonSchemaValidator, JsonSchemaValidator):
        original = cls.__dict__["iter_errors"]

        def iter_errors(self, data, schema=None, _original=original):
            if schema is None and isinstance(data, dict) and "cells" in data:
                calls.append((self.name, threading.current_thread()))
            return _original(self, data, schema)

        monkeypatch.setattr(cls, "iter_errors", iter_errors)
    real_writes = nbformat.writes

    def writes(*args, **kwargs):
        calls.append(("writes", threading.current_thread()))
        return real_writes(*args, **kwargs)

    monkeypatch.setattr(nbformat, "writes", writes)
    return calls


def _loop_thread(cm):
    async def current():
        return threading.current_thread()

    return cm.run(current())


def test_fastjsonschema_is_the_validator_used(cm, raw, recorded, monkeypatch):
    monkeypatch.delenv("NBFORMAT_VALIDATOR", raising=False)
    assert get_current_validator() is FastJsonSchemaValidator
    big = make_nb()
    big.cells[1]["source"] = "x" * (200 * 1024)  # read and written in a worker thread by the async manager
    notebooks = [(make_nb(), "small.ipynb"), (big, "big.ipynb")]
    for nb, path in notebooks:
        raw.put("read-" + path, nb_bytes(nb))
    invalid = make_nb()
    invalid.cells[1]["bogus_property"] = 1
    recorded.clear()  # making the notebooks validated them too
    for nb, path in notebooks:
        cm.save(nb_model(nb), path)
        cm.get("read-" + path)
    validators = [name for name, _ in recorded if name != "writes"]
    assert validators == ["fastjsonschema"] * 4, validators

    # An invalid notebook: fastjsonschema finds it, jsonschema words the error.
    recorded.clear()
    assert "bogus_property" in cm.save(nb_model(invalid), "invalid.ipynb")["message"]
    assert [name for name, _ in recorded if name != "writes"] == ["fastjsonschema", "jsonschema"]


def test_saved_notebooks_are_validated_and_written_off_the_loop(cm, raw, recorded, monkeypatch):
    """In the async manager, a notebook save's validation, JSON and validation message
    run in a worker thread, also when a subclass checks and signs on the loop."""
    if not cm.is_async:
        pytest.skip("the blocking manager runs in its caller's thread")
    loop = _loop_thread(cm)
    worded = []
    real_validate_notebook_model = ContentsManager.validate_notebook_model

    def validate_notebook_model(self, model, validation_error=None):
        if validation_error:  # a valid notebook's empty error costs nothing to word
            worded.append(threading.current_thread())
        return real_validate_notebook_model(self, model, validation_error)

    monkeypatch.setattr(ContentsManager, "validate_notebook_model", validate_notebook_model)
    valid, invalid, again = make_nb(), make_nb(), make_nb()
    invalid["bogus"] = 1
    recorded.clear()  # making the notebooks validated them, on this thread
    cm.save(nb_model(valid), "valid.ipynb")
    assert "Notebook validation failed" in cm.save(nb_model(invalid), "invalid.ipynb")["message"]
    assert len(recorded) == 5 and all(thread is not loop for _, thread in recorded), recorded
    assert worded and all(thread is not loop for thread in worded), worded

    # A subclass's own check_and_sign stays on the loop; the rest does not.
    recorded.clear()
    signed = []
    monkeypatch.setattr(
        type(cm.raw), "check_and_sign", lambda self, nb, path="": signed.append(threading.current_thread())
    )
    cm.save(nb_model(again), "again.ipynb")
    assert signed == [loop]
    assert len(recorded) == 2 and all(thread is not loop for _, thread in recorded), recorded
