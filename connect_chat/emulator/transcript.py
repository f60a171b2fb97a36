"""GetTranscript paging: pure functions over the ordered list of a chat's items.

Semantics (wire-protocol.md §3.5; the parts marked INFERRED there are design choices):
* no start position: BACKWARD starts at the newest item; FORWARD returns nothing;
* ``StartPosition.Id``: the items after (FORWARD) or before (BACKWARD) that item, the item
  itself excluded (FORWARD includes it with ``include_start``, behaviour
  ``forward_includes_start``); an unknown id gives an empty page;
* ``StartPosition.AbsoluteTime``: items at or after (FORWARD) / at or before (BACKWARD) it;
* ``StartPosition.MostRecent = n``: FORWARD returns the n newest items, BACKWARD the items
  older than those n;
* ``NextToken`` continues the same scan after the last item of the previous page;
* each page holds at most ``MaxResults`` items and is returned in ``SortOrder``;
* ``MaxResults=0``: an empty page; with ``token_when_empty`` (behaviour ``max_results_zero``
  = ``empty_with_token``) a NextToken that runs the same scan again when it has items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from connect_chat.emulator.errors import validation


@dataclass(frozen=True)
class Entry:
    """One item of the scanned list: its time (ms) and its id."""

    ms: int
    item_id: str


@dataclass(frozen=True)
class Start:
    """A parsed ``StartPosition`` (exactly one member set)."""

    item_id: str | None = None
    at_ms: int | None = None
    most_recent: int | None = None


def _start_code(start: Start | None) -> list[object] | None:
    if start is None:
        return None
    if start.item_id is not None:
        return ["i", start.item_id]
    if start.at_ms is not None:
        return ["t", start.at_ms]
    return ["m", start.most_recent]


def _start_of(code: object) -> Start | None:
    if code is None:
        return None
    if not isinstance(code, list) or len(code) != 2:
        raise ValueError("bad start")
    kind, value = code
    if kind == "i" and isinstance(value, str):
        return Start(item_id=value)
    if kind == "t" and isinstance(value, int):
        return Start(at_ms=value)
    if kind == "m" and isinstance(value, int):
        return Start(most_recent=value)
    raise ValueError("bad start")


def encode_token(
    contact_id: str, direction: str, last_id: str | None, start: Start | None = None
) -> str:
    """A NextToken: continue after ``last_id``, or (``None``) run the scan from ``start``."""
    data: dict[str, object] = {"c": contact_id, "d": direction, "l": last_id}
    if last_id is None:
        data["s"] = _start_code(start)
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, contact_id: str) -> tuple[str, str | None, Start | None]:
    """``(direction, last_id, start)`` of a NextToken issued for this contact."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        direction, last_id, owner = data["d"], data["l"], data["c"]
        start = _start_of(data.get("s")) if last_id is None else None
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        binascii.Error,
    ) as exc:
        raise validation("Invalid NextToken") from exc
    if owner != contact_id or direction not in ("FORWARD", "BACKWARD"):
        raise validation("Invalid NextToken")
    if last_id is not None and not isinstance(last_id, str):
        raise validation("Invalid NextToken")
    return str(direction), last_id, start


def _after(
    entries: Sequence[Entry], item_id: str, direction: str, include: bool = False
) -> list[Entry] | None:
    for index, entry in enumerate(entries):
        if entry.item_id == item_id:
            if direction == "FORWARD":
                return list(entries[index if include else index + 1 :])
            return list(reversed(entries[:index]))
    return None


def scan(
    entries: Sequence[Entry],
    *,
    direction: str,
    start: Start | None,
    resume_after: str | None,
    include_start: bool = False,
) -> list[Entry]:
    """The entries in scan order from the start (or after ``resume_after``)."""
    if resume_after is not None:
        found = _after(entries, resume_after, direction)
        return found or []
    if start is None:
        return list(reversed(entries)) if direction == "BACKWARD" else []
    if start.item_id is not None:
        return _after(entries, start.item_id, direction, include_start) or []
    if start.at_ms is not None:
        at = start.at_ms
        if direction == "FORWARD":
            return [e for e in entries if e.ms >= at]
        return [e for e in reversed(entries) if e.ms <= at]
    assert start.most_recent is not None
    boundary = max(0, len(entries) - start.most_recent)
    if direction == "FORWARD":
        return list(entries[boundary:])
    return list(reversed(entries[:boundary]))


def page(
    entries: Sequence[Entry],
    *,
    contact_id: str,
    direction: str,
    sort_order: str,
    max_results: int,
    start: Start | None,
    next_token: str | None,
    include_start: bool = False,
    token_when_empty: bool = False,
) -> tuple[list[Entry], str | None]:
    """One page of the scan and the NextToken for the rest (``None`` when exhausted)."""
    resume_after = None
    if next_token is not None:
        direction, resume_after, token_start = decode_token(next_token, contact_id)
        if resume_after is None:
            start = token_start  # a token from an empty page: the same scan again
    scanned = scan(
        entries,
        direction=direction,
        start=start,
        resume_after=resume_after,
        include_start=include_start,
    )
    chosen = scanned[:max_results]
    token = None
    if len(scanned) > len(chosen):
        if chosen:
            token = encode_token(contact_id, direction, chosen[-1].item_id)
        elif token_when_empty:
            token = encode_token(contact_id, direction, None, start)
    chosen.sort(key=lambda e: e.ms, reverse=(sort_order == "DESCENDING"))
    return chosen, token
