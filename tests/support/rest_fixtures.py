"""A real jupyter_server (pytest-jupyter) on the manager under test (a pytest plugin, see
tests/conftest.py), and helpers of the REST tests.

The server's only contents configuration is ``ServerApp.contents_manager_class`` = our
manager (sync and async: ``rest_flavor``) of the test's store (``backend``) plus its
traits. Modules that need another server configuration define their own
``jp_server_config``.
"""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from support.backends import backend_classes


@pytest.fixture(params=["sync", "async"])
def rest_flavor(request) -> str:
    return request.param


@pytest.fixture
def server_manager_class(backend, rest_flavor):
    return backend_classes(backend)[rest_flavor]


@pytest.fixture
def jp_server_config(request, server_manager_class, manager_kwargs, raw):
    """Only the contents manager is configured: no root_dir or other workaround.

    A test marked ``@pytest.mark.s3_preexisting({"path": b"bytes", ...})`` gets
    those objects written to its prefix before the server starts, and
    ``@pytest.mark.cm_config(trait=value)`` adds manager traits.
    """
    marker = request.node.get_closest_marker("s3_preexisting")
    if marker:
        for path, body in marker.args[0].items():
            raw.put(path, body)
    traits = dict(manager_kwargs)
    marker = request.node.get_closest_marker("cm_config")
    if marker:
        traits.update(marker.kwargs)
    return Config(
        {
            "ServerApp": {
                "contents_manager_class": server_manager_class,
                # As installed: with our extension (large replies serialised off the loop).
                "jpserver_extensions": {
                    "jupyter_server_terminals": False,
                    "s3contents_rs": True,
                },
            },
            server_manager_class.__name__: traits,
        }
    )


@pytest.fixture
def fetch(jp_fetch, jp_asyncio_loop):
    """Synchronous jp_fetch: runs the request on the server's own loop.

    REST tests are plain (sync) functions so they behave the same whatever
    pytest-asyncio's ``asyncio_mode`` is (in "auto" mode pytest-asyncio would
    run ``async def`` tests on its own loop, where the pytest-jupyter server
    does not run, and every request would time out).
    """

    def _fetch(*parts, **kwargs):
        return jp_asyncio_loop.run_until_complete(jp_fetch(*parts, **kwargs))

    return _fetch


# --------------------------------------------------------------------------- helpers
def body(response) -> dict | list:
    return json.loads(response.body.decode("utf-8"))


def expect_status(status: int, fetch, *parts, **kwargs) -> HTTPClientError:
    with pytest.raises(HTTPClientError) as info:
        fetch(*parts, **kwargs)
    assert info.value.code == status, (
        f"expected {status}, got {info.value.code}: {info.value.response.body if info.value.response else ''}"
    )
    return info.value


def put_json(fetch, path, model):
    return fetch("api", "contents", path, method="PUT", body=json.dumps(model))
