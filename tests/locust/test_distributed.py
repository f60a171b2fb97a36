"""A headless distributed run of examples/locustfile.py: one master, two worker processes.

About 50 users for about 20 s against an emulator with an echo agent. The run ends with zero
failures, the CSV holds every named step with its count, and a worker killed mid-run is
reported missing by the master while the other finishes cleanly. Every process is in its own
process group, killed in ``finally`` whatever happens.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_chat.emulator import Emulator
from tests.locust.support import ROOT, child_env, free_port

LOCUSTFILE = ROOT / "examples" / "locustfile.py"
STEPS = ("start_chat", "connect", "greet", "ask", "agent_joined", "send_attachment",
         "goodbye", "disconnect")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(agent="echo", max_ended_contacts=10_000) as emu:
        yield emu


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *argv],
            cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_text(log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {log.name} within {timeout} s:\n{log.read_text()}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_master_and_two_workers_run_clean_and_report_a_killed_worker(
    emulator: Emulator, tmp_path: Path
) -> None:
    port = free_port()
    master_log, csv_prefix = tmp_path / "master.log", tmp_path / "run"
    master = _spawn([
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", "2", "--expect-workers-max-wait", "30", "--headless",
        "-u", "50", "-r", "25", "-t", "20s", "--csv", str(csv_prefix),
        "--host", emulator.endpoint_url, "--think-time", "0.2", "--stop-timeout", "5",
    ], master_log)
    workers = [
        _spawn(["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
               tmp_path / f"worker{n}.log")
        for n in (1, 2)
    ]
    try:
        _wait_for_text(master_log, "All users spawned", timeout=40)
        _wait_for_text(master_log, "(50 total users)", timeout=5)
        deadline = time.monotonic() + 20
        while len(emulator.calls("DisconnectParticipant")) < 20:  # chats completed meanwhile
            assert time.monotonic() < deadline, "no chat completed"
            time.sleep(0.1)
        _kill_group(workers[0])
        master.wait(60)
        log = master_log.read_text(errors="replace")
        assert "setting state to missing" in log, log
        assert master.returncode == 0, log
        assert workers[1].wait(30) == 0, (tmp_path / "worker2.log").read_text()
    finally:
        for process in (*workers, master):
            _kill_group(process)

    with open(f"{csv_prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    for step in STEPS:
        assert step in rows, f"{step} missing from the CSV: {sorted(rows)}"
        assert rows[step]["Type"] == "chat"
        assert int(rows[step]["Request Count"]) > 0
        assert int(rows[step]["Failure Count"]) == 0
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    failures = Path(f"{csv_prefix}_failures.csv").read_text().strip().splitlines()
    assert failures[1:] == []
