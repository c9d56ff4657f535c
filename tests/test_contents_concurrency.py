"""Many operations in flight at once on the async manager.

Part of the Contents API suite: what it runs against and its contract are in
tests/support/contents_helpers.py.
"""

from __future__ import annotations


import pytest
from support.contents_helpers import text_model
from support.s3c_helpers import listing, manager_classes

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
            *(
                mgr.save(text_model(f"file {i}"), f"many/f{i:02d}.txt")
                for i in range(20)
            )
        )
        models = await asyncio.gather(
            *(mgr.get(f"many/f{i:02d}.txt") for i in range(20))
        )
        listing_model, exists = await asyncio.gather(
            mgr.get("many"), mgr.file_exists("many/f07.txt")
        )
        return models, listing_model, exists

    models, listing_model, exists = cm.run(scenario())
    assert [m["content"] for m in models] == [f"file {i}" for i in range(20)]
    assert set(listing(listing_model)) == {f"f{i:02d}.txt" for i in range(20)}
    assert exists is True
    assert raw.read("many/f13.txt") == b"file 13"
