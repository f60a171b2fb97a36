"""Run the benchmarks, print the table, write ``benchmarks/results/<time>.json``.

``python -m benchmarks`` runs everything at the sizes issue 7 names (about three minutes,
most of it the 500-session run with its 30 s idle window, done twice: SDK and baseline).
``--quick`` shrinks every size for a smoke run; ``--only latency,receipts`` picks some.
Exit status: 0 when every benchmark ran (targets missed or not), 1 when one failed to run,
2 with ``--strict`` when a target was missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.support import RESULTS_DIR, Outcome, Row, dump_json, machine

NAMES = ("latency", "throughput", "transcript", "sessions", "receipts", "import")
#: Locust runs (issue 15, several minutes): only with ``--only`` (``--only locust`` = all three).
LOCUST_NAMES = ("locust_chats", "locust_rampup", "locust_distributed")
ALL_NAMES = NAMES + LOCUST_NAMES


@dataclasses.dataclass
class Sizes:
    """How big each benchmark is (the defaults are the issue's)."""

    latency_messages: int = 500
    latency_chats: int = 4
    latency_warmup: int = 50
    frames: int = 20_000
    throughput_rounds: int = 5
    transcript_small: int = 100
    transcript_large: int = 20_000
    transcript_per_round: int = 200
    transcript_rounds: int = 10
    sessions: int = 500
    idle_seconds: float = 30.0
    connect_workers: int = 16
    receipt_messages: int = 100
    #: Receipt throttle window (``None``: the SDK's default, 5 s).
    receipt_window: float | None = None
    import_repeats: int = 7
    #: Chats held by one Locust process (each level: SDK, then baseline).
    locust_levels: tuple[int, ...] = (2000,)
    locust_steady: float = 40.0
    locust_ramp_chats: int = 1000
    locust_distributed_chats: int = 4000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            latency_messages=100, latency_chats=2, frames=2_000, throughput_rounds=2,
            transcript_large=2_000, transcript_per_round=100, transcript_rounds=4,
            sessions=20, idle_seconds=3.0, connect_workers=8, import_repeats=3,
            locust_levels=(200,), locust_steady=15.0, locust_ramp_chats=200,
            locust_distributed_chats=400,
        )

    @classmethod
    def tiny(cls) -> Sizes:
        """Just enough to see every benchmark run end to end (the smoke test)."""
        return cls(
            latency_messages=10, latency_chats=1, latency_warmup=2, frames=50,
            throughput_rounds=1, transcript_small=10, transcript_large=50,
            transcript_per_round=10, transcript_rounds=2, sessions=5, idle_seconds=0.5,
            connect_workers=4, receipt_messages=5, receipt_window=0.3, import_repeats=1,
            locust_levels=(10,), locust_steady=5.0, locust_ramp_chats=10,
            locust_distributed_chats=20,
        )


def _frames(sizes: Sizes, cache: dict[str, list[str]]) -> list[str]:
    """The recorded stream (recorded once per run, from an in-process emulator)."""
    if "frames" not in cache:
        from benchmarks.wire import record_frames
        from connect_chat.emulator import Emulator

        with Emulator() as emu:
            cache["frames"] = record_frames(emu, sizes.frames)
    return cache["frames"]


def _template(frames: list[str]) -> str:
    return next(f for f in frames if '\\"Type\\":\\"MESSAGE\\"' in f)


