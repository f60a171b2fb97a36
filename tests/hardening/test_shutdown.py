"""Shutdown: prompt from any thread and any state, nothing left behind, exit never hangs.

Issue 8, point 4. "Returns within 2 s" is checked as a deadline, never as a measured time:
the call runs on a helper thread and the test fails if it has not returned when a 2 s
``Event.wait`` runs out (a hang fails the test instead of hanging the suite).
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from connect_chat import AWSClient, ChatSession, GlobalConfig
from tests.conftest import connected_session, sdk_threads, wait_until
from tests.hardening.support import capture_logs, open_fds, returns_within

BOUND = 2.0  # the bound for disconnect()/reset()/context exit


def _exit_context(session: ChatSession) -> None:
    session.__exit__(None, None, None)


STOPS: dict[str, Callable[[ChatSession], None]] = {
    "disconnect": ChatSession.disconnect,
    "reset": ChatSession.reset,
    "context exit": _exit_context,
}


@pytest.mark.parametrize("how", list(STOPS))
def test_stop_from_the_main_thread_returns_within_bound(emu: Any, how: str) -> None:
    with connected_session(emu, details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        returns_within(lambda: STOPS[how](session), BOUND, how)
        assert not sdk_threads()
        assert not session.is_chat_session_active()


@pytest.mark.parametrize("how", ["disconnect", "reset"])
def test_stop_from_a_callback_returns_within_bound(emu: Any, how: str) -> None:
    started, returned = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def on_message(item: Any) -> None:
        if getattr(item, "text", None) != "stop now" or started.is_set():
            return
        started.set()
        try:
            STOPS[how](session)
        except BaseException as exc:
            failure.append(exc)
        returned.set()

    with connected_session(emu, details=emu.start_chat(display_name="Ann"),
                           on_message_received=on_message) as chat:
        session, agent = chat.session, chat.agent
        agent.join(display_name="Sam")
        agent.send_message("stop now")
        assert started.wait(10), "the callback never ran"
        assert returned.wait(BOUND), f"{how}() from a callback did not return within {BOUND} s"
        assert not failure
        wait_until(lambda: not sdk_threads(), timeout=5, what="threads to end")
        assert not session.is_chat_session_active()


@pytest.mark.parametrize("how", ["disconnect", "reset"])
def test_stop_from_a_callback_while_the_inbox_is_full(emu: Any, config: GlobalConfig,
                                                      how: str) -> None:
    calling, returned = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def on_message(item: Any) -> None:
        if getattr(item, "text", None) != "burst 0" or calling.is_set():
            return
        try:
            wait_until(lambda: session.stats.inbox_overflows > 0, timeout=20,
                       what="the inbox to overflow")
            calling.set()
            STOPS[how](session)
        except BaseException as exc:
            failure.append(exc)
        finally:
            calling.set()
            returned.set()

    with connected_session(emu, attrs.evolve(config, inbox_size=16),
                           details=emu.start_chat(display_name="Ann")) as chat:
        session, agent = chat.session, chat.agent
        session.on_message_received = on_message
        agent.join(display_name="Sam")
        for n in range(40):
            try:
                agent.send_message(f"burst {n}")
            except ValueError:  # the callback already left the chat: it ended
                break
        assert calling.wait(30), "the callback never got to stop the session"
        assert returned.wait(BOUND), f"{how}() with a full inbox did not return within {BOUND} s"
        assert not failure, failure
        wait_until(lambda: not sdk_threads(), timeout=5, what="threads to end")


@pytest.mark.parametrize("how", list(STOPS))
def test_stop_while_a_reconnect_backoff_waits(emu: Any, config: GlobalConfig,
                                              how: str) -> None:
    slow = attrs.evolve(config, reconnect_first_delay=60.0, reconnect_backoff_base=60.0,
                        reconnect_backoff_cap=60.0, reconnect_backoff_jitter=0.0)
    broken = threading.Event()
    with connected_session(emu, slow, details=emu.start_chat(display_name="Ann"),
                           on_connection_broken=broken.set) as chat:
        session, details = chat.session, chat.details
        emu.faults.drop_websockets(details.contact_id)
        assert broken.wait(10), "the dropped socket was not noticed"
        returns_within(lambda: STOPS[how](session), BOUND, f"{how} during backoff")
        assert not sdk_threads(), "a thread outlived the stop"
        assert len(emu.calls("CreateParticipantConnection", details.contact_id)) == 1


@pytest.mark.parametrize("how", ["disconnect", "context exit"])
def test_disconnect_does_not_hang_on_an_unanswering_service(emu: Any, config: GlobalConfig,
                                                            how: str) -> None:
    """A network outage is when reconnect backoffs wait -- and when DisconnectParticipant
    hangs: ``disconnect()`` must still return in time, ending the session locally."""
    release = threading.Event()

    class Hanging(AWSClient):
        def disconnect_participant_connection(self, *args: Any, **kwargs: Any) -> None:
            release.wait(30)

    session = ChatSession(attrs.evolve(config, custom_aws_client=Hanging))
    try:
        session.connect(emu.start_chat(display_name="Ann"))
        with capture_logs() as logs:
            returns_within(lambda: STOPS[how](session), BOUND, f"{how} with a hung service")
        assert not sdk_threads()
        assert not session.is_chat_session_active()
        assert logs.matching("connect_chat", level=logging.WARNING,
                             contains="DisconnectParticipant")
    finally:
        release.set()


def test_stop_while_reconnect_attempts_keep_failing(emu: Any) -> None:
    broken = threading.Event()
    with connected_session(emu, details=emu.start_chat(display_name="Ann"),
                           on_connection_broken=broken.set) as chat:
        session, details = chat.session, chat.details
        emu.faults.http_errors(status=500, rate=1.0, operations=["CreateParticipantConnection"])
        emu.faults.drop_websockets(details.contact_id)
        assert broken.wait(10)
        wait_until(lambda: len(emu.calls("CreateParticipantConnection", details.contact_id)) >= 3,
                   timeout=10, what="failing reconnect attempts")
        returns_within(session.reset, BOUND, "reset while reconnecting fails")
        emu.faults.clear()
        assert not sdk_threads()


#: Threads the in-process emulator may start lazily (its event loop's executor).
EMULATOR_POOL_PREFIXES = ("asyncio_", "ThreadPoolExecutor")


def _snapshot() -> tuple[set[str], set[str]]:
    gc.collect()
    names = {t.name for t in threading.enumerate()
             if not t.name.startswith(EMULATOR_POOL_PREFIXES)}
    return names, open_fds()


def test_a_hundred_cycles_leave_no_thread_socket_or_file(emu: Any, config: GlobalConfig) -> None:
    """connect/stop 100 times (all three ways): threads and fds come back to the baseline."""
    session = ChatSession(config)
    ways = list(STOPS.values())

    def cycle(n: int) -> None:
        chat = session if n % 3 != 2 else ChatSession(config)
        chat.connect(emu.start_chat(display_name=f"cycle {n}"))
        ways[n % 3](chat)

    for n in range(3):  # warm up: botocore's pool, emulator keep-alive sockets
        cycle(n)
    wait_until(lambda: not sdk_threads(), timeout=5)
    threads_before, fds_before = _snapshot()
    for n in range(100):
        cycle(n)
    assert not sdk_threads(), "a stop returned with the session's threads still running"

    def back_to_baseline() -> bool:
        threads, fds = _snapshot()
        return threads <= threads_before and len(fds) <= len(fds_before)

    try:
        wait_until(back_to_baseline, timeout=10, what="threads and fds back to baseline")
    finally:
        threads, fds = _snapshot()
        extra = sorted(fds - fds_before)
        assert threads <= threads_before, sorted(threads - threads_before)
        assert len(fds) <= len(fds_before), f"leaked fds: {extra}"


CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from connect_chat import ChatDetails, ChatSession, GlobalConfig

    endpoint, token, contact, mode = sys.argv[1:5]
    config = GlobalConfig(endpoint_url=endpoint, heartbeat_interval=0.5,
                          socket_poll_interval=0.05, reconnect_first_delay=60.0,
                          reconnect_backoff_base=60.0, reconnect_backoff_cap=60.0)
    session = ChatSession(config)
    broken = threading.Event()
    in_callback = threading.Event()
    session.on_connection_broken = broken.set

    def stuck(item):
        in_callback.set()
        time.sleep(600)  # a callback that never returns in time

    session.connect(ChatDetails(participant_token=token, contact_id=contact))
    if mode == "stuck-callback":
        session.on_message_received = stuck
    print("connected", flush=True)
    if mode == "backoff":
        assert broken.wait(20)
        print("in backoff", flush=True)
    if mode == "stuck-callback":
        assert in_callback.wait(20)
        print("in callback", flush=True)
    # leave without disconnect(): the interpreter must still exit at once
    """
)


@pytest.mark.parametrize("mode", ["connected", "backoff", "stuck-callback"])
def test_interpreter_exit_never_hangs_on_our_threads(emu: Any, mode: str) -> None:
    details = emu.start_chat(display_name="Ann")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, emu.endpoint_url, details.participant_token,
         details.contact_id, mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.extend(iter(child.stdout.readline, "")),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        wait_until(lambda: "connected\n" in lines or child.poll() is not None, timeout=30,
                   what="the child to connect")
        if mode == "backoff":
            emu.faults.drop_websockets(details.contact_id)
            wait_until(lambda: "in backoff\n" in lines or child.poll() is not None,
                       timeout=30, what="the child to wait in backoff")
        if mode == "stuck-callback":
            agent = emu.agent(details.contact_id)
            agent.join(display_name="Sam")
            wait_until(lambda: "in callback\n" in lines or child.poll() is not None,
                       timeout=30, what="the child's callback to start")
        try:
            code = child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the interpreter did not exit ({mode}); stdout={lines}")
        assert code == 0, child.stderr.read() if child.stderr else code
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
