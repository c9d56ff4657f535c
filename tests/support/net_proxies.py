"""Small loopback proxies for the S3 connection tests.

* ``TlsProxy``: terminates TLS with a freshly made self-signed certificate for
  127.0.0.1 and passes the bytes on to a plain-HTTP server (for ``skip_tls_verify``).
* ``ForwardProxy``: an HTTP forward proxy (object_store's ``proxy_url``) that records the
  Host header and request target of each request and sends it, unchanged, to one
  upstream server: this shows which addressing style a client used without DNS.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3contents-rs test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Listener:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client: socket.socket) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:
        self.closed = True
        self.sock.close()


class TlsProxy(_Listener):
    def __init__(self, upstream_port: int, directory: Path):
        cert, key = self_signed_certificate(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.upstream_port = upstream_port
        self.handshake_failures = 0
        super().__init__()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def handle(self, client: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=_pipe, args=(upstream, tls), daemon=True).start()
        _pipe(tls, upstream)


class ForwardProxy(_Listener):
    """Plain-HTTP forward proxy; one request per connection is enough for reqwest's
    absolute-form requests, which it sends with keep-alive but we close after each."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.seen: list[tuple[str, str]] = []  # (Host header, request target)
        self.authorizations: list[str] = []
        self.headers: list[dict[str, str]] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while True:
                request_line = reader.readline()
                if not request_line:
                    break
                headers, length = [], 0
                while True:
                    line = reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    headers.append(line)
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = reader.read(length) if length else b""
                method, target, version = request_line.decode("latin-1").split(" ", 2)
                host = next(
                    (
                        h.decode("latin-1").split(":", 1)[1].strip()
                        for h in headers
                        if h.lower().startswith(b"host:")
                    ),
                    "",
                )
                # absolute-form (http://host/path) becomes origin-form for the server
                path = (
                    target.split("://", 1)[1].split("/", 1)[1]
                    if "://" in target
                    else target.lstrip("/")
                )
                self.seen.append((host, "/" + path))
                fields = dict(
                    h.decode("latin-1").rstrip("\r\n").split(":", 1) for h in headers
                )
                self.headers.append(
                    {k.strip().lower(): v.strip() for k, v in fields.items()}
                )
                self.authorizations += [
                    v for k, v in self.headers[-1].items() if k == "authorization"
                ]
                with socket.create_connection(
                    ("127.0.0.1", self.upstream_port)
                ) as upstream:
                    upstream.sendall(
                        f"{method} /{path} {version}".encode("latin-1")
                        + b"".join(headers)
                        + b"\r\n"
                        + body
                    )
                    if not self._relay_response(
                        upstream.makefile("rb"), client, method
                    ):
                        break
        except OSError:
            pass
        finally:
            client.close()

    @staticmethod
    def _relay_response(reader, client: socket.socket, method: str) -> bool:
        """Copy one response; False when it was delimited by closing the connection."""
        status = reader.readline()
        if not status:
            return False
        out, length, chunked = [status], None, False
        while True:
            line = reader.readline()
            out.append(line)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if (
                name.strip().lower() == "transfer-encoding"
                and "chunked" in value.lower()
            ):
                chunked = True
        client.sendall(b"".join(out))
        code = int(status.split()[1])
        if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
            return True
        if chunked:
            while True:
                size_line = reader.readline()
                client.sendall(size_line)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                client.sendall(reader.read(size + 2))
                if size == 0:
                    return True
        if length is not None:
            client.sendall(reader.read(length))
            return True
        client.sendall(reader.read())
        return False
