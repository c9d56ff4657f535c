"""``python -m s3contents_rs check``: what an admin runs first.

It reads the configuration the Jupyter server would read, tries list / write / read /
checkpoint / delete against the bucket, and says in plain words what is wrong.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.timeout(120)


def run_check(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "s3contents_rs", "check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def trait_args(settings: dict, cls: str = "AsyncS3ContentsManager") -> list[str]:
    return [f"--{cls}.{name}={value}" for name, value in settings.items()]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_good_config_passes_and_leaves_nothing_behind(manager_kwargs, raw):
    result = run_check(*trait_args(manager_kwargs))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for step in (
        "list the root",
        "write a probe object",
        "read the probe back",
        "create, list and delete a checkpoint",
        "delete the probe object",
    ):
        assert f"ok      {step}" in out, out
    assert "All checks passed." in out
    assert raw.keys() == set(), "the probe or its checkpoint was left in the bucket"
    assert manager_kwargs["secret_access_key"] not in out


def test_config_file_is_read(manager_kwargs, tmp_path):
    config = tmp_path / "jupyter_server_config.py"
    lines = [
        "c = get_config()",
        "c.ServerApp.contents_manager_class = 's3contents_rs.S3ContentsManager'",
    ]
    lines += [f"c.S3ContentsManager.{k} = {v!r}" for k, v in manager_kwargs.items()]
    config.write_text("\n".join(lines) + "\n")
    result = run_check(f"--config={config}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Checking S3ContentsManager" in result.stdout


def test_missing_bucket_is_named(manager_kwargs):
    settings = dict(manager_kwargs, bucket=f"missing-{uuid.uuid4().hex[:16]}")
    result = run_check(*trait_args(settings))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert (
        f"FAILED  list the root: bucket '{settings['bucket']}' does not exist" in out
    ), out
    assert settings["bucket"] in out
    assert "ok      write" not in out


def test_unreachable_endpoint_is_explained(manager_kwargs):
    settings = dict(manager_kwargs, endpoint_url=f"http://127.0.0.1:{closed_port()}")
    result = run_check(*trait_args(settings))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"FAILED  list the root: cannot reach {settings['endpoint_url']}: " in out, (
        out
    )
    assert settings["endpoint_url"] in out
    assert manager_kwargs["secret_access_key"] not in out


def test_invalid_setting_is_reported_before_any_request(manager_kwargs):
    settings = dict(manager_kwargs, sse="rot13")
    result = run_check(*trait_args(settings))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "FAILED  configuration:" in out and "sse" in out, out


def test_help_all_lists_every_trait_with_help():
    """Every configurable trait of every exported manager/checkpoints class is listed, and
    each one this package defines has help text."""
    import s3contents_rs
    from traitlets.config import Configurable

    result = run_check("--help-all", timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    classes = [getattr(s3contents_rs, n) for n in s3contents_rs.__all__]
    classes = [
        c for c in classes if isinstance(c, type) and issubclass(c, Configurable)
    ]
    assert any(c.__name__ == "AsyncS3ContentsManager" for c in classes)
    missing_help = []
    for cls in classes:
        for name, trait in cls.class_traits(config=True).items():
            assert f"--{cls.__name__}.{name}=" in out, (
                f"{cls.__name__}.{name} not in --help-all"
            )
            own = (trait.this_class.__module__ or "").startswith("s3contents_rs")
            if own and not (trait.help or "").strip():
                missing_help.append(f"{cls.__name__}.{name}")
    assert not missing_help, f"traits without help text: {missing_help}"


def jupyter_s3contents(
    *args: str, via_jupyter: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess:
    """The installed console script, directly or as `jupyter s3contents` (which finds
    `jupyter-s3contents` next to `jupyter` on PATH)."""
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    script = bin_dir / "jupyter-s3contents"
    assert script.exists(), f"{script} is not installed (pyproject [project.scripts])"
    cmd = (
        [str(bin_dir / "jupyter"), "s3contents", *args]
        if via_jupyter
        else [str(script), *args]
    )
    import os

    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(
    "via_jupyter", [False, True], ids=["jupyter-s3contents", "jupyter s3contents"]
)
def test_jupyter_s3contents_help_all_lists_every_trait_with_its_help(via_jupyter):
    """`jupyter lab --help-all` cannot list a contents manager's traits (jupyter_server
    prints a fixed list of classes before loading any config); `jupyter s3contents
    --help-all` lists every configurable trait of every public class, with its help."""
    import s3contents_rs
    from traitlets.config import Configurable

    result = jupyter_s3contents("--help-all", via_jupyter=via_jupyter)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    flat = " ".join(out.split())
    classes = [getattr(s3contents_rs, n) for n in s3contents_rs.__all__]
    classes = [
        c for c in classes if isinstance(c, type) and issubclass(c, Configurable)
    ]
    assert {
        "AsyncS3ContentsManager",
        "S3ContentsManager",
        "S3Checkpoints",
        "AsyncGCSContentsManager",
    } <= {c.__name__ for c in classes}
    missing = []
    for cls in classes:
        traits = cls.class_traits(config=True)
        # (traitlets gives a class a section only when it has configurable traits.)
        assert not traits or f"\n{cls.__name__}(" in out, (
            f"no section for {cls.__name__}"
        )
        for name, trait in traits.items():
            if f"--{cls.__name__}.{name}=" not in out:
                missing.append(f"{cls.__name__}.{name}")
                continue
            help_words = (trait.help or "").split()[:8]
            own = (trait.this_class.__module__ or "").startswith("s3contents_rs")
            if own:
                assert help_words, f"{cls.__name__}.{name} has no help text"
            if help_words:
                assert " ".join(help_words) in flat, (
                    f"help of {cls.__name__}.{name} not shown"
                )
    assert not missing, f"not in --help-all: {missing}"
    # A trait this package defines, checked by hand: the option line then its help.
    section = out[out.index("--AsyncS3ContentsManager.max_checkpoints=") :]
    assert (
        "How many checkpoints to keep per file"
        in section.split("--AsyncS3ContentsManager.", 2)[1]
    )


def test_jupyter_s3contents_check_subcommand(manager_kwargs, raw):
    result = jupyter_s3contents(
        "check", *trait_args(manager_kwargs), via_jupyter=True, timeout=90
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "All checks passed." in out
    bad = jupyter_s3contents(
        "check", *trait_args(dict(manager_kwargs, sse="rot13")), timeout=90
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAILED  configuration:" in bad.stdout
