"""Models and notebooks the Contents API suite (test_contents_*.py) saves and compares."""

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
