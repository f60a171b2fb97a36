"""Scenarios run in a child process (``python -m tests.locust.cases NAME URL``).

Importing ``locust`` monkey-patches the standard library with gevent, so nothing here may run
inside the pytest process: each case prints one JSON line (``RESULT {...}``) that the test
reads. The emulator runs in the pytest process; ``URL`` is its endpoint.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

import gevent
import gevent.events
import locust  # before connect_chat: gevent patches the standard library first
from gevent import monkey
from locust.env import Environment

from connect_chat import ContentType, GlobalConfig, Message, TranscriptItem
from connect_chat.heap import HELD_THRESHOLD
from connect_chat.locust import ChatStepFailed, ChatUser, close_all_sessions, prepare_clients


class Recorder:
    """Every request event Locust gets, as plain dicts."""

    def __init__(self, environment: Environment) -> None:
        self.events: list[dict[str, Any]] = []
        environment.events.request.add_listener(self._on_request)

    def _on_request(self, **kw: Any) -> None:
        exc = kw.get("exception")
        self.events.append({
            "type": kw["request_type"],
            "name": kw["name"],
            "time": kw["response_time"],
            "length": kw["response_length"],
            "exception": None if exc is None else type(exc).__name__,
            "message": None if exc is None else str(exc),
        })


def make_user(url: str, **attrs: Any) -> tuple[ChatUser, Recorder]:
    cls = type("Probe", (ChatUser,), {"host": url, "abstract": False, **attrs})
    environment = Environment(user_classes=[cls], events=locust.events, host=url)
    recorder = Recorder(environment)
    return cls(environment), recorder


def case_steps(url: str) -> dict[str, Any]:
    """Each step of a good chat is one 'chat' event, with its length."""
    user, recorder = make_user(url)
    user.connect()
    message = user.send("plain send")
    answer = user.reply("echo me", lambda i: isinstance(i, Message) and i.text == "echo me")
    user.disconnect()
    return {"events": recorder.events, "sent_status": str(message.metadata.status)
            if message.metadata else None, "answer": getattr(answer, "text", None),
            "session_after": user.session is None}


def case_failed_reply(url: str) -> dict[str, Any]:
    """No agent answers: reply is a failure with its TimeoutError; the task ends cleanly."""
    user, recorder = make_user(url)
    user.connect()
    raised = None
    try:
        user.reply("anyone?", timeout=0.3)
    except ChatStepFailed as exc:
        raised = {"type": type(exc).__name__, "cause": type(exc.__cause__).__name__,
                  "message": str(exc)}
    user.on_stop()
    return {"events": recorder.events, "raised": raised, "open": close_all_sessions()}


def case_no_chat(url: str) -> dict[str, Any]:
    """A step before connect() is a reported failure, not an AttributeError."""
    user, recorder = make_user(url)
    raised = None
    try:
        user.send("too early")
    except ChatStepFailed as exc:
        raised = str(exc)
    return {"events": recorder.events, "raised": raised}


def case_failed_connect(url: str) -> dict[str, Any]:
    """A refused StartChatContact is a 'start_chat' failure with the service's error."""

    def refuse(_user: ChatUser) -> Any:
        raise RuntimeError("the backend is down")

    user, recorder = make_user(url, chat_starter=staticmethod(refuse))
    raised = None
    try:
        user.connect()
    except ChatStepFailed as exc:
        raised = str(exc)
    return {"events": recorder.events, "raised": raised, "session": user.session is None}


def case_reconnect(url: str) -> dict[str, Any]:
    """A dropped socket comes back: one 'reconnect' entry with the time it took."""
    import requests

    config = GlobalConfig(heartbeat_interval=0.5, reconnect_first_delay=0.0)
    user, recorder = make_user(url, chat_config=config)
    user.connect()
    assert user.chat_details is not None
    requests.post(f"{url}/emulator/faults", json={
        "Fault": "drop_websockets", "ContactId": user.chat_details.contact_id}, timeout=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        e["name"] == "reconnect" for e in recorder.events
    ):
        gevent.sleep(0.05)
    user.reply("after the drop", lambda i: isinstance(i, Message) and i.text == "after the drop")
    user.on_stop()
    return {"events": recorder.events}


