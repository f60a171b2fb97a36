"""The Python handle that plays the agent of one contact (``emu.agent(contact_id)``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from connect_chat.emulator.control import Control, SentView
from connect_chat.enums import ContentType

T = TypeVar("T")


class ControlRunner(Protocol):
    """What a handle needs of the :class:`~connect_chat.emulator.server.Emulator`: a way to
    run a call on its :class:`Control`, on the server's loop (no import of the server)."""

    def _run(self, fn: Callable[[Control], T]) -> T: ...


class AgentHandle:
    """Agent actions on one contact. Actions before :meth:`join` join as ``"Agent"`` first."""

    def __init__(self, emulator: ControlRunner, contact_id: str) -> None:
        self._emu = emulator
        self.contact_id = contact_id

    def __repr__(self) -> str:
        return f"AgentHandle(contact_id={self.contact_id!r})"

    @property
    def participant_id(self) -> str | None:
        """The current agent's participant id (``None`` before join or after leave)."""
        return self._emu._run(lambda c: c.agent_participant_id(self.contact_id))

    def join(self, display_name: str = "Agent") -> str:
        """A new agent joins (``participant.joined``); returns its participant id."""
        return self._emu._run(lambda c: c.agent_join(self.contact_id, display_name))

    def send_message(
        self, content: str, content_type: ContentType | str = ContentType.PLAIN_TEXT
    ) -> str:
        """A MESSAGE from the agent; returns the item id."""
        answer = self._emu._run(
            lambda c: c.agent_message(self.contact_id, content, str(content_type))
        )
        return str(answer["Id"])

    def send_event(self, content_type: ContentType | str, content: str | None = None) -> str | None:
        """Typing, a receipt (``content='{"messageId": ...}'``) or any other agent event.

        Returns the id of the pushed item (``None`` for a receipt that changed nothing).
        """
        answer = self._emu._run(
            lambda c: c.agent_event(self.contact_id, str(content_type), content)
        )
        return answer["Id"]  # type: ignore[no-any-return]

    def send_receipt(self, message_id: str, read: bool = True) -> str | None:
        """The agent read (or got delivered) ``message_id``: a MESSAGEMETADATA item is pushed."""
        answer = self._emu._run(lambda c: c.agent_receipt(self.contact_id, message_id, read))
        return answer["Id"]  # type: ignore[no-any-return]

    def leave(self) -> None:
        """The agent leaves (``participant.left``); the chat goes on."""
        self._emu._run(lambda c: c.agent_leave(self.contact_id))

    def update_display_name(self, display_name: str) -> str:
        """``participant.displayname.updated`` for the agent; later items carry the new name."""
        return str(
            self._emu._run(lambda c: c.agent_display_name(self.contact_id, display_name))["Id"]
        )

    def send_interactive(self, template: dict[str, Any] | str, *, from_bot: bool = True) -> str:
        """An interactive message (ListPicker, QuickReply...); from a SYSTEM ``BOT`` by default."""
        return str(
            self._emu._run(lambda c: c.send_interactive(self.contact_id, template, from_bot))["Id"]
        )

    def send_view(
        self,
        *,
        view_id: str = "view-1",
        name: str = "View",
        template: dict[str, Any] | str | None = None,
        input_schema: dict[str, Any] | str | None = None,
        actions: Sequence[str] = ("submit", "cancel"),
        version: int = 1,
        view_data: dict[str, Any] | None = None,
        from_bot: bool = True,
    ) -> SentView:
        """A ViewResource message whose ViewToken DescribeView answers (for this contact)."""
        return self._emu._run(
            lambda c: c.send_view(
                self.contact_id,
                view_id=view_id,
                name=name,
                template=template or {},
                input_schema=input_schema or {},
                actions=list(actions),
                version=version,
                view_data=view_data,
                from_bot=from_bot,
            )
        )

    def send_attachment(self, name: str, data: bytes, content_type: str) -> str:
        """An ATTACHMENT from the agent the customer can fetch with GetAttachment; its id."""
        return self._emu._run(
            lambda c: c.agent_attachment(self.contact_id, name, data, content_type)
        )
