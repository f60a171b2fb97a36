"""The quickstart in docs/quickstart.md runs as pasted."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def test_quickstart_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    before = set(threading.enumerate())
    exec(compile(code, str(DOC), "exec"), {"__name__": "__quickstart__"})
    out = capsys.readouterr().out
    assert "agent said: Hello!" in out
    assert "chat ended" in out
    assert set(threading.enumerate()) <= before
