"""Helpers for the tests that run the examples (each example runs against the emulator)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_env(**extra: str) -> dict[str, str]:
    """The environment an example runs in: this checkout importable, nothing buffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextmanager
def serving(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float = 30.0
) -> Iterator[str]:
    """Run a server process until the block ends; yields the URL it prints as
    ``listening on <url>``."""
    process = subprocess.Popen(
        [sys.executable, *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no 'listening on' within {timeout} s: {output}") from None
            if line is None:
                raise AssertionError(f"server exited early: {''.join(output)}")
            if line.startswith("listening on "):
                yield line.split("listening on ", 1)[1].strip()
                break
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
