"""A simulcast host made of aiortc parts (aiortc 1.16 has no simulcast of its own).

One video m-line offering rids ``h`` and ``l`` with the RID header extensions, as a browser
does. The transceiver's own sender sends the ``h`` layer (a 640x480 numbered camera); once
connected, a second ``RTCRtpSender`` on the same DTLS transport, same MID and payload types
but its own SSRC, sends the ``l`` layer (320x240). Every RTP packet leaving the DTLS
transport is tagged with its layer's rid (or repaired rid for the layer's RTX stream): the
server learns SSRC -> layer from it, exactly as from a browser. The second sender registers
with the transport, so the server's PLIs for its SSRC reach its encoder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcrtpparameters import (
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, is_rtcp

from live_server.media.simulcast_sdp import REPAIRED_RID_EXTENSION, RID_EXTENSION
from support.helpers import wait_for
from support.peers import NumberedVideoTrack

RID_ID, REPAIRED_ID = 10, 11
LAYER_LINES = (
    f"a=extmap:{RID_ID} {RID_EXTENSION}\r\na=extmap:{REPAIRED_ID} {REPAIRED_RID_EXTENSION}\r\n"
    "a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n"
)


def with_layers(sdp: str) -> str:
    """``sdp`` with the simulcast lines in its video section."""
    head, _, rest = sdp.partition("m=video")
    video, sep, tail = rest.partition("m=")
    return f"{head}m=video{video}{LAYER_LINES}{sep}{tail}"


class SimulcastHost:
    """Two layers (h 640x480, l 320x240) on one m-line (see the module docstring)."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.high = NumberedVideoTrack(640, 480)
        self.low = NumberedVideoTrack(320, 240)
        self.transceiver = self.pc.addTransceiver(self.high, direction="sendonly")
        self.low_sender: RTCRtpSender | None = None

    async def publish(self, answer_for: Callable[[str], Awaitable[str]]) -> None:
        """Negotiate with the SFU and start both layers."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await answer_for(with_layers(self.pc.localDescription.sdp))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await wait_for(lambda: self.pc.connectionState == "connected", timeout=10)
        t: Any = self.transceiver
        dtls: Any = t.sender.transport
        low = RTCRtpSender(self.low, dtls)
        params = RTCRtpSendParameters(
            codecs=t._codecs, headerExtensions=t._headerExtensions, muxId=t.mid
        )
        params.rtcp.cname = "host"
        params.rtcp.ssrc = low._ssrc
        params.rtcp.mux = True
        self._tag(dtls, t._headerExtensions, t.sender, low)
        await low.send(params)
        self.low_sender = low

    def _tag(self, dtls: Any, extensions: list[Any], high: Any, low: Any) -> None:
        wire_in = HeaderExtensionsMap()
        wire_in.configure(RTCRtpParameters(headerExtensions=list(extensions)))
        wire_out = HeaderExtensionsMap()
        wire_out.configure(
            RTCRtpParameters(
                headerExtensions=[
                    *extensions,
                    RTCRtpHeaderExtensionParameters(id=RID_ID, uri=RID_EXTENSION),
                    RTCRtpHeaderExtensionParameters(id=REPAIRED_ID, uri=REPAIRED_RID_EXTENSION),
                ]
            )
        )
        layers = {high._ssrc: "h", low._ssrc: "l"}
        repairs = {high._rtx_ssrc: "h", low._rtx_ssrc: "l"}
        send = dtls._send_rtp

        async def tagged(data: bytes) -> None:
            if not is_rtcp(data):
                packet = RtpPacket.parse(data, wire_in)
                if packet.ssrc in layers:
                    packet.extensions.rtp_stream_id = layers[packet.ssrc]
                elif packet.ssrc in repairs:
                    packet.extensions.repaired_rtp_stream_id = repairs[packet.ssrc]
                data = packet.serialize(wire_out)
            await send(data)

        dtls._send_rtp = tagged

    async def close(self) -> None:
        """Stop both layers."""
        if self.low_sender is not None:
            await self.low_sender.stop()
        await self.pc.close()
