"""Posts (Spark-style): validated uploads, publishing with product tags, reading, deleting."""

from __future__ import annotations

import logging
import os
import secrets

from live_server.catalog.store import ProductRepository
from live_server.content.feed.service import FeedService
from live_server.content.posts.rules import (
    IMAGE_FORMATS,
    MAX_MEDIA_PER_POST,
    MAX_PRODUCTS_PER_POST,
    MAX_VIDEO_SECONDS,
    MediaKind,
    Post,
    PostMedia,
    TargetKind,
    UploadRule,
    check_size,
    clean_caption,
    id_list,
    upload_rule,
)
from live_server.content.posts.store import PostRepository
from live_server.content.processing.service import MediaUrls
from live_server.platform.errors import Forbidden, Invalid, NotFound
from live_server.platform.http import Upload
from live_server.platform.identity import Principal
from recordings.probe import MediaError, inspect_video
from recordings.thumbnails import ImageTooLarge, inspect_image, make_poster
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
        *,
        max_pixels: int,
        max_side: int,
    ) -> None:
        self._posts = posts
        self._products = products
        self._feed = feed
        self._worker = worker
        self._urls = urls
        self._max_pixels = max_pixels
        self._max_side = max_side

    def upload_rule(self, who: Principal, content_type: str | None) -> UploadRule:
        """What is judged before an upload's body is read (it may be 100 MB): 403 unless the
        user publishes posts, 415 unless the declared type is accepted; the rule's size cap
        then bounds the read."""
        if not who.can_host:
            raise Forbidden("only hosts and creators publish posts", code="hosts_only")
        return upload_rule(content_type)

    async def upload(self, who: Principal, rule: UploadRule, upload: Upload) -> PostMedia:
        """Validate an uploaded photo or video streamed to a temporary file, and keep it
        (422 empty, too many pixels or undecodable; see `upload_rule` for the rest)."""
        check_size(upload.size, rule)
        mime = rule.mime
        folder = self._urls.root / "posts" / str(who.user_id)
        name = secrets.token_hex(10)
        final = folder / f"{name}{rule.suffix}"
        poster = folder / f"{name}.jpg"
        max_pixels, max_side = self._max_pixels, self._max_side

        def accept() -> tuple[int, int, float | None, bool]:
            # Checked where it was streamed to (outside the served media dir), then moved in.
            try:
                if rule.kind is MediaKind.IMAGE:
                    img = inspect_image(upload.path, max_pixels, max_side)
                    if img.format != IMAGE_FORMATS[mime]:
                        raise MediaError(f"the file is {img.format or 'unknown'}, not {mime}")
                    folder.mkdir(parents=True, exist_ok=True)
                    os.replace(upload.path, final)
                    return img.width, img.height, None, False
                info = inspect_video(upload.path, MAX_VIDEO_SECONDS)
                folder.mkdir(parents=True, exist_ok=True)
                os.replace(upload.path, final)
                make_poster(final, poster, min(1.0, info.duration_s / 2))
                return info.width, info.height, info.duration_s, True
            except BaseException:
                final.unlink(missing_ok=True)
                raise

        try:
            width, height, duration, has_poster = await self._worker.call(accept)
        except ImageTooLarge as exc:
            raise Invalid(str(exc), code="image_too_large") from None
        except MediaError as exc:
            raise Invalid(str(exc), code="undecodable_media") from exc
        media = await self._posts.add_media(
            who.user_id, rule.kind, mime, self._urls.url(final),
            self._urls.url(poster) if has_poster else None, width, height, duration, upload.size,
        )  # fmt: skip
        logger.info(
            "user %d uploaded %s media %d (%d bytes)",
            who.user_id,
            rule.kind.value,
            media.id,
            upload.size,
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
            raise NotFound("We couldn't find that post.", code="post_not_found")
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
