"""Pieces for the login tests: a test certificate authority, HTTPS servers on loopback
that a client verifies against it (through SSL_CERT_FILE, as with a company CA), and the
endpoints of the cloud logins that object_store reaches over HTTPS.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape


class TestCA:
    """A certificate authority made for one test; ``issue`` signs server certificates."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "s3contents-rs test CA")]
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = directory / "test-ca.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, *names: str) -> tuple[Path, Path]:
        """Certificate and key files for a server known by ``names`` (host names or IPs)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        alt_names: list[x509.GeneralName] = []
        for name in names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt_names.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
            )
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=True
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = names[0].replace(":", "_")
        cert_path, key_path = (
            self.directory / f"{stem}.pem",
            self.directory / f"{stem}.key",
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path


class HttpsServer:
    """A threaded HTTP(S) server on ``host:port`` (0: any free port) running ``handler``;
    with ``certificate`` (cert, key) it speaks TLS."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        certificate: tuple[Path, Path] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True
            )
        self.scheme = "https" if certificate else "http"
        self.host = host
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class WebIdentitySts:
    """STS's AssumeRoleWithWebIdentity, over HTTPS, as EKS IRSA pods reach it.

    Like STS, it trusts one identity provider: a web identity token other than ``accepted``
    is refused with STS's InvalidIdentityToken error. An accepted call gets temporary
    credentials of the requested role, obtained from moto's STS with a signed AssumeRole by
    ``assume_role`` (moto answers AssumeRoleWithWebIdentity only to signed requests, which
    STS never requires), so moto's S3 checks them like any role session."""

    def __init__(self, certificate: tuple[Path, Path], accepted: str, assume_role):
        outer = self
        self.accepted = accepted
        self.calls: list[dict[str, str]] = []

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                query = dict(
                    urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)
                )
                form = dict(urllib.parse.parse_qsl(self.read_body().decode()))
                call = {
                    **query,
                    **form,
                    "signed": str("authorization" in {k.lower() for k in self.headers}),
                }
                outer.calls.append(call)
                if call.get("Action") != "AssumeRoleWithWebIdentity":
                    self.reply(
                        400,
                        _sts_error("InvalidAction", "only AssumeRoleWithWebIdentity"),
                        "text/xml",
                    )
                elif call.get("WebIdentityToken") != outer.accepted:
                    self.reply(
                        400,
                        _sts_error("InvalidIdentityToken", "Incorrect token audience"),
                        "text/xml",
                    )
                else:
                    credentials = assume_role(call["RoleArn"], call["RoleSessionName"])
                    self.reply(
                        200, _web_identity_response(call, credentials), "text/xml"
                    )

        self.server = HttpsServer(Handler, certificate)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()


def _sts_error(code: str, message: str) -> bytes:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
    ).encode()


def _web_identity_response(call: dict[str, str], credentials: dict) -> bytes:
    expiration = credentials["Expiration"]
    if isinstance(expiration, datetime.datetime):
        expiration = expiration.astimezone(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:jupyter:notebooks</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>{escape(call["RoleArn"])}/{escape(call["RoleSessionName"])}</Arn>
      <AssumedRoleId>AROA123EXAMPLE123:{escape(call["RoleSessionName"])}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{credentials["AccessKeyId"]}</AccessKeyId>
      <SecretAccessKey>{escape(credentials["SecretAccessKey"])}</SecretAccessKey>
      <SessionToken>{escape(credentials["SessionToken"])}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>""".encode()


class OAuthTokenEndpoint:
    """Google's OAuth token endpoint for an authorized user (``grant_type=refresh_token``):
    it hands out ``access_token`` for the (client id, client secret, refresh token)s it knows."""

    def __init__(
        self,
        certificate: tuple[Path, Path] | None,
        clients: list[tuple[str, str, str]],
        access_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        outer = self
        self.requests: list[dict[str, str]] = []

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                form = dict(urllib.parse.parse_qsl(self.read_body().decode()))
                outer.requests.append(
                    {
                        "path": urllib.parse.urlsplit(self.path).path,
                        "host": self.headers.get("Host", ""),
                        **form,
                    }
                )
                if (
                    form.get("client_id"),
                    form.get("client_secret"),
                    form.get("refresh_token"),
                ) not in clients:
                    self.reply(
                        400,
                        json.dumps(
                            {
                                "error": "invalid_grant",
                                "error_description": "Bad Request",
                            }
                        ).encode(),
                    )
                    return
                body = {
                    "access_token": access_token,
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "https://www.googleapis.com/auth/cloud-platform",
                }
                self.reply(200, json.dumps(body).encode())

        self.server = HttpsServer(Handler, certificate, host, port)

    def stop(self) -> None:
        self.server.stop()


class ContainerCredentials:
    """The ECS task-role endpoint: serves one credentials document at one path."""

    def __init__(
        self, path: str, credentials: dict, host: str = "127.0.0.1", port: int = 0
    ):
        outer = self
        self.requests: list[str] = []
        expiration = credentials["Expiration"]
        if isinstance(expiration, datetime.datetime):
            expiration = expiration.astimezone(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        document = json.dumps(
            {
                "RoleArn": "arn:aws:iam::123456789012:role/notebooks-task",
                "AccessKeyId": credentials["AccessKeyId"],
                "SecretAccessKey": credentials["SecretAccessKey"],
                "Token": credentials["SessionToken"],
                "Expiration": expiration,
            }
        ).encode()

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                if self.path == path:
                    self.reply(200, document)
                else:
                    self.reply(404, b'{"message": "no such credentials"}')

        self.server = HttpsServer(Handler, None, host, port)

    def stop(self) -> None:
        self.server.stop()
