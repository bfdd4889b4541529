"""Passwords (scrypt), signed expiring bearer tokens and the signing secret."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from live_server.platform.crypto import same_secret
from live_server.platform.files import ensure_private_dir, make_private
from live_server.platform.identity import Principal, Role

# scrypt with N=2^14, r=8 needs 16 MiB per hash: memory-hard, ~50 ms on one core.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password_sync(password: str, *, n: int = SCRYPT_N) -> str:
    """`scrypt$N$r$p$salt$key`, all parameters stored so they can be raised later."""
    salt = os.urandom(SALT_BYTES)
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=KEY_BYTES,
        maxmem=64 * 1024 * 1024,
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a stored scrypt hash."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash to verify against when the user does not exist, so that timing does not reveal it.
_DUMMY_HASH = hash_password_sync("not-a-password", n=SCRYPT_N)


async def hash_password(password: str) -> str:
    """Hashes off the event loop."""
    return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, stored: str | None) -> bool:
    """Verifies off the event loop; a missing user still costs one scrypt."""
    ok = await asyncio.to_thread(verify_password_sync, password, stored or _DUMMY_HASH)
    return ok and stored is not None


def load_or_create_secret(configured: str | None, data_dir: Path) -> bytes:
    """The token-signing secret: from config, else `<data_dir>/secret.key`.

    The file is created 0600 in a data dir created 0700; one found with a looser mode
    (made by an older version) is tightened to 0600.
    """
    if configured:
        return configured.encode("utf-8")
    path = data_dir / "secret.key"
    if not path.exists():
        ensure_private_dir(data_dir)
        value = secrets.token_urlsafe(48).encode("ascii")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server on this data dir made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(value)
            return value
    make_private(path)
    return path.read_bytes().strip()


class TokenSigner:
    """HMAC-SHA256-signed tokens `payload.signature` carrying user id, role and expiry."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(
        self,
        user_id: int,
        username: str,
        role: Role,
        now: float | None = None,
        *,
        version: int = 0,
    ) -> tuple[str, float]:
        """Returns (token, expiry epoch seconds). `version` is the user's token version at
        issue time: raising the stored one revokes the token (accounts/revocation.py)."""
        now = time.time() if now is None else now
        exp = now + self.ttl_s
        body = {
            "sub": user_id,
            "u": username,
            "r": role.value,
            "v": version,
            "iat": int(now),
            "exp": int(exp),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}", float(int(exp))

    def verify(self, token: str, now: float | None = None) -> Principal | None:
        """The principal of a valid, unexpired token; None otherwise (never raises)."""
        claims = self.claims(token, now)
        return None if claims is None else claims[0]

    def claims(self, token: str, now: float | None = None) -> tuple[Principal, int] | None:
        """The principal and token version of a valid, unexpired token; None otherwise.

        Only the signature and the expiry are checked here; whether the version is still the
        user's is the revocation check's business. Tokens from before versions carry none
        and count as version 0, the version every account starts at.
        """
        try:
            payload, signature = token.split(".")
            if not same_secret(self._sign(payload), signature):
                return None
            body = json.loads(_unb64(payload))
            if float(body["exp"]) <= (time.time() if now is None else now):
                return None
            principal = Principal(
                user_id=int(body["sub"]), username=str(body["u"]), role=Role(body["r"])
            )
            return principal, int(body.get("v", 0))
        except (ValueError, KeyError, TypeError, UnicodeError):
            return None
