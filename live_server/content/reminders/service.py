"""Reminders use cases: "Remind me" on an upcoming show, its calendar file, and the notice
its reminded users get on their open sockets when it goes live."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from live_server.accounts import UserRepository
from live_server.content.reminders.rules import CalendarShow, ics_event
from live_server.content.reminders.store import ReminderRepository
from live_server.platform.errors import Conflict
from live_server.platform.events import SessionStateChanged
from live_server.platform.identity import Principal
from live_server.shows import LiveSessionService, SessionState, Visibility

logger = logging.getLogger(__name__)

#: The real-time event a reminded user's sockets receive (docs/realtime.md).
SHOW_LIVE_EVENT = "show:live"

NotifyUser = Callable[[int, str, dict[str, Any]], Awaitable[None]]


def show_url(session_id: int) -> str:
    return f"/session.html?id={session_id}"


class ReminderService:
    """Reminders of upcoming shows, per user and show."""

    def __init__(
        self,
        reminders: ReminderRepository,
        shows: LiveSessionService,
        users: UserRepository,
        notify: NotifyUser | None,
    ) -> None:
        self._reminders = reminders
        self._shows = shows
        self._users = users
        self._notify = notify

    async def set(self, who: Principal, session_id: int, on: bool) -> bool:
        """Turns the user's reminder of a show they may see on or off; a show that is live
        or over is not remindable (409)."""
        session = await self._shows.require_visible(who, session_id)
        if on and session.state is not SessionState.SCHEDULED:
            live = session.is_live
            raise Conflict(
                "this show is live now: watch it" if live else "this show has already ended",
                code="not_upcoming",
            )
        await self._reminders.set(session_id, who.user_id, on)
        return on

    async def status(self, who: Principal, session_id: int) -> bool:
        await self._shows.require_visible(who, session_id)
        return await self._reminders.has(session_id, who.user_id)

    async def pending(self, who: Principal) -> list[int]:
        """Shows the user will be told about when they go live."""
        return await self._reminders.pending_sessions(who.user_id)

    async def calendar(
        self, who: Principal | None, session_id: int, base_url: str, domain: str
    ) -> tuple[str, str]:
        """The show's .ics text and a file name for it (404 when hidden from `who`)."""
        session = await self._shows.require_visible(who, session_id)
        host = await self._users.get(session.host_id)
        show = CalendarShow(
            session_id=session.id,
            title=session.title,
            description=session.description,
            host_name=(host.display_name or host.username) if host else "the host",
            starts_at=session.went_live_at or session.starts_at,
            ends_at=session.ended_at,
            url=base_url + show_url(session.id),
            domain=domain,
        )
        return ics_event(show, time.time()), f"liveshop-show-{session.id}.ics"

    async def on_state_changed(self, event: SessionStateChanged) -> None:
        """The first time a show goes live, each reminded user who may see it is told."""
        if event.new != SessionState.LIVE.value or event.old != SessionState.SCHEDULED.value:
            return
        if self._notify is None:
            return
        user_ids = await self._reminders.claim_due(event.session_id)
        if not user_ids:
            return
        session = await self._shows.get(event.session_id)
        host = await self._users.get(session.host_id)
        payload = {
            "session_id": session.id,
            "title": session.title,
            "host": {"id": session.host_id, "display_name": host.display_name if host else ""},
            "url": show_url(session.id),
        }
        told = 0
        for user_id in user_ids:
            if session.visibility is Visibility.PRIVATE and not await self._shows.user_can_moderate(
                session.id, user_id
            ):
                continue  # the show went private after they asked
            await self._notify(user_id, SHOW_LIVE_EVENT, payload)
            told += 1
        logger.info("session=%d live: %d reminded users told", session.id, told)