def run_one(name: str, sizes: Sizes, cache: dict[str, list[str]]) -> Outcome:
    from benchmarks import (
        bench_import,
        bench_latency,
        bench_locust,
        bench_receipts,
        bench_sessions,
        bench_throughput,
        bench_transcript,
    )

    runners: dict[str, Callable[[], Outcome]] = {
        "latency": lambda: bench_latency.run(
            sizes.latency_messages, sizes.latency_chats, sizes.latency_warmup
        ),
        "throughput": lambda: bench_throughput.run(
            _frames(sizes, cache), sizes.throughput_rounds
        ),
        "transcript": lambda: bench_transcript.run(
            _template(_frames(sizes, cache)),
            small=sizes.transcript_small,
            large=sizes.transcript_large,
            per_round=sizes.transcript_per_round,
            rounds=sizes.transcript_rounds,
        ),
        "sessions": lambda: bench_sessions.run(
            sizes.sessions, sizes.idle_seconds, sizes.connect_workers
        ),
        "receipts": lambda: bench_receipts.run(sizes.receipt_messages, sizes.receipt_window),
        "import": lambda: bench_import.run(sizes.import_repeats),
        "locust_chats": lambda: bench_locust.run_chats(sizes.locust_levels, sizes.locust_steady),
        "locust_rampup": lambda: bench_locust.run_rampup(sizes.locust_ramp_chats),
        "locust_distributed": lambda: bench_locust.run_distributed(
            sizes.locust_distributed_chats, sizes.locust_steady
        ),
    }
    started = time.perf_counter()
    try:
        outcome = runners[name]()
    except Exception as exc:
        outcome = Outcome(name, error=f"{type(exc).__name__}: {exc}")
        outcome.details["traceback"] = traceback.format_exc()
    outcome.details["seconds"] = time.perf_counter() - started
    return outcome


# --------------------------------------------------------------------------------------------
# Output


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _met(row: Row) -> str:
    return "" if row.met is None else ("yes" if row.met else "NO")


def table(outcomes: Sequence[Outcome]) -> str:
    """A plain-text table (also valid Markdown)."""
    head = ("benchmark", "metric", "connect-chat", "baseline", "ratio", "target", "met")
    lines: list[tuple[str, ...]] = []
    for outcome in outcomes:
        if outcome.error:
            lines.append((outcome.name, "ERROR", outcome.error[:60], "", "", "", "NO"))
        for row in outcome.rows:
            lines.append(
                (row.benchmark, row.metric, _fmt(row.sdk), _fmt(row.baseline),
                 _fmt(row.ratio), row.target, _met(row))
            )
    widths = [max(len(head[i]), *(len(line[i]) for line in lines)) if lines else len(head[i])
              for i in range(len(head))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(fmt(line) for line in lines)
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="connect-chat benchmarks: figures against a baseline in the same run",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (a short run)")
    size.add_argument("--tiny", action="store_true", help="minimal sizes (the smoke test)")
    parser.add_argument(
        "--only", default="",
        help=f"comma-separated subset of {','.join(ALL_NAMES)} ('locust': the last three)",
    )
    parser.add_argument("--locust-chats", type=int, nargs="+",
                        help="chats per Locust process in locust_chats (levels)")
    parser.add_argument("--sessions", type=int, help="sessions in the many-sessions run")
    parser.add_argument("--idle-seconds", type=float, help="idle window of the sessions run")
    parser.add_argument("--frames", type=int, help="frames in the recorded stream")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes.tiny() if args.tiny else Sizes.quick() if args.quick else Sizes()
    if args.sessions is not None:
        sizes.sessions = args.sessions
    if args.idle_seconds is not None:
        sizes.idle_seconds = args.idle_seconds
    if args.frames is not None:
        sizes.frames = args.frames
    if args.locust_chats:
        sizes.locust_levels = tuple(args.locust_chats)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    if "locust" in names:
        at = names.index("locust")
        names[at:at + 1] = [n for n in LOCUST_NAMES if n not in names]
    unknown = [n for n in names if n not in ALL_NAMES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL_NAMES)}",
              file=sys.stderr)
        return 2
    host = machine()
    print(
        f"machine: {host['nproc']} CPUs, {host['cpu_model']}, {host['memory']}, "
        f"Python {host['python']}, load {host['loadavg_at_start']}",
        flush=True,
    )
    cache: dict[str, list[str]] = {}
    outcomes: list[Outcome] = []
    for name in names:
        print(f"running {name}...", flush=True)
        outcomes.append(run_one(name, sizes, cache))
    print()
    print(table(outcomes))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kind = "tiny" if args.tiny else "quick" if args.quick else "full"
    path = args.output or RESULTS_DIR / f"{stamp}-{kind}.json"
    report: dict[str, Any] = {
        "when": stamp,
        "kind": kind,
        "sizes": dataclasses.asdict(sizes),
        "machine": host,
        "results": [o.to_json() for o in outcomes],
    }
    dump_json(report, path)
    print(f"\nwritten: {path}")
    if any(o.error for o in outcomes):
        return 1
    if args.strict and any(r.met is False for o in outcomes for r in o.rows):
        return 2
    return 0
