"""One version, set in Cargo.toml ([workspace.package] version): the extension's
``__version__``, the installed distribution's metadata (maturin reads Cargo.toml),
``python -m s3contents_rs --version`` and the manager's ``info_string()``, the line jupyter_server logs at start-up."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version as dist_version
from pathlib import Path

import s3contents_rs

ROOT = Path(__file__).resolve().parents[1]


def cargo_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    section = text.split("[workspace.package]", 1)[1].split("\n[", 1)[0]
    found = re.search(r'^version\s*=\s*"([^"]+)"', section, re.M)
    assert found, "no version in Cargo.toml's [workspace.package]"
    return found.group(1)


def test_the_version_is_the_one_in_cargo_toml():
    assert s3contents_rs.__version__ == cargo_version()
    assert dist_version("s3contents-rs") == cargo_version()


def test_python_m_s3contents_rs_version_prints_it():
    out = subprocess.run(
        [sys.executable, "-m", "s3contents_rs", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.strip() == f"s3contents_rs {cargo_version()}"


def test_the_info_string_jupyter_server_logs_gives_version_and_store(make_cm, manager_class, manager_kwargs):
    expected = (
        f"s3contents_rs {cargo_version()}: {manager_class.__name__} on "
        f"s3://{manager_kwargs['bucket']}/{manager_kwargs['prefix'].strip('/')}"
    )
    assert make_cm().info_string() == expected
