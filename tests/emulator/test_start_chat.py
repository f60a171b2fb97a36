"""StartChatContact over botocore's ``connect`` client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from connect_chat.emulator import Emulator
from tests.emulator.conftest import make_acps

BASE = {"InstanceId": "inst-1", "ContactFlowId": "flow-1"}


def _start(connect: Any, **kwargs: Any) -> dict[str, Any]:
    params = dict(BASE, ParticipantDetails={"DisplayName": "Ann"})
    params.update(kwargs)
    return connect.start_chat_contact(**params)  # type: ignore[no-any-return]


def test_start_chat_contact_creates_customer_with_initial_message(
    emu: Emulator, connect: Any
) -> None:
    answer = _start(connect, InitialMessage={"ContentType": "text/plain", "Content": "hello"})
    assert set(answer) >= {"ContactId", "ParticipantId", "ParticipantToken"}
    items = emu.transcript(answer["ContactId"])
    assert [i["ContentType"] for i in items] == [
        "application/vnd.amazonaws.connect.event.participant.joined",
        "text/plain",
    ]
    message = items[1]
    assert message["Content"] == "hello"
    assert message["DisplayName"] == "Ann"
    assert message["ParticipantRole"] == "CUSTOMER"
    assert message["ParticipantId"] == answer["ParticipantId"]
    calls = emu.calls("StartChatContact")
    assert len(calls) == 1 and calls[0].contact_id == answer["ContactId"]


def test_client_token_makes_start_idempotent(connect: Any) -> None:
    first = _start(connect, ClientToken="tok-1")
    again = _start(connect, ClientToken="tok-1")
    other = _start(connect, ClientToken="tok-2")
    assert again["ContactId"] == first["ContactId"]
    assert again["ParticipantToken"] == first["ParticipantToken"]
    assert other["ContactId"] != first["ContactId"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"ChatDurationInMinutes": 59},
        {"ChatDurationInMinutes": 10081},
        {"SupportedMessagingContentTypes": ["text/markdown"]},
        {"SupportedMessagingContentTypes": ["text/plain", "image/png"]},
        {"ParticipantDetails": {"DisplayName": "x" * 257}},
        {"InitialMessage": {"ContentType": "text/plain", "Content": "x" * 1025}},
        {"InitialMessage": {"ContentType": "image/png", "Content": "x"}},
        {"InstanceId": "i" * 101},
    ],
)
def test_invalid_start_parameters(connect: Any, overrides: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as info:
        _start(connect, **overrides)
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_supported_content_types_limit_send_message(emu: Emulator, connect: Any) -> None:
    answer = _start(
        connect, SupportedMessagingContentTypes=["text/plain"], ChatDurationInMinutes=60
    )
    acps = make_acps(emu.endpoint_url)
    conn = acps.create_participant_connection(
        ParticipantToken=answer["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"]
    )
    token = conn["ConnectionCredentials"]["ConnectionToken"]
    acps.send_message(ConnectionToken=token, ContentType="text/plain", Content="ok")
    with pytest.raises(ClientError) as info:
        acps.send_message(ConnectionToken=token, ContentType="text/markdown", Content="**no**")
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_persistent_chat_rehydrates_past_items(emu: Emulator, connect: Any) -> None:
    old = _start(connect, InitialMessage={"ContentType": "text/plain", "Content": "first visit"})
    with pytest.raises(ClientError) as info:
        _start(
            connect,
            PersistentChat={
                "RehydrationType": "ENTIRE_PAST_SESSION",
                "SourceContactId": old["ContactId"],
            },
        )
    assert info.value.response["Error"]["Code"] == "InvalidRequestException"
    emu.end_chat(old["ContactId"])
    new = _start(
        connect,
        PersistentChat={
            "RehydrationType": "ENTIRE_PAST_SESSION",
            "SourceContactId": old["ContactId"],
        },
    )
    assert new["ContinuedFromContactId"] == old["ContactId"]
    acps = make_acps(emu.endpoint_url)
    conn = acps.create_participant_connection(
        ParticipantToken=new["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"]
    )
    transcript = acps.get_transcript(
        ConnectionToken=conn["ConnectionCredentials"]["ConnectionToken"],
        SortOrder="ASCENDING",
        MaxResults=100,
    )["Transcript"]
    past = [i for i in transcript if i.get("RelatedContactId") == old["ContactId"]]
    assert any(i.get("Content") == "first visit" for i in past)
    current = [i for i in transcript if i.get("ContactId") == new["ContactId"]]
    assert current and all("RelatedContactId" not in i for i in current)
    with pytest.raises(ClientError) as missing:
        _start(
            connect,
            PersistentChat={
                "RehydrationType": "FROM_SEGMENT",
                "SourceContactId": "no-such-contact",
            },
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_chat_duration_ends_chat() -> None:
    with Emulator(close_delay_after_end=0.05) as emulator:
        details = emulator.start_chat(chat_duration_minutes=0.002)
        from tests.emulator.conftest import wait_until

        wait_until(lambda: emulator.contact(details.contact_id or "")["State"] == "ENDED")
        ended = emulator.transcript(details.contact_id or "")[-1]
        assert ended["ContentType"] == "application/vnd.amazonaws.connect.event.chat.ended"
