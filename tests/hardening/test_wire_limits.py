"""Bounded memory on the wire, hostile frames dropped not fatal, no redirects followed.

Issue 16, items 6, 10, 11 and 12, against a raw-socket server (``raw_ws``) that sends what no
WebSocket library would: a frame header announcing 400 MB, a text frame with invalid UTF-8, a
redirect to another host, ten thousand junk frames. REST goes to the emulator.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import websocket

from connect_chat import AWSClient, ChatSession, GlobalConfig
from connect_chat.bounded_socket import (
    MAX_FRAME_BYTES,
    STATUS_MESSAGE_TOO_BIG,
    BoundedWebSocket,
    FrameTooLargeError,
)
from connect_chat.errors import ConnectChatError, WebSocketError
from connect_chat.models import ConnectionDetails
from connect_chat.protocol import MAX_FRAME_CHARS
from tests.conftest import Recorder, connected_session, wait_until
from tests.hardening.raw_ws import (
    OP_CONT,
    OP_TEXT,
    RawWebSocketServer,
    frame,
)
from tests.hardening.strategies import chat_frame
from tests.hardening.support import capture_logs

GOOD = {"Id": "good-after-junk", "Type": "MESSAGE", "ContentType": "text/plain",
        "Content": "still talking", "AbsoluteTime": "2030-01-01T00:00:00.000Z",
        "ParticipantRole": "AGENT", "DisplayName": "Sam", "ParticipantId": "agent-1"}

ANNOUNCED = 400 * 1024 * 1024


@pytest.fixture
def raw() -> Iterator[RawWebSocketServer]:
    with RawWebSocketServer() as server:
        yield server


def to_url(url: str) -> type[AWSClient]:
    """An AWSClient whose CreateParticipantConnection points the WebSocket at ``url``."""

    class ToUrl(AWSClient):
        def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
            real = super().create_participant_connection(participant_token)
            return attrs.evolve(real, websocket_url=url)

    return ToUrl


@contextlib.contextmanager
def connected(emu: Any, config: GlobalConfig, url: str) -> Iterator[tuple[ChatSession, Recorder]]:
    """A session whose socket goes to ``url``; reset at the end."""
    config = attrs.evolve(config, custom_aws_client=to_url(url), heartbeat_interval=0.5)
    with connected_session(emu, config, details=emu.start_chat(display_name="Ann"),
                           record=True) as chat:
        yield chat.session, chat.recorder


def good(item_id: str) -> str:
    return chat_frame({**GOOD, "Id": item_id})


# -- item 6: an over-long frame is refused from its header ------------------------------------


def test_a_400_mb_frame_header_closes_the_socket_1009_and_the_session_reconnects(
        emu: Any, config: GlobalConfig, raw: RawWebSocketServer) -> None:
    with connected(emu, config, raw.url) as (session, recorder):
        first = raw.wait_connection(0)
        streamer = threading.Thread(target=first.stream_oversized, args=(ANNOUNCED,),
                                    kwargs={"limit": 48 * 2**20}, daemon=True)
        streamer.start()
        assert first.closed.wait(10), "the client never closed the socket"
        assert first.close_statuses == [STATUS_MESSAGE_TOO_BIG]
        streamer.join(10)
        assert first.bytes_sent < 24 * 2**20, "the client read the payload before refusing"
        second = raw.wait_connection(1)
        recorder.wait("on_connection_reestablished", timeout=10)
        second.send_text(good("after-the-big-one"))
        recorder.wait("on_message_received", where=lambda i: i.id == "after-the-big-one",
                      timeout=10)
        assert session.stats.bad_frames == 1
        assert session.is_chat_session_active()


# Peak RSS from VmHWM (KiB): resource.getrusage's ru_maxrss is inherited across fork and
# exec on Linux, so a child of a large pytest process would start at the parent's peak.
_RSS_PROBE = textwrap.dedent("""
    import sys, websocket
    from connect_chat.bounded_socket import BoundedWebSocket
    def peak_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM")
    url, kind = sys.argv[1], sys.argv[2]
    options = {"class_": BoundedWebSocket} if kind == "bounded" else {}
    ws = websocket.create_connection(url, timeout=30, skip_utf8_validation=True, **options)
    ws.send('{"topic": "aws/subscribe"}')
    ws.recv()  # the subscribe acknowledgement
    before = peak_kib()
    print("READY", flush=True)
    outcome = "returned"
    try:
        ws.recv_data()
    except Exception as exc:
        outcome = type(exc).__name__
    after = peak_kib()
    print(outcome, before, after, flush=True)
