"""The relay endpoint: another node pulls a show from its origin, ``POST /relay/{id}``.

Registered only when the cluster secret is set (otherwise the path answers 404). The body
is a receive-only SDP offer; ``Authorization: Bearer <relay token>`` (HMAC-SHA256 with the
cluster secret over node id, session id and expiry) proves the caller is a node of this
deployment: without a valid token the answer is 401 and no peer connection is made.
"""

from __future__ import annotations

from aiohttp import web

from live_server.media import BROADCAST
from live_server.platform.http import path_int
from live_server.platform.openapi import document, op
from signaling.whip import bearer, created, deleted, read_offer


async def pull(request: web.Request) -> web.Response:
    """POST /relay/{session_id}: 201 with the SDP answer of a send-only relay leg."""
    session_id = path_int(request, "session_id")
    broadcast = request.app[BROADCAST]
    token = bearer(request)
    offer = await read_offer(request)
    relay_id, answer = await broadcast.serve_relay(session_id, token, offer)
    return created(answer, f"/relay/{session_id}/{relay_id}", relay_id, [])


async def release(request: web.Request) -> web.Response:
    """DELETE /relay/{session_id}/{relay_id}: the pulling node lets the show go."""
    session_id = path_int(request, "session_id")
    broadcast = request.app[BROADCAST]
    if broadcast.cluster is None or not broadcast.cluster.check_relay_token(
        bearer(request), session_id
    ):
        raise web.HTTPNotFound()
    await broadcast.stop_relay(session_id, request.match_info["relay_id"])
    return deleted()


def setup(app: web.Application, enabled: bool) -> None:
    """The relay routes (only with a cluster secret) and their OpenAPI entries."""
    if not enabled:
        return
    app.router.add_post("/relay/{session_id}", pull)
    app.router.add_delete("/relay/{session_id}/{relay_id}", release)
    sdp = {"type": "string", "description": "receive-only SDP offer"}
    document(
        app,
        {
            "/relay/{session_id}": {
                "POST": op(
                    "Node to node: pull a show from its origin (Bearer <relay token>) -> 201 "
                    "SDP answer of a send-only leg; 400 for an offer that sends media",
                    tag="media",
                    auth="relayToken",
                    body=sdp,
                    body_type="application/sdp",
                    ok=201,
                    ok_type="application/sdp",
                    errors=(400, 401, 404, 409, 413, 415),
                )
            },
            "/relay/{session_id}/{relay_id}": {
                "DELETE": op("Let the show go", tag="media", auth="relayToken", errors=(404,)),
            },
        },
        path_params={"relay_id": {"type": "string", "maxLength": 64}},
    )
