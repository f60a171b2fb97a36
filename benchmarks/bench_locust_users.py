"""The Locust users of the Locust benchmarks (a locustfile: ``locust -f`` loads it, never the
benchmark driver, which must not be monkey-patched by gevent).

- ``SdkChat``: a :class:`connect_chat.locust.ChatUser` holding one chat: ``connect`` once,
  then every ``BENCH_INTERVAL`` seconds a ``reply`` (a message, and its echo awaited).
- ``BareChat``: the same scenario written with a bare websocket-client loop per user, what a
  Locust user would hand-write without the SDK: CreateParticipantConnection (the same one
  botocore client per process), open and subscribe, one greenlet reading frames and sending
  ``aws/heartbeat`` every 10 s, SendMessage and wait for the echo frame.
- ``BareChatWithHistory``: ``BareChat`` that also loads the newest transcript page once
  subscribed (GetTranscript BACKWARD, 30 items), as ``ChatSession.connect()`` does -- and the
  official iOS, Android and ChatJS clients: the baseline making the same requests as the SDK.

Both users send at a random phase of the interval (:func:`desynchronize`, :func:`pacing`):
Locust starts users in batches (all the users of one second of the spawn rate at the same
instant), and its ``constant_pacing`` anchors each user's rhythm at its spawn time (a random
sleep in ``on_start`` does not move it), so "a message every 10 s per chat" came as bursts of
50 simultaneous sends, and both sides measured their own queue: SendMessage took ~100 ms at
the median at 250 chats, against 6-7 ms for the same calls at random phases.

Environment: ``BENCH_CHATS`` (a JSON file of chats started beforehand; a user takes the next
one, else it calls StartChatContact), ``BENCH_INTERVAL`` (seconds between messages),
``BENCH_RAMP_TARGET`` with ``BENCH_RESULT``: write how long until that many users connected
(from the test start) to ``BENCH_RESULT`` and stop the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import time
import uuid
from typing import Any

import gevent
import gevent.event
import websocket
from locust import User, events, task

from connect_chat import (
    ChatDetails,
    Features,
    GlobalConfig,
    Message,
    MessageReceipts,
    TranscriptItem,
)
from connect_chat.locust import REQUEST_TYPE, ChatStepFailed, ChatUser

INTERVAL = float(os.environ.get("BENCH_INTERVAL", "10"))
HEARTBEAT = 10.0
SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
BEAT = json.dumps({"topic": "aws/heartbeat"})

_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

_chats: list[dict[str, str]] = []
if os.environ.get("BENCH_CHATS"):
    with open(os.environ["BENCH_CHATS"], encoding="utf-8") as _handle:
        _chats = list(reversed(json.load(_handle)))


def next_chat() -> ChatDetails | None:
    return ChatDetails(**_chats.pop()) if _chats else None


# -- ramp-up: time until BENCH_RAMP_TARGET users are connected --------------------------------

_ramp: dict[str, Any] = {"target": int(os.environ.get("BENCH_RAMP_TARGET", "0")), "done": 0}


@events.test_start.add_listener
def _started(**_kw: Any) -> None:
    _ramp["start"] = time.perf_counter()
    _ramp["cpu"] = time.process_time()


@events.request.add_listener
def _count(name: str, exception: BaseException | None, environment: Any = None,
           **_kw: Any) -> None:
    if not _ramp["target"] or name != "connect" or exception is not None:
        return
    _ramp["done"] += 1
    if _ramp["done"] == _ramp["target"]:
        result = {"seconds": time.perf_counter() - _ramp["start"],
                  "cpu_seconds": time.process_time() - _ramp["cpu"], "connected": _ramp["done"]}
        with open(os.environ["BENCH_RESULT"], "w", encoding="utf-8") as out:
            json.dump(result, out)
        runner = getattr(_count, "runner", None)
        if runner is not None:
            gevent.spawn_later(0.5, runner.quit)


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    _count.runner = environment.runner  # type: ignore[attr-defined]


def desynchronize() -> None:
    """Sleep a random part of the interval before the first message (see the docstring)."""
    gevent.sleep(random.uniform(0.0, INTERVAL))


def pacing(interval: float) -> Any:
    """A message every ``interval`` seconds from the user's first task on (not from its spawn,
    as ``constant_pacing``): the tasks mark their start in ``paced_from``."""

    def wait_time(user: Any) -> float:
        started = getattr(user, "paced_from", None)
        if started is None:
            return 0.0
        return max(0.0, interval - (time.monotonic() - started))

    return wait_time


# -- the SDK user --------------------------------------------------------------------------------


class SdkChat(ChatUser):
    """The SDK user; receipts off, as the baseline sends none (the same traffic). Its chats
    last the whole run: frozen out of the garbage collector's passes once all are started."""

    wait_time = pacing(INTERVAL)
    freeze_chats_after_spawning = True
    chat_config = GlobalConfig(
        features=Features(message_receipts=MessageReceipts(should_send_message_receipts=False))
    )

    def on_start(self) -> None:
        self._n = 0
        with contextlib.suppress(ChatStepFailed):  # reported; the task tries again
            self.connect(next_chat())
        desynchronize()

    @task
    def talk(self) -> None:
        self.paced_from = time.monotonic()
        if self.session is None:
            self.connect(next_chat())
            return
        self._n += 1
        text = f"message {self._n} {uuid.uuid4().hex[:8]}"
        self.reply(text, lambda i, t=text: _echo_of(i, t))


