"""The cluster as one node sees it: its heartbeat, the leases it holds, where viewers go.

``Cluster`` registers this node every heartbeat (its URL, role, load and capacity), renews
the origin leases it holds (a renewal refused by the fence means another node became the
origin: the lease's owner is told at once and drops its publisher), and answers the media
plane's questions: who is the origin of a show, where does a new viewer go, is a relay token
or a watch ticket good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from live_server.cluster import rules
from live_server.cluster.rules import Decision, Lease, NodeInfo
from live_server.cluster.store import ClusterStore
from live_server.platform.errors import Conflict

logger = logging.getLogger(__name__)


class OriginBusy(Conflict):
    """Another node holds the show's origin lease: the host is already live through it."""

    code = "publisher_busy"


@dataclass
class NodeLoad:
    """What the media plane reports for this node at each heartbeat."""

    shows: dict[int, int] = field(default_factory=dict)  # session id -> WebRTC viewers here
    relays: int = 0  # relay legs this node feeds to other nodes (as an origin)
    out_bitrate: float = 0.0


LeaseLost = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class ClusterConfig:
    """This node's identity and the cluster's timings."""

    url: str = ""  # this node's public base URL (where other nodes and viewers reach it)
    role: str = rules.ROLE_PRIMARY
    secret: str | None = None  # LIVESHOP_CLUSTER_SECRET: relays and tickets; None: off
    capacity: int = 0
    cpu_limit: float = 0.0
    lease_ttl_s: float = 5.0
    heartbeat_s: float = 1.0
    ticket_ttl_s: float = 60.0
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])


