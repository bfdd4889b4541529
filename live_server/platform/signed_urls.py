"""Signed, expiring URLs: a link that opens one path until a given time, for whoever has it.

A private show's files (its recording, replay, clips and posters) are never served to
someone who merely knows their path. The APIs hand the show's readers links signed here;
the `/media/` handler (and the LL-HLS playlists and segments later) checks them without a
database read. The signature is HMAC-SHA256 over the path and the expiry, keyed with a key
derived from the server secret, so a media link can never pass for a bearer token or the
reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time

#: Query parameters a signed URL carries.
EXPIRES_PARAM = "exp"
SIGNATURE_PARAM = "sig"
#: Expiry times are rounded up to this step, so a link stays the same for a few minutes
#: (the browser's cache keeps working while a page asks for it again).
EXPIRY_STEP_S = 300
_MAX_EXPIRES_DIGITS = 12  # far beyond any real expiry; bounds what is parsed
_DERIVATION_LABEL = b"liveshop signed media urls v1"


class UrlSigner:
    """Signs paths with an expiry and checks such signatures in constant time."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a URL signing key must not be empty")
        self._key = key

    @classmethod
    def from_secret(cls, secret: bytes) -> UrlSigner:
        """A signer whose key is derived from the server secret (never the secret itself)."""
        return cls(hmac.new(secret, _DERIVATION_LABEL, hashlib.sha256).digest())

    def _mac(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def expiry(self, ttl_s: float, now: float | None = None) -> int:
        """The expiry of a link made now: at least `ttl_s` ahead, rounded up to the step."""
        now = time.time() if now is None else now
        return int(math.ceil((now + ttl_s) / EXPIRY_STEP_S) * EXPIRY_STEP_S)

    def signature(self, path: str, ttl_s: float, now: float | None = None) -> tuple[int, str]:
        """(expiry, signature) for `path`, for links that carry them in the path itself
        (LL-HLS: a cache keys on the URL, and relative URIs must inherit the grant)."""
        expires = self.expiry(ttl_s, now)
        return expires, self._mac(path, expires)

    def sign(self, path: str, ttl_s: float, now: float | None = None) -> str:
        """`path?exp=...&sig=...`: opens `path` (and nothing else) until the expiry."""
        expires = self.expiry(ttl_s, now)
        separator = "&" if "?" in path else "?"
        signature = self._mac(path.split("?", 1)[0], expires)
        return f"{path}{separator}{EXPIRES_PARAM}={expires}&{SIGNATURE_PARAM}={signature}"

    def verify(
        self, path: str, expires: str | None, signature: str | None, now: float | None = None
    ) -> bool:
        """True when `signature` was made by this signer for `path` and has not expired.

        Whatever arrives in the query is compared as bytes (never raises, also for text
        that is not ASCII), and only after the expiry parsed as a plain decimal number.
        """
        if not expires or not signature or len(expires) > _MAX_EXPIRES_DIGITS:
            return False
        if not (expires.isascii() and expires.isdigit()):
            return False
        when = int(expires)
        if when <= (time.time() if now is None else now):
            return False
        expected = self._mac(path, when).encode("ascii")
        return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))
