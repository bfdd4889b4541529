"""The live room's Socket.IO vocabulary: the core event names and payload schemas, and
the payload validation every room event goes through.

Client -> server events are validated before any service sees them (`check_payload`, called
by `live_server.room.registry.RoomEventRegistry.validate`). Each one is answered through its
acknowledgement with either ``{"ok": true, ...}`` or ``{"error": {"code", "message"}}``;
nothing a client sends raises out of the transport. The room's own events are named and
described here (`SCHEMAS`) and bound to their handlers in `live_server.room.core_events`;
other features (auctions, ...) declare theirs in their own module with `Field` and
`id_field` and register them in the registry. Server -> client event names are constants
here too, so the transport, the services, ``docs/realtime.md`` and the web client agree on
one spelling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from live_server.platform.errors import DomainError, Invalid
from live_server.platform.words import label, sentence
from live_server.room.rules.presence import TIERS

# -- client -> server ---------------------------------------------------------------------
JOIN = "room:join"
LEAVE = "room:leave"
CHAT_SEND = "chat:send"
REACTION_SEND = "reaction:send"
PIN_ADD = "pin:add"
PIN_REMOVE = "pin:remove"
MOD_DELETE = "mod:delete"
MOD_TIMEOUT = "mod:timeout"
MOD_BAN = "mod:ban"
MOD_UNBAN = "mod:unban"
MOD_SETTINGS = "mod:settings"
MOD_BLOCKED_WORDS = "mod:blocked_words"
MOD_LOG = "mod:log"
WATCH_TIER = "room:watch_tier"
PRESENCE = "room:presence"

# -- server -> client ---------------------------------------------------------------------
CHAT_MESSAGE = "chat:message"
CHAT_REMOVED = "chat:removed"
ROOM_TICK = "room:tick"
ROOM_STATE = "room:state"
ROOM_SETTINGS = "room:settings"
ROOM_BANNED = "room:banned"
ROOM_TIMEOUT = "room:timeout"
MOD_LOG_ENTRY = "mod:log_entry"

#: Whole payload budget for one client event (JSON-encoded bytes).
MAX_PAYLOAD_BYTES = 8 * 1024
MAX_ID = 2**53 - 1


class RoomError(DomainError):
    """A refusal sent back through the acknowledgement, e.g. code 'rate_limited'."""

    status = 400
    code = "invalid"

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, code=code)
        self.extra = extra


def error_ack(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The acknowledgement body of a refused event."""
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return {"error": body}


