"""S3 logins against a server that checks every signature.

A dedicated moto_server runs with IAM authentication on (INITIAL_NO_AUTH_ACTION_COUNT): each
request must be SigV4-signed with an access key that exists in its IAM, so a stale or
wrong key is refused exactly as AWS refuses it. Keys are created and deleted through
moto's IAM API to rotate them while a manager is running.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from tornado.web import HTTPError

from support.backend_fixtures import Server
from support.login_fixtures import HttpsServer, QuietHandler
from support.s3c_helpers import AWS_LOGIN_VARIABLES, ManagerAdapter, free_port

pytestmark = pytest.mark.timeout(60)

BUCKET = "signed-notebooks"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@dataclasses.dataclass
class SigningS3:
    endpoint: str
    key_id: str
    secret: str

    def client(self, service: str, key_id: str | None = None, secret: str | None = None):
        # The profile tests set AWS_PROFILE for the manager; the test's own clients use keys.
        profile = os.environ.pop("AWS_PROFILE", None)
        try:
            return boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id=key_id or self.key_id,
                aws_secret_access_key=secret or self.secret,
                config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
            )
        finally:
            if profile is not None:
                os.environ["AWS_PROFILE"] = profile

    def new_user(self) -> str:
        """A user of its own for a test (IAM allows two keys per user)."""
        name = f"user-{time.monotonic_ns()}"
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=ADMIN_POLICY)
        return name

    def new_key(self, user: str) -> tuple[str, str]:
        key = self.client("iam").create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def delete_key(self, user: str, key_id: str) -> None:
        self.client("iam").delete_access_key(UserName=user, AccessKeyId=key_id)

    def new_role(self) -> str:
        """A role allowed everything; returns its ARN."""
        iam = self.client("iam")
        name = f"role-{time.monotonic_ns()}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
        }
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ADMIN_POLICY)
        return f"arn:aws:iam::123456789012:role/{name}"

    def assume_role(self, role_arn: str, session_name: str = "notebooks") -> dict:
        return self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]

    def role_credentials(self) -> dict:
        """Temporary credentials of an assumed role, with a session token (what
        instance-role endpoints hand out); moto checks the token."""
        return self.assume_role(self.new_role())

    def read(self, key: str) -> bytes:
        return self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        return "Contents" in self.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=key)


@pytest.fixture(scope="module")
def signing_s3(tmp_path_factory):
    moto = Path(sys.executable).parent / "moto_server"
    port = free_port()
    # The first three actions (user, policy, key) are not checked; every later request
    # must carry a valid signature of an existing key.
    server = Server(
        "moto_server (IAM auth)",
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        tmp_path_factory.mktemp("moto-auth") / "moto.log",
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        server.wait_for_http(endpoint + "/moto-api/")  # not an S3 action: not counted
        setup = SigningS3(endpoint, "setup", "setup")
        iam = setup.client("iam")
        iam.create_user(UserName="notebooks")
        iam.put_user_policy(UserName="notebooks", PolicyName="all", PolicyDocument=ADMIN_POLICY)
        key = iam.create_access_key(UserName="notebooks")["AccessKey"]
        signing = SigningS3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        signing.client("s3").create_bucket(Bucket=BUCKET)
        with pytest.raises(Exception, match="InvalidAccessKeyId"):
            setup.client("s3").list_objects_v2(Bucket=BUCKET)
        yield signing
    finally:
        server.stop()


@pytest.fixture(params=["sync", "async"])
def s3_manager(request, signing_s3, jp_asyncio_loop, monkeypatch, tmp_path):
    """s3_manager(**traits) -> a manager on the signing server, no ambient AWS config."""
    from s3contents_rs import AsyncS3ContentsManager, S3ContentsManager

    for name in (
        *AWS_LOGIN_VARIABLES,
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    # No profiles of the person running the tests.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    cls = AsyncS3ContentsManager if request.param == "async" else S3ContentsManager
    prefix = f"{request.node.name.replace('[', '-').rstrip(']')}-{time.monotonic_ns()}"

    def make(**traits) -> ManagerAdapter:
        kwargs = {"bucket": BUCKET, "prefix": prefix, "endpoint_url": signing_s3.endpoint, **traits}
        return ManagerAdapter(cls(**kwargs), request.param, jp_asyncio_loop)

    make.prefix = prefix
    return make


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


def expect_403(fn, *args) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        fn(*args)
    assert info.value.status_code == 403, info.value.log_message
    return info.value


# --------------------------------------------------------------------------- static keys
def test_explicit_keys(s3_manager, signing_s3):
    cm = s3_manager(access_key_id=signing_s3.key_id, secret_access_key=signing_s3.secret)
    cm.save(text("signed"), "a.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/a.txt") == b"signed"


def test_explicit_keys_with_session_token(s3_manager, signing_s3):
    role = signing_s3.role_credentials()
    keys = {"access_key_id": role["AccessKeyId"], "secret_access_key": role["SecretAccessKey"]}
    cm = s3_manager(session_token=role["SessionToken"], **keys)
    cm.save(text("temporary"), "t.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/t.txt") == b"temporary"
    expect_403(s3_manager(session_token="forged-token", **keys).save, text("x"), "u.txt")


def test_wrong_secret_is_403_and_writes_nothing(s3_manager, signing_s3):
    cm = s3_manager(access_key_id=signing_s3.key_id, secret_access_key="not-the-secret")
    error = expect_403(cm.save, text("x"), "a.txt")
    assert "credentials" in error.log_message
    assert "not-the-secret" not in error.log_message
    assert not signing_s3.exists(f"{s3_manager.prefix}/a.txt")


def test_expired_key_without_refresher_is_403(s3_manager, signing_s3):
    user = signing_s3.new_user()
    key_id, secret = signing_s3.new_key(user)
    cm = s3_manager(access_key_id=key_id, secret_access_key=secret)
    cm.save(text("before"), "a.txt")
    signing_s3.delete_key(user, key_id)  # rotated away, as an expiring key would be
    error = expect_403(cm.save, text("after"), "a.txt")
    assert error.log_message.startswith("access denied to s3://"), error.log_message
    assert "InvalidAccessKeyId" in error.log_message, error.log_message
    assert signing_s3.read(f"{s3_manager.prefix}/a.txt") == b"before"


def test_aws_environment_variables(s3_manager, signing_s3, monkeypatch):
    """No keys in the config: object_store's environment chain finds them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", signing_s3.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", signing_s3.secret)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    cm = s3_manager()
    assert cm.region_name == "eu-west-3"
    cm.save(text("from env"), "env.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/env.txt") == b"from env"


