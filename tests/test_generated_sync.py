"""The sync manager is generated from the async one (issue 13: no hand-kept twin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "generate_sync.py"


def test_contents_py_is_generated_from_async_contents_py():
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_check_catches_a_hand_edit(tmp_path, monkeypatch):
    generate_sync = load_script("tools/generate_sync.py")
    edited = tmp_path / "contents.py"
    edited.write_text(
        generate_sync.TARGET.read_text().replace("def get(", "def get_edited(", 1)
    )
    monkeypatch.setattr(generate_sync, "TARGET", edited)
    assert generate_sync.main(["--check"]) == 1
    assert generate_sync.main([]) == 0
    assert edited.read_text() == generate_sync.generate()


def test_the_generated_manager_has_every_async_method_in_sync_form():
    from s3contents_rs import (
        AsyncObjectStoreContentsManager,
        ObjectStoreContentsManager,
    )

    import inspect

    async_methods = {
        n
        for n, f in vars(AsyncObjectStoreContentsManager).items()
        if inspect.iscoroutinefunction(f)
    }
    assert async_methods, "the async manager defines no coroutine methods"
    for name in async_methods:
        method = vars(ObjectStoreContentsManager).get(name)
        assert method is not None and not inspect.iscoroutinefunction(method), name
