"""``ViewResource``: the form behind an interactive ViewResource message (DescribeView)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from connect_chat.interactive.fields import (
    field_int,
    field_str,
    field_strs,
)

log = logging.getLogger(__name__)


# -- DescribeView -------------------------------------------------------------------------------


@attrs.frozen
class ViewResource:
    """A view as DescribeView returns it (iOS ``ViewResource``).

    ``content`` keeps only the keys the service defines and that are present: ``Actions``
    (list of strings), ``InputSchema`` and ``Template`` (JSON documents as strings); it is
    ``None`` when none is present.
    """

    id: str | None = None
    name: str | None = None
    arn: str | None = None
    version: int | None = None
    content: dict[str, Any] | None = attrs.field(default=None, hash=False)

    @classmethod
    def from_service(cls, response: Mapping[str, Any]) -> ViewResource:
        """Build from a DescribeView response (``{"View": {...}}``) or its ``View`` object."""
        view = response.get("View", response) if isinstance(response, Mapping) else {}
        if not isinstance(view, Mapping):
            view = {}
        raw_content = view.get("Content")
        content: dict[str, Any] | None = None
        if isinstance(raw_content, Mapping):
            content = {}
            actions = raw_content.get("Actions")
            if isinstance(actions, list):
                content["Actions"] = [a for a in actions if isinstance(a, str)]
            for key in ("InputSchema", "Template"):
                if isinstance(raw_content.get(key), str):
                    content[key] = raw_content[key]
            content = content or None
        return cls(
            id=field_str(view, "Id"),
            name=field_str(view, "Name"),
            arn=field_str(view, "Arn"),
            version=field_int(view, "Version"),
            content=content,
        )

    @property
    def actions(self) -> tuple[str, ...]:
        """The view's actions (for example ``("submit", "cancel")``)."""
        return field_strs(self.content or {}, "Actions")

    @property
    def template(self) -> Any:
        """``Content.Template`` decoded from JSON (``None`` if absent or not JSON)."""
        return _json_or_none((self.content or {}).get("Template"))

    @property
    def input_schema(self) -> Any:
        """``Content.InputSchema`` decoded from JSON (``None`` if absent or not JSON)."""
        return _json_or_none((self.content or {}).get("InputSchema"))


def _json_or_none(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting depth
        return None
