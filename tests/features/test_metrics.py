"""Metrics: local counters readable from the session; nothing leaves the process by default."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connect_chat import (
    ChatSession,
    ContentType,
    Features,
    GlobalConfig,
    MessageReceipts,
    MessageReceiptType,
    SessionStats,
)
from connect_chat.receipts import ReceiptOutcome
from tests.conftest import connected_session, fast, wait_until


def test_counters_of_what_the_session_did(emu: Any, config: GlobalConfig, tmp_path: Path) -> None:
    with connected_session(
            emu, fast(config, delivered_receipt_delay=0.0, typing_throttle=60.0,
                      features=Features(message_receipts=MessageReceipts(throttle_time=0.1))),
            agent_joins=True, record=True) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        assert session.stats.as_dict()["messages_sent"] == 0
        session.send_message(ContentType.PLAIN_TEXT, "one")
        session.send_message(ContentType.PLAIN_TEXT, "two")
        path = tmp_path / "a.txt"
        path.write_bytes(b"data")
        session.send_attachment(path)
        session.send_event(ContentType.TYPING)
        session.send_event(ContentType.TYPING)
        ids = [agent.send_message(f"agent {i}") for i in range(3)]
        session.wait_for(lambda i: i.id == ids[-1], timeout=5)
        ticket = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, ids[-1])
        assert ticket.wait(5) is ReceiptOutcome.SENT
        duplicate = session.send_message_receipt(MessageReceiptType.MESSAGE_READ, ids[-1])
        assert duplicate.wait(5) is ReceiptOutcome.SUPPRESSED

        emu.faults.http_errors(status=503, count=1, operations=["SendMessage"])
        session.send_message(ContentType.PLAIN_TEXT, "after a 503")
        emu.faults.drop_websockets(details.contact_id)
        recorder.wait("on_connection_reestablished")
        late = agent.send_message("after the reconnect")
        session.wait_for(lambda i: i.id == late, timeout=5)

        stats = session.stats
        assert isinstance(stats, SessionStats)
        assert stats.messages_sent == 3 and stats.attachments_sent == 1
        assert stats.messages_received == 4
        assert stats.typing_sent == 1 and stats.typing_throttled == 1
        assert stats.reconnects == 1
        assert stats.retries >= 1
        sends = emu.calls("SendMessage", details.contact_id)
        assert next(c.status for c in sends if c.body["Content"] == "after a 503") == 503
        receipt_calls = [c for c in emu.calls("SendEvent", details.contact_id)
                         if c.body["ContentType"] != ContentType.TYPING.value]
        wait_until(lambda: stats.receipts_sent == len(
            [c for c in emu.calls("SendEvent", details.contact_id)
             if c.body["ContentType"] != ContentType.TYPING.value]))
        assert len(receipt_calls) >= 1
        assert stats.receipts_suppressed >= 1
        snapshot = stats.as_dict()
        for name in ("messages_sent", "messages_received", "reconnects", "retries",
                     "receipts_sent", "receipts_suppressed", "receipts_superseded",
                     "receipts_failed", "typing_sent", "typing_throttled",
                     "attachments_sent", "bad_frames", "gap_fills"):
            assert snapshot[name] == getattr(stats, name)
        assert "messages_sent=3" in repr(stats)


def test_stats_refuse_unknown_counters() -> None:
    stats = SessionStats()
    stats.incr("retries", 2)
    assert stats.retries == 2
    with pytest.raises(ValueError):
        stats.incr("no_such_counter")


# -- nothing leaves the process -----------------------------------------------------------------

class _Watch:
    lock = threading.Lock()
    seen: list[tuple[str, Any]] | None = None
    installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in ("socket.connect", "socket.sendto") or _Watch.seen is None:
        return
    address = args[1] if event == "socket.connect" else args[-1]
    with _Watch.lock:
        if _Watch.seen is not None:
            _Watch.seen.append((event, address))


@pytest.fixture
def outbound() -> Iterator[list[tuple[str, Any]]]:
    """Every socket connect/sendto made by any thread during the test (PEP 578 audit hook;
    a hook cannot be removed, so it is installed once and records only while a test asks)."""
    if not _Watch.installed:
        sys.addaudithook(_audit)
        _Watch.installed = True
    seen: list[tuple[str, Any]] = []
    with _Watch.lock:
        _Watch.seen = seen
    try:
        yield seen
    finally:
        with _Watch.lock:
            _Watch.seen = None


@pytest.fixture
def csm_listener(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A UDP socket where botocore's client-side monitoring would send, enabled by env."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    monkeypatch.setenv("AWS_CSM_ENABLED", "true")
    monkeypatch.setenv("AWS_CSM_HOST", "127.0.0.1")
    monkeypatch.setenv("AWS_CSM_PORT", str(sock.getsockname()[1]))
    try:
        yield sock
    finally:
        sock.close()


def _datagrams(sock: socket.socket, wait: float) -> list[bytes]:
    """Datagrams already queued (botocore sends them synchronously within each call)."""
    sock.settimeout(wait)
    out = []
    try:
        while True:
            out.append(sock.recv(65536))
            sock.settimeout(0.05)
    except TimeoutError:
        return out


def _chat(emu: Any, config: GlobalConfig) -> None:
    with ChatSession(config) as session:
        details = emu.start_chat()
        session.connect(details)
        session.send_message(ContentType.PLAIN_TEXT, "hello")
        session.send_event(ContentType.TYPING)


def test_no_metrics_leave_the_process_by_default(emu: Any, config: GlobalConfig,
                                                 csm_listener: socket.socket,
                                                 outbound: list[tuple[str, Any]]) -> None:
    assert GlobalConfig().disable_csm is True
    _chat(emu, config)  # AWS_CSM_ENABLED=true in the environment, default config
    assert _datagrams(csm_listener, 0.2) == []
    port = int(emu.endpoint_url.rsplit(":", 1)[1])
    assert outbound, "the audit hook saw no connection at all"
    with _Watch.lock:
        addresses = {address for _, address in outbound}
    assert {event for event, _ in outbound} == {"socket.connect"}  # REST and the WebSocket
    assert addresses == {("127.0.0.1", port)}


def test_csm_is_an_explicit_opt_in(emu: Any, config: GlobalConfig,
                                   csm_listener: socket.socket) -> None:
    _chat(emu, fast(config, disable_csm=False))  # the user opts in, the environment enables
    received = _datagrams(csm_listener, 5.0)
    assert received and any(b"SendMessage" in d for d in received)


def test_retries_count_botocore_and_outbox_attempts(emu: Any) -> None:
    with connected_session(emu) as chat:
        session, details = chat.session, chat.details
        before = session.stats.retries
        # botocore's standard mode makes 3 attempts; the 4th request is the outbox's own retry.
        emu.faults.http_errors(status=503, count=3, operations=["SendMessage"])
        session.send_message(ContentType.PLAIN_TEXT, "through the outbox")
        statuses = [c.status for c in emu.calls("SendMessage", details.contact_id)]
        assert statuses == [503, 503, 503, 200]
        assert session.stats.retries - before == 3
