"""The pytest plugin of connect-chat (entry point ``pytest11``): the ``connect_emulator``
fixture and marker.

The emulator is imported only when the fixture is used, so installing connect-chat never
slows down or changes a test run that does not ask for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from connect_chat.emulator import Emulator

__all__ = ["connect_emulator"]

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
