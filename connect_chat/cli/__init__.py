"""The ``connect-chat`` command: ``demo``, ``chat`` and ``emulator`` (console script ``main``).

- :mod:`~connect_chat.cli.args`: the parser (every command and flag) and its extra checks;
- :mod:`~connect_chat.cli.command`: dispatch, one-line errors, exit codes;
- :mod:`~connect_chat.cli.chat`: ``connect-chat chat``, the interactive terminal chat;
- :mod:`~connect_chat.cli.demo`: ``connect-chat demo``, a scripted chat with the emulator;
- :mod:`~connect_chat.cli.render`: how a transcript is printed in the terminal.

``connect-chat emulator`` is :func:`connect_chat.emulator.main`, the standalone emulator.
"""

from __future__ import annotations

from connect_chat.cli.args import build_parser
from connect_chat.cli.command import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    describe_error,
    main,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "describe_error",
    "main",
]
