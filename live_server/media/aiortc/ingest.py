"""Frames out of a pass-through receiver the moment they are complete (aiortc 1.16).

aiortc's ``JitterBuffer`` ignores the RTP marker bit: it completes a video frame only
when the *next* frame's first packet arrives (a new timestamp), and it holds four audio
packets before it lets one go. Its frames then cross a thread (the receiver's decoder
worker) and come back to the event loop. For a forwarding server that is one frame
interval of hold per video frame (33 ms at 30 fps, 200 ms at 5 fps) and 80 ms of audio.

``forward_complete_frames(receiver)`` swaps a pass-through receiver's jitter buffer for
``ForwardingJitterBuffer``, which hands each frame straight to the receiver's track
queue (on the event loop, inside the packet handler) as soon as it is complete:

- video: the packets from the frame's first one to the one carrying the marker bit are
  all there. A frame with a missing packet waits: the receiver's NACK generator asks for
  it, the retransmission (RTX, unwrapped by the receiver) fills the gap, and that packet
  completes the frame. aiortc's generator asks once, when the gap appears; a lost NACK or
  retransmission then left the gap for good, so while a frame waits the buffer asks again
  every ``NACK_REPEAT_S`` (``renack``; a packet arriving is its clock, as libwebrtc's
  receiver asks again each round trip and its sender resends a packet at most once per
  round trip). If it has not come within ``GAP_TIMEOUT_S`` (0.5 s), the frames up
  to the next one whose first packet is there are skipped, a keyframe is asked for (the
  receiver's PLI) and nothing is handed on until a keyframe (``is_key``), so no viewer
  decodes a frame whose reference never came. aiortc's own rule alone waited for the
  buffer to overflow: 512 packets, 16 s on a 180p simulcast layer whose lost packet was
  never resent (every viewer on that layer froze). aiortc's "a new timestamp ends the
  frame" rule is kept for a sender that never sets the marker bit.
- a packet from before the buffer's origin (already forwarded, or given up) is dropped:
  a late retransmission, or libwebrtc's bandwidth probe, which pads with old packets
  resent on the RTX stream. aiortc's buffer started over from such a packet once it was
  ``MAX_MISORDER`` (100) behind, and then waited for the hundred packets after it, all
  forwarded long ago: 0.5 s to the give-up and a keyframe wait, 0-8 times in a 70 s run
  of a Chromium host probing its uplink (the shaped scenario, 2026-12-04). Only a
  run of ``RESTART_AFTER`` packets in a row from behind it (a sender that started its
  numbering again) resets the buffer, as aiortc's did.
- audio (Opus, one frame per packet): each packet is a frame. There is no NACK for
  audio, so a gap is not waited for (the viewer's decoder conceals it); a packet older
  than the last one forwarded is dropped.

Internals used, checked by ``verify_ingest()``: ``RTCRtpReceiver.__jitter_buffer``,
``_track``, ``__decoder_thread`` and ``_handle_rtp_packet`` calling the buffer's
``add``; ``JitterBuffer.add`` calling ``self._remove_frame``, its ``_packets``,
``_origin``, ``_capacity``, ``_is_video`` and ``remove``; ``RemoteStreamTrack._queue``.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import av
from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack, TimestampMapper
from aiortc.rtp import RtpPacket

from recordings.bitstream import is_keyframe

if TYPE_CHECKING:
    import av.packet
    from av.stream import Stream

    Packet = av.packet.Packet[Stream]
else:
    Packet = Any

logger = logging.getLogger(__name__)

#: how long a video frame waits for a missing packet before the buffer gives up on it
GAP_TIMEOUT_S = 0.5
#: while waiting for a keyframe after a skip, the PLI is repeated this often
KEY_RETRY_S = 1.0
#: while a frame waits for a missing packet, it is asked for again this often
NACK_REPEAT_S = 0.1
#: at most this many missing packets in one repeated NACK (the oldest first)
NACK_MAX = 64
#: this many packets in a row from before the origin: the sender started again
RESTART_AFTER = 16

_BUFFER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"
_BUFFER_NAMES = ("_packets", "_origin", "_capacity", "_is_video")


def _names(function: Any) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code is not None else set()


def verify_ingest() -> list[str]:
    """Problems with the aiortc internals the ingest uses (empty when fine)."""
    problems: list[str] = []
    receiver_init = _names(RTCRtpReceiver.__dict__.get("__init__"))
    for attr in (_BUFFER_ATTR, _THREAD_ATTR, "_track"):
        if attr not in receiver_init:
            problems.append(f"RTCRtpReceiver.{attr} is gone")
    if not {_BUFFER_ATTR, "add"} <= _names(getattr(RTCRtpReceiver, "_handle_rtp_packet", None)):
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer calls its jitter buffer's add")
    if "_remove_frame" not in _names(getattr(JitterBuffer, "add", None)):
        problems.append("JitterBuffer.add no longer calls self._remove_frame")
    buffer_init = _names(JitterBuffer.__dict__.get("__init__"))
    problems += [f"JitterBuffer.{a} is gone" for a in _BUFFER_NAMES if a not in buffer_init]
    if not callable(getattr(JitterBuffer, "remove", None)):
        problems.append("JitterBuffer.remove is gone")
    if "_queue" not in _names(RemoteStreamTrack.__dict__.get("__init__")):
        problems.append("RemoteStreamTrack._queue is gone")
    if not callable(getattr(TimestampMapper, "map", None)):
        problems.append("aiortc.rtcrtpreceiver.TimestampMapper is gone")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_nack", None)):
        problems.append("RTCRtpReceiver._send_rtcp_nack is gone")
    return problems


def encoded_packet(data: bytes, timestamp: int, time_base: fractions.Fraction) -> Packet:
    """An encoded frame as the ``av.Packet`` a pass-through track's ``recv()`` returns."""
    packet = av.Packet(data)
    packet.pts = timestamp
    packet.dts = timestamp
    packet.time_base = time_base
    return packet