def case_slow_callback(url: str) -> dict[str, Any]:
    """Many users in one gevent process progress while one user's callback is slow.

    One session's ``on_message_received`` sleeps 2 s per item (cooperatively, as patched
    ``time.sleep`` does). The others each complete round trips meanwhile; gevent's monitor
    reports any greenlet that holds the hub for more than 0.1 s.
    """
    users_count = 20
    blocked: list[float] = []
    users = []
    recorder = None
    for _ in range(users_count):
        user, rec = make_user(url)
        recorder = recorder or rec
        users.append((user, rec))
    prepare_clients([type(users[0][0])])  # what test_start does: botocore loads its models
    gevent.config.monitor_thread = True
    gevent.config.max_blocking_time = 0.1
    hub = gevent.get_hub()
    hub.start_periodic_monitoring_thread()
    gevent.events.subscribers.append(
        lambda e: blocked.append(1.0) if isinstance(e, gevent.events.EventLoopBlocked) else None
    )
    gevent.joinall([gevent.spawn(u.connect) for u, _ in users], raise_error=True)

    slow_user = users[0][0]
    assert slow_user.session is not None
    slow_calls: list[float] = []

    def slow(item: TranscriptItem) -> None:
        slow_calls.append(time.monotonic())
        time.sleep(2.0)  # patched: yields to the hub

    slow_user.session.on_message_received = slow
    slow_ended: list[float] = []

    def slow_send() -> None:
        assert slow_user.session is not None
        slow_user.session.send_message(ContentType.PLAIN_TEXT, "slow")  # waits on its dispatcher
        slow_ended.append(time.monotonic())

    sender = gevent.spawn(slow_send)
    while not slow_calls:
        gevent.sleep(0.01)
    slow_started = slow_calls[0]

    def rounds(user: ChatUser) -> list[float]:
        done = []
        for n in range(5):
            text = f"fast {n}"
            user.reply(text, lambda i, t=text: isinstance(i, Message) and i.text == t,
                       timeout=5)
            done.append(time.monotonic())
        return done

    workers = [gevent.spawn(rounds, u) for u, _ in users[1:]]
    gevent.joinall(workers, raise_error=True)
    fast_done = max(w.value[-1] for w in workers)
    sender.join(10)
    replies = [e["time"] for _, r in users for e in r.events if e["name"] == "reply"]
    for user, _ in users:
        user.on_stop()
    return {
        "users": users_count - 1,
        "rounds_each": [len(w.value) for w in workers],
        "fast_done_after_s": fast_done - slow_started,
        "slow_send_done_after_s": slow_ended[0] - slow_started if slow_ended else None,
        "reply_max_ms": max(replies),
        "hub_blocked": len(blocked),
        "patched": monkey.is_module_patched("threading") and monkey.is_module_patched("queue"),
        "failures": [e for _, r in users for e in r.events if e["exception"]],
    }


def case_idle_close(url: str) -> dict[str, Any]:
    """Idle sessions (sleeping in recv up to 10 s under gevent) still close at once."""
    import connect_chat.websocket as socket_module

    users = [make_user(url)[0] for _ in range(10)]
    gevent.joinall([gevent.spawn(u.connect) for u in users], raise_error=True)
    gevent.sleep(1.5)  # every socket greenlet is now in its long idle recv
    closes = []
    for user in users:
        started = time.monotonic()
        user.on_stop()
        closes.append(time.monotonic() - started)
    return {"idle_wait": socket_module.MAX_IDLE_WAIT, "slowest_close_s": max(closes),
            "open": close_all_sessions()}


def case_amazon_connect(url: str) -> dict[str, Any]:
    """StartChatContact signed with the caller's credentials; none configured: a failure."""
    import os

    from connect_chat.locust import StartChatContact

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    starter = StartChatContact.amazon_connect(
        "instance-1", "flow-1", "eu-west-2", endpoint_url=url, display_name="Real"
    )
    user, recorder = make_user(url, chat_starter=starter)
    with contextlib.suppress(ChatStepFailed):
        user.connect()
    without = [(e["name"], e["exception"]) for e in recorder.events]
    os.environ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "secret"
    signed = StartChatContact.amazon_connect(
        "instance-1", "flow-1", "eu-west-2", endpoint_url=url, display_name="Real"
    )
    user2, _ = make_user(url, chat_starter=signed)
    user2.connect()
    user2.on_stop()
    return {"without": without,
            "with": [(e["name"], e["exception"]) for e in recorder.events[len(without):]]}


