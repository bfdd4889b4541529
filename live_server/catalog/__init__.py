"""Catalog: products with owner checks, product images and the uploaded-media store.

Other features use what is re-exported here; the modules inside are this feature's own.
"""

from live_server.catalog.feature import Catalog, build, setup
from live_server.catalog.keys import CATALOG
from live_server.catalog.rules import Product
from live_server.catalog.serializers import product_json
from live_server.catalog.service import CatalogService, MediaStore, check_declared_type
from live_server.catalog.store import ProductRepository

__all__ = [
    "CATALOG",
    "Catalog",
    "CatalogService",
    "MediaStore",
    "Product",
    "ProductRepository",
    "build",
    "check_declared_type",
    "product_json",
    "setup",
]