# --------------------------------------------------------------------------- AWS profiles
@pytest.fixture
def aws_home(monkeypatch, tmp_path):
    """A HOME with ~/.aws/credentials and ~/.aws/config, found at their default places."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    monkeypatch.delenv("AWS_CONFIG_FILE")

    def write(credentials: str = "", config: str = "") -> None:
        (home / ".aws" / "credentials").write_text(credentials)
        (home / ".aws" / "config").write_text(config)

    return write


@pytest.fixture(params=["botocore", "configparser"])
def profile_reader(request, monkeypatch):
    """Profiles resolved by botocore, or read from the files when botocore is missing."""
    if request.param == "configparser":
        for name in ("botocore", "botocore.session", "botocore.exceptions"):
            monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    return request.param


def test_aws_profile_keys_and_region(s3_manager, signing_s3, aws_home, profile_reader, monkeypatch):
    """AWS_PROFILE picks a profile of ~/.aws/credentials; its region comes from
    ~/.aws/config's [profile name] section."""
    user = signing_s3.new_user()
    key_id, secret = signing_s3.new_key(user)
    aws_home(
        credentials=f"[default]\naws_access_key_id = AKIAWRONGDEFAULT\naws_secret_access_key = wrong\n\n"
        f"[notebooks]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n",
        config="[default]\nregion = us-west-1\n\n[profile notebooks]\nregion = eu-west-2\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "notebooks")
    cm = s3_manager()
    assert cm.region_name == "eu-west-2"
    cm.save(text("profile"), "p.txt")
    assert cm.get("p.txt")["content"] == "profile"
    assert signing_s3.read(f"{s3_manager.prefix}/p.txt") == b"profile"


def test_default_profile_without_aws_profile(s3_manager, signing_s3, aws_home, profile_reader):
    """No keys configured anywhere else: the [default] profile is used, as boto3 does."""
    role = signing_s3.role_credentials()
    aws_home(
        credentials=f"[default]\naws_access_key_id = {role['AccessKeyId']}\n"
        f"aws_secret_access_key = {role['SecretAccessKey']}\n"
        f"aws_session_token = {role['SessionToken']}\n"
    )
    cm = s3_manager()
    cm.save(text("default profile"), "d.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/d.txt") == b"default profile"


def test_explicit_keys_win_over_the_profile(s3_manager, signing_s3, aws_home, monkeypatch):
    aws_home(credentials="[notebooks]\naws_access_key_id = AKIAWRONGPROFILE\naws_secret_access_key = wrong\n")
    monkeypatch.setenv("AWS_PROFILE", "notebooks")
    expect_403(s3_manager().save, text("x"), "x.txt")  # the profile's keys are really used
    cm = s3_manager(access_key_id=signing_s3.key_id, secret_access_key=signing_s3.secret)
    cm.save(text("traits"), "k.txt")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", signing_s3.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", signing_s3.secret)
    s3_manager().save(text("environment"), "e.txt")  # as botocore: AWS_* keys before profiles
    assert signing_s3.read(f"{s3_manager.prefix}/k.txt") == b"traits"
    assert signing_s3.read(f"{s3_manager.prefix}/e.txt") == b"environment"


