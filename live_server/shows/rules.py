"""Live sessions: states and the transitions between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from live_server.platform.errors import Conflict, Invalid
from live_server.platform.identity import Principal


class SessionState(StrEnum):
    """scheduled -> live <-> reconnecting -> ended. `ended` is final."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class Visibility(StrEnum):
    """Who may see a session: everyone, or only its host, its moderators and admins."""

    PUBLIC = "public"
    PRIVATE = "private"


_ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    SessionState.SCHEDULED: frozenset({SessionState.LIVE, SessionState.ENDED}),
    SessionState.LIVE: frozenset({SessionState.RECONNECTING, SessionState.ENDED}),
    SessionState.RECONNECTING: frozenset({SessionState.LIVE, SessionState.ENDED}),
    SessionState.ENDED: frozenset(),
}

MAX_LINEUP = 50
MAX_MODERATORS = 20
MAX_TITLE = 120
MAX_FRONT_ROW = 100_000
MAX_DESCRIPTION = 4000
#: A show scheduled from a form starts from a few minutes ago (clocks differ) up to this far ahead.
START_GRACE_S = 10 * 60
MAX_DAYS_AHEAD = 5 * 366


def check_start(starts_at: float, now: float) -> None:
    """A start time a person picked: not in the past, not absurdly far ahead."""
    if starts_at < now - START_GRACE_S:
        raise Invalid("Pick a start time in the future.", code="invalid_starts_at")
    if starts_at > now + MAX_DAYS_AHEAD * 86400:
        raise Invalid(
            f"A show can be scheduled at most {MAX_DAYS_AHEAD // 366} years ahead.",
            code="invalid_starts_at",
        )


def check_transition(current: SessionState, new: SessionState) -> None:
    """Raises Conflict unless `current -> new` is allowed."""
    if new not in _ALLOWED[current]:
        raise Conflict(
            f"a {current.value} session cannot become {new.value}", code="invalid_transition"
        )


@dataclass(frozen=True)
class LiveSession:
    """A scheduled, live or finished broadcast of one host."""

    id: int
    host_id: int
    title: str
    description: str
    starts_at: float
    cover_url: str | None
    state: SessionState
    visibility: Visibility
    stream_key: str
    created_at: float
    went_live_at: float | None
    ended_at: float | None
    #: real-time (WebRTC) viewers allowed; the rest watch over LL-HLS; None: no limit
    front_row: int | None = None

    @property
    def is_live(self) -> bool:
        return self.state in (SessionState.LIVE, SessionState.RECONNECTING)


def front_row(value: object) -> int | None:
    """A show's front row (real-time viewers; the rest watch over LL-HLS), checked."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FRONT_ROW:
        raise Invalid(
            f"front_row must be a number of viewers from 0 to {MAX_FRONT_ROW}",
            code="invalid_front_row",
        )
    return value


def may_view(session: LiveSession, who: Principal | None, *, is_moderator: bool) -> bool:
    """The visibility rule every read of a session and of what it produced obeys.

    A public session is everyone's. A private one is its host's, its moderators' and
    admins' only; to anyone else it does not exist (callers answer 404, never 403).
    `is_moderator` matters only for a signed-in reader of a private session.
    """
    if session.visibility is Visibility.PUBLIC:
        return True
    if who is None:
        return False
    return who.is_admin or who.user_id == session.host_id or is_moderator
