"""Exactly once across reconnects, under every behaviour the service reference leaves open.

The case that broke (issue 12): the newest item the session holds when the socket drops is
one the service does not keep in its transcript (a customer goes idle, then the network
drops). A catch-up anchored on that item found nothing, and everything said during the
outage was lost. Here every live-only event type (and a typing indicator and a receipt) is
the newest thing before an outage, over a real socket drop, and the message sent during the
outage must reach ``on_message_received`` and the transcript exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, Message, MessageReceiptType
from tests.conftest import Recorder, wait_until

#: Live-only events by the reference, with the participant they are about.
LIVE_ONLY_EVENTS: list[tuple[str, str]] = [
    (ContentType.PARTICIPANT_IDLE.value, "customer"),
    (ContentType.PARTICIPANT_RETURNED.value, "customer"),
    (ContentType.AUTO_DISCONNECTION.value, "agent"),
    (ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value, "agent"),
    (ContentType.CHAT_REHYDRATED.value, "system"),
    (ContentType.AUTHENTICATION_INITIATED.value, "system"),
    (ContentType.AUTHENTICATION_SUCCESSFUL.value, "system"),
    (ContentType.AUTHENTICATION_FAILED.value, "system"),
    (ContentType.AUTHENTICATION_TIMEOUT.value, "system"),
    (ContentType.AUTHENTICATION_EXPIRED.value, "system"),
    (ContentType.AUTHENTICATION_CANCELLED.value, "system"),
]


def received(recorder: Recorder, item_id: str) -> int:
    return sum(1 for (item,) in recorder.args("on_message_received") if item.id == item_id)


def in_transcript(session: ChatSession, item_id: str) -> int:
    return sum(1 for item in session.transcript if item.id == item_id)


def outage(emu: Any, recorder: Recorder, contact_id: str, during: Callable[[], str]) -> str:
    """Drop the socket, keep it down while ``during()`` runs, let it come back."""
    broken = recorder.count("on_connection_broken")
    back = recorder.count("on_connection_reestablished")
    emu.faults.http_errors(status=500, rate=1.0, operations=["CreateParticipantConnection"])
    assert emu.faults.drop_websockets(contact_id) == 1
    recorder.wait("on_connection_broken", count=broken + 1)
    sent = during()
    emu.faults.clear()
    recorder.wait("on_connection_reestablished", count=back + 1, timeout=10)
    return sent


def test_a_live_only_newest_item_loses_nothing_across_a_drop(
    emu: Any, session: ChatSession
) -> None:
    details = emu.start_chat(display_name="Ann")
    cid = details.contact_id
    agent = emu.agent(cid)
    agent.join(display_name="Sam")
    recorder = Recorder(session)
    session.connect(details)
    delivered: list[str] = []

    def last_thing(label: str, make: Callable[[], None]) -> None:
        first = agent.send_message(f"before {label}")
        recorder.wait("on_message_received", where=lambda item: item.id == first)
        delivered.append(first)
        make()
        missed = outage(emu, recorder, cid, lambda: agent.send_message(f"during {label}"))
        recorder.wait("on_message_received", where=lambda item: item.id == missed, timeout=10)
        delivered.append(missed)

    for content_type, subject in LIVE_ONLY_EVENTS:
        def event(content_type: str = content_type, subject: str = subject) -> None:
            if subject == "system":
                event_id = emu.system_event(cid, content_type)
            else:
                pid = "customer" if subject == "customer" else agent.participant_id
                event_id = emu.emit_event(cid, content_type, participant_id=pid)
            recorder.wait("on_message_received", where=lambda item: item.id == event_id)

        last_thing(content_type.rsplit(".", 2)[-2] + "." + content_type.rsplit(".", 1)[-1], event)

    def typing() -> None:
        count = recorder.count("on_typing")
        agent.send_event(ContentType.TYPING)
        recorder.wait("on_typing", count=count + 1)

    last_thing("typing", typing)

    def own_message_read() -> None:
        own = session.send_message(ContentType.PLAIN_TEXT, "mine").id
        agent.send_receipt(own, read=True)
        wait_until(lambda: recorder.count("on_read_receipt") > 0, what="the read receipt")

    last_thing("a receipt", own_message_read)

    # Each message once, to the callback and in the transcript, in the order sent.
    for item_id in delivered:
        assert received(recorder, item_id) == 1, item_id
        assert in_transcript(session, item_id) == 1, item_id
    agent_ids = [
        item.id for (item,) in recorder.args("on_message_received")
        if isinstance(item, Message) and item.participant == "AGENT"
    ]
    assert agent_ids == delivered
    assert session.is_chat_session_active()


def test_a_receipt_read_during_the_outage_is_not_a_new_message(
    emu: Any, session: ChatSession
) -> None:
    details = emu.start_chat()
    agent = emu.agent(details.contact_id)
    agent.join()
    recorder = Recorder(session)
    session.connect(details)
    incoming = agent.send_message("read me")
    recorder.wait("on_message_received", where=lambda item: item.id == incoming)
    session.send_message_receipt(MessageReceiptType.MESSAGE_READ, incoming)
    missed = outage(emu, recorder, details.contact_id, lambda: agent.send_message("missed"))
    recorder.wait("on_message_received", where=lambda item: item.id == missed, timeout=10)
    assert received(recorder, incoming) == 1
    assert received(recorder, missed) == 1
    assert in_transcript(session, missed) == 1


@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
def test_many_messages_missed_arrive_once_in_order_whatever_the_page_size(
    emu: Any, config: Any, page_size: int
) -> None:
    import attrs

    session = ChatSession(attrs.evolve(config, gap_fill_page_size=page_size))
    try:
        details = emu.start_chat()
        agent = emu.agent(details.contact_id)
        agent.join()
        recorder = Recorder(session)
        session.connect(details)
        emu.emit_event(details.contact_id, ContentType.PARTICIPANT_IDLE.value,
                       participant_id="customer")
        recorder.wait("on_participant_idle")

        def burst() -> str:
            ids = [agent.send_message(f"m{n}") for n in range(7)]
            burst_ids.extend(ids)
            return ids[-1]

        burst_ids: list[str] = []
        last = outage(emu, recorder, details.contact_id, burst)
        recorder.wait("on_message_received", where=lambda item: item.id == last, timeout=10)
        got = [item.id for (item,) in recorder.args("on_message_received")
               if item.id in burst_ids]
        assert got == burst_ids
    finally:
        session.reset()
