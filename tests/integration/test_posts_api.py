"""Posts (Spark-style) over the real app: validated uploads (415/413/422), carousel posts
with product tags in the feed, smiles, comments and follows."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.content import create_products, make_recording
from support.helpers import auth
from support.services import Services


def _image(fmt: str, size: tuple[int, int] = (64, 48), color: str = "orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def short_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = make_recording(tmp_path_factory.mktemp("v") / "clip.mp4", "h264", seconds=2.0)
    return path.read_bytes()


async def _upload(client: Any, token: str, data: bytes, ctype: str) -> Any:
    return await client.post(
        "/api/posts/media", data=data, headers={**auth(token), "Content-Type": ctype}
    )


async def test_bad_uploads_are_refused(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    _, viewer = await make_user()

    async def code(data: bytes, ctype: str, token: str = host) -> tuple[int, str]:
        resp = await _upload(client, token, data, ctype)
        return resp.status, (await resp.json())["error"]["code"]

    assert await code(_image("PNG"), "image/png", viewer) == (403, "hosts_only")
    assert await code(b"%PDF-1.4 hello", "application/pdf") == (415, "unsupported_media_type")
    assert await code(_image("PNG"), "text/html") == (415, "unsupported_media_type")
    too_big = b"\x89PNG" + b"\0" * (10 * 1024 * 1024)
    assert await code(too_big, "image/png") == (413, "payload_too_large")
    assert await code(b"", "image/png") == (422, "empty_upload")
    assert await code(b"this is not an image at all", "image/png") == (422, "undecodable_media")
    assert await code(_image("PNG"), "image/jpeg") == (422, "undecodable_media")  # type lie
    truncated = _image("JPEG", (400, 300))[:300]
    assert await code(truncated, "image/jpeg") == (422, "undecodable_media")
    assert await code(b"\x00\x00\x00\x18ftypmp42 garbage" * 50, "video/mp4") == (
        422,
        "undecodable_media",
    )
    anon = await client.post(
        "/api/posts/media", data=_image("PNG"), headers={"Content-Type": "image/png"}
    )
    assert anon.status == 401


async def test_publish_post_carousel_smiles_comments_follows(
    client: Any, services: Services, make_user: Any, short_mp4: bytes
) -> None:
    creator, host = await make_user("host")
    other_host_user, other_host = await make_user("host")
    viewer, vtoken = await make_user()
    fan, ftoken = await make_user()
    products = await create_products(client, host, ["beauty", "fashion"])

    photo = await _upload(client, host, _image("JPEG", (120, 90)), "image/jpeg")
    assert photo.status == 201, await photo.text()
    photo_json = await photo.json()
    assert photo_json["kind"] == "image" and (photo_json["width"], photo_json["height"]) == (
        120,
        90,
    )
    video = await _upload(client, host, short_mp4, "video/mp4")
    assert video.status == 201, await video.text()
    video_json = await video.json()
    assert video_json["kind"] == "video" and video_json["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert video_json["poster_url"].endswith(".jpg")
    stored = services.settings.media_dir / video_json["url"].removeprefix("/media/")
    assert await asyncio.to_thread(stored.read_bytes) == short_mp4
    webp = await _upload(client, host, _image("WEBP"), "image/webp")
    assert webp.status == 201

    # bad post bodies
    bad = {
        "no media": {"caption": "x", "media_ids": [], "product_ids": products},
        "no products": {"caption": "x", "media_ids": [photo_json["id"]], "product_ids": []},
        "ghost product": {"caption": "x", "media_ids": [photo_json["id"]], "product_ids": [99999]},
        "caption type": {"caption": 5, "media_ids": [photo_json["id"]], "product_ids": products},
        "ids as text": {"media_ids": ["1"], "product_ids": products},
    }
    for name, body in bad.items():
        resp = await client.post("/api/posts", json=body, headers=auth(host))
        assert resp.status == 422, name
    stolen = await client.post(
        "/api/posts",
        json={"caption": "mine now", "media_ids": [photo_json["id"]], "product_ids": products},
        headers=auth(other_host),
    )
    assert stolen.status == 422 and (await stolen.json())["error"]["code"] == "invalid_media_ids"

    caption = "<script>alert(1)</script> New drop!"
    resp = await client.post(
        "/api/posts",
        json={
            "caption": caption,
            "media_ids": [photo_json["id"], video_json["id"]],
            "product_ids": products,
        },
        headers=auth(host),
    )
    assert resp.status == 201, await resp.text()
    post = await resp.json()
    assert post["type"] == "post" and post["post"]["caption"] == caption
    assert [m["id"] for m in post["post"]["media"]] == [photo_json["id"], video_json["id"]]
    assert [p["id"] for p in post["products"]] == products
    again = await client.post(
        "/api/posts",
        json={"caption": "reuse", "media_ids": [photo_json["id"]], "product_ids": products},
        headers=auth(host),
    )
    assert again.status == 422  # media belongs to a published post already

    # smiles are idempotent and counted
    url = f"/api/posts/{post['id']}"
    for token in (vtoken, vtoken, ftoken):
        assert (await client.put(url + "/smile", headers=auth(token))).status == 200
    assert (await (await client.get(url, headers=auth(vtoken))).json())["counts"]["smiles"] == 2
    resp = await client.delete(url + "/smile", headers=auth(ftoken))
    assert (await resp.json()) == {"smiles": 1, "smiled": False}
    me = await (await client.get(url, headers=auth(vtoken))).json()
    assert me["smiled"] is True and me["counts"]["smiles"] == 1

    # comments: text kept as given, blank refused, deletion rules
    c1 = await client.post(url + "/comments", json={"text": "<b>love</b> it"}, headers=auth(vtoken))
    assert c1.status == 201
    c1_json = await c1.json()
    assert c1_json["text"] == "<b>love</b> it" and c1_json["user"]["id"] == viewer["id"]
    assert (
        await client.post(url + "/comments", json={"text": "   "}, headers=auth(vtoken))
    ).status == 422
    assert (
        await client.post(url + "/comments", json={"text": "x" * 501}, headers=auth(vtoken))
    ).status == 422
    assert (await client.post(url + "/comments", json={"text": "hi"})).status == 401
    c2 = await (
        await client.post(url + "/comments", json={"text": "second"}, headers=auth(ftoken))
    ).json()
    listed = (await (await client.get(url + "/comments")).json())["items"]
    assert [c["text"] for c in listed] == ["second", "<b>love</b> it"]
    assert (
        await client.delete(f"/api/comments/{c1_json['id']}", headers=auth(ftoken))
    ).status == 403
    assert (
        await client.delete(f"/api/comments/{c2['id']}", headers=auth(host))
    ).status == 204  # creator moderates
    assert (
        await client.delete(f"/api/comments/{c1_json['id']}", headers=auth(vtoken))
    ).status == 204
    assert (await (await client.get(url)).json())["counts"]["comments"] == 0

    # follows
    assert (
        await client.put(f"/api/users/{viewer['id']}/follow", headers=auth(vtoken))
    ).status == 422
    assert (await client.put("/api/users/999999/follow", headers=auth(vtoken))).status == 404
    resp = await client.put(f"/api/users/{creator['id']}/follow", headers=auth(vtoken))
    assert (await resp.json()) == {"followers": 1, "following": True}
    feed = (await (await client.get("/api/feed?limit=50", headers=auth(vtoken))).json())["items"]
    mine = [i for i in feed if i["type"] == "post" and i["id"] == post["id"]]
    assert mine and mine[0]["following"] is True and mine[0]["creator"]["id"] == creator["id"]
    listed_posts = (await (await client.get(f"/api/users/{creator['id']}/posts")).json())["items"]
    assert [p["id"] for p in listed_posts] == [post["id"]]

    # deleting removes it from the feed
    assert (await client.delete(url, headers=auth(other_host))).status == 403
    assert (await client.delete(url, headers=auth(host))).status == 204
    assert (await client.get(url)).status == 404
    feed = (await (await client.get("/api/feed?limit=50", headers=auth(vtoken))).json())["items"]
    assert all(i["id"] != post["id"] for i in feed if i["type"] == "post")
    assert (await client.put(url + "/smile", headers=auth(vtoken))).status == 404
    del other_host_user, fan


async def test_upload_file_is_not_kept_when_refused(
    client: Any, services: Services, make_user: Any
) -> None:
    _, host = await make_user("host")
    await _upload(client, host, b"not an image", "image/png")
    root: Path = services.settings.media_dir / "posts"
    files = await asyncio.to_thread(
        lambda: [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    )
    assert files == []
