"""GetTranscript defaults and paging in both directions, through botocore."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from connect_chat.emulator import Emulator
from tests.emulator.conftest import Customer


@pytest.fixture
def chat(emu: Emulator, customer: Customer, acps: Any) -> tuple[Customer, list[str]]:
    """A chat holding the customer's joined event and 25 messages (26 items)."""
    for n in range(25):
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content=f"m{n}"
        )
    ids = [i["Id"] for i in emu.transcript(customer.contact_id)]
    assert len(ids) == 26
    return customer, ids


def _ids(answer: dict[str, Any]) -> list[str]:
    return [i["Id"] for i in answer["Transcript"]]


def test_defaults_newest_ten_descending(chat: tuple[Customer, list[str]], acps: Any) -> None:
    customer, ids = chat
    answer = acps.get_transcript(ConnectionToken=customer.connection_token)
    assert _ids(answer) == list(reversed(ids[-10:]))
    assert answer["InitialContactId"] == customer.contact_id
    assert answer["NextToken"]


def test_backward_paging_with_next_token_covers_everything(
    chat: tuple[Customer, list[str]], acps: Any
) -> None:
    customer, ids = chat
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {
            "ConnectionToken": customer.connection_token,
            "ScanDirection": "BACKWARD",
            "SortOrder": "ASCENDING",
            "MaxResults": 7,
        }
        if token:
            kwargs["NextToken"] = token
        answer = acps.get_transcript(**kwargs)
        page = _ids(answer)
        assert page == sorted(page, key=ids.index)  # ASCENDING within the page
        seen = page + seen
        pages += 1
        token = answer.get("NextToken")
        if not token:
            break
    assert seen == ids and pages == 4


def test_forward_without_start_is_empty(chat: tuple[Customer, list[str]], acps: Any) -> None:
    customer, _ = chat
    answer = acps.get_transcript(ConnectionToken=customer.connection_token, ScanDirection="FORWARD")
    assert answer["Transcript"] == [] and "NextToken" not in answer


def test_forward_from_id_with_next_token_and_with_ids(
    chat: tuple[Customer, list[str]], acps: Any
) -> None:
    customer, ids = chat
    first = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="FORWARD",
        SortOrder="ASCENDING",
        MaxResults=10,
        StartPosition={"Id": ids[3]},
    )
    assert _ids(first) == ids[4:14]
    second = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        SortOrder="ASCENDING",
        MaxResults=10,
        NextToken=first["NextToken"],
    )
    assert _ids(second) == ids[14:24]
    # Android/iOS page forward by re-asking from the last id instead of the NextToken.
    third = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="FORWARD",
        SortOrder="ASCENDING",
        MaxResults=10,
        StartPosition={"Id": ids[23]},
    )
    assert _ids(third) == ids[24:] and "NextToken" not in third


def test_start_position_defaults_to_forward(chat: tuple[Customer, list[str]], acps: Any) -> None:
    customer, ids = chat
    answer = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        SortOrder="ASCENDING",
        StartPosition={"Id": ids[20]},
    )
    assert _ids(answer) == ids[21:]


def test_backward_from_id_and_descending(chat: tuple[Customer, list[str]], acps: Any) -> None:
    customer, ids = chat
    answer = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="BACKWARD",
        SortOrder="DESCENDING",
        MaxResults=5,
        StartPosition={"Id": ids[10]},
    )
    assert _ids(answer) == list(reversed(ids[5:10]))


def test_absolute_time_and_most_recent(
    emu: Emulator, chat: tuple[Customer, list[str]], acps: Any
) -> None:
    customer, ids = chat
    stored = emu.transcript(customer.contact_id)
    at = stored[12]["AbsoluteTime"]
    forward = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="FORWARD",
        SortOrder="ASCENDING",
        MaxResults=100,
        StartPosition={"AbsoluteTime": at},
    )
    assert _ids(forward) == ids[12:]
    backward = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="BACKWARD",
        SortOrder="ASCENDING",
        MaxResults=100,
        StartPosition={"AbsoluteTime": at},
    )
    assert _ids(backward) == ids[:13]
    recent = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="FORWARD",
        SortOrder="ASCENDING",
        StartPosition={"MostRecent": 3},
    )
    assert _ids(recent) == ids[-3:]
    older = acps.get_transcript(
        ConnectionToken=customer.connection_token,
        ScanDirection="BACKWARD",
        SortOrder="ASCENDING",
        MaxResults=100,
        StartPosition={"MostRecent": 3},
    )
    assert _ids(older) == ids[:-3]


def test_unknown_start_id_gives_empty_page(chat: tuple[Customer, list[str]], acps: Any) -> None:
    customer, _ = chat
    answer = acps.get_transcript(
        ConnectionToken=customer.connection_token, StartPosition={"Id": "nope"}
    )
    assert answer["Transcript"] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"MaxResults": 101},
        {"ScanDirection": "SIDEWAYS"},
        {"SortOrder": "RANDOM"},
        {"NextToken": "garbage!"},
        {"StartPosition": {"Id": "a", "MostRecent": 1}},
        {"StartPosition": {"AbsoluteTime": "yesterday"}},
        {"StartPosition": {"MostRecent": 101}},
    ],
)
def test_transcript_validation(
    chat: tuple[Customer, list[str]], raw_acps: Any, kwargs: dict[str, Any]
) -> None:
    customer, _ = chat
    with pytest.raises(ClientError) as info:
        raw_acps.get_transcript(ConnectionToken=customer.connection_token, **kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_next_token_of_another_contact_is_rejected(
    emu: Emulator, chat: tuple[Customer, list[str]], acps: Any
) -> None:
    customer, _ = chat
    token = acps.get_transcript(ConnectionToken=customer.connection_token)["NextToken"]
    other = emu.start_chat("Bob")
    conn = acps.create_participant_connection(
        ParticipantToken=other.participant_token, Type=["CONNECTION_CREDENTIALS"]
    )
    with pytest.raises(ClientError) as info:
        acps.get_transcript(
            ConnectionToken=conn["ConnectionCredentials"]["ConnectionToken"], NextToken=token
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
