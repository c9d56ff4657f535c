"""What every backend's manager classes share.

The Contents API suite (test_contents_*.py) and a few REST round trips (test_rest.py) run
on every backend: they are marked ``every_backend`` and the ``backend`` fixture
(support/backends.py) takes them over S3, GCS (fake-gcs-server), Azure (Azurite) and the
local filesystem, with the tests that are about S3 settings left on S3 and the pairs
that do not apply listed there with their reasons.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("kind", ["S3", "GCS", "Azure"])
@pytest.mark.parametrize("flavour", ["", "Async"])
def test_named_managers_keep_checkpoints_in_their_own_class(kind, flavour):
    """Each named manager checkpoints with its own class (what logs and --help-all show),
    of the matching flavour; building a store sends no request, so no server is needed."""
    import s3contents_rs
    from s3contents_rs.checkpoints import (
        AsyncObjectStoreCheckpoints,
        ObjectStoreCheckpoints,
    )

    settings = {
        "S3": dict(bucket="bkt", access_key_id="key", secret_access_key="secret"),
        "GCS": dict(bucket="bkt", token="anon"),
        "Azure": dict(account="acct", container="ctr", account_key="a2V5"),
    }[kind]
    manager = getattr(s3contents_rs, f"{flavour}{kind}ContentsManager")(**settings)
    expected = getattr(s3contents_rs, f"{flavour}{kind}Checkpoints")
    assert manager.checkpoints_class is expected
    assert type(manager.checkpoints) is expected
    assert issubclass(expected, AsyncObjectStoreCheckpoints if flavour else ObjectStoreCheckpoints)
