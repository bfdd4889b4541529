"""Shows: live sessions, their line-up, moderators, stream keys, states and media clock.

Other features use what is re-exported here; the modules inside are this feature's own.
"""

from live_server.shows.clock import MediaClock, WallMediaClock
from live_server.shows.feature import Shows, build, setup
from live_server.shows.keys import SHOWS
from live_server.shows.rules import LiveSession, SessionState, Visibility, may_view
from live_server.shows.serializers import session_json
from live_server.shows.service import LiveSessionService, SessionView
from live_server.shows.store import HIDDEN_SESSIONS_SQL, SessionRepository

__all__ = [
    "HIDDEN_SESSIONS_SQL",
    "SHOWS",
    "LiveSession",
    "LiveSessionService",
    "MediaClock",
    "SessionRepository",
    "SessionState",
    "SessionView",
    "Shows",
    "Visibility",
    "WallMediaClock",
    "build",
    "may_view",
    "session_json",
    "setup",
]
