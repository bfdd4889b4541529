"""One show's LL-HLS output while it is live, and its VOD on disk once it has ended.

`HlsStream` is the packager's sink (`recordings.llhls.PackagerSink`): it keeps the init
segment, the parts of the last few segments and the bytes of the last `window` segments in
memory (what the live playlist lists), writes every finished segment to
`<data_dir>/hls/<session>-<epoch>/` for the VOD, and wakes the requests held for a part or
a playlist that was not there yet. Everything here runs on the event loop; file writes go
to a worker thread in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from live_server.hls.rules import PartInfo, SegmentInfo, Window, segment_uri, target_duration
from recordings.llhls import InitSegment, LivePackager, PackagerConfig, Part, SegmentEnd

logger = logging.getLogger(__name__)

VOD_INDEX = "vod.json"
INIT_NAME = "init.mp4"


@dataclass
class _Segment:
    msn: int
    start_s: float
    program_date_ms: int
    parts: list[Part] = field(default_factory=list)
    duration_s: float | None = None
    data: bytes | None = None  # whole segment, once complete (while in the window)

    def info(self) -> SegmentInfo:
        return SegmentInfo(
            msn=self.msn,
            start_s=self.start_s,
            program_date_ms=self.program_date_ms,
            parts=tuple(PartInfo(p.index, p.duration_s, p.independent) for p in self.parts),
            duration_s=self.duration_s,
        )


class HlsStream:
    """The live window of one show's packager run (an epoch)."""

    def __init__(
        self,
        session_id: int,
        directory: Path,
        media_epoch: Callable[[], int],
        config: PackagerConfig,
        window_segments: int,
        epoch: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.epoch = epoch or secrets.token_urlsafe(9)
        self.directory = directory / f"{session_id}-{self.epoch}"
        # wall-clock ms at media time 0, read when the first part comes (the media clock
        # starts on the host's first frame, after the packager was made)
        self.media_epoch_ms: int | None = None
        self._media_epoch = media_epoch
        self.config = config
        self.target_duration_s = target_duration(config.segment_max_s)
        self.init: InitSegment | None = None
        self.ended = False
        self.failed = False
        self.packager: LivePackager | None = None
        self._window = max(3, window_segments)
        self._segments: deque[_Segment] = deque()
        self._vod: list[SegmentInfo] = []  # every finished segment, for the VOD playlist
        self._changed = asyncio.Event()
        self._writes: asyncio.Task[None] | None = None
        self._write_queue: deque[tuple[str, bytes]] = deque()
        self.bytes_out = 0
        self.started_at = time.monotonic()

    # -- the packager's sink --------------------------------------------------------

    def on_init(self, init: InitSegment) -> None:
        """The init segment (ftyp + moov), once per packager run."""
        self.init = init
        self._write(INIT_NAME, init.data)
        self._wake()

    def on_part(self, part: Part) -> None:
        """A new part: opens its segment when it is the first one."""
        if self.media_epoch_ms is None:
            self.media_epoch_ms = self._media_epoch()
        segment = self._segments[-1] if self._segments else None
        if segment is None or segment.msn != part.msn:
            segment = _Segment(
                msn=part.msn,
                start_s=part.start_s,
                program_date_ms=self.media_epoch_ms + round(part.start_s * 1000),
            )
            self._segments.append(segment)
            self._trim()
        segment.parts.append(part)
        self._wake()

    def on_segment(self, end: SegmentEnd) -> None:
        """The segment `end.msn` is complete: its bytes join the window and the VOD."""
        segment = self._find(end.msn)
        if segment is None:
            return
        segment.duration_s = end.duration_s
        segment.data = b"".join(p.data for p in segment.parts)
        self._vod.append(segment.info())
        self._write(segment_uri(end.msn), segment.data)
        self._wake()

    def on_closed(self, error: BaseException | None) -> None:
        """The packager stopped (the end, or a failure)."""
        if error is not None:
            self.failed = True
            logger.warning("session=%s LL-HLS packager stopped: %r", self.session_id, error)
        self.ended = True
        self._write(VOD_INDEX, self._vod_index())
        self._wake()

    # -- reads -----------------------------------------------------------------------

    def window(self) -> Window:
        """What the live media playlist lists now (the whole show once ended)."""
        if self.ended:
            return self.vod_window()
        return Window(
            segments=tuple(s.info() for s in self._segments),
            target_duration_s=self.target_duration_s,
            part_target_s=self.config.part_max_s,
        )

    def vod_window(self) -> Window:
        """Every finished segment, for the replay's VOD playlist."""
        return Window(
            segments=tuple(self._vod),
            target_duration_s=self.target_duration_s,
            part_target_s=self.config.part_max_s,
            ended=True,
            vod=True,
        )

    def part(self, msn: int, index: int) -> bytes | None:
        """A part's bytes while it is in the window."""
        segment = self._find(msn)
        if segment is None or index >= len(segment.parts):
            return None
        return segment.parts[index].data

    def segment(self, msn: int) -> bytes | None:
        """A complete segment's bytes while it is in the window."""
        segment = self._find(msn)
        return segment.data if segment is not None else None

    def part_pending(self, msn: int, index: int) -> bool:
        """True for the part the packager makes next (a request for it is held)."""
        return not self.ended and self.window().next_part == (msn, index)

    async def changed(self, timeout_s: float) -> bool:
        """Wait for the window to change; False on timeout."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def flushed(self) -> None:
        """Wait until every file write queued so far is on disk."""
        task = self._writes
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    def bitrate(self) -> int:
        """Bits per second of the segments in the window (for BANDWIDTH), or 2 Mbit/s."""
        done = [s for s in self._segments if s.data is not None and s.duration_s]
        if not done:
            return 2_000_000
        seconds = sum(s.duration_s or 0.0 for s in done)
        return int(sum(len(s.data or b"") for s in done) * 8 / max(seconds, 0.001))

    # -- internals -------------------------------------------------------------------

    def _find(self, msn: int) -> _Segment | None:
        if not self._segments:
            return None
        offset = msn - self._segments[0].msn
        if 0 <= offset < len(self._segments):
            segment = self._segments[offset]
            if segment.msn == msn:
                return segment
        return None

    def _trim(self) -> None:
        while len(self._segments) > self._window + 1:
            self._segments.popleft()

    def _wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def _vod_index(self) -> bytes:
        index = {
            "session_id": self.session_id,
            "epoch": self.epoch,
            "media_epoch_ms": self.media_epoch_ms,
            "target_duration_s": self.target_duration_s,
            "part_target_s": self.config.part_max_s,
            "codecs": self.init.codecs if self.init else None,
            "width": self.init.width if self.init else None,
            "height": self.init.height if self.init else None,
            "segments": [
                {
                    "msn": s.msn,
                    "start_s": s.start_s,
                    "program_date_ms": s.program_date_ms,
                    "duration_s": s.duration_s,
                }
                for s in self._vod
            ],
        }
        return json.dumps(index).encode()

    def _write(self, name: str, data: bytes) -> None:
        self._write_queue.append((name, data))
        if self._writes is None or self._writes.done():
            self._writes = asyncio.get_running_loop().create_task(self._drain_writes())

    async def _drain_writes(self) -> None:
        while self._write_queue:
            name, data = self._write_queue.popleft()
            try:
                await asyncio.to_thread(_write_file, self.directory / name, data)
            except OSError as exc:
                logger.warning("session=%s HLS file %s not written: %s", self.session_id, name, exc)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


@dataclass(frozen=True)
class StoredVod:
    """A finished show's HLS as it lies on disk (after a restart, or out of the window)."""

    directory: Path
    session_id: int
    epoch: str
    media_epoch_ms: int
    window: Window
    codecs: str
    resolution: tuple[int, int] | None

    def file(self, name: str) -> Path | None:
        """The file for a URI of this VOD, if it exists (names are checked by the caller)."""
        path = self.directory / name
        return path if path.is_file() else None


def load_vod(directory: Path) -> StoredVod | None:
    """Reads `vod.json` of one stream directory; None when it is missing or unreadable."""
    try:
        index = json.loads((directory / VOD_INDEX).read_bytes())
        segments = tuple(
            SegmentInfo(
                msn=int(s["msn"]),
                start_s=float(s["start_s"]),
                program_date_ms=int(s["program_date_ms"]),
                parts=(),
                duration_s=float(s["duration_s"]),
            )
            for s in index["segments"]
        )
        width, height = index.get("width"), index.get("height")
        return StoredVod(
            directory=directory,
            session_id=int(index["session_id"]),
            epoch=str(index["epoch"]),
            media_epoch_ms=int(index["media_epoch_ms"]),
            window=Window(
                segments=segments,
                target_duration_s=int(index["target_duration_s"]),
                part_target_s=float(index["part_target_s"]),
                ended=True,
                vod=True,
            ),
            codecs=str(index.get("codecs") or "avc1.42e01f"),
            resolution=(int(width), int(height)) if width and height else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_stale(root: Path, keep_s: float, now: float | None = None) -> int:
    """Deletes stream directories whose last change is older than `keep_s`; returns how
    many went (run at start-up and hourly)."""
    now = time.time() if now is None else now
    removed = 0
    if not root.is_dir():
        return 0
    for child in root.iterdir():
        try:
            if child.is_dir() and now - child.stat().st_mtime > keep_s:
                shutil.rmtree(child)
                removed += 1
        except OSError as exc:
            logger.warning("HLS directory %s not removed: %s", child, exc)
    return removed
