"""The documented older home of ``start_chat_contact`` (docs/api.md): :mod:`connect_chat.contact`.

Not part of the command line (the ``connect-chat`` command, :mod:`connect_chat.cli`, uses
:mod:`connect_chat.contact` directly); kept for code written against it (the Django example,
:mod:`connect_chat.locust`): ``emulator_credentials=True`` now means an unsigned request
(``anonymous=True``), which the emulator accepts; every error is a ``ConnectChatError``.
"""

from __future__ import annotations

from collections.abc import Mapping

from connect_chat.contact import (
    EMULATOR_CONTACT_FLOW_ID,
    EMULATOR_INSTANCE_ID,
    SUPPORTED_MESSAGING_CONTENT_TYPES,
    CredentialsError,
)
from connect_chat.contact import start_chat_contact as _start_chat_contact
from connect_chat.models import ChatDetails

__all__ = [
    "EMULATOR_CONTACT_FLOW_ID",
    "EMULATOR_INSTANCE_ID",
    "SUPPORTED_MESSAGING_CONTENT_TYPES",
    "CredentialsError",
    "start_chat_contact",
]


def start_chat_contact(
    *,
    instance_id: str,
    contact_flow_id: str,
    display_name: str = "Customer",
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    attributes: Mapping[str, str] | None = None,
    emulator_credentials: bool = False,
    connect_timeout: float = 10.0,
) -> ChatDetails:
    """:func:`connect_chat.contact.start_chat_contact`; ``emulator_credentials`` = unsigned."""
    return _start_chat_contact(
        instance_id=instance_id,
        contact_flow_id=contact_flow_id,
        display_name=display_name,
        region=region,
        endpoint_url=endpoint_url,
        profile=profile,
        attributes=attributes,
        anonymous=True if emulator_credentials else None,
        connect_timeout=connect_timeout,
    )
