"""TLS verification is on for every transport; the emulator binds loopback only by default.

Issue 8, point 6. A local TLS server presents a self-signed certificate for 127.0.0.1: the
Participant Service client (botocore), the chat WebSocket (websocket-client) and attachment
transfers (requests) must each refuse it -- the server sees the client abort the handshake
-- and no configuration the SDK offers turns verification off behind the user's back.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import botocore
import botocore.session
import pytest
import requests
from botocore.config import Config

from connect_chat import AWSClient, ChatSession, GlobalConfig
from connect_chat.attachments import AttachmentFile, upload_file
from connect_chat.emulator import Emulator
from connect_chat.errors import (
    AttachmentError,
    ConnectChatError,
    EndpointUnreachableError,
    WebSocketError,
)
from connect_chat.models import ConnectionDetails
from tests.conftest import connected_session, wait_until
from tests.hardening.support import capture_logs

CA_ENV = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
          "SSL_CERT_DIR", "WEBSOCKET_CLIENT_CA_BUNDLE")


class UntrustedTLSServer:
    """Accepts TLS on 127.0.0.1 with a self-signed certificate; records handshake outcomes."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.rejected: list[str] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="untrusted-tls", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.accepted += 1
                    tls.recv(1)
            except (ssl.SSLError, OSError) as exc:
                self.rejected.append(str(exc))
            finally:
                conn.close()

    def __enter__(self) -> UntrustedTLSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def client_refused(self) -> bool:
        return any("unknown ca" in r.lower() or "certificate" in r.lower() or "bad" in r.lower()
                   for r in self.rejected) and self.accepted == 0


@pytest.fixture
def untrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UntrustedTLSServer]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    with UntrustedTLSServer(cert, key) as server:
        yield server


def test_participant_service_calls_refuse_an_untrusted_certificate(
        untrusted: UntrustedTLSServer) -> None:
    client = AWSClient(endpoint_url=f"https://127.0.0.1:{untrusted.port}",
                       botocore_config=Config(retries={"max_attempts": 1}))
    with pytest.raises(EndpointUnreachableError):
        client.get_transcript("connection-token")
    wait_until(untrusted.client_refused, timeout=5, what="the server to see the refusal")


def test_chat_websocket_refuses_an_untrusted_certificate(
        emu: Any, config: GlobalConfig, untrusted: UntrustedTLSServer) -> None:
    url = f"wss://127.0.0.1:{untrusted.port}/connect?X-Amz-Signature=SECRETSIG"

    class ToUntrusted(AWSClient):
        def create_participant_connection(self, participant_token: str) -> ConnectionDetails:
            return attrs.evolve(super().create_participant_connection(participant_token),
                                websocket_url=url)

    session = ChatSession(attrs.evolve(config, custom_aws_client=ToUntrusted))
    with pytest.raises(ConnectChatError) as raised:
        session.connect(emu.start_chat(display_name="Ann"))
    assert "SECRETSIG" not in str(raised.value)
    # Not retried: a certificate the SDK does not trust will not become trusted.
    assert isinstance(raised.value, WebSocketError) and not raised.value.retryable
    wait_until(untrusted.client_refused, timeout=5, what="the server to see the refusal")
    assert not session.is_chat_session_active()


def test_attachment_upload_refuses_an_untrusted_certificate(
        untrusted: UntrustedTLSServer, tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"x" * 100)
    file = AttachmentFile(path=path, name="a.png", content_type="image/png", size=100)
    url = f"https://127.0.0.1:{untrusted.port}/upload?X-Amz-Signature=SECRETSIG"
    with requests.Session() as http, pytest.raises(AttachmentError) as raised:
        upload_file(http, url, {}, file)
    assert "SECRETSIG" not in str(raised.value)
    wait_until(untrusted.client_refused, timeout=5, what="the server to see the refusal")


def test_session_attachment_upload_refuses_an_untrusted_certificate(
        emu: Any, config: GlobalConfig, untrusted: UntrustedTLSServer, tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{untrusted.port}/upload?X-Amz-Signature=SECRETSIG"

    class UploadToUntrusted(AWSClient):
        def start_attachment_upload(self, *args: Any, **kwargs: Any) -> Any:
            real = dict(super().start_attachment_upload(*args, **kwargs))
            real["UploadMetadata"] = {**real["UploadMetadata"], "Url": url}
            return real

    path = tmp_path / "photo.png"
    path.write_bytes(b"x" * 100)
    with connected_session(emu, attrs.evolve(config, custom_aws_client=UploadToUntrusted),
                           details=emu.start_chat(display_name="Ann")) as chat:
        session = chat.session
        with pytest.raises(AttachmentError) as raised:
            session.send_attachment(path)
        assert "SECRETSIG" not in str(raised.value)
        wait_until(untrusted.client_refused, timeout=5, what="the server to see the refusal")


def test_real_endpoints_are_https_with_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)
    seen: list[dict[str, Any]] = []
    real_create = botocore.session.Session.create_client

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real_create(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", spy)
    for botocore_config in (None, Config(connect_timeout=1, proxies={})):
        client = AWSClient(region="eu-central-1", botocore_config=botocore_config)
        endpoint = client.botocore_client.meta.endpoint_url
        assert endpoint.startswith("https://"), endpoint
        assert client.botocore_client._endpoint.http_session._verify is True
    assert seen and all(kwargs.get("verify") in (None, True) for kwargs in seen)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.10", "example.com"])
def test_emulator_refuses_non_loopback_without_explicit_consent(host: str) -> None:
    with pytest.raises(ValueError, match="allow_non_loopback"):
        Emulator(host=host)


def test_emulator_non_loopback_needs_the_explicit_flag() -> None:
    emulator = Emulator(host="0.0.0.0", allow_non_loopback=True)  # not started: binds nothing
    assert not emulator.running


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2"])
def test_emulator_binds_loopback_and_advertises_numeric_loopback(host: str) -> None:
    with Emulator(host=host) as emulator:
        assert emulator.endpoint_url.startswith("http://127.0.0.")


def test_standalone_emulator_refuses_non_loopback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connect_chat.emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "allow" in result.stderr and "non-loopback" in result.stderr


def test_cli_emulator_refuses_non_loopback() -> None:
    import io

    from connect_chat.cli import main

    err = io.StringIO()
    code = main(["emulator", "--host", "0.0.0.0", "--port", "0"], stdout=io.StringIO(),
                stderr=err)
    assert code != 0


def test_a_client_built_with_verification_off_is_warned_about_once(
        emu: Any, config: GlobalConfig) -> None:
    """The SDK offers no switch to turn verification off; a custom client that does it
    anyway (the program's explicit choice) is reported with one WARNING, not silently used."""

    class Unverified(AWSClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._client = botocore.session.get_session().create_client(
                "connectparticipant", region_name="us-west-2", endpoint_url=emu.endpoint_url,
                config=Config(signature_version=botocore.UNSIGNED), verify=False,
            )

    session = ChatSession(attrs.evolve(config, custom_aws_client=Unverified))
    with capture_logs() as logs:
        for _ in range(2):
            session.connect(emu.start_chat(display_name="Ann"))
            session.disconnect()
    warnings = [r for r in logs.matching("connect_chat", level=logging.WARNING)
                if "verif" in r.getMessage().lower()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_default_clients_do_not_warn_about_verification(emu: Any, config: GlobalConfig) -> None:
    session = ChatSession(config)
    with capture_logs() as logs:
        session.connect(emu.start_chat(display_name="Ann"))
        session.disconnect()
    assert not [r for r in logs.matching("connect_chat", level=logging.WARNING)
                if "verif" in r.getMessage().lower()]
