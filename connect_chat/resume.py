"""Carry a chat from one process to another (web apps with many workers).

:class:`SavedChat` (``saved_chat``) is everything another process needs; :class:`RestChat`
(``rest_chat``) goes on with it over REST only; :func:`resume_session` goes on with it fully:
a new WebSocket, and what was missed meanwhile fetched. This module is the public entry
point for all of them (``from connect_chat.resume import RestChat, SavedChat, ...``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connect_chat.errors import (
    AccessDeniedError,
    InvalidInputError,
    ParticipantTokenRefusedError,
)
from connect_chat.gapfill import items_after
from connect_chat.models import TranscriptItem
from connect_chat.rest_chat import RestChat
from connect_chat.saved_chat import (
    SAVED_CHAT_VERSION,
    STORED_EVENT_TYPES,
    TOKEN_EXPIRY_MARGIN,
    SavedChat,
    ended_message,
    is_service_item,
)
from connect_chat.timestamps import time_key

if TYPE_CHECKING:
    from connect_chat.config import GlobalConfig
    from connect_chat.session import ChatSession

__all__ = [
    "SAVED_CHAT_VERSION",
    "STORED_EVENT_TYPES",
    "TOKEN_EXPIRY_MARGIN",
    "RestChat",
    "SavedChat",
    "is_service_item",
    "resume_session",
    "resumed_session",
]

logger = logging.getLogger(__name__)


def resume_session(
    session: ChatSession,
    saved: SavedChat,
    *,
    timeout: float | None = None,
    max_pages: int = 50,
) -> list[TranscriptItem]:
    """Go on with a saved chat in ``session``, fully: a new WebSocket, and the gap filled.

    ``session`` must not be connected; its configuration should point where the chat lives
    (``GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)``). The session
    connects with the saved participant token (a fresh connection: the saved WebSocket URL
    is only valid for 100 s), then fetches every item after ``saved.last_item_id`` into its
    transcript. Returns those missed items, oldest first (the live ones then arrive through
    the callbacks as usual). The process that saved the chat should have let go of it with
    ``session.reset()`` (``disconnect()`` would leave the chat). Raises
    :class:`~connect_chat.errors.ChatEndedError` if the chat is over.
    """
    if not isinstance(saved, SavedChat):
        raise InvalidInputError("resume_session needs a SavedChat (see SavedChat.from_dict)")
    config = session.global_config
    if (config.endpoint_url or None) != (saved.endpoint_url or None):
        raise InvalidInputError(
            "the session's endpoint_url is not the saved chat's: build the session with "
            "GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)"
        )
    try:
        session.connect(saved.chat_details(), timeout=timeout)
    except AccessDeniedError as error:
        raise ParticipantTokenRefusedError.refusing(error, ended_message(saved)) from error
    if saved.last_item_id is None:
        return [item for item in session.transcript if is_service_item(item)]
    missed = items_after(
        session.get_transcript, saved.last_item_id, saved.last_item_time, 100, max_pages
    )
    missed.sort(key=lambda item: time_key(item.time_stamp))
    return missed


def resumed_session(
    saved: SavedChat, config: GlobalConfig | None = None, *, timeout: float | None = None
) -> tuple[ChatSession, list[TranscriptItem]]:
    """A new :class:`ChatSession` that goes on with ``saved``, and the items it missed.

    ``config`` (a ``GlobalConfig``) defaults to the saved region and endpoint; set the
    callbacks on the returned session, or pass ``config`` and use :func:`resume_session`
    on a session whose callbacks are set before it connects.
    """
    from connect_chat.config import GlobalConfig
    from connect_chat.session import ChatSession

    if config is None:
        config = GlobalConfig(region=saved.region, endpoint_url=saved.endpoint_url)
    session = ChatSession(config)
    try:
        missed = resume_session(session, saved, timeout=timeout)
    except BaseException:
        session.reset()
        raise
    return session, missed
