"""Issue 12, finding 3: upload bodies were buffered before any check (a viewer's 90 MB post
upload sat in server memory, then got 403). Every upload is now judged on who sends it,
its declared type and its Content-Length before a byte of the body is read, and a body
that is read goes to a temporary file under the data dir with the cap enforced while
streaming, never whole into memory."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from support.content import make_recording
from support.helpers import ServerProcess, auth, running_server
from support.rawhttp import answer_before_body, read_response, request_head

Client = TestClient[Any, Any]
MIB = 1024 * 1024
BODY = 50 * MIB
# Far below the body: buffering it (the old behaviour) grew the server by more than BODY.
RSS_GROWTH_LIMIT = 20 * MIB


def _png(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "orange").save(buf, format="PNG")
    return buf.getvalue()


def _upload_head(path: str, token: str | None, ctype: str, length: int) -> bytes:
    headers = {"Content-Type": ctype, "Content-Length": str(length)}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request_head("POST", path, dict(headers))


class RssSampler:
    """Samples a process's resident set size every few ms in a thread, for the peak."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.002)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def _push(port: int, head: bytes, size: int) -> tuple[int, str]:
    """Sends `head` and `size` bytes of body as fast as the server takes them; returns the
    answer's status and error code. The server may answer and stop reading at any point."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        chunk = b"\0" * MIB
        with contextlib.suppress(ConnectionError):
            for _ in range(size // MIB):
                writer.write(chunk)
                await writer.drain()
        answer = await read_response(reader, timeout=60)
        return answer.status, answer.error_code
    finally:
        writer.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("uploads") / "var", demo=False) as s:
        yield s


async def _user(server: ServerProcess, name: str, role: str = "viewer") -> str:
    async with aiohttp.ClientSession(server.url) as http:
        credentials = {"username": name, "password": "pw-secret-1"}
        body = {
            **credentials,
            "display_name": name,
            "interests": ["tech", "home", "beauty", "fashion", "kitchen"],
        }
        async with http.post("/api/auth/register", json=body) as resp:
            assert resp.status == 201, await resp.text()
            user_id = (await resp.json())["user"]["id"]
        if role != "viewer":
            with contextlib.closing(sqlite3.connect(server.data_dir / "liveshop.db", 10)) as db:
                db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
                db.commit()
        async with http.post("/api/auth/login", json=credentials) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["token"])


def _leftovers(server: ServerProcess) -> list[Path]:
    incoming = server.data_dir / "incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


@pytest.mark.slow
async def test_finding_03_viewer_upload_is_refused_before_the_body_and_rss_stays_flat(
    server: ServerProcess,
) -> None:
    viewer = await _user(server, "finding3viewer")
    head = _upload_head("/api/posts/media", viewer, "video/mp4", BODY)
    # refused on its headers: the answer comes while the 50 MB are still unsent
    answer = await answer_before_body("127.0.0.1", server.port, head)
    assert answer.status == 403 and answer.error_code == "hosts_only", answer.body
    assert "hosts" in answer.json()["error"]["message"]
    # and pushing the whole body anyway does not land it in the server's memory
    with RssSampler(server.process.pid) as rss:
        assert await _push(server.port, head, BODY) == (403, "hosts_only")
    assert rss.growth < RSS_GROWTH_LIMIT, f"server RSS grew by {rss.growth / MIB:.1f} MiB"
    assert _leftovers(server) == []


@pytest.mark.slow
async def test_finding_03_host_uploads_stream_to_a_file_and_still_work(
    server: ServerProcess, tmp_path: Path
) -> None:
    host = await _user(server, "finding3host", role="host")
    # a large body that is read (a host may send videos) goes to a file, not to memory
    head = _upload_head("/api/posts/media", host, "video/mp4", BODY)
    with RssSampler(server.process.pid) as rss:
        assert await _push(server.port, head, BODY) == (422, "undecodable_media")
    assert rss.growth < RSS_GROWTH_LIMIT, f"server RSS grew by {rss.growth / MIB:.1f} MiB"
    assert _leftovers(server) == []
    # over the cap: refused from Content-Length, and while streaming when none is declared
    head = _upload_head("/api/posts/media", host, "image/png", 11 * MIB)
    answer = await answer_before_body("127.0.0.1", server.port, head)
    assert answer.status == 413 and answer.error_code == "payload_too_large"
    assert "10 MiB" in answer.json()["error"]["message"]

    async def endless() -> Any:
        for _ in range(12):
            yield b"\x89PNG\r\n\x1a\n" + b"\0" * (MIB - 8)

    async with aiohttp.ClientSession(server.url) as http:
        ctype = {**auth(host), "Content-Type": "image/png"}
        async with http.post("/api/posts/media", data=endless(), headers=ctype) as resp:
            assert resp.status == 413, await resp.text()
        # allowed uploads work: a photo and a video, kept whole
        video = make_recording(tmp_path / "clip.mp4", "h264", seconds=2.0).read_bytes()
        for data, kind, mime in ((_png(), "image", "image/png"), (video, "video", "video/mp4")):
            headers = {**auth(host), "Content-Type": mime}
            async with http.post("/api/posts/media", data=data, headers=headers) as resp:
                assert resp.status == 201, await resp.text()
                media = await resp.json()
            assert media["kind"] == kind
            async with http.get(media["url"], headers=auth(host)) as served:
                assert served.status == 200 and await served.read() == data
    assert _leftovers(server) == []


async def test_finding_03_uploads_are_judged_before_the_body_is_read(
    client: Client, make_user: Any, settings: Any
) -> None:
    """Who may upload, the declared type and the declared length, on both upload routes:
    each refusal is answered with nothing of the body sent."""
    _, host = await make_user("host")
    _, other_host = await make_user("host")
    _, viewer = await make_user()
    resp = await client.post(
        "/api/products",
        json={"title": "Mug", "price_minor": 1500, "category": "kitchen"},
        headers=auth(host),
    )
    images = f"/api/products/{(await resp.json())['id']}/images"
    big = settings.max_upload_bytes + 1
    cases = [
        ("/api/posts/media", None, "video/mp4", BODY, 401, "login_required"),
        ("/api/posts/media", viewer, "video/mp4", BODY, 403, "hosts_only"),
        ("/api/posts/media", host, "application/pdf", BODY, 415, "unsupported_media_type"),
        ("/api/posts/media", host, "image/png", 11 * MIB, 413, "payload_too_large"),
        ("/api/posts/media", host, "video/mp4", 101 * MIB, 413, "payload_too_large"),
        (images, None, "image/png", big, 401, "login_required"),
        (images, viewer, "image/png", BODY, 403, "not_owner"),
        (images, other_host, "image/png", BODY, 403, "not_owner"),
        (images, host, "image/svg+xml", BODY, 415, "unsupported_media_type"),
        (images, host, "image/png", big, 413, "payload_too_large"),
        ("/api/products/999999/images", host, "image/png", BODY, 404, "product_not_found"),
    ]
    for path, token, ctype, length, status, code in cases:
        head = _upload_head(path, token, ctype, length)
        try:
            answer = await answer_before_body(client.server.host, client.server.port, head, 5)
        except TimeoutError:
            raise AssertionError(f"{path} {ctype} {length}: waited for the body") from None
        assert (answer.status, answer.error_code) == (status, code), (path, answer.body)
        assert answer.json()["error"]["message"]
