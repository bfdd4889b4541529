"""Catalog use cases: products with owner checks, and product image uploads."""

from __future__ import annotations

import asyncio
import logging
import os
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
from live_server.catalog.store import ProductRepository, VariantExists
from live_server.catalog.variants import (
    MAX_VARIANTS,
    parse_option_values,
    parse_sku,
    same_values,
)
from live_server.platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unsupported,
)
from live_server.platform.http import Upload
from live_server.platform.identity import Principal
from recordings.probe import MediaError
from recordings.thumbnails import ImageTooLarge, inspect_image

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

    async def keep(self, folder: str, ext: str, source: Path) -> str:
        """Moves a finished upload (a file on the same file system) in under a random name;
        returns the public URL."""
        name = f"{secrets.token_hex(12)}.{ext}"
        target = self.root / folder / name

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)

        await asyncio.to_thread(move)
        return f"{self.url_prefix}/{folder}/{name}"

    def path_for(self, url: str) -> Path | None:
        """The file behind a /media URL, or None if it points elsewhere."""
        if not url.startswith(self.url_prefix + "/"):
            return None
        rel = url[len(self.url_prefix) + 1 :]
        path = (self.root / rel).resolve()
        return path if path.is_relative_to(self.root.resolve()) else None


def check_declared_type(declared: str | None) -> None:
    """415 unless the declared Content-Type may be an image (judged before the body is read;
    `application/octet-stream` or none leaves it to the bytes)."""
    ctype = (declared or "").split(";")[0].strip().lower()
    if ctype and ctype not in IMAGE_TYPES and ctype != "application/octet-stream":
        raise Unsupported("upload a PNG, JPEG, WebP or GIF image (" + ", ".join(IMAGE_TYPES) + ")")


def check_image(head: bytes, size: int, declared: str | None, max_bytes: int) -> str:
    """Returns the file extension for a valid upload, else raises 413 or 415."""
    if size > max_bytes:
        raise TooLarge(f"images may be at most {max_bytes // (1024 * 1024)} MiB")
    sniffed = sniff_image_type(head[:16])
    if sniffed is None:
        raise Unsupported("upload a PNG, JPEG, WebP or GIF image (" + ", ".join(IMAGE_TYPES) + ")")
    if declared and declared.split(";")[0].strip() not in (sniffed, "application/octet-stream"):
        raise Unsupported(f"the file is {sniffed} but was sent as {declared}")
    return IMAGE_TYPES[sniffed]


