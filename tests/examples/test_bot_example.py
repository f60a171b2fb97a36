"""examples/bot.py: the scripted bot, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from connect_chat.emulator import AgentHandle, Emulator
from connect_chat.testing import wait_until
from tests.examples.support import EXAMPLES, example_env


def test_the_bot_plays_a_whole_conversation_on_its_own() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "bot.py")],
        env=example_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["Sam: Hello! How can I help?", "bot: My parcel hasn't arrived yet."]
    assert "bot: It's order 1234." in lines
    assert "bot: Tomorrow afternoon" in lines
    assert lines[-1].startswith("the bot left; contact ") and lines[-1].endswith(" is ENDED")


@contextmanager
def bot_in_chat(
    question_first: str | None = None,
) -> Iterator[tuple[Emulator, AgentHandle, str, subprocess.Popen[str]]]:
    """A chat with Sam in it (who may have asked ``question_first`` already), and
    ``examples/bot.py`` joining it as the customer, run as a user runs it (killed at the end
    of the block if it is still running)."""
    with Emulator() as emulator:
        details = emulator.start_chat(display_name="Ann")
        assert details.contact_id is not None
        agent = emulator.agent(details.contact_id)
        agent.join(display_name="Sam")
        if question_first is not None:
            agent.send_message(question_first)  # before the bot is there
        bot = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "bot.py"),
             "--participant-token", details.participant_token,
             "--endpoint-url", emulator.endpoint_url],
            env=example_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            yield emulator, agent, details.contact_id, bot
        finally:
            if bot.poll() is None:
                bot.kill()
            bot.communicate(timeout=10)


def customer_said(emulator: Emulator, contact_id: str) -> list[str]:
    return [i["Content"] for i in emulator.transcript(contact_id)
            if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]


def test_the_bot_joins_a_chat_started_elsewhere() -> None:
    with bot_in_chat() as (emulator, agent, cid, bot):
        wait_until(lambda: emulator.websocket_count(cid) > 0, timeout=30,
                   message="the bot's WebSocket")
        agent.send_message("What is your email?")
        wait_until(lambda: customer_said(emulator, cid) == ["ann@example.com"], timeout=10)
        agent.send_message("Thanks, goodbye!")
        assert bot.wait(timeout=30) == 0
        assert emulator.contact(cid)["State"] == "ENDED"


def test_the_bot_answers_the_question_waiting_when_it_joins() -> None:
    with bot_in_chat("Could you give me your order number?") as (emulator, agent, cid, bot):
        wait_until(lambda: customer_said(emulator, cid) == ["It's order 1234."], timeout=30,
                   message="the bot's answer to the waiting question")
        agent.send_message("Thanks, goodbye!")
        assert bot.wait(timeout=30) == 0
        assert customer_said(emulator, cid) == ["It's order 1234."]  # answered once
