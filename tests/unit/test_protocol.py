"""protocol.py: topics, the client's frames, and classify_frame() for every read site."""

from __future__ import annotations

import json

import pytest

from connect_chat.protocol import (
    HEARTBEAT_FRAME,
    MAX_FRAME_CHARS,
    PING_FRAME,
    SUBSCRIBE_FRAME,
    FrameKind,
    classify_frame,
    is_ping_ok,
    parse_frame,
    refusal_reason,
    subscribe_status,
)


def test_the_clients_frames_are_valid_json() -> None:
    assert json.loads(SUBSCRIBE_FRAME) == {
        "topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}
    }
    assert json.loads(HEARTBEAT_FRAME) == {"topic": "aws/heartbeat"}
    assert json.loads(PING_FRAME) == {"topic": "aws/ping"}


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("aws/chat", FrameKind.CHAT),
        ("aws/subscribe", FrameKind.SUBSCRIBE),
        ("aws/heartbeat", FrameKind.HEARTBEAT),
        ("aws/ping", FrameKind.PING),
    ],
)
def test_each_known_topic_is_classified_with_its_body(topic: str, kind: FrameKind) -> None:
    text = json.dumps({"topic": topic, "content": "{}", "statusCode": 200})
    frame = classify_frame(text)
    assert frame.kind is kind
    assert frame.topic == topic
    assert frame.body == json.loads(text)


@pytest.mark.parametrize(
    "text", ['{"topic": "aws/other"}', '{"content": "{}"}', '{"topic": 7}', '{"topic": ""}']
)
def test_a_json_object_with_another_topic_is_an_unknown_topic(text: str) -> None:
    frame = classify_frame(text)
    assert frame.kind is FrameKind.UNKNOWN_TOPIC
    assert frame.body == json.loads(text)
    assert refusal_reason(frame, text).startswith("unexpected topic")


@pytest.mark.parametrize("text", ["not json", "[1,2]", '"aws/chat"', "{", "", "[" * 100_000])
def test_what_is_not_a_json_object_is_refused(text: str) -> None:
    frame = classify_frame(text)
    assert frame.kind is FrameKind.NOT_JSON
    assert (frame.topic, dict(frame.body)) == ("", {})
    reason = refusal_reason(frame, text)
    assert reason == ("not a JSON object" if text else "an empty frame")


def test_an_oversized_frame_is_refused_without_being_decoded() -> None:
    body = '{"topic": "aws/chat", "content": "'
    text = body + "x" * (MAX_FRAME_CHARS - len(body) - 2) + '"}'
    assert len(text) == MAX_FRAME_CHARS
    assert classify_frame(text).kind is FrameKind.CHAT  # at the limit: still read
    longer = text[:-2] + 'x"}'
    frame = classify_frame(longer)
    assert frame.kind is FrameKind.OVERSIZED
    assert (frame.topic, dict(frame.body)) == ("", {})
    assert refusal_reason(frame, longer) == (
        f"{MAX_FRAME_CHARS + 1} characters, over the {MAX_FRAME_CHARS} limit"
    )


def test_heartbeat_replies_and_subscribe_ack() -> None:
    ok = parse_frame('{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}')
    bad = parse_frame('{"topic":"aws/ping","statusCode":500,"statusContent":"OK"}')
    assert ok is not None and is_ping_ok(ok)
    assert bad is not None and not is_ping_ok(bad)
    ack = parse_frame('{"topic":"aws/subscribe","content":{"status":"success","topics":[]}}')
    assert ack is not None and subscribe_status(ack) == "success"
    assert parse_frame("not json") is None
    assert parse_frame("[1,2]") is None
