"""The make-before-break hand-over between two sockets, frame by frame (scripted sockets):
what only the old socket has is passed on once, what both have is passed on once."""

from __future__ import annotations

import json
from typing import Any

import websocket as wsclient

from connect_chat import GlobalConfig
from connect_chat.inbox import RawFrame, SocketEvent
from connect_chat.models import ConnectionDetails
from connect_chat.websocket import SocketWorker

TIMEOUT = "timeout"
GONE = "gone"


def chat(item_id: str) -> str:
    item = {"Id": item_id, "Type": "MESSAGE", "ContentType": "text/plain", "Content": item_id}
    return json.dumps({"content": json.dumps(item), "contentType": "application/json",
                       "topic": "aws/chat"})


class ScriptedSocket:
    """Answers ``recv_data`` from a script: frame texts, or TIMEOUT for a quiet poll."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)

    def settimeout(self, timeout: float) -> None:
        pass

    def recv_data(self) -> tuple[int, bytes]:
        if self.script and self.script[0] == GONE:
            raise wsclient.WebSocketConnectionClosedException("gone")
        if not self.script or self.script[0] == TIMEOUT:
            if self.script:
                self.script.pop(0)
            raise wsclient.WebSocketTimeoutException("quiet")
        return wsclient.ABNF.OPCODE_TEXT, self.script.pop(0).encode()


def worker(posted: list[object]) -> SocketWorker:
    return SocketWorker(
        name="test-handover",
        config=GlobalConfig(socket_poll_interval=0.01, connect_timeout=5.0),
        initial=ConnectionDetails(websocket_url="ws://127.0.0.1:9/ws", connection_token="t"),
        connector=lambda: ConnectionDetails(),
        post=posted.append,
    )


def texts(posted: list[object]) -> list[str]:
    out = []
    for item in posted:
        assert isinstance(item, RawFrame)
        out.append(json.loads(json.loads(item.text)["content"])["Id"])
    return out


def hand_over(old: list[str], new: list[str]) -> tuple[list[str], list[str], SocketWorker]:
    posted: list[object] = []
    sock = worker(posted)
    early: list[str] = []
    ended = sock._handover.run(ScriptedSocket(old), ScriptedSocket(new),  # type: ignore[arg-type]
                            early)
    assert not ended
    for text in early:
        if not sock._handover.seen(text):
            posted.append(RawFrame(text))
    return texts(posted), early, sock


def test_the_old_socket_is_read_up_to_the_new_sockets_first_frame() -> None:
    posted, _, _ = hand_over(
        old=[chat("a"), chat("b"), chat("c"), chat("d")],
        new=[chat("c"), chat("d"), chat("e")],
    )
    assert posted == ["a", "b", "c", "d", "e"]


def test_a_frame_seen_on_the_old_socket_first_is_dropped_on_the_new_one() -> None:
    # The new socket is still quiet when "c" arrives on the old one.
    posted, _, sock = hand_over(old=[chat("a"), chat("c"), TIMEOUT], new=[TIMEOUT, TIMEOUT])
    assert posted == ["a", "c"]
    assert sock._handover.seen(chat("c"))  # its copy on the new socket: dropped
    assert not sock._handover.seen(chat("c"))  # only once
    assert not sock._handover.seen(chat("e"))
    assert sock.overlap_duplicates == 1


def test_a_quiet_old_socket_ends_the_hand_over_at_once() -> None:
    posted, early, _ = hand_over(old=[TIMEOUT, chat("late")], new=[chat("x")])
    assert posted == ["x"] and early == [chat("x")]


def test_chat_ended_on_the_old_socket_is_reported() -> None:
    ended_item = {"Id": "end", "Type": "EVENT",
                  "ContentType": "application/vnd.amazonaws.connect.event.chat.ended"}
    frame = json.dumps({"content": json.dumps(ended_item), "contentType": "application/json",
                        "topic": "aws/chat"})
    posted: list[Any] = []
    sock = worker(posted)
    assert sock._handover.run(ScriptedSocket([frame]), ScriptedSocket([TIMEOUT]),  # type: ignore[arg-type]
                           [])
    assert [p.text for p in posted] == [frame]


def test_an_old_socket_dying_during_the_hand_over_asks_for_a_gap_fill() -> None:
    posted: list[Any] = []
    sock = worker(posted)
    early: list[str] = []
    assert not sock._handover.run(ScriptedSocket([chat("a"), GONE]),  # type: ignore[arg-type]
                               ScriptedSocket([TIMEOUT, TIMEOUT, chat("c")]), early)
    assert posted[-1] is SocketEvent.GAP
    assert texts(posted[:-1]) == ["a"]