def test_unknown_profile_stops_the_server(s3_manager, aws_home, profile_reader, monkeypatch):
    from traitlets import TraitError

    aws_home(
        credentials="[default]\naws_access_key_id = AKIAX\naws_secret_access_key = x\n",
        config="[profile team-a]\nregion = eu-west-1\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "team-b")
    with pytest.raises(TraitError, match="AWS_PROFILE: the profile 'team-b' is in neither"):
        s3_manager()


def test_profile_with_only_a_region_leaves_credentials_to_the_chain(s3_manager, signing_s3, aws_home, monkeypatch):
    """As botocore: a profile without credentials sets the region; the keys come from the
    rest of the chain (here the instance metadata service)."""
    aws_home(config="[profile regional]\nregion = ap-northeast-1\n")
    monkeypatch.setenv("AWS_PROFILE", "regional")
    with _CredentialEndpoint(signing_s3.role_credentials()) as endpoint:
        monkeypatch.setenv("AWS_METADATA_ENDPOINT", endpoint.url)
        cm = s3_manager()
        cm.save(text("chain"), "c.txt")
    assert cm.region_name == "ap-northeast-1"
    assert signing_s3.read(f"{s3_manager.prefix}/c.txt") == b"chain"
    assert ("PUT", "/latest/api/token") in endpoint.requests


def test_role_profile_without_botocore_is_a_clear_error(s3_manager, aws_home, monkeypatch):
    from traitlets import TraitError

    for name in ("botocore", "botocore.session", "botocore.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)
    aws_home(config="[profile analyst]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n")
    monkeypatch.setenv("AWS_PROFILE", "analyst")
    with pytest.raises(TraitError, match="install botocore"):
        s3_manager()


def test_role_profile_is_assumed_through_sts(s3_manager, signing_s3, aws_home, monkeypatch):
    """A role_arn + source_profile profile (botocore): the role is assumed with the source
    profile's keys; the manager signs with the role session's credentials."""
    role_arn = signing_s3.new_role()
    aws_home(
        credentials=f"[base]\naws_access_key_id = {signing_s3.key_id}\naws_secret_access_key = {signing_s3.secret}\n",
        config=f"[profile analyst]\nrole_arn = {role_arn}\nsource_profile = base\nrole_session_name = jupyter\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "analyst")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", signing_s3.endpoint)  # botocore's STS client
    from support.net_proxies import ForwardProxy

    proxy = ForwardProxy(int(signing_s3.endpoint.rsplit(":", 1)[1]))
    try:
        s3_manager(store_options={"proxy_url": proxy.url}).save(text("as the role"), "r.txt")
    finally:
        proxy.stop()
    assert signing_s3.read(f"{s3_manager.prefix}/r.txt") == b"as the role"
    assert proxy.headers
    for headers in proxy.headers:  # signed with the role session, not the source keys
        assert headers.get("x-amz-security-token"), headers
        assert signing_s3.key_id not in headers["authorization"]


def test_credential_process_profile(s3_manager, signing_s3, aws_home, monkeypatch, tmp_path):
    """A credential_process profile (botocore) runs the command for the keys."""
    user = signing_s3.new_user()
    key_id, secret = signing_s3.new_key(user)
    script = tmp_path / "vault.py"
    script.write_text(
        f"import json; print(json.dumps({{'Version': 1, 'AccessKeyId': {key_id!r}, 'SecretAccessKey': {secret!r}}}))"
    )
    aws_home(config=f"[profile vault]\ncredential_process = {sys.executable} {script}\n")
    monkeypatch.setenv("AWS_PROFILE", "vault")
    s3_manager().save(text("from a process"), "v.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/v.txt") == b"from a process"


# --------------------------------------------------------------------------- refreshed keys
class Rotation:
    """Hands out the current key; counts how often it was asked."""

    def __init__(self, key: tuple[str, str], lifetime: float):
        self.key = key
        self.lifetime = lifetime
        self.calls = 0

    def expiry(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.lifetime)


def test_credential_provider_rotates(s3_manager, signing_s3):
    """Credentials are cached until five minutes before they expire, then asked again:
    a key rotated on the server meanwhile keeps the manager working."""
    user = signing_s3.new_user()
    first = signing_s3.new_key(user)
    rotation = Rotation(first, lifetime=301.5)

    def provider():
        rotation.calls += 1
        return {"access_key_id": rotation.key[0], "secret_access_key": rotation.key[1], "expiry": rotation.expiry()}

    cm = s3_manager(credential_provider=provider)
    cm.save(text("one"), "r.txt")
    cm.get("r.txt")
    assert rotation.calls == 1, "fresh credentials must be reused, not asked for on every request"

    rotation.key = signing_s3.new_key(user)
    signing_s3.delete_key(user, first[0])
    time.sleep(2)  # now within five minutes of expiry
    cm.save(text("two"), "r.txt")
    assert rotation.calls == 2
    assert cm.get("r.txt")["content"] == "two"


def test_failing_credential_provider_is_403(s3_manager):
    def provider():
        raise RuntimeError("vault is sealed")

    error = expect_403(s3_manager(credential_provider=provider).save, text("x"), "a.txt")
    assert "vault is sealed" in error.log_message


def test_boto3_session_refresh_recipe(s3_manager, signing_s3):
    """The s3contents README "AWS key refresh" recipe: init_s3_hook puts a boto3 session
    with botocore RefreshableCredentials on the manager; its refresh function is called
    when the Rust core asks for credentials close to expiry."""
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    user = signing_s3.new_user()
    first = signing_s3.new_key(user)
    rotation = Rotation(first, lifetime=301.5)

    def refresh_external_credentials():
        rotation.calls += 1
        return {
            "access_key": rotation.key[0],
            "secret_key": rotation.key[1],
            "token": None,
            "expiry_time": rotation.expiry().isoformat(),
        }

    session_credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh_external_credentials(),
        refresh_using=refresh_external_credentials,
        method="custom-refreshing-key-file-reader",
    )

    def make_key_refresh_boto3(this_s3contents_instance):
        refresh_session = get_session()
        refresh_session._credentials = session_credentials
        this_s3contents_instance.boto3_session = boto3.Session(botocore_session=refresh_session)

    cm = s3_manager(init_s3_hook=make_key_refresh_boto3)
    cm.save(text("one"), "b.txt")
    calls_before = rotation.calls

    rotation.key = signing_s3.new_key(user)
    signing_s3.delete_key(user, first[0])
    time.sleep(2)
    cm.save(text("two"), "b.txt")
    assert rotation.calls > calls_before, "the session was not asked to refresh"
    assert signing_s3.read(f"{s3_manager.prefix}/b.txt") == b"two"


# --------------------------------------------------------------------------- instance chains
class _CredentialEndpoint:
    """A container-credentials or EC2 metadata endpoint on loopback, handing out one key;
    a context manager that stops it on exit."""

    def __init__(self, credentials: dict, role: str = "notebooks-role", token: str | None = None):
        outer = self
        self.requests: list[tuple[str, str]] = []
        document = {
            "Code": "Success",
            "Type": "AWS-HMAC",
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "Token": credentials["SessionToken"],
            "Expiration": credentials["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

        class Handler(QuietHandler):
            def do_PUT(self):  # noqa: N802  (IMDSv2 session token)
                outer.requests.append(("PUT", self.path))
                self.read_body()
                self.reply(200, b"imds-session-token", "text/plain")

            def do_GET(self):  # noqa: N802
                outer.requests.append(("GET", self.path))
                if token is not None and self.headers.get("Authorization") != token:
                    self.reply(401, b"", "text/plain")
                elif self.path.rstrip("/") == "/latest/meta-data/iam/security-credentials":
                    self.reply(200, role.encode(), "text/plain")
                else:
                    self.reply(200, json.dumps(document).encode())

        self.server = HttpsServer(Handler)
        self.url = self.server.url

    def __enter__(self) -> _CredentialEndpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()


def test_ec2_instance_metadata(s3_manager, signing_s3, monkeypatch):
    with _CredentialEndpoint(signing_s3.role_credentials()) as endpoint:
        monkeypatch.setenv("AWS_METADATA_ENDPOINT", endpoint.url)
        cm = s3_manager()
        cm.save(text("imds"), "i.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/i.txt") == b"imds"
    assert ("PUT", "/latest/api/token") in endpoint.requests
    assert ("GET", "/latest/meta-data/iam/security-credentials/notebooks-role") in endpoint.requests


def test_container_credentials_full_uri(s3_manager, signing_s3, monkeypatch, tmp_path):
    """EKS Pod Identity / ECS full-URI credentials with an authorization token file."""
    token_file = tmp_path / "token"
    token_file.write_text("pod-identity-token")
    with _CredentialEndpoint(signing_s3.role_credentials(), token="pod-identity-token") as endpoint:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url + "/v1/credentials")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
        cm = s3_manager()
        cm.save(text("pod"), "p.txt")
    assert signing_s3.read(f"{s3_manager.prefix}/p.txt") == b"pod"
    assert ("GET", "/v1/credentials") in endpoint.requests


@pytest.fixture
def web_identity(signing_s3, monkeypatch, tmp_path):
    """EKS IRSA as a pod sees it: a projected token file, AWS_ROLE_ARN, and STS over HTTPS
    (AWS_ENDPOINT_URL_STS, its certificate from a CA trusted through SSL_CERT_FILE)."""
    from support.login_fixtures import TestCA, WebIdentitySts

    ca = TestCA(tmp_path)
    sts = WebIdentitySts(ca.issue("127.0.0.1"), accepted="eks-issued-oidc-token", assume_role=signing_s3.assume_role)
    token_file = tmp_path / "eks.amazonaws.com" / "serviceaccount" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("eks-issued-oidc-token")
    role_arn = signing_s3.new_role()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.path))
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", role_arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    sts.token_file, sts.role_arn = token_file, role_arn
    yield sts
    sts.stop()


