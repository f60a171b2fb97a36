"""Fixtures: a running emulator, plain botocore clients and a plain websocket-client helper."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
import websocket
from botocore import UNSIGNED
from botocore.config import Config

from connect_chat.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(close_delay_after_end=0.05) as emulator:
        yield emulator


def make_acps(endpoint_url: str, attempts: int = 1, validate: bool = True) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "connectparticipant",
        region_name="us-west-2",
        endpoint_url=endpoint_url,
        config=Config(
            signature_version=UNSIGNED,
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=20,
            parameter_validation=validate,
        ),
    )


def make_connect(endpoint_url: str) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "connect",
        region_name="us-west-2",
        endpoint_url=endpoint_url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False
        ),
    )


@pytest.fixture
def acps(emu: Emulator) -> Any:
    return make_acps(emu.endpoint_url)


@pytest.fixture
def raw_acps(emu: Emulator) -> Any:
    """A client that sends what botocore would refuse locally (to test server validation)."""
    return make_acps(emu.endpoint_url, validate=False)


@pytest.fixture
def connect(emu: Emulator) -> Any:
    return make_connect(emu.endpoint_url)


@dataclass
class Customer:
    contact_id: str
    participant_id: str
    participant_token: str
    connection_token: str
    ws_url: str


def connect_customer(
    emu: Emulator, acps: Any, display_name: str = "Ann", **kwargs: Any
) -> Customer:
    details = emu.start_chat(display_name, **kwargs)
    answer = acps.create_participant_connection(
        ParticipantToken=details.participant_token, Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
    )
    assert details.contact_id is not None and details.participant_id is not None
    return Customer(
        details.contact_id,
        details.participant_id,
        details.participant_token,
        answer["ConnectionCredentials"]["ConnectionToken"],
        answer["Websocket"]["Url"],
    )


@pytest.fixture
def customer(emu: Emulator, acps: Any) -> Customer:
    return connect_customer(emu, acps)


class Socket:
    """A plain websocket-client connection with helpers to wait for frames."""

    def __init__(self, url: str, subscribe: bool = True) -> None:
        self.ws = websocket.create_connection(url, timeout=5)
        self.frames: list[dict[str, Any]] = []
        if subscribe:
            self.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
            self.wait_for(lambda f: f.get("topic") == "aws/subscribe")

    def send(self, frame: dict[str, Any] | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching frame; got {self.frames}")
            self.ws.settimeout(remaining)
            frame = json.loads(self.ws.recv())
            self.frames.append(frame)
            if predicate(frame):
                return frame

    def wait_item(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        frame = self.wait_for(
            lambda f: f.get("topic") == "aws/chat" and predicate(json.loads(f["content"])), timeout
        )
        return json.loads(frame["content"])  # type: ignore[no-any-return]

    def items(self) -> list[dict[str, Any]]:
        return [json.loads(f["content"]) for f in self.frames if f.get("topic") == "aws/chat"]

    def assert_silent(self, seconds: float = 0.3) -> None:
        self.ws.settimeout(seconds)
        try:
            data = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        raise AssertionError(f"unexpected frame {data!r}")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def open_socket() -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def opener(url: str, subscribe: bool = True) -> Socket:
        sock = Socket(url, subscribe)
        opened.append(sock)
        return sock

    yield opener
    for sock in opened:
        sock.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
