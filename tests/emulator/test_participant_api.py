"""The ACPS operations through plain botocore: answers, validation, errors, isolation, replay."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from connect_chat.emulator import Emulator
from connect_chat.enums import ContentType
from tests.emulator.conftest import Customer, connect_customer

READ = ContentType.MESSAGE_READ.value


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_participant_connection_answers_both_parts(emu: Emulator, acps: Any) -> None:
    details = emu.start_chat("Ann")
    answer = acps.create_participant_connection(
        ParticipantToken=details.participant_token,
        Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
        ConnectParticipant=True,
    )
    url = answer["Websocket"]["Url"]
    assert url.startswith(f"ws://127.0.0.1:{emu.port}/")
    assert answer["Websocket"]["ConnectionExpiry"].endswith("Z")
    assert answer["ConnectionCredentials"]["ConnectionToken"]
    assert answer["ConnectionCredentials"]["Expiry"] > answer["Websocket"]["ConnectionExpiry"]
    assert answer["ResponseMetadata"]["RequestId"]
    again = acps.create_participant_connection(
        ParticipantToken=details.participant_token, Type=["CONNECTION_CREDENTIALS"]
    )
    assert "Websocket" not in again
    assert (
        again["ConnectionCredentials"]["ConnectionToken"]
        != answer["ConnectionCredentials"]["ConnectionToken"]
    )


def test_create_participant_connection_rejects_bad_type(emu: Emulator, raw_acps: Any) -> None:
    details = emu.start_chat()
    with pytest.raises(ClientError) as info:
        raw_acps.create_participant_connection(
            ParticipantToken=details.participant_token, Type=["CARRIER_PIGEON"]
        )
    assert _code(info) == ("ValidationException", 400)


def test_unknown_tokens_are_access_denied(acps: Any) -> None:
    with pytest.raises(ClientError) as info:
        acps.create_participant_connection(ParticipantToken="nope", Type=["WEBSOCKET"])
    assert _code(info) == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as info:
        acps.send_message(ConnectionToken="nope", ContentType="text/plain", Content="x")
    assert _code(info) == ("AccessDeniedException", 403)


def test_participant_token_is_not_a_connection_token(customer: Customer, acps: Any) -> None:
    with pytest.raises(ClientError) as info:
        acps.send_message(
            ConnectionToken=customer.participant_token, ContentType="text/plain", Content="x"
        )
    assert _code(info) == ("AccessDeniedException", 403)


def test_send_message_answers_and_stores(emu: Emulator, customer: Customer, acps: Any) -> None:
    answer = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/markdown", Content="**hi**"
    )
    items = emu.transcript(customer.contact_id)
    assert items[-1]["Id"] == answer["Id"]
    assert items[-1]["AbsoluteTime"] == answer["AbsoluteTime"]
    assert items[-1]["Content"] == "**hi**"
    assert "MessageMetadata" not in answer


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", "x" * 1025),
        ("text/markdown", "x" * 1025),
        ("application/json", "x" * 12001),
        ("image/png", "x"),
        (ContentType.INTERACTIVE_TEXT.value, "{}"),
        ("text/plain", "x" * 16385),
    ],
)
def test_send_message_validation(
    customer: Customer, raw_acps: Any, content_type: str, content: str
) -> None:
    with pytest.raises(ClientError) as info:
        raw_acps.send_message(
            ConnectionToken=customer.connection_token, ContentType=content_type, Content=content
        )
    assert _code(info) == ("ValidationException", 400)


def test_send_message_limits_are_inclusive(customer: Customer, acps: Any) -> None:
    acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="x" * 1024
    )
    acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType="application/json",
        Content="x" * 12000,
    )


def test_send_event_types(emu: Emulator, customer: Customer, acps: Any, raw_acps: Any) -> None:
    typing = acps.send_event(
        ConnectionToken=customer.connection_token, ContentType=ContentType.TYPING.value
    )
    assert typing["Id"] and typing["AbsoluteTime"]
    raw_acps.send_event(
        ConnectionToken=customer.connection_token, ContentType=ContentType.TYPING.value, Content=""
    )
    assert all(
        i["ContentType"] != ContentType.TYPING.value for i in emu.transcript(customer.contact_id)
    )
    with pytest.raises(ClientError) as info:
        acps.send_event(
            ConnectionToken=customer.connection_token,
            ContentType="application/vnd.amazonaws.connect.event.chat.ended",
        )
    assert _code(info) == ("ValidationException", 400)
    with pytest.raises(ClientError) as info:
        acps.send_event(
            ConnectionToken=customer.connection_token,
            ContentType=READ,
            Content=json.dumps({"messageId": "unknown"}),
        )
    assert _code(info) == ("ValidationException", 400)
    with pytest.raises(ClientError) as info:
        acps.send_event(
            ConnectionToken=customer.connection_token, ContentType=READ, Content="not json"
        )
    assert _code(info) == ("ValidationException", 400)


def test_read_receipt_folds_into_transcript(emu: Emulator, customer: Customer, acps: Any) -> None:
    message_id = emu.agent(customer.contact_id).send_message("hello")
    acps.send_event(
        ConnectionToken=customer.connection_token,
        ContentType=READ,
        Content=json.dumps({"messageId": message_id}),
    )
    transcript = acps.get_transcript(ConnectionToken=customer.connection_token, MaxResults=100)[
        "Transcript"
    ]
    message = next(i for i in transcript if i["Id"] == message_id)
    receipts = message["MessageMetadata"]["Receipts"]
    assert message["MessageMetadata"]["MessageId"] == message_id
    assert receipts[0]["RecipientParticipantId"] == customer.participant_id
    assert receipts[0]["ReadTimestamp"] and receipts[0]["DeliveredTimestamp"]
    assert all(i["Type"] in ("MESSAGE", "EVENT", "ATTACHMENT") for i in transcript)


def test_receipts_conflict_with_more_than_two_participants(
    emu: Emulator, customer: Customer, acps: Any
) -> None:
    message_id = emu.agent(customer.contact_id).send_message("hello")
    emu.agent(customer.contact_id).join("Supervisor")  # a second agent is now active
    emu.agent(customer.contact_id).join("Third")
    with pytest.raises(ClientError) as info:
        acps.send_event(
            ConnectionToken=customer.connection_token,
            ContentType=READ,
            Content=json.dumps({"messageId": message_id}),
        )
    assert _code(info) == ("ConflictException", 409)


def test_client_token_replay(emu: Emulator, customer: Customer, acps: Any) -> None:
    first = acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType="text/plain",
        Content="once",
        ClientToken="ct-1",
    )
    again = acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType="text/plain",
        Content="once",
        ClientToken="ct-1",
    )
    assert again["Id"] == first["Id"]
    assert [i.get("Content") for i in emu.transcript(customer.contact_id)].count("once") == 1
    # A different body under a reused ClientToken is a new request (ChatJS receipts do that).
    other = acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType="text/plain",
        Content="twice",
        ClientToken="ct-1",
    )
    assert other["Id"] != first["Id"]
    agent = emu.agent(customer.contact_id)
    m1, m2 = agent.send_message("a"), agent.send_message("b")
    r1 = acps.send_event(
        ConnectionToken=customer.connection_token,
        ContentType=READ,
        Content=json.dumps({"messageId": m1}),
        ClientToken="INCOMING_READ_RECEIPT",
    )
    r2 = acps.send_event(
        ConnectionToken=customer.connection_token,
        ContentType=READ,
        Content=json.dumps({"messageId": m2}),
        ClientToken="INCOMING_READ_RECEIPT",
    )
    assert r1["Id"] != r2["Id"]
    folded = {i["Id"]: i for i in emu.transcript(customer.contact_id)}
    assert folded[m1]["MessageMetadata"]["Receipts"] and folded[m2]["MessageMetadata"]["Receipts"]


def test_isolation_between_contacts(emu: Emulator, acps: Any) -> None:
    ann = connect_customer(emu, acps, "Ann")
    bob = connect_customer(emu, acps, "Bob")
    acps.send_message(
        ConnectionToken=ann.connection_token, ContentType="text/plain", Content="ann's secret"
    )
    bob_items = acps.get_transcript(ConnectionToken=bob.connection_token, MaxResults=100)[
        "Transcript"
    ]
    assert all(i.get("Content") != "ann's secret" for i in bob_items)
    with pytest.raises(ClientError) as info:
        acps.get_transcript(ConnectionToken=bob.connection_token, ContactId=ann.contact_id)
    assert _code(info) == ("AccessDeniedException", 403)
    ann_message = emu.transcript(ann.contact_id)[-1]["Id"]
    with pytest.raises(ClientError) as info:
        acps.send_event(
            ConnectionToken=bob.connection_token,
            ContentType=READ,
            Content=json.dumps({"messageId": ann_message}),
        )
    assert _code(info)[0] == "ValidationException"
    assert not emu.transcript(ann.contact_id)[-1]["MessageMetadata"]["Receipts"]


def test_disconnect_ends_chat_and_revokes_tokens(
    emu: Emulator, customer: Customer, acps: Any
) -> None:
    emu.agent(customer.contact_id).join("Sam")
    assert (
        acps.disconnect_participant(ConnectionToken=customer.connection_token, ClientToken="d-1")[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
        == 200
    )
    kinds = [i["ContentType"].rsplit(".", 2)[-2:] for i in emu.transcript(customer.contact_id)]
    assert kinds[-2:] == [["participant", "left"], ["chat", "ended"]]
    # A retry of the same disconnect replays its answer; anything else is denied.
    acps.disconnect_participant(ConnectionToken=customer.connection_token, ClientToken="d-1")
    with pytest.raises(ClientError) as info:
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content="late"
        )
    assert _code(info) == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as info:
        acps.create_participant_connection(
            ParticipantToken=customer.participant_token,
            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
        )
    assert _code(info) == ("AccessDeniedException", 403)
    assert (
        info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"]
        == "AccessDeniedException"
    )


def test_ended_chat_denies_transcript(emu: Emulator, customer: Customer, acps: Any) -> None:
    emu.end_chat(customer.contact_id)
    with pytest.raises(ClientError) as info:
        acps.get_transcript(ConnectionToken=customer.connection_token)
    assert _code(info) == ("AccessDeniedException", 403)


def test_lenient_request_forms(emu: Emulator, customer: Customer) -> None:
    """Lower-case headers, any Authorization, x-amz-json-1.1 bodies, no ClientToken."""
    url = emu.endpoint_url
    answer = requests.post(
        f"{url}/participant/message",
        headers={
            "x-amz-bearer": customer.connection_token,
            "content-type": "application/x-amz-json-1.1",
            "authorization": "AWS4-HMAC-SHA256 Credential=/x/execute-api/aws4_request",
        },
        data=json.dumps({"Content": "from android", "ContentType": "text/plain"}),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-amzn-RequestId"]
    transcript = requests.post(
        f"{url}/participant/transcript",
        headers={"X-AMZ-BEARER": customer.connection_token},
        data=json.dumps(
            {
                "ScanDirection": "BACKWARD",
                "SortOrder": "ASCENDING",
                "MaxResults": 15,
                "StartPosition": {},
            }
        ),
        timeout=5,
    )
    assert transcript.status_code == 200
    assert transcript.json()["Transcript"][-1]["Content"] == "from android"
    denied = requests.post(f"{url}/participant/message", data="{}", timeout=5)
    assert denied.status_code == 403
    assert denied.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "message" in denied.json()
    preflight = requests.options(
        f"{url}/participant/message", headers={"Origin": "http://app.test"}, timeout=5
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.test"


def test_calls_log(emu: Emulator, customer: Customer, acps: Any) -> None:
    acps.send_message(
        ConnectionToken=customer.connection_token,
        ContentType="text/plain",
        Content="x",
        ClientToken="ct-log",
    )
    record = emu.calls("SendMessage", customer.contact_id)[-1]
    assert record.participant_id == customer.participant_id
    assert record.status == 200 and record.client_token == "ct-log"
    assert record.body["Content"] == "x" and record.attempt == 1
    assert customer.connection_token not in repr(record)
    assert len(emu.calls("CreateParticipantConnection")) == 1
    emu.clear_calls()
    assert emu.calls() == []


def test_authentication_url_and_cancel(
    emu: Emulator, customer: Customer, acps: Any, raw_acps: Any
) -> None:
    session_id = emu.start_authentication(customer.contact_id)
    answer = acps.get_authentication_url(
        ConnectionToken=customer.connection_token,
        SessionId=session_id,
        RedirectUri="https://app/back",
    )
    assert answer["AuthenticationUrl"].startswith(f"http://127.0.0.1:{emu.port}/")
    with pytest.raises(ClientError) as info:
        raw_acps.get_authentication_url(
            ConnectionToken=customer.connection_token,
            SessionId="short",
            RedirectUri="https://app/back",
        )
    assert _code(info) == ("ValidationException", 400)
    acps.cancel_participant_authentication(
        ConnectionToken=customer.connection_token, SessionId=session_id
    )
    with pytest.raises(ClientError) as info:
        acps.cancel_participant_authentication(
            ConnectionToken=customer.connection_token, SessionId=session_id
        )
    assert _code(info) == ("ValidationException", 400)
