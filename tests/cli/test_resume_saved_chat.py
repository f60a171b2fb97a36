"""SavedChat: what one process saves for another — JSON-safe, with its secrets in one place."""

from __future__ import annotations

import json

import pytest

from connect_chat.errors import InvalidInputError
from connect_chat.models import ChatDetails
from connect_chat.resume import SAVED_CHAT_VERSION, SavedChat

SECRETS = ("ptok-SECRET-1", "ctok-SECRET-2", "wss://example.invalid/ws?X-Amz-Signature=SECRET-3")


def saved() -> SavedChat:
    return SavedChat(
        participant_token=SECRETS[0],
        contact_id="contact-1",
        participant_id="participant-1",
        region="eu-west-2",
        endpoint_url="http://127.0.0.1:9",
        connection_token=SECRETS[1],
        connection_expiry="2025-05-25T21:40:12.000Z",
        websocket_url=SECRETS[2],
        websocket_url_expiry="2025-05-24T21:41:52.000Z",
        last_item_id="item-9",
        last_item_time="2025-05-24T21:41:03.512Z",
    )


def test_round_trips_through_json() -> None:
    original = saved()
    text = json.dumps(original.to_dict())
    assert SavedChat.from_dict(json.loads(text)) == original


def test_secrets_sit_under_one_key_and_only_there() -> None:
    data = saved().to_dict()
    assert set(data["secrets"]) == {"participant_token", "connection_token", "websocket_url"}
    public = {key: value for key, value in data.items() if key != "secrets"}
    for secret in SECRETS:
        assert secret not in json.dumps(public)
    assert data["version"] == SAVED_CHAT_VERSION
    assert data["contact_id"] == "contact-1"


def test_without_secrets_it_is_safe_to_show_and_cannot_be_resumed() -> None:
    data = saved().to_dict(include_secrets=False)
    text = json.dumps(data)
    for secret in SECRETS:
        assert secret not in text
    with pytest.raises(InvalidInputError, match="include_secrets=False"):
        SavedChat.from_dict(data)


def test_repr_hides_the_secrets() -> None:
    text = repr(saved())
    assert "contact-1" in text
    for secret in SECRETS:
        assert secret not in text


def test_chat_details_round_trip() -> None:
    details = ChatDetails(participant_token="tok", contact_id="c", participant_id="p")
    state = SavedChat.from_chat_details(details, region="us-east-1", endpoint_url=None)
    assert state.chat_details() == details
    assert state.connection_token is None
    assert state.region == "us-east-1"


def test_with_connection_and_last_item_return_updated_copies() -> None:
    state = SavedChat(participant_token="tok")
    connected = state.with_connection(connection_token="ct", connection_expiry="later")
    moved = connected.with_last_item("i-2", "t-2")
    assert state.connection_token is None
    assert moved.connection_token == "ct"
    assert (moved.last_item_id, moved.last_item_time) == ("i-2", "t-2")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.update(version=SAVED_CHAT_VERSION + 1), "not supported"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d["secrets"].update(participant_token=None), "participant token"),
        (lambda d: d.update(contact_id=42), "contact_id must be a string"),
        (lambda d: d["secrets"].update(connection_token=["x"]), "connection_token"),
    ],
)
def test_from_dict_rejects_what_it_cannot_trust(mutate: object, message: str) -> None:
    data = saved().to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=message):
        SavedChat.from_dict(data)


def test_from_dict_rejects_a_non_dict() -> None:
    with pytest.raises(InvalidInputError):
        SavedChat.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


def test_an_empty_participant_token_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        SavedChat(participant_token="")
