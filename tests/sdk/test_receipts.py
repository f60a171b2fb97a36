"""send_message_receipt: throttled read/delivered receipts with tickets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connect_chat import (
    ContentType,
    Features,
    GlobalConfig,
    MessageReceipts,
    MessageReceiptType,
)
from connect_chat.errors import InvalidInputError
from connect_chat.receipts import ReceiptOutcome
from tests.conftest import connected_session, fast, wait_until


def _receipt_config(config: GlobalConfig, enabled: bool = True) -> GlobalConfig:
    return fast(config, delivered_receipt_delay=0.0, features=Features(
        message_receipts=MessageReceipts(should_send_message_receipts=enabled,
                                         throttle_time=0.2)))


def test_one_read_receipt_per_window_for_the_newest_message(emu: Any,
                                                            config: GlobalConfig) -> None:
    with connected_session(emu, _receipt_config(config), agent_joins=True) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        tickets: dict[str, Any] = {}

        def on_message(item: Any) -> None:
            # Both requests from one callback: the window can only close on this thread,
            # after the callback returns, so they certainly share a window.
            if getattr(item, "text", None) == "two":
                tickets["older"] = session.send_message_receipt(
                    MessageReceiptType.MESSAGE_READ, first)
                tickets["newer"] = session.send_message_receipt(
                    MessageReceiptType.MESSAGE_READ, item)

        session.on_message_received = on_message
        first = agent.send_message("one")
        second = agent.send_message("two")
        session.wait_for(lambda i: i.id == second, timeout=5)
        wait_until(lambda: len(tickets) == 2)
        older, newer = tickets["older"], tickets["newer"]
        assert newer.wait(5) is ReceiptOutcome.SENT
        assert older.wait(5) is ReceiptOutcome.SUPERSEDED
        reads = [c for c in emu.calls("SendEvent", details.contact_id)
                 if c.body["ContentType"] == ContentType.MESSAGE_READ.value]
        assert [json.loads(c.body["Content"]) for c in reads] == [{"messageId": second}]
        mine = session.send_message(ContentType.PLAIN_TEXT, "mine")
        own = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, mine.id)
        assert own.wait(1) is ReceiptOutcome.SUPPRESSED
        with pytest.raises(InvalidInputError):
            session.send_message_receipt(ContentType.TYPING, second)


def test_receipts_disabled_sends_nothing(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, _receipt_config(config, enabled=False), agent_joins=True) as chat:
        session, details, agent = chat.session, chat.details, chat.agent
        mid = agent.send_message("one")
        item = session.wait_for(lambda i: i.id == mid, timeout=5)
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_DELIVERED, item)
        assert ticket.wait(1) is ReceiptOutcome.SUPPRESSED
        assert emu.calls("SendEvent", details.contact_id) == []


def test_pending_receipts_fail_when_the_session_ends(emu: Any, config: GlobalConfig) -> None:
    slow_receipts = Features(message_receipts=MessageReceipts(throttle_time=60.0))
    with connected_session(emu, fast(_receipt_config(config), features=slow_receipts),
                           agent_joins=True) as chat:
        session, agent = chat.session, chat.agent
        mid = agent.send_message("one")
        session.wait_for(lambda i: i.id == mid, timeout=5)
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, mid)
        session.reset()
        assert ticket.wait(2) is ReceiptOutcome.FAILED
