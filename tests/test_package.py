"""The package's foundations: version, logging hygiene, typing marker."""

from __future__ import annotations

import logging
from pathlib import Path

import connect_chat


def test_version_is_a_string() -> None:
    assert isinstance(connect_chat.__version__, str)
    assert connect_chat.__version__.count(".") >= 2


def test_package_logger_has_only_a_null_handler() -> None:
    logger = logging.getLogger("connect_chat")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert all(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert logger.level == logging.NOTSET


def test_py_typed_is_shipped() -> None:
    assert (Path(connect_chat.__file__).parent / "py.typed").is_file()


def test_chat_details_repr_hides_the_token() -> None:
    details = connect_chat.ChatDetails(participant_token="secret-token-123", contact_id="c1")
    assert "secret-token-123" not in repr(details)
    assert "c1" in repr(details)


def test_importing_the_package_loads_neither_botocore_nor_requests() -> None:
    # Both are imported on first use (building a client, a transfer): `import connect_chat`
    # stays cheap for code that only needs the models and for `connect-chat --help`.
    import subprocess
    import sys

    code = (
        "import sys, connect_chat, connect_chat.resume, connect_chat.interactive; "
        "print(sorted(m for m in ('botocore', 'requests', 'aiohttp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
