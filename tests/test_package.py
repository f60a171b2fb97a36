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
