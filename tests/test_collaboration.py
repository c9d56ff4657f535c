"""Real-time collaboration (jupyter-collaboration / jupyter_server_ydoc) and file ids
(jupyter_server_fileid) on top of the async manager, in a real Jupyter server.

Two websocket clients edit the same notebook; the edit reaches the other client and is
saved into the bucket; the file id survives a rename made through the Contents API.
"""

from __future__ import annotations

import asyncio
import json

import nbformat
import pytest
from httpx_ws import aconnect_ws
from jupyter_ydoc import YNotebook
from pycrdt import Provider
from pycrdt.websocket.websocket import HttpxWebsocket
from traitlets.config import Config

from support.s3c_helpers import manager_classes

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(manager_kwargs, tmp_path):
    manager = manager_classes()["async"]
    return Config(
        {
            "ServerApp": {
                "contents_manager_class": manager,
                "jpserver_extensions": {
                    "jupyter_server_terminals": False,
                    "jupyter_server_ydoc": True,
                    "jupyter_server_fileid": True,
                    "s3contents_rs": True,  # as installed
                },
            },
            manager.__name__: dict(manager_kwargs),
            # The bucket is not a local folder: ids follow the contents events instead.
            "FileIdExtension": {"file_id_manager_class": "jupyter_server_fileid.manager.ArbitraryFileIdManager"},
            "BaseFileIdManager": {"db_path": str(tmp_path / "fileid.db")},
            "SQLiteYStore": {"db_path": str(tmp_path / "ystore.db")},
            "YDocExtension": {"document_save_delay": 0.5, "file_poll_interval": 0.5},
        }
    )


def notebook_bytes(*sources: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(nb).encode()


async def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def cell_sources(doc: YNotebook) -> list[str]:
    return [cell["source"] for cell in doc.get()["cells"]]


def test_two_clients_edit_one_notebook_saved_to_the_bucket(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, jp_asyncio_loop, raw
):
    raw.put("shared/nb.ipynb", notebook_bytes("x = 1"))

    async def session(path: str) -> tuple[str, str]:
        r = await jp_fetch(
            "api", "collaboration", "session", path, method="PUT",
            body=json.dumps({"format": "json", "type": "notebook"}),
        )  # fmt: skip
        data = json.loads(r.body)
        return f"json:notebook:{data['fileId']}", data["sessionId"]

    async def scenario():
        room, session_id = await session("shared/nb.ipynb")
        url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}api/collaboration/room/{room}?sessionId={session_id}"
        alice, bob = YNotebook(), YNotebook()
        async with (
            aconnect_ws(url, headers=jp_auth_header) as ws_a,
            Provider(alice.ydoc, HttpxWebsocket(ws_a, room)),
            aconnect_ws(url, headers=jp_auth_header) as ws_b,
            Provider(bob.ydoc, HttpxWebsocket(ws_b, room)),
        ):
            # Both clients get the notebook the server loaded from the bucket.
            await wait_until(
                lambda: cell_sources(alice) == ["x = 1"],
                what="alice to load the notebook",
            )
            await wait_until(lambda: cell_sources(bob) == ["x = 1"], what="bob to load the notebook")
            alice.append_cell({"cell_type": "code", "source": "y = 2", "metadata": {}, "outputs": []})
            await wait_until(
                lambda: cell_sources(bob) == ["x = 1", "y = 2"],
                what="bob to see alice's cell",
            )
            bob.append_cell({"cell_type": "markdown", "source": "from bob", "metadata": {}})
            await wait_until(
                lambda: cell_sources(alice)[-1:] == ["from bob"],
                what="alice to see bob's cell",
            )

            def saved_sources() -> list[str]:
                nb = nbformat.reads(raw.read("shared/nb.ipynb").decode(), as_version=4)
                return [c.source for c in nb.cells]

            await wait_until(
                lambda: saved_sources() == ["x = 1", "y = 2", "from bob"],
                what="the save to the bucket",
            )
        return room.rsplit(":", 1)[1]

    file_id = jp_asyncio_loop.run_until_complete(scenario())

    async def rename_and_resolve():
        await jp_fetch(
            "api",
            "contents",
            "shared/nb.ipynb",
            method="PATCH",
            body=json.dumps({"path": "moved/renamed.ipynb"}),
        )
        by_id = json.loads((await jp_fetch("api", "fileid", "path", params={"id": file_id})).body)
        by_path = json.loads((await jp_fetch("api", "fileid", "id", params={"path": "moved/renamed.ipynb"})).body)
        return by_id, by_path

    by_id, by_path = jp_asyncio_loop.run_until_complete(rename_and_resolve())
    assert by_id["path"] == "moved/renamed.ipynb"
    assert by_path["id"] == file_id
    assert raw.exists("moved/renamed.ipynb") and not raw.exists("shared/nb.ipynb")
