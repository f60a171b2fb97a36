"""Fault injection: dropped sockets, silent heartbeats, expired tokens, REST errors."""

from __future__ import annotations

import socket as pysocket
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket
from botocore.exceptions import ClientError

from connect_chat.emulator import Emulator
from tests.emulator.conftest import Customer, Socket, connect_customer, make_acps, wait_until


def test_drop_websockets_is_abrupt_and_selective(
    emu: Emulator, acps: Any, open_socket: Callable[..., Socket]
) -> None:
    ann, bob = connect_customer(emu, acps, "Ann"), connect_customer(emu, acps, "Bob")
    ann_sock, bob_sock = open_socket(ann.ws_url), open_socket(bob.ws_url)
    assert emu.faults.drop_websockets(ann.contact_id) == 1
    ann_sock.ws.settimeout(5)
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
        # No close frame arrives: the TCP connection just ends.
        while True:
            opcode, _ = ann_sock.ws.recv_data(control_frame=True)
            assert opcode != websocket.ABNF.OPCODE_CLOSE
    assert emu.websocket_count(ann.contact_id) == 0
    assert emu.websocket_count(bob.contact_id) == 1
    bob_sock.send({"topic": "aws/heartbeat"})
    bob_sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
    # The participant can reconnect with a new URL.
    url = acps.create_participant_connection(
        ParticipantToken=ann.participant_token, Type=["WEBSOCKET"]
    )["Websocket"]["Url"]
    open_socket(url)
    emu.faults.drop_websockets()
    wait_until(lambda: emu.websocket_count() == 0)


def test_silence_heartbeats(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    emu.faults.silence_heartbeats(seconds=30, contact_id=customer.contact_id)
    sock.send({"topic": "aws/heartbeat"})
    sock.send({"topic": "aws/ping"})
    message_id = emu.agent(customer.contact_id).send_message("still flowing")
    item = sock.wait_item(lambda i: i["Type"] == "MESSAGE")
    assert item["Id"] == message_id
    assert not any(f.get("topic") in ("aws/heartbeat", "aws/ping") for f in sock.frames)
    emu.faults.clear()
    sock.send({"topic": "aws/ping"})
    assert sock.wait_for(lambda f: f.get("topic") == "aws/ping")["statusCode"] == 200


def test_silence_heartbeats_ends_by_itself(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    emu.faults.silence_heartbeats(seconds=0.2)

    def answered() -> bool:
        sock.send({"topic": "aws/heartbeat"})
        try:
            sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat", timeout=0.1)
        except (AssertionError, websocket.WebSocketTimeoutException):
            return False
        return True

    wait_until(answered)


def test_expire_connection_tokens(emu: Emulator, customer: Customer, acps: Any) -> None:
    assert emu.faults.expire_connection_tokens() == 1
    with pytest.raises(ClientError) as info:
        acps.send_message(
            ConnectionToken=customer.connection_token, ContentType="text/plain", Content="x"
        )
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    fresh = acps.create_participant_connection(
        ParticipantToken=customer.participant_token, Type=["CONNECTION_CREDENTIALS"]
    )
    acps.send_message(
        ConnectionToken=fresh["ConnectionCredentials"]["ConnectionToken"],
        ContentType="text/plain",
        Content="works again",
    )


def test_connection_token_ttl() -> None:
    with Emulator(connection_token_ttl=0.05) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps)

        def denied() -> bool:
            try:
                acps.get_transcript(ConnectionToken=customer.connection_token)
            except ClientError as exc:
                return exc.response["Error"]["Code"] == "AccessDeniedException"  # type: ignore[no-any-return]
            return False

        wait_until(denied)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (503, "InternalServerException"),
        (500, "InternalServerException"),
        (429, "ThrottlingException"),
        (403, "AccessDeniedException"),
        (400, "ValidationException"),
    ],
)
def test_http_errors_count(
    emu: Emulator, customer: Customer, acps: Any, status: int, code: str
) -> None:
    emu.faults.http_errors(status=status, count=2, operations=["SendMessage"])
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            acps.send_message(
                ConnectionToken=customer.connection_token, ContentType="text/plain", Content="x"
            )
        assert info.value.response["Error"]["Code"] == code
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="third works"
    )
    acps.get_transcript(ConnectionToken=customer.connection_token)  # other operations unaffected
    statuses = [c.status for c in emu.calls("SendMessage")]
    assert statuses == [status, status, 200]


