"""The content feature's typed application keys."""

from __future__ import annotations

from aiohttp import web

from live_server.content.feed.service import FeedService
from live_server.content.posts.service import PostService
from live_server.content.posts.social import SocialService
from live_server.content.processing.service import ProcessingService
from live_server.content.reminders.service import ReminderService
from live_server.content.replays.service import ReplayService

FEED: web.AppKey[FeedService] = web.AppKey("feed", FeedService)
PROCESSING: web.AppKey[ProcessingService] = web.AppKey("processing", ProcessingService)
POSTS: web.AppKey[PostService] = web.AppKey("posts", PostService)
SOCIAL: web.AppKey[SocialService] = web.AppKey("social", SocialService)
REPLAYS: web.AppKey[ReplayService] = web.AppKey("replays", ReplayService)
REMINDERS: web.AppKey[ReminderService] = web.AppKey("reminders", ReminderService)
