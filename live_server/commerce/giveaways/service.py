"""Giveaways: the host starts one, present viewers enter with one tap, the server draws.

One giveaway at a time per show (a unique index, whichever node starts it). At its end
one node claims the draw (a conditional update) and draws among the entrants with the
seed committed at the start (`rules`); an entrant no longer connected to the room, on any
node, is set aside and the draw moves on. Everything needed to check the draw is stored
and served by `GET /api/giveaways/{id}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

from live_server.accounts.service import AccountService
from live_server.catalog.rules import find_sellable
from live_server.commerce.giveaways.rules import (
    Attempt,
    commitment,
    entrants_hash,
    next_pick,
)
from live_server.commerce.giveaways.store import GiveawayBusy, GiveawaysRepository
from live_server.commerce.live_clock import MediaTimes
from live_server.commerce.live_room import LiveRoom
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.room import events as room_events
from live_server.shows import LiveSessionService

logger = logging.getLogger(__name__)

GIVEAWAY_STARTED = "giveaway:started"
GIVEAWAY_RESULT = "giveaway:result"
GIVEAWAY_WON = "giveaway:won"
DRAW_EVERY_S = 0.25
COUNT_CACHE_S = 1.0


def giveaway_payload(
    row: Mapping[str, Any], entrants: int, *, reveal: bool = False
) -> dict[str, Any]:
    """A giveaway as the room and the API show it (the seed only once drawn)."""
    now = time.time()
    drawn = row["status"] in ("drawn", "no_winner")
    payload: dict[str, Any] = {
        "id": row["id"],
        "session_id": row["session_id"],
        "prize": row["prize"],
        "product_id": row["product_id"],
        "followers_only": bool(row["followers_only"]),
        "buyers_only": bool(row["buyers_only"]),
        "status": row["status"],
        "entrants": entrants,
        "time_left_ms": max(0, int((row["ends_at"] - now) * 1000))
        if row["status"] == "open"
        else 0,
        "server_time": now,
        "ends_at": row["ends_at"],
        "commitment": row["commitment"],
        "winner": {"id": row["winner_id"], "name": row["winner_name"]}
        if row["winner_id"]
        else None,
    }
    if reveal and drawn:
        payload["seed_hex"] = row["seed_hex"]
        payload["entrants_hash"] = row["entrants_hash"]
        payload["attempts"] = json.loads(row["attempts_json"] or "[]")
    return payload


class GiveawayService:
    """Starting, entering, drawing, cancelling and reading giveaways."""

    def __init__(
        self,
        repo: GiveawaysRepository,
        sessions: LiveSessionService,
        accounts: AccountService,
        room: LiveRoom,
        media_times: MediaTimes,
    ) -> None:
        self.repo = repo
        self._sessions = sessions
        self._accounts = accounts
        self._room = room
        self._media_times = media_times
        self._counts: dict[int, tuple[float, int]] = {}

    async def start(self, who: Principal, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Opens a giveaway in a live show (host or moderator)."""
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden("Only the host and this show's moderators can start a giveaway.")
        session = await self._sessions.get(session_id)
        if not session.is_live:
            raise Conflict("Giveaways run while the show is live.", code="session_not_live")
        product_id = data.get("product_id")
        prize = (data.get("prize") or "").strip()
        if product_id is not None:
            view = await self._sessions.view(session_id)
            product = (
                find_sellable(view.products, product_id) if isinstance(product_id, int) else None
            )
            if product is None:
                raise Invalid(
                    "That product isn't in this show's line-up.",
                    code="not_in_lineup",
                    field="product_id",
                )
            prize = prize or product.title
        if not prize:
            raise Invalid("Say what the prize is, or pick a product.", code="invalid_prize")
        seed = secrets.token_bytes(32)
        now = time.time()
        try:
            row = await self.repo.create(
                session_id=session_id,
                created_by=who.user_id,
                product_id=product_id,
                prize=prize,
                followers_only=bool(data.get("followers_only")),
                buyers_only=bool(data.get("buyers_only")),
                now=now,
                ends_at=now + data["duration_s"],
                media_time=await self._media_times.at(session_id, now),
                commitment=commitment(seed),
                seed_hex=seed.hex(),
            )
        except GiveawayBusy:
            raise Conflict(
                "A giveaway is already running in this show: draw it first.",
                code="giveaway_running",
            ) from None
        payload = giveaway_payload(row, 0)
        await self._room.emit_to_room(session_id, GIVEAWAY_STARTED, payload)
        return payload

    async def enter(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        """`giveaway:enter`: one tap from a viewer in the room."""
        who = self._room.principal(sid)
        if who is None:
            raise room_events.RoomError("sign_in_required", "Sign in to enter.")
        session_id = data["session_id"]
        row = await self.repo.get(data["giveaway_id"])
        if row is None or row["session_id"] != session_id:
            raise room_events.RoomError("giveaway_not_found", "That giveaway isn't in this show.")
        if row["status"] != "open" or time.time() >= row["ends_at"]:
            raise room_events.RoomError("giveaway_closed", "This giveaway is closed.")
        session = await self._sessions.get(session_id)
        if who.user_id == session.host_id:
            raise room_events.RoomError("host_cannot_enter", "You can't enter your own giveaway.")
        refusal = await self._room.moderation_refusal(session_id, who.user_id)
        if refusal is not None:
            raise room_events.RoomError("not_allowed", refusal)
        if row["followers_only"] and not await self.repo.follows(who.user_id, session.host_id):
            raise room_events.RoomError(
                "followers_only", "This giveaway is for followers: follow the host to enter."
            )
        if row["buyers_only"] and not await self.repo.bought_in(session_id, who.user_id):
            raise room_events.RoomError(
                "buyers_only", "This giveaway is for people who bought in this show."
            )
        now = time.time()
        await self.repo.enter(
            int(row["id"]), who.user_id, now, await self._media_times.at(session_id, now)
        )
        left = max(0, round(row["ends_at"] - now))
        return {"ok": True, "entered": True, "text": f"You're in! The winner is drawn in {left} s."}

    async def cancel(self, who: Principal, giveaway_id: int) -> dict[str, Any]:
        """Closes a giveaway without a draw (host or moderator)."""
        row = await self.repo.get(giveaway_id)
        if row is None:
            raise NotFound("There's no such giveaway.", code="giveaway_not_found")
        if not await self._sessions.can_moderate(who, int(row["session_id"])):
            raise Forbidden("Only the host and this show's moderators can cancel a giveaway.")
        if not await self.repo.move(giveaway_id, "open", "cancelled"):
            raise Conflict("This giveaway is no longer open.", code="giveaway_closed")
        payload = giveaway_payload(
            {**row, "status": "cancelled"}, await self.repo.count(giveaway_id)
        )
        payload["text"] = "The giveaway was cancelled."
        await self._room.emit_to_room(int(row["session_id"]), GIVEAWAY_RESULT, payload)
        return payload

    # -- drawing --------------------------------------------------------------------------
    async def run(self) -> None:
        """Draws every giveaway whose time is up, until cancelled (any node may draw)."""
        while True:
            try:
                for giveaway_id in await self.repo.due(time.time()):
                    if await self.repo.move(giveaway_id, "open", "drawing"):
                        await self.draw(giveaway_id)
            except Exception:
                logger.exception("giveaway draw failed; retrying")
            await asyncio.sleep(DRAW_EVERY_S)

    async def draw(self, giveaway_id: int) -> dict[str, Any]:
        """Draws the winner among the entrants still in the room, and announces it."""
        row = await self.repo.get(giveaway_id)
        assert row is not None
        session_id = int(row["session_id"])
        seed = bytes.fromhex(row["seed_hex"])
        pool = await self.repo.entrants(giveaway_id)
        total = len(pool)
        list_hash = entrants_hash(giveaway_id, pool)
        attempts: list[Attempt] = []
        winner: int | None = None
        while pool:
            picked = next_pick(seed, list_hash, pool, len(attempts))
            present = await self._room.is_present(session_id, picked)
            attempts.append(Attempt(len(attempts), picked, present))
            if present:
                winner = picked
                break
            pool.remove(picked)
        name = (await self._accounts.get_user(winner)).first_name if winner else None
        now = time.time()
        await self.repo.record_draw(
            giveaway_id,
            status="drawn" if winner else "no_winner",
            now=now,
            media_time=await self._media_times.at(session_id, now),
            entrants=total,
            list_hash=list_hash,
            attempts=attempts,
            winner_id=winner,
            winner_name=name,
        )
        done = await self.repo.get(giveaway_id)
        assert done is not None
        payload = giveaway_payload(done, total)
        payload["text"] = (
            f"{name} won {row['prize']}!" if winner else "No one present entered: no winner."
        )
        await self._room.emit_to_room(session_id, GIVEAWAY_RESULT, payload)
        if winner is not None:
            await self._room.emit_to_user(
                winner, GIVEAWAY_WON, {**payload, "text": f"You won {row['prize']}!"}
            )
        logger.info("session %d: giveaway %d drawn (%d entrants)", session_id, giveaway_id, total)
        return payload

    # -- reading --------------------------------------------------------------------------
    async def current(self, session_id: int) -> dict[str, Any] | None:
        """The show's open giveaway for its tick (entrants counted at most once a second)."""
        row = await self.repo.open_of(session_id)
        if row is None:
            return None
        giveaway_id = int(row["id"])
        cached = self._counts.get(giveaway_id)
        if cached is None or time.monotonic() - cached[0] >= COUNT_CACHE_S:
            cached = (time.monotonic(), await self.repo.count(giveaway_id))
            self._counts[giveaway_id] = cached
        return giveaway_payload(row, cached[1])

    async def for_session(self, who: Principal | None, session_id: int) -> list[dict[str, Any]]:
        """A show's giveaways, newest first."""
        await self._sessions.require_visible(who, session_id)
        rows = await self.repo.for_session(session_id)
        return [giveaway_payload(r, int(r["entrants"] or 0)) for r in rows]

    async def audit_of(self, who: Principal | None, giveaway_id: int) -> dict[str, Any]:
        """A drawn giveaway with its seed, entrant list and attempts, to check the draw."""
        row = await self.repo.get(giveaway_id)
        if row is None:
            raise NotFound("There's no such giveaway.", code="giveaway_not_found")
        await self._sessions.require_visible(who, int(row["session_id"]))
        entrants = await self.repo.entrants(giveaway_id)
        payload = giveaway_payload(row, len(entrants), reveal=True)
        if row["status"] in ("drawn", "no_winner"):
            payload["entrant_ids"] = entrants
        return payload


class GiveawayTick:
    """The room's tick contributor for giveaways (section "giveaway")."""

    name = "giveaway"

    def __init__(self, service: GiveawayService) -> None:
        self._svc = service

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        """The open giveaway with its entrants and time left."""
        return await self._svc.current(session_id)

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Giveaways are shown on their own card."""
        return {}
