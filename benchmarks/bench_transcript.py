"""Issue point 3: the cost of one incoming message with 100 items held against 20,000 held.

In each round, two fresh dispatchers are filled with ``small`` and ``large`` agent messages
(frames derived from a recorded one: same shape, new ids and times), with
``on_message_received`` and ``on_transcript_updated`` set; the latter reads what a UI reads
(the length and the newest item). Then both take the same ``per_round`` newer messages, in
alternating order, timed per message on the calling thread. The figure is the median
per-message cost at each size; the ratio large/small must stay flat (no O(n) work per
message).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from benchmarks.pipeline import Callbacks, feed_inline, make_dispatcher
from benchmarks.support import Outcome, median, ratio
from benchmarks.wire import derive_message_frames

TARGET_RATIO = 1.5
START_MS = 1_700_000_000_000


def _dispatcher(held_frames: list[str]) -> tuple[Any, dict[str, int]]:
    seen = {"messages": 0, "updates": 0, "length": 0}

    def on_message(item: Any) -> None:
        seen["messages"] += 1

    def on_update(data: Any) -> None:
        view = data.transcript_list
        seen["updates"] += 1
        seen["length"] = len(view)
        if view:
            _ = view[-1].id

    dispatcher = make_dispatcher(
        Callbacks(on_message_received=on_message, on_transcript_updated=on_update)
    )
    feed_inline(dispatcher, held_frames)
    return dispatcher, seen


def run(template: str, small: int = 100, large: int = 20_000, per_round: int = 200,
        rounds: int = 10) -> Outcome:
    out = Outcome(
        "transcript",
        params={"small": small, "large": large, "per_round": per_round, "rounds": rounds},
    )
    held_frames = derive_message_frames(template, large, START_MS, "held")
    incoming = derive_message_frames(template, per_round, START_MS + large + 1000, "new")
    costs: dict[int, list[float]] = {small: [], large: []}
    seen: dict[int, dict[str, int]] = {}
    for r in range(rounds):
        order = [small, large] if r % 2 == 0 else [large, small]
        for held in order:
            dispatcher, seen[held] = _dispatcher(held_frames[-held:])
            gc.collect()
            start = time.perf_counter()
            feed_inline(dispatcher, incoming)
            costs[held].append((time.perf_counter() - start) / per_round)
    small_us = median(costs[small]) * 1e6
    large_us = median(costs[large]) * 1e6
    flat = ratio(large_us, small_us)
    out.add(
        f"us/message held {large:,} vs {small:,}",
        large_us,
        baseline=small_us,
        ratio=flat,
        target=f"ratio <= {TARGET_RATIO}",
        met=flat is not None and flat <= TARGET_RATIO,
        unit="us",
    )
    out.details = {
        "us_per_message_small_rounds": [c * 1e6 for c in costs[small]],
        "us_per_message_large_rounds": [c * 1e6 for c in costs[large]],
        "callbacks_last_round": {"small": seen[small], "large": seen[large]},
    }
    return out
