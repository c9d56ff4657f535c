"""``GET /api/s3contents/status``: whether the store can be used, for JupyterLab.

JupyterLab's file browser shows nothing when a listing fails (a missing bucket, refused
credentials, an unreachable endpoint look like an empty folder), and for a 404 it replaces
the server's message by "Directory not found". The package's JupyterLab extension
(``labextension/``) asks this endpoint once JupyterLab has started, and again when a listing
fails, and shows the message. The answer is ``{"ok": bool, "status": int, "message": str,
"place": str}``: one store request (the start-up check), and on failure the status and
message the contents API answers for it. Added to the server's routes by the server
extension (server_extension.py), whatever the contents manager.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.services.contents.handlers import AUTH_RESOURCE
from jupyter_server.utils import url_path_join
from tornado import web

from ._base import StoreContentsMixin
from .exceptions import S3ContentsError

STATUS_PATH = "api/s3contents/status"


def _our_managers(manager: Any) -> list[StoreContentsMixin]:
    """Our managers behind the server's contents manager: itself, or those mounted in a
    HybridContentsManager (the root's first); none for anyone else's."""
    if isinstance(manager, StoreContentsMixin):
        return [manager]
    mounted = getattr(manager, "managers", None)  # hybridcontents: {prefix: manager}
    if isinstance(mounted, dict):
        return [m for _, m in sorted(mounted.items()) if isinstance(m, StoreContentsMixin)]
    return []


async def store_status(manager: Any, log: Any = None) -> dict[str, Any]:
    """Whether the stores of our managers behind `manager` can be used: one request each
    (the start-up check, awaited on the core's runtime), the first failure told as the
    contents API tells it (its status and message). Another manager is always ok."""
    places = []
    for cm in _our_managers(manager):
        store = cm.store
        place = store.place
        places.append(place)
        try:
            await store.check_store_async()
        except S3ContentsError as e:
            return {"ok": False, "status": e.status_code, "message": str(e), "place": place}
        except Exception as e:  # noqa: BLE001 (a bug of ours: said, and never a 500 to the page)
            if log is not None:
                log.exception("s3contents_rs: checking %s failed", place)
            return {"ok": False, "status": 500, "message": f"cannot check {place}: {e}", "place": place}
    return {"ok": True, "status": 200, "message": "", "place": places[0] if places else ""}


class StoreStatusHandler(APIHandler):
    """``GET /api/s3contents/status``: the store's state for JupyterLab, with the contents
    API's authentication and permission (reading contents)."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        status = await store_status(self.contents_manager, self.log)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(status))


def add_status_handler(serverapp: Any) -> None:
    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], STATUS_PATH)
    web_app.add_handlers(".*$", [(route, StoreStatusHandler)])
