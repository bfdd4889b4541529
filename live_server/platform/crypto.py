"""Comparing secrets (signatures, tokens, stream keys) without leaking them through timing."""

from __future__ import annotations

import hmac


def same_secret(expected: str | bytes, given: str | bytes) -> bool:
    """Constant-time equality of two secrets, over bytes.

    `hmac.compare_digest` refuses `str` arguments with non-ASCII characters (a TypeError,
    so a 500 from whoever sent them), so text is compared as its UTF-8 bytes. Lone
    surrogates (aiohttp's form of header bytes that are not UTF-8, or `\\udXXX` escapes in
    JSON) are encoded as they stand, so any text compares and simply does not match.
    """
    return hmac.compare_digest(_bytes(expected), _bytes(given))


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
