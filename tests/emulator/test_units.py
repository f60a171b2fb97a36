"""Pure pieces of the emulator: transcript paging, lenient frame parsing, error codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_chat.emulator.errors import ApiError, code_for_status
from connect_chat.emulator.items import iso_ms, parse_instant
from connect_chat.emulator.transcript import Entry, page
from connect_chat.emulator.websocket import parse_client_frame


def _entries(n: int) -> list[Entry]:
    return [Entry(1_700_000_000_000 + i, f"id{i}") for i in range(n)]


def _walk(
    entries: list[Entry], direction: str, size: int, start_id: str | None = None
) -> list[str]:
    from connect_chat.emulator.transcript import Start

    seen: list[str] = []
    token = None
    start = Start(item_id=start_id) if start_id else None
    for _ in range(len(entries) + 2):
        chosen, token = page(
            entries,
            contact_id="c",
            direction=direction,
            sort_order="ASCENDING",
            max_results=size,
            start=None if token else start,
            next_token=token,
        )
        ids = [e.item_id for e in chosen]
        seen = ids + seen if direction == "BACKWARD" else seen + ids
        if token is None:
            return seen
    raise AssertionError("paging did not terminate")


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=1, max_value=100))
def test_backward_paging_visits_every_item_once_in_order(count: int, size: int) -> None:
    entries = _entries(count)
    assert _walk(entries, "BACKWARD", size) == [e.item_id for e in entries]


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=1, max_value=100), st.data())
def test_forward_paging_from_an_id_visits_the_rest(
    count: int, size: int, data: st.DataObject
) -> None:
    entries = _entries(count)
    start = data.draw(st.integers(min_value=0, max_value=count - 1))
    assert _walk(entries, "FORWARD", size, f"id{start}") == [
        e.item_id for e in entries[start + 1 :]
    ]


def test_descending_page_order() -> None:
    chosen, _ = page(
        _entries(5),
        contact_id="c",
        direction="BACKWARD",
        sort_order="DESCENDING",
        max_results=3,
        start=None,
        next_token=None,
    )
    assert [e.item_id for e in chosen] == ["id4", "id3", "id2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})',
            {"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}},
        ),
        ('  {"topic":"aws/ping"}\n', {"topic": "aws/ping"}),
        ("not json", None),
        ("[1, 2]", None),
    ],
)
def test_parse_client_frame(text: str, expected: object) -> None:
    assert parse_client_frame(text) == expected


def test_error_codes_by_status() -> None:
    assert code_for_status(503, connect=False) == "InternalServerException"
    assert code_for_status(429, connect=False) == "ThrottlingException"
    assert code_for_status(402, connect=False) == "ServiceQuotaExceededException"
    assert code_for_status(418, connect=False) == "ValidationException"
    assert code_for_status(429, connect=True) == "LimitExceededException"
    assert code_for_status(500, connect=True) == "InternalServiceException"
    assert ApiError(404, "ResourceNotFoundException", "x", ResourceId="v").body() == {
        "message": "x",
        "ResourceId": "v",
    }


def test_instants_round_trip() -> None:
    ms = 1_732_500_000_123
    assert iso_ms(ms) == "2024-11-25T02:00:00.123Z"
    assert parse_instant(iso_ms(ms)) == ms
    assert parse_instant("2024-11-25T03:00:00.123+01:00") == ms
