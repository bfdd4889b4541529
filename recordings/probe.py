"""Reading what a media file holds: codecs, size, duration and keyframe times (PyAV).

Everything here blocks; callers on the event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import av

from recordings.bitstream import h264_dimensions, vp8_dimensions

logger = logging.getLogger(__name__)

WEB_VIDEO_CODECS = frozenset({"h264"})
WEB_AUDIO_CODECS = frozenset({"aac"})


class MediaError(Exception):
    """A file that PyAV cannot open or that holds no usable stream."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What :func:`probe` found in a file."""

    path: str
    container: str
    duration_s: float
    video_codec: str | None
    audio_codec: str | None
    width: int
    height: int
    fps: float
    keyframes: tuple[float, ...] = field(default=())
    # The largest picture the keyframes carry, and whether the size changed on the way
    # (a browser starts small and steps up as its bandwidth estimate grows; the header
    # holds only the first size).
    max_width: int = 0
    max_height: int = 0
    sizes_vary: bool = False

    @property
    def source_size(self) -> tuple[int, int]:
        """The show's resolution: its largest picture (the header's size when unknown)."""
        if self.max_width * self.max_height > self.width * self.height:
            return self.max_width, self.max_height
        return self.width, self.height

    @property
    def copies_video(self) -> bool:
        """True when the video can be stream-copied into an MP4 as it is (H.264, one size)."""
        return self.video_codec in WEB_VIDEO_CODECS and not self.sizes_vary

    @property
    def web_ready(self) -> bool:
        """True when video and audio can both be stream-copied into an MP4 every browser plays."""
        return self.copies_video and (
            self.audio_codec is None or self.audio_codec in WEB_AUDIO_CODECS
        )


def keyframe_size(codec_name: str | None, data: bytes) -> tuple[int, int] | None:
    """The picture size a keyframe declares (VP8 frame header, H.264 in-band SPS)."""
    if codec_name == "vp8":
        return vp8_dimensions(data)
    if codec_name == "h264":
        return h264_dimensions(data)
    return None


def _indexed_keyframes(
    container: av.container.InputContainer, video: av.VideoStream | None
) -> list[float] | None:
    """Keyframe times from an MP4/MOV sample index, or None when there is no usable index."""
    if video is None or video.time_base is None or "mp4" not in container.format.name:
        return None
    entries = video.index_entries
    if len(entries) < 2:
        return None
    tb = float(video.time_base)
    offset = float(video.start_time * video.time_base) if video.start_time else 0.0
    return [e.timestamp * tb - offset for e in entries if e.is_keyframe]


def probe(path: str | Path, *, keyframes: bool = True) -> MediaInfo:
    """Open ``path`` and describe it; with ``keyframes`` the video packets are scanned.

    Scanning demuxes without decoding, so it costs little even for long files, and it
    also yields a true duration for live-written WebM files whose header has none.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open media: {exc}") from exc
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError("no audio or video stream")
        header_duration = container.duration / av.time_base if container.duration else 0.0
        width = video.codec_context.width if video is not None else 0
        height = video.codec_context.height if video is not None else 0
        rate = video.average_rate or video.guessed_rate if video is not None else None
        fps = float(rate) if rate else 0.0
        kf: list[float] = []
        sizes: set[tuple[int, int]] = set()
        codec_name = video.codec_context.name if video is not None else None
        video_packets = 0
        video_first = video_last = 0.0
        end = 0.0
        indexed = _indexed_keyframes(container, video) if keyframes and header_duration else None
        if indexed is not None:
            # MP4 keeps a sample index in its header: no need to read the file.
            kf, keyframes = indexed, False
        if keyframes or not header_duration:
            streams = [s for s in (video, audio) if s is not None]
            try:
                for packet in container.demux(*streams):
                    if packet.pts is None or packet.time_base is None:
                        continue
                    t = float(packet.pts * packet.time_base)
                    dur = float(packet.duration * packet.time_base) if packet.duration else 0.0
                    end = max(end, t + dur)
                    if packet.stream is video:
                        video_first = min(video_first, t) if video_packets else t
                        video_packets += 1
                        video_last = max(video_last, t)
                        if packet.is_keyframe:
                            kf.append(t)
                            size = keyframe_size(codec_name, bytes(packet))
                            if size is not None:
                                sizes.add(size)
            except av.FFmpegError as exc:
                # A recording cut short by a crash still has its good part.
                logger.warning("probe %s: demux stopped early: %s", path, exc)
        start_time = container.start_time / av.time_base if container.start_time else 0.0
        duration = header_duration or max(0.0, end - start_time)
        if end and keyframes:
            duration = max(0.0, end - start_time)
        if indexed is not None:
            start_time = 0.0  # index timestamps are already relative to the stream start
        if video_packets > 1 and video_last > video_first:
            # The true mean rate: a WebRTC recorder's header says 30 whatever was sent.
            fps = (video_packets - 1) / (video_last - video_first)
        if not sizes and width and height:
            sizes.add((width, height))  # no size in the packets (MP4 keeps the SPS aside)
        largest = max(sizes, key=lambda wh: wh[0] * wh[1], default=(width, height))
        return MediaInfo(
            path=str(path),
            container=container.format.name,
            duration_s=duration,
            video_codec=video.codec_context.name if video is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            width=width,
            height=height,
            fps=fps,
            keyframes=tuple(sorted(k - start_time for k in kf)),
            max_width=largest[0],
            max_height=largest[1],
            sizes_vary=len(sizes) > 1,
        )


def inspect_video(path: str | Path, max_seconds: float) -> MediaInfo:
    """Check an uploaded video: it opens, has a video stream, decodes, and is short enough."""
    info = probe(path, keyframes=True)
    if info.video_codec is None or info.width <= 0:
        raise MediaError("the file has no video stream")
    if info.duration_s <= 0:
        raise MediaError("the video has no duration")
    if info.duration_s > max_seconds:
        raise MediaError(f"videos may last at most {max_seconds:g} s")
    try:
        with av.open(str(path)) as container:
            for _frame in container.decode(video=0):
                break
            else:
                raise MediaError("no picture could be decoded")
    except av.FFmpegError as exc:
        raise MediaError(f"the video cannot be decoded: {exc}") from exc
    return info
