"""Passwords, tokens, log-in throttling and account validation rules."""

from __future__ import annotations

import pytest

from live_server.accounts import rules
from live_server.accounts.credentials import (
    LoginThrottle,
    TokenSigner,
    hash_password_sync,
    load_or_create_secret,
    verify_password_sync,
)
from live_server.platform.errors import Invalid
from live_server.platform.identity import Role


def test_password_hash_is_scrypt_salted_and_verifies() -> None:
    first = hash_password_sync("correct horse")
    second = hash_password_sync("correct horse")
    assert first.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in first
    assert first != second  # random salt
    assert verify_password_sync("correct horse", first)
    assert not verify_password_sync("wrong horse", first)
    assert not verify_password_sync("correct horse", "garbage")


def test_token_roundtrip_tamper_and_expiry() -> None:
    signer = TokenSigner(b"k" * 32, ttl_s=60)
    token, exp = signer.issue(7, "ana", Role.HOST, now=1000.0)
    assert exp == 1060.0
    who = signer.verify(token, now=1030.0)
    assert who is not None and who.user_id == 7 and who.role is Role.HOST
    assert signer.verify(token, now=1061.0) is None  # expired
    payload, sig = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + sig
    assert signer.verify(forged, now=1030.0) is None
    assert TokenSigner(b"other" * 8, 60).verify(token, now=1030.0) is None
    for junk in ("", ".", "a.b.c", "not-a-token"):
        assert signer.verify(junk) is None


def test_throttle_blocks_after_max_failures_and_recovers() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    keys = ["user:ana", "ip:1.2.3.4"]
    for i in range(3):
        assert throttle.retry_after(keys, now=100.0 + i) == 0
        throttle.record_failure(keys, now=100.0 + i)
    wait = throttle.retry_after(keys, now=103.0)
    assert 55 <= wait <= 60
    assert throttle.retry_after(["user:other", "ip:1.2.3.4"], now=103.0) > 0  # per address
    assert throttle.retry_after(["user:other", "ip:9.9.9.9"], now=103.0) == 0
    assert throttle.retry_after(keys, now=161.0) == 0  # window slid past


def test_secret_is_generated_once_and_kept(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    first = load_or_create_secret(None, folder)
    assert len(first) >= 32
    assert load_or_create_secret(None, folder) == first
    assert (folder / "secret.key").stat().st_mode & 0o077 == 0
    assert load_or_create_secret("configured", folder) == b"configured"


def test_interests_need_five_known_distinct() -> None:
    assert rules.validate_interests(["fashion", "beauty", "home", "kitchen", "tech"]) == (
        "fashion",
        "beauty",
        "home",
        "kitchen",
        "tech",
    )
    with pytest.raises(Invalid, match="at least 5"):
        rules.validate_interests(["fashion", "beauty", "home", "kitchen"])
    with pytest.raises(Invalid, match="at least 5"):
        rules.validate_interests(["fashion"] * 5)
    with pytest.raises(Invalid, match="unknown interests"):
        rules.validate_interests(["fashion", "beauty", "home", "kitchen", "yachts"])
    with pytest.raises(Invalid):
        rules.validate_interests("fashion,beauty")


@pytest.mark.parametrize("name", ["ab", "-lead", "has space", "x" * 33, "<script>", 5])
def test_bad_usernames(name: object) -> None:
    with pytest.raises(Invalid):
        rules.validate_username(name)
