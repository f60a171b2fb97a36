"""``python -m connect_chat.emulator`` / ``connect-chat emulator``: run until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from connect_chat.emulator.behaviour import PROFILES, Behaviour, knobs, parse_assignment, profile
from connect_chat.emulator.server import Emulator
from connect_chat.emulator.settings import Settings, settings_from

#: Settings set by a flag of their own (the flag's value is ``None`` when not given).
_SETTING_FLAGS = (
    "agent",
    "idle_timeout",
    "auto_disconnect_timeout",
    "max_socket_lifetime",
    "socket_lifetime_close_code",
    "max_call_records",
    "max_ended_contacts",
)


def build_parser(prog: str = "python -m connect_chat.emulator") -> argparse.ArgumentParser:
    defaults = Settings()
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
    parser.add_argument(
        "--max-socket-lifetime",
        type=float,
        default=None,
        metavar="SECONDS",
        help="close each chat WebSocket once it has been open this long (default: never)",
    )
    parser.add_argument(
        "--socket-lifetime-close-code",
        type=int,
        metavar="CODE",
        help="close code sent when a socket reaches its lifetime "
        f"(default {defaults.socket_lifetime_close_code})",
    )
    parser.add_argument(
        "--max-call-records",
        type=int,
        metavar="N",
        help="request log size; oldest records dropped first "
        f"(default {defaults.max_call_records})",
    )
    parser.add_argument(
        "--max-ended-contacts",
        type=int,
        metavar="N",
        help="ended chats kept; the oldest ended is forgotten first "
        f"(default {defaults.max_ended_contacts})",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="behaviour profile where the service reference leaves things open "
        "(default: 'default')",
    )
    parser.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        type=_assignment,
        help="set one behaviour knob (repeatable; applied after --profile), e.g. "
        f"socket_drop=1011. Knobs: {', '.join(knobs())}",
    )
    parser.add_argument(
        "--control-allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let this browser origin (e.g. http://localhost:3000) drive the control "
        "API /emulator/... (repeatable)",
    )
    return parser


def _assignment(text: str) -> tuple[str, object]:
    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings the parsed command line describes (the defaults where a flag is absent)."""
    options: dict[str, object] = {
        name: getattr(args, name) for name in _SETTING_FLAGS if getattr(args, name) is not None
    }
    options["behaviour"] = Behaviour.from_mapping(
        dict(args.behaviour), profile(args.profile or "default")
    )
    options["control_allowed_origins"] = args.control_allow_origin
    return settings_from(None, options, caller="the command line")


def emulator_from_args(args: argparse.Namespace) -> Emulator:
    """The (not yet started) emulator the parsed command line describes."""
    return Emulator(
        host=args.host,
        port=args.port,
        settings=settings_from_args(args),
        allow_non_loopback=args.allow_non_loopback,
    )


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Serve until SIGINT or SIGTERM; prints ``listening on <url>`` once accepting.

    ``prog`` names the command in ``--help`` (e.g. ``connect-chat emulator``).
    """
    parser = build_parser(prog) if prog else build_parser()
    args = parser.parse_args(argv)
    try:
        emulator = emulator_from_args(args)
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
