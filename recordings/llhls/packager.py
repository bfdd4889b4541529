"""The LL-HLS packager tap: the SFU's frames in, init segment, parts and segments out.

``on_frame`` runs on the event loop and only queues (bounded: past ``MAX_QUEUED_FRAMES``
frames are dropped and video resumes at the next keyframe). A worker thread runs the
:class:`~recordings.llhls.pipeline.Pipeline` (transcoding, cutting, muxing) and hands every
result to the sink on the event loop with ``call_soon_threadsafe``, so the sink sees them
in order and never from another thread. If the worker fails (PyAV raised), the sink hears
``on_closed(error)`` and later frames are ignored; the event loop never sees the exception.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from recordings.llhls.models import InitSegment, PackagerConfig, PackagerSink, Part, SegmentEnd
from recordings.llhls.pipeline import Output, Pipeline

logger = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 300  # about 4 s of 30 fps video + 50/s audio
VIDEO_CODECS = frozenset({"H264", "VP8"})
AUDIO_CODECS = frozenset({"OPUS"})

_STOP = object()


class LivePackager:
    """The MediaTap that packages one show run as LL-HLS.

    ``on_frame`` queues (never blocks); a worker thread transcodes (VP8) and muxes; sink
    callbacks run on the event loop (``call_soon_threadsafe``), in order.
    """

    def __init__(
        self,
        video_codec: str | None,
        audio_codec: str | None,
        sink: PackagerSink,
        loop: asyncio.AbstractEventLoop,
        config: PackagerConfig = PackagerConfig(),  # noqa: B008 (frozen, shared safely)
        label: str = "",
    ) -> None:
        video = video_codec.upper() if video_codec else None
        audio = audio_codec.upper() if audio_codec else None
        if video is not None and video not in VIDEO_CODECS:
            raise ValueError(f"LL-HLS cannot package {video_codec} video (only H264 or VP8)")
        if audio is not None and audio not in AUDIO_CODECS:
            logger.warning("%s LL-HLS leaves out %s audio (only Opus)", label, audio_codec)
            audio = None
        if video is None and audio is None:
            raise ValueError("LL-HLS needs a video or an audio track")
        self.video_codec = video
        self.audio_codec = audio
        self.config = config
        self.label = label
        self._sink = sink
        self._loop = loop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._outputs: list[Output] = []  # what the frame being pushed produced (worker)
        self._pipeline = Pipeline(video, audio, config, self._deliver_output, label)
        self._thread = threading.Thread(
            target=self._run, name=f"llhls-{label or id(self)}", daemon=True
        )
        self._started = False
        self._closing = False
        self._dead = False
        self._resync_video = False
        self._stopped = asyncio.Event()
        self._last_keyframe_s: float | None = None
        self.overflow_drops = 0

    @property
    def transcoding(self) -> bool:
        """True for a VP8 source (transcoded to H.264)."""
        return self.video_codec == "VP8"

    @property
    def backlog(self) -> int:
        """Frames queued for the worker (at most ``MAX_QUEUED_FRAMES``)."""
        return self._queue.qsize()

    @property
    def last_keyframe_s(self) -> float | None:
        """Media time of the last video keyframe seen in the input (None before one)."""
        return self._last_keyframe_s

    @property
    def waiting_for_keyframe(self) -> bool:
        """True until the first video keyframe, and after an overflow until the next one."""
        return self.video_codec is not None and (
            self._last_keyframe_s is None or self._resync_video
        )

    def start(self) -> None:
        """Start the worker thread."""
        if not self._started:
            self._started = True
            self._thread.start()

    def on_frame(self, kind: str, codec: str, data: bytes, pts: int, keyframe: bool) -> None:
        """Queue one encoded frame (on the event loop; never blocks)."""
        if not self._started or self._closing or self._dead:
            return
        expected = self.video_codec if kind == "video" else self.audio_codec
        if expected is None or codec.upper() != expected:
            return  # a track this packager does not carry (or a reconnect with another codec)
        if kind == "video" and keyframe:
            self._last_keyframe_s = pts / 90000
        if self._queue.qsize() >= MAX_QUEUED_FRAMES:
            if self.overflow_drops == 0:
                logger.warning(
                    "%s LL-HLS packager is %d frames behind; dropping frames until the next "
                    "keyframe (is the machine overloaded?)",
                    self.label,
                    MAX_QUEUED_FRAMES,
                )
            self.overflow_drops += 1
            self._resync_video = True
            return
        if kind == "video" and self._resync_video:
            if not keyframe:
                self.overflow_drops += 1
                return
            self._resync_video = False
        self._queue.put((kind, data, pts, keyframe))

    async def close(self) -> None:
        """Flush the open part and segment (emitted as usual) and stop the worker."""
        if self._closing:
            await self._stopped.wait()
            return
        self._closing = True
        if not self._started:
            self._sink.on_closed(None)
            self._stopped.set()
            return
        self._queue.put(_STOP)
        await self._stopped.wait()
        await asyncio.to_thread(self._thread.join)
        if self.overflow_drops:
            logger.info("%s LL-HLS dropped %d frames on overflow", self.label, self.overflow_drops)

    # -- worker thread ----------------------------------------------------------------

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                self._pipeline.push(*item)
                self._flush_outputs()
            self._pipeline.finish()
            self._flush_outputs()
        except BaseException as exc:  # the sink hears it; the event loop must not
            logger.exception("%s LL-HLS packager failed", self.label)
            error = exc
            self._dead = True
            self._pipeline.abort()
        if self._pipeline.dropped:
            logger.info("%s LL-HLS frames dropped: %s", self.label, self._pipeline.dropped)
        self._call(self._sink.on_closed, error)
        self._call(self._stopped.set)

    def _deliver_output(self, item: Output) -> None:
        # what one frame produced reaches the sink in ONE loop callback: a part and the
        # segment end it closes arrive together, so no reader on the loop ever sees the
        # part without the end (and hints a next part of that segment that never comes)
        self._outputs.append(item)

    def _flush_outputs(self) -> None:
        if self._outputs:
            batch, self._outputs = self._outputs, []
            self._call(self._deliver_batch, batch)

    def _deliver_batch(self, batch: list[Output]) -> None:
        for item in batch:
            if isinstance(item, Part):
                self._guarded(self._sink.on_part, item)
            elif isinstance(item, SegmentEnd):
                self._guarded(self._sink.on_segment, item)
            elif isinstance(item, InitSegment):
                self._guarded(self._sink.on_init, item)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._guarded, callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            logger.debug("%s LL-HLS output after the event loop closed", self.label)

    def _guarded(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            logger.exception("%s LL-HLS sink failed in %s", self.label, callback.__name__)
