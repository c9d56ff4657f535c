"""The jupyter_events a manager emits.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations

import pytest

from support.contents_helpers import text_model

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
