"""Hypothesis strategies: service items and WebSocket frames, well-formed and hostile."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from connect_chat.enums import ContentType

TIMES = st.sampled_from(
    ["2024-07-14T22:18:39.241Z", "2025-05-24T21:41:10.003Z", "2025-05-24T21:41:10Z",
     "2025-05-24T21:41:10.000001+02:00", "", "not a time", "9999-99-99T99:99:99Z"]
)
ROLES = st.sampled_from(["AGENT", "CUSTOMER", "SYSTEM", "CUSTOM_BOT", "SUPERVISOR", "", "??"])
EVENT_TYPES = st.sampled_from([ct.value for ct in ContentType if ".event." in ct.value])
KEYS = ["AbsoluteTime", "Content", "ContentType", "Id", "Type", "ParticipantId",
        "ParticipantRole", "DisplayName", "InitialContactId", "ContactId", "MessageMetadata",
        "Attachments"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),  # json.loads would turn NaN into a float anyway
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), children,
                        max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def good_items(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed inner item of one of the four types (its Id is set by the caller)."""
    kind = draw(st.sampled_from(["MESSAGE", "EVENT", "ATTACHMENT", "MESSAGEMETADATA"]))
    item: dict[str, Any] = {"Id": "set-by-caller", "Type": kind,
                            "AbsoluteTime": draw(TIMES)}
    if kind == "MESSAGE":
        item.update(ContentType=draw(st.sampled_from(["text/plain", "text/markdown",
                                                      "application/json"])),
                    Content=draw(st.text(min_size=1, max_size=200)),
                    ParticipantRole=draw(ROLES), DisplayName=draw(st.text(max_size=20)),
                    ParticipantId=draw(st.text(max_size=20)))
    elif kind == "EVENT":
        item.update(ContentType=draw(EVENT_TYPES), ParticipantRole=draw(ROLES))
        if draw(st.booleans()):
            item["Content"] = draw(st.text(max_size=50))
    elif kind == "ATTACHMENT":
        item.update(ParticipantRole=draw(ROLES),
                    Attachments=[{"AttachmentId": "att-" + draw(st.text(min_size=1, max_size=8)),
                                  "AttachmentName": draw(st.text(max_size=20)),
                                  "ContentType": "image/png", "Status": "APPROVED"}])
    else:
        receipt: dict[str, Any] = {"RecipientParticipantId": draw(st.text(max_size=10))}
        if draw(st.booleans()):
            receipt["DeliveredTimestamp"] = draw(TIMES)
        if draw(st.booleans()):
            receipt["ReadTimestamp"] = draw(TIMES)
        item.update(ContentType=ContentType.META_DATA.value,
                    MessageMetadata={"MessageId": "msg-" + draw(st.text(max_size=8)),
                                     "Receipts": [receipt]})
    return item


@st.composite
def confused_items(draw: st.DrawFn) -> dict[str, Any]:
    """A good item with some fields replaced by values of any JSON type, or removed."""
    item = draw(good_items())
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=5, unique=True)):
        if draw(st.booleans()):
            item.pop(key, None)
        else:
            item[key] = draw(json_values)
    return item


def chat_frame(inner: Any, *, encode_content: bool = True) -> str:
    """An ``aws/chat`` frame around ``inner`` (``content`` is a JSON string, as on the wire)."""
    content = json.dumps(inner) if encode_content else inner
    return json.dumps({"topic": "aws/chat", "contentType": "application/json",
                       "content": content})


#: Frames larger than this are refused unparsed (the dispatcher's limit).
OVERSIZED_CHARS = 2 * 1024 * 1024


@st.composite
def bad_frames(draw: st.DrawFn) -> str:
    """A frame the SDK must drop (and count): every category is certainly unusable."""
    category = draw(st.sampled_from(
        ["truncated", "garbage", "not_object", "content_type", "inner_not_object",
         "unknown_type", "bad_id", "attachment", "metadata", "oversized"]))
    good = draw(good_items())
    if category == "truncated":
        text = chat_frame(good)
        return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
    if category == "garbage":
        text = draw(st.one_of(st.text(max_size=200),
                              st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
        try:
            if isinstance(json.loads(text), dict):
                return "{" + text  # make sure it is not a JSON object
        except ValueError:
            pass
        return text
    if category == "not_object":
        return json.dumps(draw(st.one_of(json_scalars, st.lists(json_values, max_size=3))))
    if category == "content_type":
        value = draw(st.one_of(json_scalars.filter(lambda v: not isinstance(v, str)),
                               st.lists(json_values, max_size=3)))
        return json.dumps({"topic": "aws/chat", "content": value})
    if category == "inner_not_object":
        value = draw(st.one_of(json_scalars, st.lists(json_values, max_size=3)))
        text = json.dumps(value)
        if draw(st.booleans()):
            text = text + "}"  # broken JSON inside the string
        return json.dumps({"topic": "aws/chat", "content": text})
    if category == "unknown_type":
        good["Type"] = draw(st.one_of(
            st.sampled_from(["TYPING", "CONNECTION_ACK", "message", "", "CHAT_ENDED"]),
            json_scalars.filter(lambda v: not isinstance(v, str)),
            st.lists(json_scalars, max_size=2)))
        return chat_frame(good)
    if category == "bad_id":
        if good["Type"] == "MESSAGEMETADATA":
            good["MessageMetadata"].pop("MessageId")
        if draw(st.booleans()):
            good.pop("Id")
        else:
            good["Id"] = draw(st.one_of(st.just(""), json_scalars.filter(
                lambda v: not isinstance(v, str)), st.lists(json_scalars, max_size=2)))
        return chat_frame(good)
    if category == "attachment":
        good = {"Id": "x", "Type": "ATTACHMENT", "AbsoluteTime": "2025-01-01T00:00:00.000Z",
                "Attachments": draw(st.one_of(
                    st.just([]), json_scalars, st.lists(json_scalars, min_size=1, max_size=2),
                    st.just([{"AttachmentName": "a.png"}]), st.just([{"AttachmentId": 5}])))}
        return chat_frame(good)
    if category == "metadata":
        good = {"Id": "x", "Type": "MESSAGEMETADATA",
                "AbsoluteTime": "2025-01-01T00:00:00.000Z",
                "MessageMetadata": draw(st.one_of(json_scalars, st.lists(json_scalars,
                                                                        max_size=2)))}
        return chat_frame(good)
    # oversized: a well-formed frame, but far beyond anything the service sends
    good["Content"] = "x" * (OVERSIZED_CHARS + draw(st.integers(min_value=1, max_value=64)))
    return chat_frame(good)


#: Any text at all, including well-formed frames, hostile ones, and everything in between.
any_frames = st.one_of(
    bad_frames(),
    good_items().map(chat_frame),
    confused_items().map(chat_frame),
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["topic", "content", "contentType", "statusCode"]),
                    json_values, max_size=4).map(json.dumps),
)
