"""The packager's worker-thread half: frames in; init segment, parts and segment ends out.

``Pipeline.push`` takes the frames in queue order. Video waits for its first keyframe (audio
is held meanwhile, bounded), a VP8 show goes through the transcoder, the segmenter says
where parts and segments end, and the fragmenter turns each part into bytes. A video frame
is muxed when the next one arrives, so its duration is exact and tfdt runs on without gaps.
Frames that cannot be used (not Annex B, pts going backwards, refused by the decoder) are
dropped with one warning per kind of trouble; anything else that fails propagates (the
packager then stops and reports it).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import av

from recordings.bitstream import is_keyframe as vp8_keyframe_check
from recordings.bitstream import vp8_dimensions
from recordings.llhls import codecs
from recordings.llhls.models import InitSegment, PackagerConfig, Part, SegmentEnd
from recordings.llhls.muxer import VIDEO_CLOCK, Fragmenter, Tracks
from recordings.llhls.segmenter import VIDEO_STALL_S, Closed, ClosedPart, Segmenter
from recordings.llhls.transcode import BadFrame, Vp8ToH264

logger = logging.getLogger(__name__)

MAX_PENDING_AUDIO = 250  # audio frames held while waiting for the first video keyframe (5 s)
DEFAULT_FRAME_TICKS = VIDEO_CLOCK // 30
B_FRAMES_WARNING = (
    "the host's encoder sends B-frames; set OBS to profile baseline / bframes=0 for LL-HLS"
)

Output = InitSegment | Part | SegmentEnd


class Pipeline:
    """Turns one show's frames into LL-HLS output (call from one thread only)."""

    def __init__(
        self,
        video_codec: str | None,
        audio_codec: str | None,
        config: PackagerConfig,
        emit: Callable[[Output], None],
        label: str = "",
    ) -> None:
        self.video_codec = video_codec
        self.audio = audio_codec == "OPUS"
        self._emit = emit
        self._label = label
        self._segmenter = Segmenter(config, video=video_codec is not None)
        self._transcoder = (
            Vp8ToH264(config.transcode_fps, config.transcode_keyframe_interval)
            if video_codec == "VP8"
            else None
        )
        self._fragmenter: Fragmenter | None = None
        self._pending_audio: deque[tuple[bytes, int, int]] = deque(maxlen=MAX_PENDING_AUDIO)
        self._held: tuple[bytes, int, bool] | None = None  # the last video frame, not muxed yet
        self._last_pts: dict[str, int] = {}
        self._frame_ticks = DEFAULT_FRAME_TICKS
        self._end_s = 0.0
        self._segment_parts: list[float] = []  # the open segment's part durations, as sent
        self._warned: set[str] = set()
        self.dropped: dict[str, int] = {}

    def push(self, kind: str, data: bytes, pts: int, keyframe: bool) -> None:
        """One frame as the SFU gave it (pts in 90 kHz video / 48 kHz audio units)."""
        if kind == "video" and self.video_codec is not None:
            self._video_in(data, pts, keyframe)
        elif kind == "audio" and self.audio:
            self._audio_in(data, pts)

    def finish(self) -> None:
        """The show ended: the last part and segment go out."""
        if self._transcoder is not None and self._fragmenter is not None:
            for au, pts, key in self._transcoder.flush():
                self._video_sample(au, pts, key)
        if self._fragmenter is None:
            return
        self._mux_held(self._frame_ticks)
        self._apply(self._segmenter.finish(self._end_s))

    def abort(self) -> None:
        """Release the open muxer after a failure."""
        if self._fragmenter is not None:
            self._fragmenter.abort()

    # -- video ------------------------------------------------------------------------

    def _video_in(self, data: bytes, pts: int, keyframe: bool) -> None:
        last = self._last_pts.get("video")
        if last is not None and pts <= last:
            if self.video_codec == "H264":
                self._warn_once("bframes", B_FRAMES_WARNING)
            self._drop("video out of order")
            return
        if self._transcoder is not None:
            self._vp8_in(data, pts, keyframe)
            return
        if not codecs.starts_with_start_code(data):
            self._warn_once("annexb", "dropping video frames that are not H.264 Annex B")
            self._drop("video not Annex B")
            return
        keyframe = keyframe and codecs.has_idr(data)
        if self._fragmenter is None:
            if not self._start_video(data, keyframe):
                return
        elif keyframe and codecs.parameter_sets(data) not in (
            None,
            self._fragmenter.tracks.video_extradata,
        ):
            self._warn_once(
                "sps-change",
                "the host's encoder changed its SPS/PPS (size or profile) during the show; "
                "players keep the first init segment's",
            )
        self._last_pts["video"] = pts
        self._video_sample(data, pts, keyframe)

    def _vp8_in(self, data: bytes, pts: int, keyframe: bool) -> None:
        assert self._transcoder is not None
        keyframe = keyframe and vp8_keyframe_check("VP8", data)
        if self._fragmenter is None and not (keyframe and vp8_dimensions(data)):
            self._drop("video before the first keyframe")
            return
        force = self._segmenter.keyframe_due(pts / VIDEO_CLOCK)
        try:
            units = self._transcoder.transcode(data, pts, force)
        except BadFrame as exc:
            self._warn_once("vp8", f"dropping VP8 frames the decoder refuses ({exc})")
            self._drop("video undecodable")
            return
        self._last_pts["video"] = pts
        for unit, unit_pts, unit_key in units:
            if self._fragmenter is None and not self._start_video(unit, unit_key):
                continue
            self._video_sample(unit, unit_pts, unit_key)

    def _start_video(self, data: bytes, keyframe: bool) -> bool:
        """Open the fragmenter on the first usable H.264 keyframe; False: keep waiting."""
        if not keyframe:
            self._drop("video before the first keyframe")
            return False
        extradata = codecs.parameter_sets(data)
        if extradata is None:
            self._warn_once("sps", "a keyframe without SPS/PPS; waiting for the next one")
            self._drop("video before the first keyframe")
            return False
        if self._transcoder is not None:
            width, height = self._transcoder.width, self._transcoder.height
        else:
            size = _h264_size(data)
            if size is None:
                self._warn_once("size", "a keyframe the H.264 decoder refuses; waiting")
                self._drop("video before the first keyframe")
                return False
            width, height = size
        self._start(Tracks(extradata, width, height, audio=self.audio))
        return True

    def _video_sample(self, data: bytes, pts: int, keyframe: bool) -> None:
        held = self._held
        duration = self._frame_ticks
        if held is not None and pts > held[1]:
            duration = pts - held[1]  # exact: the held frame lasts until this one
            if duration < VIDEO_STALL_S * VIDEO_CLOCK:  # a stall is no frame interval
                self._frame_ticks = duration
        self._mux_held(duration)
        t = pts / VIDEO_CLOCK
        first = not self._segmenter.started
        self._apply(self._segmenter.video(t, keyframe))
        self._held = (data, pts, keyframe)
        self._end_s = max(self._end_s, (pts + self._frame_ticks) / VIDEO_CLOCK)
        if first:
            self._release_pending_audio(t)

    def _mux_held(self, duration: int) -> None:
        held, self._held = self._held, None
        if held is not None:
            assert self._fragmenter is not None
            data, pts, keyframe = held
            self._fragmenter.add("video", data, pts, duration, keyframe)

    # -- audio ------------------------------------------------------------------------

    def _audio_in(self, data: bytes, pts: int) -> None:
        last = self._last_pts.get("audio")
        samples = codecs.opus_samples(data)
        if (last is not None and pts <= last) or samples == 0:
            self._drop("audio out of order or empty")
            return
        self._last_pts["audio"] = pts
        if self._fragmenter is None:
            if self.video_codec is not None:
                self._pending_audio.append((data, pts, samples))
                return
            self._start(Tracks(None, audio=True))
        self._audio_sample(data, pts, samples)

    def _audio_sample(self, data: bytes, pts: int, samples: int) -> None:
        assert self._fragmenter is not None
        t = pts / codecs.OPUS_CLOCK
        closed = self._segmenter.audio(t, samples / codecs.OPUS_CLOCK)
        if closed:  # the video stalled: its last frame goes with the part it belongs to
            self._mux_held(self._frame_ticks)
        self._apply(closed)
        self._fragmenter.add("audio", data, pts, samples, True)
        self._end_s = max(self._end_s, (pts + samples) / codecs.OPUS_CLOCK)

    def _release_pending_audio(self, start_s: float) -> None:
        pending = list(self._pending_audio)
        self._pending_audio.clear()
        for data, pts, samples in pending:
            if (pts + samples) / codecs.OPUS_CLOCK > start_s:  # drop audio before the show
                self._audio_sample(data, pts, samples)

    # -- output -----------------------------------------------------------------------

    def _start(self, tracks: Tracks) -> None:
        self._fragmenter = Fragmenter(tracks)
        self._emit(
            InitSegment(
                data=self._fragmenter.init,
                codecs=tracks.codecs,
                width=tracks.width or None,
                height=tracks.height or None,
            )
        )

    def _apply(self, closed: list[Closed]) -> None:
        for item in closed:
            if isinstance(item, ClosedPart):
                assert self._fragmenter is not None
                duration = round(item.duration_s, 6)
                self._segment_parts.append(duration)
                self._emit(
                    Part(
                        msn=item.msn,
                        index=item.index,
                        data=self._fragmenter.cut(),
                        start_s=round(item.start_s, 6),
                        duration_s=duration,
                        independent=item.independent,
                    )
                )
            else:
                total, self._segment_parts = round(sum(self._segment_parts), 6), []
                self._emit(
                    SegmentEnd(
                        msn=item.msn,
                        start_s=round(item.start_s, 6),
                        duration_s=total,
                        parts=item.parts,
                    )
                )

    def _drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning("%s LL-HLS: %s", self._label, message)


def _h264_size(keyframe: bytes) -> tuple[int, int] | None:
    """Width and height of an H.264 keyframe, by decoding it (once per show)."""
    decoder: Any = av.CodecContext.create("h264", "r")
    try:
        frames = list(decoder.decode(av.Packet(keyframe))) + list(decoder.decode(None))
    except av.FFmpegError:
        return None
    if not frames:
        return None
    return int(frames[0].width), int(frames[0].height)
