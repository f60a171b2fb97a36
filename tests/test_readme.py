"""The README gets a new user to the point: short, runnable, and the rest one link away."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_reads_in_two_minutes() -> None:
    assert len(README.splitlines()) <= 150
    assert len(README.encode("utf-8")) <= 9_000
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    assert len(prose.split()) <= 800  # ~250 words a minute, plus the code


def test_the_readme_starts_with_what_it_is_then_the_fresh_machine_commands() -> None:
    titles = re.findall(r"^## (.+)$", README, re.M)
    assert titles[:3] == ["On a fresh machine", "Installing", "Quickstart"]


def test_the_readme_links_the_docs_a_user_needs_and_every_link_resolves() -> None:
    links = set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README))
    for page in ("api", "features", "emulator", "reliability", "resume", "testing",
                 "load-testing", "performance", "cli", "quickstart"):
        assert f"docs/{page}.md" in links, page
    assert "docs/api.md#callbacks-and-their-threads" in README
    assert "docs/api.md#configuration" in README
    for link in links:
        assert (ROOT / link).exists(), link


def test_the_performance_section_is_a_summary_and_the_tables_are_in_the_docs() -> None:
    summary = section(README, "Performance")
    assert "|---" not in summary and len(summary.strip().splitlines()) <= 8
    assert "(docs/performance.md)" in summary
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert "## Results" in performance and "| latency    | p50 (ms)" in performance
    assert "## What was changed to meet the targets" in performance
    assert "BEGIN PERFORMANCE" not in README


def test_the_readme_quickstart_runs_as_pasted(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.findall(r"```python\n(.*?)```", section(README, "Quickstart"), re.S)[0]
    before = set(threading.enumerate())
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "agent said: Hello!" in out
    assert set(threading.enumerate()) <= before
