"""Reports of flagged chat for admins, across every show.

- `GET /api/admin/moderation`: what moderators acted on: messages deleted, viewers timed
  out, banned or let back in, newest first, each with the show, who acted, who it was about
  and the message's text (a deleted message is hidden from viewers, but an admin reviewing
  moderation needs to read what was removed).
- `GET /api/admin/flags`: messages the blocked-words filter refused (never posted), with
  the word that caught them; the room records them (`ChatFlags.blocked`), at most
  `MAX_FLAGS_PER_HOUR` per user and show.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from live_server.platform.db import Database
from live_server.platform.errors import Forbidden
from live_server.platform.http import json_response, query_int, require_user
from live_server.platform.openapi import document, op, query_param
from live_server.platform.timefmt import iso
from live_server.room.rules.moderation import Action

#: The log's chat actions (settings, pins and blocked-word lists are not reports).
CHAT_ACTIONS = (Action.DELETE, Action.TIMEOUT, Action.BAN, Action.UNBAN)

_SELECT = """
SELECT l.id, l.session_id, l.action, l.detail, l.created_at, s.title AS show_title,
       a.id AS actor_id, a.username AS actor_username, a.display_name AS actor_name,
       t.id AS target_id, t.username AS target_username, t.display_name AS target_name,
       m.text AS message_text
FROM moderation_log l
JOIN live_sessions s ON s.id = l.session_id
JOIN users a ON a.id = l.actor_id
LEFT JOIN users t ON t.id = l.target_user_id
LEFT JOIN chat_messages m ON m.id = l.target_message_id
WHERE l.action IN ({marks}) AND l.id < ?
ORDER BY l.id DESC LIMIT ?
"""


def _person(user_id: int | None, username: str | None, name: str | None) -> Any:
    if user_id is None:
        return None
    return {"id": user_id, "username": username, "display_name": name}


class ModerationReports:
    """The moderation log across shows, for the admin screen."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent(self, before_id: int, limit: int) -> list[dict[str, Any]]:
        """Chat moderation entries older than `before_id`, newest first."""
        marks = ",".join("?" * len(CHAT_ACTIONS))
        rows = await self._db.fetchall(
            _SELECT.format(marks=marks), [*(a.value for a in CHAT_ACTIONS), before_id, limit]
        )
        return [
            {
                "id": r["id"],
                "action": r["action"],
                "created_at": iso(r["created_at"]),
                "show": {"id": r["session_id"], "title": r["show_title"]},
                "actor": _person(r["actor_id"], r["actor_username"], r["actor_name"]),
                "target": _person(r["target_id"], r["target_username"], r["target_name"]),
                "message": r["message_text"],
                "detail": r["detail"],
            }
            for r in rows
        ]


#: Flags kept per user and show in an hour (a spammer's further refusals are not stored).
MAX_FLAGS_PER_HOUR = 20
MAX_FLAG_TEXT = 500

_FLAGS = """
SELECT f.id, f.session_id, f.reason, f.word, f.text, f.created_at, s.title AS show_title,
       u.id AS user_id, u.username, u.display_name
FROM chat_flags f
JOIN live_sessions s ON s.id = f.session_id
JOIN users u ON u.id = f.user_id
WHERE f.id < ?
ORDER BY f.id DESC LIMIT ?
"""


class ChatFlags:
    """Chat the room refused and admins may want to read (migration 0003)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def blocked(self, session_id: int, user_id: int, word: str, text: str) -> None:
        """Records a message the blocked-words filter refused (capped per user and hour)."""
        now = time.time()
        await self._db.execute(
            "INSERT INTO chat_flags(session_id, user_id, reason, word, text, created_at)"
            " SELECT ?, ?, 'blocked_word', ?, ?, ? WHERE (SELECT count(*) FROM chat_flags"
            " WHERE session_id = ? AND user_id = ? AND created_at > ?) < ?",
            (
                session_id,
                user_id,
                word[:100],
                text[:MAX_FLAG_TEXT],
                now,
                session_id,
                user_id,
                now - 3600,
                MAX_FLAGS_PER_HOUR,
            ),
        )

    async def recent(self, before_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await self._db.fetchall(_FLAGS, (before_id, limit))
        return [
            {
                "id": r["id"],
                "reason": r["reason"],
                "word": r["word"],
                "message": r["text"],
                "created_at": iso(r["created_at"]),
                "show": {"id": r["session_id"], "title": r["show_title"]},
                "user": _person(r["user_id"], r["username"], r["display_name"]),
            }
            for r in rows
        ]


REPORTS: web.AppKey[ModerationReports] = web.AppKey("moderation_reports", ModerationReports)


FLAGS: web.AppKey[ChatFlags] = web.AppKey("chat_flags", ChatFlags)


def _require_admin(request: web.Request) -> None:
    who = require_user(request)
    if not who.is_admin:
        raise Forbidden("only admins can read moderation reports", code="admins_only")


async def flagged_chat(request: web.Request) -> web.Response:
    _require_admin(request)
    items = await request.app[FLAGS].recent(
        query_int(request, "before_id", 2**53, 1, 2**53), query_int(request, "limit", 50, 1, 200)
    )
    return json_response({"items": items})


async def moderation_reports(request: web.Request) -> web.Response:
    _require_admin(request)
    items = await request.app[REPORTS].recent(
        query_int(request, "before_id", 2**53, 1, 2**53), query_int(request, "limit", 50, 1, 200)
    )
    return json_response({"items": items})


def setup(app: web.Application, db: Database, flags: ChatFlags) -> None:
    """Serves the reports to admins."""
    app[REPORTS] = ModerationReports(db)
    app[FLAGS] = flags
    app.router.add_get("/api/admin/moderation", moderation_reports)
    app.router.add_get("/api/admin/flags", flagged_chat)
    params = [
        query_param("before_id", "only entries with a smaller id", "integer"),
        query_param("limit", "1-200 (clamped)", "integer"),
    ]
    document(
        app,
        {
            "/api/admin/flags": {
                "GET": op(
                    "Chat the blocked-words filter refused, with the word, newest first (admins)",
                    tag="admin",
                    auth=True,
                    params=params,
                    errors=(401, 403),
                )
            },
            "/api/admin/moderation": {
                "GET": op(
                    "Chat moderation across shows: deleted messages (with their text),"
                    " timeouts, bans and unbans, newest first (admins)",
                    tag="admin",
                    auth=True,
                    params=params,
                    errors=(401, 403),
                )
            },
        },
    )
