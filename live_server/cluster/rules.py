"""The cluster's pure rules: where a viewer is served, what a lease holds, signed tokens.

No I/O here. The store keeps the facts (leases, the node registry) in Redis or in memory;
the service feeds them to these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field

#: a node that has not refreshed its registry entry for this long is gone
NODE_TTL_S = 3.0
#: how long a redirect this node issued counts as load on its target (the target's own
#: figures in the registry are up to a heartbeat old)
REDIRECT_MEMORY_S = 2.0
#: the most a signed relay token or watch ticket may be valid for
MAX_TOKEN_LIFETIME_S = 300
ROLE_PRIMARY = "primary"
ROLE_EDGE = "edge"


@dataclass(frozen=True)
class NodeInfo:
    """One node's entry in the registry: where it is, what it does, how loaded it is."""

    node_id: str
    url: str
    role: str = ROLE_PRIMARY
    webrtc_viewers: int = 0
    relays: int = 0
    cpu: float = 0.0  # fraction of one core this process used over the last beat
    out_bitrate: float = 0.0  # bits per second sent to viewers and relays
    capacity: int = 0  # WebRTC viewers it takes at most (0: no cap)
    cpu_limit: float = 0.0  # a node above this CPU takes no new viewer (0: no limit)
    shows: dict[int, int] = field(default_factory=dict)  # session id -> viewers here
    updated_at: float = 0.0

    def has_room(self, extra: int = 0) -> bool:
        """True while the node takes another viewer (``extra`` already sent its way)."""
        if self.capacity > 0 and self.webrtc_viewers + extra >= self.capacity:
            return False
        return not (self.cpu_limit > 0 and self.cpu >= self.cpu_limit)

    def to_fields(self) -> dict[str, str]:
        """The registry hash's fields."""
        return {
            "url": self.url,
            "role": self.role,
            "webrtc_viewers": str(self.webrtc_viewers),
            "relays": str(self.relays),
            "cpu": f"{self.cpu:.4f}",
            "out_bitrate": f"{self.out_bitrate:.0f}",
            "capacity": str(self.capacity),
            "cpu_limit": f"{self.cpu_limit:.3f}",
            "shows": json.dumps({str(k): v for k, v in self.shows.items()}),
            "updated_at": f"{self.updated_at:.3f}",
        }

    @classmethod
    def from_fields(cls, node_id: str, fields: dict[str, str]) -> NodeInfo:
        """The inverse of ``to_fields`` (missing or broken figures read as 0)."""

        def number(name: str) -> float:
            try:
                return float(fields.get(name, "0"))
            except ValueError:
                return 0.0

        try:
            shows = {int(k): int(v) for k, v in json.loads(fields.get("shows", "{}")).items()}
        except (ValueError, AttributeError):
            shows = {}
        return cls(
            node_id=node_id,
            url=fields.get("url", ""),
            role=fields.get("role", ROLE_PRIMARY),
            webrtc_viewers=int(number("webrtc_viewers")),
            relays=int(number("relays")),
            cpu=number("cpu"),
            out_bitrate=number("out_bitrate"),
            capacity=int(number("capacity")),
            cpu_limit=number("cpu_limit"),
            shows=shows,
            updated_at=number("updated_at"),
        )


@dataclass(frozen=True)
class Lease:
    """A show's origin: the node that holds the host's WHIP connection, and its fence."""

    session_id: int
    node_id: str
    url: str
    fence: int
    public: bool = True

    def encode(self) -> str:
        """The value stored under the lease key."""
        return json.dumps(
            {"node": self.node_id, "url": self.url, "fence": self.fence, "public": self.public}
        )

    @classmethod
    def decode(cls, session_id: int, raw: str | None) -> Lease | None:
        """The lease stored under the key, or None (no lease, or the show's end marker)."""
        if not raw or not raw.startswith("{"):
            return None
        try:
            data = json.loads(raw)
            return cls(
                session_id=session_id,
                node_id=str(data["node"]),
                url=str(data["url"]),
                fence=int(data["fence"]),
                public=bool(data.get("public", True)),
            )
        except (ValueError, KeyError, TypeError):
            return None


#: what the lease key holds once its origin released it at the show's end
ENDED_MARKER = "ended"


@dataclass(frozen=True)
class ServeHere:
    """The viewer is served by this node."""


@dataclass(frozen=True)
class RedirectTo:
    """The viewer is sent to another node (307)."""

    node: NodeInfo


@dataclass(frozen=True)
class Full:
    """No node has room for another WebRTC viewer: 503 with ``retry_after``."""

    retry_after: int


Decision = ServeHere | RedirectTo | Full


