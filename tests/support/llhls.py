"""An independent reader of LL-HLS media playlists for tests, and the rules it checks.

Written from RFC 8216bis (sections 4.4.3.7-4.4.5.3, 6.2.5.2), not from the server's
renderer, so that a rule the server gets wrong shows up here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def attributes(text: str) -> dict[str, str]:
    """An attribute list (`A=1,B="x"`) as a dict, quotes removed."""
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


@dataclass
class PartRef:
    msn: int
    index: int
    duration: float
    uri: str
    independent: bool


@dataclass
class SegmentRef:
    msn: int
    duration: float | None  # None: the open segment (parts only)
    uri: str | None
    program_date: datetime | None
    parts: list[PartRef] = field(default_factory=list)


@dataclass
class MediaPlaylist:
    version: int
    target_duration: int
    part_target: float | None
    media_sequence: int
    map_uri: str | None
    server_control: dict[str, str]
    segments: list[SegmentRef]
    preload_hint: str | None
    ended: bool
    playlist_type: str | None

    @property
    def parts(self) -> list[PartRef]:
        return [p for s in self.segments for p in s.parts]

    def has_part(self, msn: int, index: int) -> bool:
        return any(p.msn == msn and p.index == index for p in self.parts)


def parse_media_playlist(text: str) -> MediaPlaylist:
    """Reads a media playlist; raises AssertionError on what the spec forbids outright."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines and lines[0] == "#EXTM3U", "a playlist starts with #EXTM3U"
    tags: dict[str, str] = {}
    segments: list[SegmentRef] = []
    msn: int | None = None
    pending_parts: list[PartRef] = []
    pending_date: datetime | None = None
    pending_duration: float | None = None
    hint = None
    ended = False
    for line in lines[1:]:
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending_date = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
        elif line.startswith("#EXT-X-PART:"):
            assert msn is not None, "EXT-X-MEDIA-SEQUENCE comes before the first part"
            a = attributes(line.split(":", 1)[1])
            pending_parts.append(
                PartRef(msn, len(pending_parts), float(a["DURATION"]), a["URI"], "INDEPENDENT" in a)
            )
        elif line.startswith("#EXTINF:"):
            pending_duration = float(line.split(":", 1)[1].split(",")[0])
        elif line.startswith("#EXT-X-PRELOAD-HINT:"):
            a = attributes(line.split(":", 1)[1])
            assert a.get("TYPE") == "PART"
            hint = a["URI"]
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line.startswith("#"):
            name, _, value = line[1:].partition(":")
            tags[name] = value
        else:  # a segment URI
            assert msn is not None and pending_duration is not None, f"EXTINF before {line}"
            segments.append(SegmentRef(msn, pending_duration, line, pending_date, pending_parts))
            msn += 1
            pending_parts, pending_date, pending_duration = [], None, None
    if pending_parts:
        assert msn is not None
        segments.append(SegmentRef(msn, None, None, pending_date, pending_parts))
    part_inf = attributes(tags.get("EXT-X-PART-INF", ""))
    map_uri = attributes(tags["EXT-X-MAP"]).get("URI") if "EXT-X-MAP" in tags else None
    return MediaPlaylist(
        version=int(tags.get("EXT-X-VERSION", "1")),
        target_duration=int(tags["EXT-X-TARGETDURATION"]),
        part_target=float(part_inf["PART-TARGET"]) if "PART-TARGET" in part_inf else None,
        media_sequence=int(tags.get("EXT-X-MEDIA-SEQUENCE", "0")),
        map_uri=map_uri,
        server_control=attributes(tags.get("EXT-X-SERVER-CONTROL", "")),
        segments=segments,
        preload_hint=hint,
        ended=ended,
        playlist_type=tags.get("EXT-X-PLAYLIST-TYPE"),
    )


def check_ll_hls_rules(playlist: MediaPlaylist, live: bool = True) -> None:
    """Every LL-HLS rule a live media playlist must obey; AssertionError names the one broken."""
    assert playlist.map_uri, "fMP4 needs EXT-X-MAP"
    assert playlist.segments, "the playlist lists something"
    for segment in playlist.segments:
        if segment.duration is not None:
            # 4.4.3.1: EXTINF rounded to the nearest integer <= TARGETDURATION
            assert round(segment.duration) <= playlist.target_duration, segment
            assert segment.uri == f"s{segment.msn}.m4s", segment
        assert segment.program_date is not None, f"segment {segment.msn} has a PROGRAM-DATE-TIME"
    msns = [s.msn for s in playlist.segments]
    assert msns == list(range(msns[0], msns[0] + len(msns))), "media sequence is continuous"
    assert msns[0] == playlist.media_sequence
    dates = [s.program_date for s in playlist.segments if s.program_date]
    assert dates == sorted(dates), "PROGRAM-DATE-TIME moves forward"
    if not live:
        assert playlist.ended and playlist.playlist_type == "VOD"
        return
    assert playlist.part_target is not None, "LL-HLS needs EXT-X-PART-INF"
    control = playlist.server_control
    assert control.get("CAN-BLOCK-RELOAD") == "YES"
    # 4.4.3.8: PART-HOLD-BACK at least twice PART-TARGET (three times recommended)
    assert float(control["PART-HOLD-BACK"]) >= 2 * playlist.part_target
    for segment in playlist.segments:
        indexes = [p.index for p in segment.parts]
        assert indexes == list(range(len(indexes))), f"parts of {segment.msn} are continuous"
        for part in segment.parts:
            # 4.4.4.9: every part's duration <= PART-TARGET
            assert part.duration <= playlist.part_target + 1e-6, part
            assert part.uri == f"s{segment.msn}.p{part.index}.m4s", part
        last = len(segment.parts) - 1
        for part in segment.parts:
            # at least 85 % of PART-TARGET, but for independent parts and a segment's last one
            if part.index != last and not part.independent and segment.duration is not None:
                assert part.duration >= 0.85 * playlist.part_target - 0.002, part
        if segment.parts and segment.duration is not None:
            total = sum(p.duration for p in segment.parts)
            assert math.isclose(total, segment.duration, abs_tol=0.002), (
                f"segment {segment.msn}: parts sum to {total}, EXTINF says {segment.duration}"
            )
    assert playlist.preload_hint is not None, "a live playlist hints the next part"
    last = playlist.segments[-1]
    if last.duration is None:
        expected = f"s{last.msn}.p{len(last.parts)}.m4s"
    else:
        expected = f"s{last.msn + 1}.p0.m4s"
    assert playlist.preload_hint == expected, (playlist.preload_hint, expected)
