"""Wiring of the catalog feature: products, their images and the uploaded-media store."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from live_server.catalog import routes
from live_server.catalog.keys import CATALOG
from live_server.catalog.service import CatalogService, MediaStore
from live_server.catalog.store import ProductRepository
from live_server.platform.core import Platform


@dataclass(frozen=True)
class Catalog:
    """What the catalog feature offers the features built on it."""

    service: CatalogService
    products: ProductRepository
    media: MediaStore


def build(platform: Platform) -> Catalog:
    """The catalog services (no routes): for the app and for command-line tools."""
    s = platform.settings
    products = ProductRepository(platform.db)
    media = MediaStore(s.media_dir)
    service = CatalogService(
        products,
        media,
        s.max_upload_bytes,
        max_pixels=s.max_image_pixels,
        max_side=s.max_image_side,
    )
    return Catalog(service=service, products=products, media=media)


def setup(app: web.Application, platform: Platform) -> Catalog:
    """Builds the catalog and serves its routes."""
    catalog = build(platform)
    app[CATALOG] = catalog.service
    routes.setup(app)
    return catalog
