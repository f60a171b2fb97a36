"""Issue point 5: network calls for read receipts of 100 agent messages in one window.

Two chats on an in-process emulator, each receiving ``messages`` agent messages in a burst
(well inside one throttle window):

- SDK: a ``ChatSession`` with the default receipt settings whose ``on_message_received``
  calls ``send_message_receipt(MESSAGE_READ, item)`` for every agent message, as a UI
  marking each message read when shown does.
- baseline: the naive client: a bare socket, and for every agent message a botocore
  ``SendEvent`` with the read receipt.

The figure is the number of SendEvent requests the emulator answered for each chat (its call
log), counted once every receipt ticket is resolved and the window has closed.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from benchmarks.support import Outcome, ratio
from benchmarks.wire import BaselineReader, open_subscribed, participant_client

READ = "application/vnd.amazonaws.connect.event.message.read"
TARGET_CALLS = 1


def run(messages: int = 100, window: float | None = None) -> Outcome:
    """``window``: the receipt throttle window (``None``: the SDK's default)."""
    import attrs

    from connect_chat import (
        ChatSession,
        Features,
        GlobalConfig,
        Message,
        MessageReceipts,
        MessageReceiptType,
    )
    from connect_chat.emulator import Emulator

    out = Outcome("receipts", params={"messages": messages, "window": window})
    tickets: list[Any] = []
    tickets_lock = threading.Lock()
    with Emulator() as emu:
        config = GlobalConfig(endpoint_url=emu.endpoint_url)
        if window is not None:
            receipts = MessageReceipts(throttle_time=window)
            config = attrs.evolve(config, features=Features(message_receipts=receipts))
        window = config.features.message_receipts.throttle_time
        sdk_chat = emu.start_chat(display_name="Receipts SDK")
        base_chat = emu.start_chat(display_name="Receipts naive")
        sdk_agent = emu.agent(str(sdk_chat.contact_id))
        base_agent = emu.agent(str(base_chat.contact_id))
        sdk_agent.join(display_name="Agent")
        base_agent.join(display_name="Agent")

        session = ChatSession(config)

        def on_message(item: Any) -> None:
            if isinstance(item, Message) and item.participant == "AGENT":
                ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, item)
                with tickets_lock:
                    tickets.append(ticket)

        session.on_message_received = on_message
        session.connect(sdk_chat)

        client = participant_client(emu.endpoint_url)
        ws, connection_token = open_subscribed(emu.endpoint_url, base_chat.participant_token)
        naive_done = threading.Semaphore(0)

        def on_naive(inner: dict[str, Any], _: float) -> None:
            if inner.get("Type") == "MESSAGE" and inner.get("ParticipantRole") == "AGENT":
                client.send_event(
                    ConnectionToken=connection_token,
                    ContentType=READ,
                    Content=json.dumps({"messageId": inner["Id"]}),
                )
                naive_done.release()

        reader = BaselineReader(ws, on_naive)
        reader.start()
        emu.clear_calls()
        start = time.monotonic()
        for i in range(messages):
            sdk_agent.send_message(f"receipt me {i}")
            base_agent.send_message(f"receipt me {i}")
        burst = time.monotonic() - start
        for _ in range(messages):
            naive_done.acquire(timeout=30)
        deadline = time.monotonic() + window + 30
        while True:
            with tickets_lock:
                pending = [t for t in tickets if not t.done]
                got = len(tickets)
            if (got >= messages and not pending) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # let the emulator log the last request
        sdk_calls = emu.calls("SendEvent", sdk_chat.contact_id)
        base_calls = emu.calls("SendEvent", base_chat.contact_id)
        outcomes: dict[str, int] = {}
        with tickets_lock:
            for ticket in tickets:
                key = str(ticket.outcome)
                outcomes[key] = outcomes.get(key, 0) + 1
        session.reset()
        reader.close()
    out.add(
        f"SendEvent calls per {messages} read messages", float(len(sdk_calls)),
        baseline=float(len(base_calls)), ratio=ratio(len(sdk_calls), len(base_calls)),
        target=f"sdk == {TARGET_CALLS}", met=len(sdk_calls) == TARGET_CALLS, unit="calls",
    )
    out.details = {
        "burst_seconds": burst,
        "window_seconds": window,
        "sdk_ticket_outcomes": outcomes,
        "sdk_calls_by_content_type": _by_type(sdk_calls),
        "baseline_calls_by_content_type": _by_type(base_calls),
    }
    return out


def _by_type(calls: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        key = str(call.body.get("ContentType"))
        counts[key] = counts.get(key, 0) + 1
    return counts
