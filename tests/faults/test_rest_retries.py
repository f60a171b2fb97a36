"""REST retries (issue 4, point 7): botocore standard retries for throttling and 5xx, a
fixed attempt budget, typed errors after it, nothing retried that should not be."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from connect_chat import AWSClient
from connect_chat.client import base_botocore_config
from connect_chat.errors import (
    EndpointUnreachableError,
    InternalServerError,
    ServiceError,
    ServiceValidationError,
    ThrottlingError,
)

#: Attempts per call in the SDK's botocore config (the first one and two retries).
ATTEMPTS = 3


def test_the_sdk_uses_botocore_standard_retries_with_a_bounded_budget() -> None:
    config = base_botocore_config()
    assert config.retries == {"mode": "standard", "total_max_attempts": ATTEMPTS}
    assert config.connect_timeout == 10 and config.read_timeout == 30


@pytest.mark.parametrize("status, error, code", [
    (503, InternalServerError, "InternalServerException"),
    (500, InternalServerError, "InternalServerException"),
    (429, ThrottlingError, "ThrottlingException"),
])
def test_retryable_errors_are_retried_then_raised_typed(
        emu: Any, status: int, error: type[ServiceError], code: str) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url)
    details = emu.start_chat()
    token = client.create_participant_connection(details.participant_token).connection_token
    assert token
    emu.faults.http_errors(status=status, rate=1.0, operations=["SendMessage"])
    with pytest.raises(error) as caught:
        client.send_message(token, "text/plain", "hi", client_token="token-1")
    assert caught.value.code == code and caught.value.status == status
    assert caught.value.retryable and caught.value.operation == "SendMessage"
    calls = emu.calls("SendMessage", details.contact_id)
    assert [c.attempt for c in calls] == list(range(1, ATTEMPTS + 1))
    assert {c.client_token for c in calls} == {"token-1"}
    assert token not in str(caught.value)


@pytest.mark.parametrize("status", [429, 503])
def test_a_transient_error_is_absorbed_and_the_message_stored_once(
        emu: Any, status: int) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url)
    details = emu.start_chat()
    token = client.create_participant_connection(details.participant_token).connection_token
    assert token
    emu.faults.http_errors(status=status, count=ATTEMPTS - 1, operations=["SendMessage"])
    answer = client.send_message(token, "text/plain", "persistent", client_token="token-2")
    calls = emu.calls("SendMessage", details.contact_id)
    assert [(c.attempt, c.status) for c in calls] == [(1, status), (2, status), (3, 200)]
    stored = [i for i in emu.transcript(details.contact_id) if i.get("Type") == "MESSAGE"]
    assert [i["Id"] for i in stored] == [answer["Id"]]


def test_validation_errors_are_not_retried(emu: Any) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url)
    details = emu.start_chat()
    token = client.create_participant_connection(details.participant_token).connection_token
    assert token
    emu.faults.http_errors(status=400, rate=1.0, operations=["SendMessage"])
    with pytest.raises(ServiceValidationError) as caught:
        client.send_message(token, "text/plain", "hi")
    assert not caught.value.retryable
    assert len(emu.calls("SendMessage", details.contact_id)) == 1


def test_an_unreachable_endpoint_is_a_typed_error_after_the_budget() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AWSClient(endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(EndpointUnreachableError) as caught:
        client.create_participant_connection("participant-token-secret")
    assert "participant-token-secret" not in str(caught.value)
    assert caught.value.__cause__ is not None
