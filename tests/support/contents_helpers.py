"""Models and notebooks the Contents API suite (test_contents_*.py) saves and compares.

The suite (test_contents_*.py, one file per area) runs against the
sync and async manager (the ``cm`` fixture) on every store (the ``backend`` fixture,
tests/support/backends.py). The contract is jupyter_server's FileContentsManager
(models, types, formats, naming, HTTP status codes) plus the S3 storage layout of the
PyPI package ``s3contents``: path ``a/b.ipynb`` is the object ``<prefix>/a/b.ipynb``, an
empty directory is ``<dir>/.s3keep``, checkpoints live in the bucket at
``<dir>/.ipynb_checkpoints/<basename>-<id><ext>``.

A module marked ``every_backend`` runs on S3, GCS, Azure and local files; what stays on S3
and why is listed in tests/support/backends.py.
"""

from __future__ import annotations

import datetime

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from support.s3c_helpers import b64


def make_nb(source: str = "print('hello')", *, outputs=None) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# A title"))
    nb.cells.append(new_code_cell(source, outputs=outputs or []))
    return nb


def nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def nb_model(nb) -> dict:
    return {"type": "notebook", "content": nb}


def text_model(text: str) -> dict:
    return {"type": "file", "format": "text", "content": text}


def b64_model(data: bytes) -> dict:
    return {"type": "file", "format": "base64", "content": b64(data)}


def utc(dt: datetime.datetime) -> datetime.datetime:
    return dt.astimezone(datetime.timezone.utc)
