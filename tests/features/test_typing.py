"""Typing: outgoing throttle; incoming indicators that expire or end with a message."""

from __future__ import annotations

from typing import Any

from connect_chat import ContentType, Event, GlobalConfig, Message
from tests.conftest import connected_session, fast, wait_until

TYPING = ContentType.TYPING.value


def _typing_calls(emu: Any, contact_id: str) -> list[Any]:
    return [c for c in emu.calls("SendEvent", contact_id) if c.body["ContentType"] == TYPING]


def test_outgoing_typing_is_sent_once_per_window(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, fast(config, typing_throttle=60.0)) as chat:
        session, details = chat.session, chat.details
        assert session.send_event(ContentType.TYPING) is True
        assert all(session.send_event(ContentType.TYPING) is False for _ in range(5))
        assert len(_typing_calls(emu, details.contact_id)) == 1
        assert session.stats.typing_sent == 1 and session.stats.typing_throttled == 5


def test_outgoing_typing_throttle_is_configurable(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, fast(config, typing_throttle=0.0)) as chat:
        session, details = chat.session, chat.details
        assert session.send_event(ContentType.TYPING) is True
        assert session.send_event(ContentType.TYPING) is True
        assert len(_typing_calls(emu, details.contact_id)) == 2


def test_an_indicator_expires(emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, fast(config, typing_expiry=0.3), record=True, connect=False) as chat:
        session, details, agent, recorder = chat.session, chat.details, chat.agent, chat.recorder
        agent_id = agent.join(display_name="Sam")
        session.connect(details)
        agent.send_event(ContentType.TYPING)
        (started,) = recorder.wait("on_typing")[0]
        assert [e.participant_id for e in session.typing_participants()] == [agent_id]
        assert session.typing_participants()[0].display_name == "Sam"
        (stopped,) = recorder.wait("on_typing_stopped")[0]
        assert stopped.participant_id == agent_id and stopped.id == started.id
        assert session.typing_participants() == ()


def test_a_message_ends_only_its_senders_indicator(emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, fast(config, typing_expiry=60.0), record=True) as chat:
        session, agent, recorder = chat.session, chat.agent, chat.recorder
        sam = agent.join(display_name="Sam")
        agent.send_event(ContentType.TYPING)
        kim = agent.join(display_name="Kim")
        agent.send_event(ContentType.TYPING)
        wait_until(lambda: {e.participant_id for e in session.typing_participants()} == {sam, kim},
                   what="two indicators")
        message_id = agent.send_message("Kim here")
        (stopped,) = recorder.wait("on_typing_stopped")[0]
        assert stopped.participant_id == kim
        assert [e.participant_id for e in session.typing_participants()] == [sam]
        names = recorder.names()
        stop_at = names.index("on_typing_stopped")
        message_at = next(i for i, (n, a, _) in enumerate(recorder.events)
                          if n == "on_message_received" and a[0].id == message_id)
        assert stop_at < message_at  # the indicator goes before the message shows
        agent.leave()  # Kim leaves: no indicator of Kim's remains, Sam's is untouched
        session.wait_for(lambda i: i.content_type == ContentType.LEFT.value, timeout=5)
        assert [e.participant_id for e in session.typing_participants()] == [sam]


def test_the_customers_own_typing_echo_is_not_an_indicator(emu: Any) -> None:
    with connected_session(emu, agent_joins=True, record=True) as chat:
        session, agent, recorder = chat.session, chat.agent, chat.recorder
        session.send_event(ContentType.TYPING)
        (echo,) = recorder.wait("on_typing")[0]
        assert isinstance(echo, Event) and echo.participant == "CUSTOMER"
        assert session.typing_participants() == ()
        agent.send_event(ContentType.TYPING)
        recorder.wait("on_typing", count=2)
        assert [e.participant for e in session.typing_participants()] == ["AGENT"]
        assert not any(isinstance(i, Event) and i.content_type == TYPING
                       for i in session.transcript)
        assert not any(isinstance(i, Message) for i in session.transcript)
