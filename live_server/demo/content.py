"""Demo content for `--demo`: a finished show with a replay and product clips, and posts.

The show's recording is generated locally with PyAV (vertical H.264/AAC, a few seconds of
CPU), stored as the media area would store it, with pins and chat at media times; the
normal processing job then cuts the replay and clips in the background. Two photo posts
are drawn with Pillow. Idempotent: nothing is added twice. NOT for production.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from live_server.content.clips.store import table_exists
from live_server.content.posts.rules import MediaKind
from live_server.content.posts.store import PostRepository
from live_server.demo.auction import PRODUCT as AUCTIONED
from live_server.demo.auction import seed_demo_auction
from live_server.demo.services import DemoServices
from live_server.platform.identity import Principal
from recordings.synthetic import SyntheticSpec, generate_recording

logger = logging.getLogger(__name__)

DEMO_SHOW = "Spring Beauty & Home Haul (replay)"
SHOW_SECONDS = 60.0
# (product title, media time of the pin)
PINS = (("Hydrating Glow Serum", 3.0), ("Linen Summer Shirt", 10.0), ("Scented Soy Candle", 40.0))
CHAT = (
    (1.0, "demo-viewer", "Hi Maya! Just joined"),
    (4.5, "demo-mod", "Serum is pinned, tap the card to buy"),
    (9.0, "demo-viewer", "Does it work for dry skin?"),
    (11.0, "demo-viewer", "That shirt is gorgeous"),
    (20.0, "demo-mod", "Free shipping on everything today"),
    (41.0, "demo-viewer", "Ordered the candle!"),
    (50.0, "demo-host", "Thanks for watching, see you next week!"),
)
POSTS = (
    ("Morning routine: serum first, then the good coffee.", ("Hydrating Glow Serum",), "#fa709a"),
    (
        "Cosy corner upgrade: throw + candle = instant calm.",
        ("Wool Throw Blanket", "Scented Soy Candle"),
        "#667eea",
    ),
)


def _draw_post_image(path: Path, color: str) -> tuple[int, int]:
    """A soft gradient with a ring: no words in the picture, the caption is shown over it."""
    from PIL import Image, ImageDraw

    width, height = 720, 960
    top = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):  # a soft vertical gradient from the colour to near black
        k = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(c * (1 - 0.75 * k)) for c in top))
    draw.ellipse([180, 200, 540, 560], fill=(255, 255, 255))
    draw.ellipse([230, 250, 490, 510], fill=top)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG", quality=85)
    return width, height


async def seed_demo_content(svc: DemoServices, host: Principal) -> None:
    """Add the demo show (queued for processing) and the demo posts, once."""
    products = {
        p.title: p.id
        for p in await svc.catalog.search(owner_id=host.user_id, category=None, limit=500, offset=0)
    }
    await _seed_show(svc, host, products)
    await _seed_posts(svc, host, products)


async def _seed_show(svc: DemoServices, host: Principal, products: dict[str, int]) -> None:
    db = svc.db
    if await db.fetchval(
        "SELECT id FROM live_sessions WHERE host_id = ? AND title = ?", (host.user_id, DEMO_SHOW)
    ):
        return
    if not await table_exists(db, "recordings") or not await table_exists(db, "pins"):
        return
    pinned = [(products[t], at) for t, at in PINS if t in products]
    path = svc.settings.media_dir / "recordings" / "demo-show.mp4"
    spec = SyntheticSpec(
        duration_s=SHOW_SECONDS, width=288, height=512, fps=24, gop=48, flavour="h264", hue=40
    )
    started = time.monotonic()
    await asyncio.to_thread(generate_recording, path, spec)
    now = time.time()
    view = await svc.sessions.schedule(
        host,
        {
            "title": DEMO_SHOW,
            "description": "Maya's favourite beauty and home finds. Watch the replay!",
            "starts_at": now - 3600,
            "product_ids": [pid for pid, _ in pinned],
            "moderators": ["demo-mod"],
        },
    )
    session_id = view.session.id
    await db.execute(
        "UPDATE live_sessions SET state = 'ended', went_live_at = ?, ended_at = ? WHERE id = ?",
        (now - 3600, now - 3600 + SHOW_SECONDS, session_id),
    )
    size = (await asyncio.to_thread(path.stat)).st_size
    cur = await db.execute(
        "INSERT INTO recordings(session_id, path, container, video_codec, audio_codec,"
        " duration_s, size_bytes, started_at, ended_at, status)"
        " VALUES (?, ?, 'mp4', 'h264', 'aac', ?, ?, ?, ?, 'finished')",
        (session_id, str(path), SHOW_SECONDS, size, now - 3600, now - 3600 + SHOW_SECONDS),
    )
    recording_id = int(cur.lastrowid or 0)
    for product_id, at in pinned:
        await db.execute(
            "INSERT INTO pins(session_id, product_id, pinned_by, pinned_media_time,"
            " unpinned_media_time, created_at, unpinned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, product_id, host.user_id, at, min(SHOW_SECONDS, at + 8), now, now),
        )
    if AUCTIONED in products and await table_exists(db, "auctions"):
        await seed_demo_auction(db, session_id, host.user_id, products[AUCTIONED], now - 3600)
    if await table_exists(db, "chat_messages"):
        for at, username, text in CHAT:
            user_id = await db.fetchval("SELECT id FROM users WHERE username = ?", (username,))
            if user_id is not None:
                await db.execute(
                    "INSERT INTO chat_messages(session_id, user_id, text, created_at, media_time)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (session_id, user_id, text, now - 3600 + at, at),
                )
    from live_server.platform.events import RecordingFinished

    await svc.processing.on_recording_finished(RecordingFinished(session_id, recording_id))
    logger.info(
        "demo show %d queued for processing (recording made in %.1fs)",
        session_id,
        time.monotonic() - started,
    )


async def _seed_posts(svc: DemoServices, host: Principal, products: dict[str, int]) -> None:
    db = svc.db
    if await db.fetchval("SELECT 1 FROM posts WHERE author_id = ? LIMIT 1", (host.user_id,)):
        return
    assert svc.feed is not None
    repo = PostRepository(db)
    folder = svc.settings.media_dir / "posts" / "demo"
    for i, (caption, titles, color) in enumerate(POSTS):
        image = folder / f"demo-post-{i + 1}.jpg"
        width, height = await asyncio.to_thread(_draw_post_image, image, color)
        size = (await asyncio.to_thread(image.stat)).st_size
        media = await repo.add_media(
            host.user_id, MediaKind.IMAGE, "image/jpeg",
            f"/media/posts/demo/{image.name}", None, width, height, None, size,
        )  # fmt: skip
        ids = [products[t] for t in titles if t in products]
        post_id = await repo.create_post(host.user_id, caption, [media.id], ids, False)
        post = await repo.get(post_id or 0)
        if post is not None:
            await svc.feed.add_post(post)
    logger.info("demo posts ready: %s", json.dumps([p[0][:20] for p in POSTS]))
