"""Open many chats at once and measure message round trips: a load script.

Each chat is a real ``ChatSession`` (its own WebSocket and two threads) that sends messages to
an echo agent and waits for each echo. Against the embedded emulator by default::

    python examples/load.py --chats 50 --messages 5

or against a standalone emulator started with an echo agent
(``connect-chat emulator --port 8000 --agent echo``)::

    python examples/load.py --endpoint-url http://127.0.0.1:8000

Prints one summary: chats that worked, round-trip latency percentiles, wall time. Exits 1 if
any chat failed. Do not point it at a production Amazon Connect instance.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import attrs

from connect_chat import (
    ChatDetails,
    ChatSession,
    ContentType,
    GlobalConfig,
    Message,
    TranscriptItem,
)
from connect_chat.errors import ConnectChatError


@attrs.define
class ChatResult:
    """One chat's outcome: round-trip times in seconds, or the error that stopped it."""

    round_trips: list[float] = attrs.field(factory=list)
    error: str | None = None


def echo_of(text: str) -> Callable[[TranscriptItem], bool]:
    """Matches the agent's echo of ``text``."""
    return lambda item: (
        isinstance(item, Message) and item.participant == "AGENT" and item.text == text
    )


def run_chat(
    start_chat: Callable[[], ChatDetails], endpoint_url: str, messages: int, timeout: float
) -> ChatResult:
    result = ChatResult()
    try:
        details = start_chat()
        with ChatSession(GlobalConfig(endpoint_url=endpoint_url)) as session:
            session.connect(details)
            for number in range(messages):
                text = f"load message {number}"
                started = time.monotonic()
                session.send_message(ContentType.PLAIN_TEXT, text)
                session.wait_for(echo_of(text), timeout=timeout)
                result.round_trips.append(time.monotonic() - started)
    except (ConnectChatError, TimeoutError) as error:
        result.error = f"{type(error).__name__}: {error}"
    return result


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=20, help="chats to open (default 20)")
    parser.add_argument("--messages", type=int, default=5, help="messages per chat (default 5)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="chats open at the same time (default: all)")
    parser.add_argument("--endpoint-url", help="a standalone emulator with an echo agent")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait per echo")
    args = parser.parse_args(argv)
    if args.chats < 1 or args.messages < 0:
        parser.error("--chats must be at least 1 and --messages at least 0")
    concurrency = args.concurrency or args.chats

    with ExitStack() as stack:
        if args.endpoint_url is None:
            from connect_chat.emulator import Emulator

            emulator = stack.enter_context(Emulator(agent="echo"))
            endpoint_url = emulator.endpoint_url

            def start_chat() -> ChatDetails:
                return emulator.start_chat(display_name="Load")
        else:
            from connect_chat.cli_contact import start_chat_contact

            endpoint_url = args.endpoint_url

            def start_chat() -> ChatDetails:
                return start_chat_contact(
                    instance_id="load", contact_flow_id="load", display_name="Load",
                    endpoint_url=endpoint_url, emulator_credentials=True,
                )

        peak_threads = threading.active_count()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
            futures = [
                pool.submit(run_chat, start_chat, endpoint_url, args.messages, args.timeout)
                for _ in range(args.chats)
            ]
            while not all(f.done() for f in futures):
                peak_threads = max(peak_threads, threading.active_count())
                time.sleep(0.05)
            results = [f.result() for f in futures]
        elapsed = time.monotonic() - started

    failed = [r for r in results if r.error is not None]
    trips = [t for r in results for t in r.round_trips]
    print(f"chats: {len(results) - len(failed)} ok, {len(failed)} failed "
          f"({concurrency} at a time)")
    print(f"messages: {len(trips)} round trips in {elapsed:.2f} s")
    if trips:
        print(
            "round trip: "
            f"p50 {percentile(trips, 0.5) * 1000:.1f} ms, "
            f"p95 {percentile(trips, 0.95) * 1000:.1f} ms, "
            f"max {max(trips) * 1000:.1f} ms, "
            f"mean {statistics.fmean(trips) * 1000:.1f} ms"
        )
    print(f"peak threads: {peak_threads}")
    for result in failed[:5]:
        print(f"failed: {result.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
