"""The chat WebSocket with plain websocket-client: topics, item shapes, fan-out, chat end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import websocket

from connect_chat.emulator import Emulator
from connect_chat.enums import ContentType
from tests.emulator.conftest import Customer, Socket, wait_until

EVT = "application/vnd.amazonaws.connect.event."
Opener = Callable[..., Socket]


def test_subscribe_heartbeat_ping(customer: Customer, open_socket: Opener) -> None:
    sock = open_socket(customer.ws_url, subscribe=False)
    sock.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
    ack = sock.wait_for(lambda f: f.get("topic") == "aws/subscribe")
    assert ack == {
        "topic": "aws/subscribe",
        "content": {"status": "success", "topics": ["aws/chat"]},
    }
    sock.send({"topic": "aws/ping"})
    assert sock.wait_for(lambda f: f.get("topic") == "aws/ping") == {
        "topic": "aws/ping",
        "statusCode": 200,
        "statusContent": "OK",
    }
    sock.send({"topic": "aws/heartbeat"})
    assert sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat") == {"topic": "aws/heartbeat"}


def test_ios_sloppy_subscribe_frame(customer: Customer, open_socket: Opener) -> None:
    sock = open_socket(customer.ws_url, subscribe=False)
    sock.send('{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})')
    ack = sock.wait_for(lambda f: f.get("topic") == "aws/subscribe")
    assert ack["content"]["status"] == "success"


def test_subscribe_without_chat_topic_fails(customer: Customer, open_socket: Opener) -> None:
    sock = open_socket(customer.ws_url, subscribe=False)
    sock.send({"topic": "aws/subscribe", "content": {"topics": ["aws/other"]}})
    ack = sock.wait_for(lambda f: f.get("topic") == "aws/subscribe")
    assert ack["content"] == {"status": "failure", "topics": ["aws/other"]}


def test_nothing_delivered_before_subscribe(
    emu: Emulator, customer: Customer, open_socket: Opener
) -> None:
    sock = open_socket(customer.ws_url, subscribe=False)
    emu.agent(customer.contact_id).send_message("early")
    sock.assert_silent()


def test_customer_joined_on_first_subscribe(customer: Customer, open_socket: Opener) -> None:
    sock = open_socket(customer.ws_url)
    item = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.joined")
    assert item["ParticipantId"] == customer.participant_id
    assert item["ParticipantRole"] == "CUSTOMER"


def test_message_echo_shape(customer: Customer, acps: Any, open_socket: Opener) -> None:
    sock = open_socket(customer.ws_url)
    answer = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="Test"
    )
    frame = sock.wait_for(
        lambda f: f.get("topic") == "aws/chat" and json.loads(f["content"])["Type"] == "MESSAGE"
    )
    assert set(frame) == {"content", "contentType", "topic"}
    assert frame["contentType"] == "application/json"
    item = json.loads(frame["content"])
    assert list(item) == [
        "AbsoluteTime",
        "Content",
        "ContentType",
        "Id",
        "Type",
        "ParticipantId",
        "DisplayName",
        "ParticipantRole",
        "InitialContactId",
        "ContactId",
    ]
    assert item["Id"] == answer["Id"] and item["AbsoluteTime"] == answer["AbsoluteTime"]
    assert item["InitialContactId"] == item["ContactId"] == customer.contact_id


def test_fan_out_to_every_socket(emu: Emulator, customer: Customer, open_socket: Opener) -> None:
    first, second = open_socket(customer.ws_url), open_socket(customer.ws_url)
    assert emu.websocket_count(customer.contact_id) == 2
    message_id = emu.agent(customer.contact_id).send_message("to both")
    for sock in (first, second):
        assert sock.wait_item(lambda i: i["Type"] == "MESSAGE")["Id"] == message_id


def test_agent_events_and_receipts(
    emu: Emulator, customer: Customer, acps: Any, open_socket: Opener
) -> None:
    sock = open_socket(customer.ws_url)
    agent = emu.agent(customer.contact_id)
    agent_id = agent.join("Sam")
    joined = sock.wait_item(
        lambda i: i["ContentType"] == EVT + "participant.joined" and i["ParticipantRole"] == "AGENT"
    )
    assert joined["DisplayName"] == "Sam" and joined["ParticipantId"] == agent_id
    agent.send_event(ContentType.TYPING)
    typing = sock.wait_item(lambda i: i["ContentType"] == EVT + "typing")
    assert typing["ParticipantId"] == agent_id and "Content" not in typing
    mine = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="read me"
    )["Id"]
    agent.send_receipt(mine, read=False)
    delivered = sock.wait_item(lambda i: i["Type"] == "MESSAGEMETADATA")
    assert delivered["ContentType"] == EVT + "message.metadata"
    assert set(delivered) == {
        "AbsoluteTime", "ContentType", "Id", "Type", "MessageMetadata",
        "InitialContactId", "ContactId",
    }
    assert delivered["ContactId"] == customer.contact_id
    assert delivered["InitialContactId"] == customer.contact_id
    receipt = delivered["MessageMetadata"]["Receipts"][0]
    assert delivered["MessageMetadata"]["MessageId"] == mine
    assert receipt["RecipientParticipantId"] == agent_id
    assert "DeliveredTimestamp" in receipt and "ReadTimestamp" not in receipt
    agent.send_receipt(mine)
    read = sock.wait_item(
        lambda i: (
            i["Type"] == "MESSAGEMETADATA"
            and "ReadTimestamp" in i["MessageMetadata"]["Receipts"][0]
        )
    )
    assert read["MessageMetadata"]["MessageId"] == mine
    agent.update_display_name("Samuel")
    renamed = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.displayname.updated")
    assert renamed["DisplayName"] == "Samuel"
    agent.leave()
    left = sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.left")
    assert left["ParticipantId"] == agent_id and left["DisplayName"] == "Samuel"


def test_customer_typing_and_receipt_reach_sockets(
    emu: Emulator, customer: Customer, acps: Any, open_socket: Opener
) -> None:
    sock = open_socket(customer.ws_url)
    acps.send_event(ConnectionToken=customer.connection_token, ContentType=ContentType.TYPING.value)
    typing = sock.wait_item(lambda i: i["ContentType"] == EVT + "typing")
    assert typing["ParticipantId"] == customer.participant_id
    message_id = emu.agent(customer.contact_id).send_message("hi")
    acps.send_event(
        ConnectionToken=customer.connection_token,
        ContentType=ContentType.MESSAGE_READ.value,
        Content=json.dumps({"messageId": message_id}),
    )
    meta = sock.wait_item(lambda i: i["Type"] == "MESSAGEMETADATA")
    assert (
        meta["MessageMetadata"]["Receipts"][0]["RecipientParticipantId"] == customer.participant_id
    )


@pytest.mark.parametrize(
    ("content_type", "subject"),
    [
        (ContentType.PARTICIPANT_IDLE, "customer"),
        (ContentType.PARTICIPANT_RETURNED, "customer"),
        (ContentType.AUTO_DISCONNECTION, "customer"),
        (ContentType.PARTICIPANT_INVITED, None),
        (ContentType.TRANSFER_SUCCEEDED, None),
        (ContentType.CHAT_REHYDRATED, None),
        (ContentType.AUTHENTICATION_INITIATED, None),
    ],
)
def test_emitted_events(
    emu: Emulator,
    customer: Customer,
    open_socket: Opener,
    content_type: ContentType,
    subject: str | None,
) -> None:
    sock = open_socket(customer.ws_url)
    item_id = emu.emit_event(
        customer.contact_id,
        content_type,
        participant_id=subject,
        participant_role=None if subject else "SYSTEM",
    )
    item = sock.wait_item(lambda i: i["Id"] == item_id)
    assert item["ContentType"] == content_type.value and item["Type"] == "EVENT"
    assert item["InitialContactId"] == item["ContactId"] == customer.contact_id
    if subject:
        assert item["ParticipantId"] == customer.participant_id
        assert item["ParticipantRole"] == "CUSTOMER"
    else:
        assert item["ParticipantRole"] == "SYSTEM"


def test_chat_end_sends_ended_then_closes(
    emu: Emulator, customer: Customer, open_socket: Opener
) -> None:
    sock = open_socket(customer.ws_url)
    emu.agent(customer.contact_id).join("Sam")
    emu.end_chat(customer.contact_id)
    sock.wait_item(lambda i: i["ContentType"] == EVT + "participant.left")
    ended = sock.wait_item(lambda i: i["ContentType"] == EVT + "chat.ended")
    assert set(ended) == {
        "AbsoluteTime",
        "ContentType",
        "Id",
        "Type",
        "InitialContactId",
        "ContactId",
    }
    sock.ws.settimeout(5)
    opcode, _ = sock.ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    wait_until(lambda: emu.websocket_count(customer.contact_id) == 0)


def test_websocket_url_rules(emu: Emulator, customer: Customer, acps: Any) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"ws://127.0.0.1:{emu.port}/ws?token=forged", timeout=5)
    assert info.value.status_code == 403
    with Emulator(websocket_url_ttl=0.05) as short:
        details = short.start_chat()
        from tests.emulator.conftest import make_acps

        url = make_acps(short.endpoint_url).create_participant_connection(
            ParticipantToken=details.participant_token, Type=["WEBSOCKET"]
        )["Websocket"]["Url"]
        wait_until(lambda: _rejected(url))


def _rejected(url: str) -> bool:
    try:
        websocket.create_connection(url, timeout=5).close()
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code == 403  # type: ignore[no-any-return]
    return False
