"""Issue 12, "What to build" 2: unauthenticated connections are capped per address. An
anonymous Socket.IO connection costs the server a socket, a queue and a room member for
as long as the client likes; one address may hold only so many of them at once (signed-in
users are not counted: they are accountable, and a household shares one address)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from live_server.settings import Settings
from support.helpers import wait_for
from support.room import Room, make_room

CAP = 3


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "max_anonymous_sockets_per_address": CAP,
        },
        env={},
    )


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    yield r
    await r.close()


async def refused(room: Room) -> dict[str, Any]:
    """The server's refusal of one more anonymous connection (its connect_error data)."""
    extra = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []

    @extra.event  # type: ignore[misc]
    async def connect_error(data: Any) -> None:
        errors.append(data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await extra.connect(room.base_url, transports=["websocket"], wait_timeout=10)
    await wait_for(lambda: errors, message="connect_error")
    assert isinstance(errors[0], dict), errors
    return dict(errors[0])


async def test_build_2_anonymous_sockets_per_address_are_capped(room: Room) -> None:
    anonymous = [await room.client(None) for _ in range(CAP)]  # each joins the room
    error = await refused(room)
    assert error["data"] == {"code": "too_many_connections"}, error
    assert f"already holds {CAP} connections" in error["message"]
    # a signed-in user from the same address is not counted
    viewer = await room.client(room.viewer_token)
    assert viewer.sio.connected
    # one anonymous socket leaves: its place is free at once
    await anonymous[0].close()
    await wait_for(lambda: anonymous[0].disconnected.is_set(), message="disconnected")
    again = await room.client(None)
    assert again.sio.connected
    error = await refused(room)
    assert error["data"] == {"code": "too_many_connections"}
