"""Simulcast in a WHIP offer: the ``a=rid`` / ``a=simulcast`` rules (RFC 8851, RFC 8853).

A simulcast host (Chromium with ``sendEncodings`` rids, OBS's WHIP simulcast) offers one
video m-line carrying ``a=rid:<id> send`` per layer, ``a=simulcast:send <id>;<id>;...``
and the ``rtp-stream-id`` (and ``repaired-rtp-stream-id``) header extensions that tag each
layer's packets. aiortc 1.16 reads none of that, so this module parses and checks it
(pure text work, no aiortc) and writes the answer's ``a=rid:<id> recv`` and
``a=simulcast:recv ...`` lines, in the offer's order: without them the browser sends one
layer only.

Everything a host could get wrong raises ``SimulcastError`` with a sentence a person can act
on (``sdp.check_offer`` turns it into a 400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RID_EXTENSION = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_EXTENSION = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#: layers a host may send; browsers send at most three or four
MAX_LAYERS = 4
#: RFC 8851 allows longer ids; 16 characters is what browsers and OBS use by far
_RID_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_RID_LINE = re.compile(r"a=rid:(\S+) (\S+)(?: (\S.*))?")
_EXTMAP_LINE = re.compile(r"a=extmap:(\d{1,3})(?:/\w+)? (\S+)(?: .*)?")
_SHOWN = 48  # characters of a bad line quoted back to the host
#: Where a simulcast host's bandwidth estimate starts (Chromium reads ``x-google-start-bitrate``
#: from the answer's fmtp; others ignore it). Chromium's default, 300 kbit/s, grows to the
#: full-size layer's share (Chromium adds it once the smaller layers have theirs, about
#: 1.25 Mbit/s) in seconds even with transport-cc feedback (media/aiortc/twcc.py), and in
#: 10-15 s on loopback with aiortc's REMB. Starting at 1.2 Mbit/s brings it in within a
#: second or two; a weaker uplink backs off from there.
START_BITRATE_KBPS = 1200
_RTPMAP = re.compile(r"a=rtpmap:(\d+) ([^/\s]+)/")


class SimulcastError(ValueError):
    """The offer's simulcast lines cannot be used; the message says why."""


@dataclass(frozen=True)
class SimulcastOffer:
    """A video section's simulcast: its mid, its layers and their header extensions."""

    mid: str
    #: the layers' rids in the order of the offer's ``a=simulcast:send`` line
    rids: tuple[str, ...]
    #: rids the host listed as paused (``~id``): accepted, they may start later
    paused: frozenset[str]
    rid_extension_id: int
    repaired_extension_id: int | None


def _shown(line: str) -> str:
    text = "".join(c if c.isprintable() else "?" for c in line)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """The media sections of an SDP text: (kind, attribute lines)."""
    sections: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
            sections.append((kind, []))
        elif sections and line.startswith("a="):
            sections[-1][1].append(line)
    return sections


def parse_simulcast(text: str) -> SimulcastOffer | None:
    """The offer's simulcast video section, None when it has none; ``SimulcastError`` when
    its rid/simulcast lines are malformed or ask for something this server does not do."""
    found: SimulcastOffer | None = None
    for kind, lines in _sections(text):
        has_rids = any(line.startswith("a=rid:") for line in lines)
        has_simulcast = any(line.startswith("a=simulcast:") for line in lines)
        if not has_rids and not has_simulcast:
            continue
        if kind != "video":
            raise SimulcastError(
                f"the offer's {_shown(kind)} section has a=rid/a=simulcast lines;"
                " simulcast is taken on the video section only"
            )
        offer = _parse_video_section(lines)
        if offer is None:
            continue
        if found is not None:
            raise SimulcastError(
                "the offer has simulcast on more than one video section; a show has one video track"
            )
        found = offer
    return found


def _parse_video_section(lines: list[str]) -> SimulcastOffer | None:
    rids = _parse_rids([line for line in lines if line.startswith("a=rid:")])
    simulcast_lines = [line for line in lines if line.startswith("a=simulcast:")]
    if not simulcast_lines:
        # rid restrictions on a single stream (RFC 8851 without 8853): nothing to demultiplex
        return None
    if len(simulcast_lines) > 1:
        raise SimulcastError("the offer's video section has more than one a=simulcast line")
    if not rids:
        raise SimulcastError(
            "the offer's a=simulcast line names layers, but the video section declares"
            " no a=rid:<id> send lines"
        )
    order, paused = _parse_simulcast_line(simulcast_lines[0], rids)
    missing = [rid for rid in rids if rid not in order]
    if missing:
        raise SimulcastError(
            f"the offer declares a=rid:{_shown(missing[0])} but its a=simulcast line does"
            " not list it"
        )
    mid = next((line[6:].strip() for line in lines if line.startswith("a=mid:")), "")
    if not mid:
        raise SimulcastError("the offer's simulcast video section has no a=mid line")
    extensions = _extensions(lines)
    rid_id = extensions.get(RID_EXTENSION)
    if rid_id is None:
        raise SimulcastError(
            "the offer's simulcast video section has no a=extmap for"
            f" {RID_EXTENSION}: the server could not tell the layers apart"
        )
    return SimulcastOffer(
        mid=mid,
        rids=order,
        paused=frozenset(paused),
        rid_extension_id=rid_id,
        repaired_extension_id=extensions.get(REPAIRED_RID_EXTENSION),
    )


