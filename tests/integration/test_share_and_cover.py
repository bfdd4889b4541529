"""A show's cover image and the share previews (Open Graph tags) of its pages."""

from __future__ import annotations

import html
import io
import re
from typing import Any

from PIL import Image

from support.helpers import auth


def png_bytes(size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (30, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def og(page: str) -> dict[str, str]:
    found = re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)" />', page)
    return {name: html.unescape(value) for name, value in found}


async def _show(client: Any, token: str, **extra: Any) -> dict[str, Any]:
    body = {"title": 'Knits & "cosy" <b>drop</b>', "description": "Wool, linen.", **extra}
    resp = await client.post("/api/sessions", json=body, headers=auth(token))
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_host_uploads_a_cover(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    _, other = await make_user("host")
    show = await _show(client, host)
    url = f"/api/sessions/{show['id']}/cover"
    png = {"Content-Type": "image/png"}
    assert (await client.post(url, data=png_bytes(), headers=png)).status == 401
    assert (await client.post(url, data=png_bytes(), headers={**auth(other), **png})).status == 403
    wrong = await client.post(url, data=b"not an image", headers={**auth(host), **png})
    assert wrong.status == 415
    resp = await client.post(url, data=png_bytes(), headers={**auth(host), **png})
    assert resp.status == 201, await resp.text()
    cover = (await resp.json())["cover_url"]
    assert cover.startswith("/media/covers/") and cover.endswith(".png")
    image = await client.get(cover)
    assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")
    listed = await (await client.get(f"/api/sessions/{show['id']}")).json()
    assert listed["cover_url"] == cover
    gone = await client.delete(url, headers=auth(host))
    assert gone.status == 200 and (await gone.json())["cover_url"] is None


async def test_share_pages_carry_open_graph_tags(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    show = await _show(client, host)
    await client.post(
        f"/api/sessions/{show['id']}/cover",
        data=png_bytes(),
        headers={**auth(host), "Content-Type": "image/png"},
    )
    cover = (await (await client.get(f"/api/sessions/{show['id']}")).json())["cover_url"]
    resp = await client.get(f"/session.html?id={show['id']}")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "<b>drop</b>" not in page  # the title is text, never markup
    tags = og(page)
    assert tags["og:title"] == show["title"]
    assert (
        tags["og:description"].startswith("Live with ") and "Wool, linen." in tags["og:description"]
    )
    assert tags["og:image"].startswith("http") and tags["og:image"].endswith(cover)
    assert tags["og:url"].endswith(f"/session.html?id={show['id']}")
    assert '<script type="module" src="/js/pages/session.js">' in page  # the page itself
    replay = og(await (await client.get(f"/replay.html?id={show['id']}")).text())
    assert replay["og:title"] == "Replay: " + show["title"]
    # no cover: the first product's picture
    product = await (
        await client.post(
            "/api/products",
            json={"title": "Scarf", "price_minor": 900, "category": "fashion", "stock": 2},
            headers=auth(host),
        )
    ).json()
    pic = await client.post(
        f"/api/products/{product['id']}/images",
        data=png_bytes(),
        headers={**auth(host), "Content-Type": "image/png"},
    )
    image = (await pic.json())["images"][0]
    bare = await _show(client, host, product_ids=[product["id"]])
    tags = og(await (await client.get(f"/session.html?id={bare['id']}")).text())
    assert tags["og:image"].endswith(image)


async def test_no_preview_for_private_missing_or_idless_pages(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    private = await _show(client, host, title="Secret sample sale", visibility="private")
    for path in (
        f"/session.html?id={private['id']}",
        f"/replay.html?id={private['id']}",
        "/session.html?id=999999",
        "/session.html?id=abc",
        "/session.html",
        "/feed.html?clip=424242",
    ):
        resp = await client.get(path)
        assert resp.status == 200, path
        page = await resp.text()
        assert og(page) == {}, path
        assert "Secret sample sale" not in page


async def test_share_qr_code_for_those_who_may_see_the_show(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    public = await _show(client, host)
    private = await _show(client, host, visibility="private")
    resp = await client.get(f"/api/sessions/{public['id']}/qr.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    svg = await resp.text()
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert (await client.get(f"/api/sessions/{private['id']}/qr.svg")).status == 404
    own = await client.get(f"/api/sessions/{private['id']}/qr.svg", headers=auth(host))
    assert own.status == 200


async def test_post_page_carries_its_caption_and_photo(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    product = await (
        await client.post(
            "/api/products",
            json={"title": "Mug", "price_minor": 900, "category": "kitchen", "stock": 2},
            headers=auth(host),
        )
    ).json()
    media = await client.post(
        "/api/posts/media",
        data=png_bytes(64),
        headers={**auth(host), "Content-Type": "image/png"},
    )
    assert media.status == 201, await media.text()
    media_body = await media.json()
    post = await client.post(
        "/api/posts",
        json={"media_ids": [media_body["id"]], "product_ids": [product["id"]], "caption": "Mugs!"},
        headers=auth(host),
    )
    assert post.status == 201, await post.text()
    post_id = (await post.json())["id"]
    tags = og(await (await client.get(f"/feed.html?post={post_id}")).text())
    assert tags["og:title"] == "Mugs!"
    assert tags["og:image"].endswith(media_body["url"])