class ForwardingJitterBuffer(JitterBuffer):
    """aiortc's jitter buffer, handing each complete frame to ``deliver`` at once.

    ``add`` keeps aiortc's bookkeeping (origin, misorder, overflow and its PLI flag) and
    never returns a frame: every complete frame, possibly several when a retransmission
    fills a gap, goes to ``deliver(frame, payload_type)``. A video gap older than
    ``GAP_TIMEOUT_S`` is skipped (see the module docstring); ``is_key(frame,
    payload_type)`` then says which frame may go again (None: any). ``renack(ssrc,
    sequence_numbers)`` asks the sender again for missing packets (None: never).
    """

    def __init__(
        self,
        capacity: int,
        is_video: bool,
        deliver: Callable[[JitterFrame, int], None],
        is_key: Callable[[JitterFrame, int], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        renack: Callable[[int, list[int]], None] | None = None,
    ) -> None:
        super().__init__(capacity=capacity, is_video=is_video)
        self._deliver = deliver
        self._is_key = is_key
        self._clock = clock
        self._blocked_since: float | None = None  # when the head frame began to wait
        self._key_asked_at: float | None = None  # set while waiting for a keyframe
        self._renack = renack
        self._nacked_at: float | None = None  # when missing packets were last asked for
        self.skipped_gaps = 0
        self.renacks = 0  # NACKs repeated
        self.late = 0  # packets from before the origin, dropped
        self._late_run = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Store ``packet`` and forward what it completes; returns (PLI wanted, None)."""
        if self._origin is not None:
            behind = (self._origin - packet.sequence_number) & 0xFFFF
            if 0 < behind < 0x8000 and self._late_run < RESTART_AFTER:
                self._late_run += 1
                self.late += 1
                return False, None
        self._late_run = 0
        pli_flag, _ = super().add(packet)
        if self._is_video:
            pli_flag = self._give_up_stale_gap(packet.sequence_number) or pli_flag
            self._ask_again(packet)
        return pli_flag, None

    def _ask_again(self, packet: RtpPacket) -> None:
        """NACK the packets still missing before ``packet`` again, while a frame waits."""
        since = self._blocked_since
        if self._renack is None or since is None or self._origin is None:
            return
        now = self._clock()
        last = self._nacked_at if self._nacked_at is not None and self._nacked_at > since else since
        if now - last < NACK_REPEAT_S:  # aiortc's generator asked when the gap appeared
            return
        missing: list[int] = []
        span = (packet.sequence_number - self._origin) & 0xFFFF
        for count in range(min(span, self._capacity)):
            seq = (self._origin + count) & 0xFFFF
            stored = self._packets[seq % self._capacity]
            if stored is None or stored.sequence_number != seq:
                missing.append(seq)
                if len(missing) == NACK_MAX:
                    break
        if missing:
            self._nacked_at = now
            self.renacks += 1
            self._renack(packet.ssrc, missing)

    def _give_up_stale_gap(self, sequence_number: int) -> bool:
        now = self._clock()
        asked = self._key_asked_at
        if asked is not None and now - asked >= KEY_RETRY_S:
            self._key_asked_at = now
            return True  # still no keyframe: ask again
        since = self._blocked_since
        if since is None or now - since < GAP_TIMEOUT_S or not self._skip_to_next_frame():
            return False
        self.skipped_gaps += 1
        self._key_asked_at = now
        logger.info("a missing packet never came: frames skipped, keyframe asked for")
        self._remove_frame(sequence_number)  # what follows the gap may be complete already
        return True

    def _skip_to_next_frame(self) -> bool:
        """Drop everything before the first frame after a gap whose first packet is here
        (a packet that follows a stored one with the marker bit or another timestamp);
        False, changing nothing, when there is none yet."""
        assert self._origin is not None
        previous: RtpPacket | None = None
        gap = False
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                gap = True
            elif (
                gap
                and previous is not None
                and (previous.marker or previous.timestamp != packet.timestamp)
            ):
                self.remove(count)
                self._blocked_since = None
                return True
            previous = packet
        return False

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        # called by JitterBuffer.add once the packet is stored
        while True:
            found = self._take_video() if self._is_video else self._take_audio(sequence_number)
            if found is None:
                if self._is_video and self._blocked_since is None and self._holds(sequence_number):
                    self._blocked_since = self._clock()
                return None
            self._blocked_since = None
            if self._key_asked_at is not None:
                if self._is_key is not None and not self._is_key(*found):
                    continue  # its reference was skipped: wait for the keyframe
                self._key_asked_at = None
            self._deliver(*found)

    def _holds(self, sequence_number: int) -> bool:
        """Whether the packet just stored is still waiting (the head frame is blocked)."""
        packet = self._packets[sequence_number % self._capacity]
        return packet is not None and packet.sequence_number == sequence_number

    def _take_video(self) -> tuple[JitterFrame, int] | None:
        packets: list[RtpPacket] = []
        assert self._origin is not None  # set by add before this runs
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None
            if packets and packet.timestamp != packets[0].timestamp:
                # a sender that left the marker bit unset: the new timestamp ends the frame
                return self._cut(packets, count)
            packets.append(packet)
            if packet.marker:
                return self._cut(packets, count + 1)
        return None

    def _take_audio(self, sequence_number: int) -> tuple[JitterFrame, int] | None:
        assert self._origin is not None
        packet = self._packets[sequence_number % self._capacity]
        if packet is None or packet.sequence_number != sequence_number:
            return None
        # skip whatever never came before it: no retransmission will fill it
        return self._cut([packet], ((sequence_number - self._origin) & 0xFFFF) + 1)

    def _cut(self, packets: list[RtpPacket], count: int) -> tuple[JitterFrame, int]:
        data = b"".join(p._data for p in packets)  # type: ignore[attr-defined]
        self.remove(count)
        return JitterFrame(data=data, timestamp=packets[0].timestamp), packets[0].payload_type


def forward_complete_frames(receiver: RTCRtpReceiver, codecs: list[RTCRtpCodecParameters]) -> bool:
    """Make ``receiver`` put each complete frame on its track as an ``av.Packet`` at once.

    Call it after ``setRemoteDescription`` (the receiver has its track) and before any
    packet arrives; ``codecs`` are the transceiver's negotiated codecs (their clock rates
    stamp the packets). Returns False, changing nothing, when the receiver has no track.
    The receiver's decoder thread is left idle; it still ends the track on stop.
    """
    r: Any = receiver
    track = r._track
    if track is None:
        return False
    queue = track._queue
    old: JitterBuffer = getattr(r, _BUFFER_ATTR)
    mapper = TimestampMapper()
    time_bases = {c.payloadType: fractions.Fraction(1, c.clockRate) for c in codecs}
    names = {c.payloadType: c.name for c in codecs}

    def is_key(frame: JitterFrame, payload_type: int) -> bool:
        name = names.get(payload_type, "")
        if name.upper() == "H264" and not frame.data.startswith(
            (b"\x00\x00\x01", b"\x00\x00\x00\x01")
        ):
            return False  # not a whole access unit (it starts inside a NAL unit)
        return is_keyframe(name, frame.data)

    def deliver(frame: JitterFrame, payload_type: int) -> None:
        if getattr(r, _THREAD_ATTR) is None:  # not started yet, or stopped
            return
        time_base = time_bases.get(payload_type)
        if time_base is None or not frame.data:  # padding-only packets make empty "frames"
            return
        queue.put_nowait(encoded_packet(frame.data, mapper.map(frame.timestamp), time_base))

    asking: set[asyncio.Task[None]] = set()

    def renack(ssrc: int, lost: list[int]) -> None:
        # called inside the receiver's packet handler, on the event loop
        task = asyncio.get_running_loop().create_task(r._send_rtcp_nack(ssrc, lost))
        asking.add(task)
        task.add_done_callback(asking.discard)

    buffer = ForwardingJitterBuffer(old.capacity, old._is_video, deliver, is_key, renack=renack)
    setattr(r, _BUFFER_ATTR, buffer)
    return True