def _parse_rids(lines: list[str]) -> list[str]:
    if len(lines) > MAX_LAYERS:
        raise SimulcastError(
            f"the offer declares {len(lines)} a=rid layers; this server takes at most {MAX_LAYERS}"
        )
    rids: list[str] = []
    for line in lines:
        match = _RID_LINE.fullmatch(line)
        if match is None or not _RID_ID.fullmatch(match.group(1)):
            raise SimulcastError(
                f"malformed a=rid line {_shown(line)!r}: expected a=rid:<id> send, the id"
                " 1-16 letters, digits, '-' or '_'"
            )
        rid, direction = match.group(1), match.group(2)
        if direction == "recv":
            raise SimulcastError(
                f"the offer's a=rid:{rid} is 'recv': a WHIP host sends its layers"
                f" (a=rid:{rid} send); this server does not send simulcast"
            )
        if direction != "send":
            raise SimulcastError(
                f"the offer's a=rid:{rid} has direction {_shown(direction)!r}; expected 'send'"
            )
        if rid in rids:
            raise SimulcastError(f"the offer declares a=rid:{rid} twice")
        rids.append(rid)
    return rids


def _parse_simulcast_line(line: str, declared: list[str]) -> tuple[tuple[str, ...], list[str]]:
    parts = line[len("a=simulcast:") :].split()
    if len(parts) != 2:
        if len(parts) == 4 or (parts and parts[0] == "recv"):
            raise SimulcastError(
                "the offer's a=simulcast asks to receive simulcast ('recv'); a WHIP host"
                " only sends it (a=simulcast:send ...)"
            )
        raise SimulcastError(
            f"malformed a=simulcast line {_shown(line)!r}: expected a=simulcast:send <id>;<id>;..."
        )
    direction, streams = parts
    if direction == "recv":
        raise SimulcastError(
            "the offer's a=simulcast asks to receive simulcast ('recv'); a WHIP host only"
            " sends it (a=simulcast:send ...)"
        )
    if direction != "send":
        raise SimulcastError(
            f"the offer's a=simulcast has direction {_shown(direction)!r}; expected 'send'"
        )
    order: list[str] = []
    paused: list[str] = []
    for stream in streams.split(";"):
        if "," in stream:
            raise SimulcastError(
                f"the offer's a=simulcast lists alternatives ({_shown(stream)!r}); this"
                " server takes one rid per layer"
            )
        rid = stream[1:] if stream.startswith("~") else stream
        if rid not in declared:
            raise SimulcastError(
                f"the offer's a=simulcast lists {_shown(rid)!r}, which no a=rid:<id> send"
                " line declares"
            )
        if rid in order:
            raise SimulcastError(f"the offer's a=simulcast lists {rid} twice")
        order.append(rid)
        if stream.startswith("~"):
            paused.append(rid)
    return tuple(order), paused


def _extensions(lines: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in lines:
        if not line.startswith("a=extmap:"):
            continue
        match = _EXTMAP_LINE.fullmatch(line)
        if match is None:
            continue  # aiortc's parser has already judged the other extmaps
        ext_id, uri = int(match.group(1)), match.group(2)
        if uri in (RID_EXTENSION, REPAIRED_RID_EXTENSION):
            if not 1 <= ext_id <= 255 or ext_id == 15:
                raise SimulcastError(f"the offer's a=extmap id {ext_id} for {uri} is out of range")
            found[uri] = ext_id
    return found


def answer_with_simulcast(
    answer: str, offer: SimulcastOffer, start_bitrate_kbps: int | None = START_BITRATE_KBPS
) -> str:
    """Add ``a=rid:<id> recv`` and ``a=simulcast:recv ...`` (the offer's order) to the
    answer's section for ``offer.mid`` (without them a browser sends one layer only), and
    the start of the host's bandwidth estimate to its video codecs' fmtp (None: leave it)."""
    eol = "\r\n" if "\r\n" in answer else "\n"
    lines = answer.split(eol)
    streams = ";".join(("~" + rid) if rid in offer.paused else rid for rid in offer.rids)
    added = [f"a=rid:{rid} recv" for rid in offer.rids] + [f"a=simulcast:recv {streams}"]
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line == f"a=mid:{offer.mid}" and _section_kind(lines, i) == "video"
        ),
        None,
    )
    if start is None:
        raise ValueError(f"the answer has no video section with mid {offer.mid}")
    end = start
    while end + 1 < len(lines) and not lines[end + 1].startswith("m=") and lines[end + 1]:
        end += 1
    section = lines[start : end + 1]
    if start_bitrate_kbps is not None:
        section = _with_start_bitrate(section, start_bitrate_kbps)
    return eol.join(lines[:start] + section + added + lines[end + 1 :])


def _with_start_bitrate(section: list[str], kbps: int) -> list[str]:
    """``x-google-start-bitrate`` on every media codec's fmtp line (one added if it has none)."""
    param = f"x-google-start-bitrate={kbps}"
    media = [
        m.group(1)
        for line in section
        if (m := _RTPMAP.match(line)) is not None and m.group(2).lower() not in ("rtx", "red")
    ]
    has_fmtp = {pt for pt in media if any(x.startswith(f"a=fmtp:{pt} ") for x in section)}
    out: list[str] = []
    for line in section:
        match = _RTPMAP.match(line)
        fmtp = next((pt for pt in has_fmtp if line.startswith(f"a=fmtp:{pt} ")), None)
        out.append(f"{line};{param}" if fmtp is not None else line)
        if match is not None and match.group(1) in media and match.group(1) not in has_fmtp:
            out.append(f"a=fmtp:{match.group(1)} {param}")
    return out


def _section_kind(lines: list[str], index: int) -> str:
    for line in reversed(lines[: index + 1]):
        if line.startswith("m="):
            return line[2:].split(" ", 1)[0]
    return ""
