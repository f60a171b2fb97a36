"""examples/bot.py: the scripted bot, run as a user runs it.

The tests that put the bot in a chat started elsewhere run under the emulator's behaviour
matrix (issue 12), on one emulator shared by the module: the defaults, the all-flipped
``unusual`` profile, and each knob flipped alone where the bot's path meets it (the history
it reads when it joins, the subscription, repeated receipts). The other knobs concern drops,
paging and retried disconnects, which the bot never meets; ``unusual`` covers them anyway.
The fully scripted run uses the example's own embedded emulator (the defaults).

``examples/bot.py`` says goodbye (``disconnect()``) from its callback, while its main thread
may still be in ``connect()`` or in the send of ``answer_waiting()``: ``disconnect()`` ends
those with ``SessionClosedError`` and the bot exits with status 1. So the tests talk to the
bot only once its ``connect()`` has loaded its history page (the GetTranscript call), and the
waiting-question test asks one more question, answered from the callback, before goodbye.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from connect_chat.emulator import AgentHandle, Emulator
from connect_chat.emulator.behaviour import Behaviour
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


#: The behaviours each test runs under (pytest id, behaviour): the defaults, the knobs its
#: path meets, ``unusual``.
_JOINING = [("transcript_events=all", Behaviour(transcript_events="all")),
            ("customer_joined_at=subscribe", Behaviour(customer_joined_at="subscribe"))]
_TALKING = [("answer_subscribe=false", Behaviour(answer_subscribe=False)),
            ("rebroadcast_unchanged_receipts=true", Behaviour(rebroadcast_unchanged_receipts=True))]


def behaviours(*knobs: tuple[str, Behaviour]) -> pytest.MarkDecorator:
    cases: list[tuple[str, Behaviour | str]] = [("default", "default"), *knobs,
                                                ("unusual", "unusual")]
    return pytest.mark.parametrize(
        "behaviour", [b for _, b in cases], ids=[name for name, _ in cases])


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(shared_emulator: Emulator, behaviour: Behaviour | str) -> Iterator[Emulator]:
    """The module's emulator under this test's behaviour (back to the defaults after)."""
    shared_emulator.set_behaviour(behaviour)
    try:
        yield shared_emulator
    finally:
        shared_emulator.faults.clear()
        shared_emulator.set_behaviour("default")


@contextmanager
def bot_in_chat(
    emulator: Emulator, question_first: str | None = None,
) -> Iterator[tuple[Emulator, AgentHandle, str, subprocess.Popen[str]]]:
    """A chat with Sam in it (who may have asked ``question_first`` already), and
    ``examples/bot.py`` joining it as the customer, run as a user runs it (killed at the end
    of the block if it is still running)."""
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
        # connect() is over once its history page is answered (see the module docstring).
        wait_until(lambda: bool(emulator.calls("GetTranscript", details.contact_id)),
                   timeout=30, message="the bot's connect()")
        yield emulator, agent, details.contact_id, bot
    finally:
        if bot.poll() is None:
            bot.kill()
        bot.communicate(timeout=10)


def assert_exited_cleanly(bot: subprocess.Popen[str]) -> None:
    """The bot ended with status 0; if not, the failure shows what it printed."""
    status = bot.wait(timeout=30)
    if status != 0:
        out, err = bot.communicate(timeout=10)
        raise AssertionError(f"bot.py exited with {status}:\n{err[-4000:]}\n{out[-2000:]}")


def customer_said(emulator: Emulator, contact_id: str) -> list[str]:
    return [i["Content"] for i in emulator.transcript(contact_id)
            if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]


@behaviours(*_TALKING)
def test_the_bot_joins_a_chat_started_elsewhere(emulator: Emulator) -> None:
    with bot_in_chat(emulator) as (emulator, agent, cid, bot):
        agent.send_message("What is your email?")
        wait_until(lambda: customer_said(emulator, cid) == ["ann@example.com"], timeout=10)
        answer = [i["Id"] for i in emulator.transcript(cid)
                  if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]
        agent.send_receipt(answer[0], read=True)  # the bot's message goes READ ...
        agent.send_receipt(answer[0], read=True)  # ... and is pushed again if rebroadcast
        agent.send_message("Thanks, goodbye!")
        assert_exited_cleanly(bot)
        assert customer_said(emulator, cid) == ["ann@example.com"]  # answered once
        assert emulator.contact(cid)["State"] == "ENDED"


@behaviours(*_JOINING)
def test_the_bot_answers_the_question_waiting_when_it_joins(emulator: Emulator) -> None:
    question = "Could you give me your order number?"
    with bot_in_chat(emulator, question) as (emulator, agent, cid, bot):
        wait_until(lambda: customer_said(emulator, cid) == ["It's order 1234."], timeout=30,
                   message="the bot's answer to the waiting question")
        # The answer above was sent from the bot's main thread (answer_waiting); the next
        # one comes from its callback, after a whole round trip (see the module docstring).
        agent.send_message("What is your email?")
        wait_until(lambda: len(customer_said(emulator, cid)) == 2, timeout=10)
        agent.send_message("Thanks, goodbye!")
        assert_exited_cleanly(bot)
        assert customer_said(emulator, cid) == ["It's order 1234.", "ann@example.com"]
