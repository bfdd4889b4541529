"""Just enough of an LL-HLS media playlist for thousands of simulated players.

The ``m3u8`` package reads everything (bench/hls.py checks it against this reader on the
first real playlist), but it costs about a millisecond per reload; a crowd of 2,000 players
reloads several thousand times a second. This reader keeps what a low-latency player acts on:
the parts (segment number, index, URI, INDEPENDENT), which segments are complete, the
preload hint, the part target, PART-HOLD-BACK and whether the show has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PartInfo:
    """One EXT-X-PART line: where it belongs and where to get it."""

    msn: int
    index: int
    uri: str
    independent: bool


@dataclass
class Playlist:
    """What a low-latency player needs from a media playlist."""

    media_sequence: int = 0
    part_target: float = 0.0
    part_hold_back: float = 0.0
    map_uri: str | None = None
    parts: list[PartInfo] = field(default_factory=list)
    complete: set[int] = field(default_factory=set)  # segments with their #EXTINF
    preload_hint: str | None = None
    ended: bool = False

    def next_directive(self) -> tuple[int, int]:
        """The ``_HLS_msn`` / ``_HLS_part`` of the part after the last one listed, as hls.js
        asks in low-latency mode: the next index in the same segment, or part 0 of the next
        segment once that segment is complete."""
        if not self.parts:
            return max(self.complete, default=self.media_sequence - 1) + 1, 0
        last = self.parts[-1]
        if last.msn in self.complete:
            return last.msn + 1, 0
        return last.msn, last.index + 1


def _attributes(text: str) -> dict[str, str]:
    # the few attributes read here never contain commas inside quotes
    out: dict[str, str] = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip().strip('"')
    return out


def parse(text: str) -> Playlist:
    """Read a media playlist (raises ValueError if it is not one)."""
    if not text.startswith("#EXTM3U"):
        raise ValueError("not a playlist: it does not start with #EXTM3U")
    playlist = Playlist()
    msn = index = 0  # the segment the next line belongs to, the next part's index in it
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():  # a segment URI ends its segment
                playlist.complete.add(msn)
                msn, index = msn + 1, 0
            continue
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-PART":
            a = _attributes(value)
            playlist.parts.append(PartInfo(msn, index, a["URI"], a.get("INDEPENDENT") == "YES"))
            index += 1
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            playlist.media_sequence = msn = int(value)
        elif tag == "#EXT-X-PRELOAD-HINT":
            a = _attributes(value)
            if a.get("TYPE") == "PART":
                playlist.preload_hint = a.get("URI")
        elif tag == "#EXT-X-PART-INF":
            playlist.part_target = float(_attributes(value)["PART-TARGET"])
        elif tag == "#EXT-X-SERVER-CONTROL":
            playlist.part_hold_back = float(_attributes(value).get("PART-HOLD-BACK", "0"))
        elif tag == "#EXT-X-MAP":
            playlist.map_uri = _attributes(value).get("URI")
        elif tag == "#EXT-X-ENDLIST":
            playlist.ended = True
    return playlist
