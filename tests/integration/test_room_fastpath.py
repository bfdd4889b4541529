"""The broadcast fast path (signaling/socketio_internals/) engages for WebSocket clients,
falls back for long-polling ones, and both receive the same events. Fails loudly if a
python-engineio upgrade removes the hook it relies on."""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
import socketio

from signaling.socketio_internals import FastBroadcast, text_frame
from support.helpers import wait_for
from support.room import RoomClient, make_room


def test_text_frame_lengths() -> None:
    assert text_frame(b"42") == b"\x81\x0242"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70000)[:2] == b"\x81\x7f"


def test_engineio_still_has_the_websocket_driver_hook() -> None:
    eio = engineio.AsyncServer(async_mode="aiohttp")
    fast = FastBroadcast()
    assert fast.install(eio), f"engine.io {engineio.__name__} changed its driver table"
    assert eio._async["websocket"].__name__ == "TrackedWebSocket"


class _Transport:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.log.append(("write", data))


class _Socket:
    upgraded = True
    closed = False

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()


async def test_waiting_frames_leave_before_a_normal_path_packet_and_big_flushes_wait() -> None:
    log: list[Any] = []

    class Eio:
        _async: dict[str, Any] = {"websocket": object}

        async def send_packet(self, sid: str, pkt: Any) -> None:
            log.append(("packet", sid, pkt))

    eio = Eio()
    fast = FastBroadcast()
    assert fast.install(eio)
    fast.transports["s1"] = _Transport(log)  # type: ignore[assignment]
    sock = _Socket()
    fast.window = 5.0  # as after a flush to thousands of sockets: frames wait
    assert fast.try_send(sock, "s1", b"A") and fast.try_send(sock, "s1", b"B")
    await asyncio.sleep(0.01)
    assert log == []  # held for the window
    await eio.send_packet("s1", "ack")  # an ack on the queued path: the frames go first
    assert log == [("write", b"AB"), ("packet", "s1", "ack")]
    fast._flush()  # the timer firing later finds nothing for s1
    assert log == [("write", b"AB"), ("packet", "s1", "ack")]
    assert fast.window == 0.0  # that flush was quick: the next one is not delayed
    assert fast.try_send(sock, "s1", b"C")
    await wait_for(lambda: log[-1:] == [("write", b"C")], timeout=1.0, message="next flush")


async def test_fast_and_polling_clients_get_the_same_broadcasts(
    client: Any, make_user: Any
) -> None:
    from signaling.room import ROOM_TRANSPORT

    base_url = str(client.make_url("/")).rstrip("/")
    room = await make_room(client, make_user, base_url)
    fast: FastBroadcast = client.app[ROOM_TRANSPORT].sio.manager.fast
    ws_viewer = await room.client(room.viewer_token)
    polling = RoomClient(base_url, room.viewer2_token)
    polling.sio = socketio.AsyncClient(reconnection=False)

    @polling.sio.on("*")  # type: ignore[misc]
    async def _any(event: str, data: Any = None) -> None:
        polling.events[event].append(data)

    await polling.sio.connect(base_url, auth={"token": room.viewer2_token}, transports=["polling"])
    room.clients.append(polling)
    await polling.join(room.session_id)
    try:
        before = fast.fast_sends
        for i in range(5):
            ack = await ws_viewer.call(
                "chat:send", {"session_id": room.session_id, "text": f"ünïcode ✓ {i}"}
            )
            assert ack.get("ok") or ack["error"]["code"] == "rate_limited"
        await wait_for(lambda: len(ws_viewer.texts()) >= 3, message="ws deliveries")
        await wait_for(lambda: len(polling.texts()) >= 3, message="polling deliveries")
        assert ws_viewer.texts() == polling.texts()
        assert ws_viewer.texts()[0] == "ünïcode ✓ 0"
        assert fast.fast_sends > before, "the fast path never engaged"
        assert fast.slow_sends > 0, "the polling client must take the normal path"
    finally:
        room.clients.remove(polling)
        # a polite polling disconnect waits for the pending long-poll (~25 s): abort it
        await polling.sio.eio.disconnect(abort=True)
        await room.close()
