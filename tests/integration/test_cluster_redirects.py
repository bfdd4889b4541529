"""A full node answers 307 to a node with room; clients follow it and play.

The origin takes one WebRTC viewer (``LIVESHOP_MAX_WEBRTC_VIEWERS=1``), an edge takes two.
The second viewer's WHEP POST to the origin is answered ``307`` with the edge's URL and a
signed ticket; aiortc (through aiohttp) and the independent ``whip-whep`` npm client follow
it and receive the show. With every node full: ``503 webrtc_full`` and ``Retry-After``.
A private show: the edge admits only a ticket the origin signed after checking the viewer.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCSessionDescription

from support.cluster import (
    Host,
    Nodes,
    Watcher,
    new_show,
    start_edge_node,
    start_full_node,
)
from support.helpers import REPO_ROOT, auth, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SCRIPT = Path(__file__).parent / "js" / "whep_client.mjs"
CLIENT_PKG = REPO_ROOT / "web_client" / "node_modules" / "whip-whep"
SDP = {"Content-Type": "application/sdp"}


async def _offer(w: Watcher) -> str:
    await w.pc.setLocalDescription(await w.pc.createOffer())
    return str(w.pc.localDescription.sdp)


async def _whip_whep(url: str) -> dict[str, object]:
    node = shutil.which("node")
    assert node, "node is needed for the whip-whep client"
    proc = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), url, "6", stdout=asyncio.subprocess.PIPE, stderr=sys.stderr
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out
    result: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_full_node_redirects_and_clients_follow(
    tmp_path: Path, prefix: str, nodes: Nodes, redis_keys: None
) -> None:
    assert CLIENT_PKG.is_dir(), "npm ci in web_client installs whip-whep (a devDependency)"
    origin = nodes.add(
        start_full_node(tmp_path / "origin", prefix, LIVESHOP_MAX_WEBRTC_VIEWERS="1")
    )
    edge = nodes.add(start_edge_node(tmp_path / "edge", prefix, LIVESHOP_MAX_WEBRTC_VIEWERS="2"))
    host = Host()
    watchers = [Watcher(), Watcher(), Watcher()]
    async with aiohttp.ClientSession() as http:
        try:
            session_id, key, host_token = await new_show(http, origin.url)
            await host.publish(http, origin.url, session_id, key)
            await wait_for(lambda: _publishing(http, origin.url, session_id), timeout=20)
            first, second, third = watchers
            await first.watch(http, f"{origin.url}/whep/{session_id}")
            assert first.location.startswith(origin.url)

            # the origin is full: 307 to the edge, with a ticket
            async with http.post(
                f"{origin.url}/whep/{session_id}",
                data=await _offer(second),
                headers=SDP,
                allow_redirects=False,
            ) as resp:
                assert resp.status == 307, await resp.text()
                target = resp.headers["Location"]
                assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert target.startswith(f"{edge.url}/whep/{session_id}?ticket=")
            async with http.post(target, data=second.pc.localDescription.sdp, headers=SDP) as resp:
                assert resp.status == 201, await resp.text()
                answer = await resp.text()
                # the resource is on the edge, absolute: a DELETE must go there
                assert resp.headers["Location"].startswith(f"{edge.url}/whep/{session_id}/")
            await second.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            await wait_for(second.playing, timeout=30, message="redirected aiortc viewer plays")
            assert second.in_order()

            # the independent whip-whep client follows the 307 the way fetch does
            result = await _whip_whep(f"{origin.url}/whep/{session_id}")
            assert result["ok"], result
            assert result["redirected"] and str(result["resource"]).startswith(edge.url), result
            assert int(result["keyframes"]) >= 1 and int(result["video"]) > 50, result  # type: ignore[call-overload]

            # the whip-whep client left (DELETE on the edge): once the origin's view of the
            # registry says so, the edge's second seat is free again
            await wait_for(
                lambda: _metric(http, origin.url, "liveshop_cluster_webrtc_viewers_total", 2),
                timeout=10,
                message="the origin sees the whip-whep viewer gone",
            )
            await third.watch(http, f"{origin.url}/whep/{session_id}")  # the edge's second seat
            assert third.location.startswith(edge.url)
            await wait_for(third.playing, timeout=30, message="third viewer plays")
            # each viewer counted once, on the node that serves it (none for the redirects)
            counts = await wait_for(
                lambda: _counts(http, origin.url, session_id, 3), timeout=10, message="3 viewers"
            )
            assert sorted((n["role"], n["viewers"]) for n in counts) == [
                ("edge", 2),
                ("primary", 1),
            ]
            extra = Watcher()
            watchers.append(extra)
            async with http.post(
                f"{origin.url}/whep/{session_id}", data=await _offer(extra), headers=SDP
            ) as resp:
                assert resp.status == 503, await resp.text()
                assert (await resp.json())["error"]["code"] == "webrtc_full"
                assert int(resp.headers["Retry-After"]) > 0

            # a private show: the edge admits a ticket only
            async with http.patch(
                f"{origin.url}/api/sessions/{session_id}",
                json={"visibility": "private"},
                headers=auth(host_token),
            ) as resp:
                assert resp.status == 200, await resp.text()
            direct = Watcher()
            watchers.append(direct)
            offer = await _offer(direct)

            async def edge_refuses() -> bool:
                async with http.post(f"{edge.url}/whep/{session_id}", data=offer, headers=SDP) as r:
                    return r.status == 404

            await wait_for(edge_refuses, timeout=10, message="edge sees the show private")
            forged = f"{edge.url}/whep/{session_id}?ticket={session_id}.9999999999.00"
            async with http.post(forged, data=offer, headers=SDP) as resp:
                assert resp.status == 404
            async with http.post(
                f"{origin.url}/whep/{session_id}", data=offer, headers=SDP, allow_redirects=False
            ) as resp:
                assert resp.status == 404  # an outsider never learns the show exists
        finally:
            for w in watchers:
                await w.close()
            await host.close()


async def _counts(
    http: aiohttp.ClientSession, url: str, session_id: int, total: int
) -> list[dict[str, object]] | None:
    async with http.get(f"{url}/api/sessions/{session_id}/broadcast") as resp:
        body = await resp.json()
    return body["nodes"] if body["viewers"] == total else None  # type: ignore[no-any-return]


async def _metric(http: aiohttp.ClientSession, url: str, name: str, value: float) -> bool:
    async with http.get(f"{url}/metrics") as resp:
        text = await resp.text()
    return f"{name} {value:.1f}" in text.splitlines()


async def _publishing(http: aiohttp.ClientSession, url: str, session_id: int) -> bool:
    async with http.get(f"{url}/api/sessions/{session_id}/broadcast") as resp:
        return bool((await resp.json())["publishing"])
