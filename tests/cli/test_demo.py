"""`connect-chat demo`: a whole scripted chat, printed live, exits 0 in a few seconds."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from connect_chat import cli
from connect_chat.cli import demo
from connect_chat.cli.render import ChatPrinter

EXPECTED_IN_ORDER = [
    "[connected]",
    "-- Sam (agent) joined the chat",
    "Sam (agent) is typing...",
    "Sam (agent): Hi Ann, I'm Sam. How can I help you today?",
    'vv Ann read: "Hi Ann, I\'m Sam.',
    "Ann: Hi Sam! My parcel hasn't arrived yet.",
    "v  delivered to the agent: \"Hi Sam! My parcel hasn't arrived yet.\"",
    "vv read by the agent: \"Hi Sam! My parcel hasn't arrived yet.\"",
    "Sam (agent): Sorry to hear that! Could you send me your receipt?",
    "] 100% 1.4 KiB / 1.4 KiB",
    "Ann sent a file: receipt.txt",
    "Sam (agent) sent a file: shipping-label.pdf",
    "[Ann downloaded shipping-label.pdf (57 B)]",
    "[ListPicker] When should we deliver it again?  1) Tomorrow morning  2) Tomorrow afternoon",
    "Ann: Tomorrow afternoon",
    "Ann: No, that's all. Thank you!",
    "Sam (agent): You're welcome, have a nice day!",
    "-- the chat has ended --",
    "chat ended: yes]",
]


def test_the_demo_runs_a_whole_chat_and_prints_it_in_order() -> None:
    before = set(threading.enumerate())
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["demo", "--pace", "0"], stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 0, err.getvalue() + text
    position = 0
    for expected in EXPECTED_IN_ORDER:
        found = text.find(expected, position)
        assert found >= 0, f"{expected!r} missing (or out of order) in:\n{text}"
        position = found + len(expected)
    assert err.getvalue() == ""
    assert "\x1b[" not in text  # no colors when the output is not a terminal
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []


def test_each_message_is_printed_once() -> None:
    out = io.StringIO()
    assert cli.main(["demo", "--pace", "0"], stdout=out, stderr=io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    assert sum("Ann: Hi Sam! My parcel" in line for line in lines) == 1
    assert sum("sent a file: receipt.txt" in line for line in lines) == 1


def test_a_step_that_never_happens_fails_with_a_clear_error(tmp_path: Path) -> None:
    printer = ChatPrinter(io.StringIO())
    recorder = demo.Recorder(printer)
    stuck = demo.Demo(
        session=None,  # type: ignore[arg-type]
        agent=None,  # type: ignore[arg-type]
        printer=printer,
        recorder=recorder,
        workdir=tmp_path,
        pace=0,
        timeout=0.05,
    )
    with pytest.raises(demo.DemoError, match="stuck waiting for the agent to wave"):
        stuck.expect("the agent to wave", lambda item: False)
    assert cli.describe_error(demo.DemoError("x")) == "x"


def test_a_reader_that_stops_early_ends_the_output_quietly() -> None:
    """`connect-chat demo | head -3`: exit 0, no BrokenPipeError on stderr."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "connect_chat.cli", "demo", "--pace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    assert first.startswith("connect-chat demo")
    process.stdout.close()  # the reader goes away
    try:
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0
    assert process.stderr.read() == ""
