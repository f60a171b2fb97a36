"""`connect-chat emulator`: the standalone emulator behind the main command."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import requests

from connect_chat import cli


def test_it_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_chat.cli", "emulator", "--port", "0", "--agent", "echo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on http://127.0.0.1:"), first
        url = first.split("listening on ", 1)[1].strip()
        started = requests.put(
            f"{url}/contact/chat",
            json={"InstanceId": "i", "ContactFlowId": "f",
                  "ParticipantDetails": {"DisplayName": "Ann"}},
            timeout=10,
        )
        assert started.status_code == 200 and "ParticipantToken" in started.json()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_its_options_are_its_own(capsys: object) -> None:
    code = cli.main(["emulator", "--help"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "--port" in out and "--agent" in out


def test_a_bad_port_is_refused_in_one_line(capsys: object) -> None:
    code = cli.main(["emulator", "--port", "70000"], stdout=io.StringIO(), stderr=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "port" in err and "Traceback" not in err


def test_behaviour_and_origin_flags_reach_the_server() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_chat.cli", "emulator", "--port", "0",
         "--profile", "unusual", "--behaviour", "socket_drop=1000",
         "--behaviour", "answer_subscribe=true",
         "--control-allow-origin", "http://localhost:3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on http://127.0.0.1:"), first
        url = first.split("listening on ", 1)[1].strip()
        knobs = requests.get(f"{url}/emulator/behaviour", timeout=10).json()
        assert knobs["socket_drop"] == "1000" and knobs["answer_subscribe"] is True
        assert knobs["transcript_events"] == "all"  # from the profile
        allowed = requests.get(
            f"{url}/emulator/contacts", headers={"Origin": "http://localhost:3000"}, timeout=10
        )
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        other = requests.get(
            f"{url}/emulator/contacts", headers={"Origin": "http://localhost:4000"}, timeout=10
        )
        assert other.status_code == 403
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_a_bad_behaviour_flag_is_refused(capsys: object) -> None:
    code = cli.main(
        ["emulator", "--behaviour", "no_such_knob=1"], stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert code == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "unknown behaviour knob 'no_such_knob'" in err and "Traceback" not in err
    help_code = cli.main(["emulator", "--help"], stdout=io.StringIO(), stderr=io.StringIO())
    assert help_code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "--profile" in out and "--behaviour" in out and "--control-allow-origin" in out
