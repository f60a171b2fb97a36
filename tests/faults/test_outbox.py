"""The outbox (issue 4, point 5 and fault (d)): SENDING while retried with one ClientToken,
FAILED after the budget, resend_failed_message, non-retryable errors at once."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from connect_chat import AWSClient, ChatSession, ContentType, GlobalConfig, MessageStatus
from connect_chat.errors import (
    ChatEndedError,
    EndpointUnreachableError,
    InternalServerError,
    MessageNotFoundError,
    RequestTimeoutError,
    ServiceValidationError,
    ThrottlingError,
)
from connect_chat.models import TranscriptData
from tests.conftest import connected_session, sdk_threads, wait_until
from tests.faults.support import (
    ONE_ATTEMPT,
    messages,
    outbox_config,
    sends_by_token,
    stored_texts,
)


def test_thirty_percent_of_rest_calls_failing_every_message_is_stored_once(
        emu: Any, config: GlobalConfig) -> None:
    """Fault (d): 503s and 429s on ~30% of all REST calls, botocore's own retries included."""
    with connected_session(emu, outbox_config(config)) as chat:
        session, cid = chat.session, chat.contact_id
        emu.faults.http_errors(status=503, rate=0.15, seed=4, contact_id=cid)
        emu.faults.http_errors(status=429, rate=0.18, seed=5, contact_id=cid)
        texts = [f"customer message {n}" for n in range(30)]
        sent = [session.send_message(ContentType.PLAIN_TEXT, text) for text in texts]
        emu.faults.clear()
        assert [m.status for m in sent] == [MessageStatus.SENT] * len(texts)
        assert stored_texts(emu, cid) == texts  # each exactly once, in order
        tokens = sends_by_token(emu, cid)
        assert len(tokens) == len(texts)  # one ClientToken per message, every retry reused it
        assert all(statuses[-1] == 200 and statuses.count(200) == 1
                   for statuses in tokens.values())
        failures = [s for statuses in tokens.values() for s in statuses if s != 200]
        assert failures and set(failures) <= {429, 503}  # the fault did bite
        wait_until(lambda: len(messages(session.transcript)) == len(texts))
        shown = messages(session.transcript)
        assert [m.text for m in shown] == texts
        assert {m.id for m in shown} == {m.id for m in sent}


def test_retried_send_keeps_the_message_sending_then_sent(
        emu: Any, config: GlobalConfig) -> None:
    statuses: list[MessageStatus | None] = []

    def updated(data: TranscriptData) -> None:
        statuses.extend(m.status for m in messages(data.transcript_list, "patience"))

    with connected_session(emu, outbox_config(config, botocore_config=ONE_ATTEMPT)) as chat:
        session, details = chat.session, chat.details
        session.on_transcript_updated = updated
        emu.faults.http_errors(status=503, count=2, operations=["SendMessage"])
        emu.faults.http_errors(status=429, count=1, operations=["SendMessage"])
        sent = session.send_message(ContentType.PLAIN_TEXT, "patience")
        assert sent.status is MessageStatus.SENT
        tokens = sends_by_token(emu, details.contact_id)
        assert list(tokens.values()) == [[503, 503, 429, 200]]
        assert stored_texts(emu, details.contact_id) == ["patience"]
        wait_until(lambda: MessageStatus.SENT in statuses)
        assert statuses[0] is MessageStatus.SENDING
        assert MessageStatus.FAILED not in statuses
        assert [m.id for m in messages(session.transcript, "patience")] == [sent.id]


class LosingClient(AWSClient):
    """SendMessage reaches the service but the first ``lose`` answers are lost on the way."""

    lose = 0

    def send_message(self, connection_token: str, content_type: str, message: str,
                     client_token: str | None = None) -> Mapping[str, Any]:
        answer = super().send_message(connection_token, content_type, message, client_token)
        if type(self).lose > 0:
            type(self).lose -= 1
            raise EndpointUnreachableError("SendMessage: the answer was lost (test)")
        return answer


def test_lost_answers_are_retried_with_the_same_client_token_and_stored_once(
        emu: Any, config: GlobalConfig) -> None:
    LosingClient.lose = 2
    with connected_session(emu, outbox_config(config, custom_aws_client=LosingClient)) as chat:
        session, details = chat.session, chat.details
        sent = session.send_message(ContentType.PLAIN_TEXT, "exactly once")
        tokens = sends_by_token(emu, details.contact_id)
        assert list(tokens.values()) == [[200, 200, 200]]  # the service saw all three
        assert stored_texts(emu, details.contact_id) == ["exactly once"]
        stored = [i for i in emu.transcript(details.contact_id) if i.get("Type") == "MESSAGE"]
        assert stored[0]["Id"] == sent.id
        wait_until(lambda: [m.status for m in messages(session.transcript, "exactly once")]
                   == [MessageStatus.SENT])


def _failed(session: ChatSession, text: str) -> list[Any]:
    return [m for m in messages(session.transcript, text) if m.status is MessageStatus.FAILED]


