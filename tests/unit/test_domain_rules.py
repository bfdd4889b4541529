"""Catalog validation, image sniffing, session transitions and settings loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from live_server.catalog.rules import sniff_image_type, validate_product_fields
from live_server.platform.errors import Conflict, Invalid
from live_server.settings import Settings
from live_server.shows.rules import SessionState, check_transition


def test_product_fields_validated_and_normalised() -> None:
    fields = validate_product_fields(
        {"title": "  Mug ", "price_minor": 1200, "category": "kitchen", "stock": 3},
        partial=False,
    )
    assert fields["title"] == "Mug" and fields["currency"] == "USD"
    assert fields["per_buyer_limit"] is None
    for bad in (
        {"title": "", "price_minor": 1, "category": "kitchen"},
        {"title": "x", "price_minor": -1, "category": "kitchen"},
        {"title": "x", "price_minor": 1.5, "category": "kitchen"},
        {"title": "x", "price_minor": True, "category": "kitchen"},
        {"title": "x", "price_minor": 1, "category": "yachts"},
        {"title": "x", "price_minor": 1, "category": "kitchen", "currency": "usd"},
        {"title": "x", "price_minor": 1, "category": "kitchen", "stock": -2},
        {"title": "x", "price_minor": 1, "category": "kitchen", "colour": "red"},
    ):
        with pytest.raises(Invalid):
            validate_product_fields(bad, partial=False)
    assert validate_product_fields({"stock": 9}, partial=True) == {"stock": 9}


def test_image_sniffing_trusts_bytes_not_names() -> None:
    assert sniff_image_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"GIF89a") == "image/gif"
    assert sniff_image_type(b"<svg xmlns=") is None
    assert sniff_image_type(b"MZ\x90\x00") is None


def test_session_transitions() -> None:
    check_transition(SessionState.SCHEDULED, SessionState.LIVE)
    check_transition(SessionState.LIVE, SessionState.RECONNECTING)
    check_transition(SessionState.RECONNECTING, SessionState.LIVE)
    check_transition(SessionState.LIVE, SessionState.ENDED)
    with pytest.raises(Conflict):
        check_transition(SessionState.ENDED, SessionState.LIVE)
    with pytest.raises(Conflict):
        check_transition(SessionState.SCHEDULED, SessionState.RECONNECTING)


def test_settings_precedence_flag_over_env_over_default() -> None:
    env = {
        "LIVESHOP_PORT": "9001",
        "LIVESHOP_DEMO": "true",
        "LIVESHOP_DATA_DIR": "/tmp/x",
        "LIVESHOP_ICE_SERVERS": "stun:a:3478, turn:u:p@b:3478",
    }
    s = Settings.load({"port": 9002}, env=env)
    assert s.port == 9002 and s.demo is True and s.data_dir == Path("/tmp/x")
    assert s.db_path == Path("/tmp/x/liveshop.db")
    assert s.ice_servers == ("stun:a:3478", "turn:u:p@b:3478")
    d = Settings.load(env={})
    assert (d.host, d.port, d.db_path, d.media_dir) == (
        "127.0.0.1",
        8080,
        Path("var/liveshop.db"),
        Path("var/media"),
    )
    assert d.redis_url is None
