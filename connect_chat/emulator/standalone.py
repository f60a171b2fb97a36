"""``python -m connect_chat.emulator`` / ``connect-chat emulator``: run until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from connect_chat.emulator.server import Emulator


def build_parser(prog: str = "python -m connect_chat.emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Local Amazon Connect chat emulator")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--agent",
        choices=["echo"],
        default=None,
        help="'echo': an agent answers every customer message",
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding an address other than loopback",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        help="seconds of customer silence before participant.idle",
    )
    parser.add_argument(
        "--auto-disconnect-timeout",
        type=float,
        default=None,
        help="seconds before the idle customer is disconnected",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Serve until SIGINT or SIGTERM; prints ``listening on <url>`` once accepting.

    ``prog`` names the command in ``--help`` (e.g. ``connect-chat emulator``).
    """
    parser = build_parser(prog) if prog else build_parser()
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(
            agent=args.agent,
            host=args.host,
            port=args.port,
            allow_non_loopback=args.allow_non_loopback,
            idle_timeout=args.idle_timeout,
            auto_disconnect_timeout=args.auto_disconnect_timeout,
        )
        emulator.start()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"listening on {emulator.endpoint_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0
