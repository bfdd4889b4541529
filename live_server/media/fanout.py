"""Fan-out of encoded frames: one hub per session and media kind, one bounded track per viewer.

The publisher's reader task calls ``FanoutHub.dispatch`` once per encoded frame;
the same ``av.Packet`` object goes to every viewer (aiortc's packer only reads
it). A viewer whose queue overflows drops everything it holds and waits for the
next keyframe, so it never holds back the host or the other viewers and memory
is bounded by ``max_queue`` frames per viewer.

Fast path (``fast_path=True``, the default): the hub packetises each frame once
(``SharedPacketizer``) and, inside ``dispatch``, writes it to every connected viewer
through that viewer's ``FastRtpSender`` (see ``aiortc_fastpath``): one synchronous
loop per frame for the whole audience, no per-viewer task wake-ups. A viewer is on
the fast path from the moment aiortc starts its sender (first ``recv()``); frames
that arrived before are queued as usual and flushed then. Its bounded queue becomes
the socket's send buffer: when the socket would block it drops to the next keyframe.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av.packet
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from live_server.media.aiortc.fastpath import (
    MAX_BACKLOG_BYTES,
    NOT_CONNECTED,
    PICTURE_ID_MASK,
    PROTECT_FAILED,
    SENT,
    WOULD_BLOCK,
    FastRtpSender,
    SendBatch,
    SharedPacketizer,
    picture_id,
    send_batch,
)

if TYPE_CHECKING:
    from av.stream import Stream

    Packet = av.packet.Packet[Stream]
else:
    Packet = av.packet.Packet

logger = logging.getLogger(__name__)

DEFAULT_VIDEO_QUEUE = 90  # about 3 s at 30 fps
DEFAULT_AUDIO_QUEUE = 150  # about 3 s of 20 ms Opus frames
#: the longest a viewer moving layers goes without the old layer's frames (``hold``): a
#: keyframe request is answered within the room's 0.5 s throttle and a frame or two
HOLD_MAX_S = 1.5

Shared = tuple[list[bytes], int]  # a frame's RTP payloads and RTP timestamp, for all viewers


class Batch:
    """The fast-path viewers of one frame, sent in one call per kind of send state (the
    native loop's, or the Python twin's for a viewer it cannot take, e.g. over TURN)."""

    def __init__(self) -> None:
        self._groups: dict[SendBatch, tuple[list[ViewerTrack], list[Any]]] = {}

    def add(self, track: ViewerTrack, send: SendBatch, state: Any) -> None:
        """Send this frame to ``track`` through ``state`` when the batch goes."""
        group = self._groups.get(send)
        if group is None:
            group = self._groups[send] = ([], [])
        group[0].append(track)
        group[1].append(state)

    def send(self, shared: Shared) -> bool:
        """Send the frame to every viewer added; True when one of them needs a keyframe."""
        wants_keyframe = False
        for send, (tracks, states) in self._groups.items():
            try:
                statuses = send_batch(send, shared[0], shared[1], states)
            except Exception:  # a bug, not a viewer's state: every viewer here misses it
                logger.exception("fan-out batch send failed (%d viewers)", len(tracks))
                statuses = bytes([NOT_CONNECTED]) * len(tracks)
            for track, status in zip(tracks, statuses, strict=True):
                if status == SENT:
                    track.delivered += 1
                elif track.sent(status):
                    wants_keyframe = True
        return wants_keyframe


class ViewerTrack(MediaStreamTrack):
    """A viewer's outgoing track: a bounded queue of the host's encoded frames."""

    def __init__(self, hub: FanoutHub, viewer_id: str, max_queue: int) -> None:
        super().__init__()
        self.kind = hub.kind
        self.viewer_id = viewer_id
        self._hub = hub
        self._max_queue = max_queue
        self._queue: deque[tuple[Packet, Shared | None]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._needs_keyframe = hub.kind == "video"
        self._fast_factory: Callable[[], FastRtpSender | None] | None = None
        self.fast: FastRtpSender | None = None
        self.delivered = 0
        self.dropped = 0
        self.overflows = 0
        #: added to the hub's timestamps for this viewer: keeps its stream continuous after a
        #: move to another layer's hub, whose timeline may be a little off from the last one
        self.ts_shift = 0
        #: added to the hub's VP8 picture IDs for this viewer (fast path), for the same reason
        self.pid_shift = 0
        self.pending: FanoutHub | None = None  # the hub it moves to at that hub's keyframe
        self._hold_until: float | None = None  # until then no frames before the move
        self.held = 0  # frames not sent because of a hold
        self.switches = 0

    @property
    def hub(self) -> FanoutHub:
        """The hub whose frames this viewer gets now."""
        return self._hub

    def move_to(self, hub: FanoutHub, hold: bool = False) -> None:
        """Get ``hub``'s frames from its next keyframe on (another simulcast layer; the
        viewer's own sender keeps its sequence numbers and timestamps going).

        ``hold``: send none of the current hub's frames meanwhile (for at most
        ``HOLD_MAX_S``), for a viewer whose link loses most of them and whose picture is
        broken already: what is queued on its link drains before the new layer's
        keyframe, instead of that keyframe being dropped behind the old layer's frames.
        Nor are the old layer's packets resent, meanwhile or after the move
        (``FastRtpSender.restart_at_keyframe``): a shaped Chromium viewer's NACKs once had
        34 of them (40 kB, 0.8 s of its 400 kbit/s link) sent ahead of that keyframe.
        Asking again for the same move keeps a hold."""
        same = hub is self.pending
        if self.pending is not None:
            self.pending._pending.discard(self)
        self.pending = None if hub is self._hub else hub
        if self.pending is None or not (hold or same):
            self._set_hold(None)
        elif hold and self._hold_until is None:
            self._set_hold(time.monotonic() + HOLD_MAX_S)
        if self.pending is not None:
            hub._pending.add(self)
            hub.request_keyframe()

    def _set_hold(self, until: float | None) -> None:
        was, self._hold_until = self._hold_until, until
        if self.fast is not None and (until is not None or was is not None):
            self.fast.gate.hold(until)

    def _switch(self, hub: FanoutHub, pts: int, now: float, pid: int | None) -> None:
        old = self._hub
        if pid is not None and old.picture_id is not None:
            # this keyframe's picture ID follows the last one's by one
            shift = (old.picture_id + self.pid_shift + 1 - pid) & PICTURE_ID_MASK
            if self.fast is not None:
                self.fast.shift_picture_ids(shift - self.pid_shift)
            self.pid_shift = shift
        if old.dispatched_at is not None and old.last_pts >= 0:
            # this keyframe follows the last frame by the time that passed (>= 1 tick)
            ticks = max(1, round((now - old.dispatched_at) * hub.clock_rate))
            shift = old.last_pts + self.ts_shift + ticks - pts
            logger.debug(
                "viewer %s switch: last %d, shift %d, %d ticks later, keyframe %d -> shift %d",
                self.viewer_id, old.last_pts, self.ts_shift, ticks, pts, shift,
            )  # fmt: skip
            if self.fast is not None:
                self.fast.shift_timestamps(shift - self.ts_shift)
            self.ts_shift = shift
        self._hub.remove(self)
        self._hub, self.pending = hub, None
        if self._hold_until is not None and self.fast is not None:
            self.fast.restart_at_keyframe()  # this one: nothing before it is resent
        self._set_hold(None)
        hub._viewers.add(self)
        self.switches += 1

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return len(self._queue)

    def use_fast_path(self, factory: Callable[[], FastRtpSender | None]) -> None:
        """Send through ``factory()``'s fast sender once aiortc starts this track's sender."""
        self._fast_factory = factory

    def offer(
        self,
        packet: Packet,
        keyframe: bool,
        shared: Shared | None = None,
        batch: Batch | None = None,
    ) -> bool:
        """Queue (or, on the fast path, send, or add to ``batch``) a frame; True when this
        viewer needs a keyframe."""
        if self._hold_until is not None:
            if time.monotonic() < self._hold_until:
                self.held += 1
                self.dropped += 1
                return False
            self._set_hold(None)  # the new layer's keyframe is late: carry on meanwhile
        if self._needs_keyframe:
            if not keyframe:
                self.dropped += 1
                return True
            self._needs_keyframe = False
        fast = self.fast
        if fast is not None and shared is not None:
            if batch is not None:
                state = fast.batch_state()
                if state is not None:
                    batch.add(self, fast.send_batch, state)
                    return False
            return self._send_fast(fast, shared, keyframe)  # says why it cannot go now
        if self.ts_shift and fast is None:  # aiortc's sender (or the flush) stamps these
            packet, shared = self._shifted(packet, shared)
        if len(self._queue) >= self._max_queue:
            self.overflows += 1
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video" and not keyframe:
                self._needs_keyframe = True
                self.dropped += 1
                logger.info(
                    "viewer %s %s queue overflow: waiting for keyframe", self.viewer_id, self.kind
                )
                return True
        self._queue.append((packet, shared))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return False

    def _shifted(self, packet: Packet, shared: Shared | None) -> tuple[Packet, Shared | None]:
        copy = av.packet.Packet(bytes(packet))
        copy.pts = copy.dts = int(packet.pts or 0) + self.ts_shift
        copy.time_base = packet.time_base
        if shared is not None:
            shared = (shared[0], (shared[1] + self.ts_shift) & 0xFFFFFFFF)
        return copy, shared

    def _send_fast(self, fast: FastRtpSender, shared: Shared, keyframe: bool) -> bool:
        status = WOULD_BLOCK
        if fast.backlog <= MAX_BACKLOG_BYTES:
            try:
                status = fast.send_frame(shared[0], shared[1])
            except Exception:  # one broken viewer must not stop the fan-out
                logger.exception("viewer %s %s fast send failed", self.viewer_id, self.kind)
                status = NOT_CONNECTED
        return self.sent(status)

    def sent(self, status: int) -> bool:
        """Account for one fast-path send; True when this viewer now needs a keyframe."""
        if status == SENT:
            self.delivered += 1
            return False
        self.dropped += 1
        if status == PROTECT_FAILED:
            logger.warning("viewer %s %s: SRTP protect failed", self.viewer_id, self.kind)
        if status == WOULD_BLOCK:
            # the socket is full: like a full queue, skip to the next keyframe
            self.overflows += 1
            if self.kind == "video":
                self._needs_keyframe = True
                logger.info(
                    "viewer %s %s socket full: waiting for keyframe", self.viewer_id, self.kind
                )
                return True
        return False

    def _start_fast_path(self) -> None:
        factory, self._fast_factory = self._fast_factory, None
        if factory is None:
            return
        fast = factory()
        if fast is None or any(shared is None for _, shared in self._queue):
            if fast is not None:
                fast.detach()
            return
        self.fast = fast
        if self._hold_until is not None:
            fast.gate.hold(self._hold_until)
        if self.pid_shift:  # unlike timestamps, queued frames' picture IDs are the hub's
            fast.shift_picture_ids(self.pid_shift)
        queued = list(self._queue)
        self._queue.clear()
        for i, (_, shared) in enumerate(queued):
            if shared is not None and self._send_fast(fast, shared, False):
                # the socket filled up: the rest would not decode without what was lost
                self.dropped += len(queued) - i - 1
                self._hub.request_keyframe()
                break
        if self.ts_shift:  # the queued frames carried it already
            fast.shift_timestamps(self.ts_shift)

    async def recv(self) -> Packet:
        """The next encoded frame for this viewer's RTP sender.

        On the fast path frames leave from ``offer``; this parks aiortc's sender loop
        until the track stops.
        """
        if self._fast_factory is not None:
            self._start_fast_path()
        while self.fast is not None or not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.readyState != "live":
            raise MediaStreamError
        self.delivered += 1
        return self._queue.popleft()[0]

    def stop(self) -> None:
        """Detach from the hub and wake a pending ``recv`` so it ends."""
        if self.readyState == "live":
            self._hub.remove(self)
            self.move_to(self._hub)  # drop a pending move
        super().stop()
        if self.fast is not None:
            self.fast.detach()
        self._queue.clear()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class FanoutHub:
    """Distributes one session's frames of one kind to its viewers.

    Outgoing timestamps are rebased onto the session's media timeline so that a
    publisher that reconnects (new RTP origin) continues where the last one
    stopped instead of jumping backwards.
    """

    def __init__(
        self,
        kind: str,
        clock_rate: int,
        on_keyframe_needed: Callable[[], None],
        max_queue: int | None = None,
        fast_path: bool = True,
    ) -> None:
        self.kind = kind
        self.fast_path = fast_path
        self._packetizer: SharedPacketizer | None = None
        self.clock_rate = clock_rate
        self.time_base = fractions.Fraction(1, clock_rate)
        self.codec_name: str | None = None
        self._on_keyframe_needed = on_keyframe_needed
        self._max_queue = max_queue or (
            DEFAULT_VIDEO_QUEUE if kind == "video" else DEFAULT_AUDIO_QUEUE
        )
        self._viewers: set[ViewerTrack] = set()
        self._pending: set[ViewerTrack] = set()  # viewers moving here at the next keyframe
        self.layer: str | None = None  # the simulcast rid it carries (None: the show's source)
        self._offset: int | None = None
        self._source_start = 0.0
        self._last_pts = -1
        #: the source's last RTP timestamp as it came (32 bits) and unwrapped: a host's
        #: timestamps start at random and wrap past 2^32 (every 13 h at 90 kHz)
        self._src_raw: int | None = None
        self._src = 0
        self.dispatched_at: float | None = None  # when the last frame went out (monotonic)
        #: the VP8 picture ID of the last frame packetised (None: none, or another codec)
        self.picture_id: int | None = None
        self.frames_in = 0
        self.bytes_in = 0  # the node's outbound bitrate is estimated from it (viewing.py)

    @property
    def viewers(self) -> frozenset[ViewerTrack]:
        """The attached viewer tracks."""
        return frozenset(self._viewers)

    def new_track(self, viewer_id: str) -> ViewerTrack:
        """Attach a new viewer; it starts at the next keyframe, which is requested."""
        track = ViewerTrack(self, viewer_id, self._max_queue)
        self._viewers.add(track)
        if self.kind == "video":
            self._on_keyframe_needed()
        return track

    def request_keyframe(self) -> None:
        """Ask the host for a keyframe (throttled by the room)."""
        if self.kind == "video":
            self._on_keyframe_needed()

    def remove(self, track: ViewerTrack) -> None:
        """Detach a viewer (idempotent)."""
        self._viewers.discard(track)

    def start_source(self, media_time_s: float) -> None:
        """A new publisher track begins at ``media_time_s`` on the session timeline."""
        self._offset = None
        self._source_start = media_time_s
        self._src_raw = None

    def _unwrap(self, raw: int) -> int:
        """``raw`` (an RTP timestamp, 32 bits) on the source's unwrapped line: the nearer
        way round from the last one, so a wrap past 2^32 goes on and a late frame from
        before it stays behind (a plain difference once read one as 13 h ahead, and every
        frame after it was stamped one tick after that)."""
        if self._src_raw is None:
            self._src_raw, self._src = raw, raw
            return raw
        step = (raw - self._src_raw) & 0xFFFFFFFF
        if step >= 0x80000000:
            step -= 0x100000000
        value = self._src + step
        if step > 0:
            self._src_raw, self._src = raw, value
        return value

    def rebase(self, packet: Packet) -> None:
        """Move ``packet``'s pts onto the session timeline (strictly increasing)."""
        pts = self._unwrap(int(packet.pts or 0))
        if self._offset is None:
            start = int(self._source_start * self.clock_rate)
            self._offset = max(start, self._last_pts + 1) - pts
        out = pts + self._offset
        if out <= self._last_pts:
            out = self._last_pts + 1
        self._last_pts = out
        packet.pts = out
        packet.dts = out
        packet.time_base = self.time_base

    def dispatch(self, packet: Packet, keyframe: bool) -> None:
        """Hand one (already rebased) frame to every viewer."""
        self.frames_in += 1
        self.bytes_in += packet.size
        wants_keyframe = False
        adopt = keyframe and bool(self._pending)
        shared = self._packetize(packet) if self.fast_path and (self._viewers or adopt) else None
        pid = None
        if shared is not None and shared[0] and self.codec_name == "VP8":
            pid = picture_id(shared[0][0])
        if adopt:
            self._adopt_pending(int(packet.pts or 0), pid)
        if shared is not None:
            self.picture_id = pid
        batch = Batch() if shared is not None else None
        for track in self._viewers:
            if track.offer(packet, keyframe, shared, batch):
                wants_keyframe = True
        if batch is not None and shared is not None and batch.send(shared):
            wants_keyframe = True
        if wants_keyframe and self.kind == "video":
            self._on_keyframe_needed()
        self.dispatched_at = time.monotonic()  # a viewer moving here continues from it

    @property
    def last_pts(self) -> int:
        """The last dispatched frame's timestamp on the session timeline (-1: none yet)."""
        return self._last_pts

    def _adopt_pending(self, pts: int, pid: int | None) -> None:
        """Move the viewers waiting for this keyframe (VP8 picture ID ``pid``) here."""
        now = time.monotonic()
        for track in list(self._pending):
            self._pending.discard(track)
            if track.readyState == "live" and track.pending is self:
                track._switch(self, pts, now, pid)

    @property
    def wanted(self) -> bool:
        """Whether any viewer gets, or waits for, this hub's frames."""
        return bool(self._viewers or self._pending)

    def _packetize(self, packet: Packet) -> Shared | None:
        name = self.codec_name
        if name is None:
            return None
        packetizer = self._packetizer
        if packetizer is None or packetizer.codec_name != name:
            try:
                packetizer = self._packetizer = SharedPacketizer(self.kind, name, self.clock_rate)
            except ValueError:
                self.fast_path = False  # a codec aiortc cannot packetise: per-viewer path
                return None
        return packetizer.pack(packet)

    def close(self) -> None:
        """Stop every viewer track."""
        for track in list(self._viewers):
            track.stop()
        self._viewers.clear()
        for track in list(self._pending):
            track.move_to(track.hub)
        self._pending.clear()
