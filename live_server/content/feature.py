"""Wiring of content: processing jobs, replays and clips, the feed, posts and social."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from live_server.accounts import Accounts
from live_server.catalog import Catalog
from live_server.content import posters as posters_routes
from live_server.content import share
from live_server.content.access import ContentAccess
from live_server.content.clips import routes as clips_routes
from live_server.content.clips.store import ClipRepository
from live_server.content.feed import routes as feed_routes
from live_server.content.feed.service import FeedService
from live_server.content.feed.store import FeedRepository
from live_server.content.keys import FEED, POSTS, PROCESSING, REMINDERS, REPLAYS, SOCIAL
from live_server.content.posters import LivePosters
from live_server.content.posts import routes as posts_routes
from live_server.content.posts.service import PostService
from live_server.content.posts.social import SocialService
from live_server.content.posts.store import PostRepository
from live_server.content.processing.service import MediaUrls, ProcessingService
from live_server.content.processing.store import JobRepository
from live_server.content.reminders import routes as reminders_routes
from live_server.content.reminders.service import ReminderService
from live_server.content.reminders.store import ReminderRepository
from live_server.content.replays import routes as replays_routes
from live_server.content.replays.service import ReplayService
from live_server.platform.core import Platform
from live_server.platform.events import SessionStateChanged
from live_server.shows import Shows
from recordings.worker import MediaWorker

#: Sends a real-time event to every socket of one user (the room provides it).
NotifyUser = Callable[[int, str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Content:
    """The content services, and the worker pools they run media work on."""

    processing: ProcessingService
    feed: FeedService
    posts: PostService
    social: SocialService
    replays: ReplayService
    #: Who may see a show's clips, replay and files (also the `/media/` authoriser).
    access: ContentAccess
    #: Live shows' newest pictures: a tap provider for the broadcast (the composition root).
    live_posters: LivePosters
    job_worker: MediaWorker
    upload_worker: MediaWorker
    cut_worker: MediaWorker

    def close_workers(self) -> None:
        """Stops the media worker threads."""
        self.job_worker.close()
        self.upload_worker.close()
        self.cut_worker.close()


def build(
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    notify: NotifyUser | None = None,
) -> Content:
    """The content services (no routes): for the app and for `liveshop process`."""
    db = platform.db
    clips = ClipRepository(db)
    posts = PostRepository(db)
    urls = MediaUrls(platform.settings.media_dir)
    access = ContentAccess(
        shows.service,
        clips,
        accounts.url_signer,
        platform.settings.media_dir,
        platform.settings.media_url_ttl_s,
    )
    # Long processing jobs, quick upload checks and moderators' hand cuts get separate pools:
    # a cut never waits behind a whole show's replay being made.
    job_worker, upload_worker = MediaWorker(threads=1), MediaWorker(threads=2)
    cut_worker = MediaWorker(threads=1)
    feed = FeedService(FeedRepository(db), clips, posts, catalog.products, accounts.users, access)
    processing = ProcessingService(
        JobRepository(db),
        clips,
        shows.service,
        feed,
        job_worker,
        urls,
        access,
        platform.events,
        notify,
        cut_worker=cut_worker,
    )
    return Content(
        processing=processing,
        feed=feed,
        posts=PostService(
            posts,
            catalog.products,
            feed,
            upload_worker,
            urls,
            max_pixels=platform.settings.max_image_pixels,
            max_side=platform.settings.max_image_side,
        ),
        social=SocialService(posts, clips, accounts.users, feed, access),
        replays=ReplayService(clips, shows.service, catalog.products, access),
        access=access,
        live_posters=LivePosters(upload_worker),
        job_worker=job_worker,
        upload_worker=upload_worker,
        cut_worker=cut_worker,
    )


def setup(
    app: web.Application,
    platform: Platform,
    accounts: Accounts,
    catalog: Catalog,
    shows: Shows,
    notify: NotifyUser,
) -> Content:
    """Builds content, serves its routes, and runs the processing loop and feed refresher."""
    content = build(platform, accounts, catalog, shows, notify)
    app[FEED] = content.feed
    app[PROCESSING] = content.processing
    app[POSTS] = content.posts
    app[SOCIAL] = content.social
    app[REPLAYS] = content.replays
    reminders = ReminderService(
        ReminderRepository(platform.db), shows.service, accounts.users, notify
    )
    app[REMINDERS] = reminders
    platform.events.subscribe(SessionStateChanged, reminders.on_state_changed)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        # Recovers interrupted jobs first, then processes and refreshes the feed.
        await content.processing.start()
        content.feed.start()
        yield
        await content.processing.stop()
        await content.feed.stop()
        content.close_workers()

    app.cleanup_ctx.append(lifetime)
    feed_routes.setup(app)
    clips_routes.setup(app)
    posts_routes.setup(app)
    replays_routes.setup(app)
    reminders_routes.setup(app)
    posters_routes.setup(app, content.live_posters, content.access, ClipRepository(platform.db))
    # Open Graph previews on the show, replay and clip pages (before the static pages' route)
    db = platform.db
    share.setup(
        app,
        content.access,
        ClipRepository(db),
        PostRepository(db),
        accounts.users,
        shows.service,
        catalog.products,
    )
    return content
