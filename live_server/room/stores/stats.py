"""Room analytics: reaction totals, per-minute stats and per-viewer watch time.

Written by the room ticker in small batches; read by the commerce/analytics work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from live_server.platform.db import Database


@dataclass(frozen=True)
class MinuteStats:
    """One row of `room_minute_stats`."""

    minute: int
    viewers_max: int
    reactions: int
    chat_messages: int


@dataclass(frozen=True)
class AudienceSummary:
    """Peak, average and unique viewers and total watch time of a session."""

    peak_viewers: int
    average_viewers: float
    unique_viewers: int
    watch_seconds: float


class RoomStatsRepository:
    """Reads and writes `reaction_totals`, `room_minute_stats` and `session_viewers`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_reactions(self, session_id: int, counts: Mapping[str, int]) -> None:
        """Adds reaction taps to the session's totals."""
        if not counts:
            return
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO reaction_totals(session_id, kind, total) VALUES (?, ?, ?)"
                " ON CONFLICT(session_id, kind) DO UPDATE SET total = total + excluded.total",
                [(session_id, k, n) for k, n in counts.items() if n > 0],
            )

    async def reaction_totals(self, session_id: int) -> dict[str, int]:
        """Reaction taps ever counted in the session, by kind."""
        rows = await self._db.fetchall(
            "SELECT kind, total FROM reaction_totals WHERE session_id = ?", (session_id,)
        )
        return {r["kind"]: int(r["total"]) for r in rows}

    async def record_minute(
        self, session_id: int, minute: int, viewers: int, reactions: int, chat_messages: int
    ) -> None:
        """Folds one flush into the minute's row: max of viewers, sum of the counters."""
        await self._db.execute(
            "INSERT INTO room_minute_stats(session_id, minute, viewers_max, reactions,"
            " chat_messages) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, minute) DO UPDATE SET"
            " viewers_max = MAX(viewers_max, excluded.viewers_max),"
            " reactions = reactions + excluded.reactions,"
            " chat_messages = chat_messages + excluded.chat_messages",
            (session_id, minute, viewers, reactions, chat_messages),
        )

    async def minutes(self, session_id: int) -> list[MinuteStats]:
        """Per-minute stats, in time order."""
        rows = await self._db.fetchall(
            "SELECT minute, viewers_max, reactions, chat_messages FROM room_minute_stats"
            " WHERE session_id = ? ORDER BY minute",
            (session_id,),
        )
        return [
            MinuteStats(r["minute"], r["viewers_max"], r["reactions"], r["chat_messages"])
            for r in rows
        ]

    async def touch_viewers(self, session_id: int, seen: Mapping[str, float], now: float) -> None:
        """Records that these viewers were watching; `seen` maps viewer key -> seconds to add."""
        if not seen:
            return
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO session_viewers(session_id, viewer_key, first_seen, last_seen,"
                " watch_seconds) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, viewer_key)"
                " DO UPDATE SET last_seen = excluded.last_seen,"
                " watch_seconds = watch_seconds + excluded.watch_seconds",
                [(session_id, key, now, now, secs) for key, secs in seen.items()],
            )

    async def audience(self, session_id: int) -> AudienceSummary:
        """Peak/average viewers (from minute rows), unique viewers and watch time."""
        row = await self._db.fetchone(
            "SELECT COALESCE(MAX(viewers_max), 0) AS peak, COALESCE(AVG(viewers_max), 0) AS avg"
            " FROM room_minute_stats WHERE session_id = ?",
            (session_id,),
        )
        viewers = await self._db.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(watch_seconds), 0) AS w FROM session_viewers"
            " WHERE session_id = ?",
            (session_id,),
        )
        return AudienceSummary(
            peak_viewers=int(row["peak"]) if row else 0,
            average_viewers=float(row["avg"]) if row else 0.0,
            unique_viewers=int(viewers["n"]) if viewers else 0,
            watch_seconds=float(viewers["w"]) if viewers else 0.0,
        )