""")


def peak_rss_growth(raw: RawWebSocketServer, kind: str, payload: int) -> tuple[str, int]:
    """Run a client in a subprocess against a 400 MB frame header followed by ``payload``
    bytes; its receive outcome and peak RSS growth (KiB) while receiving."""
    probe = subprocess.Popen([sys.executable, "-c", _RSS_PROBE, raw.url, kind],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout is not None
        assert probe.stdout.readline().strip() == "READY"
        conn = raw.connections[-1]
        sent = conn.stream_oversized(ANNOUNCED, chunk=1 << 20, interval=0.0, limit=payload)
        assert kind == "bounded" or sent >= payload, f"only {sent} bytes could be sent"
        with contextlib.suppress(OSError):  # the end of what we send: recv ends at once
            conn.sock.shutdown(socket.SHUT_WR)
        outcome, before, after = probe.stdout.readline().split()
        assert probe.wait(30) == 0
    finally:
        probe.kill()
        probe.wait()
    return outcome, int(after) - int(before)


def test_peak_memory_stays_flat_on_a_400_mb_frame_header(raw: RawWebSocketServer) -> None:
    """The measurement in a fresh process: websocket-client alone buffers what arrives, the
    bounded socket refuses at the header and its peak RSS does not move."""
    outcome, growth = peak_rss_growth(raw, "bounded", 64 * 2**20)
    assert outcome == "FrameTooLargeError"
    assert growth < 8 * 1024, f"peak RSS grew by {growth} KiB"
    outcome, growth = peak_rss_growth(raw, "plain", 128 * 2**20)
    assert outcome == "WebSocketConnectionClosedException"
    assert growth > 32 * 1024, f"the probe must see a buffered payload (grew {growth} KiB)"


def test_a_fragmented_message_is_bounded_in_total(raw: RawWebSocketServer) -> None:
    ws = websocket.create_connection(raw.url, timeout=5, class_=BoundedWebSocket,
                                     skip_utf8_validation=True)
    try:
        ws.send(json.dumps({"topic": "aws/subscribe"}))
        ws.recv()
        conn = raw.wait_connection(0)
        piece = b"x" * (MAX_FRAME_BYTES // 2)
        conn.send_raw(frame(OP_TEXT, piece, fin=False) + frame(OP_CONT, piece, fin=False)
                      + frame(OP_CONT, b"y", fin=True))
        with pytest.raises(FrameTooLargeError):
            ws.recv_data()
        assert conn.closed.wait(5)
        assert conn.close_statuses == [STATUS_MESSAGE_TOO_BIG]
    finally:
        ws.close()


def test_a_frame_at_the_limit_is_read(raw: RawWebSocketServer) -> None:
    ws = websocket.create_connection(raw.url, timeout=5, class_=BoundedWebSocket,
                                     skip_utf8_validation=True)
    try:
        ws.send(json.dumps({"topic": "aws/subscribe"}))
        ws.recv()
        conn = raw.wait_connection(0)
        conn.send_raw(frame(OP_TEXT, b"z" * MAX_FRAME_BYTES))
        opcode, data = ws.recv_data()
        assert opcode == OP_TEXT and len(data) == MAX_FRAME_BYTES
        assert MAX_FRAME_BYTES >= MAX_FRAME_CHARS
    finally:
        ws.close()


# -- item 6: item content over the service's limits -------------------------------------------


def test_items_over_the_service_limits_are_dropped_and_counted(
        emu: Any, config: GlobalConfig, raw: RawWebSocketServer) -> None:
    with connected(emu, config, raw.url) as (session, recorder):
        conn = raw.wait_connection(0)
        over = [
            {**GOOD, "Id": "i" * (1024 * 1024)},  # a 1 MB id (the frame is under 2 MiB)
            {**GOOD, "Id": "long-text", "Content": "x" * 16385},
            {**GOOD, "Id": "long-name", "DisplayName": "n" * 257},
            {**GOOD, "Id": "long-type", "ContentType": "t" * 101},
            {"Id": "long-attachment", "Type": "ATTACHMENT", "ParticipantRole": "AGENT",
             "AbsoluteTime": GOOD["AbsoluteTime"],
             "Attachments": [{"AttachmentId": "a" * 257, "AttachmentName": "x.png",
                              "ContentType": "image/png"}]},
        ]
        at_limit = {**GOOD, "Id": "at-the-limit", "Content": "y" * 16384}
        for inner in over:
            conn.send_text(chat_frame(inner))
        conn.send_text(chat_frame(at_limit))
        recorder.wait("on_message_received", where=lambda i: i.id == "at-the-limit", timeout=10)
        wait_until(lambda: session.stats.bad_frames == len(over), timeout=5,
                   what="each over-limit item counted")
        ids = {i.id for i in session.transcript}
        assert "at-the-limit" in ids
        assert not ids & {"long-text", "long-name", "long-type", "long-attachment"}
        assert not any(len(i) > 256 for i in ids)
        assert recorder.count("on_connection_broken") == 0


# -- item 10: invalid UTF-8 is one dropped frame ----------------------------------------------


def test_a_text_frame_with_invalid_utf8_is_dropped_not_fatal(
        emu: Any, config: GlobalConfig, raw: RawWebSocketServer) -> None:
    with connected(emu, config, raw.url) as (session, recorder):
        conn = raw.wait_connection(0)
        with capture_logs() as logs:
            conn.send_text(b'{"topic": "aws/chat", "content": "\xff\xfe broken"}')
            conn.send_text(b"\xc3\x28")
            conn.send_text(good("after-bad-utf8"))
            recorder.wait("on_message_received", where=lambda i: i.id == "after-bad-utf8",
                          timeout=10)
            wait_until(lambda: session.stats.bad_frames == 2, timeout=5, what="2 bad frames")
        assert logs.matching("connect_chat", logging.WARNING, contains="UTF-8")
        assert recorder.count("on_connection_broken") == 0
        assert len(raw.connections) == 1, "the socket was kept"
        assert conn.close_statuses == []


# -- item 11: upgrade redirects are not followed ----------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirected_upgrade_is_refused_and_the_other_host_never_contacted(
        emu: Any, config: GlobalConfig, status: int) -> None:
    with RawWebSocketServer() as elsewhere, \
            RawWebSocketServer(redirect_to=elsewhere.url + "?stolen=1",
                               redirect_status=status) as redirecting:
        session = ChatSession(attrs.evolve(config, custom_aws_client=to_url(redirecting.url)))
        try:
            with pytest.raises(ConnectChatError) as raised:
                session.connect(emu.start_chat(display_name="Ann"), timeout=3)
            assert redirecting.requests, "the SDK must have asked the first host"
            assert elsewhere.requests == [], "the redirect target was contacted"
            error = raised.value
            if not isinstance(error, WebSocketError):
                error = error.__cause__  # type: ignore[assignment]
            assert isinstance(error, WebSocketError)
            assert f"HTTP {status}" in str(error)
        finally:
            session.reset()


def test_the_bounded_socket_reports_a_redirect_as_a_bad_status() -> None:
    with RawWebSocketServer() as elsewhere, \
            RawWebSocketServer(redirect_to=elsewhere.url) as redirecting:
        with pytest.raises(websocket.WebSocketBadStatusException) as raised:
            websocket.create_connection(redirecting.url, timeout=5, class_=BoundedWebSocket,
                                        redirect_limit=5)
        assert raised.value.status_code == 301
        assert elsewhere.requests == []


# -- item 12: a flood of junk writes a bounded number of warnings -----------------------------


def test_ten_thousand_junk_frames_are_all_counted_and_few_are_logged(
        emu: Any, config: GlobalConfig, raw: RawWebSocketServer) -> None:
    junk = 10_000
    with connected(emu, config, raw.url) as (session, recorder):
        conn = raw.wait_connection(0)
        with capture_logs() as logs:
            conn.send_raw(b"".join(frame(OP_TEXT, b"junk %d" % n) for n in range(junk)))
            conn.send_text(good("after-the-flood"))
            recorder.wait("on_message_received", where=lambda i: i.id == "after-the-flood",
                          timeout=30)
            wait_until(lambda: session.stats.bad_frames == junk, timeout=10,
                       what="every junk frame counted")
        warnings = logs.matching("connect_chat", level=logging.WARNING)
        assert 1 <= len(warnings) <= 25, f"{len(warnings)} warning lines for {junk} frames"
        assert recorder.count("on_connection_broken") == 0
