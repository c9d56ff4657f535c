"""The Python examples of the README and of docs/, which the tests check and run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(*pages: Path) -> list[str]:
    """The ```python blocks of `pages` (default: the README and every docs page), in order."""
    return [
        block
        for page in pages or PAGES
        for block in re.findall(
            r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S
        )
    ]
