"""The JSON shape of a user (what the web client and outside clients read)."""

from __future__ import annotations

from typing import Any

from live_server.accounts.rules import User
from live_server.platform.timefmt import iso


def user_json(user: User, *, private: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
    }
    if private:
        data["interests"] = list(user.interests)
        data["created_at"] = iso(user.created_at)
    return data
