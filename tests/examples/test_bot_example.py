"""examples/bot.py: the scripted bot, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from connect_chat.emulator import Emulator
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


def test_the_bot_joins_a_chat_started_elsewhere() -> None:
    with Emulator() as emulator:
        details = emulator.start_chat(display_name="Ann")
        assert details.contact_id is not None
        agent = emulator.agent(details.contact_id)
        agent.join(display_name="Sam")
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
            wait_until(lambda: emulator.websocket_count(details.contact_id) > 0, timeout=30,
                       message="the bot's WebSocket")
            agent.send_message("What is your email?")

            def customer_said() -> list[str]:
                return [i["Content"] for i in emulator.transcript(details.contact_id)
                        if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]

            wait_until(lambda: customer_said() == ["ann@example.com"], timeout=10)
            agent.send_message("Thanks, goodbye!")
            assert bot.wait(timeout=30) == 0
        finally:
            if bot.poll() is None:
                bot.kill()
            bot.communicate(timeout=10)
        assert emulator.contact(details.contact_id)["State"] == "ENDED"


def test_the_bot_answers_the_question_waiting_when_it_joins() -> None:
    with Emulator() as emulator:
        details = emulator.start_chat(display_name="Ann")
        assert details.contact_id is not None
        agent = emulator.agent(details.contact_id)
        agent.join(display_name="Sam")
        agent.send_message("Could you give me your order number?")  # before the bot is there
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
            def customer_said() -> list[str]:
                return [i["Content"] for i in emulator.transcript(details.contact_id)
                        if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]

            wait_until(lambda: customer_said() == ["It's order 1234."], timeout=30,
                       message="the bot's answer to the waiting question")
            agent.send_message("Thanks, goodbye!")
            assert bot.wait(timeout=30) == 0
        finally:
            if bot.poll() is None:
                bot.kill()
            bot.communicate(timeout=10)
        assert customer_said() == ["It's order 1234."]  # answered once
