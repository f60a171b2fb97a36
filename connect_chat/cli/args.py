"""The command line of ``connect-chat``: the parser, and the checks argparse cannot make.

Global options come before the sub-command; ``connect-chat emulator`` hands everything after
its word to the emulator's own parser (:func:`command_word` finds it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from connect_chat._version import __version__


class UsageError(Exception):
    """Arguments that parse but make no sense together (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, so that ``--help`` works on every level."""
    parser = argparse.ArgumentParser(
        prog="connect-chat",
        description=(
            "Amazon Connect Chat from the terminal: a scripted demo, an interactive chat "
            "(against the embedded emulator or a real Amazon Connect instance), and the "
            "standalone emulator of the Participant Service."
        ),
    )
    parser.add_argument("--version", action="version", version=f"connect-chat {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the SDK's debug logs on stderr"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a whole scripted chat against the embedded emulator and print it live",
        description=(
            "Start the embedded emulator with a scripted agent and run a customer session "
            "through a real conversation: join, typing, messages both ways, receipts, an "
            "attachment sent and downloaded, an interactive list picker answered, and the "
            "agent ending the chat. The transcript is printed as it happens."
        ),
    )
    demo.add_argument(
        "--pace",
        type=non_negative_float,
        default=0.3,
        metavar="SECONDS",
        help="pause between the agent's steps (default: %(default)s)",
    )
    demo.add_argument("--no-color", action="store_true", help="plain text output")

    chat = commands.add_parser(
        "chat",
        help="chat interactively in the terminal",
        description=(
            "An interactive chat. By default against the embedded emulator with an echo "
            "agent; with --instance-id/--contact-flow-id/--region a real chat started through "
            "StartChatContact with your AWS credentials; with --participant-token a chat that "
            "was already started elsewhere. Type a line to send it; /attach PATH sends a "
            "file, /transcript reprints the chat, /quit disconnects."
        ),
    )
    chat.add_argument("--display-name", default="Customer", help="your name in the chat")
    real = chat.add_argument_group("a real Amazon Connect chat (StartChatContact)")
    real.add_argument("--instance-id", help="the Amazon Connect instance id")
    real.add_argument("--contact-flow-id", help="the contact flow that routes the chat")
    real.add_argument(
        "--region", help="the AWS region (default: your AWS configuration, else us-west-2)"
    )
    real.add_argument("--profile", help="the AWS profile whose credentials start the chat")
    join = chat.add_argument_group("an existing contact")
    join.add_argument(
        "--participant-token",
        help="join the contact this participant token belongs to (from StartChatContact)",
    )
    join.add_argument("--contact-id", help="the contact id, shown in the output only")
    chat.add_argument(
        "--endpoint-url",
        help=(
            "the Participant Service endpoint (for example a standalone emulator: "
            "http://127.0.0.1:8000); without --participant-token or --instance-id the chat "
            "is started on that endpoint's StartChatContact"
        ),
    )
    chat.add_argument("--no-color", action="store_true", help="plain text output")

    commands.add_parser(
        "emulator",
        add_help=False,
        help="run the standalone emulator (connect-chat emulator --help for its options)",
    )
    return parser


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more: {text!r}")
    return value


def command_word(argv: Sequence[str]) -> tuple[int, str | None]:
    """Where the sub-command is in ``argv`` (global options come before it)."""
    for index, word in enumerate(argv):
        if not word.startswith("-"):
            return index, word
    return len(argv), None


def validate_chat_args(args: argparse.Namespace) -> None:
    """Reject combinations that cannot mean anything, before anything is started."""
    real = args.instance_id is not None or args.contact_flow_id is not None
    if real and (args.instance_id is None or args.contact_flow_id is None):
        raise UsageError("--instance-id and --contact-flow-id go together")
    if real and args.participant_token is not None:
        raise UsageError("--participant-token joins an existing chat: it cannot be combined "
                         "with --instance-id/--contact-flow-id, which start a new one")
    for name in ("instance_id", "contact_flow_id", "participant_token", "display_name"):
        value = getattr(args, name)
        if value is not None and not value.strip():
            raise UsageError(f"--{name.replace('_', '-')} must not be empty")
    if args.endpoint_url is not None and not args.endpoint_url.startswith(
        ("http://", "https://")
    ):
        raise UsageError("--endpoint-url must start with http:// or https://")
    if not real and args.participant_token is None and (
        args.region is not None or args.profile is not None
    ) and args.endpoint_url is None:
        raise UsageError("--region/--profile apply to a real chat: add --instance-id and "
                         "--contact-flow-id (or --participant-token)")
