"""Receipts: automatic Delivered receipts, one Read per window, the agent's receipts reported."""

from __future__ import annotations

import json
from typing import Any

from connect_chat import (
    ContentType,
    Features,
    GlobalConfig,
    Message,
    MessageReceipts,
    MessageReceiptType,
    MessageStatus,
)
from connect_chat.receipts import ReceiptOutcome
from tests.conftest import connected_session, fast, wait_until

READ = ContentType.MESSAGE_READ.value
DELIVERED = ContentType.MESSAGE_DELIVERED.value


def _config(config: GlobalConfig, *, enabled: bool = True, window: float = 0.3) -> GlobalConfig:
    return fast(config, delivered_receipt_delay=0.0, features=Features(
        message_receipts=MessageReceipts(should_send_message_receipts=enabled,
                                         throttle_time=window)))


def _receipts(emu: Any, contact_id: str, content_type: str) -> list[Any]:
    return [c for c in emu.calls("SendEvent", contact_id)
            if c.body.get("ContentType") == content_type]


def _message_ids(calls: list[Any]) -> list[str]:
    return [json.loads(c.body["Content"])["messageId"] for c in calls]


def test_hundred_messages_marked_read_in_one_window_make_one_read_send_event(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, _config(config), agent_joins=True) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        ids: list[str] = []
        tickets: list[Any] = []

        def on_message(item: Any) -> None:
            # All 100 requests from one callback: the window closes on this thread, after
            # the callback returns, so they certainly share one window.
            # (Only once: a status change re-delivers the message to this callback.)
            if isinstance(item, Message) and item.text == "m99" and not tickets:
                for message in session.transcript:
                    if isinstance(message, Message) and message.participant == "AGENT":
                        tickets.append(session.send_message_receipt(
                            MessageReceiptType.MESSAGE_READ, message))

        session.on_message_received = on_message
        ids = [agent.send_message(f"m{i}") for i in range(100)]
        wait_until(lambda: len(tickets) == 100, what="100 read requests")
        outcomes = [t.wait(5) for t in tickets]
        assert outcomes.count(ReceiptOutcome.SENT) == 1
        assert outcomes.count(ReceiptOutcome.SUPERSEDED) == 99
        reads = _receipts(emu, details.contact_id, READ)
        assert _message_ids(reads) == [ids[-1]]
        # ... and the Delivered receipts the SDK sent by itself never come after that Read.
        assert ids[-1] not in _message_ids(_receipts(emu, details.contact_id, DELIVERED))
        assert session.stats.receipts_sent >= 1
        assert session.stats.receipts_superseded >= 99
        # Every receipt has its own ClientToken (ChatJS's fixed token is a bug).
        later = agent.send_message("one more")
        wait_until(lambda: later in _message_ids(_receipts(emu, details.contact_id, DELIVERED)))
        receipts = [c for c in emu.calls("SendEvent", details.contact_id)
                    if c.body.get("ContentType") in (READ, DELIVERED)]
        tokens = [c.client_token for c in receipts]
        assert len(tokens) >= 2 and None not in tokens and len(set(tokens)) == len(tokens)


def test_delivered_receipts_are_sent_for_agent_messages_by_the_sdk(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, _config(config), agent_joins=True) as chat:
        details, agent = chat.details, chat.agent
        first = agent.send_message("hello")
        wait_until(lambda: first in _message_ids(_receipts(emu, details.contact_id, DELIVERED)),
                   what="an automatic Delivered receipt")
        # The service took it: the agent's message is recorded as delivered to the customer.
        stored = next(i for i in emu.transcript(details.contact_id) if i["Id"] == first)
        assert any(r.get("DeliveredTimestamp") for r in stored["MessageMetadata"]["Receipts"])
        assert _receipts(emu, details.contact_id, READ) == []


def test_disabled_receipts_send_nothing_but_the_agents_receipts_are_reported(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, _config(config, enabled=False), agent_joins=True, record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        incoming = agent.send_message("agent says hi")
        session.wait_for(lambda i: i.id == incoming, timeout=5)
        mine = session.send_message(ContentType.PLAIN_TEXT, "customer says hi")
        agent.send_receipt(mine.id, read=False)
        (delivered,) = recorder.wait("on_delivered_receipt")[0]
        assert delivered.id == mine.id and delivered.participant_id == agent.participant_id
        wait_until(lambda: any(i.id == mine.id and isinstance(i, Message)
                               and i.status is MessageStatus.DELIVERED
                               for i in session.transcript), what="status DELIVERED")
        agent.send_receipt(mine.id, read=True)
        (read,) = recorder.wait("on_read_receipt")[0]
        assert read.id == mine.id
        wait_until(lambda: any(i.id == mine.id and isinstance(i, Message)
                               and i.status is MessageStatus.READ
                               for i in session.transcript), what="status READ")
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, incoming)
        assert ticket.wait(1) is ReceiptOutcome.SUPPRESSED
        # Nothing was sent: no automatic Delivered, no Read.
        assert emu.calls("SendEvent", details.contact_id) == []
        assert session.stats.receipts_sent == 0 and session.stats.receipts_suppressed == 1


def test_each_reported_receipt_says_whose_it_is(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, _config(config), agent_joins=True, record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        incoming = agent.send_message("please read")
        item = session.wait_for(lambda i: i.id == incoming, timeout=5)
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, item)
        assert ticket.wait(5) is ReceiptOutcome.SENT
        # The service echoes the customer's receipt (as iOS, it is reported too), then the
        # agent reads the customer's message: participant_id tells them apart.
        (echo,) = recorder.wait("on_read_receipt")[0]
        assert (echo.id, echo.participant_id) == (incoming, details.participant_id)
        mine = session.send_message(ContentType.PLAIN_TEXT, "reply")
        agent.send_receipt(mine.id, read=True)
        reads = recorder.wait("on_read_receipt", count=2)
        assert (reads[1][0].id, reads[1][0].participant_id) == (mine.id, agent.participant_id)
        wait_until(lambda: all(i.status is MessageStatus.READ for i in session.transcript
                               if isinstance(i, Message) and i.id in (incoming, mine.id)))
