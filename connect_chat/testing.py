"""Helpers for testing code that uses connect-chat (with or without pytest).

:func:`chat_with_agent` gives a connected customer session with an agent already in the
chat, and :func:`wait_until` waits for what a background thread will do, without sleeping
blindly. The pytest plugin (the ``connect_emulator`` fixture) is ``connect_chat.pytest_plugin``;
this module never imports pytest, so a script or a notebook can use it with the ``emulator``
extra alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from connect_chat.config import GlobalConfig
    from connect_chat.emulator import AgentHandle, Emulator
    from connect_chat.session import ChatSession

__all__ = ["chat_with_agent", "wait_until"]

T = TypeVar("T")


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
