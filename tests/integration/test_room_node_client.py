"""The official JavaScript socket.io-client (under Node) talks to the room."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from support.helpers import REPO_ROOT, wait_for
from support.room import make_room

SCRIPT = Path(__file__).parent / "js" / "room_client.mjs"
CLIENT_PKG = REPO_ROOT / "web_client" / "node_modules" / "socket.io-client"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not CLIENT_PKG.exists(),
    reason="needs node and web_client/node_modules (npm ci in web_client)",
)


async def test_node_socketio_client_chats_and_reacts(client: Any, make_user: Any) -> None:
    base_url = str(client.make_url("/")).rstrip("/")
    room = await make_room(client, make_user, base_url)
    try:
        py_viewer = await room.client(room.viewer2_token)
        await py_viewer.call("chat:send", {"session_id": room.session_id, "text": "from python"})
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            base_url,
            room.viewer_token,
            str(room.session_id),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (out, err)
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["ok"], result
        seen = result["seen"]
        assert seen["snapshot_messages"] == ["from python"]
        assert seen["errors"] == ["invalid"]
        assert "from node" in seen["messages"] and seen["hearts"] >= 7
        # the Python viewer saw the Node client's message and hearts
        await wait_for(lambda: "from node" in py_viewer.texts(), message="python sees node chat")
        await wait_for(lambda: py_viewer.reaction_sum("heart") >= 7, message="python sees hearts")
        sender = next(m for m in py_viewer.events["chat:message"] if m["text"] == "from node")
        assert sender["user"]["id"] == room.viewer["id"]
    finally:
        await room.close()
