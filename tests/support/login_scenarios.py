"""Login scenarios that run inside a private network namespace (see netns.py), each
starting the servers it needs there and returning what it observed as JSON for the test
(test_login_namespaces.py) to assert on.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.request

from support.s3c_helpers import AWS_LOGIN_VARIABLES, free_port

ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_AMBIENT = (
    *AWS_LOGIN_VARIABLES,
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_SERVICE_ACCOUNT",
    "STORAGE_EMULATOR_HOST",
)


def _clear_ambient_credentials(home: str) -> None:
    for name in _AMBIENT:
        os.environ.pop(name, None)
    os.environ["HOME"] = home
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "no-aws-credentials")
    os.environ["AWS_CONFIG_FILE"] = os.path.join(home, "no-aws-config")


def _exercise(cls, flavor: str, **traits) -> dict:
    """Save, read back and list one file with a fresh manager; what happened, as data."""
    from tornado.web import HTTPError

    async def run_async(cm):
        await cm.save({"type": "file", "format": "text", "content": f"via {flavor}"}, "login.txt")
        return (await cm.get("login.txt"))["content"], [m["name"] for m in (await cm.get(""))["content"]]

    try:
        cm = cls(**traits)
        if flavor == "async":
            content, names = asyncio.run(run_async(cm))
        else:
            cm.save({"type": "file", "format": "text", "content": f"via {flavor}"}, "login.txt")
            content, names = cm.get("login.txt")["content"], [m["name"] for m in cm.get("")["content"]]
    except HTTPError as e:
        return {"status": e.status_code, "message": e.log_message}
    return {"status": 200, "content": content, "names": names}


# --------------------------------------------------------------------------- ECS task role
def ecs_task_role(params: dict) -> dict:
    """moto with IAM signature checks, and the ECS task-role endpoint on 169.254.170.2:80
    handing out role credentials; the managers find them through
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI alone."""
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # read when moto is imported
    import boto3
    from moto.server import ThreadedMotoServer

    from support.login_fixtures import ContainerCredentials

    _clear_ambient_credentials(params["home"])
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"

    def client(service, key_id, secret):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    iam = client("iam", "setup", "setup")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    admin = (key["AccessKeyId"], key["SecretAccessKey"])
    client("s3", *admin).create_bucket(Bucket="task-notebooks")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    client("iam", *admin).create_role(RoleName="notebooks-task", AssumeRolePolicyDocument=json.dumps(trust))
    client("iam", *admin).put_role_policy(RoleName="notebooks-task", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    role = client("sts", *admin).assume_role(
        RoleArn="arn:aws:iam::123456789012:role/notebooks-task", RoleSessionName="task"
    )["Credentials"]
    unsigned_refused = _refused(lambda: client("s3", "nobody", "nothing").list_objects_v2(Bucket="task-notebooks"))

    relative_uri = params["relative_uri"]
    task_endpoint = ContainerCredentials(relative_uri, role, host="169.254.170.2", port=80)
    os.environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = relative_uri
    from s3contents_rs import AsyncS3ContentsManager, S3ContentsManager

    runs = {}
    for flavor, cls in (("sync", S3ContentsManager), ("async", AsyncS3ContentsManager)):
        runs[flavor] = _exercise(cls, flavor, bucket="task-notebooks", prefix=flavor, endpoint_url=endpoint)
    stored = {flavor: _read(client("s3", *admin), "task-notebooks", f"{flavor}/login.txt") for flavor in runs}
    task_endpoint.stop()
    return {
        "runs": runs,
        "stored": stored,
        "endpoint_requests": task_endpoint.requests,
        "wrong_key_refused": unsigned_refused,
    }


def _refused(call) -> bool:
    try:
        call()
    except Exception as e:  # noqa: BLE001
        return "InvalidAccessKeyId" in str(e)
    return False


def _read(s3, bucket: str, key: str) -> str | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------- GCS ADC
def gcs_authorized_user(params: dict) -> dict:
    """fake-gcs-server behind the recording XML gateway, and Google's OAuth endpoint as
    https://accounts.google.com (a hosts entry for 127.0.0.1, port 443, a certificate from
    the test CA in SSL_CERT_FILE). The managers log in with the gcloud ADC file in HOME."""
    from support.gcs_gateway import GcsXmlGateway
    from support.login_fixtures import OAuthTokenEndpoint

    _clear_ambient_credentials(params["home"])
    os.environ["SSL_CERT_FILE"] = params["ca"]
    port = free_port()
    fake_gcs = subprocess.Popen(
        [
            params["fake_gcs"],
            "-scheme",
            "http",
            "-backend",
            "memory",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-external-url",
            f"http://127.0.0.1:{port}",
            "-public-host",
            f"127.0.0.1:{port}",
            "-log-level",
            "warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/storage/v1/b")
        bucket = urllib.request.Request(
            f"http://127.0.0.1:{port}/storage/v1/b",
            method="POST",
            data=json.dumps({"name": "adc-notebooks"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(bucket, timeout=10).read()  # noqa: S310
        gateway = GcsXmlGateway(port).start()
        clients = [tuple(params["client"]), tuple(params["other_client"])]
        oauth = OAuthTokenEndpoint(
            tuple(params["certificate"]), clients, params["access_token"], host="127.0.0.1", port=443
        )
        from s3contents_rs import AsyncGCSContentsManager, GCSContentsManager

        runs = {}
        for flavor, cls in (("sync", GCSContentsManager), ("async", AsyncGCSContentsManager)):
            runs[flavor] = _exercise(cls, flavor, bucket="adc-notebooks", prefix=flavor, endpoint_url=gateway.url)
        # The same kind of file named by GOOGLE_APPLICATION_CREDENTIALS wins over the gcloud one.
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = params["other_adc"]
        runs["GOOGLE_APPLICATION_CREDENTIALS"] = _exercise(
            GCSContentsManager, "sync", bucket="adc-notebooks", prefix="gac", endpoint_url=gateway.url
        )
        del os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
        token_requests = list(oauth.requests)
        authorizations = list(gateway.authorizations)
        # A revoked refresh token, given as `token`: the login is refused.
        refused = _exercise(
            GCSContentsManager,
            "sync",
            bucket="adc-notebooks",
            prefix="revoked",
            endpoint_url=gateway.url,
            token=params["revoked_adc"],
        )
        oauth.stop()
        gateway.stop()
    finally:
        fake_gcs.terminate()
        fake_gcs.wait(timeout=10)
    return {
        "runs": runs,
        "token_requests": token_requests,
        "authorizations": authorizations,
        "refused": refused,
        "revoked_requests": oauth.requests[len(token_requests) :],
    }


def _die_with_parent() -> None:
    """In the server's child process: killed with the scenario even if it is killed (a
    timeout), so nothing is left running in the namespace."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
