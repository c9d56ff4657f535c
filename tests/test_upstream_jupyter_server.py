"""jupyter_server's own contents tests pass against our managers (issue 12 §2).

The sdist of the installed jupyter_server version (a fresh ``./dev.sh setup`` installs the
newest 2.x) is fetched from PyPI with ``pip download`` once and kept in ``.tools/upstream``
(git-ignored). Its ``tests/services/contents/`` test_manager, test_api,
test_largefilemanager and test_checkpoints then run in a pytest subprocess (their
conftest fixtures stay apart from ours) with tests/upstream/jupyter_contents_conftest.py
as their conftest: every test runs against our sync and async managers on a fresh
prefix of this session's S3 (moto_server, or the S3CONTENTS_TEST_* endpoint) or GCS
(fake-gcs-server) bucket. The few tests that only hold for a local filesystem are listed,
with reasons, in that conftest; every other test must pass.

``S3CONTENTS_UPSTREAM_ARGS`` adds pytest arguments to the subprocess (e.g. ``-x -k copy``).
"""

from __future__ import annotations

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
from backend_fixtures import RawGcs
from conftest import RawBucket

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".tools" / "upstream"
OUR_CONFTEST = Path(__file__).resolve().parent / "upstream" / "jupyter_contents_conftest.py"
TEST_FILES = ["test_manager.py", "test_api.py", "test_largefilemanager.py", "test_checkpoints.py"]

pytestmark = pytest.mark.timeout(1500)


def jupyter_server_tests() -> Path:
    """The extracted sdist of the installed jupyter_server (fetched once)."""
    wanted = os.environ.get("S3CONTENTS_UPSTREAM_JUPYTER_SERVER") or version("jupyter_server")
    source = CACHE / f"jupyter_server-{wanted}"
    if not (source / "tests" / "services" / "contents" / "test_manager.py").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        archive = CACHE / f"jupyter_server-{wanted}.tar.gz"
        if not archive.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                 f"jupyter_server=={wanted}", "-d", str(CACHE)],
                check=True,
            )
        staging = CACHE / f"extracting-{uuid.uuid4().hex}"
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        (staging / f"jupyter_server-{wanted}").rename(source)
        staging.rmdir()
    return source


@pytest.fixture(params=["s3", "gcs"])
def backend(request):
    """Manager classes and traits for the subprocess, and a raw view of its prefix."""
    prefix = f"upstream-{uuid.uuid4().hex}"
    if request.param == "s3":
        settings = request.getfixturevalue("s3_settings")
        raw = RawBucket(settings.client(), settings.bucket, prefix)
        classes = {"sync": "s3contents_rs.S3ContentsManager", "async": "s3contents_rs.AsyncS3ContentsManager"}
        traits = settings.manager_kwargs(prefix)
    else:
        settings = request.getfixturevalue("gcs_settings")
        raw = RawGcs(settings, prefix)
        classes = {"sync": "s3contents_rs.GCSContentsManager", "async": "s3contents_rs.AsyncGCSContentsManager"}
        traits = {"bucket": settings.bucket, "endpoint_url": settings.endpoint_url, "token": "anon"}
    traits.pop("prefix", None)
    yield {"classes": classes, "traits": traits, "prefix": prefix}
    raw.delete_all()


def test_jupyter_server_contents_suite(backend, tmp_path):
    source = jupyter_server_tests()
    contents_tests = source / "tests" / "services" / "contents"
    (contents_tests / "conftest.py").write_bytes(OUR_CONFTEST.read_bytes())
    env = {
        **os.environ,
        "S3CONTENTS_UPSTREAM": json.dumps(backend),
        "HOME": str(tmp_path / "home"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    argv = [
        sys.executable, "-m", "pytest", *(f"tests/services/contents/{name}" for name in TEST_FILES),
        "-p", "no:cacheprovider", "-p", "no:asyncio", "--color=no", "-q", "-rfEs", "--durations=5",
        "--basetemp", str(tmp_path / "upstream"),
        *shlex.split(os.environ.get("S3CONTENTS_UPSTREAM_ARGS", "")),
    ]
    result = subprocess.run(argv, cwd=source, env=env, capture_output=True, text=True, timeout=1400)
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    print(f"jupyter_server {source.name} contents tests on {backend['classes']['async']}: {summary}")
    assert result.returncode == 0, output[-30000:]
    # Nothing silently skipped: the only skips are upstream's other-platform ones.
    skipped = re.findall(r"^SKIPPED .*$", output, re.MULTILINE)
    assert all(re.search(r"macOS only|Windows only|Posix only", line) for line in skipped), skipped
    assert re.search(r"\d+ passed", summary), summary
