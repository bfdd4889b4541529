"""SDP checks and rewrites for WHIP/WHEP, and ICE server configuration."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiortc import RTCIceServer
from aiortc.sdp import SessionDescription

from live_server.media.simulcast_sdp import SimulcastError, SimulcastOffer, parse_simulcast
from live_server.platform.errors import BadRequest

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
SUPPORTED = {"video": {"VP8", "H264"}, "audio": {"OPUS"}}
#: Media sections an offer may carry. LiveShop forwards one audio and one video track; every
#: section costs a transceiver (and its codecs, queues, RTCP tasks) before it is even looked
#: at, so an offer with hundreds of them is refused before any peer connection exists. One
#: spare per kind leaves room for clients that add one; the total also covers data channels.
MAX_SECTIONS_PER_KIND = {"audio": 2, "video": 2}
MAX_SECTIONS = 5


class BadOffer(BadRequest):
    """The SDP offer cannot be used (malformed, or no codec we can forward)."""

    code = "bad_offer"


@dataclass(frozen=True)
class OfferSummary:
    """What an acceptable offer carries: media kinds and their usable codecs."""

    kinds: tuple[str, ...]
    codecs: dict[str, tuple[str, ...]]
    #: the video section's simulcast layers (``a=rid`` + ``a=simulcast``), None without
    simulcast: SimulcastOffer | None = None


def check_offer(text: str) -> OfferSummary:
    """Parse ``text`` and insist on at least one audio/video section we can forward.

    Raises ``BadOffer`` with a message a person can act on; never anything else.
    """
    if not text.strip():
        raise BadOffer("the request body must be an SDP offer")
    if len(text.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise BadOffer("the SDP offer is too large")
    if not text.lstrip().startswith("v=0"):
        raise BadOffer("the SDP offer must start with 'v=0'")
    try:
        parsed = SessionDescription.parse(text)
    except Exception as exc:  # aiortc raises assorted errors on bad input
        raise BadOffer(f"malformed SDP offer: {exc.__class__.__name__}") from None
    _check_section_counts([media.kind for media in parsed.media])
    kinds: list[str] = []
    codecs: dict[str, tuple[str, ...]] = {}
    for media in parsed.media:
        if media.kind not in SUPPORTED:
            continue
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise BadOffer(f"the {media.kind} section has no ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise BadOffer(f"the {media.kind} section has no DTLS fingerprint")
        names = tuple(
            dict.fromkeys(
                c.name.upper() for c in media.rtp.codecs if c.name.upper() in SUPPORTED[media.kind]
            )
        )
        if names:
            kinds.append(media.kind)
            codecs[media.kind] = names
    if not kinds:
        raise BadOffer(
            "the SDP offer has no audio (Opus) or video (VP8, H264) section"
            " with a codec this server can forward"
        )
    try:
        simulcast = parse_simulcast(text)
    except SimulcastError as exc:
        raise BadOffer(str(exc)) from None
    if "video" not in kinds:
        simulcast = None  # no video we can forward: nothing to demultiplex
    return OfferSummary(kinds=tuple(kinds), codecs=codecs, simulcast=simulcast)


def _check_section_counts(kinds: list[str]) -> None:
    for kind, limit in MAX_SECTIONS_PER_KIND.items():
        count = kinds.count(kind)
        if count > limit:
            raise BadOffer(
                f"the SDP offer has {count} {kind} sections; this server takes at most"
                f" {limit} (a show has one {kind} track)"
            )
    if len(kinds) > MAX_SECTIONS:
        raise BadOffer(
            f"the SDP offer has {len(kinds)} media sections; this server takes at most"
            f" {MAX_SECTIONS}"
        )


_HOST_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (udp|UDP) (\d+) (\S+) (\d+) typ host(.*)$")


def announce_public_ip(sdp: str, public_ip: str | None) -> str:
    """Add, next to each UDP host candidate, the same port on ``public_ip``.

    Behind a 1:1 NAT or a container port mapping the private address is
    unreachable; the public one with a slightly higher priority is tried first.
    """
    if not public_ip:
        return sdp
    out: list[str] = []
    for line in sdp.split("\r\n"):
        out.append(line)
        match = _HOST_CANDIDATE.match(line)
        if match and match.group(5) != public_ip:
            foundation, component, proto, priority, _addr, port, rest = match.groups()
            public = (
                f"a=candidate:P{foundation} {component} {proto} {int(priority) + 1}"
                f" {public_ip} {port} typ host{rest}"
            )
            out.insert(len(out) - 1, public)
    return "\r\n".join(out)


def parse_ice_servers(specs: tuple[str, ...] | list[str]) -> list[RTCIceServer]:
    """``stun:host:port`` and ``turn:user:pass@host:port[?transport=udp]`` to RTCIceServer."""
    servers: list[RTCIceServer] = []
    for spec in specs:
        scheme, _, rest = spec.partition(":")
        scheme = scheme.lower()
        if scheme not in ("stun", "turn", "turns") or not rest:
            raise ValueError(
                f"bad ICE server {spec!r}: expected stun:host:port or turn:user:pass@host:port"
            )
        if "@" in rest:
            creds, _, hostpart = rest.rpartition("@")
            user, _, password = creds.partition(":")
            servers.append(
                RTCIceServer(urls=f"{scheme}:{hostpart}", username=user, credential=password)
            )
        else:
            servers.append(RTCIceServer(urls=f"{scheme}:{rest}"))
    return servers


def _quoted(value: str) -> str:
    """An RFC 8288 quoted-string: clients use the value as it stands (no percent-decoding),
    so coturn REST usernames ("<expiry>:<id>") and base64 credentials pass unchanged."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("ICE server usernames and credentials cannot hold control characters")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ice_link_headers(servers: list[RTCIceServer]) -> list[str]:
    """RFC 9725 section 4.6 ``Link: <url>; rel="ice-server"`` values."""
    links: list[str] = []
    for server in servers:
        urls = [server.urls] if isinstance(server.urls, str) else server.urls
        for url in urls:
            value = f'<{url}>; rel="ice-server"'
            if server.username is not None:
                credential = _quoted(server.credential or "")
                value += f"; username={_quoted(server.username)}; credential={credential}"
                value += '; credential-type="password"'
            links.append(value)
    return links
