"""ChatUser's steps as Locust request events, and its behaviour under gevent.

Each scenario runs in a child process (``tests/locust/cases.py``): importing Locust patches
the standard library, which must not happen to the pytest process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connect_chat.emulator import Emulator
from tests.locust.support import run_case


@pytest.fixture(scope="module")
def echo() -> Iterator[Emulator]:
    with Emulator(agent="echo") as emulator:
        yield emulator


@pytest.fixture
def silent() -> Iterator[Emulator]:
    with Emulator() as emulator:  # no agent: nobody answers
        yield emulator


def test_each_step_is_one_chat_event_with_its_time_and_length(echo: Emulator) -> None:
    result = run_case("steps", echo.endpoint_url)
    events = result["events"]
    assert [e["name"] for e in events] == ["start_chat", "connect", "send", "reply", "disconnect"]
    assert all(e["type"] == "chat" and e["exception"] is None for e in events)
    assert all(e["time"] > 0 for e in events)
    assert events[2]["length"] == len("plain send")
    assert events[3]["length"] == len("echo me")
    assert result["sent_status"] == "Sent"
    assert result["answer"] == "echo me"
    assert result["session_after"] is True


def test_a_failed_reply_is_a_failure_with_its_exception_and_ends_the_task(
    silent: Emulator,
) -> None:
    result = run_case("failed_reply", silent.endpoint_url)
    reply = [e for e in result["events"] if e["name"] == "reply"]
    assert len(reply) == 1
    assert reply[0]["exception"] == "TimeoutError"
    assert "no matching answer within 0.3 s" in reply[0]["message"]
    assert reply[0]["time"] >= 300
    assert result["raised"] == {
        "type": "ChatStepFailed",
        "cause": "TimeoutError",
        "message": "reply failed: TimeoutError: no matching answer within 0.3 s",
    }
    assert result["open"] == 0  # on_stop closed the session
    assert silent.contact(silent.contact_ids()[0])["State"] == "ENDED"


def test_a_step_without_a_chat_is_a_reported_failure(echo: Emulator) -> None:
    result = run_case("no_chat", echo.endpoint_url)
    assert result["events"] == [{
        "type": "chat", "name": "no_chat", "time": 0.0, "length": 0,
        "exception": "ConnectionError", "message": "no chat: call connect() first",
    }]
    assert result["raised"] == "no chat: call connect() first"


def test_a_failing_chat_starter_is_a_start_chat_failure(echo: Emulator) -> None:
    result = run_case("failed_connect", echo.endpoint_url)
    assert [(e["name"], e["exception"]) for e in result["events"]] == [
        ("start_chat", "RuntimeError")
    ]
    assert result["raised"] == "start_chat failed: RuntimeError: the backend is down"
    assert result["session"] is True


def test_a_reconnect_is_its_own_entry(echo: Emulator) -> None:
    result = run_case("reconnect", echo.endpoint_url)
    names = [e["name"] for e in result["events"]]
    assert names.count("reconnect") == 1
    assert names[-1] == "reply"
    assert all(e["exception"] is None for e in result["events"])


def test_users_in_one_gevent_process_progress_while_one_callback_is_slow(
    echo: Emulator,
) -> None:
    result = run_case("slow_callback", echo.endpoint_url)
    assert result["patched"] is True
    assert result["failures"] == []
    assert result["rounds_each"] == [5] * result["users"]
    # The 19 other users finished 5 round trips each while the slow callback (2 s per item)
    # still held its own session, and no greenlet held the hub for 0.1 s or more.
    assert result["slow_send_done_after_s"] >= 2.0
    assert result["fast_done_after_s"] < result["slow_send_done_after_s"]
    assert result["fast_done_after_s"] < 1.9
    assert result["hub_blocked"] == 0


def test_idle_sessions_sleep_until_their_heartbeat_yet_close_at_once(echo: Emulator) -> None:
    result = run_case("idle_close", echo.endpoint_url)
    assert result["idle_wait"] == 10.0
    assert result["slowest_close_s"] < 1.0  # woken by the socket shutdown, not a timeout
    assert result["open"] == 0


def test_amazon_connect_starter_signs_with_the_callers_credentials(echo: Emulator) -> None:
    before = len(echo.calls("StartChatContact"))
    result = run_case("amazon_connect", echo.endpoint_url)
    assert result["without"] == [["start_chat", "NoCredentialsError"]]
    assert result["with"] == [["start_chat", None], ["connect", None]]
    calls = echo.calls("StartChatContact")[before:]
    assert len(calls) == 1
    assert "X-Amz-Date" in calls[0].headers  # SigV4-signed (the log keeps no Authorization)
    assert calls[0].body["InstanceId"] == "instance-1"
    assert calls[0].body["ContactFlowId"] == "flow-1"
    assert calls[0].body["ParticipantDetails"] == {"DisplayName": "Real"}


def test_users_share_one_botocore_client_yet_each_session_keeps_its_own_calls(
    echo: Emulator,
) -> None:
    result = run_case("session_client", echo.endpoint_url)
    assert result["session_clients"] and result["same_botocore"] and result["own_calls"]
    assert result["handlers_added"] == 0  # no per-session handler on the shared client
    assert result["others_reply"] == ["still here"] * 4


def test_deadlines_under_gevent_are_loop_timers_not_a_greenlet_per_call(
    echo: Emulator,
) -> None:
    """Each REST call and WebSocket open arms a deadline; under gevent a thread per call (a
    greenlet, and a Timeout per wait) was a visible share of a Locust process's CPU."""
    result = run_case("alarms", echo.endpoint_url)
    assert result["patched"]
    assert result["threads_for_quick_calls"] == 0
    assert result["timed_out"] == "RequestTimeoutError"
    assert 0.25 <= result["deadline_after_s"] < 5.0
    assert result["guard_woke"]
    assert 0.25 <= result["guard_after_s"] < 5.0
    assert result["in_flight"] == 0


