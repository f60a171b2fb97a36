"""pytest plugin (entry point ``pytest11``) and helpers for testing code that uses connect-chat.

Users test their own bots offline: the ``connect_emulator`` fixture gives a running emulator,
:func:`chat_with_agent` a connected customer session with an agent already in the chat, and
:func:`wait_until` waits for what a background thread will do, without sleeping blindly.

The emulator and the session are imported only when used, so installing connect-chat never
slows down or changes a test run that does not ask for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from connect_chat.config import GlobalConfig
    from connect_chat.emulator import AgentHandle, Emulator
    from connect_chat.session import ChatSession

__all__ = ["chat_with_agent", "connect_emulator", "wait_until"]

T = TypeVar("T")


MARKER = "connect_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): Emulator options for the connect_emulator fixture "
        "(for example agent='echo', connection_token_ttl=5)",
    )


@pytest.fixture
def connect_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator on an ephemeral loopback port, stopped after the test.

    ``@pytest.mark.connect_emulator(agent="echo", ...)`` passes options to ``Emulator``.
    """
    from connect_chat.emulator import Emulator

    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with Emulator(**options) as emulator:
        yield emulator


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 5.0,
    *,
    interval: float = 0.01,
    message: str | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Raises ``AssertionError`` (with ``message``, or the predicate's name) if ``timeout``
    seconds pass first, so a test that waits for the wrong thing fails instead of hanging.
    The predicate is always called at least once, and once more at the deadline.
    """
    if timeout < 0:
        raise ValueError("timeout must be zero or more")
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            what = message or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(min(interval, remaining))


@contextmanager
def chat_with_agent(
    emulator: Emulator,
    *,
    display_name: str = "Customer",
    agent_name: str = "Agent",
    config: GlobalConfig | None = None,
    join: bool = True,
    setup: Callable[[ChatSession], Any] | None = None,
) -> Iterator[tuple[ChatSession, AgentHandle]]:
    """A customer session connected to a new chat on ``emulator``, and that chat's agent.

    ``setup`` runs on the session before it connects (to set callbacks that must not miss
    the first items). With ``join`` (the default) the agent has joined before the block
    starts. The session is disconnected when the block ends, whatever happens in it.
    """
    from connect_chat.config import GlobalConfig
    from connect_chat.session import ChatSession

    if config is None:
        config = GlobalConfig(endpoint_url=emulator.endpoint_url)
    elif getattr(config, "endpoint_url", None) is None:
        raise ValueError("config.endpoint_url must point at the emulator")
    details = emulator.start_chat(display_name=display_name)
    assert details.contact_id is not None
    agent = emulator.agent(details.contact_id)
    session = ChatSession(config)
    try:
        if setup is not None:
            setup(session)
        session.connect(details)
        if join:
            agent.join(display_name=agent_name)
        yield session, agent
    finally:
        session.disconnect()
