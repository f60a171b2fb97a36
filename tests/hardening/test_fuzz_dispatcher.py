"""Fuzzing the dispatcher: hostile frames and pages never escape, stop it, or go uncounted.

Issue 8, point 1 (dispatcher half): each unusable frame is dropped, logged exactly once and
counted in ``SessionStats.bad_frames``; each unreadable GetTranscript item is counted in
``SessionStats.bad_history_items`` (one log record per page); the thread keeps running and
every well-formed item that came with the junk is in the transcript.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect_chat.dispatcher import Dispatcher
from connect_chat.enums import ContentType
from connect_chat.inbox import Call, HistoryPage, RawFrame
from connect_chat.log_limits import DEFAULT_BURST
from connect_chat.parsing import TranscriptPage, parse_transcript_page
from connect_chat.streams import Subscribers
from connect_chat.transcript import Transcript
from tests.hardening.strategies import (
    bad_frames,
    chat_frame,
    confused_items,
    good_items,
    json_values,
)
from tests.hardening.support import Capture, capture_logs, fuzz

ENDED = ContentType.ENDED.value


class Callbacks:
    """Counts deliveries; every other callback name reads as ``None``."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def on_message_received(self, item: Any) -> None:
        self.received.append(item)

    def __getattr__(self, name: str) -> None:
        return None


def _empty_page() -> TranscriptPage:
    return TranscriptPage(items=(), next_token=None, initial_contact_id="")


@contextmanager
def running_dispatcher() -> Iterator[tuple[Dispatcher, Callbacks]]:
    callbacks = Callbacks()
    inbox: queue.Queue[object] = queue.Queue(maxsize=100_000)
    dispatcher = Dispatcher(
        name="connect-chat-dispatch-fuzz",
        inbox=inbox,
        transcript=Transcript(),
        callbacks=callbacks,
        subscribers=Subscribers(),
        fetch_older=lambda token: _empty_page(),
        on_active=lambda: None,
        on_ended=lambda: None,
    )
    dispatcher.start()
    try:
        yield dispatcher, callbacks
    finally:
        dispatcher._running = False
        inbox.put(Call(lambda: None))
        dispatcher.join(2.0)


def drain(dispatcher: Dispatcher) -> None:
    """Wait until everything posted so far was handled (fails instead of hanging)."""
    done = threading.Event()
    dispatcher.post(Call(done.set))
    assert done.wait(10.0), "the dispatcher stopped handling its inbox"


def _not_ending(inner: dict[str, Any]) -> dict[str, Any]:
    if inner.get("ContentType") == ENDED:  # a chat.ended frame rightly stops the dispatcher
        inner["ContentType"] = ContentType.JOINED.value
    return inner


tagged_frames = st.lists(
    st.one_of(
        bad_frames().map(lambda text: ("bad", text)),
        good_items().map(lambda inner: ("good", inner)),
        confused_items().map(lambda inner: ("confused", inner)),
    ),
    max_size=25,
)


def _malformed_records(capture: Capture) -> list[logging.LogRecord]:
    return capture.matching("connect_chat.dispatcher", contains="malformed")


@fuzz(300)
@given(tagged_frames)
def test_hostile_frames_are_dropped_logged_once_counted(frames: list[tuple[str, Any]]) -> None:
    expected_bad = sum(kind == "bad" for kind, _ in frames)
    confused = sum(kind == "confused" for kind, _ in frames)
    stored_ids = []
    with capture_logs() as capture, running_dispatcher() as (dispatcher, _callbacks):
        for n, (kind, value) in enumerate(frames):
            if kind == "bad":
                text = value
            else:
                inner = _not_ending(value)
                if kind == "good":
                    inner["Id"] = f"good-{n}"
                    if inner["Type"] in ("MESSAGE", "ATTACHMENT") or (
                        inner["Type"] == "EVENT"
                        and inner["ContentType"] != ContentType.TYPING.value
                    ):
                        stored_ids.append(inner["Id"])
                text = chat_frame(inner)
            dispatcher.post(RawFrame(text))
        drain(dispatcher)
        assert dispatcher.alive, "hostile frames stopped the dispatcher"
        assert expected_bad <= dispatcher.stats.bad_frames <= expected_bad + confused
        bad = dispatcher.stats.bad_frames
        assert len(_malformed_records(capture)) == min(bad, DEFAULT_BURST), \
            "logged once each, up to the rate limit"
        assert not capture.matching("connect_chat", level=logging.ERROR), "an exception escaped"
        held = {item.id for item in dispatcher.view}
        assert set(stored_ids) <= held, "a good item next to junk was lost"


