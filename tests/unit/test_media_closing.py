"""close_peer: a peer whose close never finishes cannot hold up a departure or a shut-down.

A real RTCPeerConnection closes at once here, and one that closes and one that fails are
used as they are; a close that hangs cannot be produced on demand, so a stand-in with the
same ``close()`` coroutine plays it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiortc import RTCPeerConnection

from live_server.media.aiortc.closing import close_peer, overrunning


class HangingPeer:
    connectionState = "connecting"
    iceConnectionState = "checking"
    signalingState = "stable"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.closed = False

    async def close(self) -> None:
        await self.release.wait()
        self.closed = True


class FailingPeer:
    async def close(self) -> None:
        raise RuntimeError("transport already gone")


async def test_a_real_peer_closes_in_time() -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    assert await close_peer(pc) is True
    assert pc.connectionState == "closed"


async def test_a_hanging_close_returns_after_the_timeout_and_finishes_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer = HangingPeer()
    caplog.set_level(logging.WARNING, logger="live_server.media.aiortc.closing")
    started = time.monotonic()
    assert await close_peer(peer, timeout=0.2) is False
    assert 0.2 <= time.monotonic() - started < 2.0
    assert "did not close within 0.2 s" in caplog.text
    assert "iceConnectionState=checking" in caplog.text
    assert overrunning() == 1
    # the close goes on in the background and is let go once it finishes
    peer.release.set()
    for _ in range(100):
        if overrunning() == 0:
            break
        await asyncio.sleep(0.01)
    assert peer.closed and overrunning() == 0


async def test_a_failing_close_is_logged_and_counts_as_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="live_server.media.aiortc.closing")
    assert await close_peer(FailingPeer()) is True
    assert "transport already gone" in caplog.text


async def test_cancelling_the_caller_leaves_the_close_running() -> None:
    peer = HangingPeer()
    waiter = asyncio.ensure_future(close_peer(peer, timeout=5))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    peer.release.set()
    for _ in range(100):
        if peer.closed:
            break
        await asyncio.sleep(0.01)
    assert peer.closed
