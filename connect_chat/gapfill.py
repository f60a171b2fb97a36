"""What did I miss: one catch-up algorithm for reconnects, inbox overflows, resume and RestChat.

The service reference leaves open which events the transcript keeps (typing, receipts, idle,
returned, ... are live-only) and whether a FORWARD page from ``StartPosition.Id`` includes
its start item; an unknown start id even answers an empty page. So the catch-up never
anchors on an item and never scans FORWARD. It asks for what every SDK asks for on connect
and what the reference documents best: BACKWARD pages with no start position (the newest
items first), following ``NextToken`` to older pages, until

* a page holds an item the caller already has (by id): everything older was seen, or
* there is no ``NextToken``: the start of the chat was reached, or
* ``max_pages`` pages were fetched: the bound. What lies beyond it is not fetched; the
  result says so (``complete`` is False) and the caller logs and counts it.

Every fetched item the caller does not hold is returned, oldest first, each id once. Items
held that the service does not keep never stop the walk early: they are simply never met,
and the walk goes on to an older item that the service does keep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from connect_chat.enums import ScanDirection, SortKey
from connect_chat.models import TranscriptItem, TranscriptResponse
from connect_chat.timestamps import time_key

logger = logging.getLogger(__name__)

X = TypeVar("X")

#: Gap fills stop after this many pages by default (``GlobalConfig.gap_fill_max_pages``).
DEFAULT_MAX_PAGES = 100


@dataclass(frozen=True)
class CatchUp(Generic[X]):
    """The outcome of one catch-up walk."""

    #: Every fetched item, oldest first, each id once (held ones included).
    fetched: list[X]
    #: The fetched items not held before, oldest first, each id once.
    items: list[X]
    #: True when the walk met a held item or the start of the chat (nothing missed);
    #: False when it stopped at ``max_pages`` (older missed items were not fetched).
    complete: bool
    #: GetTranscript calls made.
    pages: int
    #: The last page's ``NextToken`` (older history beyond the walk), or None at the start.
    next_token: str | None


def catch_up(
    fetch_page: Callable[[str | None], tuple[Sequence[X], str | None]],
    item_id: Callable[[X], str],
    is_held: Callable[[X], bool],
    max_pages: int = DEFAULT_MAX_PAGES,
) -> CatchUp[X]:
    """Walk BACKWARD pages from the newest item until a held one (see the module docstring).

    ``fetch_page(next_token)`` makes one GetTranscript call (BACKWARD, ascending order, no
    start position; ``None`` for the newest page) and returns its items in the service's
    order and its ``NextToken`` (``None`` or empty when there is no older page).
    ``is_held(item)`` says whether the caller already has that item (or everything up to
    it). Errors of ``fetch_page`` propagate: the caller decides what to do about them.
    """
    if max_pages < 1:
        raise ValueError("max_pages must be >= 1")
    pages: list[Sequence[X]] = []
    token: str | None = None
    complete = False
    for _ in range(max_pages):
        items, next_token = fetch_page(token)
        pages.append(items)
        token = next_token or None
        if token is None or any(is_held(item) for item in items):
            complete = True
            break
    seen: set[str] = set()
    fetched: list[X] = []
    for page in reversed(pages):  # oldest page first; each page is in ascending order
        for item in page:
            key = item_id(item)
            if key not in seen:
                seen.add(key)
                fetched.append(item)
    fresh = [item for item in fetched if not is_held(item)]
    return CatchUp(
        fetched=fetched, items=fresh, complete=complete, pages=len(pages), next_token=token
    )


def after_mark(
    fetched: Sequence[X],
    item_id: Callable[[X], str],
    item_time: Callable[[X], float],
    mark_id: str,
    mark_time: float | None,
) -> list[X]:
    """The items a reader who stopped at ``mark_id`` has not seen, oldest first.

    When the mark is among ``fetched`` (the usual case: the mark came from the transcript),
    everything after it in the service's order; otherwise (a mark the service did not keep)
    every item not older than the mark's time.
    """
    for position, item in enumerate(fetched):
        if item_id(item) == mark_id:
            return list(fetched[position + 1 :])
    if mark_time is None:
        return list(fetched)
    return [item for item in fetched if item_time(item) >= mark_time]


def items_after(
    get_transcript: Callable[..., TranscriptResponse],
    last_id: str,
    last_time: str | None,
    page_size: int,
    max_pages: int,
) -> list[TranscriptItem]:
    """Every item after the "last seen" mark, oldest first (``gapfill.catch_up``).

    BACKWARD pages from the newest item (a RestChat's or a ChatSession's
    ``get_transcript``) until one holds the mark or an item older than its time.
    """
    mark_time = time_key(last_time) if last_time else None

    def fetch(token: str | None) -> tuple[Sequence[TranscriptItem], str | None]:
        response = get_transcript(
            ScanDirection.BACKWARD, SortKey.ASCENDING, page_size, next_token=token
        )
        return response.transcript, response.next_token or None

    def reached(item: TranscriptItem) -> bool:
        return item.id == last_id or (
            mark_time is not None and time_key(item.time_stamp) < mark_time
        )

    result = catch_up(fetch, _item_id, reached, max_pages)
    if not result.complete:
        logger.warning(
            "stopped after %d transcript pages (max_pages) before the last item seen: "
            "older items were left out",
            result.pages,
        )
    items = after_mark(
        result.fetched, _item_id, lambda item: time_key(item.time_stamp), last_id, mark_time
    )
    return [item for item in items if item.id != last_id]


def _item_id(item: TranscriptItem) -> str:
    return item.id