@fuzz(200)
@given(st.lists(st.one_of(good_items(), confused_items(), json_values), max_size=10),
       json_values)
def test_hostile_history_pages_are_counted(entries: list[Any], token: Any) -> None:
    for n, entry in enumerate(entries):
        if isinstance(entry, dict):
            _not_ending(entry)
            if entry.get("Type") in ("MESSAGE", "EVENT"):
                entry["Id"] = f"hist-{n}"
    page = parse_transcript_page({"Transcript": entries, "NextToken": token})
    with capture_logs() as capture, running_dispatcher() as (dispatcher, _):
        done = threading.Event()
        dispatcher.post(HistoryPage(page=page, scan_direction="BACKWARD",
                                    start_position_given=False, done=done))
        assert done.wait(10.0)
        drain(dispatcher)
        assert dispatcher.alive
        assert dispatcher.stats.bad_history_items == page.skipped
        records = capture.matching("connect_chat.dispatcher", contains="unreadable")
        assert len(records) == (1 if page.skipped else 0), "one record per page with junk"
        assert not capture.matching("connect_chat", level=logging.ERROR)
        held = {item.id for item in dispatcher.view}
        assert {p.item.id for p in page.items if p.item.id.startswith("hist-")} <= held


def test_frames_keep_flowing_after_thousands_of_bad_ones() -> None:
    """A steady hostile stream: each counted, a bounded number of log records (the first
    ``DEFAULT_BURST`` of the minute), good frames still delivered."""
    garbage = ["", "{", "null", "[]", '{"topic":"aws/chat","content":5}',
               '{"topic":"aws/chat","content":"{\\"Type\\":\\"MESSAGE\\"}"}']
    with capture_logs() as capture, running_dispatcher() as (dispatcher, callbacks):
        for n in range(3000):
            dispatcher.post(RawFrame(garbage[n % len(garbage)]))
        good = {"Id": "after-junk", "Type": "MESSAGE", "ContentType": "text/plain",
                "Content": "still here", "AbsoluteTime": "2025-01-01T00:00:00.000Z",
                "ParticipantRole": "AGENT"}
        dispatcher.post(RawFrame(chat_frame(good)))
        drain(dispatcher)
        assert dispatcher.stats.bad_frames == 3000
        assert len(_malformed_records(capture)) == DEFAULT_BURST
        assert [item.id for item in callbacks.received] == ["after-junk"]


def test_oversized_frame_is_refused_before_parsing() -> None:
    huge = chat_frame({"Id": "big", "Type": "MESSAGE", "ContentType": "text/plain",
                       "Content": "x" * (4 * 1024 * 1024), "AbsoluteTime": ""})
    with capture_logs() as capture, running_dispatcher() as (dispatcher, callbacks):
        dispatcher.post(RawFrame(huge))
        drain(dispatcher)
        assert dispatcher.stats.bad_frames == 1
        assert callbacks.received == []
        (record,) = _malformed_records(capture)
        assert "x" * 100 not in record.getMessage(), "the log names the problem, not the frame"
        assert len(record.getMessage()) < 500


def test_binary_and_unknown_topic_json_is_not_a_crash() -> None:
    with running_dispatcher() as (dispatcher, _):
        dispatcher.post(RawFrame(json.dumps({"topic": "aws/unknown", "content": {}})))
        dispatcher.post(RawFrame("\x00\xff\xfe binary-ish"))
        dispatcher.post(RawFrame("[" * 100_000))
        drain(dispatcher)
        assert dispatcher.alive
        assert dispatcher.stats.bad_frames == 3
