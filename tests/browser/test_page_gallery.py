"""Every page people see, at a phone and a desktop size, against the real demo server: a
screenshot of each into `test-artifacts/pages/` (CI keeps the folder), and a check that no
page logs a JavaScript error, a failed request or an unhandled promise rejection.

Pages are found from `web_client/*.html`, so a new page is covered the day it lands; the
table below only says which account and which query a page needs to show its real content.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from support.helpers import REPO_ROOT

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
GALLERY = REPO_ROOT / "test-artifacts" / "pages"
TOKEN_KEY = "liveshop.token"
# Collects what a page reports after it is loaded: unhandled rejections (Chromium gives
# them no console line of their own when the page handles `unhandledrejection` itself).
WATCH = """
window.__pageProblems = [];
window.addEventListener('unhandledrejection', (e) => {
  const r = e.reason;
  window.__pageProblems.push('unhandled rejection: ' + (r && r.message ? r.message : String(r)));
});
"""


@dataclass(frozen=True)
class Visit:
    """A page and what it needs: the account to log in as and a query ({upcoming},
    {replay} are the demo's show ids, {host} its host's user id)."""

    path: str
    user: str | None = None
    query: str = ""
    expected: tuple[str, ...] = field(default_factory=tuple)  # problems that are the point


# Pages not listed here are opened as the demo host with no query.
VISITS: dict[str, list[Visit]] = {
    "index": [Visit("/"), Visit("/", "demo-viewer")],
    "login": [Visit("/login.html")],
    "signup": [Visit("/signup.html")],
    "feed": [Visit("/feed.html", "demo-viewer")],
    "session": [
        Visit("/session.html", "demo-viewer", "?id={upcoming}"),
        Visit("/session.html", None, ""),  # no show asked for: a friendly state
    ],
    "replay": [Visit("/replay.html", "demo-viewer", "?session={replay}")],
    "studio": [Visit("/studio.html", "demo-host")],
    "orders": [Visit("/orders.html", "demo-viewer")],
    "analytics": [Visit("/analytics.html", "demo-host", "?session={replay}")],
    "moderate": [Visit("/moderate.html", "demo-mod", "?session={upcoming}")],
    "admin": [Visit("/admin.html", "admin")],
    "search": [Visit("/search.html", "demo-viewer", "?q=linen")],
    "creator": [Visit("/creator.html", "demo-viewer", "?id={host}")],
    "404": [Visit("/no-such-page.html", None, "", ("404",))],
}


def _visits() -> list[tuple[str, Visit]]:
    names = sorted(p.stem for p in (REPO_ROOT / "web_client").glob("*.html"))
    out: list[tuple[str, Visit]] = []
    for name in names + (["404"] if "404" not in names else []):
        for index, visit in enumerate(VISITS.get(name, [Visit(f"/{name}.html", "demo-host")])):
            out.append((f"{name}-{index}" if index else name, visit))
    return out


def _api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def demo_ids(live_server: str) -> dict[str, int]:
    upcoming = _api(live_server, "/api/sessions?state=upcoming")["items"]
    replays = _api(live_server, "/api/sessions?state=replays")["items"]
    assert upcoming and replays, "the demo has upcoming shows and a replay"
    return {
        "upcoming": int(upcoming[0]["id"]),
        "replay": int(replays[0]["id"]),
        "host": int(upcoming[0]["host"]["id"]),
    }


@pytest.fixture(scope="module")
def tokens(live_server: str) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def token(user: str) -> str:
        if user not in cache:
            body = _api(live_server, "/api/auth/login", {"username": user, "password": "demo"})
            cache[user] = str(body["token"])
        return cache[user]

    return token


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    # let the page's own requests settle; pages that stream video never go idle
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=4_000)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_every_page_renders_without_errors(
    make_context: Callable[..., BrowserContext],
    demo_ids: dict[str, int],
    tokens: Callable[[str], str],
    viewport: str,
) -> None:
    GALLERY.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for name, visit in _visits():
        context = make_context(viewport=VIEWPORTS[viewport])
        context.add_init_script(WATCH)
        if visit.user:
            token = tokens(visit.user)
            context.add_init_script(f"localStorage.setItem({TOKEN_KEY!r}, {token!r});")
        page = context.new_page()
        seen: list[str] = []
        page.on("pageerror", lambda err, seen=seen: seen.append(f"error: {err}"))

        def on_console(msg: ConsoleMessage, seen: list[str] = seen) -> None:
            if msg.type == "error":
                seen.append(f"console: {msg.text} ({msg.location.get('url', '')})")

        page.on("console", on_console)
        _open(page, visit.path + visit.query.format(**demo_ids))
        seen.extend(page.evaluate("() => window.__pageProblems || []"))
        page.screenshot(path=str(GALLERY / f"{name}-{viewport}.png"), full_page=True)
        unexpected = [s for s in seen if not any(e in s for e in visit.expected)]
        if unexpected:
            problems[f"{name} ({visit.path}{visit.query})"] = unexpected
        context.close()
    assert problems == {}, "pages reported problems:\n" + "\n".join(
        f"  {page}: {'; '.join(found)}" for page, found in problems.items()
    )
