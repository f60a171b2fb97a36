"""examples/load.py: many chats at once, against the embedded or a standalone emulator."""

from __future__ import annotations

import re
import subprocess
import sys

from connect_chat.emulator import Emulator
from tests.examples.support import EXAMPLES, example_env


def run_load(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "load.py"), *argv],
        env=example_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_many_chats_against_the_embedded_emulator() -> None:
    result = run_load("--chats", "6", "--messages", "2", "--concurrency", "3")
    assert result.returncode == 0, result.stderr
    assert "chats: 6 ok, 0 failed (3 at a time)" in result.stdout
    assert re.search(r"messages: 12 round trips in [\d.]+ s", result.stdout)
    assert re.search(r"round trip: p50 [\d.]+ ms, p95 [\d.]+ ms", result.stdout)


def test_against_a_standalone_emulator_every_chat_is_started_there() -> None:
    with Emulator(agent="echo") as emulator:
        result = run_load("--chats", "3", "--messages", "1",
                          "--endpoint-url", emulator.endpoint_url)
        assert result.returncode == 0, result.stderr
        assert len(emulator.calls("StartChatContact")) == 3
        assert len(emulator.contact_ids()) == 3
        assert all(emulator.contact(c)["State"] == "ENDED" for c in emulator.contact_ids())


def test_chats_that_get_no_answer_are_reported_as_failed() -> None:
    with Emulator() as emulator:  # no echo agent: nobody answers
        result = run_load("--chats", "2", "--messages", "1", "--timeout", "0.2",
                          "--endpoint-url", emulator.endpoint_url)
    assert result.returncode == 1
    assert "chats: 0 ok, 2 failed" in result.stdout
    assert "failed: TimeoutError" in result.stderr
