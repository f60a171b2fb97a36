"""The outbox's retry rules as pure logic (no network): which errors are retried, the token
refresh after AccessDenied, the deadline, and stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from connect_chat.errors import (
    AccessDeniedError,
    ChatEndedError,
    EndpointUnreachableError,
    InternalServerError,
    InvalidInputError,
    MessageNotFoundError,
    ServiceValidationError,
    SessionClosedError,
    ThrottlingError,
)
from connect_chat.outbox import MAX_TOKEN_REFRESHES, Outbox, OutboxEntry, Retrier, is_retryable


class Tokens:
    """A token source whose ``refresh`` hands out t1, t2, ... (or raises ``fail``)."""

    def __init__(self) -> None:
        self.current = "t0"
        self.refreshed: list[str] = []
        self.fail: Exception | None = None

    def refresh(self, old: str) -> str:
        self.refreshed.append(old)
        if self.fail is not None:
            raise self.fail
        self.current = f"t{len(self.refreshed)}"
        return self.current


def retrier(tokens: Tokens, stopped: threading.Event | None = None,
            ended: Callable[[], bool] = lambda: False) -> Retrier:
    return Retrier(token=lambda: tokens.current, refresh=tokens.refresh,
                   stopped=stopped or threading.Event(), ended=ended, base=0.001, cap=0.002)


def script(*outcomes: object) -> tuple[Callable[[str], str], list[str]]:
    """A call answering with ``outcomes`` in turn (exceptions are raised); records tokens."""
    seen: list[str] = []
    queue = list(outcomes)

    def call(token: str) -> str:
        seen.append(token)
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    return call, seen


def later(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def test_retryable_classification() -> None:
    assert is_retryable(ThrottlingError("x", retryable=True))
    assert is_retryable(InternalServerError("x", retryable=True))
    assert is_retryable(EndpointUnreachableError("x"))
    assert not is_retryable(ServiceValidationError("x"))
    assert not is_retryable(AccessDeniedError("x"))


def test_retryable_errors_are_retried_until_success() -> None:
    tokens = Tokens()
    call, seen = script(ThrottlingError("slow", retryable=True),
                        EndpointUnreachableError("net"), "ok")
    assert retrier(tokens).run("Op", call, later()) == "ok"
    assert seen == ["t0", "t0", "t0"]


def test_non_retryable_errors_are_raised_at_once() -> None:
    call, seen = script(ServiceValidationError("bad"), "never")
    with pytest.raises(ServiceValidationError):
        retrier(Tokens()).run("Op", call, later())
    assert seen == ["t0"]


def test_access_denied_gets_a_fresh_token_at_once() -> None:
    tokens = Tokens()
    call, seen = script(AccessDeniedError("expired"), "ok")
    assert retrier(tokens).run("Op", call, later()) == "ok"
    assert seen == ["t0", "t1"] and tokens.refreshed == ["t0"]


def test_fresh_tokens_refused_too_is_not_a_token_problem() -> None:
    tokens = Tokens()
    call, seen = script(*[AccessDeniedError("no")] * (MAX_TOKEN_REFRESHES + 2))
    with pytest.raises(AccessDeniedError):
        retrier(tokens).run("Op", call, later())
    assert len(tokens.refreshed) == MAX_TOKEN_REFRESHES
    assert len(seen) == MAX_TOKEN_REFRESHES + 1


def test_a_refused_participant_token_means_the_chat_ended() -> None:
    tokens = Tokens()
    tokens.fail = ChatEndedError("over")
    call, _ = script(AccessDeniedError("expired"), "never")
    with pytest.raises(ChatEndedError):
        retrier(tokens).run("Op", call, later())


def test_a_failed_refresh_is_retried_like_any_retryable_error() -> None:
    tokens = Tokens()
    tokens.fail = InternalServerError("cpc down", retryable=True)
    call, seen = script(AccessDeniedError("expired"), AccessDeniedError("expired"), "ok")

    def refresh_recovers(old: str) -> str:
        if len(tokens.refreshed) == 1:
            tokens.fail = None
        return Tokens.refresh(tokens, old)

    tokens.refresh = refresh_recovers  # type: ignore[method-assign]
    assert retrier(tokens).run("Op", call, later()) == "ok"
    assert seen == ["t0", "t0", "t2"]


def test_the_last_error_is_raised_when_the_deadline_passes() -> None:
    call, seen = script(*[InternalServerError("down", retryable=True)] * 1000)
    with pytest.raises(InternalServerError):
        retrier(Tokens()).run("Op", call, later(0.05))
    assert 1 <= len(seen) < 1000


def test_stopping_the_session_ends_a_wait_at_once() -> None:
    stopped = threading.Event()
    stopped.set()
    call, seen = script(InternalServerError("down", retryable=True), "never")
    with pytest.raises(SessionClosedError):
        retrier(Tokens(), stopped).run("Op", call, later(60))
    assert seen == ["t0"]


def test_a_chat_that_ended_meanwhile_stops_the_retries() -> None:
    call, seen = script(InternalServerError("down", retryable=True), "never")
    with pytest.raises(ChatEndedError):
        retrier(Tokens(), ended=lambda: True).run("Op", call, later(60))
    assert seen == ["t0"]


def test_outbox_resend_needs_a_failed_entry() -> None:
    outbox = Outbox()
    entry = OutboxEntry(local_id="m1", content_type="text/plain", content="hi",
                        client_token="c1")
    outbox.add(entry)
    with pytest.raises(InvalidInputError):
        outbox.claim_failed("m1")  # still being sent
    outbox.failed("m1")
    assert outbox.claim_failed("m1") is entry and entry.in_flight and not entry.failed
    outbox.remove("m1")
    with pytest.raises(MessageNotFoundError):
        outbox.claim_failed("m1")
