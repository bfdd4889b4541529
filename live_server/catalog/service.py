"""Catalog use cases: products with owner checks, and product image uploads."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from pathlib import Path
from typing import Any

from live_server.catalog.rules import (
    CATEGORIES,
    IMAGE_TYPES,
    MAX_IMAGES,
    Product,
    sniff_image_type,
    validate_product_fields,
)
from live_server.catalog.store import ProductRepository
from live_server.platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unsupported,
)
from live_server.platform.identity import Principal

logger = logging.getLogger(__name__)


class MediaStore:
    """Files under the media dir, served at /media/. Writes run in a thread."""

    def __init__(self, root: Path, url_prefix: str = "/media") -> None:
        self.root = root
        self.url_prefix = url_prefix

    async def save(self, folder: str, ext: str, data: bytes) -> str:
        """Stores bytes under a random name; returns the public URL."""
        name = f"{secrets.token_hex(12)}.{ext}"
        target = self.root / folder / name

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)

        await asyncio.to_thread(write)
        return f"{self.url_prefix}/{folder}/{name}"

    def path_for(self, url: str) -> Path | None:
        """The file behind a /media URL, or None if it points elsewhere."""
        if not url.startswith(self.url_prefix + "/"):
            return None
        rel = url[len(self.url_prefix) + 1 :]
        path = (self.root / rel).resolve()
        return path if path.is_relative_to(self.root.resolve()) else None


def check_image(data: bytes, declared: str | None, max_bytes: int) -> str:
    """Returns the file extension for a valid upload, else raises 413 or 415."""
    if len(data) > max_bytes:
        raise TooLarge(f"images may be at most {max_bytes // (1024 * 1024)} MiB")
    sniffed = sniff_image_type(data[:16])
    if sniffed is None:
        raise Unsupported("upload a PNG, JPEG, WebP or GIF image (" + ", ".join(IMAGE_TYPES) + ")")
    if declared and declared.split(";")[0].strip() not in (sniffed, "application/octet-stream"):
        raise Unsupported(f"the file is {sniffed} but was sent as {declared}")
    return IMAGE_TYPES[sniffed]


def check_decodable(data: bytes) -> None:
    """Raises 422 unless Pillow can parse the whole image (a valid header is not enough)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid("the image is damaged or truncated", code="undecodable_image") from exc


class CatalogService:
    """Products owned by hosts (merchants); admins may manage any."""

    def __init__(self, products: ProductRepository, media: MediaStore, max_upload: int) -> None:
        self._products = products
        self._media = media
        self._max_upload = max_upload

    async def create(self, who: Principal, data: dict[str, Any]) -> Product:
        if not who.can_host:
            raise Forbidden("only hosts can create products", code="hosts_only")
        fields = validate_product_fields(data, partial=False)
        product = await self._products.create(who.user_id, fields)
        logger.info("product %d created by user %d", product.id, who.user_id)
        return product

    async def get(self, product_id: int) -> Product:
        product = await self._products.get(product_id)
        if product is None:
            raise NotFound("no such product", code="product_not_found")
        return product

    async def _owned(self, who: Principal, product_id: int) -> Product:
        product = await self.get(product_id)
        if product.owner_id != who.user_id and not who.is_admin:
            raise Forbidden("you do not own this product", code="not_owner")
        return product

    async def update(self, who: Principal, product_id: int, data: dict[str, Any]) -> Product:
        await self._owned(who, product_id)
        await self._products.update(product_id, validate_product_fields(data, partial=True))
        return await self.get(product_id)

    async def delete(self, who: Principal, product_id: int) -> None:
        await self._owned(who, product_id)
        await self._products.soft_delete(product_id)

    async def search(
        self, *, owner_id: int | None, category: str | None, limit: int, offset: int
    ) -> list[Product]:
        if category is not None and category not in CATEGORIES:
            return []
        return await self._products.search(
            owner_id=owner_id, category=category, limit=limit, offset=offset
        )

    async def add_image(
        self, who: Principal, product_id: int, data: bytes, content_type: str | None
    ) -> Product:
        await self._owned(who, product_id)
        ext = check_image(data, content_type, self._max_upload)
        await asyncio.to_thread(check_decodable, data)
        url = await self._media.save("images", ext, data)
        if not await self._products.add_image(product_id, url, MAX_IMAGES):
            raise Conflict(f"a product has at most {MAX_IMAGES} images", code="too_many_images")
        return await self.get(product_id)

    async def by_ids(self, ids: list[int]) -> dict[int, Product]:
        return await self._products.by_ids(ids)