def test_after_the_budget_the_message_is_failed_and_resend_sends_it_once(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT, send_timeout=0.4)) as chat:
        session, cid = chat.session, chat.contact_id
        emu.faults.http_errors(status=503, rate=1.0, operations=["SendMessage"])
        with pytest.raises(InternalServerError) as caught:
            session.send_message(ContentType.PLAIN_TEXT, "try again later")
        assert caught.value.retryable and caught.value.status == 503
        (failed,) = _failed(session, "try again later")
        assert failed.persistent_id == failed.id
        first = sends_by_token(emu, cid)
        assert len(first) == 1 and len(next(iter(first.values()))) >= 2  # retried, one token
        assert stored_texts(emu, cid) == []
        emu.faults.clear()
        resent = session.resend_failed_message(failed.id)
        assert resent.status is MessageStatus.SENT and resent.persistent_id == failed.id
        tokens = sends_by_token(emu, cid)
        assert list(tokens) == list(first)  # the resend kept the ClientToken
        assert stored_texts(emu, cid) == ["try again later"]
        wait_until(lambda: [(m.id, m.status) for m in messages(session.transcript,
                                                                 "try again later")]
                   == [(resent.id, MessageStatus.SENT)])
        with pytest.raises(MessageNotFoundError):
            session.resend_failed_message(failed.id)  # nothing left to resend


@pytest.mark.parametrize("status, error", [(400, ServiceValidationError)])
def test_non_retryable_errors_fail_at_once_and_stay_in_the_transcript(
        emu: Any, config: GlobalConfig, status: int, error: type[Exception]) -> None:
    with connected_session(emu, outbox_config(config)) as chat:
        session, details = chat.session, chat.details
        emu.faults.http_errors(status=status, count=1, operations=["SendMessage"])
        with pytest.raises(error):
            session.send_message(ContentType.PLAIN_TEXT, "rejected")
        assert [c.status for c in emu.calls("SendMessage", details.contact_id)] == [status]
        wait_until(lambda: len(_failed(session, "rejected")) == 1)
        (failed,) = _failed(session, "rejected")
        resent = session.resend_failed_message(failed.id)
        assert stored_texts(emu, details.contact_id) == ["rejected"]
        assert resent.persistent_id == failed.id


def test_throttling_after_the_budget_is_a_typed_throttling_error(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT, send_timeout=0.2)) as chat:
        session = chat.session
        emu.faults.http_errors(status=429, rate=1.0, operations=["SendMessage"])
        with pytest.raises(ThrottlingError) as caught:
            session.send_message(ContentType.PLAIN_TEXT, "slow down")
        assert caught.value.code == "ThrottlingException" and caught.value.retryable
        wait_until(lambda: len(_failed(session, "slow down")) == 1)


def test_expired_connection_token_is_replaced_and_the_send_succeeds(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, outbox_config(config)) as chat:
        session, cid = chat.session, chat.contact_id
        connections = len(emu.calls("CreateParticipantConnection", cid))
        assert emu.faults.expire_connection_tokens(cid) >= 1
        sent = session.send_message(ContentType.PLAIN_TEXT, "new token please")
        assert sent.status is MessageStatus.SENT
        statuses = [c.status for c in emu.calls("SendMessage", cid)]
        assert statuses == [403, 200]
        assert len(emu.calls("CreateParticipantConnection", cid)) == connections + 1
        tokens = sends_by_token(emu, cid)
        assert len(tokens) == 1  # the same ClientToken before and after the new token
        assert stored_texts(emu, cid) == ["new token please"]
        assert session.is_chat_session_active()


def test_send_to_an_ended_chat_fails_with_chat_ended_and_ends_the_session(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(emu, outbox_config(config), record=True) as chat:
        session, cid, recorder = chat.session, chat.contact_id, chat.recorder
        session.suspend_websocket_connection()  # the chat.ended frame never reaches us
        wait_until(lambda: emu.websocket_count(cid) == 0)
        emu.end_chat(cid)
        with pytest.raises(ChatEndedError):
            session.send_message(ContentType.PLAIN_TEXT, "anyone there?")
        assert [c.status for c in emu.calls("SendMessage", cid)] == [403]
        refused = [c for c in emu.calls("CreateParticipantConnection", cid) if c.status == 403]
        assert len(refused) == 1
        recorder.wait("on_chat_ended")
        wait_until(lambda: sdk_threads() == [], what="threads to stop")
        assert recorder.count("on_chat_ended") == 1
        assert [m.status for m in messages(session.transcript, "anyone there?")] == [
            MessageStatus.FAILED]
        assert not session.is_chat_session_active()


def test_send_while_the_socket_is_down_is_sent_and_shown_once(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT), record=True) as chat:
        session, cid, recorder = chat.session, chat.contact_id, chat.recorder
        broken = threading.Event()
        session.on_connection_broken = broken.set
        # The socket is down and stays down; SendMessage fails twice meanwhile.
        emu.faults.http_errors(status=503, rate=1.0, operations=["CreateParticipantConnection"])
        emu.faults.http_errors(status=503, count=2, operations=["SendMessage"])
        emu.faults.drop_websockets(cid)
        assert broken.wait(5)
        sent = session.send_message(ContentType.PLAIN_TEXT, "while offline")
        assert sent.status is MessageStatus.SENT
        assert [c.status for c in emu.calls("SendMessage", cid)] == [503, 503, 200]
        emu.faults.clear()
        recorder.wait("on_connection_reestablished")
        wait_until(lambda: emu.websocket_count(cid) == 1)
        assert stored_texts(emu, cid) == ["while offline"]
        assert [(m.id, m.status) for m in messages(session.transcript, "while offline")] == [
            (sent.id, MessageStatus.SENT)]


