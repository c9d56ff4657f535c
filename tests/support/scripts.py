"""Scripts of the repository outside the tests (benches/, tools/) loaded as modules by
their path, so that a test can call their functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script(relative: str, name: str | None = None):
    """The module of ``ROOT / relative`` (loaded once; registered in ``sys.modules`` under
    its file name, as ``python <script>`` would import it from its own directory)."""
    path = ROOT / relative
    name = name or path.stem
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(
        path
    ):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
