"""The chat WebSocket's framing: topics, the frames the client sends, and classify_frame().

Every place that reads a frame (the socket thread while subscribing, while pumping and while
handing over a refreshed socket; the dispatcher for what the socket thread passed on) asks
:func:`classify_frame` what a text frame is: one size check, one JSON decode and one topic
check, so that all of them refuse and recognise the same frames. Pure: no I/O, no state.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

import attrs

from connect_chat.enums import ContentType, ItemType
from connect_chat.json_decode import loads as decode_json

__all__ = [
    "HEARTBEAT_FRAME",
    "MAX_FRAME_CHARS",
    "PING_FRAME",
    "SUBSCRIBE_FRAME",
    "TOPIC_CHAT",
    "TOPIC_HEARTBEAT",
    "TOPIC_PING",
    "TOPIC_SUBSCRIBE",
    "Frame",
    "FrameKind",
    "chat_inner",
    "classify_frame",
    "is_chat_ended",
    "is_ping_ok",
    "parse_frame",
    "refusal_reason",
    "subscribe_status",
]

TOPIC_CHAT = "aws/chat"
TOPIC_SUBSCRIBE = "aws/subscribe"
TOPIC_HEARTBEAT = "aws/heartbeat"
TOPIC_PING = "aws/ping"

SUBSCRIBE_FRAME = json.dumps({"topic": TOPIC_SUBSCRIBE, "content": {"topics": [TOPIC_CHAT]}})
HEARTBEAT_FRAME = json.dumps({"topic": TOPIC_HEARTBEAT})
PING_FRAME = json.dumps({"topic": TOPIC_PING})

#: Frames longer than this (characters) are refused without being parsed: the service's own
#: items are far smaller (Content <= 16384 characters), so this only stops hostile input.
MAX_FRAME_CHARS = 2 * 1024 * 1024


class FrameKind(enum.Enum):
    """What a text frame is: one of the four topics the client knows, or why it is refused."""

    CHAT = TOPIC_CHAT
    SUBSCRIBE = TOPIC_SUBSCRIBE
    HEARTBEAT = TOPIC_HEARTBEAT
    PING = TOPIC_PING
    #: A JSON object whose ``topic`` is none of the above (or missing).
    UNKNOWN_TOPIC = "unknown topic"
    #: Not a JSON object (an empty frame included): refused.
    NOT_JSON = "not JSON"
    #: Over :data:`MAX_FRAME_CHARS`: refused without being decoded.
    OVERSIZED = "oversized"


_KIND_OF_TOPIC: dict[str, FrameKind] = {
    kind.value: kind
    for kind in (FrameKind.CHAT, FrameKind.SUBSCRIBE, FrameKind.HEARTBEAT, FrameKind.PING)
}
_UNKNOWN_TOPIC = FrameKind.UNKNOWN_TOPIC


# Made for every frame: slotted, not frozen (a frozen attrs ``__init__`` costs twice as
# much); nothing changes one after it is built.
@attrs.define
class Frame:
    """A classified WebSocket text frame: its ``kind``, ``topic`` and outer JSON object.

    A refused frame (``NOT_JSON``, ``OVERSIZED``) has the topic ``""`` and an empty body.
    """

    topic: str
    body: Mapping[str, Any]
    kind: FrameKind


def parse_frame(text: str | bytes) -> Frame | None:
    """Decode a frame's outer JSON; ``None`` if it is not a JSON object (no size check)."""
    try:
        body = decode_json(text)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    topic = body.get("topic")
    if not isinstance(topic, str):
        topic = ""
    return Frame(topic, body, _KIND_OF_TOPIC.get(topic, _UNKNOWN_TOPIC))


def classify_frame(text: str) -> Frame:
    """What the text frame ``text`` is: size check, JSON decode and topic, in that order."""
    if len(text) > MAX_FRAME_CHARS:
        return Frame("", {}, FrameKind.OVERSIZED)
    frame = parse_frame(text)
    return Frame("", {}, FrameKind.NOT_JSON) if frame is None else frame


def refusal_reason(frame: Frame, text: str) -> str:
    """Why ``frame`` (classified from ``text``) is not taken as a chat frame, for the logs."""
    if frame.kind is FrameKind.OVERSIZED:
        return f"{len(text)} characters, over the {MAX_FRAME_CHARS} limit"
    if frame.kind is FrameKind.NOT_JSON:
        return "not a JSON object" if text else "an empty frame"
    return f"unexpected topic {frame.topic[:40]!r}"


def is_ping_ok(frame: Frame) -> bool:
    """A deep-heartbeat reply counts only with ``statusCode`` 200 and ``statusContent`` OK."""
    return frame.body.get("statusCode") == 200 and frame.body.get("statusContent") == "OK"


def chat_inner(frame: Frame) -> dict[str, Any] | None:
    """The decoded inner item of an ``aws/chat`` frame (its ``content`` is a JSON string)."""
    content = frame.body.get("content")
    if isinstance(content, str):
        try:
            content = decode_json(content)
        except (ValueError, RecursionError):
            return None
    return content if isinstance(content, dict) else None


def subscribe_status(frame: Frame) -> str | None:
    """The ``content.status`` of a subscribe acknowledgement (``"success"``...); its
    ``content`` is decoded like a chat frame's."""
    content = chat_inner(frame)
    status = content.get("status") if content is not None else None
    return status if isinstance(status, str) else None


def is_chat_ended(inner: Mapping[str, Any]) -> bool:
    """True if the inner item of a chat frame is the ``chat.ended`` event."""
    return inner.get("Type") == ItemType.EVENT.value and (
        inner.get("ContentType") == ContentType.ENDED.value
    )
