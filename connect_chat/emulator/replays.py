"""Idempotent requests: the answer kept for a repeat of a request with the same ClientToken.

The service answers a retried SendMessage, SendEvent, DisconnectParticipant... with the
same ``ClientToken`` and body by replaying its first answer, within a window
(``Settings.replay_window``); this keeps those answers. Loop thread only, like the state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from connect_chat.emulator.settings import Settings

#: Above this many kept answers, those past the window are dropped (memory stays bounded).
MAX_KEPT = 20000


class Replays:
    """The answers kept per (participant, operation, ClientToken)."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings  # asked each time: the state owns them
        self._answers: dict[tuple[str, str, str], tuple[str, float, dict[str, Any]]] = {}

    def replayed(
        self, participant_id: str, operation: str, client_token: str | None, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The stored answer for a repeat of the same request with the same ClientToken."""
        if not client_token:
            return None
        hit = self._answers.get((participant_id, operation, client_token))
        if hit is None or time.monotonic() - hit[1] > self._settings().replay_window:
            return None
        return hit[2] if hit[0] == _fingerprint(body) else None

    def remember(
        self,
        participant_id: str,
        operation: str,
        client_token: str | None,
        body: dict[str, Any],
        answer: dict[str, Any],
    ) -> None:
        if not client_token:
            return
        now = time.monotonic()
        if len(self._answers) > MAX_KEPT:
            window = self._settings().replay_window
            self._answers = {k: v for k, v in self._answers.items() if now - v[1] <= window}
        self._answers[(participant_id, operation, client_token)] = (_fingerprint(body), now, answer)


def _fingerprint(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if k != "ClientToken"}, sort_keys=True)
