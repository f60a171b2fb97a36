"""The behaviour matrix: one emulator per module, its behaviour set per test.

Every test here takes the ``behaviour`` fixture and so runs once per entry of
``connect_chat.emulator.behaviour.variants()``: the defaults, each knob flipped alone, and the
all-flipped ``unusual`` profile. A message lost or delivered twice under any of them fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connect_chat.emulator.behaviour import Behaviour, variants

VARIANTS = variants()


@pytest.fixture(scope="module")
def matrix_emu() -> Iterator[Any]:
    from connect_chat.emulator import Emulator

    with Emulator() as emulator:
        yield emulator


@pytest.fixture(params=[b for _, b in VARIANTS], ids=[name for name, _ in VARIANTS])
def behaviour(request: pytest.FixtureRequest, matrix_emu: Any) -> Iterator[Behaviour]:
    matrix_emu.set_behaviour(request.param)
    try:
        yield request.param
    finally:
        matrix_emu.faults.clear()
        matrix_emu.set_behaviour("default")


@pytest.fixture
def emu(matrix_emu: Any, behaviour: Behaviour) -> Any:
    """The module's emulator, set to this test's behaviour."""
    return matrix_emu
