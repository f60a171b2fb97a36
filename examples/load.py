"""One-command load test on one machine: a thin wrapper around Locust and examples/locustfile.py.

Locust is the load engine (``pip install 'connect-chat[locust]'``); this script only starts an
embedded emulator with an echo agent when no ``--endpoint-url`` is given, then runs::

    locust -f examples/locustfile.py --headless -u USERS -r RATE -t TIME --host URL

and exits with Locust's status (1 if any step failed). Examples::

    python examples/load.py --users 50 --run-time 30s
    python examples/load.py --endpoint-url http://127.0.0.1:8000 --users 200 --processes 2

Arguments after ``--`` go to Locust as they are (``-- --csv out --html report.html``). For
more machines, the web UI or real instances, see docs/load-testing.md. Never point it at a
production Amazon Connect instance.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")


def locust_command(args: argparse.Namespace, host: str, extra: Sequence[str]) -> list[str]:
    """The ``locust`` command line for these options."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate or args.users), "-t", args.run_time,
        "--host", host, "--think-time", str(args.think_time),
        "--reply-timeout", str(args.reply_timeout), "--only-summary",
    ]
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    return command + list(extra)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent chats (default 20)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: all)")
    parser.add_argument("--run-time", default="30s", help="how long (default 30s)")
    parser.add_argument("--processes", type=int, default=1, help="Locust worker processes")
    parser.add_argument("--think-time", type=float, default=0.5, help="seconds between steps")
    parser.add_argument("--reply-timeout", type=float, default=30.0,
                        help="seconds to wait for an answer before the step fails")
    parser.add_argument("--endpoint-url", help="a running emulator with an echo agent")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    with ExitStack() as stack:
        host = args.endpoint_url
        if host is None:
            from connect_chat.emulator import Emulator

            host = stack.enter_context(Emulator(agent="echo")).endpoint_url
        return subprocess.run(locust_command(args, host, extra), check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
