"""Issue point 2: frames per second through the SDK's pipeline against a ``json.loads`` loop.

Both sides get the same pre-recorded stream (agent messages with a typing event every tenth
frame, as the emulator sent them). The SDK side does what the socket thread does with each
chat frame once it is read (decode the outer JSON for its topic, post it to the inbox) and
then runs the real dispatcher thread over the inbox: item parsing, transcript merge,
``on_message_received`` / ``on_transcript_updated`` / ``on_typing`` callbacks; the clock
covers both. The baseline decodes each frame and its ``content`` and nothing else.

Two SDK configurations: the default one (message receipts on: every incoming agent message
also requests an automatic, throttled Delivered receipt, as the session does) and receipts
off. Each runs ``rounds`` times, alternating with the baseline; the best round counts.
"""

from __future__ import annotations

import gc
import json
import time
from typing import Any

from benchmarks.pipeline import Callbacks, make_dispatcher, run_threaded
from benchmarks.support import Outcome, ratio

TARGET_FPS = 20_000.0
TARGET_RATIO = 0.25


def baseline_loop(frames: list[str]) -> int:
    """The baseline: decode each frame and its content (what every client must do at least)."""
    loads = json.loads
    seen = 0
    for text in frames:
        frame = loads(text)
        content = frame.get("content")
        if isinstance(content, str):
            loads(content)
            seen += 1
    return seen


def sdk_round(frames: list[str], receipts: bool) -> tuple[float, dict[str, int]]:
    counts = {"messages": 0, "updates": 0, "typing": 0}

    def on_message(item: Any) -> None:
        counts["messages"] += 1

    def on_update(data: Any) -> None:
        counts["updates"] += 1

    def on_typing(event: Any) -> None:
        counts["typing"] += 1

    dispatcher = make_dispatcher(
        Callbacks(
            on_message_received=on_message,
            on_transcript_updated=on_update,
            on_typing=on_typing,
        ),
        receipts=receipts,
    )
    gc.collect()
    start = time.perf_counter()
    run_threaded(dispatcher, frames)
    elapsed = time.perf_counter() - start
    counts["held"] = len(dispatcher.transcript)
    return elapsed, counts


def baseline_round(frames: list[str]) -> float:
    gc.collect()
    start = time.perf_counter()
    baseline_loop(frames)
    return time.perf_counter() - start


def run(frames: list[str], rounds: int = 5) -> Outcome:
    out = Outcome("throughput", params={"frames": len(frames), "rounds": rounds})
    times: dict[str, list[float]] = {"default": [], "receipts_off": [], "baseline": []}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        times["baseline"].append(baseline_round(frames))
        elapsed, counts = sdk_round(frames, receipts=True)
        times["default"].append(elapsed)
        elapsed, _ = sdk_round(frames, receipts=False)
        times["receipts_off"].append(elapsed)
    base_fps = len(frames) / min(times["baseline"])
    for key, label in (("default", "default config"), ("receipts_off", "receipts off")):
        sdk_fps = len(frames) / min(times[key])
        out.add(
            f"frames/s, {label}",
            sdk_fps,
            baseline=base_fps,
            ratio=ratio(sdk_fps, base_fps),
            target=f"sdk >= {TARGET_FPS:,.0f}/s, ratio >= {TARGET_RATIO}",
            met=sdk_fps >= TARGET_FPS and (ratio(sdk_fps, base_fps) or 0) >= TARGET_RATIO,
            unit="frames/s",
        )
        out.add(f"us/frame, {label}", 1e6 / sdk_fps, baseline=1e6 / base_fps, unit="us")
    out.details = {
        "sdk_seconds_default": times["default"],
        "sdk_seconds_receipts_off": times["receipts_off"],
        "baseline_seconds": times["baseline"],
        "callbacks_last_round": counts,
    }
    return out
