"""Model classes (attrs): what the SDK hands to the program and takes from it."""

from __future__ import annotations

import attrs


@attrs.frozen
class ChatDetails:
    """What ``StartChatContact`` returned: the customer's identity in one contact.

    ``participant_token`` is a secret: it is kept out of ``repr``.
    """

    participant_token: str = attrs.field(repr=False)
    contact_id: str | None = None
    participant_id: str | None = None
