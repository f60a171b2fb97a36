"""Shared test helpers: an emulator per test, fast SDK timings, callback recorders, and
``connected_session``, the one set-up of a connected session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from connect_chat import ChatDetails, ChatSession, GlobalConfig
from connect_chat.session import CALLBACK_NAMES


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


def sdk_threads() -> list[threading.Thread]:
    return [
        t for t in threading.enumerate()
        if t.name.startswith(("connect-chat-ws-", "connect-chat-dispatch-"))
    ]


class Recorder:
    """Records every callback of a session: ``(name, args, thread name)`` in order."""

    def __init__(self, session: ChatSession) -> None:
        self.events: list[tuple[str, tuple[Any, ...], str]] = []
        self._cond = threading.Condition()
        for name in CALLBACK_NAMES:
            setattr(session, name, self._make(name))

    def _make(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self._cond:
                self.events.append((name, args, threading.current_thread().name))
                self._cond.notify_all()

        return record

    def args(self, name: str) -> list[tuple[Any, ...]]:
        with self._cond:
            return [args for n, args, _ in self.events if n == name]

    def count(self, name: str) -> int:
        return len(self.args(name))

    def names(self) -> list[str]:
        with self._cond:
            return [n for n, _, _ in self.events]

    def wait(self, name: str, count: int = 1, timeout: float = 5.0,
             where: Callable[..., bool] | None = None) -> list[tuple[Any, ...]]:
        """Wait until ``name`` fired ``count`` times (those matching ``where``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [a for n, a, _ in self.events
                         if n == name and (where is None or where(*a))]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"callback {name} fired {len(found)} times, wanted {count}")
                self._cond.wait(remaining)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``@pytest.mark.behaviour_matrix``: run the test under every emulator behaviour.

    That is each entry of ``connect_chat.emulator.behaviour.variants()`` (the defaults,
    each knob flipped alone, the all-flipped ``unusual`` profile); with
    ``profiles_only=True``, only the defaults and ``unusual``.
    """
    marker = metafunc.definition.get_closest_marker("behaviour_matrix")
    if marker is None or "emu_behaviour" not in metafunc.fixturenames:
        return
    from connect_chat.emulator.behaviour import variants

    chosen = variants()
    if marker.kwargs.get("profiles_only"):
        chosen = [(name, b) for name, b in chosen if name in ("default", "unusual")]
    metafunc.parametrize(
        "emu_behaviour", [b for _, b in chosen], ids=[name for name, _ in chosen], indirect=True
    )


@pytest.fixture
def emu_behaviour(request: pytest.FixtureRequest) -> Any:
    """The emulator behaviour of a ``behaviour_matrix`` test (None: the defaults)."""
    return getattr(request, "param", None)


@pytest.fixture
def emu(emu_behaviour: Any) -> Iterator[Any]:
    from connect_chat.emulator import Emulator

    with Emulator(behaviour=emu_behaviour) as emulator:
        yield emulator


def fast_config(emu: Any) -> GlobalConfig:
    """Short timings so that reconnect and heartbeat tests run in a second or two."""
    return GlobalConfig(
        endpoint_url=emu.endpoint_url,
        heartbeat_interval=1.0,
        connect_timeout=5.0,
        reconnect_first_delay=0.0,
        reconnect_backoff_base=0.05,
        reconnect_backoff_cap=0.3,
        join_timeout=2.0,
        socket_poll_interval=0.05,
    )


@pytest.fixture
def config(emu: Any) -> GlobalConfig:
    """:func:`fast_config` for this test's emulator."""
    return fast_config(emu)


@pytest.fixture
def session(config: GlobalConfig) -> Iterator[ChatSession]:
    chat = ChatSession(config)
    try:
        yield chat
    finally:
        chat.reset()


def fast(config: GlobalConfig, **changes: Any) -> GlobalConfig:
    return attrs.evolve(config, **changes)


@attrs.frozen
class Connected:
    """What :func:`connected_session` yields: the session and the chat it joined."""

    session: ChatSession
    details: ChatDetails
    _emu: Any
    _recorder: Recorder | None

    @property
    def contact_id(self) -> str:
        contact_id = self.details.contact_id
        assert contact_id is not None, "a started chat has a contact id"
        return contact_id

    @property
    def agent(self) -> Any:
        """The emulator's agent side of the chat (joined only with ``agent_joins``)."""
        return self._emu.agent(self.contact_id)

    @property
    def recorder(self) -> Recorder:
        """The :class:`Recorder` of every callback (``connected_session(record=True)``)."""
        assert self._recorder is not None, "connected_session(record=True) records callbacks"
        return self._recorder


@contextmanager
def connected_session(
        emu: Any,
        config: GlobalConfig | None = None,
        *,
        details: ChatDetails | None = None,
        agent_joins: bool | str = False,
        record: bool = False,
        connect: bool = True,
        **callbacks: Callable[..., Any],
) -> Iterator[Connected]:
    """A session connected to a new chat on ``emu``; reset (threads gone) on exit.

    In order: the chat starts (``details``: one already started), the session is built with
    ``config`` (default :func:`fast_config`), a :class:`Recorder` takes every callback (only
    with ``record``) and then the given ``on_*`` ``callbacks`` replace its own, the agent joins
    (``agent_joins``: True, or its display name), and the session connects (``connect=False``:
    the test connects itself, after a fault or expecting a failure). On exit the session is
    reset; on a clean exit its two threads must be gone.
    """
    unknown = set(callbacks) - set(CALLBACK_NAMES)
    assert not unknown, f"not session callbacks: {sorted(unknown)}"
    if details is None:
        details = emu.start_chat()
    session = ChatSession(config if config is not None else fast_config(emu))
    try:
        recorder = Recorder(session) if record else None
        for name, callback in callbacks.items():
            setattr(session, name, callback)
        connected = Connected(session, details, emu, recorder)
        if agent_joins is True:
            connected.agent.join()
        elif agent_joins:
            connected.agent.join(agent_joins)
        if connect:
            session.connect(details)
        yield connected
    finally:
        session.reset()
    left = [t.name for t in sdk_threads() if t.name.endswith(f"-{details.contact_id}")]
    assert left == [], f"SDK threads left after reset: {left}"
