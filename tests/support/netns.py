"""Run a scenario inside a private network (and mount) namespace.

Some logins talk to addresses object_store fixes and a test cannot redirect: the ECS
task-role endpoint ``http://169.254.170.2``, Google's OAuth endpoint
``https://accounts.google.com``. Inside ``unshare -rn`` (a new user and network
namespace; ``-m`` adds a mount namespace) those addresses can be put on the namespace's own
loopback interface, and ``/etc/hosts`` can be replaced by a bind mount, without touching the
machine. Every server the scenario needs runs inside the namespace too (it has no route to
the outer loopback).

``run_in_namespace("module:function", params, ...)`` runs ``function(params)`` from a module
importable from ``tests/`` (``support.login_scenarios``) in a fresh Python process inside
the namespace and returns the JSON-able value it returned. Where namespaces are not
permitted, ``namespace_unavailable()`` says why and callers skip with that reason.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]


@functools.cache
def namespace_unavailable() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"the {tool!r} command is not installed"
    probe = [
        "unshare",
        "-rnm",
        "sh",
        "-c",
        "ip link set lo up && mount -t tmpfs none /mnt",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare -rnm failed to run: {e}"
    if done.returncode != 0:
        return f"unprivileged user/network/mount namespaces are not permitted here: {done.stderr.strip()}"
    return None


def run_in_namespace(
    target: str,
    params: dict,
    *,
    addresses: tuple[str, ...] = (),
    hosts: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> dict:
    """Call ``target`` ("module:function") with ``params`` in a new network namespace whose
    loopback also carries ``addresses``; ``hosts`` (name -> address) replaces /etc/hosts.
    Returns the function's result; raises AssertionError with the child's output on failure."""
    with tempfile.TemporaryDirectory(prefix="netns-") as tmp:
        work = Path(tmp)
        request = {
            "target": target,
            "params": params,
            "addresses": list(addresses),
            "result": str(work / "result.json"),
        }
        if hosts is not None:
            lines = ["127.0.0.1 localhost", "::1 localhost"] + [
                f"{ip} {name}" for name, ip in hosts.items()
            ]
            (work / "hosts").write_text("\n".join(lines) + "\n")
            request["hosts"] = str(work / "hosts")
        (work / "request.json").write_text(json.dumps(request))
        argv = [
            "unshare",
            "-rnm" if hosts is not None else "-rn",
            sys.executable,
            "-m",
            "support.netns",
            str(work / "request.json"),
        ]
        child_env = {
            **os.environ,
            **(env or {}),
            "PYTHONPATH": os.pathsep.join(
                [str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
            ),
        }
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=child_env
        )
        result_path = Path(request["result"])
        if done.returncode != 0 or not result_path.exists():
            raise AssertionError(
                f"{target} failed in the namespace (exit {done.returncode}):\n"
                f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-8000:]}"
            )
        return json.loads(result_path.read_text())


def _enter(request: dict) -> None:
    """Inside the namespace: bring loopback up, add the addresses, mount the hosts file."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for address in request["addresses"]:
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True)
    if request.get("hosts"):
        subprocess.run(["mount", "--bind", request["hosts"], "/etc/hosts"], check=True)


def _child(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text())
    _enter(request)
    module_name, _, function_name = request["target"].partition(":")
    try:
        result = getattr(importlib.import_module(module_name), function_name)(
            request["params"]
        )
    except BaseException:
        traceback.print_exc()
        return 1
    Path(request["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
