"""Running Locust code in child processes: gevent's monkey-patching never reaches pytest."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_case(name: str, url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Run ``tests.locust.cases.case_<name>`` in a child process and return its result."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.locust.cases", name, url],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"case {name} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    return result


def free_port() -> int:
    """A TCP port free on loopback now (the master binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
