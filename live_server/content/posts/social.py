"""Smiles, comments and follows on clips and posts; counters feed the ranking."""

from __future__ import annotations

import logging

from live_server.accounts.store import UserRepository
from live_server.content.access import ContentAccess
from live_server.content.clips.store import ClipRepository
from live_server.content.feed.service import FeedService
from live_server.content.posts.rules import Comment, TargetKind, clean_comment
from live_server.content.posts.store import PostRepository
from live_server.platform.errors import Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)


class SocialService:
    """Viewer interactions with clips, posts and creators."""

    def __init__(
        self,
        posts: PostRepository,
        clips: ClipRepository,
        users: UserRepository,
        feed: FeedService,
        access: ContentAccess,
    ) -> None:
        self._access = access
        self._posts = posts
        self._clips = clips
        self._users = users
        self._feed = feed

    async def _owner(self, kind: TargetKind, target_id: int, who: Principal | None) -> int:
        """The creator of a clip or post (404 when it does not exist, or when it is a clip of
        a private show `who` may not see)."""
        if kind is TargetKind.CLIP:
            return (await self._access.clip(who, target_id)).host_id
        else:
            post = await self._posts.get(target_id)
            if post is not None:
                return post.author_id
        raise NotFound(f"no such {kind.value}", code=f"{kind.value}_not_found")

    async def smile(self, who: Principal, kind: TargetKind, target_id: int, on: bool) -> int:
        """Smile (or take it back); returns the new count."""
        await self._owner(kind, target_id, who)
        count, changed = await self._posts.set_smile(kind, target_id, who.user_id, on)
        if changed:  # decided by the smiles table's key: 20 racing smiles move it once
            await self._feed.counted(kind, target_id, "likes", 1 if on else -1)
        return count

    async def comment(
        self, who: Principal, kind: TargetKind, target_id: int, text: object
    ) -> Comment:
        """Add a comment."""
        await self._owner(kind, target_id, who)
        comment = await self._posts.add_comment(kind, target_id, who.user_id, clean_comment(text))
        await self._feed.counted(kind, target_id, "comments", 1)
        return comment

    async def comments(
        self,
        who: Principal | None,
        kind: TargetKind,
        target_id: int,
        limit: int,
        before_id: int | None,
    ) -> list[Comment]:
        """Newest first."""
        await self._owner(kind, target_id, who)
        return await self._posts.comments(kind, target_id, limit, before_id)

    async def delete_comment(self, who: Principal, comment_id: int) -> None:
        """The comment's author, the clip/post's creator or an admin may delete it."""
        comment = await self._posts.comment(comment_id)
        if comment is None:
            raise NotFound("no such comment", code="comment_not_found")
        owner = await self._owner(comment.target_kind, comment.target_id, who)
        if who.user_id not in (comment.user_id, owner) and not who.is_admin:
            raise Forbidden("you cannot delete this comment", code="not_allowed")
        await self._posts.delete_comment(comment_id)
        await self._feed.counted(comment.target_kind, comment.target_id, "comments", -1)

    async def follow(self, who: Principal, user_id: int, on: bool) -> int:
        """Follow (or unfollow) a creator or brand; returns their follower count."""
        if user_id == who.user_id:
            raise Invalid("you cannot follow yourself", code="self_follow")
        if await self._users.get(user_id) is None:
            raise NotFound("no such user", code="user_not_found")
        return await self._posts.set_follow(who.user_id, user_id, on)

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        """True when `follower_id` follows `followee_id`."""
        return followee_id in await self._posts.following(follower_id, [followee_id])

    async def followers(self, user_id: int) -> int:
        """Follower count of a user."""
        return await self._posts.follower_count(user_id)

    async def display_names(self, user_ids: list[int]) -> dict[int, str]:
        """Display names of comment authors."""
        users = await self._users.by_ids(sorted(set(user_ids)))
        return {uid: u.display_name for uid, u in users.items()}
