"""Fuzzing the pure parsers: no input may raise, and what comes out is always well-typed.

Issue 8, point 1 (parser half). Deterministic (``derandomize``): CI is not luck-dependent.
Together with ``test_fuzz_dispatcher`` these run several thousand cases in a few seconds.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect_chat.models import Event, Message, Metadata, TranscriptItem
from connect_chat.parsing import (
    ParsedItem,
    TranscriptPage,
    parse_chat_frame,
    parse_item,
    parse_transcript_page,
)
from connect_chat.protocol import parse_frame, subscribe_status
from connect_chat.timestamps import time_key
from connect_chat.transcript import Transcript
from tests.hardening.strategies import (
    any_frames,
    bad_frames,
    confused_items,
    good_items,
    json_values,
)
from tests.hardening.support import fuzz


def _check_parsed(parsed: ParsedItem | None) -> None:
    """What the parser hands out must be usable without further type checks."""
    if parsed is None:
        return
    item = parsed.item
    assert isinstance(item, (Message, Event, Metadata))
    assert isinstance(item.id, str) and item.id, "an item without an id cannot be deduplicated"
    assert isinstance(item.time_stamp, str)
    assert isinstance(item.content_type, str)
    if isinstance(item, Message):
        assert isinstance(item.text, str)
        assert isinstance(item.participant, str)
    for receipt in parsed.receipts:
        assert isinstance(receipt, Event) and isinstance(receipt.id, str) and receipt.id
    repr(item)
    str(item)
    time_key(item.time_stamp)


@fuzz(1000)
@given(st.one_of(any_frames, st.binary(max_size=300)))
def test_any_frame_text_never_raises(text: str | bytes) -> None:
    frame = parse_frame(text)
    if frame is None:
        return
    assert isinstance(frame.topic, str)
    _check_parsed(parse_chat_frame(frame))


@fuzz(500)
@given(bad_frames())
def test_every_bad_frame_is_refused(text: str) -> None:
    frame = parse_frame(text)
    if frame is None or len(text) > 2 * 1024 * 1024:
        return  # refused at the outer level (oversized ones by the dispatcher)
    assert parse_chat_frame(frame) is None


@fuzz(500)
@given(good_items())
def test_every_good_item_is_parsed(inner: dict[str, Any]) -> None:
    parsed = parse_item(inner)
    assert parsed is not None
    _check_parsed(parsed)


@fuzz(300)
@given(st.lists(st.one_of(confused_items(), good_items()), max_size=8))
def test_type_confused_items_never_raise_and_merge(items: list[dict[str, Any]]) -> None:
    transcript = Transcript()
    for inner in items:
        parsed = parse_item(inner)
        _check_parsed(parsed)
        parsed_live = parse_chat_frame(parse_frame(json.dumps(
            {"topic": "aws/chat", "content": json.dumps(inner, default=str)}
        )) or _never())
        _check_parsed(parsed_live)
        if parsed is not None:
            transcript.merge(parsed.item)
        for item in transcript.view():
            assert isinstance(item, TranscriptItem)


def _never() -> Any:
    raise AssertionError("a JSON object frame must decode")


page_items = st.lists(
    st.one_of(good_items(), confused_items(), json_values), max_size=12
)


@fuzz(500)
@given(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "Transcript": st.one_of(page_items, json_values),
                "NextToken": json_values,
                "InitialContactId": json_values,
            },
        ),
        st.dictionaries(st.text(max_size=12), json_values, max_size=4),
    )
)
def test_get_transcript_pages_never_raise(response: dict[str, Any]) -> None:
    page = parse_transcript_page(response)
    assert isinstance(page, TranscriptPage)
    assert page.next_token is None or (isinstance(page.next_token, str) and page.next_token)
    assert isinstance(page.initial_contact_id, str)
    raw = response.get("Transcript")
    raw_count = len(raw) if isinstance(raw, list) else 0
    assert len(page.items) + page.skipped == raw_count, "every unreadable item is counted"
    transcript = Transcript()
    for parsed in page.items:
        _check_parsed(parsed)
        assert parsed.item.is_from_history
    transcript.merge_page([p.item for p in page.items], next_token=page.next_token)


@fuzz(300)
@given(st.lists(st.one_of(good_items(), st.integers(), st.text(max_size=5),
                         st.lists(st.integers(), max_size=2)), max_size=10))
def test_page_counts_exactly_the_unreadable_items(entries: list[Any]) -> None:
    for n, entry in enumerate(entries):
        if isinstance(entry, dict):
            entry["Id"] = f"item-{n}"
    page = parse_transcript_page({"Transcript": entries})
    good = sum(isinstance(e, dict) for e in entries)
    assert len(page.items) == good
    assert page.skipped == len(entries) - good


def test_non_mapping_page_is_an_empty_page_not_a_crash() -> None:
    for response in (None, [], "Transcript", 42):
        page = parse_transcript_page(response)  # type: ignore[arg-type]
        assert page.items == () and page.next_token is None


def test_deeply_nested_json_is_refused_not_raised() -> None:
    """json.loads raises RecursionError (not ValueError) on deep nesting: a hostile frame."""
    for text in ("[" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        assert parse_frame(text) is None
    deep_content = json.dumps({"topic": "aws/chat", "content": "[" * 100_000})
    frame = parse_frame(deep_content)
    assert frame is not None and parse_chat_frame(frame) is None
    ack = json.dumps({"topic": "aws/subscribe", "content": '{"status":' * 100_000})
    frame = parse_frame(ack)
    assert frame is not None and subscribe_status(frame) is None
