"""The composition root: builds the platform, then each feature in layer order.

Every feature's `setup(app, platform, ...)` builds its own stores and services, puts them
on the app under its own typed keys, registers its routes and lifetimes, and returns a
small object the features above it may use. Nothing is filled in later: a feature gets
what it needs when it is built. Cross-feature links that go *up* the layers (commerce's
tick in the room, notifications through the room's sockets) are made here, explicitly.
"""

from __future__ import annotations

from aiohttp import web

from live_server import (
    accounts,
    catalog,
    cluster,
    commerce,
    content,
    demo,
    hls,
    media,
    room,
    search,
    show_summary,
    shows,
)
from live_server.platform import core as platform_core
from live_server.platform import static
from live_server.platform.core import Platform
from live_server.platform.middleware import (
    access_log_middleware,
    auth_middleware,
    error_middleware,
)
from live_server.settings import Settings
from signaling import relay, whep, whip
from signaling import room as room_transport


def create_app(settings: Settings) -> web.Application:
    """Builds the aiohttp application with every feature wired in."""
    app = web.Application(
        middlewares=[access_log_middleware, error_middleware, auth_middleware],
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes) + 64 * 1024,
    )
    platform = platform_core.build_platform(settings)
    platform_core.setup(app, platform)  # database, Redis, health, metrics, OpenAPI

    users = accounts.setup(app, platform)
    products = catalog.setup(app, platform)
    shows_ = shows.setup(app, platform, users, products)
    cluster_ = cluster.setup(app, platform)  # origin leases, node registry, routing
    media_ = media.setup(app, platform, shows_, cluster_)  # the SFU; also the media clock
    clock = media_.broadcast

    sio = room_transport.create_server(settings)
    room_ = room.setup(
        app,
        platform,
        products,
        shows_,
        clock,
        room_transport.SocketIOBroadcaster(sio),
        video=media_.audience,  # "watching" counts WebRTC viewers with the room's sockets
    )
    # a ban means no video: WHEP and LL-HLS ask the room before a show's stream is handed
    # out (the room's ban notice closes running WHEP viewers through the event bus)
    refuse_banned = room_.moderation.refuse_banned
    # LL-HLS: every live show packaged once for caches and CDNs (the broadcast's tap provider)
    hls_ = hls.setup(app, platform, shows_, media_, users.url_signer, viewer_gate=refuse_banned)
    room_transport.setup(app, sio, room_, users.service.verify_token)
    whip.setup(app)
    whep.setup(app, gate=room_.moderation.refuse_banned_user)
    relay.setup(app, enabled=cluster_.relay_enabled)  # other nodes pull shows from here

    commerce_ = commerce.setup(
        app,
        platform,
        users,
        products,
        shows_,
        clock,
        notify=room_.service.emit_to_user,
        banned=room_.moderation.is_banned,  # no buying from a show's page once banned from it
    )
    # units left, flash-sale countdowns and recent buys ride on every room tick
    room_.events.extend(room.RoomExtension("commerce", contributors=[commerce_.tick]))
    # auctions, giveaways and live coupons: their room events and tick sections
    room_.events.extend(
        commerce.live_formats(app, platform, users, products, shows_, clock, commerce_, room_)
    )
    content_ = content.setup(
        app, platform, users, products, shows_, notify=room_.service.emit_to_user
    )
    # a replay still being processed plays the show's LL-HLS segments meanwhile
    content_.replays.offer_instant_replay(hls_.service.has_recording)
    # live shows' cards show their newest picture (content keeps each show's last keyframe)
    media_.broadcast.add_tap_provider(content_.live_posters)

    # the host's after-show summary joins commerce's sales and content's clips (siblings)
    show_summary.setup(app, show_summary.ShowSummary(shows_, commerce_, content_))

    # products, shows and creators over FTS5, and creators' pages (reads everything below)
    search.setup(app, platform, users, products, shows_, content_)
    demo.setup(app, platform, users, products, shows_, content_)
    # last: its page route matches any /<name>.html. /media/ asks content whose a file is
    # (a private show's files only for its readers, or through a signed link).
    static.setup(app, users.url_signer, content_.access.file_access)
    return app


def create_edge_app(settings: Settings) -> web.Application:
    """A media-only edge node: WHEP, pulling each show from its origin over the relay,
    health and metrics. No database, no room, no accounts (docs/media.md, "Topology")."""
    if not settings.redis_url or not settings.cluster_secret:
        raise SystemExit(
            "an edge node needs the deployment's Redis and cluster secret:"
            " liveshop edge --redis-url redis://HOST:6379/0 --cluster-secret SECRET"
        )
    app = web.Application(middlewares=[access_log_middleware, error_middleware])
    platform = platform_core.build_platform(settings)
    platform_core.setup(app, platform, database=False)  # Redis, health, metrics, OpenAPI
    cluster_ = cluster.setup(app, platform)
    media.setup_edge(app, platform, cluster_)
    # a ban on a full node closes the banned viewer's video here too (sent here with a
    # ticket naming them; an edge cannot tell who an anonymous public-show viewer is)
    room.ban_notices.setup(app, platform)
    whip.add_cors(app)
    # ... and a ticket issued before the ban does not bring them back
    whep.setup(app, gate=room.ban_notices.edge_check(platform))
    return app


def build_processing(settings: Settings) -> tuple[Platform, content.Content]:
    """The platform and the content services without an app, for `liveshop process` and
    benchmarks: the same wiring as `create_app` for the features processing needs."""
    platform = platform_core.build_platform(settings)
    users = accounts.build(platform)
    products = catalog.build(platform)
    shows_ = shows.build(platform, users, products)
    return platform, content.build(platform, users, products, shows_)
