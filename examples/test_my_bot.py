"""How to test your own bot offline with connect-chat's pytest plugin.

Installing connect-chat registers the plugin: the ``connect_emulator`` fixture needs no
import or conftest. ``chat_with_agent`` connects a customer session to a new chat on the
emulator with an agent already in it; ``wait_until`` waits for what the session's threads
will do, with a deadline, instead of sleeping.

Run: ``pytest examples/test_my_bot.py`` (with the ``emulator`` extra installed).
"""

from __future__ import annotations

from bot import FALLBACK, Bot

from connect_chat import ContentType, GlobalConfig, Message, MessageStatus
from connect_chat.config import Features, MessageReceipts
from connect_chat.emulator import Emulator
from connect_chat.testing import chat_with_agent, wait_until


def customer_messages(emulator: Emulator, contact_id: str) -> list[str]:
    """What the customer (the bot) said, as the service stored it."""
    return [
        item["Content"]
        for item in emulator.transcript(contact_id)
        if item.get("ParticipantRole") == "CUSTOMER" and item.get("Type") == "MESSAGE"
    ]


def test_the_bot_gives_its_order_number(connect_emulator: Emulator) -> None:
    with chat_with_agent(connect_emulator, setup=Bot) as (_, agent):
        agent.send_message("What is your order number?")
        wait_until(
            lambda: "It's order 1234." in customer_messages(connect_emulator, agent.contact_id),
            timeout=10,
            message="the bot's answer",
        )


def test_the_bot_picks_its_preferred_slot(connect_emulator: Emulator) -> None:
    with chat_with_agent(connect_emulator, setup=Bot) as (_, agent):
        agent.send_interactive(
            {
                "templateType": "ListPicker",
                "version": "1.0",
                "data": {
                    "content": {
                        "title": "When?",
                        "elements": [{"title": "Saturday"}, {"title": "Tomorrow afternoon"}],
                    }
                },
            }
        )
        wait_until(
            lambda: customer_messages(connect_emulator, agent.contact_id)
            == ["Tomorrow afternoon"],
            timeout=10,
            message="the bot's choice",
        )


def test_the_bot_leaves_when_the_agent_says_goodbye(connect_emulator: Emulator) -> None:
    bots: list[Bot] = []
    with chat_with_agent(connect_emulator, setup=lambda s: bots.append(Bot(s))) as (_, agent):
        agent.send_message("Something odd")
        wait_until(lambda: FALLBACK in customer_messages(connect_emulator, agent.contact_id))
        agent.send_message("Goodbye!", ContentType.PLAIN_TEXT)
        assert bots[0].done.wait(10)
        wait_until(lambda: connect_emulator.contact(agent.contact_id)["State"] == "ENDED")


def test_the_bot_answers_once_when_the_message_is_receipted(connect_emulator: Emulator) -> None:
    # A receipt changes the message's status (on_message_updated, not a second
    # on_message_received): shorten the timings so the Delivered receipt goes out in the test.
    config = GlobalConfig(
        endpoint_url=connect_emulator.endpoint_url,
        delivered_receipt_delay=0.0,
        features=Features(message_receipts=MessageReceipts(throttle_time=0.1)),
    )
    with chat_with_agent(connect_emulator, config=config, setup=Bot) as (session, agent):
        question = agent.send_message("What is your order number?")

        def delivered() -> bool:
            item = next((i for i in session.transcript if i.id == question), None)
            return isinstance(item, Message) and item.status == MessageStatus.DELIVERED

        wait_until(delivered, timeout=10, message="the Delivered receipt")
        # Callbacks run one at a time, in order: once the bot has answered a later message,
        # it has long finished with the receipt's status change.
        agent.send_message("Thanks")
        wait_until(
            lambda: FALLBACK in customer_messages(connect_emulator, agent.contact_id),
            timeout=10,
            message="the answer to the next message",
        )
        assert customer_messages(connect_emulator, agent.contact_id) == [
            "It's order 1234.",
            FALLBACK,
        ]
