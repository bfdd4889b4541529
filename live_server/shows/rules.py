"""Live sessions: states and the transitions between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from live_server.platform.errors import Conflict


class SessionState(StrEnum):
    """scheduled -> live <-> reconnecting -> ended. `ended` is final."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class Visibility(StrEnum):
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
MAX_DESCRIPTION = 4000


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

    @property
    def is_live(self) -> bool:
        return self.state in (SessionState.LIVE, SessionState.RECONNECTING)