def _load(node: NodeInfo, extra: int) -> float:
    """How full a node is, for picking the emptiest (0 = idle)."""
    viewers = node.webrtc_viewers + extra
    if node.capacity > 0:
        return viewers / node.capacity
    # no cap: compare viewer counts, the relays it feeds weigh like a few viewers each
    return (viewers + 4 * node.relays) / 1000.0


def route_viewer(
    here: NodeInfo,
    nodes: list[NodeInfo],
    *,
    may_redirect: bool,
    redirected: dict[str, int] | None = None,
    retry_after: int = 30,
    margin: int = 2,
) -> Decision:
    """Where a new WebRTC viewer goes.

    ``here`` is this node's figures, ``nodes`` the fresh registry (``here`` may be among
    them), ``redirected`` the viewers this node sent to each node lately (not yet in their
    figures). This node serves the viewer while it has room and no other node is clearly
    emptier (would still be, with ``margin`` more viewers: no redirect for a difference of
    one or two); otherwise the emptiest node with room gets it; when
    none has room: full. ``may_redirect`` is False for a viewer that was already sent here
    (it is never sent on again: no loops).
    """
    redirected = redirected or {}
    if not may_redirect:
        return ServeHere() if here.has_room() else Full(retry_after)
    others = [
        n
        for n in nodes
        if n.node_id != here.node_id and n.url and n.has_room(redirected.get(n.node_id, 0))
    ]
    best = min(others, key=lambda n: _load(n, redirected.get(n.node_id, 0)), default=None)
    if here.has_room():
        if best is None or _load(best, redirected.get(best.node_id, 0) + margin) >= _load(here, 0):
            return ServeHere()
        return RedirectTo(best)
    if best is not None:
        return RedirectTo(best)
    return Full(retry_after)


def fresh_nodes(nodes: list[NodeInfo], now: float, ttl_s: float = NODE_TTL_S) -> list[NodeInfo]:
    """The registry entries refreshed within ``ttl_s``."""
    return [n for n in nodes if now - n.updated_at <= ttl_s]


def show_viewers(nodes: list[NodeInfo], session_id: int) -> int:
    """A show's WebRTC viewers over every node (each counted on the node serving it)."""
    return sum(n.shows.get(session_id, 0) for n in nodes)


# -- signed tokens ----------------------------------------------------------------------


def _mac(secret: str, *parts: object) -> str:
    message = "|".join(str(p) for p in parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_relay_token(secret: str, node_id: str, session_id: int, expires_at: float) -> str:
    """A node's credential to pull one show from its origin until ``expires_at``."""
    exp = math.floor(expires_at)
    return f"{node_id}.{session_id}.{exp}.{_mac(secret, 'relay', node_id, session_id, exp)}"


def verify_relay_token(secret: str, token: str, session_id: int, now: float) -> str | None:
    """The pulling node's id when ``token`` is valid for ``session_id`` now, else None."""
    parts = token.split(".")
    if len(parts) != 4:
        return None
    node_id, sid, exp, mac = parts
    if not (sid.isdigit() and exp.isdigit()) or int(sid) != session_id:
        return None
    if not now < int(exp) <= now + MAX_TOKEN_LIFETIME_S:
        return None
    expected = _mac(secret, "relay", node_id, session_id, int(exp))
    return node_id if hmac.compare_digest(expected, mac) else None


def sign_watch_ticket(secret: str, session_id: int, expires_at: float, viewer: int = 0) -> str:
    """A viewer's pass to a show on another node (the node with the database checked it).
    ``viewer`` is the signed-in user's id (0: anonymous): the node that serves the video
    knows whom a ban closes even when the redirect dropped the Authorization header."""
    exp = math.floor(expires_at)
    return f"{session_id}.{viewer}.{exp}.{_mac(secret, 'watch', session_id, viewer, exp)}"


def verify_watch_ticket(secret: str, ticket: str, session_id: int, now: float) -> bool:
    """True when ``ticket`` admits a viewer of ``session_id`` now."""
    parts = ticket.split(".")
    if len(parts) != 4:
        return False
    sid, viewer, exp, mac = parts
    if not (sid.isdigit() and viewer.isdigit() and exp.isdigit()) or int(sid) != session_id:
        return False
    if not now < int(exp) <= now + MAX_TOKEN_LIFETIME_S:
        return False
    return hmac.compare_digest(_mac(secret, "watch", session_id, int(viewer), int(exp)), mac)


def ticket_viewer(ticket: str) -> int | None:
    """The user id a (verified) watch ticket names, None for an anonymous viewer."""
    parts = ticket.split(".")
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    return int(parts[1]) or None
