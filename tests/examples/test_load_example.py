"""examples/load.py: the thin wrapper that runs examples/locustfile.py with Locust."""

from __future__ import annotations

import re
import subprocess
import sys

from connect_chat.emulator import Emulator
from tests.examples.support import EXAMPLES, example_env

STEPS = ("start_chat", "connect", "greet", "ask", "agent_joined", "send_attachment",
         "goodbye", "disconnect")


def run_load(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "load.py"), *argv],
        env=example_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def row(output: str, name: str) -> tuple[int, int] | None:
    """(requests, failures) of one step in Locust's summary table."""
    match = re.search(rf"^chat\s+{name}\s+(\d+)\s+(\d+)\(", output, re.MULTILINE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def test_against_a_standalone_emulator_every_step_runs_without_failure() -> None:
    with Emulator(agent="echo") as emulator:
        result = run_load("--users", "4", "--run-time", "4s", "--think-time", "0.1",
                          "--endpoint-url", emulator.endpoint_url)
        started = len(emulator.calls("StartChatContact"))
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    for step in STEPS:
        counts = row(output, step)
        assert counts is not None and counts[0] > 0 and counts[1] == 0, (step, output)
    assert started == row(output, "start_chat")[0]  # type: ignore[index]


def test_chats_that_get_no_answer_are_failures_and_the_exit_status_says_so() -> None:
    with Emulator() as emulator:  # no echo agent: nobody answers
        result = run_load("--users", "2", "--run-time", "3s", "--reply-timeout", "0.3",
                          "--endpoint-url", emulator.endpoint_url)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    greet = row(output, "greet")
    assert greet is not None and greet[0] == greet[1] > 0
    assert "TimeoutError" in output
