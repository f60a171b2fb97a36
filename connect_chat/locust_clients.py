"""The botocore clients of a Locust process: one per endpoint, shared by every user.

Why a module of its own: building a botocore client costs ~10 ms of CPU and ~0.2 MiB, most of
a session's cost at ramp-up, and botocore clients are thread-safe (under gevent each greenlet
takes its own pooled HTTP connection). So every :class:`~connect_chat.locust.ChatUser` of a
process shares one Participant Service client (:func:`shared_aws_client`), each session seeing
it through its own :class:`SessionClient`, and one Amazon Connect client per
:class:`StartChatContact`. Nothing here imports Locust; ``connect_chat.locust`` re-exports it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import attrs

from connect_chat.cli_contact import (
    EMULATOR_CONTACT_FLOW_ID,
    EMULATOR_INSTANCE_ID,
    SUPPORTED_MESSAGING_CONTENT_TYPES,
)
from connect_chat.client import AWSClient, acyclic_parsers
from connect_chat.models import ChatDetails

__all__ = [
    "DEFAULT_POOL_CONNECTIONS",
    "ChatUserLike",
    "SessionClient",
    "StartChatContact",
    "shared_aws_client",
]

#: HTTP connections kept per process to the Participant Service (one per busy greenlet).
DEFAULT_POOL_CONNECTIONS = 1024

_clients: dict[tuple[str, str | None], AWSClient] = {}
_clients_lock = threading.Lock()


class ChatUserLike(Protocol):
    """What :class:`StartChatContact` reads of the user whose chat it starts."""

    host: str | None
    chat_region: str


def shared_aws_client(
    region: str, endpoint_url: str | None, pool_connections: int = DEFAULT_POOL_CONNECTIONS
) -> AWSClient:
    """The process's one ``AWSClient`` for this region and endpoint (built on first use)."""
    key = (region, endpoint_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            from botocore.config import Config

            client = AWSClient(
                region, endpoint_url, Config(max_pool_connections=pool_connections)
            )
            _clients[key] = client
        return client


class _NoHooks:
    """The shared botocore client, seen through one session: hooks it registers stay its own.

    A session registers botocore event handlers on its client (retry counting); on a client
    shared by thousands of sessions every request would run all of them (O(sessions) per
    request, kept alive after the session ends). Here they go to a private emitter instead.
    """

    def __init__(self, client: Any) -> None:
        from botocore.hooks import HierarchicalEmitter

        self._client = client
        self.meta = _Meta(client.meta, HierarchicalEmitter())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Meta:
    def __init__(self, meta: Any, events: Any) -> None:
        self._meta = meta
        self.events = events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._meta, name)


class SessionClient(AWSClient):
    """One session's ``AWSClient`` over a shared one's botocore client (nothing is built).

    Per session: the calls in flight (one user's ``disconnect()`` ends only its own) and the
    botocore event handlers it registers. Shared: the botocore client and its connection pool,
    which ``close()`` leaves open for the other users.
    """

    def __init__(self, shared: AWSClient) -> None:  # no super().__init__(): nothing to build
        self.__dict__.update(shared.__dict__)
        calls = getattr(shared, "calls", None)
        if calls is not None:
            self.calls = type(calls)(calls.default_timeout)
        self._view = _NoHooks(shared.botocore_client)

    @property
    def botocore_client(self) -> Any:
        return self._view

    def close(self) -> None:
        """Nothing to close: the pooled connections serve the process's other sessions."""


@attrs.define
class StartChatContact:
    """How a :class:`ChatUser`'s chat starts: Amazon Connect's ``StartChatContact``.

    ``emulator=True`` (the default) signs with throw-away credentials and sends to the
    user's ``host`` (the emulator); otherwise the request goes to Amazon Connect in
    ``region`` with the caller's credentials (``profile``, the environment) for
    ``instance_id`` and ``contact_flow_id``. One botocore ``connect`` client per starter.
    """

    instance_id: str = EMULATOR_INSTANCE_ID
    contact_flow_id: str = EMULATOR_CONTACT_FLOW_ID
    emulator: bool = True
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    display_name: str = "Load customer"
    attributes: dict[str, str] = attrs.field(factory=dict)
    _clients: dict[tuple[str | None, str], Any] = attrs.field(
        factory=dict, init=False, repr=False
    )
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    @classmethod
    def amazon_connect(
        cls, instance_id: str, contact_flow_id: str, region: str, **kwargs: Any
    ) -> StartChatContact:
        """Chats started on a real Amazon Connect instance (costs money; never production)."""
        return cls(instance_id, contact_flow_id, emulator=False, region=region, **kwargs)

    def __call__(self, user: ChatUserLike) -> ChatDetails:
        request: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "ContactFlowId": self.contact_flow_id,
            "ParticipantDetails": {"DisplayName": self.display_name},
            "SupportedMessagingContentTypes": list(SUPPORTED_MESSAGING_CONTENT_TYPES),
        }
        if self.attributes:
            request["Attributes"] = dict(self.attributes)
        answer = self.connect_client(user.host, user.chat_region).start_chat_contact(**request)
        return ChatDetails(
            participant_token=answer["ParticipantToken"],
            contact_id=answer.get("ContactId"),
            participant_id=answer.get("ParticipantId"),
        )

    def connect_client(self, host: str | None, region: str) -> Any:
        """The botocore ``connect`` client for this endpoint and region (built on first use).

        ``host`` is the user's (the emulator's URL when ``emulator``); one client per
        endpoint and region, shared by every user of the process.
        """
        endpoint = self.endpoint_url or (host if self.emulator else None) or None
        key = (endpoint, self.region or region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                import botocore.config
                import botocore.exceptions
                import botocore.session

                session = botocore.session.Session(profile=self.profile)
                acyclic_parsers(session)
                if self.emulator:
                    session.set_credentials("emulator", "emulator")
                elif session.get_credentials() is None:
                    raise botocore.exceptions.NoCredentialsError()
                client = session.create_client(
                    "connect",
                    region_name=key[1],
                    endpoint_url=endpoint,
                    config=botocore.config.Config(
                        connect_timeout=10,
                        read_timeout=30,
                        retries={"mode": "standard", "max_attempts": 2},
                        max_pool_connections=DEFAULT_POOL_CONNECTIONS,
                    ),
                )
                self._clients[key] = client
            return client