def test_web_identity_irsa(s3_manager, signing_s3, web_identity, monkeypatch, tmp_path):
    """The token file's content is exchanged (unsigned, over verified TLS) for role
    credentials, which the signature-checking server accepts for save, get and list.
    A default profile in the image does not get in the way (boto3's order)."""
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "jupyter-alice")
    stale = tmp_path / "aws-credentials"
    stale.write_text("[default]\naws_access_key_id = AKIASTALEIMAGEKEY\naws_secret_access_key = stale\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(stale))
    cm = s3_manager()
    cm.save(text("irsa"), "w.txt")
    assert cm.get("w.txt")["content"] == "irsa"
    assert [m["name"] for m in cm.get("")["content"]] == ["w.txt"]
    assert signing_s3.read(f"{s3_manager.prefix}/w.txt") == b"irsa"
    assert len(web_identity.calls) == 1, "the role credentials must be reused, not fetched per request"
    call = web_identity.calls[0]
    assert call["Action"] == "AssumeRoleWithWebIdentity"
    assert call["WebIdentityToken"] == "eks-issued-oidc-token"
    assert call["RoleArn"] == web_identity.role_arn
    assert call["RoleSessionName"] == "jupyter-alice"
    assert call["signed"] == "False", "AssumeRoleWithWebIdentity is called without AWS credentials"


def test_web_identity_with_a_refused_token_is_403(s3_manager, signing_s3, web_identity):
    web_identity.token_file.write_text("token-of-another-cluster")
    cm = s3_manager()
    error = expect_403(cm.save, text("x"), "w.txt")
    assert "InvalidIdentityToken" in error.log_message, error.log_message
    assert "token-of-another-cluster" not in error.log_message
    # Asked at the manager's start-up listing (refused, logged) and again by the save.
    assert [c["WebIdentityToken"] for c in web_identity.calls] == ["token-of-another-cluster"] * 2
    assert not signing_s3.exists(f"{s3_manager.prefix}/w.txt")


def test_web_identity_with_a_missing_token_file_is_403(s3_manager, web_identity):
    web_identity.token_file.unlink()
    error = expect_403(s3_manager().save, text("x"), "w.txt")
    assert str(web_identity.token_file) in error.log_message, error.log_message
    assert web_identity.calls == []


def test_web_identity_sts_certificate_is_verified(s3_manager, web_identity, monkeypatch, caplog):
    """The STS endpoint's certificate must be trusted: without the test CA, no token is sent."""
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(HTTPError) as info:
        s3_manager().save(text("x"), "w.txt")
    assert info.value.status_code == 503, info.value.log_message
    assert any("UnknownIssuer" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert web_identity.calls == []


# --------------------------------------------------------------------------- transport
def test_skip_tls_verify_against_self_signed_endpoint(s3_manager, signing_s3, tmp_path):
    from support.net_proxies import TlsProxy

    proxy = TlsProxy(int(signing_s3.endpoint.rsplit(":", 1)[1]), tmp_path)
    try:
        keys = {"access_key_id": signing_s3.key_id, "secret_access_key": signing_s3.secret}
        strict = s3_manager(endpoint_url=proxy.url, **keys)
        with pytest.raises(HTTPError) as info:
            strict.save(text("x"), "tls.txt")
        assert "certificate" in info.value.log_message.lower() or proxy.handshake_failures, info.value.log_message
        assert not signing_s3.exists(f"{s3_manager.prefix}/tls.txt")

        relaxed = s3_manager(endpoint_url=proxy.url, skip_tls_verify=True, **keys)
        relaxed.save(text("over tls"), "tls.txt")
        assert relaxed.get("tls.txt")["content"] == "over tls"
    finally:
        proxy.stop()
    assert signing_s3.read(f"{s3_manager.prefix}/tls.txt") == b"over tls"


@pytest.mark.parametrize(
    ("style", "expect_virtual"),
    [("path", False), ("virtual", True), ("auto", False)],
)
def test_addressing_style(s3_manager, signing_s3, style, expect_virtual):
    """Seen from a forward proxy (object_store's proxy_url): virtual-hosted requests name
    the bucket in the Host header, path-style ones in the path. The server checks the
    signature, which covers the Host header."""
    from support.net_proxies import ForwardProxy

    port = signing_s3.endpoint.rsplit(":", 1)[1]
    proxy = ForwardProxy(int(port))
    try:
        cm = s3_manager(
            endpoint_url=f"http://localhost:{port}",
            addressing_style=style,
            access_key_id=signing_s3.key_id,
            secret_access_key=signing_s3.secret,
            store_options={"proxy_url": proxy.url},
        )
        cm.save(text(style), "style.txt")
        assert cm.get("style.txt")["content"] == style
    finally:
        proxy.stop()
    assert signing_s3.read(f"{s3_manager.prefix}/style.txt") == style.encode()
    assert proxy.seen
    for host, target in proxy.seen:
        if expect_virtual:
            assert host == f"{BUCKET}.localhost:{port}", (host, target)
            assert not target.startswith(f"/{BUCKET}"), target
        else:
            assert host == f"localhost:{port}", (host, target)
            assert target.startswith(f"/{BUCKET}"), target


def test_addressing_style_from_s3fs_config_kwargs():
    from s3contents_rs.s3 import S3Traits

    options = S3Traits(
        bucket="b", endpoint_url="http://127.0.0.1:9000", s3fs_config_kwargs={"s3": {"addressing_style": "virtual"}}
    )._s3_options()
    assert options["aws_virtual_hosted_style_request"] == "true"
    assert options["aws_endpoint"] == "http://b.127.0.0.1:9000"


def test_access_point_arn_as_bucket():
    """An access point ARN is addressed at its own endpoint, signed for its region."""
    from s3contents_rs.s3 import S3Traits

    arn = "arn:aws:s3:eu-central-1:123456789012:accesspoint/notebooks-ap"
    traits = S3Traits(bucket=arn, region_name="us-east-1")
    url, options, _ = traits._store_location()
    assert url == "s3://notebooks-ap-123456789012"
    assert options["aws_region"] == "eu-central-1"
    assert options["aws_endpoint"] == "https://notebooks-ap-123456789012.s3-accesspoint.eu-central-1.amazonaws.com"
    assert options["aws_virtual_hosted_style_request"] == "true"
    from s3contents_rs import ContentsStore

    store = ContentsStore(url, "team", options)
    assert store.key_for("a.ipynb") == "team/a.ipynb"


def test_region_name_reaches_the_signature(s3_manager, signing_s3):
    """region_name is part of the SigV4 credential scope the server checks."""
    from support.net_proxies import ForwardProxy

    proxy = ForwardProxy(int(signing_s3.endpoint.rsplit(":", 1)[1]))
    try:
        cm = s3_manager(
            region_name="ap-southeast-2",
            access_key_id=signing_s3.key_id,
            secret_access_key=signing_s3.secret,
            store_options={"proxy_url": proxy.url},
        )
        cm.save(text("r"), "region.txt")
    finally:
        proxy.stop()
    assert cm.region_name == "ap-southeast-2"
    assert signing_s3.read(f"{s3_manager.prefix}/region.txt") == b"r"
    assert proxy.authorizations
    assert all("/ap-southeast-2/s3/aws4_request" in a for a in proxy.authorizations)


def test_sse_kms_on_multipart_upload(s3_manager, signing_s3):
    """Chunked uploads (multipart) carry the encryption headers too."""
    import base64

    key_id = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    cm = s3_manager(
        access_key_id=signing_s3.key_id,
        secret_access_key=signing_s3.secret,
        sse="aws:kms",
        kms_key_id=key_id,
        upload_part_size=5 * 1024 * 1024,
    )
    chunk = base64.b64encode(b"x" * (1024 * 1024)).decode()
    for number in (1, 2, 3, 4, 5, -1):
        cm.save({"type": "file", "format": "base64", "content": chunk, "chunk": number}, "big.bin")
    head = signing_s3.client("s3").head_object(Bucket=BUCKET, Key=f"{s3_manager.prefix}/big.bin")
    assert head["ContentLength"] == 6 * 1024 * 1024
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_id


def test_a_lost_upload_start_is_aborted_with_signed_requests(s3_manager, signing_s3):
    """The listing and abort of open uploads (raw requests of our own) pass a server that
    checks every signature, for a key that needs encoding in the listing's query."""
    import base64

    from support.fault_proxy import Fault, FaultProxy

    proxy = FaultProxy(signing_s3.endpoint)
    path = "dir/a&c=é+.bin"
    key = f"{s3_manager.prefix}/{path}"
    s3 = signing_s3.client("s3")
    theirs = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    try:
        cm = s3_manager(
            access_key_id=signing_s3.key_id, secret_access_key=signing_s3.secret, endpoint_url=proxy.url, max_retries=0
        )
        proxy.add(Fault("drop_response"), method="POST", target=r"\?uploads")

        def upload():
            for number, data in ((1, b"first "), (-1, b"last")):
                model = {
                    "type": "file",
                    "format": "base64",
                    "content": base64.b64encode(data).decode(),
                    "chunk": number,
                }
                cm.save(model, path)

        with pytest.raises(HTTPError) as info:
            upload()
        assert proxy.faults_fired(), (info.value, proxy.records)
        upload()
        assert [r for r in proxy.records if "uploads=" in str(r) and "GET" in str(r)], proxy.records
    finally:
        proxy.close()
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"first last"
    found = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])
    assert [u["UploadId"] for u in found] == [theirs]
    s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=theirs)


