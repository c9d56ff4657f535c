"""Generate the synchronous manager (python/s3contents_rs/contents.py) from the async one.

    python tools/generate_sync.py          # rewrite contents.py
    python tools/generate_sync.py --check  # exit 1 if contents.py is not what it generates

`unasync` drops `async`/`await`; then every name ending in `_async` loses the suffix (the
core's `get_async` -> `get`, the mixin's off-loop `_build_model_async` -> `_build_model`,
the module `_base_async` -> `_base`) and every `AsyncX` class becomes `X`. The docstrings
that must say something else are replaced from DOCSTRINGS, each exactly once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tokenize_rt
import unasync

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "s3contents_rs"
SOURCE = PACKAGE / "async_contents.py"
TARGET = PACKAGE / "contents.py"

DOCSTRINGS = {
    '''"""The asynchronous manager and its checkpoints: every storage call is awaited on the Rust
runtime, so the Jupyter server's event loop never waits on the network.

The synchronous twin, contents.py, is generated from this file (``./dev.sh generate``).
"""''': '''"""The synchronous manager and its checkpoints: each call blocks its thread with the GIL
released. Use it where a plain ``ContentsManager`` is required (``HybridContentsManager``);
in a normal server prefer :class:`~s3contents_rs.AsyncObjectStoreContentsManager`.

Generated from async_contents.py by tools/generate_sync.py (``./dev.sh generate``): edit
that file, not this one.
"""''',
    '"""Jupyter contents in an object store (asyncio flavour)."""': '"""Jupyter contents in an object store (blocking flavour)."""',
}


class _SyncNames(unasync.Rule):
    def _unasync_name(self, name: str) -> str:
        if name.endswith("_async"):
            return name[: -len("_async")]
        if name.startswith("Async") and name[5:6].isupper():
            return name[len("Async") :]
        return super()._unasync_name(name)


def generate() -> str:
    rule = _SyncNames(fromdir="", todir="")
    text = tokenize_rt.tokens_to_src(
        rule._unasync_tokens(tokenize_rt.src_to_tokens(SOURCE.read_text()))
    )
    for async_text, sync_text in DOCSTRINGS.items():
        if text.count(async_text) != 1:
            raise SystemExit(
                f"{SOURCE.name} no longer has this docstring once; update DOCSTRINGS:\n{async_text}"
            )
        text = text.replace(async_text, sync_text)
    return text


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(
                f"{TARGET} is not generated from {SOURCE.name}: run ./dev.sh generate",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
