"""pytest plugin (entry point ``pytest11``): offline fixtures for tests of code using connect-chat.

The emulator is imported only when a fixture is used, so installing connect-chat never slows
down or changes a test run that does not ask for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from connect_chat.emulator import Emulator


@pytest.fixture
def connect_emulator() -> Iterator[Emulator]:
    """A running emulator on an ephemeral loopback port, stopped after the test."""
    from connect_chat.emulator import Emulator

    with Emulator() as emulator:
        yield emulator