def test_closing_all_sessions_at_exit_is_concurrent_and_bounded(echo: Emulator) -> None:
    """Closed one after another, the sessions of an overloaded worker held the process at
    exit for many minutes (each waiting for its DisconnectParticipant)."""
    import json
    import subprocess
    import sys

    from tests.locust.support import ROOT, child_env

    child = subprocess.Popen(
        [sys.executable, "-m", "tests.locust.cases", "close_all", echo.endpoint_url],
        cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ARM"
        echo.faults.latency(0.8, operations=["DisconnectParticipant"])
        child.stdin.write("go\n")
        child.stdin.flush()
        out, _ = child.communicate(timeout=60)
    finally:
        echo.faults.clear()
        if child.poll() is None:
            child.kill()
    result = json.loads(next(line for line in out.splitlines()
                             if line.startswith("RESULT "))[len("RESULT "):])
    assert result["closed"] == 20 and result["open_after"] == 0
    assert result["seconds"] < 8.0, result["seconds"]  # one at a time: 20 x 0.8 s = 16 s
    for contact_id in result["contacts"]:
        assert echo.calls("DisconnectParticipant", contact_id), contact_id


def test_test_start_freezes_the_startup_heap_once_and_sessions_stay_collectable(
    echo: Emulator,
) -> None:
    """Full collections walked the whole startup heap (~130,000 objects): a quarter of a
    1,000-chat ramp-up, and pauses every user of the process saw."""
    result = run_case("freeze", echo.endpoint_url)
    assert result["opted_out"] == 0
    assert result["first"] > 10_000  # Locust, gevent, botocore and the SDK are frozen
    assert result["again"] <= result["first"]  # once per process (frozen objects still die)
    assert result["session_collected"]


def test_the_pooled_connection_check_takes_no_turn_of_the_hub(echo: Emulator) -> None:
    """Every REST call on a pooled connection asks whether the peer hung up; through
    gevent's ``select.poll`` that waited a whole turn of the hub's loop, behind everything
    ready in the process (a quarter of the waits seen in sends at 2,000 chats)."""
    result = run_case("reuse_check", echo.endpoint_url)
    assert result["urllib3_turns"] >= 1  # what urllib3's own check costs under gevent
    assert result["turns"] == 0
    assert result["pools_use_it"] is True  # the SDK's botocore and requests pools
    assert result["idle_readable"] is False
    assert result["hung_up_readable"] is True


def test_chats_frozen_after_spawning_are_reclaimed_when_the_test_stops(echo: Emulator) -> None:
    """Full passes over 1,000 chats took up to ~300 ms, the tail of every reply measured;
    freezing the chats once all are started keeps them out, until test_stop."""
    result = run_case("freeze_chats", echo.endpoint_url)
    assert result["off_frozen_more"] == 0  # off by default: spawning_complete freezes nothing
    assert result["before_spawned"] is False
    assert result["after_spawned"] is True
    assert result["closed_session_freed"] is True  # a closed chat holds no cycle of its own
    assert result["cycle_kept_until_stop"] is True  # the documented price, for cyclic garbage
    assert result["cycle_reclaimed_at_stop"] is True
    # With the heap frozen, CPython's full passes came every ~10 s at 2,000 chats (its
    # quarter-of-the-oldest-generation rule counts only what is not frozen): held off from
    # spawning_complete to test_stop, the thresholds as they were before and after.
    assert result["off_thresholds_kept"] is True
    assert result["full_collections_held"] is True
    assert result["thresholds_restored"] is True
