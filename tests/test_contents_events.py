"""The jupyter_events a manager emits.

Part of the Contents API suite (test_contents_*.py, one file per area), run against the
sync and async manager (the ``cm`` fixture) on every store (the ``backend`` fixture,
tests/support/backends.py). The contract is jupyter_server's FileContentsManager
(models, types, formats, naming, HTTP status codes) plus the S3 storage layout of the
PyPI package ``s3contents``: path ``a/b.ipynb`` is the object ``<prefix>/a/b.ipynb``, an
empty directory is ``<dir>/.s3keep``, checkpoints live in the bucket at
``<dir>/.ipynb_checkpoints/<basename>-<id><ext>``.
"""

from __future__ import annotations


import pytest
from support.contents_helpers import text_model

# Every store (S3, GCS, Azure, local files) through the ``backend`` fixture, sync and async
# manager through ``cm``; what stays on S3 and why: tests/support/backends.py.
pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== events
def test_events_emitted(cm, events, raw):
    raw.put("d/.s3keep")
    cm.save(text_model("e"), "d/e.txt")
    cm.get("d/e.txt")
    cm.copy("d/e.txt", "d")
    cm.rename("d/e.txt", "d/r.txt")
    cm.delete("d/r.txt")
    actions = events.actions()
    assert ("save", "d/e.txt", None) in actions, actions
    assert ("get", "d/e.txt", None) in actions, actions
    assert ("copy", "d/e-Copy1.txt", "d/e.txt") in actions, actions
    assert ("rename", "d/r.txt", "d/e.txt") in actions, actions
    assert ("delete", "d/r.txt", None) in actions, actions
    order = [a for a in actions if a[0] in ("copy", "rename", "delete")]
    assert [a[0] for a in order] == ["copy", "rename", "delete"], actions
