"""Starting and stopping: in-process and standalone, loopback only by default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from connect_chat.emulator import Emulator
from tests.emulator.conftest import Socket, connect_customer, make_acps


def test_stop_leaves_no_thread_or_socket() -> None:
    before = set(threading.enumerate())
    emu = Emulator()
    emu.start()
    port = emu.port
    acps = make_acps(emu.endpoint_url)
    customer = connect_customer(emu, acps)
    sock = Socket(customer.ws_url)
    emu.stop()
    emu.stop()  # idempotent
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.close()
    # The port can be bound again right away.
    with Emulator(port=port) as again:
        assert again.port == port


def test_non_loopback_refused() -> None:
    with pytest.raises(ValueError):
        Emulator(host="0.0.0.0")
    with pytest.raises(ValueError):
        Emulator(agent="grumpy")
    Emulator(host="0.0.0.0", allow_non_loopback=True)  # allowed when asked; not started


def test_port_in_use_raises() -> None:
    with Emulator() as first, pytest.raises(OSError):
        Emulator(port=first.port).start()


def test_control_api_needs_running_emulator() -> None:
    with pytest.raises(RuntimeError):
        Emulator().start_chat()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_standalone_prints_and_stops_on_signal(sig: signal.Signals) -> None:
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "connect_chat.emulator", "--port", str(port), "--agent", "echo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == f"listening on http://127.0.0.1:{port}"
        acps = make_acps(f"http://127.0.0.1:{port}")
        details = (
            __import__("requests")
            .post(f"http://127.0.0.1:{port}/emulator/contacts", json={}, timeout=5)
            .json()
        )
        acps.create_participant_connection(
            ParticipantToken=details["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"]
        )
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_main_reports_bad_host() -> None:
    from connect_chat.emulator import main

    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2


def test_failed_start_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    with Emulator() as first:
        blocked = Emulator(port=first.port)
        with pytest.raises(OSError):
            blocked.start()
        assert not blocked.running
    assert set(threading.enumerate()) - before == set()


def test_restart_after_stop() -> None:
    emu = Emulator()
    with emu:
        emu.start_chat()
    with emu:
        assert emu.contact_ids() == []  # a fresh service each time
        emu.start_chat()