def case_session_client(url: str) -> dict[str, Any]:
    """Users share one botocore client; each session has its own calls and event handlers."""
    from connect_chat.locust import SessionClient, shared_aws_client

    shared = shared_aws_client("us-west-2", url)
    events = shared.botocore_client.meta.events

    def handlers() -> int:
        return len(list(events._emitter._handlers.prefix_search("before-send.connectparticipant")))

    before = handlers()
    users = [make_user(url)[0] for _ in range(5)]
    for user in users:
        user.connect()
    clients = [u.session._client for u in users]  # type: ignore[union-attr]
    result = {
        "session_clients": all(isinstance(c, SessionClient) for c in clients),
        "same_botocore": all(c.botocore_client._client is shared.botocore_client
                             for c in clients),
        "own_calls": len({id(c.calls) for c in clients} | {id(shared.calls)}) == 6,
        "handlers_added": handlers() - before,
    }
    users[0].disconnect()  # cancels only its own calls: the others still talk
    result["others_reply"] = [
        u.reply("still here", lambda i: isinstance(i, Message) and i.text == "still here").text
        for u in users[1:]
    ]
    for user in users:
        user.on_stop()
    return result


def case_alarms(url: str) -> dict[str, Any]:
    """Under gevent a call's deadline is a timer of the hub's loop, not a greenlet per call:
    the deadline still ends a call against a silent peer, and a trip or deadline still shuts
    a WebSocket open's socket."""
    import socket
    import threading

    from connect_chat.deadlines import CallGroup, guard_socket
    from connect_chat.errors import RequestTimeoutError

    started_threads = 0
    original_start = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        nonlocal started_threads
        started_threads += 1
        original_start(self)

    threading.Thread.start = counting_start  # type: ignore[method-assign]
    group = CallGroup(default_timeout=5.0)
    try:
        for _ in range(50):  # calls that end in time: no thread, no greenlet started
            with group.scope("Quick"):
                gevent.sleep(0)
        threads_for_quick_calls = started_threads
        a, b = socket.socketpair()
        began = time.monotonic()
        timed_out = None
        try:
            with group.scope("Silent", timeout=0.3) as call:
                call.watch(a)
                a.recv(10)  # the peer never writes
        except RequestTimeoutError as exc:
            timed_out = type(exc).__name__
        deadline_after = time.monotonic() - began
        a.close()
        b.close()
        a, b = socket.socketpair()  # the abort shut the first pair down
        began = time.monotonic()
        with guard_socket(lambda: a, time.monotonic() + 0.3):
            try:  # shut down at the deadline: end of stream (or gevent's cancel_wait_ex,
                woken = a.recv(10) == b""  # an OSError: the waiter's own socket was shut)
            except OSError:
                woken = True
        guard_after = time.monotonic() - began
        a.close()
        b.close()
    finally:
        threading.Thread.start = original_start  # type: ignore[method-assign]
    return {"threads_for_quick_calls": threads_for_quick_calls, "timed_out": timed_out,
            "deadline_after_s": deadline_after, "guard_woke": woken,
            "guard_after_s": guard_after, "in_flight": group.in_flight,
            "patched": monkey.is_module_patched("threading")}


def case_close_all(url: str) -> dict[str, Any]:
    """The exit's safety net closes every open session at once: 20 sessions whose
    DisconnectParticipant takes 0.8 s each (the emulator's latency fault, armed by the test)
    close in about 0.8 s, not 16 s, and each still leaves the chat."""
    users = [make_user(url)[0] for _ in range(20)]
    gevent.joinall([gevent.spawn(u.connect) for u in users], raise_error=True)
    contacts = [u.chat_details.contact_id for u in users if u.chat_details]
    print("ARM", flush=True)
    sys.stdin.readline()  # the test armed the latency fault
    started = time.monotonic()
    closed = close_all_sessions()
    return {"closed": closed, "seconds": time.monotonic() - started, "contacts": contacts,
            "open_after": close_all_sessions()}


