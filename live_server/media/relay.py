"""The relay: a node that serves viewers of a show live on another node pulls it from there.

The leg between nodes is a WebRTC subscription, so it is DTLS-SRTP encrypted by
construction. The pulling node (an edge, a media worker, or another full node) POSTs an SDP
offer to the origin's ``POST /relay/{session_id}`` with ``Authorization: Bearer <relay
token>`` (HMAC-SHA256 with the cluster secret over node id, session id and expiry). On the
origin the pull is a viewer on the same fast path (one per node and show; not audience; no
caps; ``Sfu.subscribe(relay=True)``). Here it is the room's source: its receiver delivers
encoded frames like a WHIP publisher's, frames go through the same reader, rebase and
dispatch, and this room's keyframe requests go up the relay as PLI, which the origin's
viewer-PLI hook turns into the host's throttled keyframe request. The offer is receive-only
and the origin answers send-only: nothing can be injected either way.

One ``_Pull`` per show keeps the source right: it follows the origin's lease (a new fence
means a new origin: pull from there), keeps this node's viewers connected while the origin
or the host is away (the room shows "reconnecting" through the primary's Socket.IO), closes
the room when the show ended (the lease's end marker) or nobody is left after
``reconnect_grace_s`` without an origin, and lets go of a show nobody watches here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from aiortc import RTCSessionDescription
from aiortc.sdp import SessionDescription

from live_server.cluster import Cluster, Lease
from live_server.media.aiortc.closing import close_peer
from live_server.media.sdp import BadOffer, check_offer
from live_server.media.sfu import NotLive, Publisher, Sfu
from live_server.platform.errors import Unavailable

logger = logging.getLogger(__name__)

#: how long a pull waits for the origin's first frame before the viewer is told to retry
FIRST_FRAME_TIMEOUT_S = 10.0
#: a pull nobody watches here is let go after this long
IDLE_S = 10.0
POLL_S = 0.5
RELAY_PATH = "/relay/{session_id}"


def check_relay_offer(text: str) -> None:
    """A relay offer receives only: every audio/video section ``recvonly`` (400 otherwise)."""
    check_offer(text)
    parsed = SessionDescription.parse(text)
    for media in parsed.media:
        if media.kind in ("audio", "video") and media.direction != "recvonly":
            raise BadOffer(
                f"a relay pull only receives: its {media.kind} section must be recvonly,"
                f" not {media.direction}",
                code="relay_offer_sends",
            )


class RelayPuller:
    """This node's pulls of shows from their origins (see the module docstring)."""

    def __init__(self, sfu: Sfu, cluster: Cluster, grace_s: float = 30.0) -> None:
        self._sfu = sfu
        self._cluster = cluster
        self._grace_s = grace_s
        self._pulls: dict[int, _Pull] = {}
        self._http: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        """The client session the pulls' signalling goes through."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._http

    def pulling(self, session_id: int) -> bool:
        """True while this node pulls the show from another node."""
        return session_id in self._pulls

    async def ensure(self, session_id: int) -> None:
        """Make the show's frames flow here (from its origin) before a viewer subscribes.

        409 ``not_live`` when no node is the show's origin; 503 when its origin does not
        deliver the first frame in time.
        """
        pull = self._pulls.get(session_id)
        if pull is None:
            room = self._sfu.room(session_id)
            if self._cluster.holds(session_id) or (
                room is not None and room.publisher is not None and not room.publisher.relay
            ):
                return  # the host publishes here (or reconnects here): this node is the origin
            lease = await self._cluster.origin_of(session_id)
            if lease is None or lease.node_id == self._cluster.node_id:
                return  # no origin anywhere: the subscription answers 409 not_live
            if not self._cluster.relay_enabled:
                raise NotLive(
                    "the host is live through another server and this one cannot relay it"
                    " (no cluster secret): watch through that server"
                )
            pull = self._pulls[session_id] = _Pull(self, session_id)
            pull.start(lease)
        await pull.wait_ready()

    def forget(self, session_id: int) -> None:
        """The pull ended (called by the pull itself)."""
        self._pulls.pop(session_id, None)

    async def close(self) -> None:
        """Stop every pull (shut-down)."""
        for pull in list(self._pulls.values()):
            await pull.stop()
        if self._http is not None:
            await self._http.close()

    @property
    def sfu(self) -> Sfu:
        """The SFU whose rooms the pulls feed."""
        return self._sfu

    @property
    def cluster(self) -> Cluster:
        """The cluster the origins are looked up in."""
        return self._cluster

    @property
    def grace_s(self) -> float:
        """How long viewers wait here for an origin to come back."""
        return self._grace_s


class _Pull:
    """One show pulled from its origin; also the SFU listener of its relay source."""

    def __init__(self, puller: RelayPuller, session_id: int) -> None:
        self._puller = puller
        self.session_id = session_id
        self._source: Publisher | None = None
        self._fence: int | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._label = f"session={session_id}"

    def start(self, lease: Lease) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(lease))

    async def wait_ready(self) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), FIRST_FRAME_TIMEOUT_S)
        except TimeoutError:
            raise Unavailable(
                "the show's video is not reaching this server yet: try again in a moment",
                code="relay_unavailable",
                retry_after=2,
            ) from None

    # -- RoomListener (the relay source's) ----------------------------------------

    async def publisher_started(self, session_id: int) -> None:
        self._ready.set()

    async def publisher_lost(self, session_id: int, publisher_id: str) -> None:
        logger.info("%s relay from the origin lost", self._label)
        self._source = None
        self._fence = None
        self._lost.set()

    # -- the loop -------------------------------------------------------------------

    async def _run(self, lease: Lease | None) -> None:
        sfu, cluster = self._puller.sfu, self._puller.cluster
        no_origin_since: float | None = None
        idle_since: float | None = None
        try:
            while True:
                if lease is not None and lease.fence != self._fence:
                    no_origin_since = None
                    await self._connect(lease)
                elif lease is None:
                    if await cluster.show_ended(self.session_id):
                        logger.info("%s show ended at its origin", self._label)
                        return
                    no_origin_since = no_origin_since or time.monotonic()
                    if time.monotonic() - no_origin_since > self._puller.grace_s:
                        logger.info("%s no origin for the grace period", self._label)
                        return
                if sfu.viewer_count(self.session_id) == 0 and self._ready.is_set():
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > IDLE_S:
                        logger.info("%s nobody watches here: relay let go", self._label)
                        return
                else:
                    idle_since = None
                self._lost.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), POLL_S)
                try:
                    lease = await cluster.origin_of(self.session_id)
                except Exception:  # Redis away for a moment: keep what we have
                    logger.warning("%s origin lookup failed", self._label, exc_info=True)
                if lease is not None and lease.node_id == cluster.node_id:
                    lease = None  # the host came to this node: its own room takes over
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s relay pull failed", self._label)
        finally:
            self._puller.forget(self.session_id)
            if not self._origin_here():
                await sfu.close_room(self.session_id)

    def _origin_here(self) -> bool:
        room = self._puller.sfu.room(self.session_id)
        return bool(room and room.publisher and not room.publisher.relay)

    async def _connect(self, lease: Lease) -> None:
        sfu, cluster = self._puller.sfu, self._puller.cluster
        old = self._source
        if old is not None:
            self._source = None
            await sfu.close_relay_source(self.session_id, old)
        pc = sfu.new_peer_connection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        try:
            source = sfu.open_relay_source(self.session_id, pc, self)
        except Exception:
            await close_peer(pc)
            raise
        try:
            await pc.setLocalDescription(await pc.createOffer())
            url = lease.url + RELAY_PATH.format(session_id=self.session_id)
            headers = {
                "Content-Type": "application/sdp",
                "Authorization": f"Bearer {cluster.relay_token(self.session_id)}",
            }
            async with self._puller.http().post(
                url, data=pc.localDescription.sdp, headers=headers
            ) as resp:
                answer = await resp.text()
                if resp.status != 201:
                    raise RuntimeError(f"{url} answered {resp.status}: {answer[:200]}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            sfu.relay_source_negotiated(self.session_id, source)
        except Exception as exc:
            logger.warning("%s relay from %s failed: %s", self._label, lease.url, exc)
            await sfu.close_relay_source(self.session_id, source)
            return  # the next poll tries again
        self._source = source
        self._fence = lease.fence
        logger.info("%s relay from origin %s (fence %d)", self._label, lease.url, lease.fence)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
