"""Issue 12, finding 1: the signed, expiring links that open a private show's files."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from live_server.platform.signed_urls import EXPIRY_STEP_S, UrlSigner

NOW = 1_800_000_100.0  # not on an expiry step
PATH = "/media/sessions/7/Zm9vYmFyYmF6cXV4/replay.mp4"


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["exp"][0], query["sig"][0]


def test_finding_01_a_signed_link_opens_its_path_until_it_expires() -> None:
    signer = UrlSigner.from_secret(b"server secret")
    path, exp, sig = _parts(signer.sign(PATH, 3600, now=NOW))
    assert path == PATH
    # at least the lifetime asked for, rounded up to the step (stable links for a while)
    assert NOW + 3600 <= int(exp) < NOW + 3600 + EXPIRY_STEP_S
    assert int(exp) % EXPIRY_STEP_S == 0
    assert signer.sign(PATH, 3600, now=NOW + 1) == signer.sign(PATH, 3600, now=NOW)
    assert signer.verify(PATH, exp, sig, now=NOW)
    assert signer.verify(PATH, exp, sig, now=int(exp) - 1)
    assert not signer.verify(PATH, exp, sig, now=int(exp))  # expired
    assert not signer.verify(PATH.replace("replay.mp4", "replay.jpg"), exp, sig, now=NOW)
    assert not signer.verify(PATH, str(int(exp) + EXPIRY_STEP_S), sig, now=NOW)  # moved expiry
    # another server secret, or the bare secret used as the key, signs differently
    assert not UrlSigner.from_secret(b"other secret").verify(PATH, exp, sig, now=NOW)
    assert not UrlSigner(b"server secret").verify(PATH, exp, sig, now=NOW)


@pytest.mark.parametrize(
    ("exp", "sig"),
    [
        (None, "x"),
        ("1900000000", None),
        ("", ""),
        ("-1", "x"),
        ("1e12", "x"),
        ("١٩٠٠٠٠٠٠٠٠", "x"),  # Arabic-Indic digits: isdigit() but not a plain number
        ("9" * 40, "x"),
        ("1900000000", "é" * 43),
        ("1900000000", "\ud800"),  # a lone surrogate, as a decoded query can carry
        ("1900000000", "\x00"),
    ],
)
def test_finding_01_forged_or_broken_signatures_are_refused_without_errors(
    exp: str | None, sig: str | None
) -> None:
    signer = UrlSigner.from_secret(b"server secret")
    assert signer.verify(PATH, exp, sig, now=NOW) is False


def test_finding_01_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        UrlSigner(b"")
