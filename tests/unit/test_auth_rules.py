"""Passwords, tokens, log-in throttling and account validation rules."""

from __future__ import annotations

import pytest

from live_server.accounts import rules
from live_server.accounts.credentials import (
    TokenSigner,
    hash_password_sync,
    load_or_create_secret,
    verify_password_sync,
)
from live_server.accounts.throttle import LoginThrottle
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


def test_token_carries_the_token_version() -> None:
    signer = TokenSigner(b"k" * 32, ttl_s=60)
    token, _ = signer.issue(7, "ana", Role.VIEWER, now=1000.0, version=3)
    claims = signer.claims(token, now=1030.0)
    assert claims is not None and claims[0].user_id == 7 and claims[1] == 3
    assert signer.claims(token, now=1061.0) is None
    old, _ = signer.issue(7, "ana", Role.VIEWER, now=1000.0)  # issued as before versions
    assert (signer.claims(old, now=1030.0) or (None, None))[1] == 0


def _wrong(throttle: LoginThrottle, account: str, address: str, now: float) -> int:
    """One wrong password: the wait it was told to take first, or 0 when it was judged."""
    wait = throttle.begin(account, address, now=now)
    if wait == 0:
        throttle.failed(account, address, now=now)
    return wait


def test_throttle_backs_off_exponentially_and_never_locks_out() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60, backoff_base_s=1, backoff_max_s=8)
    now = 100.0
    assert [_wrong(throttle, "ana", "1.2.3.4", now) for _ in range(3)] == [0, 0, 0]
    waits = []
    for _ in range(5):  # each further failure doubles the wait, up to the cap
        wait = throttle.begin("ana", "9.9.9.9", now=now)
        waits.append(wait)
        now += wait
        assert _wrong(throttle, "ana", "9.9.9.9", now) == 0  # judged once the wait is over
    assert waits == [1, 2, 4, 8, 8]
    assert throttle.begin("bob", "5.5.5.5", now=now) == 0  # other accounts are untouched
    throttle.succeeded("bob", "5.5.5.5")
    # once the wait is over, the right password passes and forgives the account's failures
    now += throttle.begin("ana", "5.5.5.5", now=now)
    assert throttle.begin("ana", "5.5.5.5", now=now) == 0
    throttle.succeeded("ana", "5.5.5.5")
    assert _wrong(throttle, "ana", "5.5.5.5", now) == 0
    # failures are forgotten window_s after the last wait ends
    for _ in range(3):
        assert _wrong(throttle, "cleo", "6.6.6.6", now) == 0
    assert throttle.begin("cleo", "7.7.7.7", now=now) == 1
    assert throttle.begin("cleo", "7.7.7.7", now=now + 1 + 60) == 0


def test_throttle_parallel_attempts_cannot_slip_past_the_count() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60, backoff_base_s=5)
    admitted = [throttle.begin("ana", f"10.0.0.{i}", now=100.0) for i in range(10)]
    assert admitted.count(0) == 3  # in flight counts as failed until proven right


def test_throttle_success_forgives_only_its_own_failures_at_an_address() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60, backoff_base_s=5)
    for name in ("x", "y"):  # a guesser's failures on other people's accounts ...
        assert _wrong(throttle, name, "1.2.3.4", 100.0) == 0
    assert throttle.begin("me", "1.2.3.4", now=100.0) == 0
    throttle.succeeded("me", "1.2.3.4")  # ... are not wiped by logging in to their own
    assert _wrong(throttle, "z", "1.2.3.4", 100.0) == 0
    assert throttle.begin("w", "1.2.3.4", now=101.0) > 0
    for _ in range(2):  # typos are forgiven by the same person's success
        assert _wrong(throttle, "ana", "8.8.8.8", 100.0) == 0
    assert throttle.begin("ana", "8.8.8.8", now=100.0) == 0
    throttle.succeeded("ana", "8.8.8.8")
    for name in ("b", "c"):
        assert _wrong(throttle, name, "8.8.8.8", 100.0) == 0
    assert throttle.begin("d", "8.8.8.8", now=100.0) == 0


def test_throttles_stay_bounded_under_a_flood_of_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from live_server.accounts import throttle as module

    monkeypatch.setattr(module, "MAX_ENTRIES", 10)
    login = LoginThrottle(max_failures=3, window_s=600)
    signups = module.SignupThrottle(burst=2, per_hour=1)
    for n in range(100):
        _wrong(login, f"user{n}", f"10.0.{n}.1", 100.0 + n)
        signups.take(f"10.0.{n}.1", now=100.0 + n)
    assert len(login._accounts) <= 10 and len(login._addresses) <= 10
    assert len(signups._buckets) <= 10
    assert signups.take("10.0.99.1", now=200.0) == 0  # the latest are kept
    assert signups.take("10.0.99.1", now=200.0) > 0


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
    with pytest.raises(Invalid, match="Unknown interests"):
        rules.validate_interests(["fashion", "beauty", "home", "kitchen", "yachts"])
    with pytest.raises(Invalid):
        rules.validate_interests("fashion,beauty")


@pytest.mark.parametrize("name", ["ab", "-lead", "has space", "x" * 33, "<script>", 5])
def test_bad_usernames(name: object) -> None:
    with pytest.raises(Invalid):
        rules.validate_username(name)
