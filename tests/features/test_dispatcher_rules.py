"""Dispatcher rules behind the features, fed frames the emulator cannot produce."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connect_chat.dispatcher import Dispatcher
from connect_chat.enums import ContentType, MessageDirection, MessageStatus
from connect_chat.inbox import (
    Call,
    EndSession,
    HistoryPage,
    LocalKind,
    LocalUpdate,
    Outcome,
    RawFrame,
)
from connect_chat.models import Message, Metadata
from connect_chat.parsing import TranscriptPage, parse_transcript_page
from connect_chat.streams import Subscribers
from connect_chat.transcript import Transcript

ME = "customer-1"


class Callbacks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args[0] if args else None))


def _empty() -> TranscriptPage:
    return TranscriptPage(items=(), next_token=None, initial_contact_id="")


@contextmanager
def dispatcher() -> Iterator[tuple[Dispatcher, Callbacks, list[Message]]]:
    callbacks = Callbacks()
    incoming: list[Message] = []
    inbox: queue.Queue[object] = queue.Queue()
    d = Dispatcher(name="connect-chat-dispatch-rules", inbox=inbox, transcript=Transcript(),
                   callbacks=callbacks, subscribers=Subscribers(),
                   fetch_older=lambda token: _empty(),
                   on_active=lambda: None, on_ended=lambda: None,
                   own_participant_id=ME, on_incoming_message=incoming.append)
    d.start()
    try:
        yield d, callbacks, incoming
    finally:
        d._running = False
        inbox.put(Call(lambda: None))
        d.join(2.0)


def drain(d: Dispatcher) -> None:
    done = threading.Event()
    d.post(Call(done.set))
    assert done.wait(10.0)


def item(n: int, kind: str, content_type: str, *, pid: str | None, role: str | None,
         name: str | None = None, content: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"AbsoluteTime": f"2026-01-01T00:00:{n:02d}.000Z",
                           "ContentType": content_type, "Id": f"id-{n}", "Type": kind}
    for key, value in (("ParticipantId", pid), ("ParticipantRole", role),
                       ("DisplayName", name), ("Content", content)):
        if value is not None:
            out[key] = value
    return out


def frame(inner: dict[str, Any]) -> RawFrame:
    return RawFrame(json.dumps({"topic": "aws/chat", "contentType": "application/json",
                                "content": json.dumps(inner)}))


TEXT = ContentType.PLAIN_TEXT.value


def test_a_message_without_a_name_gets_the_senders_current_name() -> None:
    with dispatcher() as (d, _callbacks, _incoming):
        d.post(frame(item(1, "EVENT", ContentType.JOINED.value, pid="a", role="AGENT",
                          name="Sam")))
        d.post(frame(item(2, "EVENT", ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value,
                          pid="a", role="AGENT", name="Samuel")))
        d.post(frame(item(3, "MESSAGE", TEXT, pid="a", role="AGENT", content="hi")))
        # An older page of history naming "Sam" does not undo the newer rename.
        page = parse_transcript_page({"Transcript": [
            item(0, "EVENT", ContentType.JOINED.value, pid="a", role="AGENT", name="Sam")]})
        d.post(HistoryPage(page=page, scan_direction="BACKWARD", start_position_given=False))
        drain(d)
        (message,) = [i for i in d.view if isinstance(i, Message)]
        assert message.display_name == "Samuel"
        assert d.participants_view["a"].display_name == "Samuel"


def test_only_other_participants_messages_count_as_incoming() -> None:
    with dispatcher() as (d, _callbacks, incoming):
        d.post(frame(item(1, "MESSAGE", TEXT, pid="a", role="AGENT", content="agent")))
        d.post(frame(item(2, "MESSAGE", TEXT, pid=ME, role="CUSTOMER", content="mine")))
        d.post(frame(item(3, "MESSAGE", ContentType.INTERACTIVE_TEXT.value, pid="bot",
                          role="SYSTEM", content="{}")))
        d.post(frame(item(4, "EVENT", ContentType.JOINED.value, pid="a", role="AGENT")))
        d.post(frame(item(1, "MESSAGE", TEXT, pid="a", role="AGENT", content="agent")))  # dup
        drain(d)
        assert [m.id for m in incoming] == ["id-1", "id-3"]
        assert d.stats.messages_received == 2


def test_every_receipt_is_reported_with_its_recipient() -> None:
    with dispatcher() as (d, callbacks, _incoming):
        meta = {"AbsoluteTime": "2026-01-01T00:00:05.000Z", "Id": "meta-1",
                "ContentType": ContentType.META_DATA.value, "Type": "MESSAGEMETADATA",
                "MessageMetadata": {"MessageId": "m", "Receipts": [
                    {"ReadTimestamp": "2026-01-01T00:00:05.000Z", "RecipientParticipantId": ME},
                    {"DeliveredTimestamp": "2026-01-01T00:00:05.000Z",
                     "RecipientParticipantId": "a"}]}}
        d.post(frame(meta))
        drain(d)
        receipts = [(n, e.participant_id) for n, e in callbacks.calls
                    if n in ("on_read_receipt", "on_delivered_receipt")]
        assert receipts == [("on_read_receipt", ME), ("on_delivered_receipt", "a")]


def _latest_page(*items: dict[str, Any]) -> HistoryPage:
    """The newest page of history (no token, no start position), as connect() loads it."""
    page = parse_transcript_page({"Transcript": list(items)})
    return HistoryPage(page=page, scan_direction="BACKWARD", start_position_given=False)


def received(callbacks: Callbacks) -> list[tuple[str, bool]]:
    return [(i.id, i.is_from_history) for n, i in callbacks.calls if n == "on_message_received"]


def test_a_live_message_that_the_first_history_page_got_first_is_still_received() -> None:
    # connect() subscribes, then loads the newest history page: a message sent in between
    # is in that page AND on its way as a live frame. Whichever is merged first, the
    # program hears of it once, as a live message.
    agent_message = item(2, "MESSAGE", TEXT, pid="a", role="AGENT", content="What's your email?")
    joined = item(1, "EVENT", ContentType.JOINED.value, pid="a", role="AGENT", name="Sam")
    for history_first in (True, False):
        with dispatcher() as (d, callbacks, incoming):
            if history_first:
                d.post(_latest_page(joined, agent_message))
            d.post(frame(agent_message))
            if not history_first:
                d.post(_latest_page(joined, agent_message))
            drain(d)
            assert received(callbacks) == [("id-2", False)], history_first
            assert [m.id for m in incoming] == ["id-2"]
            assert d.stats.messages_received == 1
            (stored,) = [i for i in d.view if isinstance(i, Message)]
            assert not stored.is_from_history
            # The join event came only with the history page: no live callback for it.
            assert not [n for n, _ in callbacks.calls if n == "on_participant_joined"]


def test_history_alone_fires_no_message_callbacks_and_a_repeated_frame_fires_once() -> None:
    agent_message = item(2, "MESSAGE", TEXT, pid="a", role="AGENT", content="hello")
    with dispatcher() as (d, callbacks, incoming):
        d.post(_latest_page(agent_message))
        drain(d)
        assert received(callbacks) == []
        d.post(frame(agent_message))
        d.post(frame(agent_message))  # the same frame again (a reconnect overlap)
        d.post(_latest_page(agent_message))  # and the same page again
        drain(d)
        assert received(callbacks) == [("id-2", False)]
        assert [m.id for m in incoming] == ["id-2"]


def test_an_older_history_page_does_not_wait_for_live_copies() -> None:
    # Only the newest page can race with live frames; a page asked for with a token or a
    # start position holds older items, and a live frame for one of those is a duplicate.
    old = item(1, "MESSAGE", TEXT, pid="a", role="AGENT", content="old")
    with dispatcher() as (d, callbacks, _incoming):
        page = parse_transcript_page({"Transcript": [old]})
        d.post(HistoryPage(page=page, scan_direction="BACKWARD", start_position_given=False,
                           requested_token="token-1"))
        d.post(frame(old))
        drain(d)
        assert received(callbacks) == []


def test_a_receipt_for_a_history_message_does_not_make_it_new() -> None:
    # A MESSAGEMETADATA item carries the id of the message it is about: the customer's
    # read receipt for an old message must not announce that message as just arrived.
    old = item(2, "MESSAGE", TEXT, pid="a", role="AGENT", content="from before")
    receipt = {"AbsoluteTime": "2026-01-01T00:00:09.000Z", "Id": "meta-9",
               "ContentType": ContentType.META_DATA.value, "Type": "MESSAGEMETADATA",
               "MessageMetadata": {"MessageId": "id-2", "Receipts": [
                   {"ReadTimestamp": "2026-01-01T00:00:09.000Z", "RecipientParticipantId": ME}]}}
    with dispatcher() as (d, callbacks, incoming):
        d.post(_latest_page(old))
        d.post(frame(receipt))
        drain(d)
        assert incoming == []
        assert d.stats.messages_received == 0
        # The status change itself is reported as an update (with the new status).
        assert [i for n, i in callbacks.calls if n == "on_message_received"] == []
        changes = [i for n, i in callbacks.calls if n == "on_message_updated"]
        assert [(m.id, m.status) for m in changes] == [("id-2", MessageStatus.READ)]


def _sending(local_id: str) -> Message:
    stamp = "2026-01-01T00:00:00.000Z"
    return Message(id=local_id, time_stamp=stamp, content_type=TEXT, participant="CUSTOMER",
                   text="in flight", message_direction=MessageDirection.OUTGOING,
                   metadata=Metadata(id=local_id, time_stamp=stamp, content_type=TEXT,
                                     status=MessageStatus.SENDING))


def test_an_update_queued_as_the_thread_stops_is_still_applied_and_answered() -> None:
    """A send's FAILED update queued just before the dispatcher stopped (``reset()`` during
    the send) is applied and its waiter woken at once: before, nobody handled it and the
    send's caller waited ``join_timeout`` (a CI failure of the cancel tests under load)."""
    with dispatcher() as (d, _, _):
        d.post(LocalUpdate(LocalKind.PLACEHOLDER, _sending("local-1")))
        hold, holding = threading.Event(), threading.Event()
        d.post(Call(lambda: (holding.set(), hold.wait(10.0))))  # the thread is busy...
        assert holding.wait(10.0)
        d.post(EndSession(chat_ended=False))  # ...the stop is queued first...
        outcome = Outcome()
        d.post(LocalUpdate(LocalKind.FAILED, _sending("local-1"), outcome=outcome))  # ...then
        hold.set()
        assert outcome.done.wait(5.0), "the FAILED update was left in the stopped inbox"
        assert isinstance(outcome.item, Message)
        assert outcome.item.status is MessageStatus.FAILED
        d.join(5.0)
        assert not d.thread.is_alive()


def test_a_history_page_queued_as_the_thread_stops_wakes_its_waiter() -> None:
    with dispatcher() as (d, _, _):
        hold, holding = threading.Event(), threading.Event()
        d.post(Call(lambda: (holding.set(), hold.wait(10.0))))
        assert holding.wait(10.0)
        d.post(EndSession(chat_ended=False))
        done = threading.Event()
        d.post(HistoryPage(page=_empty(), scan_direction="BACKWARD", start_position_given=False,
                           done=done))
        hold.set()
        assert done.wait(5.0), "a history page's waiter was left waiting on a stopped inbox"
