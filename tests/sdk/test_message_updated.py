"""``on_message_received`` once per item, ``on_message_updated`` for each real change
(issue 14, item 1).

Before, the SDK's own Delivered receipt came back as a status change that re-fired
``on_message_received`` with the same id, and own sends fired SENT twice: a bot written from
the README stored 5 replies for 4 agent messages (21 for 20).
"""

from __future__ import annotations

from typing import Any

from connect_chat import (
    ChatSession,
    ContentType,
    Features,
    GlobalConfig,
    Message,
    MessageReceipts,
    MessageStatus,
)
from tests.conftest import fast, wait_until


def _customer_texts(emu: Any, cid: str) -> list[str]:
    return [i["Content"] for i in emu.transcript(cid)
            if i.get("ParticipantRole") == "CUSTOMER" and i.get("Type") == "MESSAGE"]


def test_a_naive_bot_answers_each_agent_message_exactly_once(
        emu: Any, config: GlobalConfig) -> None:
    """The README's bot, with no set of handled ids: receipts (its own automatic Delivered
    ones, the agent's Read ones), the echoes of its replies and a reconnect with a gap fill
    in the middle, and still one answer per agent message."""
    session = ChatSession(fast(
        config,
        delivered_receipt_delay=0.0,
        features=Features(message_receipts=MessageReceipts(throttle_time=0.05)),
    ))
    updates: list[Any] = []

    def on_message_received(item: Any) -> None:  # what a new user writes
        if isinstance(item, Message) and item.participant == "AGENT":
            session.send_message(ContentType.PLAIN_TEXT, f"re: {item.text}")

    session.on_message_received = on_message_received
    session.on_message_updated = updates.append
    details = emu.start_chat()
    cid = details.contact_id
    agent = emu.agent(cid)
    agent.join()
    try:
        session.connect(details)
        questions = []
        for n in range(20):
            if n == 10:
                emu.faults.drop_websockets(cid)  # the next ones come by the gap fill
            questions.append(agent.send_message(f"question {n}"))
        wait_until(lambda: len(_customer_texts(emu, cid)) >= 20, timeout=30,
                   what="twenty answers")

        def receipted() -> bool:  # the bot's own Delivered receipt came back: a status change
            statuses = {i.id: i.status for i in session.transcript if isinstance(i, Message)}
            return statuses.get(questions[-1]) is MessageStatus.DELIVERED

        wait_until(receipted, timeout=15, what="the Delivered receipt of the last question")
        # Callbacks run in order: once "final" is answered, the bot is done with the status
        # change before it (which fired on_message_received again, before the fix).
        agent.send_message("final")
        wait_until(lambda: "re: final" in _customer_texts(emu, cid), what="the last answer")
        texts = _customer_texts(emu, cid)
        assert sorted(texts) == sorted([f"re: question {n}" for n in range(20)] + ["re: final"])
        assert session.stats.reconnects >= 1
        for mine in session.transcript:  # the agent reads every answer: updates, no answers
            if isinstance(mine, Message) and mine.participant == "CUSTOMER":
                agent.send_receipt(mine.id, read=True)
        wait_until(lambda: any(u.status is MessageStatus.READ and u.participant == "CUSTOMER"
                               for u in updates), what="a read receipt on an answer")
        assert len(_customer_texts(emu, cid)) == 21
    finally:
        session.reset()


def test_own_send_is_received_once_and_updated_once_per_change(
        emu: Any, config: GlobalConfig) -> None:
    session = ChatSession(config)
    calls: list[tuple[str, str, MessageStatus | None]] = []
    session.on_message_received = lambda i: calls.append(("received", i.id, i.status))
    session.on_message_updated = lambda i: calls.append(("updated", i.id, i.status))
    details = emu.start_chat()
    agent = emu.agent(details.contact_id)
    agent.join()
    try:
        session.connect(details)
        sent = session.send_message(ContentType.PLAIN_TEXT, "hello")
        agent.send_receipt(sent.id, read=False)
        agent.send_receipt(sent.id, read=False)  # again: changes nothing
        agent.send_receipt(sent.id, read=True)
        wait_until(lambda: ("updated", sent.id, MessageStatus.READ) in calls)
        wait_until(lambda: any(i.id == sent.id and i.participant_id for i in session.transcript),
                   what="the echo")
        mine = [c for c in calls if c[1] in (sent.id, sent.persistent_id)]
        assert mine == [
            ("received", sent.persistent_id, MessageStatus.SENDING),
            ("updated", sent.id, MessageStatus.SENT),
            ("updated", sent.id, MessageStatus.DELIVERED),
            ("updated", sent.id, MessageStatus.READ),
        ]
    finally:
        session.reset()
