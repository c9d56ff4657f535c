"""The hand-written type stubs of the extension module match what it exports."""

from __future__ import annotations

import ast
from pathlib import Path

import s3contents_rs
from s3contents_rs import _core

STUB = Path(s3contents_rs.__file__).with_name("_core.pyi")


def stub_classes() -> dict[str, set[str]]:
    tree = ast.parse(STUB.read_text())
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef)
                and (not item.name.startswith("_") or item.name == "__init__")
            }
    return classes


def test_every_class_and_method_has_a_stub():
    stubs = stub_classes()
    runtime = {name for name in dir(_core) if isinstance(getattr(_core, name), type)}
    assert set(stubs) == runtime
    for name, members in stubs.items():
        cls = getattr(_core, name)
        public = {m for m in dir(cls) if not m.startswith("_")}
        assert members - {"__init__"} == public, name
    assert (Path(s3contents_rs.__file__).parent / "py.typed").exists()
