"""The JSON shape of a live show (a session) with its host, line-up and moderators."""

from __future__ import annotations

from typing import Any

from live_server.accounts.serializers import user_json
from live_server.catalog.serializers import product_json
from live_server.platform.timefmt import iso
from live_server.shows.service import SessionView


def session_json(view: SessionView) -> dict[str, Any]:
    s = view.session
    return {
        "id": s.id,
        "title": s.title,
        "description": s.description,
        "starts_at": iso(s.starts_at),
        "cover_url": s.cover_url,
        "state": s.state.value,
        "visibility": s.visibility.value,
        "host": user_json(view.host),
        "products": [product_json(p) for p in view.products],
        "moderators": [user_json(m) for m in view.moderators],
        "went_live_at": iso(s.went_live_at),
        "ended_at": iso(s.ended_at),
        "front_row": s.front_row,
        # LL-HLS (docs/hls.md): 404 while the show is not live or the server has HLS off
        "hls_url": f"/hls/{s.id}/index.m3u8",
    }
