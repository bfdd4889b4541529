"""Posts (Spark-style): validated uploads, publishing with product tags, reading, deleting."""

from __future__ import annotations

import logging
import secrets

from live_server.catalog.store import ProductRepository
from live_server.content.feed.service import FeedService
from live_server.content.posts.rules import (
    IMAGE_FORMATS,
    MAX_IMAGE_PIXELS,
    MAX_MEDIA_PER_POST,
    MAX_PRODUCTS_PER_POST,
    MAX_VIDEO_SECONDS,
    MediaKind,
    Post,
    PostMedia,
    TargetKind,
    check_size,
    clean_caption,
    id_list,
    upload_rule,
)
from live_server.content.posts.store import PostRepository
from live_server.content.processing.service import MediaUrls
from live_server.platform.errors import Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from recordings.probe import MediaError, inspect_video
from recordings.thumbnails import inspect_image, make_poster
from recordings.worker import MediaWorker

logger = logging.getLogger(__name__)


class PostService:
    """Hosts publish posts; uploads are checked by decoding them before they are kept."""

    def __init__(
        self,
        posts: PostRepository,
        products: ProductRepository,
        feed: FeedService,
        worker: MediaWorker,
        urls: MediaUrls,
    ) -> None:
        self._posts = posts
        self._products = products
        self._feed = feed
        self._worker = worker
        self._urls = urls

    async def upload(self, who: Principal, data: bytes, content_type: str | None) -> PostMedia:
        """Validate an uploaded photo or video (415 type, 413 size, 422 undecodable)."""
        if not who.can_host:
            raise Forbidden("only hosts and creators publish posts", code="hosts_only")
        rule = upload_rule(content_type)
        check_size(len(data), rule)
        mime = (content_type or "").split(";")[0].strip().lower()
        folder = self._urls.root / "posts" / str(who.user_id)
        name = secrets.token_hex(10)
        final = folder / f"{name}{rule.suffix}"
        poster = folder / f"{name}.jpg"

        def accept() -> tuple[int, int, float | None, bool]:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{name}.part"
            tmp.write_bytes(data)
            try:
                if rule.kind is MediaKind.IMAGE:
                    img = inspect_image(tmp, MAX_IMAGE_PIXELS)
                    if img.format != IMAGE_FORMATS[mime]:
                        raise MediaError(f"the file is {img.format or 'unknown'}, not {mime}")
                    tmp.replace(final)
                    return img.width, img.height, None, False
                info = inspect_video(tmp, MAX_VIDEO_SECONDS)
                tmp.replace(final)
                make_poster(final, poster, min(1.0, info.duration_s / 2))
                return info.width, info.height, info.duration_s, True
            except BaseException:
                tmp.unlink(missing_ok=True)
                final.unlink(missing_ok=True)
                raise

        try:
            width, height, duration, has_poster = await self._worker.call(accept)
        except MediaError as exc:
            raise Invalid(str(exc), code="undecodable_media") from exc
        media = await self._posts.add_media(
            who.user_id, rule.kind, mime, self._urls.url(final),
            self._urls.url(poster) if has_poster else None, width, height, duration, len(data),
        )  # fmt: skip
        logger.info(
            "user %d uploaded %s media %d (%d bytes)",
            who.user_id,
            rule.kind.value,
            media.id,
            len(data),
        )
        return media

    async def create(self, who: Principal, data: dict[str, object]) -> Post:
        """Publish ``{caption, media_ids, product_ids, sponsored}``."""
        if not who.can_host:
            raise Forbidden("only hosts and creators publish posts", code="hosts_only")
        caption = clean_caption(data.get("caption"))
        media_ids = id_list(
            data.get("media_ids"), "media_ids", minimum=1, maximum=MAX_MEDIA_PER_POST
        )
        product_ids = id_list(
            data.get("product_ids"), "product_ids", minimum=1, maximum=MAX_PRODUCTS_PER_POST
        )
        sponsored = data.get("sponsored", False)
        if not isinstance(sponsored, bool):
            raise Invalid("sponsored must be true or false", code="invalid_sponsored")
        products = await self._products.by_ids(product_ids)
        if len(products) != len(product_ids):
            raise Invalid("some tagged products do not exist", code="invalid_product_ids")
        post_id = await self._posts.create_post(
            who.user_id, caption, media_ids, product_ids, sponsored
        )
        if post_id is None:
            raise Invalid("media must be your own, unpublished uploads", code="invalid_media_ids")
        post = await self.get(post_id)
        await self._feed.add_post(post)
        logger.info("user %d published post %d", who.user_id, post_id)
        return post

    async def get(self, post_id: int) -> Post:
        """One post."""
        post = await self._posts.get(post_id)
        if post is None:
            raise NotFound("no such post", code="post_not_found")
        return post

    async def by_author(self, author_id: int) -> list[Post]:
        """An author's latest posts."""
        return await self._posts.by_author(author_id)

    async def delete(self, who: Principal, post_id: int) -> None:
        """Authors and admins delete posts (they leave the feed at once)."""
        post = await self.get(post_id)
        if post.author_id != who.user_id and not who.is_admin:
            raise Forbidden("only the author or an admin can delete this post", code="not_owner")
        await self._posts.delete_post(post_id)
        await self._feed.remove(TargetKind.POST, [post_id])
