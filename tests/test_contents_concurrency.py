"""Many operations in flight at once on the async manager.

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
from support.s3c_helpers import listing, manager_classes

# Every store (S3, GCS, Azure, local files) through the ``backend`` fixture, sync and async
# manager through ``cm``; what stays on S3 and why: tests/support/backends.py.
pytestmark = [pytest.mark.timeout(60), pytest.mark.every_backend]


# =========================================================================== async concurrency
def test_async_manager_concurrent_operations(manager_kwargs, raw, jp_asyncio_loop):
    """Many coroutines in flight at once on one loop (what a busy server does)."""
    import asyncio

    from support.s3c_helpers import ManagerAdapter

    mgr = manager_classes()["async"](**manager_kwargs)
    cm = ManagerAdapter(mgr, "async", jp_asyncio_loop)

    async def scenario():
        await asyncio.gather(
            *(mgr.save(text_model(f"file {i}"), f"many/f{i:02d}.txt") for i in range(20))
        )
        models = await asyncio.gather(*(mgr.get(f"many/f{i:02d}.txt") for i in range(20)))
        listing_model, exists = await asyncio.gather(mgr.get("many"), mgr.file_exists("many/f07.txt"))
        return models, listing_model, exists

    models, listing_model, exists = cm.run(scenario())
    assert [m["content"] for m in models] == [f"file {i}" for i in range(20)]
    assert set(listing(listing_model)) == {f"f{i:02d}.txt" for i in range(20)}
    assert exists is True
    assert raw.read("many/f13.txt") == b"file 13"