class CatalogService:
    """Products owned by hosts (merchants); admins may manage any."""

    def __init__(
        self,
        products: ProductRepository,
        media: MediaStore,
        max_upload: int,
        *,
        max_pixels: int,
        max_side: int,
    ) -> None:
        self._products = products
        self._media = media
        self._max_upload = max_upload
        self._max_pixels = max_pixels
        self._max_side = max_side

    async def create(self, who: Principal, data: dict[str, Any]) -> Product:
        if not who.can_host:
            raise Forbidden("Only hosts can create products.", code="hosts_only")
        fields = validate_product_fields(data, partial=False)
        product = await self._products.create(who.user_id, fields)
        logger.info("product %d created by user %d", product.id, who.user_id)
        return product

    async def get(self, product_id: int) -> Product:
        product = await self._products.get(product_id)
        if product is None:
            raise NotFound("We couldn't find that product.", code="product_not_found")
        return product

    async def _owned(self, who: Principal, product_id: int) -> Product:
        product = await self.get(product_id)
        if product.owner_id != who.user_id and not who.is_admin:
            raise Forbidden("Only the product's seller can change it.", code="not_owner")
        return product

    async def update(self, who: Principal, product_id: int, data: dict[str, Any]) -> Product:
        product = await self._owned(who, product_id)
        fields = validate_product_fields(data, partial=True)
        if product.parent_id is not None:
            raise Invalid(
                "Change a size or colour under its product's variants.",
                code="is_variant",
            )
        if product.has_variants and "stock" in fields:
            raise Invalid(
                "This product's stock is counted per variant: set it on each one.",
                code="stock_per_variant",
                field="stock",
            )
        await self._products.update(product_id, fields)
        return await self.get(product_id)

    # -- variants (`catalog.variants`) -----------------------------------------------------
    async def _listing(self, who: Principal, product_id: int) -> Product:
        product = await self._owned(who, product_id)
        if product.parent_id is not None:
            raise Invalid("A variant cannot have variants of its own.", code="is_variant")
        return product

    async def _variant(self, who: Principal, product_id: int, variant_id: int) -> Product:
        listing = await self._listing(who, product_id)
        variant = next((v for v in listing.variants if v.id == variant_id), None)
        if variant is None:
            raise NotFound("This product has no such variant.", code="variant_not_found")
        return variant

    async def add_variant(self, who: Principal, product_id: int, data: dict[str, Any]) -> Product:
        """A new variant of a listing (its owner or an admin); returns the variant."""
        listing = await self._listing(who, product_id)
        names = [n for n, _ in listing.variants[0].option_values] if listing.variants else None
        values = parse_option_values(data.get("options") or {}, names)
        same = next((v for v in listing.variants if same_values(values, v.option_values)), None)
        shown = " / ".join(f"{n} {v}" for n, v in (same.option_values if same else values))
        exists = Conflict(
            f"This product already has {shown}.", code="variant_exists", field="options"
        )
        if same is not None:
            raise exists
        fields = self._variant_fields(listing, data)
        try:
            variant = await self._products.create_variant(listing, values, fields)
        except VariantExists:
            raise exists from None
        if variant is None:
            raise Conflict(
                f"A product has at most {MAX_VARIANTS} variants.", code="too_many_variants"
            )
        logger.info("product %d: variant %d added by user %d", product_id, variant.id, who.user_id)
        return variant

    async def update_variant(
        self, who: Principal, product_id: int, variant_id: int, data: dict[str, Any]
    ) -> Product:
        listing = await self._listing(who, product_id)
        await self._variant(who, product_id, variant_id)
        await self._products.update_variant(variant_id, self._variant_fields(listing, data))
        return await self.get(variant_id)

    async def delete_variant(self, who: Principal, product_id: int, variant_id: int) -> None:
        await self._variant(who, product_id, variant_id)
        await self._products.soft_delete(variant_id)

    @staticmethod
    def _variant_fields(listing: Product, data: dict[str, Any]) -> dict[str, Any]:
        """A variant's own fields from a request: price, stock, SKU, one of the listing's
        photos (by position, 1 first; null for none)."""
        fields = {
            k: v
            for k, v in validate_product_fields(
                {k: data[k] for k in ("price_minor", "stock") if k in data}, partial=True
            ).items()
            if k in data
        }
        if "sku" in data:
            fields["sku"] = parse_sku(data["sku"])
        if "image_position" in data:
            position = data["image_position"]
            if position is None:
                fields["images"] = []
            elif (
                isinstance(position, int)
                and not isinstance(position, bool)
                and 1 <= position <= len(listing.images)
            ):
                fields["images"] = [listing.images[position - 1]]
            else:
                raise Invalid(
                    "Choose one of the product's photos for this variant.",
                    code="invalid_image_position",
                    field="image_position",
                )
        return fields

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

    async def check_image_upload(
        self, who: Principal, product_id: int, content_type: str | None
    ) -> None:
        """What can be judged before an image's body is read: the product exists (404), the
        user owns it (403) and the declared type may be an image (415)."""
        await self._owned(who, product_id)
        check_declared_type(content_type)

    async def add_image(
        self, who: Principal, product_id: int, upload: Upload, content_type: str | None
    ) -> Product:
        """Keeps an uploaded image (streamed to a temporary file) as the product's next one:
        415 unless it is a PNG, JPEG, WebP or GIF, 422 when it has too many pixels or does
        not parse."""
        await self._owned(who, product_id)
        url = await self.keep_image(upload, content_type, "images")
        if not await self._products.add_image(product_id, url, MAX_IMAGES):
            raise Conflict(f"A product has at most {MAX_IMAGES} images.", code="too_many_images")
        return await self.get(product_id)

    async def remove_image(self, who: Principal, product_id: int, index: int) -> Product:
        """Takes one image off a product (its owner or an admin)."""
        await self._owned(who, product_id)
        if not await self._products.remove_image(product_id, index):
            raise NotFound("This product has no such image.", code="image_not_found")
        return await self.get(product_id)

    async def keep_image(self, upload: Upload, content_type: str | None, folder: str) -> str:
        """Checks an uploaded image (type by its bytes: 415; size: 413; pixels and whether it
        parses: 422) and keeps it under `folder` of the media store; returns its URL. Product
        images and show covers both come through here."""
        ext = check_image(upload.head, upload.size, content_type, self._max_upload)
        try:
            await asyncio.to_thread(
                inspect_image, upload.path, self._max_pixels, self._max_side, decode=False
            )
        except ImageTooLarge as exc:
            raise Invalid(str(exc), code="image_too_large") from None
        except MediaError as exc:
            raise Invalid(
                "That image looks damaged: try another file.", code="undecodable_image"
            ) from exc
        return await self._media.keep(folder, ext, upload.path)

    async def by_ids(self, ids: list[int]) -> dict[int, Product]:
        return await self._products.by_ids(ids)
