"""The async manager never runs blocking work on the event loop: post-save hooks (and
the `fs` helper they call, whose calls wait for the store) run in a worker thread, and
so does decoding the base64 of a large file save or upload chunk."""

from __future__ import annotations

import threading

import pytest

from support.s3c_helpers import ManagerAdapter, b64, manager_classes

KiB = 1024


@pytest.fixture
def async_cm(manager_kwargs, jp_asyncio_loop):
    def make(**overrides) -> ManagerAdapter:
        kwargs = dict(manager_kwargs)
        kwargs.update(overrides)
        return ManagerAdapter(manager_classes()["async"](**kwargs), "async", jp_asyncio_loop)

    return make


def loop_thread(cm) -> threading.Thread:
    """The thread the test's event loop runs on."""

    async def current():
        return threading.current_thread()

    return cm.run(current())


def test_post_save_hooks_and_fs_run_off_the_loop(async_cm, raw):
    seen = []

    def hook(model, s3_path, contents_manager, **kwargs):
        # The s3contents README's pattern: read the saved file back through `fs`.
        content, _ = contents_manager.fs.read(s3_path)
        contents_manager.fs.write(s3_path + ".copy", content)
        seen.append((threading.current_thread(), s3_path, content))

    registered = []
    cm = async_cm(post_save_hook=hook)
    cm.raw.register_post_save_hook(
        lambda model, s3_path, contents_manager, **kw: registered.append(threading.current_thread())
    )
    loop = loop_thread(cm)
    cm.save({"type": "file", "format": "text", "content": "hello"}, "a.txt")
    [(thread, path, content)] = seen
    assert (path, content) == ("a.txt", "hello")
    assert thread is not loop, "the post-save hook ran on the event loop"
    assert registered and registered[0] is not loop
    assert raw.read("a.txt.copy") == b"hello"

    # The last chunk of an upload runs the hooks too, off the loop as well.
    seen.clear()
    cm.save(
        {"type": "file", "format": "base64", "content": b64(b"x" * 10), "chunk": 1},
        "b.bin",
    )
    cm.save({"type": "file", "format": "base64", "content": b64(b"y"), "chunk": -1}, "b.bin")
    [(thread, path, _)] = seen
    assert path == "b.bin" and thread is not loop


def test_large_base64_is_decoded_off_the_loop(async_cm, raw):
    cm = async_cm()
    loop = loop_thread(cm)
    threads = []
    for name in ("_serialize", "_chunk_data"):
        original = getattr(cm.raw, name)

        def recording(model, path, _original=original, _name=name):
            threads.append((_name, threading.current_thread(), len(model.get("content") or "")))
            return _original(model, path)

        setattr(cm.raw, name, recording)
    big = bytes(range(256)) * 400  # 100 KiB: base64 above the 64 KiB off-loop threshold
    cm.save({"type": "file", "format": "base64", "content": b64(big)}, "big.bin")
    cm.save({"type": "file", "format": "base64", "content": b64(big), "chunk": 1}, "up.bin")
    cm.save(
        {"type": "file", "format": "base64", "content": b64(b"tail"), "chunk": -1},
        "up.bin",
    )
    cm.save({"type": "file", "format": "text", "content": "small"}, "small.txt")
    assert raw.read("big.bin") == big
    assert raw.read("up.bin") == big + b"tail"
    large = [(name, thread) for name, thread, size in threads if size >= 64 * KiB]
    small = [(name, thread) for name, thread, size in threads if size < 64 * KiB]
    assert {name for name, _ in large} == {"_serialize", "_chunk_data"}
    assert all(thread is not loop for _, thread in large), large
    # Small contents stay on the loop: a thread hop would cost more than the work.
    assert small and all(thread is loop for _, thread in small), small
