"""parsing.py: service items and chat frames -> models (pure, no I/O)."""

from __future__ import annotations

import json

from connect_chat.enums import ContentType, MessageDirection, MessageStatus
from connect_chat.models import Event, Message, Metadata
from connect_chat.parsing import (
    parse_chat_frame,
    parse_item,
    parse_transcript_page,
    synthesized_chat_ended,
)
from connect_chat.protocol import is_chat_ended, parse_frame

IOS_TEXT_FRAME = (
    '{"content": "{\\"AbsoluteTime\\":\\"2024-07-14T22:18:39.241Z\\",\\"Content\\":\\"Test\\",'
    '\\"ContentType\\":\\"text/plain\\",\\"Id\\":\\"m-1\\",\\"Type\\":\\"MESSAGE\\",'
    '\\"ParticipantId\\":\\"p-1\\",\\"DisplayName\\":\\"Customer\\",'
    '\\"ParticipantRole\\":\\"CUSTOMER\\",\\"InitialContactId\\":\\"c\\",\\"ContactId\\":\\"c\\"}",'
    ' "contentType": "application/json", "topic": "aws/chat"}'
)


def wrap(inner: dict[str, object]) -> str:
    return json.dumps({"topic": "aws/chat", "contentType": "application/json",
                       "content": json.dumps(inner)})


def test_text_frame_becomes_a_message_with_the_outer_frame_as_serialized_content() -> None:
    frame = parse_frame(IOS_TEXT_FRAME)
    assert frame is not None and frame.topic == "aws/chat"
    parsed = parse_chat_frame(frame)
    assert parsed is not None
    message = parsed.item
    assert isinstance(message, Message)
    assert (message.id, message.text, message.participant) == ("m-1", "Test", "CUSTOMER")
    assert message.time_stamp == "2024-07-14T22:18:39.241Z"
    assert message.display_name == "Customer"
    assert message.message_direction is MessageDirection.OUTGOING
    assert message.status is MessageStatus.SENT
    assert message.serialized_content["topic"] == "aws/chat"
    assert message.persistent_id == "m-1"
    assert not message.is_from_history


def test_agent_message_is_incoming_without_status() -> None:
    parsed = parse_item({"Type": "MESSAGE", "Id": "a", "ParticipantRole": "AGENT",
                         "Content": "hi", "ContentType": "text/markdown"})
    assert parsed is not None and isinstance(parsed.item, Message)
    assert parsed.item.message_direction is MessageDirection.INCOMING
    assert parsed.item.status is None


def test_message_without_fields_defaults_to_empty_strings_but_needs_an_id() -> None:
    parsed = parse_item({"Type": "MESSAGE", "Id": "m"})
    assert parsed is not None and isinstance(parsed.item, Message)
    assert (parsed.item.text, parsed.item.content_type, parsed.item.time_stamp) == ("", "", "")
    assert parse_item({"Type": "MESSAGE"}) is None  # could not be deduplicated


def test_attachment_item_uses_its_first_attachment() -> None:
    parsed = parse_item({"Type": "ATTACHMENT", "Id": "x", "ParticipantRole": "AGENT",
                         "Attachments": [{"AttachmentName": "file.pdf",
                                          "ContentType": "application/pdf",
                                          "AttachmentId": "a-1"}]})
    assert parsed is not None and isinstance(parsed.item, Message)
    assert (parsed.item.text, parsed.item.attachment_id) == ("file.pdf", "a-1")
    assert parsed.item.content_type == "application/pdf"
    assert parse_item({"Type": "ATTACHMENT", "Attachments": []}) is None


def test_metadata_with_read_receipt_gives_read_status_and_one_read_event() -> None:
    inner = {"AbsoluteTime": "2024-07-14T23:41:28.821Z", "Id": "outer", "Type": "MESSAGEMETADATA",
             "ContentType": ContentType.META_DATA.value,
             "MessageMetadata": {"MessageId": "message-id", "Receipts": [
                 {"DeliveredTimestamp": "2024-07-14T23:41:28.735Z",
                  "ReadTimestamp": "2024-07-14T23:41:28.735Z",
                  "RecipientParticipantId": "p-9"}]}}
    parsed = parse_item(inner)
    assert parsed is not None and isinstance(parsed.item, Metadata)
    assert parsed.item.id == "message-id"
    assert parsed.item.status is MessageStatus.READ
    assert [r.content_type for r in parsed.receipts] == [ContentType.MESSAGE_READ.value]
    assert parsed.receipts[0].participant == "p-9"


def test_metadata_falls_back_to_outer_id_and_delivered_only() -> None:
    parsed = parse_item({"Id": "outer-id", "Type": "MESSAGEMETADATA", "MessageMetadata": {
        "Receipts": [{"DeliveredTimestamp": "2024-01-01T00:00:00Z"}]}})
    assert parsed is not None and parsed.item.id == "outer-id"
    assert isinstance(parsed.item, Metadata) and parsed.item.status is MessageStatus.DELIVERED
    assert [r.text for r in parsed.receipts] == ["Message delivered"]
    assert parse_item({"Type": "MESSAGEMETADATA"}) is None


def test_empty_receipts_are_not_read() -> None:
    parsed = parse_item({"Id": "m", "Type": "MESSAGEMETADATA", "MessageMetadata": {
        "MessageId": "m", "Receipts": [{"ReadTimestamp": "", "DeliveredTimestamp": None}]}})
    assert parsed is not None and isinstance(parsed.item, Metadata)
    assert parsed.item.status is None and parsed.receipts == ()


def test_events_typing_and_chat_ended() -> None:
    typing = parse_item({"Type": "EVENT", "Id": "t", "ContentType": ContentType.TYPING.value,
                         "ParticipantRole": "AGENT", "DisplayName": "Sam"})
    assert typing is not None and typing.is_typing and isinstance(typing.item, Event)
    assert typing.item.display_name == "Sam"
    ended = {"Type": "EVENT", "Id": "e", "ContentType": ContentType.ENDED.value}
    assert is_chat_ended(ended)
    parsed = parse_item(ended)
    assert parsed is not None and not parsed.is_typing
    assert parse_item({"Type": "WHATEVER"}) is None


def test_garbled_chat_content_is_dropped() -> None:
    frame = parse_frame('{"topic":"aws/chat","content":"{not json"}')
    assert frame is not None and parse_chat_frame(frame) is None


def test_transcript_page_marks_items_as_history() -> None:
    page = parse_transcript_page({
        "InitialContactId": "c1", "NextToken": "tok",
        "Transcript": [{"Type": "MESSAGE", "Id": "1", "Content": "a", "ParticipantRole": "AGENT",
                        "AbsoluteTime": "2024-01-01T00:00:00.000Z",
                        "MessageMetadata": {"MessageId": "1", "Receipts": []}},
                       {"Type": "BOGUS"}]})
    assert page.next_token == "tok" and page.initial_contact_id == "c1"
    assert len(page.items) == 1 and page.items[0].item.is_from_history
    assert page.skipped == 1
    assert parse_transcript_page({"Transcript": []}).next_token is None


def test_synthesized_chat_ended() -> None:
    event = synthesized_chat_ended("2024-01-01T00:00:00.000Z")
    assert event.id == "chat-ended-event" and event.content_type == ContentType.ENDED.value
    inner = json.loads(str(event.serialized_content["content"]))
    assert inner["Type"] == "EVENT"
