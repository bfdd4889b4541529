"""Short-lived TURN credentials (coturn's ``use-auth-secret`` REST scheme) and which ICE
servers a WHIP/WHEP client is told about.

Static ``turn:user:pass@host`` entries of ``ice_servers`` are long-lived secrets: anyone who
reads them can relay through the TURN server for as long as they stay configured. They are
used by the server's own peer connections only. Clients get the STUN entries and, when
``turn_urls`` and ``turn_secret`` are set, credentials of their own:
``username = "<expiry unix time>:<peer id>"``, ``credential = base64(HMAC-SHA1(secret,
username))``, which coturn checks with the same shared secret and refuses after the expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from aiortc import RTCIceServer

_URL_FORBIDDEN = frozenset(' \t\r\n"<>@')


def rest_credential(secret: str, peer_id: str, expires_at: int) -> tuple[str, str]:
    """(username, credential) of coturn's REST scheme for ``peer_id`` until ``expires_at``."""
    username = f"{expires_at}:{peer_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class TurnCredentials:
    """Issues TURN credentials that expire ``ttl_s`` seconds after they are handed out."""

    urls: tuple[str, ...]
    secret: str
    ttl_s: int

    @classmethod
    def from_settings(
        cls, urls: tuple[str, ...], secret: str | None, ttl_s: int
    ) -> TurnCredentials | None:
        """None when TURN is not configured; ValueError on a half or bad configuration."""
        if not urls and not secret:
            return None
        if not urls or not secret:
            raise ValueError(
                "TURN needs both LIVESHOP_TURN_URLS and LIVESHOP_TURN_SECRET"
                " (the secret is coturn's static-auth-secret)"
            )
        for url in urls:
            scheme, _, rest = url.partition(":")
            if scheme.lower() not in ("turn", "turns") or not rest or _URL_FORBIDDEN & set(url):
                raise ValueError(
                    f"bad TURN URL {url!r}: expected turn:host:port[?transport=udp|tcp]"
                    " or turns:host:port?transport=tcp, without credentials"
                )
        if ttl_s <= 0:
            raise ValueError("LIVESHOP_TURN_TTL_S must be a positive number of seconds")
        return cls(urls=tuple(urls), secret=secret, ttl_s=ttl_s)

    def ice_server(self, peer_id: str, now: float | None = None) -> RTCIceServer:
        """The TURN servers with credentials for ``peer_id`` alone, valid for ``ttl_s``."""
        expires_at = int(time.time() if now is None else now) + self.ttl_s
        username, credential = rest_credential(self.secret, peer_id, expires_at)
        return RTCIceServer(urls=list(self.urls), username=username, credential=credential)


def announced_ice_servers(
    configured: list[RTCIceServer], turn: TurnCredentials | None, peer_id: str
) -> list[RTCIceServer]:
    """The ICE servers a WHIP/WHEP client is told about in ``Link`` headers.

    Configured servers that carry credentials stay on the server; the client gets the
    credential-free ones (STUN) and TURN credentials issued for it alone.
    """
    servers = [s for s in configured if s.username is None and s.credential is None]
    if turn is not None:
        servers.append(turn.ice_server(peer_id))
    return servers
