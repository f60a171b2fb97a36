"""A stop wins over a connect in progress (issue 16, item 4).

Before: a ``disconnect()`` that came while ``connect()`` had its CreateParticipantConnection
answer in hand returned True without leaving, and ``connect()`` then completed with the
session active; ten threads mixing ``disconnect()`` and ``reset()`` sent nothing; Ctrl-C in
``connect()`` left the threads running and the session became active by itself. Now the
stop wins: ``connect()`` raises ``SessionClosedError``, the participant leaves if a
``disconnect()`` asked for it (once), and nothing keeps running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from connect_chat import AWSClient, ChatSession, GlobalConfig
from connect_chat.errors import SessionClosedError
from connect_chat.models import ConnectionDetails
from tests.conftest import sdk_threads, wait_until


class _StopWhileAnswered(AWSClient):
    """CreateParticipantConnection is answered; before connect() sees the answer, ``stops``
    run on other threads and each has asked the session to stop."""

    session: ChatSession
    stops: list[Callable[[ChatSession], object]] = []
    results: list[object]
    threads: list[threading.Thread]

    def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
        details = super().create_participant_connection(participant_token)
        if self.stops:
            stops, type(self).stops = type(self).stops, []
            self.results = []
            threads = [threading.Thread(target=lambda s=s: self.results.append(s(self.session)))
                       for s in stops]
            for thread in threads:
                thread.start()
            attempt = self.session._connecting
            assert attempt is not None
            wait_until(lambda: attempt.stop is not None, what="the stop to reach connect()")
            self.threads = threads
        return details


def _session(config: GlobalConfig, stops: list[Callable[[ChatSession], object]]) -> tuple[
        ChatSession, _StopWhileAnswered]:
    client = _StopWhileAnswered(config.region, config.endpoint_url, config.botocore_config)
    session = ChatSession(attrs.evolve(config, custom_aws_client=client))
    client.session = session
    type(client).stops = stops
    return session, client


def test_disconnect_while_the_connection_is_answered_leaves_and_connect_raises(
        emu: Any, config: GlobalConfig) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    session, client = _session(config, [ChatSession.disconnect])
    try:
        with pytest.raises(SessionClosedError):
            session.connect(details)
        for thread in client.threads:
            thread.join(5)
        assert client.results == [True]  # disconnect() says the participant left
        assert [c.status for c in emu.calls("DisconnectParticipant", cid)] == [200]
        assert not session.is_chat_session_active()
        assert emu.websocket_count(cid) == 0
        assert sdk_threads() == []
    finally:
        session.reset()


def test_ten_threads_mixing_disconnect_and_reset_during_connect_leave_once(
        emu: Any, config: GlobalConfig) -> None:
    details = emu.start_chat()
    cid = details.contact_id
    stops: list[Callable[[ChatSession], object]] = [
        ChatSession.disconnect if n % 2 else ChatSession.reset for n in range(10)
    ]
    session, client = _session(config, stops)
    try:
        with pytest.raises(SessionClosedError):
            session.connect(details)
        for thread in client.threads:
            thread.join(5)
        assert len(client.results) == 10
        assert [c.status for c in emu.calls("DisconnectParticipant", cid)] == [200]
        assert not session.is_chat_session_active()
        assert sdk_threads() == []
    finally:
        session.reset()


class _InterruptedFirstPage(AWSClient):
    """Ctrl-C arrives while connect() loads the first transcript page."""

    def get_transcript(self, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt


def test_ctrl_c_in_connect_leaves_nothing_running(emu: Any, config: GlobalConfig) -> None:
    details = emu.start_chat()
    client = _InterruptedFirstPage(config.region, config.endpoint_url, config.botocore_config)
    session = ChatSession(attrs.evolve(config, custom_aws_client=client))
    established = threading.Event()
    session.on_connection_established = established.set
    try:
        with pytest.raises(KeyboardInterrupt):
            session.connect(details)
        assert sdk_threads() == []  # nothing left that could make the session active later
        assert not session.is_chat_session_active()
        assert session._conn is None
    finally:
        session.reset()
