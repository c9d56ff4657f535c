"""Fixtures and helpers of the reliability tests (faults, races, hostile input, trash).

A pytest plugin (tests/conftest.py loads it): the fixtures are there for every test
module; the helpers (``snapshot``, ``expect_status``) are imported by name, ``Fault`` from
support.fault_proxy.
"""

from __future__ import annotations

import pytest
from support.fault_proxy import FaultProxy
from support.s3c_helpers import ManagerAdapter
from tornado.web import HTTPError


@pytest.fixture(scope="session")
def _session_fault_proxy(s3_settings):
    proxy = FaultProxy(s3_settings.endpoint_url)
    yield proxy
    proxy.close()


@pytest.fixture
def fault_proxy(_session_fault_proxy) -> FaultProxy:
    """The fault proxy in front of the test S3 endpoint, with no rules and a fresh count."""
    _session_fault_proxy.reset()
    yield _session_fault_proxy
    _session_fault_proxy.reset()


@pytest.fixture
def make_proxied_cm(
    manager_class, flavor, manager_kwargs, fault_proxy, jp_asyncio_loop
):
    """Factory: a manager of this flavour that talks to the store through the proxy.

    Retries default to 0 here so a single injected fault reaches the operation; tests of
    the retry logic pass ``max_retries``.
    """

    def make(**overrides) -> ManagerAdapter:
        kwargs = dict(manager_kwargs)
        kwargs.update(endpoint_url=fault_proxy.url, max_retries=0, retry_timeout=5.0)
        kwargs.update(overrides)
        return ManagerAdapter(manager_class(**kwargs), flavor, jp_asyncio_loop)

    return make


def snapshot(raw) -> dict[str, bytes]:
    """Every object below the test prefix with its bytes."""
    return {key: raw.read(key) for key in raw.keys()}


def expect_status(status: int, fn, *args, **kwargs) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        fn(*args, **kwargs)
    assert info.value.status_code == status, (
        f"expected {status}, got {info.value.status_code}: {info.value}"
    )
    return info.value
