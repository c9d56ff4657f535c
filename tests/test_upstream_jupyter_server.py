"""jupyter_server's own contents tests pass against our managers (issue 12 §2).

The sdist of the installed jupyter_server version (a fresh ``./dev.sh setup`` installs the
newest 2.x) is fetched from PyPI with ``pip download`` once and kept in ``.tools/upstream``
(git-ignored). Its ``tests/services/contents/`` test_manager, test_api,
test_largefilemanager and test_checkpoints then run in a pytest subprocess per backend and
manager flavour (their conftest fixtures stay apart from ours) with
tests/upstream/jupyter_contents_conftest.py as their conftest: every test runs against our
sync or async manager on a fresh
prefix of this session's S3 (moto_server, or the S3CONTENTS_TEST_* endpoint) or GCS
(fake-gcs-server) bucket. The few tests that only hold for a local filesystem are listed,
with reasons, in that conftest; so is the one test that must fail where we are
deliberately stricter (strict xfail). Every other test must pass.

``S3CONTENTS_UPSTREAM_ARGS`` adds pytest arguments to the subprocess (e.g. ``-x -k copy``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import uuid
from importlib.metadata import version
from pathlib import Path

import pytest

from support.backend_fixtures import RawGcs
from support.s3_fixtures import RawBucket

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".tools" / "upstream"
OUR_CONFTEST = Path(__file__).resolve().parent / "upstream" / "jupyter_contents_conftest.py"
TEST_FILES = [
    "test_manager.py",
    "test_api.py",
    "test_largefilemanager.py",
    "test_checkpoints.py",
]

pytestmark = [pytest.mark.timeout(1500), pytest.mark.compatibility]


def jupyter_server_tests() -> Path:
    """The extracted sdist of the installed jupyter_server (fetched once; a lock keeps
    parallel test workers from fetching it together)."""
    wanted = os.environ.get("S3CONTENTS_UPSTREAM_JUPYTER_SERVER") or version("jupyter_server")
    source = CACHE / f"jupyter_server-{wanted}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (source / "tests" / "services" / "contents" / "test_manager.py").exists():
            archive = CACHE / f"jupyter_server-{wanted}.tar.gz"
            if not archive.exists():
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "-q",
                        "--no-deps",
                        "--no-binary",
                        ":all:",
                        f"jupyter_server=={wanted}",
                        "-d",
                        str(CACHE),
                    ],
                    check=True,
                )
            staging = CACHE / f"extracting-{uuid.uuid4().hex}"
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
            (staging / f"jupyter_server-{wanted}").rename(source)
            staging.rmdir()
        conftest = source / "tests" / "services" / "contents" / "conftest.py"
        if not conftest.exists() or conftest.read_bytes() != OUR_CONFTEST.read_bytes():
            conftest.write_bytes(OUR_CONFTEST.read_bytes())
    return source


BACKENDS = ("s3", pytest.param("gcs", marks=pytest.mark.gcs))
FLAVORS = ("sync", "async")


def backend_config(request, name: str, flavor: str):
    """Manager classes and traits for a subprocess, and a raw view of its prefix."""
    prefix = f"upstream-{uuid.uuid4().hex}"
    if name == "s3":
        settings = request.getfixturevalue("s3_settings")
        raw = RawBucket(settings.client(), settings.bucket, prefix)
        classes = {
            "sync": "s3contents_rs.S3ContentsManager",
            "async": "s3contents_rs.AsyncS3ContentsManager",
        }
        traits = settings.manager_kwargs(prefix)
        traits.pop("prefix")
    else:
        settings = request.getfixturevalue("gcs_settings")
        raw = RawGcs(settings, prefix)
        classes = {
            "sync": "s3contents_rs.GCSContentsManager",
            "async": "s3contents_rs.AsyncGCSContentsManager",
        }
        traits = {
            "bucket": settings.bucket,
            "endpoint_url": settings.endpoint_url,
            "token": "anon",
        }
    return {
        "classes": classes,
        "flavors": [flavor],
        "traits": traits,
        "prefix": prefix,
    }, raw


@pytest.fixture
def upstream_run(request, tmp_path, backend, flavor):
    """One run of the upstream suite (one backend, one manager flavour) in a subprocess:
    one test each, so parallel test workers (pytest -n) can take them apart."""
    source = jupyter_server_tests()
    config, raw = backend_config(request, backend, flavor)
    (tmp_path / "home").mkdir()
    env = {
        **os.environ,
        "S3CONTENTS_UPSTREAM": json.dumps(config),
        "HOME": str(tmp_path / "home"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *(f"tests/services/contents/{f}" for f in TEST_FILES),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-p",
        "no:xdist",
        "--color=no",
        "-q",
        "-rfEs",
        "--durations=5",
        "--basetemp",
        str(tmp_path / "basetemp"),
        *shlex.split(os.environ.get("S3CONTENTS_UPSTREAM_ARGS", "")),
    ]
    log = open(tmp_path / "output.txt", "w+")  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=source, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc, log, config, source
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        raw.delete_all()


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_jupyter_server_contents_suite(upstream_run, backend, flavor):
    proc, log, config, source = upstream_run
    try:
        returncode = proc.wait(timeout=1400)
    except subprocess.TimeoutExpired:
        proc.kill()
        returncode = proc.wait()
    log.seek(0)
    output = log.read()
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    print(f"jupyter_server {source.name} contents tests on {config['classes'][flavor]}: {summary}")
    assert returncode == 0, output[-30000:]
    # Nothing silently skipped: the only skips are upstream's other-platform ones.
    skipped = re.findall(r"^SKIPPED .*$", output, re.MULTILINE)
    assert all(re.search(r"macOS only|Windows only|Posix only", line) for line in skipped), skipped
    assert re.search(r"\d+ passed", summary), summary
