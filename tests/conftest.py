"""Shared set-up of the s3contents_rs test suite.

Fixtures and helpers live in the ``support`` package next to this file (tests/support/);
the fixture modules are loaded once, here, as pytest plugins, and test modules import
helpers by name (``from support.s3c_helpers import b64``). ``tests/`` is on ``sys.path``
through pytest's ``pythonpath`` setting (pyproject.toml), whatever the ``--import-mode``.

* support/s3_fixtures.py: the S3 endpoint (moto_server, or S3CONTENTS_TEST_*), RawBucket
* support/backends.py: ``backend``, the per-test prefix, ``raw``, ``cm`` (sync and
  async), and the ``every_backend`` marker's parametrisation over GCS, Azure, files
* support/backend_fixtures.py: fake-gcs-server, Azurite, a local directory
* support/rest_fixtures.py: a jupyter_server on the manager under test (``fetch``)
* support/reliability_fixtures.py: the fault proxy in front of S3
* support/browser_fixtures.py: JupyterLab driven by Chromium
"""

from __future__ import annotations

import pytest

# pytest-jupyter's jp_fetch / jp_serverapp fixtures; loading the plugin also gives every
# test an (autouse) fresh asyncio loop, ``jp_asyncio_loop``, which the async-manager
# adapter runs coroutines on. Our plugins come after it, so their fixtures (e.g.
# jp_server_config) take precedence over pytest-jupyter's.
pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "support.s3_fixtures",
    "support.backend_fixtures",
    "support.backends",
    "support.rest_fixtures",
    "support.reliability_fixtures",
    "support.browser_fixtures",
]

DEFAULT_TIMEOUT = 60  # seconds per test unless a test/module says otherwise


def pytest_collection_modifyitems(config, items):
    """Give every test a timeout so that a hang fails instead of blocking CI."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


# --------------------------------------------------------------------------- jupyter env
@pytest.fixture(autouse=True)
def _isolated_jupyter_dirs(tmp_path, monkeypatch):
    """Keep notebook-signature DBs, secrets and config out of the real home."""
    for var, sub in (
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
    ):
        d = tmp_path / sub
        d.mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(d))
