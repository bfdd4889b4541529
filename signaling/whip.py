"""WHIP ingest (RFC 9725): the host's encoder or browser publishes to /whip/{session_id}.

Also holds what WHEP shares with WHIP: SDP bodies, CORS, resource headers.
"""

from __future__ import annotations

from aiohttp import web

from live_server.media import BROADCAST, MAX_SDP_BYTES
from live_server.platform.errors import Unsupported
from live_server.platform.http import bearer_token, path_int, read_bytes
from live_server.platform.middleware import error_body
from live_server.platform.openapi import document, op

SDP_TYPE = "application/sdp"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
}


async def read_offer(request: web.Request) -> str:
    """The SDP offer in the body, read to its end: 415 unless ``application/sdp``, 413 when
    too large."""
    if request.content_type != SDP_TYPE:
        raise Unsupported(f"send the SDP offer as Content-Type: {SDP_TYPE}", code="not_sdp")
    raw = await read_bytes(request, MAX_SDP_BYTES, what="SDP offers")
    return raw.decode("utf-8", errors="replace")


def bearer(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if any (401 unless printable ASCII)."""
    return bearer_token(request)


def created(answer: str, location: str, resource_id: str, links: list[str]) -> web.Response:
    """201 with the SDP answer, the resource's Location and ETag (and ICE server Links)."""
    response = web.Response(status=201, text=answer, content_type=SDP_TYPE)
    response.headers["Location"] = location
    response.headers["ETag"] = f'"{resource_id}"'
    for link in links:
        response.headers.add("Link", link)
    return response


def preflight(methods: str) -> web.Response:
    """CORS preflight answer."""
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, X-Viewer-Key",
            "Access-Control-Max-Age": "86400",
            "Allow": methods,
        },
    )


def no_trickle() -> web.Response:
    """PATCH on a resource: this server does not do trickle ICE or ICE restarts (405)."""
    return web.json_response(
        error_body(
            "method_not_allowed",
            "trickle ICE and ICE restarts are not supported: all candidates are in the answer",
        ),
        status=405,
        headers={"Allow": "DELETE, OPTIONS"},
    )


def deleted() -> web.Response:
    """200 after DELETE on a resource (RFC 9725 section 4.2)."""
    return web.Response(status=200)


async def _cors(request: web.Request, response: web.StreamResponse) -> None:
    """Browser WHIP/WHEP clients on other origins must read every answer, errors too."""
    if request.path.startswith(("/whip/", "/whep/", "/relay/")):
        response.headers.update(CORS_HEADERS)


async def publish(request: web.Request) -> web.Response:
    """POST /whip/{session_id}: the SDP offer in, 201 with the SDP answer out."""
    session_id = path_int(request, "session_id")
    broadcast = request.app[BROADCAST]
    offer = await read_offer(request)
    resource_id, answer = await broadcast.go_live(session_id, bearer(request), offer)
    return created(
        answer,
        f"/whip/{session_id}/{resource_id}",
        resource_id,
        broadcast.ice_links(resource_id),
    )


async def end(request: web.Request) -> web.Response:
    """DELETE /whip/{session_id}/{resource_id}: the host ends the broadcast."""
    session_id = path_int(request, "session_id")
    await request.app[BROADCAST].stop_publishing(session_id, request.match_info["resource_id"])
    return deleted()


async def patch(request: web.Request) -> web.Response:
    """PATCH on the resource: 405, no trickle ICE (RFC 9725 section 4.3.1)."""
    return no_trickle()


async def options_endpoint(request: web.Request) -> web.Response:
    """CORS preflight for the endpoint."""
    return preflight("POST, OPTIONS")


async def options_resource(request: web.Request) -> web.Response:
    """CORS preflight for the resource."""
    return preflight("DELETE, PATCH, OPTIONS")


SDP_ERRORS = (400, 401, 404, 409, 413, 415)


def add_cors(app: web.Application) -> None:
    """Every WHIP/WHEP answer readable by browser clients on other origins."""
    app.on_response_prepare.append(_cors)


def setup(app: web.Application) -> None:
    """WHIP routes, their CORS headers and OpenAPI entries."""
    add_cors(app)
    r = app.router
    r.add_post("/whip/{session_id}", publish)
    r.add_options("/whip/{session_id}", options_endpoint)
    r.add_delete("/whip/{session_id}/{resource_id}", end)
    r.add_patch("/whip/{session_id}/{resource_id}", patch)
    r.add_options("/whip/{session_id}/{resource_id}", options_resource)
    sdp = {"type": "string", "description": "SDP offer"}
    document(
        app,
        {
            "/whip/{session_id}": {
                "POST": op(
                    "Go live: WHIP offer (Bearer <stream key>) -> 201 SDP answer + Location",
                    tag="media",
                    auth="streamKey",
                    body=sdp,
                    body_type="application/sdp",
                    ok=201,
                    ok_type="application/sdp",
                    errors=SDP_ERRORS,
                ),
                "OPTIONS": op("CORS preflight", tag="media", ok=204),
            },
            "/whip/{session_id}/{resource_id}": {
                "DELETE": op("End the broadcast", tag="media", errors=(404,)),
                "PATCH": op("Trickle ICE: not supported (405)", tag="media", errors=(405,)),
                "OPTIONS": op("CORS preflight", tag="media", ok=204),
            },
        },
        path_params={"resource_id": {"type": "string", "maxLength": 64}},
    )
