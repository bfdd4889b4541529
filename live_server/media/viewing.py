"""WHEP on any node: who may watch, whether this node takes the viewer, the subscription.

``NodeViewing`` is the WHEP service of every node. What differs by role is the access
check: a full node reads the show from the database (``ShowAccess``: visibility, the end,
the show's front row); an edge has no database (``EdgeAccess``): it admits a private show
only with a watch ticket signed by a node that checked the viewer, and a public show by
the visibility its origin publishes with the lease. Then the same steps everywhere: the
node's WebRTC cap, where the viewer goes (served here, ``307`` to a node with room, or
``503``), the relay from the show's origin when the host is live on another node, and a
bounded per-viewer track on the fast path.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from live_server.cluster import Cluster, Full, NodeLoad, RedirectTo
from live_server.media.relay import RelayPuller
from live_server.media.sdp import ice_link_headers
from live_server.media.sfu import NotLive, Sfu
from live_server.media.turn import announced_ice_servers
from live_server.platform.errors import NotFound, Unavailable
from live_server.platform.events import ViewerBanned
from live_server.platform.identity import Principal
from live_server.shows.rules import SessionState
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)

#: what a viewer refused for capacity is told to wait before trying WebRTC again
CAPACITY_RETRY_S = 30


class Access(Protocol):
    """May this viewer watch this show here? Raises the refusal (404, 409, 503)."""

    async def check(self, session_id: int, who: Principal | None, ticket: str | None) -> None:
        """Raises unless the viewer may watch the show through this node."""


class ShowAccess:
    """A full node's check: the show's own rules, from the database."""

    def __init__(self, sessions: LiveSessionService, cluster: Cluster) -> None:
        self._sessions = sessions
        self._cluster = cluster

    async def check(self, session_id: int, who: Principal | None, ticket: str | None) -> None:
        """Visible to ``who`` (404 otherwise), not ended (409), room in its front row (503)."""
        if ticket and self._cluster.check_ticket(ticket, session_id):
            return  # another full node checked this viewer already
        # a private show: its host, moderators and admins; 404 for anyone else
        session = await self._sessions.require_visible(who, session_id)
        if session.state is SessionState.ENDED:
            raise NotLive("this session has ended", code="session_ended")
        front_row = session.front_row
        if front_row is not None and self._cluster.show_viewers(session_id) >= front_row:
            raise Unavailable(
                "real-time video is full for this show: watch it at standard latency",
                code="front_row_full",
                retry_after=CAPACITY_RETRY_S,
            )


class EdgeAccess:
    """An edge's check: a watch ticket, or the public visibility on the origin's lease."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    async def check(self, session_id: int, who: Principal | None, ticket: str | None) -> None:
        """A good ticket admits; without one only a live public show (404 / 409 else)."""
        if ticket:
            if not self._cluster.check_ticket(ticket, session_id):
                raise NotFound("no such live show, or the link to it has expired")
            return
        lease = await self._cluster.origin_of(session_id)
        if lease is None:
            if await self._cluster.show_ended(session_id):
                raise NotLive("this session has ended", code="session_ended")
            raise NotLive("the host is not live yet")
        if not lease.public:
            raise NotFound("no such live show")


