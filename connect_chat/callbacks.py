"""The session's callbacks, declared once: their names, types, and which event fires which.

:class:`SessionCallbacks` is the base of ``ChatSession``: each ``on_*`` attribute is
declared here (``None`` until the program sets it), :data:`CALLBACK_NAMES` is read from
those declarations, and :data:`EVENT_CALLBACKS` says which callback an event fires besides
``on_message_received``. The dispatcher reads the attributes when it fires them, so a
program may change them at any time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connect_chat.enums import ContentType
from connect_chat.models import TranscriptItem
from connect_chat.transcript import Change


class SessionCallbacks:
    """The ``on_*`` callbacks of a session (set them to callables; they run on the
    dispatcher thread, in arrival order, with no SDK lock held)."""

    on_connection_established: Callable[[], None] | None
    on_connection_broken: Callable[[], None] | None
    on_connection_reestablished: Callable[[], None] | None
    on_deep_heartbeat_failure: Callable[[], None] | None
    on_message_received: Callable[[TranscriptItem], None] | None
    on_message_updated: Callable[[TranscriptItem], None] | None
    on_transcript_updated: Callable[[Any], None] | None
    on_chat_ended: Callable[[], None] | None
    on_typing: Callable[[Any], None] | None
    on_read_receipt: Callable[[Any], None] | None
    on_delivered_receipt: Callable[[Any], None] | None
    on_participant_idle: Callable[[Any], None] | None
    on_participant_returned: Callable[[Any], None] | None
    on_auto_disconnection: Callable[[Any], None] | None
    on_participant_invited: Callable[[Any], None] | None
    on_chat_rehydrated: Callable[[Any], None] | None
    on_typing_stopped: Callable[[Any], None] | None
    on_participant_joined: Callable[[Any], None] | None
    on_participant_left: Callable[[Any], None] | None
    on_participant_display_name_updated: Callable[[Any], None] | None
    on_transfer_succeeded: Callable[[Any], None] | None
    on_transfer_failed: Callable[[Any], None] | None
    on_authentication_initiated: Callable[[Any], None] | None
    on_authentication_succeeded: Callable[[Any], None] | None
    on_authentication_failed: Callable[[Any], None] | None
    on_authentication_timeout: Callable[[Any], None] | None
    on_authentication_expired: Callable[[Any], None] | None
    on_authentication_cancelled: Callable[[Any], None] | None

    def _clear_callbacks(self) -> None:
        for name in CALLBACK_NAMES:
            setattr(self, name, None)


#: The callbacks a session offers (all ``None`` until the program sets them), in the order
#: they are declared above.
CALLBACK_NAMES: tuple[str, ...] = tuple(
    name for name in SessionCallbacks.__annotations__ if name.startswith("on_")
)

#: Live event content type -> the callback it fires (besides ``on_message_received``).
EVENT_CALLBACKS: dict[str, str] = {
    ContentType.TYPING.value: "on_typing",
    ContentType.PARTICIPANT_IDLE.value: "on_participant_idle",
    ContentType.PARTICIPANT_RETURNED.value: "on_participant_returned",
    ContentType.AUTO_DISCONNECTION.value: "on_auto_disconnection",
    ContentType.PARTICIPANT_INVITED.value: "on_participant_invited",
    ContentType.CHAT_REHYDRATED.value: "on_chat_rehydrated",
    ContentType.JOINED.value: "on_participant_joined",
    ContentType.LEFT.value: "on_participant_left",
    ContentType.PARTICIPANT_DISPLAY_NAME_UPDATED.value: "on_participant_display_name_updated",
    ContentType.TRANSFER_SUCCEEDED.value: "on_transfer_succeeded",
    ContentType.TRANSFER_FAILED.value: "on_transfer_failed",
    ContentType.AUTHENTICATION_INITIATED.value: "on_authentication_initiated",
    ContentType.AUTHENTICATION_SUCCESSFUL.value: "on_authentication_succeeded",
    ContentType.AUTHENTICATION_FAILED.value: "on_authentication_failed",
    ContentType.AUTHENTICATION_TIMEOUT.value: "on_authentication_timeout",
    ContentType.AUTHENTICATION_EXPIRED.value: "on_authentication_expired",
    ContentType.AUTHENTICATION_CANCELLED.value: "on_authentication_cancelled",
}


class Announcements:
    """Which item callback a transcript change fires (dispatcher thread).

    ``on_message_received`` once per item, when the program first learns of it (a live frame,
    a catch-up, its own send); ``on_message_updated`` for each real change of an item it knows
    (status, receipt, the server's id...); nothing for a repeat that changes nothing the
    program can see (an echo filling in ``participant_id``, a receipt sent twice).
    """

    def __init__(self) -> None:
        #: What each known item looked like when last announced (a hash), by persistent id.
        self._shown: dict[str, int] = {}

    def forget(self, items: list[TranscriptItem]) -> None:
        """These items left the transcript (``transcript_max_items``)."""
        for item in items:
            self._shown.pop(item.persistent_id or item.id, None)

    def which(self, change: Change, *, silent: bool = False) -> str | None:
        """The callback to fire for ``change`` (None: none). ``silent``: only remember what
        the item looks like (history pages fire no item callbacks)."""
        item = change.item
        key = item.persistent_id or item.id
        if change.removed:
            self._shown.pop(key, None)
            return None
        looks = hash(_visible(item))
        before = self._shown.get(key)
        self._shown[key] = looks
        if silent:
            return None
        if change.added:
            return "on_message_received"
        if before is not None and before != looks:
            return "on_message_updated"
        return None


def _visible(item: TranscriptItem) -> tuple[object, ...]:
    """What a program sees of an item: a change here is a real change."""
    return (
        item.id,
        item.content_type,
        getattr(item, "status", None),
        getattr(item, "text", None),
        getattr(item, "attachment_id", None),
        getattr(item, "display_name", None),
    )
