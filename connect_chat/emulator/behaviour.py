"""The behaviour matrix: one knob per point the service reference leaves open.

Where the project's service reference does not decide (or marks a sample INFERRED), the
emulator picks a default and offers the alternatives here, so a client's tests can run under
every plausible service. See docs/emulator.md, "Behaviours the service does not document".

Mapping form (``to_mapping`` / ``from_mapping``, the HTTP control API, ``--behaviour``): the
snake-case field names below; values are the Python values, or for the command line their
text (``true``/``false`` for switches).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

#: Allowed values of each knob, the default first.
_KNOBS: dict[str, tuple[object, ...]] = {
    "transcript_events": ("documented", "all"),
    "forward_includes_start": (False, True),
    "answer_subscribe": (True, False),
    "left_before_ended": (True, False),
    "rebroadcast_unchanged_receipts": (False, True),
    "receipts_recipients": ("all", "sender"),
    "record_own_receipts": (False, True),
    "disconnect_replay": ("200", "403"),
    "customer_joined_at": ("start", "subscribe"),
    "socket_drop": ("abort", "1011", "1000", "1001"),
    "reuse_websocket_url": (True, False),
    "honour_unsubscribe": (True, False),
    "max_results_zero": ("empty_without_token", "empty_with_token"),
}

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class Behaviour:
    """How the emulator decides what the service reference leaves open (docs/emulator.md,
    'Behaviours the service does not document')."""

    #: "documented": the transcript stores messages, attachments and joined/left/invited/
    #: ended/transfer events only (typing, receipts, idle, returned, auto-disconnection,
    #: display name updated, rehydrated and the authentication events are live-only);
    #: "all": every event (and every MESSAGEMETADATA receipt item) is stored too.
    transcript_events: str = "documented"
    #: A FORWARD page from ``StartPosition.Id`` also contains the start item itself.
    forward_includes_start: bool = False
    #: ``aws/subscribe`` gets its ``{"status": "success"}`` answer; False: never answered
    #: (the subscription still takes effect).
    answer_subscribe: bool = True
    #: At a chat end, ``participant.left`` for each agent before ``chat.ended`` (True) or
    #: only ``chat.ended`` (False).
    left_before_ended: bool = True
    #: A receipt that changes nothing is broadcast again (True) or dropped (False).
    rebroadcast_unchanged_receipts: bool = False
    #: "all": a pushed MESSAGEMETADATA item lists every recipient of the message; "sender":
    #: only the participant whose receipt caused it.
    receipts_recipients: str = "all"
    #: A receipt a participant sends on its own message is recorded and broadcast (True) or
    #: accepted and ignored (False).
    record_own_receipts: bool = False
    #: DisconnectParticipant retried with the same ClientToken after it succeeded: "200"
    #: (the first answer is replayed) or "403" (AccessDenied: the participant is gone).
    disconnect_replay: str = "200"
    #: "start": the customer's ``participant.joined`` is stored at StartChatContact (and
    #: replayed to its first subscribed socket); "subscribe": stored at that subscription.
    customer_joined_at: str = "start"
    #: How ``faults.drop_websockets()`` drops a socket: "abort" (TCP reset, no close frame)
    #: or a close frame with code 1011, 1000 or 1001.
    socket_drop: str = "abort"
    #: A WebSocket URL may be opened again within its expiry (True) or once (False: a second
    #: upgrade gets HTTP 403).
    reuse_websocket_url: bool = True
    #: ``aws/unsubscribe`` stops ``aws/chat`` frames on that socket (True) or is ignored,
    #: unanswered (False).
    honour_unsubscribe: bool = True
    #: GetTranscript ``MaxResults=0``: an empty page without a NextToken, or with one when
    #: the scan has items ("empty_with_token"; the token continues the same scan).
    max_results_zero: str = "empty_without_token"

    def __post_init__(self) -> None:
        for name, allowed in _KNOBS.items():
            value = getattr(self, name)
            if value not in allowed or type(value) is not type(allowed[0]):
                raise ValueError(f"behaviour {name} must be one of {_show(allowed)}, not {value!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], base: Behaviour | None = None) -> Behaviour:
        """``base`` (default: all defaults) with the knobs of ``mapping`` changed.

        Raises ``ValueError`` naming an unknown knob or a value the knob does not allow.
        Switches accept ``true``/``false`` text as well as booleans; ``socket_drop`` accepts
        the code as an integer too.
        """
        changes = {name: _coerce(name, value) for name, value in mapping.items()}
        return replace(base if base is not None else cls(), **changes)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, object]:
        """Every knob by its snake-case name (JSON-ready)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _show(allowed: tuple[object, ...]) -> str:
    return ", ".join(repr(v) for v in allowed)


def _coerce(name: str, value: object) -> object:
    if name not in _KNOBS:
        raise ValueError(f"unknown behaviour knob {name!r}; known: {', '.join(_KNOBS)}")
    allowed = _KNOBS[name]
    if isinstance(allowed[0], bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
    elif isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) in allowed:
        return str(value)
    raise ValueError(f"behaviour {name} must be one of {_show(allowed)}, not {value!r}")


def parse_assignment(text: str) -> tuple[str, object]:
    """``"knob=value"`` (the ``--behaviour`` flag) as ``(knob, value)``; ``ValueError`` if bad."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--behaviour wants KNOB=VALUE, got {text!r}")
    name = name.strip().replace("-", "_")
    return name, _coerce(name, value.strip())


def knobs() -> dict[str, tuple[object, ...]]:
    """Each knob's name -> all its allowed values, the default first."""
    return dict(_KNOBS)


PROFILES: dict[str, Behaviour] = {
    "default": Behaviour(),
    "unusual": Behaviour(**{name: values[1] for name, values in _KNOBS.items()}),  # type: ignore[arg-type]
}


def profile(name: str) -> Behaviour:
    """The named profile; ``ValueError`` naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown behaviour profile {name!r}; known: {', '.join(PROFILES)}"
        ) from None


def resolve(behaviour: Behaviour | str | None) -> Behaviour:
    """A ``Behaviour`` from a Behaviour, a profile name or ``None`` (the defaults)."""
    if behaviour is None:
        return Behaviour()
    if isinstance(behaviour, str):
        return profile(behaviour)
    if isinstance(behaviour, Behaviour):
        return behaviour
    raise TypeError("behaviour must be a Behaviour, a profile name or None")


def variants() -> list[tuple[str, Behaviour]]:
    """The defaults, each knob flipped alone to each other value, then ``"unusual"``.

    The strings are meant as pytest ids (``"socket_drop=1011"``).
    """
    out: list[tuple[str, Behaviour]] = [("default", Behaviour())]
    for name, values in _KNOBS.items():
        for value in values[1:]:
            label = str(value).lower() if isinstance(value, bool) else str(value)
            out.append((f"{name}={label}", Behaviour(**{name: value})))  # type: ignore[arg-type]
    out.append(("unusual", PROFILES["unusual"]))
    return out