class NodeViewing:
    """The WHEP service of a node (see the module docstring)."""

    def __init__(
        self,
        sfu: Sfu,
        cluster: Cluster,
        relays: RelayPuller,
        access: Access,
        max_webrtc_viewers: int = 0,
        absolute_locations: bool = False,
    ) -> None:
        self._sfu = sfu
        self._cluster = cluster
        self._relays = relays
        self._access = access
        self._max_webrtc_viewers = max_webrtc_viewers
        self._absolute = absolute_locations

    async def route(self, session_id: int, who: Principal | None, ticket: str | None) -> str | None:
        """Where this viewer's WHEP goes: None to be served here, else the URL of a node
        with room (the 307's ``Location``). 404/409 as the access check says, 503 when
        every node is full."""
        await self._access.check(session_id, who, ticket)
        # a viewer sent here by another node is served here or refused, never sent on
        decision = await self._cluster.route_viewer(
            may_redirect=ticket is None, retry_after=CAPACITY_RETRY_S
        )
        if isinstance(decision, Full):
            raise Unavailable(
                "this server has no room for another real-time viewer: watch at standard latency",
                code="webrtc_full",
                retry_after=decision.retry_after,
            )
        if isinstance(decision, RedirectTo):
            # the ticket says this node checked the viewer (an edge has no database to) and
            # that it was routed already: the target serves it or refuses, never sends it on
            ticket = self._cluster.watch_ticket(session_id, who.user_id if who else None)
            return f"{decision.node.url}/whep/{session_id}?ticket={ticket}"
        return None

    async def watch(
        self,
        session_id: int,
        who: Principal | None,
        offer: str,
        address: str | None = None,
        ticket: str | None = None,
    ) -> tuple[str, str]:
        """Accept a viewer's WHEP offer here; returns (resource id, SDP answer)."""
        if 0 < self._max_webrtc_viewers <= self._sfu.total_viewers():
            raise Unavailable(
                "this server has no room for another real-time viewer: watch at standard latency",
                code="webrtc_full",
                retry_after=CAPACITY_RETRY_S,
            )
        await self._relays.ensure(session_id)
        user_id = self.viewer_id(session_id, who, ticket)  # a ban closes their video
        return await self._sfu.subscribe(session_id, offer, address, user_id=user_id)

    def viewer_id(self, session_id: int, who: Principal | None, ticket: str | None) -> int | None:
        """Who watches: the signed-in viewer, else the user a good watch ticket names (a
        redirect may lose the Authorization header); None for an anonymous viewer."""
        if who is not None:
            return who.user_id
        if ticket and self._cluster.check_ticket(ticket, session_id):
            return self._cluster.ticket_viewer(ticket)
        return None

    async def on_viewer_banned(self, event: ViewerBanned) -> None:
        """A ban on any node: this node's WHEP viewers signed in as that user are closed."""
        closed = await self._sfu.drop_user(event.session_id, event.user_id)
        if closed:
            logger.info(
                "session=%s user=%s banned: %d viewer connection(s) closed",
                event.session_id,
                event.user_id,
                closed,
            )

    async def leave(self, session_id: int, viewer_id: str) -> None:
        """WHEP DELETE."""
        await self._sfu.unsubscribe(session_id, viewer_id)

    def choose_layer(self, session_id: int, viewer_id: str, layer: str) -> bool:
        """A viewer's simulcast wish (``auto``, ``low``, ``high``; 400 else, 404 for no such
        viewer); True when the host sends layers now."""
        return self._sfu.set_layer(session_id, viewer_id, layer)

    def ice_links(self, peer_id: str) -> list[str]:
        """``Link`` header values for one peer (STUN servers, TURN credentials of its own)."""
        return ice_link_headers(
            announced_ice_servers(self._sfu.ice_servers, self._sfu.turn, peer_id)
        )

    def location(self, path: str, ticket: str | None = None) -> str:
        """A resource's ``Location``: absolute on an edge and after a redirect (the viewer's
        DELETE must come back to this node, not to the one it asked first)."""
        if (self._absolute or ticket) and self._cluster.config.url:
            return f"{self._cluster.config.url}{path}"
        return path


class LoadMeter:
    """This node's figures for the cluster registry, read at each heartbeat."""

    def __init__(self, sfu: Sfu) -> None:
        self._sfu = sfu
        self._at = time.monotonic()
        self._bytes_in: dict[tuple[int, str], int] = {}
        self._bitrate = 0.0

    def __call__(self) -> NodeLoad:
        """Viewers per show, relay legs, and the bits per second sent (each hub's incoming
        rate times the viewers on it, a simulcast host's layer hubs included: the forwarded
        bytes, without RTP/SRTP overhead)."""
        now = time.monotonic()
        if now - self._at >= 0.5:
            sent = 0
            seen: dict[tuple[int, str], int] = {}
            for room in self._sfu.rooms():
                hubs = dict(room.hubs)
                if room.layers is not None:
                    hubs.update({f"layer:{rid}": hub for rid, hub in room.layers.hubs.items()})
                for name, hub in hubs.items():
                    key = (room.session_id, name)
                    seen[key] = hub.bytes_in
                    grown = hub.bytes_in - self._bytes_in.get(key, hub.bytes_in)
                    sent += max(0, grown) * len(hub.viewers)
            self._bitrate = sent * 8 / (now - self._at)
            self._at, self._bytes_in = now, seen
        return NodeLoad(
            shows=self._sfu.viewers_by_show(),
            relays=self._sfu.relay_count(),
            out_bitrate=self._bitrate,
        )
