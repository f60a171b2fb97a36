"""Secrets out of other libraries' logs, and out of errors built from their messages.

Why: the SDK never logs a token, but the libraries it drives do, at DEBUG: ``botocore.endpoint``
logs the request headers (``X-Amz-Bearer``: the participant or connection token),
``botocore.parsers`` the response bodies (connection token, WebSocket URL, pre-signed upload
and download URLs, and a server's echo of a rejected token), ``urllib3.connectionpool`` the
request line of each pre-signed S3 PUT/GET (``X-Amz-Signature`` in the query), websocket-client
(with its trace on) the upgrade request. A program that turns DEBUG on for everything must not
find a credential in its log files.

How: the SDK registers each secret as it appears (:func:`register_call`, from
``AWSClient._call``: the tokens it sends, the tokens and URLs it receives), and
:class:`RedactingFilter` -- attached to every logger of those libraries, never to a handler,
so the program's levels and handlers stay as they are -- rewrites any record that carries one:

* a known secret (at least :data:`MIN_SECRET_CHARS` characters), or a run of at least
  :data:`PREFIX_CHARS` of its leading characters (servers echo a cut token: aiohttp's 400
  quotes the first 100 bytes of a 10 kB header), becomes ``<redacted>``;
* whatever the registry does not know, by shape: the query of any URL or request path
  (``wss://host/connect?<redacted>``, ``"PUT /key?<redacted> HTTP/1.1"``) and the value of a
  ``X-Amz-Bearer`` / ``ConnectionToken`` / ``ParticipantToken`` / ``Authorization`` /
  ``X-Amz-Security-Token`` / ``X-Amz-Signature`` / ``X-Amz-Credential`` field.

A logger-level filter only sees records made on that very logger (not its children's), so the
filter is attached to each existing logger under :data:`LIBRARY_LOGGERS`, again whenever a
secret is registered and new loggers appeared (botocore imports some modules lazily).

Memory: secrets are kept per owner (the ``AWSClient``) in a weak dictionary, at most
:data:`MAX_SECRETS_PER_OWNER` each (the newest): a finished chat's client takes its secrets
with it, and a chat that reconnects for days keeps a bounded list.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "LIBRARY_LOGGERS",
    "MAX_SECRETS_PER_OWNER",
    "MIN_SECRET_CHARS",
    "PREFIX_CHARS",
    "REDACTED",
    "RedactingFilter",
    "SecretRegistry",
    "protect_library_logs",
    "redact",
    "register_call",
    "registry",
    "scrub_error",
]

REDACTED = "<redacted>"

#: Shorter values are not looked for by value (they would blank out ordinary words and
#: numbers); the shape rules still apply to them. Real tokens are hundreds of characters.
MIN_SECRET_CHARS = 8
#: This many leading characters of a known secret, found anywhere, count as the secret.
PREFIX_CHARS = 16
#: Secrets kept per owner (the newest): tokens and URLs of a long chat's reconnects.
MAX_SECRETS_PER_OWNER = 32

#: The logger trees whose records are redacted: the libraries the SDK drives (and aiohttp,
#: which the emulator runs in the same process in tests and demos).
LIBRARY_LOGGERS: tuple[str, ...] = ("botocore", "urllib3", "requests", "websocket", "aiohttp")

#: Request parameters and response fields that are secrets.
_SECRET_PARAMS = ("ParticipantToken", "ConnectionToken")

_FIELD = re.compile(
    r"""(?ix)
    ( ["']? (?:x-amz-bearer|connectiontoken|participanttoken|authorization
             |x-amz-security-token|x-amz-signature|x-amz-credential) ["']?
      \s* [:=] \s* b? ["']? )
    [^"'\s,&}<>]+
    """
)
_QUERY = re.compile(
    r"""(?x)
    ( (?: \b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/?\#"'<>\\]+ )? /[^\s?\#"'<>\\]* )
    \? [^\s\#"'<>\\]+
    """
)

E = TypeVar("E", bound=BaseException)


class SecretRegistry:
    """Known secret values, kept per owner: weakly (gone with the owner) and bounded."""

    def __init__(self, per_owner: int = MAX_SECRETS_PER_OWNER) -> None:
        self._per_owner = per_owner
        self._by_owner: weakref.WeakKeyDictionary[object, collections.deque[str]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def add(self, owner: object, value: object) -> None:
        """Remember ``value`` (a str, bytes or int token, a URL's query...) for ``owner``."""
        text = _as_text(value)
        if text is None or len(text) < MIN_SECRET_CHARS:
            return
        with self._lock:
            held = self._by_owner.get(owner)
            if held is None:
                held = self._by_owner[owner] = collections.deque(maxlen=self._per_owner)
            if text not in held:
                held.append(text)

    def add_url(self, owner: object, url: object) -> None:
        """Remember a URL's query string and each long value in it."""
        if not isinstance(url, str) or "?" not in url:
            return
        try:
            query = urlsplit(url).query
        except ValueError:
            return
        self.add(owner, query)
        for _, value in parse_qsl(query):
            self.add(owner, value)

    def values(self) -> list[str]:
        """Every secret held, longest first (so a secret inside another is not cut first)."""
        with self._lock:
            found = {text for held in list(self._by_owner.values()) for text in held}
        return sorted(found, key=len, reverse=True)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(held) for held in list(self._by_owner.values()))


#: The process-wide registry the SDK's clients register into.
registry = SecretRegistry()


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with known secrets (``secrets``, default: the registry's), their leading
    runs, URL queries and token-like fields replaced by ``<redacted>``."""
    text = _QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    text = _FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    for secret in registry.values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
        if len(secret) > PREFIX_CHARS and secret[:PREFIX_CHARS] in text:
            text = _redact_prefixes(text, secret)
    return text


def _redact_prefixes(text: str, secret: str) -> str:
    """Replace each run of ``secret``'s leading characters (at least PREFIX_CHARS long)."""
    head = secret[:PREFIX_CHARS]
    out: list[str] = []
    start = 0
    while True:
        at = text.find(head, start)
        if at < 0:
            break
        end = at + PREFIX_CHARS
        while end < len(text) and end - at < len(secret) and text[end] == secret[end - at]:
            end += 1
        out.append(text[start:at])
        out.append(REDACTED)
        start = end
    out.append(text[start:])
    return "".join(out)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its formatted traceback) when it carries a secret.

    The record is always kept; only a changed record is touched: its message is formatted
    here (``msg`` becomes the redacted text, ``args`` empty) and a traceback that carried a
    secret is kept as redacted text (``exc_text``) instead of the exception object.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's error path
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            trace = self._formatter.formatException(record.exc_info)
            clean = redact(trace)
            if clean != trace:
                record.exc_info, record.exc_text = None, clean
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()
_seen_loggers = -1
_install_lock = threading.Lock()


def protect_library_logs() -> None:
    """Attach the filter to every existing logger under :data:`LIBRARY_LOGGERS` (idempotent;
    cheap when no logger was created since the last call)."""
    global _seen_loggers
    manager = logging.Logger.manager
    if len(manager.loggerDict) == _seen_loggers:  # the usual case: nothing new, no copy
        return
    with _install_lock:
        loggers = dict(manager.loggerDict)
        if len(loggers) == _seen_loggers:
            return
        _seen_loggers = len(loggers)
        for name, logger in loggers.items():
            if not isinstance(logger, logging.Logger):
                continue  # a placeholder: nothing logs on it
            if name.split(".", 1)[0] in LIBRARY_LOGGERS and _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
        for name in LIBRARY_LOGGERS:  # the roots themselves, created if need be
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def register_call(owner: object, params: Mapping[str, Any], response: object = None) -> None:
    """Register the secrets of one Participant Service call: the tokens in its parameters
    and, once answered, the tokens and URLs in its response."""
    for name in _SECRET_PARAMS:
        if name in params:
            registry.add(owner, params[name])
    if isinstance(response, Mapping):
        credentials = response.get("ConnectionCredentials")
        if isinstance(credentials, Mapping):
            registry.add(owner, credentials.get("ConnectionToken"))
        websocket = response.get("Websocket")
        if isinstance(websocket, Mapping):
            registry.add_url(owner, websocket.get("Url"))
        upload = response.get("UploadMetadata")
        if isinstance(upload, Mapping):
            registry.add_url(owner, upload.get("Url"))
        registry.add_url(owner, response.get("Url"))  # GetAttachment
        registry.add_url(owner, response.get("AuthenticationUrl"))
    protect_library_logs()


def scrub_error(error: E, cause: BaseException) -> tuple[E, BaseException | None]:
    """``error`` with secrets taken out of its message, and the cause to chain: ``cause``
    itself if its text is clean, else None (``raise error from None``)."""
    secrets = registry.values()
    error.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in error.args)
    message = getattr(error, "message", None)
    if isinstance(message, str):
        with contextlib.suppress(AttributeError):
            error.message = redact(message, secrets)  # type: ignore[attr-defined]
    try:
        text = f"{cause!s} {cause!r}"
    except Exception:
        return error, None
    return error, cause if redact(text, secrets) == text else None

