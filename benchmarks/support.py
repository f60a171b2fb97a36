"""What every benchmark shares: result rows, statistics, process metrics, the machine, and an
emulator running in its own process.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Where the JSON results go (gitignored).
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    """One figure: the SDK's value, the baseline's, their ratio, and the target it must meet.

    ``met`` is ``None`` for figures without a target (context only).
    """

    benchmark: str
    metric: str
    sdk: float | None
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    unit: str = ""


@dataclass
class Outcome:
    """What one benchmark produced: its rows, its parameters and free-form details."""

    name: str
    rows: list[Row] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def add(self, metric: str, sdk: float | None, **kwargs: Any) -> Row:
        row = Row(benchmark=self.name, metric=metric, sdk=sdk, **kwargs)
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------------------------
# Process metrics


def rss_bytes() -> int:
    """Resident set size of this process now (``VmRSS`` from /proc, else ru_maxrss)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def thread_count() -> int:
    return threading.active_count()


# --------------------------------------------------------------------------------------------
# The machine


def _lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    kib = int(line.split()[1])
                    return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _loadavg() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on (``nproc``, CPU model, memory, Python, load)."""
    import botocore
    import websocket

    return {
        "nproc": os.cpu_count(),
        "cpu_model": _lscpu_model(),
        "memory": _memory_total(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "botocore": botocore.__version__,
        "websocket_client": websocket.__version__,
        "loadavg_at_start": _loadavg(),
    }


# --------------------------------------------------------------------------------------------
# An emulator in its own process (so its CPU does not count against the SDK's)

_LISTENING = re.compile(r"listening on (http://\S+)")


class EmulatorProcess:
    """``python -m connect_chat.emulator --port 0`` as a child process; ``url`` once ready."""

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "connect_chat.emulator", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        found: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                match = _LISTENING.search(line)
                if match and not found:
                    found.append(match.group(1))
                    done.set()
            done.set()

        threading.Thread(target=read, name="bench-emulator-stdout", daemon=True).start()
        if not done.wait(self._startup_timeout) or not found:
            self.stop()
            raise RuntimeError("the emulator process did not start")
        self.url = found[0]

    def cpu_seconds(self) -> float | None:
        """User+system CPU seconds of the emulator process so far (Linux /proc)."""
        if self._proc is None:
            return None
        try:
            with open(f"/proc/{self._proc.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Small helpers


class Stopwatch:
    """Wall and CPU (this process) time of a block: ``with Stopwatch() as sw: ...``."""

    wall = 0.0
    cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dump_json(data: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
