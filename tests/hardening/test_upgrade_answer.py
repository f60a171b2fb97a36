"""The upgrade answer read by :class:`BoundedWebSocket`: a chunk at a time, bounded, and not
one byte of the stream after it lost.

websocket-client reads the answer's headers one ``recv(1)`` at a time and buffers a refused
upgrade's whole announced body; the bounded socket reads 4 KiB at a time, keeps what follows
the head for the frame reader, refuses a head over ``MAX_HANDSHAKE_BYTES`` and never reads a
refused upgrade's body. Each case runs against the raw-socket server, which can send what no
WebSocket library would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import websocket

from connect_chat.bounded_socket import MAX_HANDSHAKE_BYTES, BoundedWebSocket, _parse_head
from tests.hardening.raw_ws import OP_TEXT, RawWebSocketServer, frame

EARLY = json.dumps({"topic": "aws/chat", "content": "sent with the 101"})
SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})


def switching(accept: str, eol: str = "\r\n", extra: str = "") -> bytes:
    return (f"HTTP/1.1 101 Switching Protocols{eol}Upgrade: websocket{eol}Connection: Upgrade"
            f"{eol}Sec-WebSocket-Accept: {accept}{eol}{extra}{eol}").encode()


def open_bounded(url: str, timeout: float = 5.0) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=timeout, class_=BoundedWebSocket,
                                       skip_utf8_validation=True)


def test_frames_sent_with_the_upgrade_answer_are_read_first_and_in_order() -> None:
    def answer(accept: str) -> Iterator[bytes]:
        yield switching(accept) + frame(OP_TEXT, EARLY.encode()) + frame(OP_TEXT, b'"second"')

    with RawWebSocketServer(upgrade_answer=answer) as server:
        ws = open_bounded(server.url)
        try:
            assert ws.recv() == EARLY
            assert ws.recv() == '"second"'
            ws.send(SUBSCRIBE)  # the stream after the early frames is still in step
            assert json.loads(ws.recv())["topic"] == "aws/subscribe"
        finally:
            ws.close()


def test_an_answer_in_three_byte_pieces_is_read_whole() -> None:
    def answer(accept: str) -> Iterator[bytes]:
        data = switching(accept) + frame(OP_TEXT, EARLY.encode())
        for start in range(0, len(data), 3):
            yield data[start:start + 3]

    with RawWebSocketServer(upgrade_answer=answer) as server:
        ws = open_bounded(server.url)
        try:
            assert ws.getstatus() == 101
            assert ws.recv() == EARLY
        finally:
            ws.close()


def test_bare_lf_line_endings_and_repeated_set_cookie_are_read_as_websocket_client_does(
) -> None:
    def answer(accept: str) -> Iterator[bytes]:
        yield switching(accept, eol="\n", extra="Set-Cookie: a=1\nSet-Cookie: b=2\n")

    with RawWebSocketServer(upgrade_answer=answer) as server:
        ws = open_bounded(server.url)
        try:
            headers = ws.getheaders()
            assert headers["set-cookie"] == "a=1; b=2"
            assert headers["upgrade"] == "websocket"
        finally:
            ws.close()


def test_endless_headers_are_refused_at_the_bound_not_read_until_the_timeout() -> None:
    hung_up = threading.Event()

    def answer(_accept: str) -> Iterator[bytes]:
        yield b"HTTP/1.1 101 Switching Protocols\r\n"
        try:
            while True:
                yield b"X-Junk: " + b"a" * 1000 + b"\r\n"
        finally:
            hung_up.set()

    with RawWebSocketServer(upgrade_answer=answer) as server:
        started = time.monotonic()
        with pytest.raises(websocket.WebSocketException,
                           match=f"exceed {MAX_HANDSHAKE_BYTES} bytes"):
            open_bounded(server.url, timeout=30)
        assert time.monotonic() - started < 30
        assert hung_up.wait(10), "the client kept the endless answer's socket open"


def test_a_refused_upgrade_is_reported_without_reading_its_announced_body() -> None:
    def answer(_accept: str) -> Iterator[bytes]:
        yield (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 419430400\r\n"
               b"Content-Type: text/plain\r\n\r\nno")  # 2 of 400 MB, then silence

    with RawWebSocketServer(upgrade_answer=answer) as server, \
            pytest.raises(websocket.WebSocketBadStatusException) as raised:
        open_bounded(server.url, timeout=30)
    assert raised.value.status_code == 403
    assert raised.value.status_message == "Forbidden"
    assert raised.value.resp_headers == {"content-length": "419430400",
                                         "content-type": "text/plain"}


def test_the_socket_closed_before_the_head_ends_is_a_closed_connection() -> None:
    def answer(_accept: str) -> Iterator[bytes]:
        yield b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        raise OSError("hang up")  # the server closes the socket mid-head

    with RawWebSocketServer(upgrade_answer=answer) as server, \
            pytest.raises(websocket.WebSocketConnectionClosedException):
        open_bounded(server.url)


def test_a_wrong_accept_value_is_an_invalid_header() -> None:
    def answer(_accept: str) -> Iterator[bytes]:
        yield switching("d3JvbmcgYWNjZXB0IHZhbHVlIQ==")

    with RawWebSocketServer(upgrade_answer=answer) as server, \
            pytest.raises(websocket.WebSocketException, match="Invalid WebSocket Header"):
        open_bounded(server.url)


@pytest.mark.parametrize(("head", "message"), [
    (b"garbage\r\n\r\n", "Invalid status line"),
    (b"HTTP/1.1 abc Nope\r\n\r\n", "Invalid status line"),
    (b"\r\n", "Invalid status line"),
    (b"HTTP/1.1 101 OK\r\nno colon here\r\n\r\n", "Invalid header"),
    (b"HTTP/1.1 101 OK\r\nX-Bad: \xff\xfe\r\n\r\n", "not valid UTF-8 at byte 24"),
])
def test_malformed_heads_are_websocket_exceptions(head: bytes, message: str) -> None:
    with pytest.raises(websocket.WebSocketException, match=message):
        _parse_head(head)


def test_a_head_parses_into_status_reason_and_lower_cased_headers() -> None:
    status, reason, headers = _parse_head(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nX-Thing:  a: b \r\n\r\n")
    assert (status, reason) == (101, "Switching Protocols")
    assert headers == {"upgrade": "WebSocket", "x-thing": "a: b"}
