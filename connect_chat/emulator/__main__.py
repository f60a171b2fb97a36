"""``python -m connect_chat.emulator --port N [--host H] [--agent echo]``."""

from __future__ import annotations

import sys

from connect_chat.emulator.standalone import main

if __name__ == "__main__":
    sys.exit(main())
