"""``python -m connect_chat.cli``: the ``connect-chat`` command."""

from __future__ import annotations

import sys

from connect_chat.cli.command import main

if __name__ == "__main__":  # pragma: no cover - run as a module
    sys.exit(main())
