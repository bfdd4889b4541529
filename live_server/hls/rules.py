"""LL-HLS playlists and the blocking-reload rule, as pure functions of a stream's window.

The packager (`recordings.llhls`) cuts parts (about 0.2 s) and segments (about 2 s, on
keyframes); `HlsStream` keeps the recent ones; these functions say what the playlists read
and whether a blocking request (`_HLS_msn` / `_HLS_part`, RFC 8216bis section 6.2.5.2) can
be answered now. Names follow the draft: msn = media sequence number, part = part index
within its segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from live_server.platform.errors import BadRequest

#: How far ahead of the live edge a blocking request may ask (the draft: two segments).
MAX_MSN_AHEAD = 2
#: Parts are listed for the segments within this many target durations of the end.
PART_WINDOW_TARGETS = 3
_MAX_QUERY_DIGITS = 9


@dataclass(frozen=True)
class PartInfo:
    """One part as the playlist names it."""

    index: int
    duration_s: float
    independent: bool


@dataclass(frozen=True)
class SegmentInfo:
    """One segment: complete (`duration_s` set) or still open (the live edge)."""

    msn: int
    start_s: float  # media time of its first sample
    program_date_ms: int  # wall clock of its first sample
    parts: tuple[PartInfo, ...]
    duration_s: float | None = None

    @property
    def complete(self) -> bool:
        """True once its last part is out."""
        return self.duration_s is not None


@dataclass(frozen=True)
class Window:
    """What one media playlist lists: the last segments, oldest first."""

    segments: tuple[SegmentInfo, ...]
    target_duration_s: int
    part_target_s: float
    ended: bool = False
    vod: bool = False  # the whole finished show, without parts

    @property
    def next_part(self) -> tuple[int, int] | None:
        """(msn, part) the packager makes next, the preload hint; None once ended."""
        if self.ended or not self.segments:
            return None if self.ended else (0, 0)
        last = self.segments[-1]
        if last.complete:
            return last.msn + 1, 0
        return last.msn, len(last.parts)


def segment_uri(msn: int) -> str:
    """A whole segment's URI, relative to the media playlist."""
    return f"s{msn}.m4s"


def part_uri(msn: int, index: int) -> str:
    """A part's URI, relative to the media playlist."""
    return f"s{msn}.p{index}.m4s"


def _date(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _part_line(msn: int, part: PartInfo) -> str:
    line = f'#EXT-X-PART:DURATION={part.duration_s:.5f},URI="{part_uri(msn, part.index)}"'
    return line + (",INDEPENDENT=YES" if part.independent else "")


def _with_parts(window: Window) -> set[int]:
    """The msns whose parts are listed: those within three target durations of the end."""
    horizon = PART_WINDOW_TARGETS * window.target_duration_s
    listed: set[int] = set()
    covered = 0.0
    for segment in reversed(window.segments):
        if covered > horizon:
            break
        listed.add(segment.msn)
        covered += segment.duration_s or sum(p.duration_s for p in segment.parts)
    return listed


def media_playlist(window: Window) -> str:
    """The media playlist: LL-HLS while live, a plain VOD list once `window.vod`."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:9", f"#EXT-X-TARGETDURATION:{window.target_duration_s}"]
    if window.vod:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    else:
        hold_back = 3 * window.part_target_s
        lines.append(f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={hold_back:.3f}")
        lines.append(f"#EXT-X-PART-INF:PART-TARGET={window.part_target_s:.3f}")
    first = window.segments[0].msn if window.segments else 0
    lines += [f"#EXT-X-MEDIA-SEQUENCE:{first}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    listed = set() if window.vod else _with_parts(window)
    for segment in window.segments:
        if window.vod and not segment.complete:
            continue
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date(segment.program_date_ms)}")
        if segment.msn in listed:
            lines += [_part_line(segment.msn, part) for part in segment.parts]
        if segment.duration_s is not None:
            lines += [f"#EXTINF:{segment.duration_s:.5f},", segment_uri(segment.msn)]
    hint = window.next_part
    if hint is not None and not window.vod:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_uri(*hint)}"')
    if window.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def multivariant_playlist(
    variant_uri: str, bandwidth: int, codecs: str, resolution: tuple[int, int] | None
) -> str:
    """The multivariant playlist: one variant (the host's own encoding)."""
    attrs = [f"BANDWIDTH={max(1, bandwidth)}", f'CODECS="{codecs}"']
    if resolution is not None:
        attrs.append(f"RESOLUTION={resolution[0]}x{resolution[1]}")
    stream_inf = "#EXT-X-STREAM-INF:" + ",".join(attrs)
    return "\n".join(["#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS", stream_inf, variant_uri, ""])


def target_duration(segment_max_s: float) -> int:
    """EXT-X-TARGETDURATION: whole seconds, never below the longest segment."""
    return max(1, math.ceil(segment_max_s))


# -- blocking playlist reload -------------------------------------------------------------


def _query_number(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > _MAX_QUERY_DIGITS:
        raise BadRequest(f"{name} must be a whole number", code="bad_hls_request")
    return int(raw)


def blocking_request(query: Mapping[str, str]) -> tuple[int, int | None] | None:
    """(msn, part) a request asks the playlist to contain, or None for a plain request."""
    msn = _query_number(query, "_HLS_msn")
    part = _query_number(query, "_HLS_part")
    if msn is None:
        if part is not None:
            raise BadRequest("_HLS_part needs _HLS_msn", code="bad_hls_request")
        return None
    return msn, part


class Blocking(Enum):
    """What to do with a blocking request now."""

    READY = "ready"  # the playlist holds what was asked for: answer
    WAIT = "wait"  # not yet: hold the request until the window changes
    TOO_FAR = "too_far"  # more than two segments ahead: 400


def blocking_state(window: Window, msn: int, part: int | None) -> Blocking:
    """Whether the window satisfies a request for segment `msn` (part `part`) or later."""
    if window.ended:
        return Blocking.READY  # nothing more will come: the final playlist answers
    segments: Sequence[SegmentInfo] = window.segments
    if not segments:
        return Blocking.TOO_FAR if msn > MAX_MSN_AHEAD else Blocking.WAIT
    last = segments[-1]
    if msn > last.msn + MAX_MSN_AHEAD:
        return Blocking.TOO_FAR
    if msn < last.msn:
        return Blocking.READY
    if msn == last.msn:
        if part is None:
            return Blocking.READY if last.complete else Blocking.WAIT
        return Blocking.READY if part < len(last.parts) or last.complete else Blocking.WAIT
    return Blocking.WAIT
