"""The configuration snippets of the README and of docs/ name real, configurable traits, and
docs/settings.md is what tools/settings_reference.py makes from the traits today."""

from __future__ import annotations

import re

import pytest

from support.doc_snippets import ROOT, python_blocks

ASSIGNMENT = re.compile(r"^c\.(\w+)\.(\w+)\s*=", re.M)


def _assignments() -> list[tuple[str, str]]:
    return sorted({m.groups() for block in python_blocks() for m in ASSIGNMENT.finditer(block)})


def test_readme_has_config_snippets():
    assert len(_assignments()) > 20


@pytest.mark.parametrize(("cls_name", "trait"), _assignments())
def test_readme_setting_is_a_config_trait(cls_name, trait):
    import hybridcontents
    from jupyter_server.serverapp import ServerApp
    from jupyter_server_fileid.extension import FileIdExtension

    import s3contents_rs

    known = {
        "ServerApp": ServerApp,
        "HybridContentsManager": hybridcontents.HybridContentsManager,
        "FileIdExtension": FileIdExtension,
    }
    cls = known.get(cls_name) or getattr(s3contents_rs, cls_name, None)
    assert cls is not None, f"README configures unknown class {cls_name}"
    traits = cls.class_traits(config=True)
    assert trait in traits, f"README sets {cls_name}.{trait}, which is not a configurable trait"


def test_readme_snippets_compile():
    for block in python_blocks():
        compile(block, "README.md", "exec")


def test_the_settings_reference_is_generated_from_the_traits():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "settings_reference.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for setting in (
        "bucket",
        "endpoint_url",
        "max_checkpoints",
        "project",
        "container",
    ):
        assert f"| `{setting}` |" in text, setting
