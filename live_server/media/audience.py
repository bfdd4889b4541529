"""Who watches on WebRTC here: each WHEP viewer of this node named by its audience key, so
the room counts a person's video connection and room socket once (docs/realtime.md,
"Who is watching").

The WHEP handler names each viewer it admits (`name`); the room reads the keys once a
second (`viewer_keys`), which also drops the names of viewers that have gone. Relay legs
to other nodes are not audience.
"""

from __future__ import annotations

from live_server.media.sfu import Sfu
from live_server.platform.audience import audience_key

_UNNAMED = ""  # a viewer the WHEP handler has not named (counted alone)


class VideoAudience:
    """The audience keys of this node's WHEP viewers, per show."""

    def __init__(self, sfu: Sfu) -> None:
        self._sfu = sfu
        self._keys: dict[str, str | None] = {}  # viewer id -> audience key (None: staff)

    def name(self, viewer_id: str, key: str | None) -> None:
        """Records whose a new WHEP viewer is: an audience key (`platform.audience`), or
        None for someone who is not audience (an admin). Unnamed viewers count alone."""
        self._keys[viewer_id] = key

    def viewer_keys(self, session_id: int) -> set[str]:
        """Distinct audience keys of the show's WHEP viewers on this node."""
        room = self._sfu.room(session_id)
        if room is None:
            return set()
        keys: set[str] = set()
        for viewer_id, viewer in room.viewers.items():
            if viewer.relay:
                continue
            key = self._keys.get(viewer_id, _UNNAMED)
            if key is None:  # staff
                continue
            if viewer.user_id is not None:  # signed in (also through a redirect's ticket)
                key = audience_key(viewer.user_id, None)
            keys.add(key if key else f"w:{viewer_id}")
        self._forget_gone()
        return keys

    def sessions(self) -> list[int]:
        """Shows with at least one WHEP viewer on this node."""
        rooms = self._sfu.rooms()
        return [r.session_id for r in rooms if any(not v.relay for v in r.viewers.values())]

    def _forget_gone(self) -> None:
        """Drops the names of viewers that have gone, once they outnumber the live ones."""
        rooms = self._sfu.rooms()
        if len(self._keys) <= 2 * sum(len(r.viewers) for r in rooms) + 64:
            return
        live = {vid for room in rooms for vid in room.viewers}
        self._keys = {vid: k for vid, k in self._keys.items() if vid in live}
