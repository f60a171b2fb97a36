"""``disconnect()`` / ``reset()`` from another thread end the calls in flight at once
(issue 16, item 2): they return at once, and so do the calls they end -- a connect, a send
(its message FAILED), a history page. Before, both waited for the server: a silent one held
them ~90 s (three botocore attempts of 30 s each)."""

from __future__ import annotations

from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, GlobalConfig, Message, MessageStatus
from connect_chat.errors import SessionClosedError
from tests.conftest import connected_session, sdk_threads, wait_until
from tests.hostile.conftest import SLACK, evolve, returns_within, start_call
from tests.hostile.server import SILENT, WEBSOCKET, HostileServer, trickle

#: How soon "at once" is: the woken call unwinds through botocore in milliseconds.
AT_ONCE = 1.0


@pytest.fixture
def patient(hconfig: GlobalConfig) -> GlobalConfig:
    """Deadlines far away (10 s): only the cancel can end the calls within the test's bound."""
    return evolve(hconfig, connect_timeout=10.0, send_timeout=10.0, request_timeout=10.0)


STOPS = {"disconnect": ChatSession.disconnect, "reset": ChatSession.reset}


@pytest.mark.parametrize("how", sorted(STOPS))
def test_stop_ends_an_in_flight_connect(emu: Any, hostile: HostileServer,
                                        patient: GlobalConfig, how: str) -> None:
    session = ChatSession(patient)
    try:
        hostile.set("CreateParticipantConnection", SILENT)
        arrived = hostile.arrived("CreateParticipantConnection")
        outcome, done = start_call(lambda: session.connect(emu.start_chat(display_name="A")))
        assert arrived.wait(5)
        returns_within(lambda: STOPS[how](session), AT_ONCE, f"{how}() during connect")
        assert done.wait(AT_ONCE), f"connect() still blocked {AT_ONCE} s after {how}()"
        assert isinstance(outcome.error, SessionClosedError), outcome.error
        assert not session.is_chat_session_active()
    finally:
        session.reset()


@pytest.mark.parametrize("how", sorted(STOPS))
def test_stop_ends_an_in_flight_send_and_marks_it_failed(
        emu: Any, hostile: HostileServer, patient: GlobalConfig, how: str) -> None:
    with connected_session(emu, patient, details=emu.start_chat(display_name="A")) as chat:
        session = chat.session
        hostile.set("SendMessage", SILENT)
        arrived = hostile.arrived("SendMessage")
        outcome, done = start_call(
            lambda: session.send_message(ContentType.PLAIN_TEXT, "in flight"))
        assert arrived.wait(5)
        view = session.transcript  # reset() drops the session's transcript: look before
        assert any(isinstance(i, Message) and i.status is MessageStatus.SENDING for i in view)
        returns_within(lambda: STOPS[how](session), AT_ONCE, f"{how}() during a send")
        assert done.wait(AT_ONCE), f"send_message still blocked {AT_ONCE} s after {how}()"
        assert isinstance(outcome.error, SessionClosedError), outcome.error
        if how == "disconnect":  # the ended session keeps its transcript
            wait_until(lambda: any(isinstance(i, Message) and i.text == "in flight"
                                   and i.status is MessageStatus.FAILED
                                   for i in session.transcript), timeout=2,
                       what="the message FAILED")
        wait_until(lambda: not sdk_threads(), timeout=3, what="the session's threads to end")


def test_disconnect_ends_an_in_flight_history_page(
        emu: Any, hostile: HostileServer, patient: GlobalConfig) -> None:
    with connected_session(emu, patient, details=emu.start_chat(display_name="A")) as chat:
        session = chat.session
        hostile.set("GetTranscript", SILENT)
        arrived = hostile.arrived("GetTranscript")
        arrived.clear()
        outcome, done = start_call(session.get_transcript)
        assert arrived.wait(5)
        session.disconnect()
        assert done.wait(AT_ONCE), "get_transcript still blocked after disconnect()"
        assert isinstance(outcome.error, SessionClosedError), outcome.error


def test_disconnect_ends_a_connect_stuck_in_a_trickling_websocket_upgrade(
        emu: Any, hostile: HostileServer, patient: GlobalConfig) -> None:
    session = ChatSession(patient)
    try:
        hostile.set(WEBSOCKET, trickle(0.5))
        arrived = hostile.arrived(WEBSOCKET)
        outcome, done = start_call(lambda: session.connect(emu.start_chat(display_name="A")))
        assert arrived.wait(5)
        returns_within(session.disconnect, AT_ONCE + SLACK, "disconnect() during the upgrade")
        assert done.wait(AT_ONCE), "connect() still blocked after disconnect()"
        assert isinstance(outcome.error, SessionClosedError), outcome.error
        wait_until(lambda: not sdk_threads(), timeout=3, what="the socket thread to end")
    finally:
        session.reset()


def test_disconnect_ends_a_call_sleeping_in_botocore_throttling_backoff(
        emu: Any, config: GlobalConfig) -> None:
    """botocore's retry backoff (up to 20 s after a 429 in standard mode) waits on the call's
    scope, not in ``time.sleep``: a disconnect during it ends the call at once."""
    from botocore.config import Config

    session = ChatSession(evolve(config, request_timeout=60.0, botocore_config=Config(
        retries={"mode": "standard", "total_max_attempts": 20})))
    try:
        details = emu.start_chat(display_name="A")
        session.connect(details)
        emu.faults.http_errors(status=429, rate=1.0, operations=["SendEvent"])
        outcome, done = start_call(lambda: session.send_event(ContentType.TYPING))
        wait_until(lambda: len(emu.calls("SendEvent", details.contact_id)) >= 4, timeout=20,
                   what="throttled attempts")
        session.disconnect()
        assert done.wait(AT_ONCE), "send_event still in botocore's backoff after disconnect()"
        assert isinstance(outcome.error, SessionClosedError), outcome.error
    finally:
        emu.faults.clear()
        session.reset()
