"""Logins whose endpoints object_store fixes, tested inside a private network namespace.

* ECS task roles: ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is read from
  ``http://169.254.170.2``; the namespace puts that address on its loopback.
* Google application default credentials of a user (``gcloud auth application-default
  login``): the refresh token is exchanged at ``https://accounts.google.com``; the namespace
  maps that name to loopback in its own /etc/hosts and the test CA signs its certificate.

Each scenario (support/login_scenarios.py) starts its servers inside the namespace: moto with IAM
signature checks, or fake-gcs-server behind the recording gateway.
"""

from __future__ import annotations

import json

import pytest
from support.netns import namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.timeout(180), pytest.mark.namespaces]


@pytest.fixture(autouse=True)
def _namespaces():
    reason = namespace_unavailable()
    if reason:
        pytest.skip(f"needs a private network namespace (unshare -rn): {reason}")


def test_ecs_task_role_relative_uri(tmp_path):
    result = run_in_namespace(
        "support.login_scenarios:ecs_task_role",
        {"home": str(tmp_path), "relative_uri": "/v2/credentials/6d1c8a3e-task"},
        addresses=("169.254.170.2",),
    )
    assert result["wrong_key_refused"], (
        "the moto in the namespace must check signatures"
    )
    for flavor in ("sync", "async"):
        run = result["runs"][flavor]
        assert run["status"] == 200, run
        assert run["content"] == f"via {flavor}"
        assert run["names"] == ["login.txt"]
        assert result["stored"][flavor] == f"via {flavor}"
    # Each manager fetched the task credentials from the relative URI (and nothing else).
    assert set(result["endpoint_requests"]) == {"/v2/credentials/6d1c8a3e-task"}
    assert 2 <= len(result["endpoint_requests"]) <= 4, result["endpoint_requests"]


def test_gcs_authorized_user_application_default_credentials(tmp_path):
    from support.backend_fixtures import fake_gcs_binary
    from support.login_fixtures import TestCA

    ca = TestCA(tmp_path)
    client = (
        "123-notebooks.apps.googleusercontent.com",
        "d-FL95Q19q7MQmFpd7hHD0Ty",
        "1//0g-refresh-token",
    )
    adc = (
        tmp_path
        / "home"
        / ".config"
        / "gcloud"
        / "application_default_credentials.json"
    )
    adc.parent.mkdir(parents=True)
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": client[0],
                "client_secret": client[1],
                "refresh_token": client[2],
            }
        )
    )
    other_client = (
        "456-ci.apps.googleusercontent.com",
        "other-secret",
        "1//0g-other-refresh-token",
    )
    other = tmp_path / "other-adc.json"
    other.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": other_client[0],
                "client_secret": other_client[1],
                "refresh_token": other_client[2],
            }
        )
    )
    revoked = tmp_path / "revoked.json"
    revoked.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": client[0],
                "client_secret": client[1],
                "refresh_token": "1//0g-revoked",
            }
        )
    )
    result = run_in_namespace(
        "support.login_scenarios:gcs_authorized_user",
        {
            "home": str(tmp_path / "home"),
            "ca": str(ca.path),
            "certificate": [str(p) for p in ca.issue("accounts.google.com")],
            "client": client,
            "other_client": other_client,
            "other_adc": str(other),
            "access_token": "ya29.a0-test-access-token",
            "fake_gcs": str(fake_gcs_binary()),
            "revoked_adc": str(revoked),
        },
        hosts={"accounts.google.com": "127.0.0.1"},
    )
    for flavor, run in result["runs"].items():
        assert run["status"] == 200, (flavor, run)
        assert run["names"] == ["login.txt"], (flavor, run)
    assert result["runs"]["async"]["content"] == "via async"
    # One exchange per manager: the gcloud file's client twice, then the other file's.
    grants = [
        (r["client_id"], r["client_secret"], r["refresh_token"])
        for r in result["token_requests"]
    ]
    assert grants == [client, client, other_client], grants
    for request in result["token_requests"]:
        assert request["host"] == "accounts.google.com"
        assert request["path"] == "/o/oauth2/token"
        assert request["grant_type"] == "refresh_token"
    assert result["authorizations"], "no storage request reached fake-gcs-server"
    assert set(result["authorizations"]) == {"Bearer ya29.a0-test-access-token"}

    refused = result["refused"]
    assert refused["status"] == 403, refused
    assert "invalid_grant" in refused["message"], refused
    # Tried at the manager's start-up listing (refused, logged) and again by the request.
    assert [r["refresh_token"] for r in result["revoked_requests"]] == [
        "1//0g-revoked"
    ] * 2
