"""Knobs of one emulator (service timings and limits, shortened by tests), with their defaults.

``Settings`` is the one place where the defaults are written and checked. :func:`settings_from`
applies the keyword form that ``Emulator(...)`` and the command line accept (``None`` for a
default, any iterable for a set, a profile name for a behaviour) to a base ``Settings``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace

from connect_chat.emulator.behaviour import Behaviour, resolve
from connect_chat.emulator.calls import DEFAULT_MAX_RECORDS
from connect_chat.emulator.faults import valid_close_code
from connect_chat.enums import ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, ContentType

#: Every content type a customer may send (StartChatContact ``SupportedMessagingContentTypes``).
ALL_MESSAGE_TYPES: frozenset[str] = frozenset(
    {
        ContentType.PLAIN_TEXT.value,
        ContentType.RICH_TEXT.value,
        ContentType.JSON.value,
        ContentType.INTERACTIVE_TEXT.value,
        ContentType.INTERACTIVE_RESPONSE.value,
    }
)


#: How many ended contacts an emulator keeps by default (a long-running one stays bounded).
DEFAULT_MAX_ENDED_CONTACTS = 1000

#: Frames waiting for one WebSocket client before the server gives up on it.
DEFAULT_MAX_SOCKET_QUEUE = 1000

#: Seconds a client has to send a whole request (headers and body); also the idle keep-alive.
DEFAULT_REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """Timings in seconds unless named otherwise; defaults are the service's (wire-protocol.md)."""

    agent: str | None = None
    connection_token_ttl: float = 86400.0
    websocket_url_ttl: float = 100.0
    chat_duration_minutes: float = 1500.0
    idle_timeout: float | None = None
    auto_disconnect_timeout: float | None = None
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    allowed_attachment_types: frozenset[str] = ATTACHMENT_CONTENT_TYPES
    attachment_url_ttl: float = 300.0
    close_delay_after_end: float = 0.5
    echo_typing_to_sender: bool = True
    receipt_conflict_over_two_participants: bool = True
    default_supported_content_types: frozenset[str] = field(default=ALL_MESSAGE_TYPES)
    replay_window: float = 300.0
    attachment_scan: str | None = None
    attachment_scan_delay: float = 0.1
    max_attachments_per_contact: int | None = None
    #: The server closes each chat WebSocket this long after it opened (None: never).
    max_socket_lifetime: float | None = None
    socket_lifetime_close_code: int = 1001
    #: The request log keeps this many records, dropping the oldest first.
    max_call_records: int = DEFAULT_MAX_RECORDS
    #: Ended contacts kept (transcripts, tokens, attachments); the oldest ended goes first.
    max_ended_contacts: int = DEFAULT_MAX_ENDED_CONTACTS
    #: What the emulator does where the service reference leaves it open (behaviour.py).
    behaviour: Behaviour = field(default_factory=Behaviour)
    #: Origins (``scheme://host[:port]``) besides the emulator's own that may drive the
    #: control API (``/emulator/...``) from a browser.
    control_allowed_origins: frozenset[str] = frozenset()
    #: Frames queued for one chat WebSocket before the server closes it with 1008 (a client
    #: that sends but never reads).
    max_socket_queue: int = DEFAULT_MAX_SOCKET_QUEUE
    #: A request not fully received this long after its connection went idle is dropped
    #: (headers) or answered 408 (body); idle keep-alive connections close after it too.
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        if self.agent not in (None, "echo"):
            raise ValueError("agent must be None or 'echo'")
        if self.attachment_scan not in (None, "approve", "reject"):
            raise ValueError("attachment_scan must be None, 'approve' or 'reject'")
        for name in ("connection_token_ttl", "websocket_url_ttl", "chat_duration_minutes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_socket_lifetime is not None and self.max_socket_lifetime <= 0:
            raise ValueError("max_socket_lifetime must be positive (or None)")
        if not valid_close_code(self.socket_lifetime_close_code):
            raise ValueError("socket_lifetime_close_code must be a valid WebSocket close code")
        for name in ("max_call_records", "max_ended_contacts", "max_socket_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        # An origin is compared without its trailing slash ("http://host:3000/" is that origin).
        origins = frozenset(origin.rstrip("/") for origin in self.control_allowed_origins)
        object.__setattr__(self, "control_allowed_origins", origins)


#: The names ``Emulator(...)`` and :func:`settings_from` accept as settings.
SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Settings))

#: Settings whose ``None`` in the keyword form means "keep the base value" (the default).
_NONE_KEEPS = frozenset(
    {"allowed_attachment_types", "default_supported_content_types", "behaviour"}
)


def settings_from(
    base: Settings | None, options: Mapping[str, object], *, caller: str = "Settings"
) -> Settings:
    """``base`` (default: ``Settings()``) with ``options`` applied, in the keyword form.

    The keyword form takes any iterable of strings for a set (a single string for
    ``control_allowed_origins``), a :class:`Behaviour` or a profile name for ``behaviour``,
    and ``None`` for "the default" where ``None`` is no value of its own (``behaviour``,
    ``allowed_attachment_types``, ``default_supported_content_types``). An unknown name is a
    ``TypeError`` naming it and the valid ones; a bad value a ``ValueError``.
    """
    base = base if base is not None else Settings()
    unknown = sorted(set(options) - set(SETTING_NAMES))
    if unknown:
        raise TypeError(
            f"{caller} got unexpected keyword argument{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(name) for name in unknown)}; "
            f"the settings are: {', '.join(SETTING_NAMES)}"
        )
    changes: dict[str, object] = {}
    for name, value in options.items():
        if value is None and name in _NONE_KEEPS:
            continue
        if name == "behaviour":
            value = resolve(value)  # type: ignore[arg-type]  # resolve checks the type
        elif name == "control_allowed_origins":
            value = frozenset([value] if isinstance(value, str) else _strings(name, value))
        elif name in ("allowed_attachment_types", "default_supported_content_types"):
            value = frozenset(_strings(name, value))
        changes[name] = value
    return replace(base, **changes)  # type: ignore[arg-type]  # values: see the checks above


def _strings(name: str, value: object) -> Iterable[str]:
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of strings, got {type(value).__name__}")
    return value