def test_credential_provider_return_forms():
    """What a provider may return, as the core receives it (key, secret, token, expiry)."""
    from s3contents_rs.s3 import _credential_tuple

    expiry = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    seconds = expiry.timestamp()
    assert _credential_tuple(("k", "s")) == ("k", "s", None, None)
    assert _credential_tuple(["k", "s", "t", expiry]) == ("k", "s", "t", seconds)
    assert _credential_tuple(("k", "s", "", expiry.replace(tzinfo=None))) == ("k", "s", None, seconds)
    sts_style = {"AccessKeyId": "k", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2030-01-02T03:04:05Z"}
    assert _credential_tuple(sts_style) == ("k", "s", "t", seconds)
    assert _credential_tuple({"access_key": "k", "secret_key": "s", "token": None, "expiry_time": seconds}) == (
        "k",
        "s",
        None,
        seconds,
    )
    with pytest.raises(TypeError, match="credential_provider must return"):
        _credential_tuple("k:s")
    with pytest.raises(ValueError, match="no access key"):
        _credential_tuple({"secret_access_key": "s"})


def test_provider_returning_nonsense_is_403(s3_manager):
    error = expect_403(s3_manager(credential_provider=lambda: "not credentials").save, text("x"), "a.txt")
    assert "credential_provider must return" in error.log_message


@pytest.fixture(scope="module")
def plain_moto(tmp_path_factory):
    """A moto without signature checks, standing in for a public bucket."""
    moto = Path(sys.executable).parent / "moto_server"
    port = free_port()
    server = Server(
        "moto_server (public)",
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        tmp_path_factory.mktemp("moto-public") / "moto.log",
    )
    try:
        server.wait_for_http(f"http://127.0.0.1:{port}/moto-api/")
        owner = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        owner.create_bucket(Bucket="public", ACL="public-read")
        owner.put_object(Bucket="public", Key="shared/readme.txt", Body=b"for everyone", ACL="public-read")
        yield port
    finally:
        server.stop()


@pytest.mark.parametrize("traits", [{"anon": True}, {"signature_version": "UNSIGNED"}], ids=["anon", "unsigned"])
def test_anonymous_requests_are_unsigned(s3_manager, plain_moto, traits, monkeypatch):
    """anon: no credentials are looked up or sent, even with AWS keys in the environment;
    a public bucket can be browsed and read."""
    from support.net_proxies import ForwardProxy

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
    proxy = ForwardProxy(plain_moto)
    try:
        cm = s3_manager(
            bucket="public",
            prefix="shared",
            endpoint_url=f"http://127.0.0.1:{plain_moto}",
            store_options={"proxy_url": proxy.url},
            **traits,
        )
        assert [m["name"] for m in cm.get("")["content"]] == ["readme.txt"]
        assert cm.get("readme.txt")["content"] == "for everyone"
    finally:
        proxy.stop()
    assert proxy.headers
    assert not any("authorization" in h for h in proxy.headers)


def test_slow_credential_provider_does_not_block_the_event_loop(signing_s3, jp_asyncio_loop, monkeypatch):
    """The provider runs on a worker thread: while it takes a second (an STS call, say),
    the server's event loop keeps serving."""
    import asyncio

    from s3contents_rs import AsyncS3ContentsManager

    calls = []

    def slow_provider():
        # Fast for the manager's start-up listing, slow when the save asks again: the
        # credentials expire within the five minutes that make the core ask before a request.
        calls.append(time.monotonic())
        if len(calls) > 1:
            time.sleep(1.0)
        return signing_s3.key_id, signing_s3.secret, None, time.time() + 60

    cm = AsyncS3ContentsManager(
        bucket=BUCKET,
        prefix=f"slow-{time.monotonic_ns()}",
        endpoint_url=signing_s3.endpoint,
        credential_provider=slow_provider,
    )

    async def scenario():
        ticks = 0
        save = asyncio.ensure_future(cm.save(text("patient"), "slow.txt"))
        while not save.done():
            await asyncio.sleep(0.05)
            ticks += 1
        await save
        return ticks

    ticks = jp_asyncio_loop.run_until_complete(scenario())
    assert len(calls) >= 2, "the save did not ask for credentials: the test checks nothing"
    assert ticks >= 10, f"the event loop ran only {ticks} times during a one-second credential call"
    assert signing_s3.read(f"{cm.store.prefix}/slow.txt") == b"patient"
