"""The control API is locked down (Origin, Host, JSON bodies); hostile input is bounded.

Raw sockets where a well-behaved client library would not misbehave on purpose.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import websocket

from connect_chat.emulator import Emulator
from connect_chat.emulator.standalone import build_parser, emulator_from_args
from tests.emulator.conftest import Customer, Socket, connect_customer, make_acps, wait_until

EVIL = "http://evil.example"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(close_delay_after_end=0.05, request_timeout=0.5) as emulator:
        yield emulator


def _control(emu: Emulator) -> str:
    return f"{emu.endpoint_url}/emulator/contacts"


# --- Origin ----------------------------------------------------------------------------------
def test_a_foreign_origin_cannot_drive_the_control_api(emu: Emulator) -> None:
    get = requests.get(_control(emu), headers={"Origin": EVIL}, timeout=5)
    assert get.status_code == 403 and "Origin not allowed" in get.json()["message"]
    assert "Access-Control-Allow-Origin" not in get.headers
    post = requests.post(_control(emu), json={}, headers={"Origin": EVIL}, timeout=5)
    assert post.status_code == 403 and emu.contact_ids() == []
    preflight = requests.options(
        _control(emu),
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
        timeout=5,
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    for origin in ("null", "http://127.0.0.1.evil.example", f"{emu.endpoint_url}.evil"):
        refused = requests.get(_control(emu), headers={"Origin": origin}, timeout=5)
        assert refused.status_code == 403, origin


def test_own_origin_and_no_origin_are_served(emu: Emulator) -> None:
    assert requests.get(_control(emu), timeout=5).status_code == 200
    own = requests.post(_control(emu), json={}, headers={"Origin": emu.endpoint_url}, timeout=5)
    assert own.status_code == 200 and "ContactId" in own.json()


def test_allowed_origins_setting_and_flag() -> None:
    app = "http://localhost:3000"
    with Emulator(control_allowed_origins=[app + "/"]) as emu:
        served = requests.post(_control(emu), json={}, headers={"Origin": app}, timeout=5)
        assert served.status_code == 200
        assert served.headers["Access-Control-Allow-Origin"] == app
        preflight = requests.options(
            _control(emu),
            headers={"Origin": app, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"},
            timeout=5,
        )  # fmt: skip
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == app
        assert requests.get(_control(emu), headers={"Origin": EVIL}, timeout=5).status_code == 403
    args = build_parser().parse_args(
        ["--control-allow-origin", app, "--control-allow-origin", "http://localhost:5173"]
    )
    made = emulator_from_args(args)
    assert made.settings.control_allowed_origins == {app, "http://localhost:5173"}


def test_service_paths_keep_cors_open(emu: Emulator, acps: Any, customer: Customer) -> None:
    preflight = requests.options(
        f"{emu.endpoint_url}/participant/message",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "x-amz-bearer,content-type"},
        timeout=5,
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == EVIL
    assert "x-amz-bearer" in preflight.headers["Access-Control-Allow-Headers"]
    sent = requests.post(
        f"{emu.endpoint_url}/participant/message",
        headers={"Origin": EVIL, "X-Amz-Bearer": customer.connection_token},
        data='{"ContentType": "text/plain", "Content": "hi"}',
        timeout=5,
    )
    assert sent.status_code == 200
    assert sent.headers["Access-Control-Allow-Origin"] == EVIL
    assert "x-amzn-ErrorType" in sent.headers["Access-Control-Expose-Headers"]


# --- Host ------------------------------------------------------------------------------------
def test_a_rebinding_host_is_refused(emu: Emulator) -> None:
    port = emu.port
    for host in (f"evil.example:{port}", "attacker.test", f"127.0.0.1.nip.io:{port}"):
        refused = requests.get(_control(emu), headers={"Host": host}, timeout=5)
        assert refused.status_code == 403 and "Host" in refused.json()["message"], host
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"):
        assert requests.get(_control(emu), headers={"Host": host}, timeout=5).status_code == 200
    # The service paths do not check Host (a real front end reaches them under any name).
    started = requests.put(
        f"{emu.endpoint_url}/contact/chat",
        json={"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "A"}},
        headers={"Host": f"chat.example:{port}"},
        timeout=5,
    )
    assert started.status_code == 200


# --- Content-Type ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_non_json_body_is_refused(emu: Emulator, content_type: str) -> None:
    refused = requests.post(
        _control(emu), data='{"DisplayName": "x"}', headers={"Content-Type": content_type},
        timeout=5,
    )  # fmt: skip
    assert refused.status_code == 415
    assert emu.contact_ids() == []
    bodyless = requests.post(
        f"{emu.endpoint_url}/emulator/faults", data=b"x", headers={"Content-Type": ""}, timeout=5
    )
    assert bodyless.status_code == 415


def test_json_and_empty_bodies_are_taken(emu: Emulator) -> None:
    made = requests.post(
        _control(emu),
        data='{"DisplayName": "Jo"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=5,
    )
    assert made.status_code == 200
    contact_id = made.json()["ContactId"]
    assert requests.post(f"{_control(emu)}/{contact_id}/end", timeout=5).status_code == 200


# --- deeply nested JSON ----------------------------------------------------------------------
DEEP = "[" * 1_000_000


def test_deep_json_is_a_400_everywhere(emu: Emulator, customer: Customer) -> None:
    control = requests.post(
        _control(emu), data=DEEP, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert control.status_code == 400 and "nested" in control.json()["message"]
    for method, path, headers in (
        ("POST", "/participant/message", {"X-Amz-Bearer": customer.connection_token}),
        ("POST", "/participant/connection", {"X-Amz-Bearer": customer.participant_token}),
        ("PUT", "/contact/chat", {}),
    ):
        answer = requests.request(
            method, f"{emu.endpoint_url}{path}", data=DEEP, headers=headers, timeout=30
        )
        assert answer.status_code == 400, path
        assert answer.headers["x-amzn-ErrorType"] in (
            "ValidationException",
            "InvalidParameterException",
        )
    receipt = make_acps(emu.endpoint_url, validate=False)
    with pytest.raises(receipt.exceptions.ValidationException):
        receipt.send_event(
            ConnectionToken=customer.connection_token,
            ContentType="application/vnd.amazonaws.connect.event.message.read",
            Content="[" * 16000,
        )


def test_deep_json_frame_leaves_the_socket_working(customer: Customer) -> None:
    sock = Socket(customer.ws_url)
    try:
        sock.send("[" * 60000)
        sock.send({"topic": "aws/heartbeat"})
        assert sock.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
    finally:
        sock.close()


def test_an_oversized_client_frame_is_refused(emu: Emulator, customer: Customer) -> None:
    """Client frames are small; a 100 kB one closes the socket (1009, or a reset when the
    server closes with the rest of the frame unread) instead of being buffered."""
    sock = Socket(customer.ws_url)
    sock.send("x" * 100_000)
    sock.ws.settimeout(5)
    code = None
    try:
        while True:
            opcode, frame = sock.ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big")
                break
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    assert code in (None, 1009)
    wait_until(lambda: emu.websocket_count(customer.contact_id) == 0)
    sock.close()


# --- half-sent requests ----------------------------------------------------------------------
def _raw(emu: Emulator) -> socket.socket:
    return socket.create_connection(("127.0.0.1", emu.port), timeout=10)


def _closed_within(conn: socket.socket, seconds: float) -> bytes:
    """Everything the server sends until it closes; fails if it does not within ``seconds``."""
    conn.settimeout(seconds)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError("the server kept the half-sent request open")


def test_half_sent_headers_are_timed_out(emu: Emulator) -> None:
    with _raw(emu) as conn:
        conn.sendall(b"POST /participant/message HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-")
        started = time.monotonic()
        _closed_within(conn, 8.0)
    assert time.monotonic() - started < 8.0
    assert requests.get(_control(emu), timeout=5).status_code == 200  # others still served


def test_half_sent_body_is_timed_out(emu: Emulator) -> None:
    with _raw(emu) as conn:
        conn.sendall(
            b"PUT /contact/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Instan'
        )
        answer = _closed_within(conn, 8.0)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"RequestTimeoutException" in answer
    assert emu.calls("StartChatContact") == []


# --- a WebSocket client that writes but never reads ------------------------------------------
def _ws_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked


def _raw_websocket(url: str) -> socket.socket:
    parts = urlsplit(url)
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    conn.settimeout(10)
    conn.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(
        (
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return conn


def test_a_non_reading_heartbeat_flood_is_cut_off() -> None:
    with Emulator(max_socket_queue=50) as emu:
        acps = make_acps(emu.endpoint_url)
        customer = connect_customer(emu, acps, "Flood")
        conn = _raw_websocket(customer.ws_url)
        try:
            conn.sendall(
                _ws_frame('{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}')
            )
            wait_until(lambda: emu.websocket_count(customer.contact_id) == 1)
            beat = _ws_frame('{"topic": "aws/heartbeat"}') * 500
            deadline = time.monotonic() + 60
            cut = False
            while time.monotonic() < deadline:
                try:
                    conn.sendall(beat)
                except OSError:  # reset or broken pipe: the server gave up on us
                    cut = True
                    break
                if emu.websocket_count(customer.contact_id) == 0:
                    cut = True
                    break
            assert cut, "the server kept queueing heartbeats for a client that never reads"
            wait_until(lambda: emu.websocket_count(customer.contact_id) == 0, timeout=10)
            # Another client of the same chat is served normally.
            url = acps.create_participant_connection(
                ParticipantToken=customer.participant_token, Type=["WEBSOCKET"]
            )["Websocket"]["Url"]
            other = Socket(url)
            other.send({"topic": "aws/heartbeat"})
            other.wait_for(lambda f: f.get("topic") == "aws/heartbeat")
            other.close()
        finally:
            conn.close()
