"""WHEP playback: viewers POST an SDP offer to /whep/{session_id} on any node.

The node serves the viewer, or answers ``307 Temporary Redirect`` to a node with room (a
signed ``ticket`` in the URL says this node checked the viewer), or ``503`` when every node
is full (RFC 9725 and the WHEP draft allow redirects; clients follow them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from live_server.media import VIDEO_AUDIENCE, VIEWING
from live_server.platform.addresses import client_address
from live_server.platform.audience import VIEWER_KEY_HEADER, audience_key, device_key
from live_server.platform.errors import BadRequest
from live_server.platform.http import json_response, path_int, principal, read_json
from live_server.platform.openapi import document, op
from signaling.whip import created, deleted, no_trickle, preflight, read_offer

#: Raises when this user (None: anonymous) may not have the show's video (the room's ban:
#: 403 ``banned``).
WatchGate = Callable[[int, int | None], Awaitable[None]]
WATCH_GATE: web.AppKey[WatchGate] = web.AppKey("whep_watch_gate")


async def watch(request: web.Request) -> web.Response:
    """POST /whep/{session_id}: 201 with the SDP answer; 307 to a node with room; 409 before
    the host is live; 503 when no node has room."""
    session_id = path_int(request, "session_id")
    viewing = request.app[VIEWING]
    offer = await read_offer(request)
    ticket = request.query.get("ticket") or None
    who = principal(request)
    gate = request.app.get(WATCH_GATE)
    if gate is not None:  # before any redirect: the node that knows the viewer refuses
        await gate(session_id, viewing.viewer_id(session_id, who, ticket))
    target = await viewing.route(session_id, who, ticket)
    if target is not None:
        return web.Response(status=307, headers={"Location": target})
    resource_id, answer = await viewing.watch(
        session_id, who, offer, client_address(request), ticket
    )
    # who this video connection is, so the room counts it with the same viewer's socket
    # (no await since watch() added it: the room never sees it unnamed); admins are staff
    device = device_key(request.headers.get(VIEWER_KEY_HEADER))
    staff = who is not None and who.is_admin
    request.app[VIDEO_AUDIENCE].name(
        resource_id, None if staff else audience_key(who.user_id if who else None, device)
    )
    location = viewing.location(f"/whep/{session_id}/{resource_id}", ticket)
    return created(answer, location, resource_id, viewing.ice_links(resource_id))


async def leave(request: web.Request) -> web.Response:
    """DELETE /whep/{session_id}/{resource_id}: the viewer leaves."""
    session_id = path_int(request, "session_id")
    await request.app[VIEWING].leave(session_id, request.match_info["resource_id"])
    return deleted()


async def choose_layer(request: web.Request) -> web.Response:
    """POST /whep/{session_id}/{resource_id}/layer {"layer": "auto" | "low" | "high"}: the
    viewer's simulcast layer (data saver / HD / by its network); the resource URL is the
    viewer's own capability, as for DELETE."""
    session_id = path_int(request, "session_id")
    body = await read_json(request)
    layer = body.get("layer")
    if not isinstance(layer, str):
        raise BadRequest(
            'the body must be {"layer": "auto"}, {"layer": "low"} or {"layer": "high"}'
        )
    simulcast = request.app[VIEWING].choose_layer(
        session_id, request.match_info["resource_id"], layer
    )
    return json_response({"layer": layer, "simulcast": simulcast})


async def options_layer(request: web.Request) -> web.Response:
    """CORS preflight for the layer choice."""
    return preflight("POST, OPTIONS")


async def patch(request: web.Request) -> web.Response:
    """PATCH on the resource: 405, no trickle ICE."""
    return no_trickle()


async def options_endpoint(request: web.Request) -> web.Response:
    """CORS preflight for the endpoint."""
    return preflight("POST, OPTIONS")


async def options_resource(request: web.Request) -> web.Response:
    """CORS preflight for the resource."""
    return preflight("DELETE, PATCH, OPTIONS")


VIEWER_KEY_PARAM = {
    "name": "X-Viewer-Key",
    "in": "header",
    "required": False,
    "description": "the device's key (1-200 visible ASCII; anything else is ignored), the one"
    " the page gives the room, so its video and socket count as one viewer",
    "schema": {"type": "string", "maxLength": 200},
}

TICKET_PARAM = {
    "name": "ticket",
    "in": "query",
    "required": False,
    "description": "signed watch ticket of a viewer another node sent here (307)",
    "schema": {"type": "string", "maxLength": 200},
}


LAYER_BODY = {
    "type": "object",
    "required": ["layer"],
    "properties": {"layer": {"type": "string", "enum": ["auto", "low", "high"]}},
}
LAYER_ANSWER = {
    "type": "object",
    "properties": {
        "layer": {"type": "string", "enum": ["auto", "low", "high"]},
        "simulcast": {"type": "boolean"},
    },
}


REDIRECT = {
    "307": {
        "description": "watch through another node: POST the same offer to Location",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    }
}


def setup(app: web.Application, gate: WatchGate | None = None) -> None:
    """Routes and OpenAPI entries of WHEP; ``gate`` (the room's ban check, on a full node)
    refuses a viewer before anything else."""
    if gate is not None:
        app[WATCH_GATE] = gate
    r = app.router
    r.add_post("/whep/{session_id}", watch)
    r.add_options("/whep/{session_id}", options_endpoint)
    r.add_delete("/whep/{session_id}/{resource_id}", leave)
    r.add_patch("/whep/{session_id}/{resource_id}", patch)
    r.add_options("/whep/{session_id}/{resource_id}", options_resource)
    r.add_post("/whep/{session_id}/{resource_id}/layer", choose_layer)
    r.add_options("/whep/{session_id}/{resource_id}/layer", options_layer)
    document(
        app,
        {
            "/whep/{session_id}": {
                "POST": op(
                    "Watch: WHEP offer -> 201 SDP answer + Location; 307 to a node with "
                    "room (follow it: the URL carries a signed ticket); 409 when not live; "
                    "503 (Retry-After) when no node has room; a private session only for "
                    "its host, moderators and admins (Bearer token), 404 for anyone else; "
                    "403 `banned` for a viewer banned from the show's room",
                    tag="media",
                    body={"type": "string", "description": "SDP offer"},
                    body_type="application/sdp",
                    ok=201,
                    ok_type="application/sdp",
                    errors=(400, 401, 403, 404, 409, 413, 415, 429, 503),
                    params=[TICKET_PARAM, VIEWER_KEY_PARAM],
                    extra_responses=REDIRECT,
                ),
                "OPTIONS": op("CORS preflight", tag="media", ok=204),
            },
            "/whep/{session_id}/{resource_id}": {
                "DELETE": op("Stop watching", tag="media", errors=(404,)),
                "PATCH": op("Trickle ICE: not supported (405)", tag="media", errors=(405,)),
                "OPTIONS": op("CORS preflight", tag="media", ok=204),
            },
            "/whep/{session_id}/{resource_id}/layer": {
                "POST": op(
                    "Choose the simulcast layer: `auto` (by the viewer's network), `low` "
                    "(data saver) or `high` (HD); `simulcast` says whether the host sends "
                    "layers now (the wish is kept for when it does); 400 for another value, "
                    "404 for no such viewer",
                    tag="media",
                    body=LAYER_BODY,
                    response=LAYER_ANSWER,
                    errors=(400, 404),
                ),
                "OPTIONS": op("CORS preflight", tag="media", ok=204),
            },
        },
        path_params={"resource_id": {"type": "string", "maxLength": 64}},
    )
