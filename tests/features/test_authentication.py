"""Authentication (Authenticate Customer flow block): the event, the URL, cancelling."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connect_chat import ContentType, Event
from connect_chat.errors import InvalidInputError, ServiceError
from tests.conftest import connected_session


def test_initiated_event_url_and_cancel(emu: Any) -> None:
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        session_id = emu.start_authentication(details.contact_id)
        (event,) = recorder.wait("on_authentication_initiated")[0]
        assert isinstance(event, Event)
        assert event.content_type == ContentType.AUTHENTICATION_INITIATED.value
        assert event.session_id == session_id
        url = session.get_authentication_url(event.session_id, "https://shop.example/signed-in")
        assert url.startswith(emu.endpoint_url)
        (call,) = emu.calls("GetAuthenticationUrl", details.contact_id)
        assert call.body == {"SessionId": session_id,
                             "RedirectUri": "https://shop.example/signed-in"}
        session.cancel_participant_authentication(session_id)
        (cancelled,) = recorder.wait("on_authentication_cancelled")[0]
        assert cancelled.content_type == ContentType.AUTHENTICATION_CANCELLED.value
        assert len(emu.calls("CancelParticipantAuthentication", details.contact_id)) == 1
        assert "on_authentication_succeeded" not in recorder.names()


@pytest.mark.parametrize("content_type, callback", [
    (ContentType.AUTHENTICATION_SUCCESSFUL, "on_authentication_succeeded"),
    (ContentType.AUTHENTICATION_FAILED, "on_authentication_failed"),
    (ContentType.AUTHENTICATION_TIMEOUT, "on_authentication_timeout"),
    (ContentType.AUTHENTICATION_EXPIRED, "on_authentication_expired"),
])
def test_outcome_events_have_their_callbacks(emu: Any,
                                             content_type: ContentType, callback: str) -> None:
    with connected_session(emu, record=True) as chat:
        details, recorder = chat.details, chat.recorder
        event_id = emu.system_event(details.contact_id, content_type.value)
        (event,) = recorder.wait(callback)[0]
        assert event.id == event_id and event.session_id is None
        auth = {n for n in recorder.names() if n.startswith("on_authentication_")}
        assert auth == {callback}


def test_bad_arguments_are_refused_before_any_request(emu: Any) -> None:
    with connected_session(emu) as chat:
        session = chat.session
        good = str(uuid.uuid4())
        for session_id, redirect in [("short", "https://x"), (None, "https://x"),
                                     (good, ""), (good, "h" * 1025)]:
            with pytest.raises(InvalidInputError):
                session.get_authentication_url(session_id, redirect)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            session.cancel_participant_authentication("not-a-session")
        assert emu.calls("GetAuthenticationUrl") == []
        assert emu.calls("CancelParticipantAuthentication") == []
        with pytest.raises(ServiceError):  # well formed, but the service never issued it
            session.get_authentication_url(good, "https://x")
