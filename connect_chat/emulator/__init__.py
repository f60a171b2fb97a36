"""A local emulator of the Amazon Connect Participant Service, StartChatContact and the chat
WebSocket, faithful enough for unmodified clients (botocore, websocket-client, ChatJS).

Needs the ``emulator`` extra (aiohttp). See docs/emulator.md.
"""

from __future__ import annotations

from connect_chat.emulator.agent import AgentHandle
from connect_chat.emulator.calls import CallRecord
from connect_chat.emulator.control import SentView
from connect_chat.emulator.faults import Faults
from connect_chat.emulator.server import Emulator
from connect_chat.emulator.settings import Settings
from connect_chat.emulator.standalone import main

__all__ = ["AgentHandle", "CallRecord", "Emulator", "Faults", "SentView", "Settings", "main"]
