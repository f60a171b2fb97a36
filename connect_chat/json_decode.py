"""``json.loads`` for the per-frame path, without its Python-level wrapping.

Every chat frame is two JSON documents (the frame, then its ``content`` string). For a
document of a few hundred characters, ``json.loads`` spends about a third of its time outside
the C scanner: three Python calls (``loads``, ``JSONDecoder.decode``, ``raw_decode``) and two
whitespace regex matches. :func:`loads` calls the standard library's own scanner
(``JSONDecoder.scan_once``, the C one when CPython has it) directly for the usual case, a
document that starts at its first character and ends at its last. Anything else (surrounding
whitespace, extra data, an error, ``bytes``) goes through ``json.loads`` itself, so values
and errors are always ``json.loads``'s own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_standard_loads = json.loads

#: The standard decoder's scanner: ``scan(text, index) -> (value, end)``; it raises
#: ``StopIteration`` when no value starts at ``index``. ``None`` if this Python lacks it.
_scan: Callable[[str, int], tuple[Any, int]] | None = getattr(
    json.JSONDecoder(), "scan_once", None
)


def loads(text: str | bytes) -> Any:
    """Decode one JSON document exactly as ``json.loads(text)`` would (same value, same errors)."""
    if _scan is None or type(text) is not str:
        return _standard_loads(text)
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        return _standard_loads(text)  # leading whitespace, or not JSON: let json say so
    if end != len(text):
        return _standard_loads(text)  # trailing whitespace or extra data
    return value
