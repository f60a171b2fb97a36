"""Running ``connect-chat``: dispatch to a sub-command, one-line errors and exit codes.

Every failure a user can cause (bad arguments, no AWS credentials, an endpoint that does not
answer, a service refusal) ends as one line on stderr and a non-zero exit code, never as a
traceback: 2 for usage errors, 1 for everything else, 130 for Ctrl-C. ``--verbose`` shows
the SDK's debug logs (tokens never appear in them) for when one line is not enough.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from connect_chat.cli.args import UsageError, build_parser, command_word, validate_chat_args
from connect_chat.errors import ConnectChatError, EndpointUnreachableError, ServiceError

logger = logging.getLogger(__name__)

#: Exit codes of the command.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EMULATOR_EXTRA_HINT = (
    "install the [emulator] extra (in a clone: pip install -e '.[emulator]'; "
    "anywhere: pip install 'aiohttp>=3.9')"
)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr

    position, word = command_word(args_list)
    if word == "emulator":
        # The emulator owns its options: hand it everything after the word.
        verbose = "-v" in args_list[:position] or "--verbose" in args_list[:position]
        with _verbose_logging(verbose, stderr):
            return _run_guarded(lambda: _run_emulator(args_list[position + 1 :]), stderr)

    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit_:  # argparse already printed usage or help
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(stdout)
        return EXIT_USAGE
    if args.command == "chat":
        try:
            validate_chat_args(args)
        except UsageError as error:
            stderr.write(f"connect-chat chat: error: {error}\n")
            return EXIT_USAGE
    with _verbose_logging(args.verbose, stderr):
        if args.command == "demo":
            return _run_guarded(lambda: _run_demo(args, stdout), stderr)
        return _run_guarded(lambda: _run_chat(args, stdin, stdout), stderr)


@contextlib.contextmanager
def _verbose_logging(verbose: bool, stream: TextIO) -> Iterator[None]:
    """With ``--verbose``, the SDK's debug records on stderr while the command runs.

    Only the ``connect_chat`` loggers: botocore's and urllib3's debug records print request
    headers, tokens included, so they stay at the program's own level.
    """
    if not verbose:
        yield
        return
    package = logging.getLogger("connect_chat")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s: %(message)s")
    )
    previous = package.level
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)


def _run_guarded(action: Callable[[], int], stderr: TextIO) -> int:
    """Run a command, turning every expected failure into one line and an exit code."""
    try:
        return action()
    except KeyboardInterrupt:
        stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except UsageError as error:
        stderr.write(f"connect-chat: error: {error}\n")
        return EXIT_USAGE
    except BaseException as error:  # the top-level handler of a command
        message = describe_error(error)
        if message is None:
            raise
        logger.debug("command failed", exc_info=True)
        stderr.write(f"connect-chat: error: {message}\n")
        return EXIT_FAILURE


def describe_error(error: BaseException) -> str | None:
    """One line for an error a user can cause, or ``None`` for a bug (keep the traceback)."""
    import botocore.exceptions as boto_errors

    if isinstance(error, EndpointUnreachableError):
        return f"cannot reach the endpoint: {error}"
    if isinstance(error, ServiceError):
        return f"the service refused: {error}"
    if isinstance(error, ConnectChatError):
        return str(error) or type(error).__name__
    if isinstance(error, boto_errors.NoCredentialsError):
        return (
            "no AWS credentials found: starting a real chat signs StartChatContact with your "
            "credentials (run `aws configure`, set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(error, boto_errors.ProfileNotFound):
        return str(error)
    if isinstance(error, boto_errors.NoRegionError):
        return "no AWS region: pass --region"
    if isinstance(error, boto_errors.EndpointConnectionError | boto_errors.ConnectTimeoutError):
        return f"cannot reach the endpoint: {error}"
    if isinstance(error, boto_errors.ClientError):
        err = error.response.get("Error", {})
        code = err.get("Code", "error")
        text = err.get("Message", "")
        return f"{error.operation_name} failed: {code}: {text}".rstrip(": ")
    if isinstance(error, boto_errors.ParamValidationError):
        return f"invalid parameters: {error}"
    if isinstance(error, ModuleNotFoundError) and error.name in ("aiohttp", "yarl", "multidict"):
        return f"the emulator is not installed: {_EMULATOR_EXTRA_HINT}"
    if isinstance(error, BrokenPipeError):
        return "output closed"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return None


def _run_emulator(argv: list[str]) -> int:
    from connect_chat.emulator import main as emulator_main

    try:
        return emulator_main(argv, prog="connect-chat emulator")
    except SystemExit as exit_:  # its argparse: --help, or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE


def _run_demo(args: argparse.Namespace, stdout: TextIO) -> int:
    from connect_chat.cli.demo import run_demo

    return run_demo(stdout, pace=args.pace, color=not args.no_color and _is_tty(stdout))


def _run_chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from connect_chat.cli.chat import ChatOptions, run_chat

    options = ChatOptions(
        display_name=args.display_name,
        instance_id=args.instance_id,
        contact_flow_id=args.contact_flow_id,
        region=args.region,
        profile=args.profile,
        participant_token=args.participant_token,
        contact_id=args.contact_id,
        endpoint_url=args.endpoint_url,
        color=not args.no_color and _is_tty(stdout),
    )
    return run_chat(options, stdin, stdout)


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())

