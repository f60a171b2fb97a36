"""Logging: tokens and pre-signed URLs never logged; SDKLogger switches (iOS parity)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connect_chat import ContentType, SDKLogger
from tests.conftest import connected_session


def test_a_whole_session_logs_no_secret(emu: Any,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="connect_chat")
    with connected_session(emu, record=True) as chat:
        session, details, recorder = chat.session, chat.details, chat.recorder
        connection = session.get_connection_details_provider().get_connection_details()
        assert connection is not None
        secrets = [details.participant_token, str(connection.get_connection_token()),
                   str(connection.get_websocket_url())]
        session.send_message(ContentType.PLAIN_TEXT, "hello")
        emu.faults.drop_websockets(details.contact_id)
        recorder.wait("on_connection_reestablished")
        new = session.get_connection_details_provider().get_connection_details()
        assert new is not None
        secrets += [str(new.get_connection_token()), str(new.get_websocket_url())]
        session.disconnect()
        sdk_records = [r for r in caplog.records if r.name.startswith("connect_chat")
                       and not r.name.startswith("connect_chat.emulator")]
        assert sdk_records  # the SDK did log (reconnects at least)
        text = "\n".join(r.getMessage() for r in sdk_records)
        for secret in secrets:
            assert secret not in text
        assert "token=" not in text


class ListLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log_verbose(self, message: str) -> None:
        self.lines.append(("verbose", message))

    def log_debug(self, message: str) -> None:
        self.lines.append(("debug", message))

    def log_info(self, message: str) -> None:
        self.lines.append(("info", message))

    def log_fault(self, message: str) -> None:
        self.lines.append(("fault", message))

    def log_error(self, message: str) -> None:
        self.lines.append(("error", message))


def test_configure_logger_forwards_records_and_can_be_removed() -> None:
    custom = ListLogger()
    logger = logging.getLogger("connect_chat.session")
    SDKLogger.configure_logger(custom)
    try:
        logger.warning("careful")
        logger.error("broken")
    finally:
        SDKLogger.configure_logger(None)
    logger.error("not forwarded")
    assert custom.lines == [("fault", "careful"), ("error", "broken")]
    package = logging.getLogger("connect_chat")
    assert all(isinstance(h, logging.NullHandler) for h in package.handlers)


def test_is_logging_enabled_prints_to_stderr_and_undoes(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    package = logging.getLogger("connect_chat")
    assert SDKLogger.is_logging_enabled is False
    SDKLogger.is_logging_enabled = True  # type: ignore[misc]
    try:
        assert SDKLogger.is_logging_enabled is True
        logging.getLogger("connect_chat.session").debug("visible now")
    finally:
        SDKLogger.is_logging_enabled = False  # type: ignore[misc]
    logging.getLogger("connect_chat.session").warning("hidden again")
    err = capsys.readouterr().err
    assert "visible now" in err and "hidden again" not in err
    assert package.level == logging.NOTSET
    assert all(isinstance(h, logging.NullHandler) for h in package.handlers)
