"""The reference interpreter: a Python with the PyPI ``s3contents`` package (its own venv,
``./dev.sh test`` makes it), used to write buckets the way s3contents does and to run its
own test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_REF_PYTHON = "/tmp/refvenv/bin/python"


def ref_python() -> str:
    candidate = os.environ.get("S3CONTENTS_REF_PYTHON")
    if candidate:
        if not Path(candidate).exists():
            pytest.fail(
                f"S3CONTENTS_REF_PYTHON={candidate!r} does not exist", pytrace=False
            )
        return candidate
    if Path(DEFAULT_REF_PYTHON).exists():
        return DEFAULT_REF_PYTHON
    pytest.fail(
        "no reference interpreter with the PyPI s3contents package: set S3CONTENTS_REF_PYTHON "
        f"to a python that can `import s3contents` (e.g. a venv with s3contents==0.11.2 and "
        f"jupyter_server installed) or create {DEFAULT_REF_PYTHON}",
        pytrace=False,
    )
