"""Who is on the other end: the one rule for a request's client address.

Every per-address limit (log-in and sign-up throttles, viewers per address) keys on
`client_address(request)`. Behind a reverse proxy the TCP peer is the proxy, so every
client would share one address; the proxy's `X-Forwarded-For` names the real client, but
anyone can send that header. It is believed only when the peer is listed in the
`trusted_proxies` setting, and then only as far as the chain of trusted proxies goes:
the right-most hop that is not a trusted proxy is the client (everything to its left was
written by the client itself and may be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from aiohttp import web

from live_server.platform.core import PLATFORM

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The `trusted_proxies` setting parsed: addresses (`10.0.0.5`) or networks (`10.0.0.0/8`).

    Raises ValueError naming the entry that is neither (checked when the platform is built,
    so a typo stops the server at start-up instead of at the first log-in).
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"trusted_proxies: {entry!r} is not an IP address or a network like 10.0.0.0/8"
            ) from None
    return tuple(networks)


def parse_address(text: str | None) -> Address | None:
    """An IP address from a peer or an X-Forwarded-For hop; None when it is not one.

    IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) becomes the IPv4
    address, so one client has one key; a port some proxies append is dropped.
    """
    if not text:
        return None
    text = text.strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
            host = text[1 : text.index("]")]
        elif text.count(":") == 1:  # 192.0.2.1:443
            host = text.split(":", 1)[0]
        else:
            return None
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(request: web.Request) -> str:
    """The address of the client a request comes from, as text (`unknown` without a peer).

    The peer address, unless the peer is a trusted proxy: then X-Forwarded-For is read from
    the right, skipping trusted proxies, and the first hop that is not one is the client.
    A hop that is not an address ends the walk at the last trusted hop (no proxy writes
    one, so it came from the client and proves nothing).
    """
    peer = parse_address(request.remote)
    if peer is None:
        return "unknown"
    networks = trusted_networks(request.app[PLATFORM].settings.trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return str(peer)
    client = peer
    for header in reversed(request.headers.getall("X-Forwarded-For", [])):
        for hop in reversed(header.split(",")):
            address = parse_address(hop)
            if address is None:
                return str(client)
            client = address
            if not _trusted(address, networks):
                return str(address)
    # every hop was a trusted proxy (or there was no header): the left-most one is the client
    return str(client)
