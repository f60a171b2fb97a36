"""``SDKLogger``: the iOS logging switches, on top of the standard ``logging`` module.

Every module of the SDK logs to ``logging.getLogger("connect_chat.<module>")``; the package
logger has only a ``NullHandler``, so nothing is printed unless the program configures
logging (that is the Python form of iOS's "logging off by default"). Two opt-in switches give
iOS parity:

* ``SDKLogger.is_logging_enabled = True`` prints the SDK's records (DEBUG and up) to stderr,
  for notebooks and scripts without a logging setup; ``False`` undoes it.
* ``SDKLogger.configure_logger(custom)`` forwards every record that passes the
  ``connect_chat`` logger's effective level to an object with ``log_verbose``, ``log_debug``,
  ``log_info``, ``log_fault`` and ``log_error`` methods (iOS ``SDKLoggerProtocol``), whatever
  ``is_logging_enabled`` says (as on iOS). ``configure_logger(None)`` removes it.

The SDK never writes tokens or pre-signed URLs into log messages; both switches' handlers
also carry :class:`~connect_chat.redaction.RedactingFilter`, so a secret in a record that
reaches them (an exception's text quoting a URL, say) is replaced by ``<redacted>``. The
libraries the SDK drives (botocore, urllib3, websocket-client) get the same filter on their
own loggers (:func:`~connect_chat.redaction.protect_library_logs`).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Protocol

from connect_chat.redaction import RedactingFilter

PACKAGE_LOGGER = "connect_chat"


class SDKLoggerProtocol(Protocol):
    """What a custom logger given to :meth:`SDKLogger.configure_logger` must offer."""

    def log_verbose(self, message: str) -> None: ...
    def log_debug(self, message: str) -> None: ...
    def log_info(self, message: str) -> None: ...
    def log_fault(self, message: str) -> None: ...
    def log_error(self, message: str) -> None: ...


class _ForwardingHandler(logging.Handler):
    """Hands each formatted record to the custom logger's method for its level."""

    def __init__(self, custom: SDKLoggerProtocol) -> None:
        super().__init__(logging.NOTSET)
        self.custom = custom
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if record.levelno >= logging.ERROR:
                self.custom.log_error(message)
            elif record.levelno >= logging.WARNING:
                self.custom.log_fault(message)
            elif record.levelno >= logging.INFO:
                self.custom.log_info(message)
            elif record.levelno >= logging.DEBUG:
                self.custom.log_debug(message)
            else:
                self.custom.log_verbose(message)
        except Exception:  # a broken custom logger must not break the SDK
            self.handleError(record)


class _State:
    """The switches' process-wide state (guarded by ``lock``)."""

    lock = threading.Lock()
    stream_handler: logging.Handler | None = None
    forwarder: _ForwardingHandler | None = None
    saved_level: int = logging.NOTSET


class _SDKLoggerMeta(type):
    """Makes ``SDKLogger.is_logging_enabled`` a settable class-level switch."""

    @property
    def is_logging_enabled(cls) -> bool:
        return _State.stream_handler is not None

    @is_logging_enabled.setter
    def is_logging_enabled(cls, enabled: bool) -> None:
        logger = logging.getLogger(PACKAGE_LOGGER)
        with _State.lock:
            if enabled and _State.stream_handler is None:
                handler = logging.StreamHandler(sys.stderr)
                handler.setFormatter(
                    logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
                )
                handler.addFilter(RedactingFilter())
                _State.saved_level = logger.level
                logger.setLevel(logging.DEBUG)
                logger.addHandler(handler)
                _State.stream_handler = handler
            elif not enabled and _State.stream_handler is not None:
                logger.removeHandler(_State.stream_handler)
                logger.setLevel(_State.saved_level)
                _State.stream_handler = None


class SDKLogger(metaclass=_SDKLoggerMeta):
    """iOS ``SDKLogger``: ``is_logging_enabled`` (class property) and ``configure_logger``."""

    @classmethod
    def configure_logger(cls, custom: SDKLoggerProtocol | None) -> None:
        """Forward the SDK's log records to ``custom`` (``None`` stops forwarding)."""
        logger = logging.getLogger(PACKAGE_LOGGER)
        with _State.lock:
            if _State.forwarder is not None:
                logger.removeHandler(_State.forwarder)
                _State.forwarder = None
            if custom is not None:
                _State.forwarder = _ForwardingHandler(custom)
                logger.addHandler(_State.forwarder)