def test_failed_attachment_upload_is_redone_by_resend(
        emu: Any, config: GlobalConfig, tmp_path: Path) -> None:
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT, send_timeout=5.0)) as chat:
        session, cid = chat.session, chat.contact_id
        path = tmp_path / "notes.txt"
        path.write_text("hello attachment")
        emu.faults.http_errors(status=500, count=1, operations=["UploadAttachment"])
        with pytest.raises(Exception):  # noqa: B017 - the transfer error type is attachments.py's
            session.send_attachment(path)
        wait_until(lambda: len(_failed(session, "notes.txt")) == 1)
        (failed,) = _failed(session, "notes.txt")
        assert emu.calls("CompleteAttachmentUpload", cid) == []
        sent = session.resend_failed_message(failed.id)
        assert sent.attachment_id and sent.attachment_id != failed.id
        uploads = [c.status for c in emu.calls("UploadAttachment", cid)]
        assert uploads == [500, 200]
        assert [c.status for c in emu.calls("CompleteAttachmentUpload", cid)] == [200]
        stored = [i for i in emu.transcript(cid) if i.get("Type") == "ATTACHMENT"]
        assert len(stored) == 1
        wait_until(lambda: [m.status for m in messages(session.transcript, "notes.txt")]
                   == [MessageStatus.SENT])


def test_failed_attachment_complete_is_retried_and_not_uploaded_twice(
        emu: Any, config: GlobalConfig, tmp_path: Path) -> None:
    with connected_session(emu, outbox_config(config, botocore_config=ONE_ATTEMPT)) as chat:
        session, cid = chat.session, chat.contact_id
        path = tmp_path / "notes.txt"
        path.write_text("hello attachment")
        emu.faults.http_errors(status=503, count=2, operations=["CompleteAttachmentUpload"])
        sent = session.send_attachment(path)
        assert sent.attachment_id
        assert [c.status for c in emu.calls("UploadAttachment", cid)] == [200]
        assert [c.status for c in emu.calls("CompleteAttachmentUpload", cid)] == [503, 503, 200]
        assert len([i for i in emu.transcript(cid) if i.get("Type") == "ATTACHMENT"]) == 1


def test_chat_ending_during_a_retried_send_leaves_the_message_failed(
        emu: Any, config: GlobalConfig) -> None:
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT, send_timeout=20.0),
            record=True) as chat:
        session, cid, recorder = chat.session, chat.contact_id, chat.recorder
        emu.faults.http_errors(status=503, count=1000, operations=["SendMessage"])
        outcome: list[BaseException] = []

        def send() -> None:
            try:
                session.send_message(ContentType.PLAIN_TEXT, "never stored")
            except BaseException as exc:  # the outcome is asserted below
                outcome.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        wait_until(lambda: len(emu.calls("SendMessage", cid)) >= 2, what="a retried send")
        emu.end_chat(cid)  # the chat.ended frame stops the dispatcher mid-send
        recorder.wait("on_chat_ended")
        sender.join(10)
        assert not sender.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], ChatEndedError)
        assert [m.status for m in messages(session.transcript, "never stored")] == [
            MessageStatus.FAILED]
        assert recorder.count("on_chat_ended") == 1


def test_a_retry_cut_short_by_the_budget_reports_why_the_send_retried(
        emu: Any, config: GlobalConfig) -> None:
    """Throttled, then the retry hangs past ``send_timeout``: the send fails as throttled
    (the cause, chained from the timeout), not with the cut-short attempt's timeout. A loaded
    CI run once started the last retry with ~0 s left and raised RequestTimeoutError."""
    with connected_session(
            emu, outbox_config(config, botocore_config=ONE_ATTEMPT, send_timeout=1.0)) as chat:
        try:
            emu.faults.latency(0.0, operations=["SendMessage"], count=1)  # the first attempt
            emu.faults.latency(30.0, operations=["SendMessage"])  # ...then every retry hangs
            emu.faults.http_errors(status=429, count=1, operations=["SendMessage"])
            with pytest.raises(ThrottlingError) as caught:
                chat.session.send_message(ContentType.PLAIN_TEXT, "slow down")
            assert isinstance(caught.value.__cause__, RequestTimeoutError)
            wait_until(lambda: len(_failed(chat.session, "slow down")) == 1)
        finally:
            emu.faults.clear()
            emu.faults.wake_held_calls()
