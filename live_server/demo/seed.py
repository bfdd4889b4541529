"""Demo data for `liveshop serve --demo`: accounts, products with local SVG images, sessions.

Idempotent: running it again finds what it made before and adds nothing twice.
NOT for production: every demo account's password is `demo`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from xml.sax.saxutils import escape

from live_server.demo.services import DemoServices
from live_server.platform.identity import Principal, Role

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"
DEMO_USERS: tuple[tuple[str, Role, str, tuple[str, ...]], ...] = (
    ("admin", Role.ADMIN, "Admin", ("fashion", "beauty", "home", "kitchen", "tech")),
    ("demo-host", Role.HOST, "Maya Host", ("fashion", "beauty", "home", "kitchen", "tech")),
    ("demo-mod", Role.VIEWER, "Theo Moderator", ("tech", "pets", "fitness", "toys", "books")),
    (
        "demo-viewer",
        Role.VIEWER,
        "Ana Viewer",
        ("fashion", "beauty", "fitness", "outdoors", "books"),
    ),
)

# title, category, price in cents, stock, per-buyer limit
DEMO_PRODUCTS: tuple[tuple[str, str, int, int, int | None], ...] = (
    ("Linen Summer Shirt", "fashion", 3900, 40, None),
    ("Everyday Denim Jacket", "fashion", 7900, 25, 2),
    ("Silk Scarf, Sunset Print", "fashion", 2900, 60, None),
    ("Hydrating Glow Serum", "beauty", 2400, 80, 3),
    ("Matte Lipstick Trio", "beauty", 1900, 120, None),
    ("Ceramic Pour-Over Set", "kitchen", 4500, 30, None),
    ("Cast Iron Skillet 10in", "kitchen", 3500, 20, 1),
    ("Chef's Knife, 8 inch", "kitchen", 6900, 15, 1),
    ("Wool Throw Blanket", "home", 5900, 35, None),
    ("Scented Soy Candle", "home", 1600, 100, 5),
    ("Wireless Earbuds Pro", "tech", 8900, 50, 2),
    ("Magnetic Phone Stand", "tech", 2500, 75, None),
    ("Ring Light 12in", "tech", 3200, 40, None),
    ("Cozy Cat Bed", "pets", 2800, 45, None),
    ("Trail Running Vest", "outdoors", 6400, 18, None),
    ("Yoga Mat, Cork", "fitness", 4800, 30, None),
    ("Adjustable Dumbbells", "fitness", 14900, 10, 1),
    ("Wooden Building Blocks", "toys", 3400, 50, None),
    ("Hardcover Sketchbook", "books", 1800, 90, None),
    ("Bestseller Mystery Novel", "books", 1400, 70, None),
    ("Organic Cotton Tee", "fashion", 2400, 0, 2),
)

# The demo's product sold by size (its stock is per size; XL is sold out to show how that
# looks); it closes the fashion show's line-up.
SIZED_PRODUCT = "Organic Cotton Tee"
TEE_SIZES: tuple[tuple[str, int], ...] = (("S", 8), ("M", 12), ("L", 10), ("XL", 0))

_PALETTES = (
    ("#ff5f6d", "#ffc371"),
    ("#36d1dc", "#5b86e5"),
    ("#a18cd1", "#fbc2eb"),
    ("#43e97b", "#38f9d7"),
    ("#fa709a", "#fee140"),
    ("#30cfd0", "#330867"),
    ("#f6d365", "#fda085"),
    ("#667eea", "#764ba2"),
)


def product_svg(title: str, category: str) -> str:
    """A square product picture: a gradient, an initial badge, the title."""
    digest = hashlib.sha1(title.encode()).digest()
    start, end = _PALETTES[digest[0] % len(_PALETTES)]
    initials = "".join(w[0] for w in title.split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" '
        f'stop-color="{start}"/><stop offset="1" stop-color="{end}"/></linearGradient></defs>'
        '<rect width="600" height="600" rx="48" fill="url(#g)"/>'
        '<circle cx="300" cy="250" r="130" fill="rgba(255,255,255,0.25)"/>'
        '<text x="300" y="292" font-family="Helvetica, Arial, sans-serif" font-size="120" '
        f'font-weight="700" fill="#fff" text-anchor="middle">{escape(initials)}</text>'
        '<text x="300" y="470" font-family="Helvetica, Arial, sans-serif" font-size="34" '
        f'fill="#fff" text-anchor="middle">{escape(title)}</text>'
        '<text x="300" y="520" font-family="Helvetica, Arial, sans-serif" font-size="24" '
        f'fill="rgba(255,255,255,0.8)" text-anchor="middle">{escape(category.upper())}</text>'
        "</svg>"
    )


async def _write_image(media_dir: Path, title: str, category: str) -> str:
    slug = hashlib.sha1(title.encode()).hexdigest()[:12]
    path = media_dir / "demo" / f"product-{slug}.svg"

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(product_svg(title, category), encoding="utf-8")

    await asyncio.to_thread(write)
    return f"/media/demo/{path.name}"


async def seed_demo(svc: DemoServices) -> None:
    """Creates the demo accounts, catalog and sessions unless they exist."""
    users = {}
    for username, role, display, interests in DEMO_USERS:
        users[username] = await svc.accounts.ensure_user(
            username, DEMO_PASSWORD, role, display, interests
        )
    host = users["demo-host"]
    host_principal = Principal(host.id, host.username, host.role)
    existing = {
        p.title: p
        for p in await svc.catalog.search(owner_id=host.id, category=None, limit=500, offset=0)
    }
    product_ids = []
    for title, category, price, stock, limit in DEMO_PRODUCTS:
        product = existing.get(title)
        if product is None:
            image = await _write_image(svc.settings.media_dir, title, category)
            product = await svc.catalog.create(
                host_principal,
                {
                    "title": title,
                    "description": f"{title}: a demo product in {category}.",
                    "price_minor": price,
                    "currency": "USD",
                    "category": category,
                    "stock": stock,
                    "per_buyer_limit": limit,
                },
            )
            await svc.db.execute(
                "UPDATE products SET images = json_array(?) WHERE id = ?", (image, product.id)
            )
        if title == SIZED_PRODUCT and not product.variants:
            for size, units in TEE_SIZES:
                await svc.catalog.add_variant(
                    host_principal,
                    product.id,
                    {"options": {"Size": size}, "stock": units, "sku": f"TEE-{size}"},
                )
        product_ids.append(product.id)
    tee = product_ids[-1]

    repo = svc.sessions
    mine = {v.session.title for v in await repo.mine(host_principal)}
    if "Fall Fashion Live: Layers & Linen" not in mine:
        await repo.schedule(
            host_principal,
            {
                "title": "Fall Fashion Live: Layers & Linen",
                "description": "Maya shows this season's layering pieces. Drops every 10 minutes!",
                "starts_at": time.time(),
                "product_ids": [*product_ids[:6], tee],
                "moderators": ["demo-mod"],
            },
        )
    if "Kitchen Gadgets Showdown" not in mine:
        await repo.schedule(
            host_principal,
            {
                "title": "Kitchen Gadgets Showdown",
                "description": "Tomorrow: the tools that earn their drawer space.",
                "starts_at": time.time() + 24 * 3600,
                "product_ids": product_ids[5:10],
                "moderators": ["demo-mod"],
            },
        )
    from live_server.demo.content import seed_demo_content

    await seed_demo_content(svc, host_principal)
    logger.warning(
        "demo data ready: accounts admin, demo-host, demo-mod, demo-viewer (password 'demo'). "
        "--demo is NOT for production"
    )
