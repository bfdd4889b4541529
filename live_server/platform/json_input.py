"""Decoding JSON that comes from outside: REST bodies and Socket.IO event payloads.

The stdlib parser recurses once per nesting level, so a body of ten thousand `[` raised
`RecursionError` (a 500) before any handler saw it. Every decoder of client JSON goes
through `parse_json`, which refuses such input as a `JsonRefused` (a `ValueError`) with a
message a person understands.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deeper than anything the API accepts (its bodies nest three levels at most), far below
#: where the parser's recursion becomes a problem.
MAX_JSON_DEPTH = 32


class JsonRefused(ValueError):
    """Client JSON that is not valid or not acceptable; the message is for people."""


def parse_json(raw: str | bytes, what: str = "the body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decodes `raw`; raises `JsonRefused` when it is not JSON or nests deeper than
    `max_depth` arrays and objects (`what` names the input in the message)."""
    too_deep = JsonRefused(
        f"{what} is nested too deeply (at most {max_depth} levels of arrays and objects)"
    )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JsonRefused(f"{what} is not valid JSON") from exc
    # Counting brackets (in C) bounds the depth from above: most bodies need no walk.
    opening = raw.count("[") + raw.count("{") if isinstance(raw, str) else _count(raw)
    if opening > max_depth and _depth(value) > max_depth:
        raise too_deep
    # A `\ud800` escape decodes to a lone surrogate, text no encoder takes (SQLite raised
    # UnicodeEncodeError: a 500). Only an escape can make one, so most input needs no check.
    escape = _SURROGATE_ESCAPE.search(raw) if isinstance(raw, bytes) else _TEXT_ESCAPE.search(raw)
    if escape:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRefused(
                f"{what} holds a \\u escape that is not a character (a lone surrogate)"
            ) from None
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_TEXT_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _count(raw: bytes) -> int:
    return raw.count(b"[") + raw.count(b"{")


def _depth(value: Any) -> int:
    """How many arrays and objects nest in `value`, walked without recursion."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return deepest
