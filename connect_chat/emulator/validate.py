"""Request-body checks the service does and botocore does not (max lengths, enums, ranges)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from connect_chat.emulator.errors import ApiError, validation

ErrorFactory = Callable[[str], ApiError]


def _field(name: str) -> str:
    return name[:1].lower() + name[1:]


def get_str(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    min_len: int = 1,
    max_len: int | None = None,
    error: ErrorFactory = validation,
) -> str | None:
    """A string member, checked against the model's constraints."""
    value = body.get(name)
    if value is None:
        if required:
            raise error(
                f"1 validation error detected: Value null at '{_field(name)}' failed to "
                "satisfy constraint: Member must not be null"
            )
        return None
    if not isinstance(value, str):
        raise error(f"Value at '{_field(name)}' must be a string")
    if len(value) < min_len:
        raise error(
            f"1 validation error detected: Value at '{_field(name)}' failed to satisfy "
            f"constraint: Member must have length greater than or equal to {min_len}"
        )
    if max_len is not None and len(value) > max_len:
        raise error(
            f"1 validation error detected: Value at '{_field(name)}' failed to satisfy "
            f"constraint: Member must have length less than or equal to {max_len}"
        )
    return value


def get_int(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    error: ErrorFactory = validation,
) -> int | None:
    """An integer member within the model's range."""
    value = body.get(name)
    if value is None:
        if required:
            raise error(
                f"1 validation error detected: Value null at '{_field(name)}' failed to "
                "satisfy constraint: Member must not be null"
            )
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"Value at '{_field(name)}' must be an integer")
    if minimum is not None and value < minimum:
        raise error(
            f"1 validation error detected: Value '{value}' at '{_field(name)}' failed to "
            f"satisfy constraint: Member must have value greater than or equal to {minimum}"
        )
    if maximum is not None and value > maximum:
        raise error(
            f"1 validation error detected: Value '{value}' at '{_field(name)}' failed to "
            f"satisfy constraint: Member must have value less than or equal to {maximum}"
        )
    return value


def get_enum(
    body: dict[str, Any],
    name: str,
    allowed: Collection[str],
    *,
    error: ErrorFactory = validation,
) -> str | None:
    """An enum member: one of ``allowed``."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise error(
            f"1 validation error detected: Value '{value}' at '{_field(name)}' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(sorted(allowed))}]"
        )
    return value


def get_dict(
    body: dict[str, Any], name: str, *, error: ErrorFactory = validation
) -> dict[str, Any]:
    """A structure member; absent means ``{}``."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise error(f"Value at '{_field(name)}' must be a structure")
    return value


def get_list(
    body: dict[str, Any], name: str, *, error: ErrorFactory = validation
) -> list[Any] | None:
    """A list member; absent means ``None``."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise error(f"Value at '{_field(name)}' must be a list")
    return value