def case_freeze(url: str) -> dict[str, Any]:
    """test_start freezes the startup heap once per process, unless every ChatUser class of
    the run says not to; the users' own objects stay collectable."""
    import gc
    import weakref

    def start(**attrs: Any) -> int:
        environment = make_user(url, **attrs)[0].environment
        locust.events.test_start.fire(environment=environment)
        return gc.get_freeze_count()

    opted_out = start(freeze_heap_at_test_start=False)
    first = start()
    again = start()
    user, _ = make_user(url)
    user.connect()
    session = user.session
    assert session is not None
    ref = weakref.ref(session)
    user.on_stop()
    del session
    gc.collect()
    return {"opted_out": opted_out, "first": first, "again": again,
            "session_collected": ref() is None}


def case_freeze_chats(url: str) -> dict[str, Any]:
    """freeze_chats_after_spawning: the chats alive at spawning_complete are frozen; one that
    ends is kept until test_stop refreezes (then it is reclaimed). Off: nothing more frozen."""
    import gc
    import weakref

    def frozen(obj: object) -> bool:
        return not any(o is obj for o in gc.get_objects())

    user, _ = make_user(url)
    environment = user.environment
    thresholds = gc.get_threshold()
    locust.events.test_start.fire(environment=environment)  # freeze off by default
    user.connect()
    off_before = gc.get_freeze_count()
    locust.events.spawning_complete.fire(user_count=1)
    off_after = gc.get_freeze_count()
    off_thresholds = gc.get_threshold()

    user, _ = make_user(url, freeze_chats_after_spawning=True)
    environment = user.environment
    locust.events.test_start.fire(environment=environment)
    user.connect()
    session = user.session
    assert session is not None
    was_frozen = frozen(session)

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    cycle = Cycle()  # garbage only the collector reclaims, once frozen
    locust.events.spawning_complete.fire(user_count=1)
    now_frozen = frozen(session)
    held = gc.get_threshold()
    session_ref, cycle_ref = weakref.ref(session), weakref.ref(cycle)
    user.on_stop()
    del session, cycle
    gc.collect()
    cycle_kept = cycle_ref() is not None
    locust.events.test_stop.fire(environment=environment)
    return {"off_thresholds_kept": off_thresholds == thresholds,
            "full_collections_held": held == (*thresholds[:2], HELD_THRESHOLD),
            "thresholds_restored": gc.get_threshold() == thresholds,
            "off_frozen_more": off_after - off_before, "before_spawned": was_frozen,
            "after_spawned": now_frozen, "closed_session_freed": session_ref() is None,
            "cycle_kept_until_stop": cycle_kept, "cycle_reclaimed_at_stop": cycle_ref() is None}


def case_reuse_check(url: str) -> dict[str, Any]:
    """The pooled-connection reuse check asks the kernel without a turn of the hub's loop
    (gevent's ``select.poll`` waits one even for a zero timeout), and still tells a live
    connection from one the peer closed."""
    import socket

    from connect_chat import deadlines

    loop = gevent.get_hub().loop
    ours, peer = socket.socketpair()
    before = loop.iteration
    idle = deadlines._readable_now(ours)
    ours_turns = loop.iteration - before
    peer.close()
    hung_up = deadlines._readable_now(ours)
    before = loop.iteration
    from urllib3.util.wait import wait_for_read

    wait_for_read(ours, timeout=0.0)
    urllib3_turns = loop.iteration - before
    ours.close()
    pools = [*deadlines._botocore_pool_classes().values(),
             *deadlines._urllib3_pool_classes().values()]
    return {"idle_readable": idle, "hung_up_readable": hung_up, "turns": ours_turns,
            "urllib3_turns": urllib3_turns,
            "pools_use_it": all(pool.ConnectionCls.is_connected  # type: ignore[attr-defined]
                                is deadlines._WatchedConnection.is_connected for pool in pools)}


def main() -> None:
    name, url = sys.argv[1], sys.argv[2]
    result = globals()[f"case_{name}"](url)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
