"""``connect_chat.contact.start_chat_contact``: a chat started from Python, no AWS keys needed
against the emulator, the caller's credentials against Amazon Connect, only SDK errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

import connect_chat
from connect_chat import ChatSession, ContentType, GlobalConfig, Message
from connect_chat.contact import CredentialsError, start_chat_contact
from connect_chat.emulator import Emulator
from connect_chat.errors import (
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    ServiceError,
)

CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The ``Authorization`` header of each StartChatContact sent (None: unsigned)."""
    seen: list[str | None] = []
    create_client = botocore.session.Session.create_client

    def spying_create_client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service, *args, **kwargs)
        client.meta.events.register(
            "before-send.connect.StartChatContact",
            lambda request, **_: seen.append(
                request.headers["Authorization"].decode()
                if "Authorization" in request.headers else None
            ),
        )
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", spying_create_client)
    return seen


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(agent="echo") as emu:
        yield emu


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_chat_starts_on_the_emulator_without_aws_credentials(
    emulator: Emulator, signatures: list[str | None]
) -> None:
    details = start_chat_contact(endpoint_url=emulator.endpoint_url, display_name="Ann")
    (call,) = emulator.calls("StartChatContact")
    assert call.body["ParticipantDetails"] == {"DisplayName": "Ann"}
    assert signatures == [None]  # unsigned: no keys invented, none needed
    # The details are a working chat: the echo agent answers.
    with ChatSession(GlobalConfig(endpoint_url=emulator.endpoint_url)) as session:
        session.connect(details, timeout=10)
        session.send_message(ContentType.PLAIN_TEXT, "ping")
        echo = session.wait_for(
            lambda i: isinstance(i, Message) and i.participant == "AGENT" and i.text == "ping",
            timeout=10,
        )
    assert echo.text == "ping"


def test_the_callers_credentials_sign_the_request_when_there_are_some(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    no_aws_credentials: None,
    signatures: list[str | None],
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    start_chat_contact(
        instance_id="inst-1", contact_flow_id="flow-1", region="eu-central-1",
        endpoint_url=emulator.endpoint_url,
    )
    (call,) = emulator.calls("StartChatContact")
    (signature,) = signatures
    assert signature is not None and "Credential=AKIDEXAMPLE/" in signature
    assert "/eu-central-1/connect/aws4_request" in signature
    assert call.body["InstanceId"] == "inst-1" and call.body["ContactFlowId"] == "flow-1"


@pytest.mark.usefixtures("no_aws_credentials")
def test_amazon_connect_without_credentials_is_a_connect_chat_error() -> None:
    with pytest.raises(CredentialsError, match="no AWS credentials found") as caught:
        start_chat_contact(instance_id="i-1", contact_flow_id="f-1", region="us-east-1")
    assert isinstance(caught.value, ConnectChatError)


@pytest.mark.usefixtures("no_aws_credentials")
def test_amazon_connect_needs_an_instance_and_a_flow() -> None:
    with pytest.raises(InvalidInputError, match="instance_id"):
        start_chat_contact(display_name="Ann")


@pytest.mark.usefixtures("no_aws_credentials")
def test_an_unknown_profile_is_a_connect_chat_error() -> None:
    with pytest.raises(CredentialsError, match="nobody-here"):
        start_chat_contact(instance_id="i", contact_flow_id="f", profile="nobody-here")


@pytest.mark.usefixtures("no_aws_credentials")
def test_an_unreachable_endpoint_is_a_connect_chat_error() -> None:
    with pytest.raises(EndpointUnreachableError) as caught:
        start_chat_contact(endpoint_url=f"http://127.0.0.1:{closed_port()}")
    assert isinstance(caught.value, ConnectChatError)
    assert "StartChatContact" in str(caught.value)


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_malformed_endpoint_is_a_connect_chat_error() -> None:
    with pytest.raises(InvalidInputError):
        start_chat_contact(endpoint_url="127.0.0.1:8000")


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_refusal_of_the_service_is_a_typed_service_error(emulator: Emulator) -> None:
    emulator.faults.http_errors(status=403, count=1, operations=["StartChatContact"])
    with pytest.raises(ServiceError) as caught:
        start_chat_contact(endpoint_url=emulator.endpoint_url, instance_id="no-such-instance")
    assert caught.value.status == 403 and caught.value.operation == "StartChatContact"
    assert isinstance(caught.value, ConnectChatError)


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_rejected_request_is_a_connect_chat_error(emulator: Emulator) -> None:
    with pytest.raises(ConnectChatError):
        start_chat_contact(endpoint_url=emulator.endpoint_url, display_name="x" * 300)


def test_the_package_exports_it() -> None:
    assert connect_chat.start_chat_contact is start_chat_contact
