"""No token, WebSocket URL query or pre-signed query in ANY library's log, at DEBUG everywhere.

Issue 16, item 8. The whole process logs at DEBUG (the root logger, one capturing handler):
botocore logs request headers and response bodies, urllib3 the request lines of the S3
transfers, websocket-client its upgrade. A whole chat runs against the emulator -- connect,
messages both ways, an attachment up and down, a dropped socket and the reconnect, disconnect --
then every record of every logger is scanned for the real secrets collected along the way, and
for the shapes of a credential the registry could not know.
"""

from __future__ import annotations

import gc
import logging
import re
import secrets as random_secrets
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from connect_chat import AWSClient, ChatDetails, ChatSession, ContentType, GlobalConfig
from connect_chat.errors import ConnectChatError, InvalidInputError
from connect_chat.redaction import (
    MAX_SECRETS_PER_OWNER,
    PREFIX_CHARS,
    REDACTED,
    RedactingFilter,
    SecretRegistry,
    protect_library_logs,
    redact,
)
from tests.conftest import connected_session, wait_until
from tests.hardening.support import Capture
from tests.hardening.test_secrets import SecretCollector, recording_client, texts_of_error

#: What a credential looks like when nothing redacted it.
LEAK_SHAPES = [
    re.compile(r"X-Amz-Signature=(?!<redacted>)[^&\s\"']+", re.I),
    re.compile(r"X-Amz-Credential=(?!<redacted>)[^&\s\"']+", re.I),
    re.compile(r"X-Amz-Bearer['\"]?\s*[:=]\s*b?['\"](?!<redacted>)[^'\"]", re.I),
    re.compile(r"wss?://[^\s?\"']+\?(?!<redacted>)", re.I),
    re.compile(r"ConnectionToken['\"]?\s*:\s*['\"](?!<redacted>)[^'\"]", re.I),
]


@pytest.fixture
def everything_at_debug() -> Iterator[Capture]:
    """The root logger at DEBUG with one capturing handler, restored afterwards."""
    root = logging.getLogger()
    handler = Capture()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def full_text(record: logging.LogRecord) -> str:
    """What any handler could write: the message, the traceback, the stack."""
    parts = [getattr(record, "captured_text", record.getMessage())]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def assert_clean(texts: list[str], secrets: set[str], where: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}: {text[:400]!r}"
            if len(secret) > PREFIX_CHARS:
                assert secret[:PREFIX_CHARS] not in text, f"a cut secret in {where}: {text[:400]!r}"
        for shape in LEAK_SHAPES:
            assert not shape.search(text), f"a credential shape in {where}: {text[:400]!r}"


def test_a_whole_chat_with_every_logger_at_debug_leaks_no_secret(
        emu: Any, config: GlobalConfig, tmp_path: Path,
        everything_at_debug: Capture) -> None:
    secrets = SecretCollector()
    config = attrs.evolve(config, custom_aws_client=recording_client(secrets))
    levels_before = {name: logging.getLogger(name).level
                     for name in ("botocore", "urllib3", "websocket", "botocore.endpoint")}
    handlers_before = {name: list(logging.getLogger(name).handlers)
                       for name in ("botocore", "urllib3", "websocket", "botocore.endpoint")}
    reestablished: list[int] = []
    details = emu.start_chat(display_name="Ann")
    secrets.add_token(details.participant_token)
    agent = emu.agent(details.contact_id)
    attachment = tmp_path / "photo.png"
    attachment.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 2000)
    with connected_session(emu, config, details=details,
                           on_connection_reestablished=lambda: reestablished.append(1)) as chat:
        session = chat.session
        agent.join(display_name="Sam")
        agent.send_message("hello Ann")
        session.send_message(ContentType.PLAIN_TEXT, "hi Sam")
        session.wait_for(lambda item: getattr(item, "text", None) == "hello Ann", timeout=5)
        item = session.send_attachment(attachment)
        session.download_attachment(item.attachment_id, str(tmp_path / "copy.png"))
        emu.faults.drop_websockets(details.contact_id)
        wait_until(lambda: reestablished, timeout=10, what="reconnect")
        agent.send_message("after the reconnect")
        session.wait_for(lambda i: getattr(i, "text", None) == "after the reconnect",
                         timeout=5)
        session.disconnect()

    records = list(everything_at_debug.records)
    names = {r.name for r in records}
    for needed in ("botocore.endpoint", "botocore.parsers", "urllib3.connectionpool"):
        assert needed in names, f"the test must capture {needed}'s DEBUG records"
    assert len(secrets.values) >= 5, "the test must have seen the real secrets"
    # the redaction really happened (the libraries did log the secrets' places)
    assert any(REDACTED in r.getMessage() for r in records if r.name == "botocore.endpoint")
    assert any(REDACTED in r.getMessage() for r in records if r.name == "botocore.parsers")
    assert any(REDACTED in r.getMessage() for r in records
               if r.name == "urllib3.connectionpool")
    assert_clean([full_text(r) for r in records], secrets.values, "a log record")
    # the program's logging setup is untouched: same levels, same handlers
    for name, level in levels_before.items():
        assert logging.getLogger(name).level == level
        assert logging.getLogger(name).handlers == handlers_before[name]


