"""The session under the emulator's wire faults: duplicated and swapped frames, failed deep
heartbeats, refused upgrades, sockets closed at their lifetime, slow REST calls, and both
orders of a SendMessage answer and its echo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.config import Config

from connect_chat import ChatSession, GlobalConfig, Message, MessageReceipts, MessageStatus
from connect_chat.config import Features
from connect_chat.emulator import Emulator
from connect_chat.errors import ConnectChatError, ConnectionTimeoutError, WebSocketError
from tests.conftest import Recorder, connected_session, fast, wait_until
from tests.faults.support import messages, outbox_config, received_ids, sends_by_token

pytestmark = pytest.mark.behaviour_matrix(profiles_only=True)


def _quiet(config: GlobalConfig, **changes: Any) -> GlobalConfig:
    """No receipts, so each agent message reaches on_message_received exactly once."""
    return fast(config, features=Features(
        message_receipts=MessageReceipts(should_send_message_receipts=False)), **changes)


@contextmanager
def connected(emu: Any, config: GlobalConfig, **changes: Any
              ) -> Iterator[tuple[ChatSession, Recorder, str, Any]]:
    """A connected session (receipts off, ``changes`` to its config) with an agent in the
    chat; reset at the end."""
    config = _quiet(config, endpoint_url=emu.endpoint_url, **changes)
    with connected_session(emu, config, agent_joins=True, record=True) as chat:
        yield chat.session, chat.recorder, chat.contact_id, chat.agent


@pytest.fixture
def chat(emu: Any, config: GlobalConfig) -> Iterator[tuple[ChatSession, Recorder, str, Any]]:
    with connected(emu, config) as values:
        yield values


def agent_ids(session: ChatSession) -> list[str]:
    return [i.id for i in session.transcript
            if isinstance(i, Message) and i.participant == "AGENT"]


def test_duplicated_frames_reach_the_program_once(
        emu: Any, chat: tuple[ChatSession, Recorder, str, Any]) -> None:
    session, recorder, cid, agent = chat
    emu.faults.duplicate_chat_frames(contact_id=cid)  # every frame twice, until cleared
    sent = [agent.send_message(f"twice {n}") for n in range(20)]
    wait_until(lambda: received_ids(recorder)[-1:] == sent[-1:], timeout=10)
    assert received_ids(recorder) == sent
    assert agent_ids(session) == sent
    emu.faults.clear()


def test_swapped_frames_are_received_once_and_shown_in_time_order(
        emu: Any, chat: tuple[ChatSession, Recorder, str, Any]) -> None:
    session, recorder, cid, agent = chat
    emu.faults.reorder_chat_frames(count=5, contact_id=cid)
    sent = [agent.send_message(f"swapped {n}") for n in range(10)]
    wait_until(lambda: len(received_ids(recorder)) == len(sent), timeout=10)
    got = received_ids(recorder)
    assert sorted(got) == sorted(sent) and len(set(got)) == len(sent)
    assert got != sent  # the frames really came swapped...
    assert agent_ids(session) == sent  # ...and the transcript is in time order


def test_failed_deep_heartbeats_are_reported_and_the_chat_goes_on(
        emu: Any, config: GlobalConfig) -> None:
    with connected(emu, config, heartbeat_interval=0.2) as (session, recorder, cid, agent):
        emu.faults.ping_errors(status=500, count=2, contact_id=cid)
        recorder.wait("on_deep_heartbeat_failure", count=2, timeout=10)
        sent = agent.send_message("still here")
        session.wait_for(lambda i: i.id == sent, timeout=5)
        # An error answer is not a dead socket: heartbeats are answered, nothing reconnects.
        assert recorder.count("on_connection_broken") == 0
        assert len(emu.calls("CreateParticipantConnection", cid)) == 1
        assert session.is_chat_session_active()


def test_refused_upgrades_while_reconnecting_are_retried_and_nothing_is_lost(
        emu: Any, chat: tuple[ChatSession, Recorder, str, Any]) -> None:
    session, recorder, cid, agent = chat
    emu.faults.refuse_upgrades(count=3, status=503, contact_id=cid)
    assert emu.faults.drop_websockets(cid) == 1
    recorder.wait("on_connection_broken", timeout=10)
    sent = [agent.send_message("while the upgrades are refused")]
    recorder.wait("on_connection_reestablished", timeout=20)
    sent.append(agent.send_message("after"))
    wait_until(lambda: received_ids(recorder)[-1:] == sent[-1:], timeout=10)
    assert received_ids(recorder) == sent
    assert recorder.count("on_connection_broken") == 1
    assert recorder.count("on_connection_reestablished") == 1
    # Each refused attempt asked for a fresh URL (the refused one may be stale).
    assert len(emu.calls("CreateParticipantConnection", cid)) >= 1 + 4
    assert session.is_chat_session_active()


def test_refused_first_upgrades_are_retried_within_connect(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, _quiet(config), record=True, connect=False) as chat:
        session, details, cid, recorder = chat.session, chat.details, chat.contact_id, chat.recorder
        emu.faults.refuse_upgrades(count=2, status=503, contact_id=cid)
        session.connect(details)  # two refusals, then the third attempt opens
        assert session.is_chat_session_active()
        assert recorder.count("on_connection_established") == 1
        assert recorder.count("on_connection_broken") == 0
        # Each retry asked for a fresh URL (a refused one may be stale).
        assert len(emu.calls("CreateParticipantConnection", cid)) == 3


@pytest.mark.parametrize(("status", "retried"), [(503, True), (400, False)])
def test_a_first_upgrade_refused_for_good_fails_connect_with_a_typed_error(
        emu: Any, config: GlobalConfig, status: int, retried: bool) -> None:
    with connected_session(emu, _quiet(config, connect_timeout=1.0), connect=False) as chat:
        session, details, cid = chat.session, chat.details, chat.contact_id
        emu.faults.refuse_upgrades(status=status, contact_id=cid)  # until cleared
        with pytest.raises(ConnectChatError, match=f"HTTP {status}") as raised:
            session.connect(details)
        if retried:  # retried as long as connect() waits: a timeout, caused by the refusal
            assert isinstance(raised.value, ConnectionTimeoutError)
            cause = raised.value.__cause__
            assert isinstance(cause, WebSocketError) and cause.retryable
        else:
            assert isinstance(raised.value, WebSocketError) and not raised.value.retryable
        assert not session.is_chat_session_active()
        attempts = len(emu.calls("CreateParticipantConnection", cid))
        assert attempts > 1 if retried else attempts == 1  # a 400 is not worth another try
        emu.faults.clear()
        session.connect(details)  # the session is usable again
        assert session.is_chat_session_active()


def test_sockets_closed_at_their_lifetime_are_replaced_and_nothing_is_lost(
        config: GlobalConfig) -> None:
    with Emulator(max_socket_lifetime=1.0) as emulator, \
            connected(emulator, config) as (session, recorder, _, agent):
        sent = [agent.send_message("first")]
        for n in range(3):  # three lifetimes: each socket is closed by the server
            recorder.wait("on_connection_reestablished", count=n + 1, timeout=15)
            sent.append(agent.send_message(f"after socket {n + 2} opened"))
        wait_until(lambda: received_ids(recorder)[-1:] == sent[-1:], timeout=10)
        assert received_ids(recorder) == sent
        assert agent_ids(session) == sent
        assert session.is_chat_session_active()


@pytest.mark.parametrize("order", ["echo after the answer", "echo before the answer"])
def test_either_order_of_answer_and_echo_shows_one_sent_message(
        emu: Any, chat: tuple[ChatSession, Recorder, str, Any], order: str) -> None:
    session, recorder, cid, _ = chat
    if order == "echo after the answer":
        emu.faults.delay_echo(0.3, count=1, contact_id=cid)
    else:
        emu.faults.delay_response_after_echo(0.3, count=1, contact_id=cid)
    session.send_message("text/plain", "one and only")
    (shown,) = messages(session.transcript, "one and only")
    assert shown.status is MessageStatus.SENT
    server_id = shown.id

    def echo_merged() -> bool:
        # The echo adds what only the service knows (the sender's participant id).
        return any(isinstance(item, Message) and item.id == server_id and item.participant_id
                   for item in session.transcript)

    wait_until(echo_merged, timeout=10, what="the echo")
    (shown,) = messages(session.transcript, "one and only")
    assert (shown.id, shown.status) == (server_id, MessageStatus.SENT)
    received = [item.id for (item,) in recorder.args("on_message_received")
                if isinstance(item, Message) and item.text == "one and only"]
    updated = [(item.id, item.status) for (item,) in recorder.args("on_message_updated")
               if isinstance(item, Message) and item.text == "one and only"]
    # The placeholder once, then one update to the server's SENT item: never a second
    # message, and the echo (which changes nothing the program sees) fires nothing.
    assert len(received) == 1 and received[0] != server_id
    assert updated == [(server_id, MessageStatus.SENT)]


def test_a_send_slower_than_the_read_timeout_is_retried_with_its_token_and_stored_once(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, outbox_config(
        _quiet(config),
        botocore_config=Config(read_timeout=0.5,
                               retries={"mode": "standard", "total_max_attempts": 1}),
    )) as chat:
        session, cid = chat.session, chat.contact_id
        emu.faults.latency(2.0, operations=["SendMessage"], count=1, contact_id=cid)
        session.send_message("text/plain", "slow but once")
        (shown,) = messages(session.transcript, "slow but once")
        assert shown.status is MessageStatus.SENT
        tokens = sends_by_token(emu, cid)
        assert len(tokens) == 1  # every attempt with the same ClientToken
        # The delayed first attempt is processed late, after the retry: still one message.
        wait_until(lambda: emu.faults.held_calls() == 0, timeout=10)
        stored = [i for i in emu.transcript(cid)
                  if i.get("Type") == "MESSAGE" and i.get("Content") == "slow but once"]
        assert len(stored) == 1


def test_a_message_sent_while_connect_loads_the_first_page_is_received_once(
        emu: Any, config: GlobalConfig) -> None:
    # Forced order: the first history page (held 0.5 s) already has the message when it is
    # merged, and the message's live frame (held 1.5 s) comes after it.
    with connected_session(
            emu, _quiet(config), agent_joins=True, record=True, connect=False) as chat:
        session, details, cid, agent, recorder = (
            chat.session, chat.details, chat.contact_id, chat.agent, chat.recorder)
        emu.faults.latency(0.5, operations=["GetTranscript"], count=1, contact_id=cid)
        connected: list[BaseException | None] = []
        opener = threading.Thread(target=lambda: connected.append(_connect(session, details)))
        opener.start()
        wait_until(lambda: emu.websocket_count(cid) == 1, timeout=10, what="the subscription")
        emu.faults.reorder_chat_frames(count=1, contact_id=cid, hold=1.5)
        sent = agent.send_message("sent during connect()")
        opener.join(10)
        assert connected == [None]
        assert len(emu.calls("GetTranscript", cid)) == 1  # the first page only
        (shown,) = [i for i in session.transcript if i.id == sent]
        assert shown.is_from_history  # the page brought it first...
        wait_until(lambda: received_ids(recorder) == [sent], timeout=10,
                   what="the live frame")  # ...and its live frame is its arrival, once
        (shown,) = [i for i in session.transcript if i.id == sent]
        assert not shown.is_from_history


def _connect(session: ChatSession, details: Any) -> BaseException | None:
    try:
        session.connect(details)
    except BaseException as exc:  # reported to the test thread
        return exc
    return None
