"""REST keep-alive sockets are closed at ``disconnect()`` and ``reset()`` (issue 16, item 15).

Before, each session's botocore pool kept its sockets until the garbage collector freed the
client: 8 to 13 were still open after 30 to 200 cycles. The garbage collector is paused here
so that only an explicit close can bring the count back.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest

from connect_chat import ChatSession, ContentType, GlobalConfig
from connect_chat.resume import RestChat, SavedChat

CYCLES = 12


def established_sockets_to(port: int) -> int:
    """This process's ESTABLISHED TCP sockets whose remote port is ``port``."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if fields[3] == "01" and remote_port == port and fields[9] in mine:
                        count += 1
        except FileNotFoundError:
            continue
    return count


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _port(emu: Any) -> int:
    return int(emu.endpoint_url.rsplit(":", 1)[1])


STOPS = {
    "disconnect": ChatSession.disconnect,
    "reset": ChatSession.reset,
    "context exit": lambda s: s.__exit__(None, None, None),
}


@pytest.mark.parametrize("how", sorted(STOPS))
def test_connect_stop_cycles_leave_no_rest_socket_open(
        emu: Any, config: GlobalConfig, no_gc: None, how: str) -> None:
    port = _port(emu)
    before = established_sockets_to(port)
    for n in range(CYCLES):
        session = ChatSession(config)  # its own botocore client and pool, as in the probe
        session.connect(emu.start_chat(display_name=f"cycle {n}"))
        session.send_message(ContentType.PLAIN_TEXT, "hi")
        STOPS[how](session)
    assert established_sockets_to(port) <= before


def test_rest_chat_cycles_leave_no_socket_open(emu: Any, no_gc: None) -> None:
    port = _port(emu)
    before = established_sockets_to(port)
    for n in range(CYCLES):
        saved = SavedChat.from_chat_details(emu.start_chat(display_name=f"rest {n}"),
                                            endpoint_url=emu.endpoint_url)
        with RestChat(saved) as chat:
            chat.send_message(ContentType.PLAIN_TEXT, "hi")
    assert established_sockets_to(port) <= before