def test_a_10_kb_token_echoed_by_the_server_is_not_logged_or_raised(
        emu: Any, config: GlobalConfig, everything_at_debug: Capture) -> None:
    token = random_secrets.token_urlsafe(7500)  # 10,000 characters
    details = emu.start_chat(display_name="Ann")
    bad = ChatDetails(participant_token=token, contact_id=details.contact_id,
                      participant_id=details.participant_id)
    session = ChatSession(config)
    try:
        with pytest.raises(ConnectChatError) as raised:
            session.connect(bad, timeout=5)
    finally:
        session.reset()
    assert any("8190" in r.getMessage() or "400" in r.getMessage()
               for r in everything_at_debug.records if r.name == "botocore.parsers"), \
        "the server's 400 answer must have been logged"
    texts = [full_text(r) for r in everything_at_debug.records]
    texts += texts_of_error(raised.value)
    assert_clean(texts, {token}, "a log record or the error")


@pytest.mark.parametrize("token", [b"bytes-token-SECRET-0123456789", 98765432101234567])
def test_a_token_of_the_wrong_type_is_not_echoed(token: object,
                                                 everything_at_debug: Capture) -> None:
    client = AWSClient(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(InvalidInputError) as raised:
        client.create_participant_connection(token)  # type: ignore[arg-type]
    shown = str(token.decode() if isinstance(token, bytes) else token)
    texts = texts_of_error(raised.value) + [full_text(r) for r in everything_at_debug.records]
    for text in texts:
        assert shown not in text
    assert "ParticipantToken" in str(raised.value), "the error still names the parameter"


# -- the pieces --------------------------------------------------------------------------------


def test_redact_known_secrets_their_prefixes_and_credential_shapes() -> None:
    token = "tok_" + "A1b2C3d4" * 10
    text = (f"header X-Amz-Bearer: {token} / echo b'{token[:40]}...' / "
            "PUT /bucket/key?X-Amz-Algorithm=AWS4&X-Amz-Signature=abcdef HTTP/1.1 / "
            "wss://host.example/connect?X-Amz-Security-Token=zzz / "
            '{"ConnectionToken":"ct-1234567890","Url":"https://s3/x?sig=1"} / '
            "{'X-Amz-Bearer': b'another-token-value'}")
    clean = redact(text, [token])
    for gone in (token[:PREFIX_CHARS], "abcdef", "zzz", "ct-1234567890", "sig=1",
                 "another-token-value"):
        assert gone not in clean, gone
    assert "PUT /bucket/key?<redacted> HTTP/1.1" in clean
    assert "wss://host.example/connect?<redacted>" in clean
    assert redact("no secrets here: 12 messages, /path without query") == \
        "no secrets here: 12 messages, /path without query"


def test_the_filter_rewrites_message_args_and_traceback() -> None:
    logger = logging.getLogger("botocore.test_redaction_probe")
    protect_library_logs()
    assert any(isinstance(f, RedactingFilter) for f in logger.filters) or \
        any(isinstance(f, RedactingFilter) for f in logging.getLogger("botocore").filters)
    handler = Capture()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.addFilter(RedactingFilter())
    try:
        logger.debug("GET %s", "https://bucket/key?X-Amz-Signature=SIGSIGSIG")
        try:
            raise ValueError("failed on wss://h/connect?token=SECRETSECRET")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    texts = handler.texts()
    assert texts[0].endswith("GET https://bucket/key?<redacted>")
    assert "SECRETSECRET" not in texts[1] and "ValueError" in texts[1]


def test_the_filter_reaches_loggers_created_later() -> None:
    logger = logging.getLogger("urllib3.some_module_imported_later")
    protect_library_logs()
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    assert not any(isinstance(f, RedactingFilter)
                   for f in logging.getLogger("connect_chat").filters), \
        "only the libraries' loggers are touched"


def test_the_registry_forgets_a_finished_chat_and_is_bounded_per_chat() -> None:
    registry = SecretRegistry()

    class Owner:
        pass

    owners = [Owner() for _ in range(50)]
    for n, owner in enumerate(owners):
        registry.add(owner, f"participant-token-{n:06d}")
    assert len(registry) == 50
    del owners, owner
    gc.collect()
    assert len(registry) == 0, "a finished chat's secrets must go with it"
    long_chat = Owner()
    for n in range(1000):  # a chat reconnecting a thousand times
        registry.add(long_chat, f"connection-token-{n:06d}")
    assert len(registry) == MAX_SECRETS_PER_OWNER
    assert "connection-token-000999" in registry.values()
    registry.add(long_chat, "short")  # too short to look for by value
    assert "short" not in registry.values()


def test_the_sdk_logger_switches_redact_too() -> None:
    from connect_chat.sdk_logger import SDKLogger

    got: list[str] = []

    class Custom:
        def log_verbose(self, message: str) -> None:
            got.append(message)

        log_debug = log_info = log_fault = log_error = log_verbose

    logger = logging.getLogger("connect_chat.redaction_probe")
    SDKLogger.configure_logger(Custom())
    old = logging.getLogger("connect_chat").level
    logging.getLogger("connect_chat").setLevel(logging.DEBUG)
    try:
        logger.warning("upload failed: %s", "https://s3.example/k?X-Amz-Signature=SIGSIGSIG")
    finally:
        SDKLogger.configure_logger(None)
        logging.getLogger("connect_chat").setLevel(old)
    assert got == ["upload failed: https://s3.example/k?<redacted>"]