def _echo_of(item: TranscriptItem, text: str) -> bool:
    return isinstance(item, Message) and item.text == text and str(item.participant) == "AGENT"


# -- the baseline: a bare websocket-client loop per user ---------------------------------------

_bare: dict[str, Any] = {}


def _bare_client(host: str) -> Any:
    """One plain botocore client per process (unsigned, pooled), none of the SDK's hooks."""
    if host not in _bare:
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        _bare[host] = botocore.session.get_session().create_client(
            "connectparticipant", region_name="us-west-2", endpoint_url=host,
            config=Config(signature_version=UNSIGNED, max_pool_connections=1024,
                          retries={"mode": "standard", "total_max_attempts": 3}),
        )
    return _bare[host]


@events.test_start.add_listener
def _prepare_bare(environment: Any, **_kw: Any) -> None:
    if environment.host:
        _bare_client(environment.host)


class BareChat(User):
    wait_time = pacing(INTERVAL)

    def on_start(self) -> None:
        self.ws: Any = None
        self.token = ""
        self.waiting: dict[str, gevent.event.Event] = {}
        self.reader: Any = None
        self._n = 0
        self._connect()
        desynchronize()

    def _fire(self, name: str, started: float, exc: BaseException | None, length: int = 0) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name,
            response_time=(time.perf_counter() - started) * 1000.0, response_length=length,
            response=None, context={}, exception=exc, start_time=time.time(), url=None)

    def _client(self) -> Any:
        return _bare_client(self.host)

    def _connect(self) -> None:
        started = time.perf_counter()
        try:
            chat = _chats.pop()
            answer = self._client().create_participant_connection(
                ParticipantToken=chat["participant_token"],
                Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
            ws = websocket.create_connection(answer["Websocket"]["Url"], timeout=10)
            ws.send(SUBSCRIBE)
            while json.loads(ws.recv()).get("topic") != "aws/subscribe":
                pass
            self.ws, self.token = ws, answer["ConnectionCredentials"]["ConnectionToken"]
            self.reader = gevent.spawn(self._read)
            self._after_subscribe()
        except Exception as exc:
            self._fire("connect", started, exc)
            return
        self._fire("connect", started, None)

    def _after_subscribe(self) -> None:
        """Nothing more: the plain baseline."""

    def _read(self) -> None:
        ws = self.ws
        next_beat = time.monotonic() + HEARTBEAT
        while True:
            try:
                if time.monotonic() >= next_beat:
                    ws.send(BEAT)
                    next_beat = time.monotonic() + HEARTBEAT
                ws.settimeout(max(0.01, next_beat - time.monotonic()))
                data = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if not data:
                return
            frame = json.loads(data)
            content = frame.get("content")
            if frame.get("topic") == "aws/chat" and isinstance(content, str):
                inner = json.loads(content)
                if inner.get("ParticipantRole") == "AGENT":
                    waiter = self.waiting.get(inner.get("Content", ""))
                    if waiter is not None:
                        waiter.set()

    @task
    def talk(self) -> None:
        self.paced_from = time.monotonic()
        if self.ws is None:
            self._connect()
            return
        self._n += 1
        text = f"message {self._n} {uuid.uuid4().hex[:8]}"
        done = self.waiting[text] = gevent.event.Event()
        started = time.perf_counter()
        try:
            self._client().send_message(ContentType="text/plain", Content=text,
                                        ClientToken=str(uuid.uuid4()), ConnectionToken=self.token)
            if not done.wait(30):
                raise TimeoutError("no echo within 30 s")
        except Exception as exc:
            self._fire("reply", started, exc)
        else:
            self._fire("reply", started, None, len(text))
        finally:
            self.waiting.pop(text, None)

    def on_stop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close(timeout=1)
        if self.reader is not None:
            self.reader.kill(block=False)


class BareChatWithHistory(BareChat):
    """The baseline making the SDK's requests: the newest transcript page after subscribing."""

    def _after_subscribe(self) -> None:
        self._client().get_transcript(
            ConnectionToken=self.token, ScanDirection="BACKWARD", SortOrder="ASCENDING",
            MaxResults=30)
