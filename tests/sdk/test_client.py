"""AWSClient: overridable methods, botocore config, error mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from connect_chat import AWSClient, ContentType, GlobalConfig
from connect_chat.errors import (
    AccessDeniedError,
    InternalServerError,
    ServiceError,
    ThrottlingError,
)
from tests.conftest import connected_session, fast


class CountingClient(AWSClient):
    """Overrides two methods only, both calling the parent."""

    calls: list[str] = []

    def send_message(self, connection_token: str, content_type: str, message: str,
                     client_token: str | None = None) -> Mapping[str, Any]:
        type(self).calls.append(f"send_message:{message}")
        return super().send_message(connection_token, content_type, message.upper(),
                                    client_token)

    def get_transcript(self, connection_token: str, **kwargs: Any) -> Mapping[str, Any]:
        type(self).calls.append("get_transcript")
        return super().get_transcript(connection_token, **kwargs)


def test_custom_client_class_overrides_some_methods_and_keeps_the_rest(
        emu: Any, config: GlobalConfig) -> None:
    CountingClient.calls = []
    # connect: create_participant_connection, not overridden
    with connected_session(emu, fast(config, custom_aws_client=CountingClient)) as chat:
        session, details = chat.session, chat.details
        sent = session.send_message(ContentType.PLAIN_TEXT, "quiet")
        assert CountingClient.calls == ["get_transcript", "send_message:quiet"]
        stored = [i for i in emu.transcript(details.contact_id) if i.get("Id") == sent.id]
        assert stored[0]["Content"] == "QUIET"


def test_custom_client_instance_is_used_as_given(emu: Any, config: GlobalConfig) -> None:
    CountingClient.calls = []
    client = CountingClient(endpoint_url=emu.endpoint_url)
    with connected_session(emu, fast(config, endpoint_url="http://127.0.0.1:9",
                                     custom_aws_client=client)):
        assert CountingClient.calls == ["get_transcript"]


def test_botocore_config_is_merged_but_stays_unsigned(emu: Any) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url, botocore_config=Config(
        signature_version="v4", read_timeout=7,
        retries={"mode": "standard", "total_max_attempts": 1}))
    meta = client.botocore_client.meta
    assert meta.config.signature_version is UNSIGNED
    assert meta.config.read_timeout == 7
    details = emu.start_chat()
    emu.faults.http_errors(status=500, count=1, operations=["CreateParticipantConnection"])
    with pytest.raises(InternalServerError) as caught:
        client.create_participant_connection(details.participant_token)
    assert caught.value.code == "InternalServerException" and caught.value.status == 500
    assert caught.value.operation == "CreateParticipantConnection"
    assert isinstance(caught.value.__cause__, ClientError)
    assert details.participant_token not in str(caught.value)
    assert len(emu.calls("CreateParticipantConnection")) == 1  # max_attempts=1: no retry


def test_standard_retries_recover_from_a_transient_error(emu: Any) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url)
    details = emu.start_chat()
    emu.faults.http_errors(status=503, count=1, operations=["CreateParticipantConnection"])
    connection = client.create_participant_connection(details.participant_token)
    assert connection.get_connection_token()
    attempts = [c.attempt for c in emu.calls("CreateParticipantConnection")]
    assert attempts == [1, 2]
    header = emu.calls("CreateParticipantConnection")[-1].headers
    assert not any(k.lower() == "authorization" for k in header)


@pytest.mark.parametrize("status, error", [(429, ThrottlingError), (403, AccessDeniedError)])
def test_errors_map_to_typed_classes(emu: Any, status: int, error: type[ServiceError]) -> None:
    client = AWSClient(endpoint_url=emu.endpoint_url, botocore_config=Config(
        retries={"mode": "standard", "total_max_attempts": 1}))
    details = emu.start_chat()
    emu.faults.http_errors(status=status, count=1, operations=["CreateParticipantConnection"])
    with pytest.raises(error) as caught:
        client.create_participant_connection(details.participant_token)
    assert caught.value.status == status


def test_sessions_sharing_one_client_add_one_retry_hook_not_one_each(emu: Any) -> None:
    """Each session registered its own botocore before-send hook on a shared ``AWSClient``:
    with N sessions every request ran N hooks (O(sessions) per call)."""
    import types

    from connect_chat import ChatSession, GlobalConfig
    from connect_chat.client import AWSClient

    client = AWSClient(endpoint_url=emu.endpoint_url)
    sessions = [ChatSession(GlobalConfig(endpoint_url=emu.endpoint_url,
                                         custom_aws_client=client)) for _ in range(20)]
    for session in sessions:
        session._aws_client()
    request = types.SimpleNamespace(headers={"amz-sdk-request": "attempt=2; max=3"})
    called = client.botocore_client.meta.events.emit(
        "before-send.connectparticipant.SendMessage", request=request)
    ours = [h for h, _ in called if "count_retries" in getattr(h, "__qualname__", "")]
    assert len(ours) == 1
    assert [s.stats.retries for s in sessions] == [1] * 20  # shared: each counts the retry


def test_a_rest_call_leaves_no_cyclic_garbage(emu: Any) -> None:
    """botocore builds a parser per response, and its default one holds a reference cycle
    (three objects only the garbage collector reclaims, per call): under load that garbage
    kept full collections -- stop-the-world passes -- running. ``acyclic_parsers`` gives
    botocore the same blob decoding as a plain function; no call leaves a cycle."""
    import gc

    client = AWSClient(endpoint_url=emu.endpoint_url)
    details = emu.start_chat(display_name="Ann")
    token = client.create_participant_connection(details.participant_token).connection_token
    client.send_message(token, "text/plain", "warm-up")  # imports and caches, once
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(5):
            client.send_message(token, "text/plain", f"message {n}")
            client.get_transcript(token)
        gc.collect()
        cyclic = [type(o).__qualname__ for o in gc.garbage
                  if type(o).__module__.startswith("botocore")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cyclic == []
