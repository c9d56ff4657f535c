"""A moto_server that checks every signature against its IAM, and its users' policies, as
AWS does: how the tests make a store refuse a request (403).

The first three actions (a user, its policy, its key) are not checked
(INITIAL_NO_AUTH_ACTION_COUNT); every later request must be signed with a key of its IAM.
The same server as tests/test_error_classification.py's ``signing_moto`` fixture.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.s3c_helpers import free_port

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# Reads objects, may not list them: a store check (one LIST) is refused.
READ_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}


@dataclass
class SigningMoto:
    endpoint: str
    admin: tuple[str, str]  # (key id, secret) allowed everything
    reader: tuple[str, str]  # (key id, secret) allowed s3:GetObject only

    def client(self, service: str, keys: tuple[str, str]):
        import boto3
        from botocore.config import Config as BotoConfig

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys[0],
            aws_secret_access_key=keys[1],
            config=BotoConfig(retries={"max_attempts": 1}),
        )


@contextlib.contextmanager
def signing_moto(directory: Path, buckets: tuple[str, ...] = ()) -> Iterator[SigningMoto]:
    """A signing moto_server (its log in `directory`) with an admin and a reader, and
    `buckets` made by the admin."""
    port = free_port()
    log = open(directory / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"},
    )
    server = SigningMoto(f"http://127.0.0.1:{port}", ("setup", "setup"), ("setup", "setup"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(server.endpoint + "/moto-api/", timeout=2).read()  # noqa: S310 (not counted)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        iam = server.client("iam", ("setup", "setup"))
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        server.admin = (key["AccessKeyId"], key["SecretAccessKey"])
        iam = server.client("iam", server.admin)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(READ_POLICY))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        server.reader = (key["AccessKeyId"], key["SecretAccessKey"])
        for bucket in buckets:
            server.client("s3", server.admin).create_bucket(Bucket=bucket)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
