"""A callback that raises ``SystemExit`` or ``KeyboardInterrupt`` (issue 16, item 5).

Before, it killed the dispatcher thread: no more delivery, no ``on_chat_ended``,
``is_chat_session_active()`` True for good, and for ``SystemExit`` no trace at all. Now the
session ends as with ``disconnect()``: the error is logged, the participant leaves,
``on_chat_ended`` fires once, ``wait_for`` raises ``SessionClosedError``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connect_chat import Message
from connect_chat.errors import SessionClosedError
from tests.conftest import connected_session, sdk_threads, wait_until


@pytest.mark.parametrize("error", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_a_callback_raising_a_base_exception_ends_the_session_cleanly(
        emu: Any, error: type[BaseException], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="connect_chat")

    def on_message_received(item: Any) -> None:
        if isinstance(item, Message) and item.text == "stop":
            raise error

    with connected_session(emu, agent_joins=True, record=True,
                           on_message_received=on_message_received) as chat:
        chat.agent.send_message("stop")
        chat.recorder.wait("on_chat_ended")
        wait_until(lambda: not chat.session.is_chat_session_active())
        assert chat.recorder.count("on_chat_ended") == 1
        with pytest.raises(SessionClosedError):
            chat.session.wait_for(lambda i: False, timeout=5, include_existing=False)
        assert [c.status for c in emu.calls("DisconnectParticipant", chat.contact_id)] == [200]
        assert error.__name__ in caplog.text and "the session ends" in caplog.text
        wait_until(lambda: not any(chat.contact_id in t.name for t in sdk_threads()),
                   what="the session's threads to end")
