"""Connected sockets, their requests, and the guarded client packet class (parts 3 and
4 of `signaling.socketio_internals`)."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp.web
import socketio
from socketio import packet as sio_packet

from live_server.platform.json_input import JsonRefused, parse_json

logger = logging.getLogger(__name__)


def is_connected(sio: socketio.AsyncServer, sid: str, namespace: str = "/") -> bool:
    """True while `sid` is a connected client of `namespace` on this node."""
    return bool(sio.manager.is_connected(sid, namespace))


def handshake_request(environ: dict[str, Any]) -> aiohttp.web.BaseRequest | None:
    """The aiohttp request of a connect handler's `environ` (engine.io's aiohttp driver
    keeps it under "aiohttp.request"), or None."""
    request = environ.get("aiohttp.request")
    return request if isinstance(request, aiohttp.web.BaseRequest) else None


#: What a client event whose payload was refused arrives as (with the reason).
REFUSED_EVENT = "\x00refused"


class _ClientJson:
    """The `json` a packet class uses: client payloads are decoded by the platform's
    reader of client JSON (limited depth), encoding is the stdlib's."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return parse_json(text, what="the message")


class GuardedPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet whose client payload is decoded with a depth limit."""

    json = _ClientJson

    def decode(self, encoded_packet: Any) -> Any:
        """Decodes as the library does; an event whose payload is refused keeps its type,
        namespace and ack id (all read before the payload) and becomes `REFUSED_EVENT`."""
        try:
            return super().decode(encoded_packet)
        except JsonRefused as exc:
            if getattr(self, "packet_type", None) not in (
                sio_packet.EVENT,
                sio_packet.BINARY_EVENT,
            ):
                raise
            self.packet_type = sio_packet.EVENT
            self.data = [REFUSED_EVENT, str(exc)]
            return 0


#: The releases this module was written for and checked against (read the code again
#: before changing these: every internal above is named in `verify_socketio_internals`).
