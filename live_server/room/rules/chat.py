"""Chat rules: what a valid message is, and the token-bucket rate limit math."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from live_server.room.events import RoomError

DEFAULT_MAX_LEN = 500
#: Messages a joining client receives in its snapshot.
SNAPSHOT_MESSAGES = 50
#: Default per-user limit: one message per second with a burst of three.
RATE_PER_SECOND = 1.0
RATE_BURST = 3.0

# Line breaks and tabs collapse to spaces; other control characters, bidi overrides and
# zero-width characters are dropped (they are invisible and are used to dodge filters).
_WHITESPACE = re.compile(r"[\t\r\n\v\f\u0085\u2028\u2029]+")
_INVISIBLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r" {2,}")


@dataclass(frozen=True)
class ChatMessage:
    """A stored chat message as the room shows it."""

    id: int
    session_id: int
    user_id: int
    author: str
    text: str
    created_at: float
    media_time: float | None
    deleted_at: float | None = None
    deleted_by: int | None = None


def clean_text(text: str, max_len: int = DEFAULT_MAX_LEN) -> str:
    """Normalises a chat message or raises RoomError ('empty' / 'too_long').

    The text is kept as plain text: nothing here (or anywhere) interprets it as HTML;
    clients render it with textContent.
    """
    text = unicodedata.normalize("NFC", text)
    text = _WHITESPACE.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    if not text:
        raise RoomError("empty", "the message is empty")
    if len(text) > max_len:
        raise RoomError("too_long", f"messages are at most {max_len} characters")
    return text


@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: tokens left and when they were counted."""

    tokens: float
    updated_at: float


def take_token(
    bucket: Bucket | None, now: float, rate: float = RATE_PER_SECOND, burst: float = RATE_BURST
) -> tuple[bool, Bucket, float]:
    """Tries to spend one token; returns (allowed, new state, seconds until the next token).

    Tokens refill continuously at `rate` per second up to `burst`; a new bucket is full.
    A clock that goes backwards refills nothing.
    """
    if bucket is None:
        tokens = burst
    else:
        elapsed = max(0.0, now - bucket.updated_at)
        tokens = min(burst, bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        return True, Bucket(tokens - 1.0, now), 0.0
    wait = (1.0 - tokens) / rate if rate > 0 else float("inf")
    return False, Bucket(tokens, now), wait


def retry_after(wait: float) -> float:
    """A wait as the `retry_after` of a refusal: seconds, rounded *up* to 0.1 s.

    Rounded to the nearest tenth, a wait under 0.05 s would read 0.0 and a client that
    honours it would be refused again; rounded up, waiting `retry_after` is always enough.
    """
    return math.ceil(max(0.0, wait) * 10) / 10


def slow_mode_wait(last_sent_at: float | None, now: float, seconds: int) -> float:
    """Seconds a user must still wait under slow mode (0 when they may post)."""
    if seconds <= 0 or last_sent_at is None:
        return 0.0
    return max(0.0, last_sent_at + seconds - now)