def ack_for(exc: DomainError) -> dict[str, Any]:
    """Turns any domain error into its acknowledgement body."""
    extra = getattr(exc, "extra", None) or {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None and "retry_after" not in extra:
        extra = {**extra, "retry_after": retry_after}
    if exc.field and "field" not in extra:
        extra = {**extra, "field": exc.field}
    return error_ack(exc.code, exc.message, **extra)


# -- field types --------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One payload field: its type and bounds."""

    kind: str  # "int" | "str" | "bool" | "enum" | "str_list"
    required: bool = True
    min: int = 0
    max: int = MAX_ID
    choices: tuple[str, ...] = ()
    max_items: int = 0


def id_field(required: bool = True) -> Field:
    """A positive integer id (a session, product, user or message id)."""
    return Field("int", required=required, min=1, max=MAX_ID)


REACTION_KINDS: tuple[str, ...] = ("heart", "fire", "clap", "laugh", "wow", "cart")

#: The room's own client events. Text limits are checked again by the chat rules (the
#: configured maximum may be lower).
SCHEMAS: dict[str, dict[str, Field]] = {
    JOIN: {"session_id": id_field()},
    LEAVE: {"session_id": id_field()},
    CHAT_SEND: {
        "session_id": id_field(),
        "text": Field("str", min=1, max=4000),
        "client_id": Field("str", required=False, min=1, max=64),
    },
    REACTION_SEND: {
        "session_id": id_field(),
        "kind": Field("enum", choices=REACTION_KINDS),
        "count": Field("int", required=False, min=1, max=50),
    },
    PIN_ADD: {"session_id": id_field(), "product_id": id_field()},
    PIN_REMOVE: {"session_id": id_field(), "product_id": id_field()},
    MOD_DELETE: {"session_id": id_field(), "message_id": id_field()},
    MOD_TIMEOUT: {
        "session_id": id_field(),
        "user_id": id_field(),
        "seconds": Field("int", min=1, max=7 * 24 * 3600),
        "reason": Field("str", required=False, min=0, max=200),
    },
    MOD_BAN: {
        "session_id": id_field(),
        "user_id": id_field(),
        "reason": Field("str", required=False, min=0, max=200),
    },
    MOD_UNBAN: {"session_id": id_field(), "user_id": id_field()},
    MOD_SETTINGS: {
        "session_id": id_field(),
        "slow_mode_seconds": Field("int", required=False, min=0, max=3600),
        "allow_anonymous": Field("bool", required=False),
    },
    MOD_BLOCKED_WORDS: {
        # Without "words" the list is only read; with it, the list is replaced.
        "session_id": id_field(),
        "words": Field("str_list", required=False, min=1, max=50, max_items=200),
    },
    MOD_LOG: {"session_id": id_field(), "limit": Field("int", required=False, min=1, max=200)},
    # which video tier the viewer page plays (counted per tier in presence)
    WATCH_TIER: {"session_id": id_field(), "tier": Field("enum", choices=TIERS)},
    PRESENCE: {"session_id": id_field()},
}

#: The room's own client events; features add theirs through the RoomEventRegistry.
CLIENT_EVENTS: tuple[str, ...] = tuple(SCHEMAS)
SERVER_EVENTS: tuple[str, ...] = (
    CHAT_MESSAGE,
    CHAT_REMOVED,
    ROOM_TICK,
    ROOM_STATE,
    ROOM_SETTINGS,
    ROOM_BANNED,
    ROOM_TIMEOUT,
    MOD_LOG_ENTRY,
)


def _words(name: str) -> str:
    """A payload key in words for a refusal ("duration_s" -> "duration")."""
    return label(name)


def _range(name: str, spec: Field) -> str:
    unit = " seconds" if name.endswith("_s") else (" minutes" if name.endswith("_minutes") else "")
    return f"{spec.min:,} to {spec.max:,}{unit}"


def _check_field(name: str, spec: Field, value: Any) -> Any:
    what = _words(name)
    if spec.kind == "int":
        # bool is an int subclass in Python; JSON true must not pass as 1.
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"The {what} must be a whole number.", field=name)
        if not spec.min <= value <= spec.max:
            raise Invalid(f"The {what} must be {_range(name, spec)}.", field=name)
        return value
    if spec.kind == "str":
        if not isinstance(value, str):
            raise Invalid(f"The {what} must be text.", field=name)
        if len(value) > spec.max:
            raise RoomError(
                "too_long", f"The {what} is longer than {spec.max:,} characters.", field=name
            )
        if len(value) < spec.min:
            raise Invalid(sentence(f"{what} must not be empty"), field=name)
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(f"The {what} must be yes or no.", field=name)
        return value
    if spec.kind == "enum":
        if not isinstance(value, str) or value not in spec.choices:
            raise Invalid(f"The {what} must be one of: {', '.join(spec.choices)}.", field=name)
        return value
    if spec.kind == "str_list":
        if not isinstance(value, list):
            raise Invalid(f"Choose the {what} from the list.", field=name)
        if len(value) > spec.max_items:
            raise RoomError("too_long", f"Choose at most {spec.max_items} {what}.", field=name)
        for item in value:
            if not isinstance(item, str) or not spec.min <= len(item) <= spec.max:
                raise Invalid(f"Choose the {what} from the list.", field=name)
        return list(value)
    raise AssertionError(f"unknown field kind {spec.kind}")  # pragma: no cover


def _size(data: Mapping[Any, Any]) -> int:
    """The payload's JSON size; flat payloads of short values (taps) skip the encoding."""
    flat = 0
    for key, value in data.items():
        if isinstance(value, bool | int | float | None) or (
            isinstance(value, str) and len(value) < 256
        ):
            flat += len(str(key)) + 32 + (len(value) * 4 if isinstance(value, str) else 0)
            continue
        try:
            return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        except (TypeError, ValueError) as exc:  # binary attachments and the like
            raise Invalid("the payload must be plain JSON") from exc
    return flat


def check_payload(schema: Mapping[str, Field], data: Any) -> dict[str, Any]:
    """Checks one client payload against a schema; returns it cleaned or raises a DomainError.

    Non-object payloads, oversize payloads, unknown keys, missing keys and wrong types are
    all refused here.
    """
    if not isinstance(data, Mapping):
        raise Invalid("the payload must be a JSON object")
    if _size(data) > MAX_PAYLOAD_BYTES:
        raise RoomError("too_large", f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    unknown = [key for key in data if key not in schema]
    if unknown:
        raise Invalid(f"Unknown field: {str(unknown[0])[:40]}.")
    cleaned: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in data or data[name] is None:
            if spec.required:
                raise Invalid(sentence(f"{_words(name)} is required"), field=name)
            continue
        cleaned[name] = _check_field(name, spec, data[name])
    return cleaned


def validate(event: str, data: Any) -> dict[str, Any]:
    """Checks one of the room's own client events (see `check_payload`).

    The transport validates through the RoomEventRegistry, which knows every feature's
    events; this is the same check for the core vocabulary alone.
    """
    schema = SCHEMAS.get(event)
    if schema is None:
        raise RoomError("unknown_event", "unknown event")
    return check_payload(schema, data)
