"""Moderation rules: who may moderate, blocked words, timeouts, slow mode and pin limits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from live_server.platform.errors import Conflict, Forbidden, Invalid
from live_server.platform.identity import Principal

MAX_PINS = 3
MAX_BLOCKED_WORDS = 200
MAX_BLOCKED_WORD_LEN = 50
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_SLOW_MODE_SECONDS = 3600


class Action(StrEnum):
    """What a moderation log entry records."""

    DELETE = "delete"
    TIMEOUT = "timeout"
    BAN = "ban"
    UNBAN = "unban"
    SLOW_MODE = "slow_mode"
    ALLOW_ANONYMOUS = "allow_anonymous"
    BLOCKED_WORDS = "blocked_words"
    PIN = "pin"
    UNPIN = "unpin"


@dataclass(frozen=True)
class LogEntry:
    """One moderation log line."""

    id: int
    session_id: int
    actor_id: int
    actor: str
    action: Action
    target_user_id: int | None
    target_message_id: int | None
    detail: str
    created_at: float
    #: whom and what the action was about, by name (None when it was about nobody)
    target_user: str | None = None
    target_product_id: int | None = None
    target_product: str | None = None


@dataclass(frozen=True)
class RoomConfig:
    """Per-session room settings that every node enforces."""

    slow_mode_seconds: int = 0
    allow_anonymous: bool = True
    blocked_words: tuple[str, ...] = ()


def can_moderate(
    principal: Principal | None, host_id: int | None, moderator_ids: Collection[int]
) -> bool:
    """True for the session's host, its moderators and admins."""
    if principal is None:
        return False
    return principal.is_admin or principal.user_id == host_id or principal.user_id in moderator_ids


def require_moderator(
    principal: Principal | None, host_id: int | None, moderator_ids: Collection[int]
) -> Principal:
    """Returns the principal if it may moderate this session, else raises Forbidden."""
    if principal is None or not can_moderate(principal, host_id, moderator_ids):
        raise Forbidden("only the host and this session's moderators may do that")
    return principal


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def clean_blocked_words(words: Iterable[str]) -> tuple[str, ...]:
    """Normalises a blocked-words list: folded case, trimmed, unique, bounded."""
    seen: dict[str, None] = {}
    for raw in words:
        word = " ".join(_fold(raw).split())
        if not word:
            continue
        if len(word) > MAX_BLOCKED_WORD_LEN:
            raise Invalid(f"blocked words are at most {MAX_BLOCKED_WORD_LEN} characters")
        seen.setdefault(word, None)
    if len(seen) > MAX_BLOCKED_WORDS:
        raise Invalid(f"at most {MAX_BLOCKED_WORDS} blocked words")
    return tuple(sorted(seen))


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    # Longest first so "bad word" wins over "bad"; \w-lookarounds are word boundaries that
    # also work for words starting or ending with punctuation.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def find_blocked_word(text: str, words: tuple[str, ...]) -> str | None:
    """The first blocked word in `text` (case-insensitive, whole words only), or None."""
    pattern = _pattern(words)
    if pattern is None:
        return None
    match = pattern.search(_fold(text))
    return match.group(0) if match else None


def check_timeout_seconds(seconds: int) -> int:
    """Validates a timeout length."""
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise Invalid(f"a timeout lasts 1-{MAX_TIMEOUT_SECONDS} seconds")
    return seconds


def check_slow_mode(seconds: int) -> int:
    """Validates a slow-mode interval (0 turns it off)."""
    if not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise Invalid(f"slow mode is 0-{MAX_SLOW_MODE_SECONDS} seconds")
    return seconds


def check_can_pin(active: Collection[int], product_id: int, lineup: Collection[int]) -> bool:
    """Whether pinning `product_id` changes anything; raises if it is not allowed.

    Returns False when the product is already pinned (pinning is idempotent).
    """
    if product_id not in lineup:
        raise Invalid("only products in this session's line-up can be pinned")
    if product_id in active:
        return False
    if len(active) >= MAX_PINS:
        raise Conflict(f"at most {MAX_PINS} products can be pinned at once", code="pin_limit")
    return True
