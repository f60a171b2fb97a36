"""The baseline client and the recorded frame stream, built without the SDK's own code.

The baseline is what a program would write with nothing but botocore and websocket-client:
CreateParticipantConnection, open the URL, subscribe, then ``json.loads`` each frame and its
``content``. The same bare socket records the frame stream the throughput and transcript
benchmarks replay, so those frames are exactly what the emulator puts on the wire.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.session
import websocket
from botocore import UNSIGNED
from botocore.config import Config

SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})

_session_lock = threading.Lock()
_session: Any = None


def participant_client(endpoint_url: str) -> Any:
    """A plain botocore ``connectparticipant`` client (unsigned: the token is the auth)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session.create_client(
            "connectparticipant",
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
        )


def open_subscribed(endpoint_url: str, participant_token: str) -> tuple[Any, str]:
    """A websocket subscribed to ``aws/chat`` and its connection token."""
    client = participant_client(endpoint_url)
    answer = client.create_participant_connection(
        ParticipantToken=participant_token, Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
    )
    ws = websocket.create_connection(answer["Websocket"]["Url"], timeout=10)
    ws.send(SUBSCRIBE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv())
        if frame.get("topic") == "aws/subscribe":
            return ws, answer["ConnectionCredentials"]["ConnectionToken"]
    raise RuntimeError("no subscribe acknowledgement")


class BaselineReader:
    """The baseline: a bare receive loop that only ``json.loads`` the frame and its content.

    ``on_item(inner, arrived)`` is called with the decoded item and ``time.perf_counter()``
    taken right after decoding (on this reader's thread).
    """

    def __init__(self, ws: Any, on_item: Callable[[dict[str, Any], float], None]) -> None:
        self._ws = ws
        self._on_item = on_item
        self._thread = threading.Thread(target=self._run, name="bench-baseline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        ws = self._ws
        loads = json.loads
        clock = time.perf_counter
        while True:
            try:
                data = ws.recv()
            except Exception:  # closed: the benchmark is over
                return
            if not data:
                return
            frame = loads(data)
            content = frame.get("content")
            if frame.get("topic") == "aws/chat" and isinstance(content, str):
                inner = loads(content)
                self._on_item(inner, clock())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close(timeout=1)
        self._thread.join(2)


def record_frames(emulator: Any, count: int, typing_every: int = 10) -> list[str]:
    """``count`` raw ``aws/chat`` frames as the emulator sends them: agent messages of varied
    length with an agent typing event every ``typing_every`` frames.
    """
    details = emulator.start_chat(display_name="Recorder")
    agent = emulator.agent(details.contact_id)
    agent.join(display_name="Agent")
    ws, _ = open_subscribed(emulator.endpoint_url, details.participant_token)
    frames: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    def read() -> None:
        while True:
            try:
                data = ws.recv()
            except Exception:
                done.set()
                return
            if '"aws/chat"' not in data:
                continue
            inner = json.loads(json.loads(data)["content"])
            if inner.get("ParticipantRole") != "AGENT":
                continue
            with lock:
                frames.append(data)
                if len(frames) >= count:
                    done.set()
                    return

    reader = threading.Thread(target=read, name="bench-recorder", daemon=True)
    reader.start()
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again"]
    for i in range(count):
        if typing_every and i % typing_every == typing_every - 1:
            agent.send_event("application/vnd.amazonaws.connect.event.typing")
        else:
            length = 3 + (i * 7) % 40
            text = " ".join(words[(i + k) % len(words)] for k in range(length))
            agent.send_message(f"m{i} {text}")
    done.wait(60)
    ws.close()
    reader.join(5)
    emulator.end_chat(details.contact_id)
    with lock:
        if len(frames) < count:
            raise RuntimeError(f"recorded only {len(frames)} of {count} frames")
        return frames[:count]


def derive_message_frames(template: str, count: int, start_ms: int, prefix: str) -> list[str]:
    """``count`` copies of a recorded MESSAGE frame with new ids and times ``start_ms``+i ms."""
    outer = json.loads(template)
    inner = json.loads(outer["content"])
    out = []
    for i in range(count):
        ms = start_ms + i
        inner["Id"] = f"{prefix}-{i:08d}"
        inner["AbsoluteTime"] = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
        )
        inner["Content"] = f"{prefix} message {i}"
        outer["content"] = json.dumps(inner)
        out.append(json.dumps(outer))
    return out
