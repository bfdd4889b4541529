"""Live session use cases: scheduling, line-up, moderators, stream keys, state changes."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from live_server.accounts.rules import User
from live_server.accounts.store import UserRepository
from live_server.catalog.rules import Product
from live_server.catalog.store import ProductRepository
from live_server.platform.crypto import same_secret
from live_server.platform.errors import Forbidden, Invalid, NotFound
from live_server.platform.events import (
    EventBus,
    ModeratorsChanged,
    SessionStateChanged,
    StreamKeyRotated,
    VisibilityChanged,
)
from live_server.platform.identity import Principal, Role
from live_server.platform.words import label, sentence
from live_server.shows import rules
from live_server.shows.rules import LiveSession, SessionState, Visibility
from live_server.shows.store import SessionRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionView:
    """A session with what its page shows: host, line-up and moderators."""

    session: LiveSession
    host: User
    products: list[Product]
    moderators: list[User]


def new_stream_key() -> str:
    return "sk_" + secrets.token_urlsafe(24)


def parse_time(value: object, field: str) -> float:
    """ISO 8601 (a trailing Z is fine; naive means UTC) or epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    raise Invalid("Pick a start date and time.", code=f"invalid_{field}")


def _text(data: dict[str, Any], key: str, max_len: int, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise Invalid(sentence(f"{label(key)} is required"), code=f"invalid_{key}")
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        raise Invalid(
            sentence(f"the {label(key)} must be text of 1-{max_len} characters"),
            code=f"invalid_{key}",
        )
    return value.strip()


class LiveSessionService:
    """Everything about sessions except the media itself."""

    def __init__(
        self,
        sessions: SessionRepository,
        users: UserRepository,
        products: ProductRepository,
        events: EventBus,
    ) -> None:
        self._sessions = sessions
        self._users = users
        self._products = products
        self._events = events

    # --- reading -------------------------------------------------------------------

    async def get(self, session_id: int) -> LiveSession:
        session = await self._sessions.get(session_id)
        if session is None:
            raise NotFound("We couldn't find that show.", code="session_not_found")
        return session

    async def view(self, session_id: int) -> SessionView:
        session = await self.get(session_id)
        return (await self._views([session]))[0]

    # --- who may see a session (one rule for every read: rules.may_view) ---------------

    async def can_view(self, who: Principal | None, session: LiveSession) -> bool:
        """True when `who` may see the session and everything it produced."""
        if rules.may_view(session, who, is_moderator=False):
            return True  # public, or its host or an admin: no lookup needed
        if who is None:
            return False
        is_moderator = await self._sessions.is_moderator(session.id, who.user_id)
        return rules.may_view(session, who, is_moderator=is_moderator)

    async def require_visible(self, who: Principal | None, session_id: int) -> LiveSession:
        """The session, or 404 ("We couldn't find that show.") when it is missing *or* hidden
        from `who`: the answer is the same, so an outsider cannot tell a private show exists."""
        session = await self._sessions.get(session_id)
        if session is None or not await self.can_view(who, session):
            raise NotFound("We couldn't find that show.", code="session_not_found")
        return session

    async def viewable(
        self, who: Principal | None, session_ids: list[int]
    ) -> dict[int, LiveSession]:
        """The sessions among these ids that `who` may see (missing ones are left out):
        `require_visible` for lists, in two queries."""
        found = await self._sessions.by_ids(sorted(set(session_ids)))
        private = [
            s.id
            for s in found.values()
            if not rules.may_view(s, who, is_moderator=False)  # the lookup decides these
        ]
        moderated = (
            await self._sessions.moderated_among(who.user_id, private)
            if who is not None and private
            else set()
        )
        return {
            sid: s
            for sid, s in found.items()
            if rules.may_view(s, who, is_moderator=sid in moderated)
        }

    async def visible_view(self, who: Principal | None, session_id: int) -> SessionView:
        """`view` for a reader: 404 when the session is hidden from them."""
        session = await self.require_visible(who, session_id)
        return (await self._views([session]))[0]

    async def _views(self, sessions: list[LiveSession]) -> list[SessionView]:
        hosts = await self._users.by_ids(list({s.host_id for s in sessions}))
        views = []
        for s in sessions:
            pids = await self._sessions.product_ids(s.id)
            by_id = await self._products.by_ids(pids)
            mods = await self._users.by_ids(await self._sessions.moderator_ids(s.id))
            views.append(
                SessionView(
                    s,
                    hosts[s.host_id],
                    [by_id[p] for p in pids if p in by_id],
                    sorted(mods.values(), key=lambda u: u.username),
                )
            )
        return views

    async def search(self, which: str, limit: int = 50) -> list[SessionView]:
        """`live` (live or reconnecting), `upcoming` (scheduled) or `replays` (ended)."""
        if which == "live":
            found = await self._sessions.list_by_state(
                (SessionState.LIVE, SessionState.RECONNECTING), newest_first=True, limit=limit
            )
        elif which == "upcoming":
            found = await self._sessions.list_by_state(
                (SessionState.SCHEDULED,), newest_first=False, limit=limit
            )
        elif which == "replays":
            found = await self._sessions.list_by_state(
                (SessionState.ENDED,), newest_first=True, limit=limit
            )
        else:
            raise Invalid("state must be one of: live, upcoming, replays", code="invalid_state")
        return await self._views(found)

    async def mine(self, who: Principal) -> list[SessionView]:
        """Sessions the user hosts, then those they moderate."""
        hosted = await self._sessions.list_by_host(who.user_id)
        moderated = [
            s
            for s in await self._sessions.list_moderated_by(who.user_id)
            if s.host_id != who.user_id
        ]
        return await self._views(hosted + moderated)

    async def is_moderator(self, session_id: int, user_id: int) -> bool:
        return await self._sessions.is_moderator(session_id, user_id)

    async def can_moderate(self, who: Principal | None, session_id: int) -> bool:
        """Host of the session, one of its moderators, or an admin."""
        if who is None:
            return False
        session = await self.get(session_id)
        if who.is_admin or session.host_id == who.user_id:
            return True
        return await self._sessions.is_moderator(session_id, who.user_id)

    async def user_can_moderate(self, session_id: int, user_id: int) -> bool:
        """`can_moderate` for a user who is not the one asking (a moderation target): the
        global role is read from the accounts store, not from a token."""
        session = await self.get(session_id)
        if user_id == session.host_id or await self._sessions.is_moderator(session_id, user_id):
            return True
        user = await self._users.get(user_id)
        return user is not None and user.role is Role.ADMIN

    async def moderator_ids(self, session_id: int) -> list[int]:
        return await self._sessions.moderator_ids(session_id)

    async def product_ids(self, session_id: int) -> list[int]:
        return await self._sessions.product_ids(session_id)

    # --- writing -------------------------------------------------------------------

    async def _owned(self, who: Principal, session_id: int) -> LiveSession:
        # Someone who may not even see a private session learns nothing from a 403.
        session = await self.require_visible(who, session_id)
        if session.host_id != who.user_id and not who.is_admin:
            raise Forbidden("only the session's host can do this", code="not_host")
        return session

    async def _check_products(self, who: Principal, host_id: int, ids: object) -> list[int]:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise Invalid("Choose the products from your list.", code="invalid_product_ids")
        unique = list(dict.fromkeys(ids))
        if len(unique) > rules.MAX_LINEUP:
            raise Invalid(
                f"A line-up has at most {rules.MAX_LINEUP} products.",
                code="lineup_too_long",
                field="product_ids",
            )
        found = await self._products.by_ids(unique)
        missing = [i for i in unique if i not in found]
        if missing:
            raise Invalid(
                "Some of these products no longer exist: reload the page.",
                code="unknown_products",
                field="product_ids",
            )
        if any(p.parent_id is not None for p in found.values()):
            raise Invalid(
                "Add the product itself to the line-up: viewers pick the size or colour.",
                code="variant_in_lineup",
                field="product_ids",
            )
        foreign = [p.id for p in found.values() if p.owner_id != host_id]
        if foreign and not who.is_admin:
            raise Forbidden(f"products {foreign} belong to another merchant", code="not_owner")
        return unique

    async def _check_moderators(self, names: object, host_id: int) -> list[int]:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Invalid("List moderators by username.", code="invalid_moderators")
        unique = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        if len(unique) > rules.MAX_MODERATORS:
            raise Invalid(
                f"A show has at most {rules.MAX_MODERATORS} moderators.",
                code="too_many_moderators",
                field="moderators",
            )
        users = await self._users.by_usernames(unique)
        known = {u.username.lower() for u in users}
        missing = [n for n in unique if n.lower() not in known]
        if missing:
            raise Invalid(
                f"No one is called {', '.join('@' + n for n in missing)} here.",
                code="unknown_users",
                field="moderators",
            )
        return [u.id for u in users if u.id != host_id]

    async def schedule(self, who: Principal, data: dict[str, Any]) -> SessionView:
        """Creates a scheduled session with its line-up and moderators."""
        if not who.can_host:
            raise Forbidden("only hosts can schedule sessions", code="hosts_only")
        fields = self._fields(data, partial=False)
        product_ids = await self._check_products(who, who.user_id, data.get("product_ids", []))
        moderator_ids = await self._check_moderators(data.get("moderators", []), who.user_id)
        session_id = await self._sessions.create(
            who.user_id, fields, new_stream_key(), product_ids, moderator_ids
        )
        logger.info("session %d scheduled by user %d", session_id, who.user_id)
        return await self.view(session_id)

    def _fields(self, data: dict[str, Any], partial: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not partial or "title" in data:
            out["title"] = _text(data, "title", rules.MAX_TITLE, True)
        if not partial or "description" in data:
            out["description"] = _text(data, "description", rules.MAX_DESCRIPTION, False) or ""
        if "starts_at" in data or not partial:
            out["starts_at"] = (
                parse_time(data["starts_at"], "starts_at") if data.get("starts_at") else time.time()
            )
        if "cover_url" in data:
            out["cover_url"] = _text(data, "cover_url", 500, False)
        if "visibility" in data:
            if data["visibility"] not in (v.value for v in Visibility):
                raise Invalid("A show is public or private.", code="invalid_visibility")
            out["visibility"] = data["visibility"]
        if "front_row" in data:
            out["front_row"] = rules.front_row(data["front_row"])
        return out

    async def update(self, who: Principal, session_id: int, data: dict[str, Any]) -> SessionView:
        before = await self._owned(who, session_id)
        fields = self._fields(data, partial=True)
        await self._sessions.update(session_id, fields)
        if fields.get("visibility", before.visibility.value) != before.visibility.value:
            # whoever may no longer see it leaves its room at once (the room listens)
            await self._events.publish(VisibilityChanged(session_id, fields["visibility"]))
        return await self.view(session_id)

    async def set_products(self, who: Principal, session_id: int, ids: object) -> SessionView:
        session = await self._owned(who, session_id)
        await self._sessions.set_products(
            session_id, await self._check_products(who, session.host_id, ids)
        )
        return await self.view(session_id)

    async def set_moderators(self, who: Principal, session_id: int, names: object) -> SessionView:
        session = await self._owned(who, session_id)
        await self._sessions.set_moderators(
            session_id, await self._check_moderators(names, session.host_id)
        )
        # connected members' roles (chat exemptions, the moderators' channel) follow at once
        await self._events.publish(ModeratorsChanged(session_id))
        return await self.view(session_id)

    async def stream_key(self, who: Principal, session_id: int) -> str:
        return (await self._owned(who, session_id)).stream_key

    async def rotate_stream_key(self, who: Principal, session_id: int) -> str:
        await self._owned(who, session_id)
        key = new_stream_key()
        await self._sessions.set_stream_key(session_id, key)
        logger.info("stream key rotated for session %d", session_id)
        # the media plane drops whoever publishes with the old key (shows is below media)
        await self._events.publish(StreamKeyRotated(session_id))
        return key

    async def check_stream_key(self, session_id: int, key: str) -> bool:
        """Constant-time comparison of a publisher's key with the session's."""
        session = await self._sessions.get(session_id)
        return session is not None and same_secret(session.stream_key, key)

    # --- state (driven by the media plane; start/end by the host as a fallback) ---------

    async def _move(self, session_id: int, new: SessionState) -> LiveSession:
        session = await self.get(session_id)
        if session.state is new:
            return session
        rules.check_transition(session.state, new)
        if not await self._sessions.set_state(session_id, session.state, new, time.time()):
            # Someone else moved it first; re-check against the fresh state.
            return await self._move(session_id, new)
        logger.info("session %d: %s -> %s", session_id, session.state.value, new.value)
        await self._events.publish(SessionStateChanged(session_id, session.state.value, new.value))
        return await self.get(session_id)

    async def mark_live(self, session_id: int) -> LiveSession:
        return await self._move(session_id, SessionState.LIVE)

    async def mark_reconnecting(self, session_id: int) -> LiveSession:
        return await self._move(session_id, SessionState.RECONNECTING)

    async def mark_ended(self, session_id: int) -> LiveSession:
        return await self._move(session_id, SessionState.ENDED)

    async def start(self, who: Principal, session_id: int) -> LiveSession:
        await self._owned(who, session_id)
        return await self.mark_live(session_id)

    async def end(self, who: Principal, session_id: int) -> LiveSession:
        await self._owned(who, session_id)
        return await self.mark_ended(session_id)