def test_http_errors_rate_is_reproducible_with_seed(emu: Emulator, customer: Customer) -> None:
    def pattern() -> list[int]:
        emu.faults.clear()
        emu.faults.http_errors(status=503, rate=0.5, seed=7, operations=["GetTranscript"])
        return [
            requests.post(
                f"{emu.endpoint_url}/participant/transcript",
                headers={"X-Amz-Bearer": customer.connection_token},
                data="{}",
                timeout=5,
            ).status_code
            for _ in range(20)
        ]

    first, second = pattern(), pattern()
    assert first == second
    assert 503 in first and 200 in first


def test_botocore_retries_through_injected_errors(emu: Emulator, customer: Customer) -> None:
    emu.faults.http_errors(status=503, count=2, operations=["SendMessage"])
    acps = make_acps(emu.endpoint_url, attempts=3)
    answer = acps.send_message(
        ConnectionToken=customer.connection_token, ContentType="text/plain", Content="retried"
    )
    calls = emu.calls("SendMessage")
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert len({c.client_token for c in calls}) == 1
    assert [i.get("Content") for i in emu.transcript(customer.contact_id)].count("retried") == 1
    assert emu.transcript(customer.contact_id)[-1]["Id"] == answer["Id"]


def test_http_errors_on_start_chat_contact_and_attachments(emu: Emulator) -> None:
    emu.faults.http_errors(status=429, count=1, operations=["StartChatContact"])
    emu.faults.http_errors(status=500, count=1, operations=["UploadAttachment"])
    from tests.emulator.conftest import make_connect

    with pytest.raises(ClientError) as info:
        make_connect(emu.endpoint_url).start_chat_contact(
            InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "A"}
        )
    assert info.value.response["Error"]["Code"] == "LimitExceededException"
    acps = make_acps(emu.endpoint_url)
    customer = connect_customer(emu, acps)
    started = acps.start_attachment_upload(
        ConnectionToken=customer.connection_token,
        ContentType="text/plain",
        AttachmentSizeInBytes=1,
        AttachmentName="a.txt",
    )
    meta = started["UploadMetadata"]
    assert (
        requests.put(
            meta["Url"], data=b"x", headers=meta["HeadersToInclude"], timeout=5
        ).status_code
        == 500
    )
    assert (
        requests.put(
            meta["Url"], data=b"x", headers=meta["HeadersToInclude"], timeout=5
        ).status_code
        == 200
    )


def test_fault_argument_checks(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.http_errors(status=200)
    with pytest.raises(ValueError):
        emu.faults.http_errors(rate=1.5)
    with pytest.raises(ValueError):
        emu.faults.silence_heartbeats(seconds=-1)


def test_dropped_socket_leaves_server_port_usable(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    open_socket(customer.ws_url)
    emu.faults.drop_websockets()
    with pysocket.create_connection(("127.0.0.1", emu.port), timeout=5):
        pass


def test_close_websockets_with_code(
    emu: Emulator, customer: Customer, open_socket: Callable[..., Socket]
) -> None:
    sock = open_socket(customer.ws_url)
    assert emu.faults.close_websockets(code=1011, contact_id=customer.contact_id) == 1
    sock.ws.settimeout(5)
    opcode, frame = sock.ws.recv_data_frame(control_frame=True)
    while opcode == websocket.ABNF.OPCODE_TEXT:  # the joined item may come first
        opcode, frame = sock.ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1011
    with pytest.raises(ValueError):
        emu.faults.close_websockets(code=999)