class Cluster:
    """One node's view of the cluster (see the module docstring)."""

    def __init__(self, store: ClusterStore, config: ClusterConfig, shared: bool) -> None:
        self.store = store
        self.config = config
        #: True when the store is shared (Redis): other nodes may exist
        self.shared = shared
        self._leases: dict[int, Lease] = {}
        self._lost: list[LeaseLost] = []
        self._load: Callable[[], NodeLoad] = NodeLoad
        self._nodes: list[NodeInfo] = []
        self._redirected: dict[str, list[float]] = {}
        self._task: asyncio.Task[None] | None = None
        self._cpu_mark = (time.monotonic(), time.process_time())
        self._cpu = 0.0

    # -- wiring ---------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        """This node's id in the registry."""
        return self.config.node_id

    @property
    def relay_enabled(self) -> bool:
        """True when a cluster secret is set: relays and watch tickets work."""
        return bool(self.config.secret)

    def set_url(self, url: str) -> None:
        """This node's public base URL, once known (``--port 0`` binds first)."""
        self.config = replace(self.config, url=url.rstrip("/"))

    def set_load_source(self, load: Callable[[], NodeLoad]) -> None:
        """The media plane's figures for each heartbeat (the composition root links it)."""
        self._load = load

    def on_lease_lost(self, callback: LeaseLost) -> None:
        """``callback(session_id)`` when a renewal is refused (another origin took over)."""
        self._lost.append(callback)

    async def start(self) -> None:
        """Register at once, then keep the heartbeat going."""
        await self._beat()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the heartbeat, release every lease, leave the registry."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for session_id in list(self._leases):
            await self.release(session_id)
        with contextlib.suppress(Exception):
            await self.store.remove_node(self.node_id)
        await self.store.close()

    # -- heartbeat ------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                await self._beat()
            except Exception:  # Redis away for a moment: the next beat tries again
                logger.warning("cluster node=%s heartbeat failed", self.node_id, exc_info=True)

    def _measure_cpu(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._cpu_mark
        if wall - last_wall >= 0.2:
            self._cpu = (cpu - last_cpu) / (wall - last_wall)
            self._cpu_mark = (wall, cpu)
        return self._cpu

    def here(self) -> NodeInfo:
        """This node's registry entry as of now."""
        load = self._load()
        return NodeInfo(
            node_id=self.node_id,
            url=self.config.url,
            role=self.config.role,
            webrtc_viewers=sum(load.shows.values()),
            relays=load.relays,
            cpu=self._cpu,
            out_bitrate=load.out_bitrate,
            capacity=self.config.capacity,
            cpu_limit=self.config.cpu_limit,
            shows=dict(load.shows),
            updated_at=time.time(),
        )

    async def _beat(self) -> None:
        self._measure_cpu()
        ttl_ms = int(rules.NODE_TTL_S * 1000)
        if self.config.url:
            await self.store.publish_node(self.here(), ttl_ms)
        for session_id, lease in list(self._leases.items()):
            await self._renew(session_id, lease)
        self._nodes = rules.fresh_nodes(await self.store.nodes(), time.time())

    async def _renew(self, session_id: int, lease: Lease) -> None:
        if await self.store.renew(lease, self._lease_ms()):
            return
        if self._leases.get(session_id) is not lease:
            return  # released meanwhile
        del self._leases[session_id]
        logger.warning(
            "session=%s origin lease fence=%d lost: another node is the origin now",
            session_id,
            lease.fence,
        )
        for callback in self._lost:
            try:
                await callback(session_id)
            except Exception:
                logger.exception("session=%s lease-lost handler failed", session_id)

    def _lease_ms(self) -> int:
        return int(self.config.lease_ttl_s * 1000)

    # -- origin leases --------------------------------------------------------------

    async def acquire(self, session_id: int, public: bool = True) -> Lease:
        """Become the show's origin (or stay it); ``OriginBusy`` when another node is."""
        wanted = Lease(session_id, self.node_id, self.config.url, 0, public)
        lease = await self.store.acquire(wanted, self._lease_ms())
        if lease is None:
            raise OriginBusy(
                "this show is already being broadcast through another server: stop that "
                "broadcast first, or wait a few seconds if it has just dropped"
            )
        self._leases[session_id] = lease
        logger.info("session=%s origin lease fence=%d held here", session_id, lease.fence)
        return lease

    def lease_count(self) -> int:
        """Shows whose origin lease this node holds."""
        return len(self._leases)

    def holds(self, session_id: int) -> bool:
        """True while this node holds the show's origin lease."""
        return session_id in self._leases

    async def set_public(self, session_id: int, public: bool) -> None:
        """Publish the show's visibility with its lease (edges admit public shows only)."""
        lease = self._leases.get(session_id)
        if lease is not None and lease.public != public:
            lease = self._leases[session_id] = replace(lease, public=public)
            await self._renew(session_id, lease)

    async def release(self, session_id: int) -> None:
        """The show ended here: give the lease up (edges see the end marker)."""
        lease = self._leases.pop(session_id, None)
        if lease is None:
            return
        try:
            await self.store.release(lease)
        except Exception:  # it expires by itself within its TTL
            logger.warning("session=%s lease release failed", session_id, exc_info=True)

    async def origin_of(self, session_id: int) -> Lease | None:
        """The show's current origin, or None when no node holds its lease."""
        lease = self._leases.get(session_id)
        if lease is not None:
            return lease
        held, _ = await self.store.origin(session_id)
        return held

    async def orphaned(self, session_id: int) -> bool:
        """True when the show had an origin whose lease expired without a release (its
        node died): nobody serves it until the host comes back through some node."""
        if session_id in self._leases or not await self.store.had_origin(session_id):
            return False
        held, ended = await self.store.origin(session_id)
        return held is None and not ended

    async def show_ended(self, session_id: int) -> bool:
        """True when the show's origin released its lease at the end (within a minute)."""
        _, ended = await self.store.origin(session_id)
        return ended

    # -- routing --------------------------------------------------------------------

    def nodes(self) -> list[NodeInfo]:
        """The registry as of the last heartbeat, with this node's own figures fresh."""
        here = self.here()
        return [here, *(n for n in self._nodes if n.node_id != self.node_id)]

    async def route_viewer(self, may_redirect: bool, retry_after: int = 30) -> Decision:
        """Where a new WebRTC viewer goes (``rules.route_viewer``). Before answering "full"
        the registry is read again (a node may have joined since the last heartbeat)."""
        decision = self._route(may_redirect, retry_after)
        if isinstance(decision, rules.Full) and may_redirect and self.shared:
            self._nodes = rules.fresh_nodes(await self.store.nodes(), time.time())
            decision = self._route(may_redirect, retry_after)
        return decision

    def _route(self, may_redirect: bool, retry_after: int) -> Decision:
        now = time.time()
        nodes = self.nodes()
        published = {n.node_id: n.updated_at for n in nodes}
        redirected = {}
        for node_id, times in list(self._redirected.items()):
            # a redirect counts on its target until the target's figures include it
            times[:] = [
                t
                for t in times
                if now - t < rules.REDIRECT_MEMORY_S and t >= published.get(node_id, 0.0)
            ]
            if times:
                redirected[node_id] = len(times)
            else:
                del self._redirected[node_id]
        decision = rules.route_viewer(
            nodes[0],
            nodes,
            may_redirect=may_redirect and self.relay_enabled and self.shared,
            redirected=redirected,
            retry_after=retry_after,
        )
        if isinstance(decision, rules.RedirectTo):
            self._redirected.setdefault(decision.node.node_id, []).append(now)
        return decision

    def show_viewers(self, session_id: int) -> int:
        """The show's WebRTC viewers on every node (this one counted live)."""
        return rules.show_viewers(self.nodes(), session_id)

    # -- tokens ---------------------------------------------------------------------

    def relay_token(self, session_id: int) -> str:
        """This node's credential to pull ``session_id`` from its origin (a minute)."""
        assert self.config.secret, "relay tokens need the cluster secret"
        expires = time.time() + 60
        return rules.sign_relay_token(self.config.secret, self.node_id, session_id, expires)

    def check_relay_token(self, token: str | None, session_id: int) -> str | None:
        """The pulling node's id when the token is good, else None."""
        if not self.config.secret or not token:
            return None
        return rules.verify_relay_token(self.config.secret, token, session_id, time.time())

    def watch_ticket(self, session_id: int, viewer: int | None = None) -> str:
        """A viewer's pass to this show on another node (access already checked here);
        ``viewer``: the signed-in user it was checked for."""
        assert self.config.secret, "watch tickets need the cluster secret"
        expires = time.time() + self.config.ticket_ttl_s
        return rules.sign_watch_ticket(self.config.secret, session_id, expires, viewer or 0)

    def ticket_viewer(self, ticket: str) -> int | None:
        """The signed-in user a good ticket was issued for (None: anonymous)."""
        return rules.ticket_viewer(ticket)

    def check_ticket(self, ticket: str, session_id: int) -> bool:
        """True when ``ticket`` admits a viewer of ``session_id``."""
        if not self.config.secret:
            return False
        return rules.verify_watch_ticket(self.config.secret, ticket, session_id, time.time())


def default_workers(redis_configured: bool) -> int:
    """``serve --workers`` without a number: one per core with Redis, else one."""
    return max(1, os.cpu_count() or 1) if redis_configured else 1
