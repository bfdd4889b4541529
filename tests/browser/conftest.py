"""Browser-test harness shared by every area: one Chromium, one real server, a phone page.

Fixtures:
- ``browser``: the shared Debian Chromium driven by Playwright's sync API (fake camera and mic),
  started on first use and stopped after the last browser test (see ``_BrowserHarness``).
- ``live_server_process`` (session): the REAL ``python -m live_server serve --demo --ice-loopback``
  in a child process on the port it bound (``--port 0``; a `support.helpers.ServerProcess`);
  ``live_server`` is its base URL.
- ``nginx_front`` (session): Debian's nginx with the shipped ``deploy/nginx/liveshop.conf``
  (the /hls/ cache) in front of that server (a `support.nginx.Nginx`; its ``url`` is the base
  URL to open pages through), started on first use.
- ``make_context`` (function): ``make_context(**playwright_context_kwargs)`` for extra
  contexts (a second viewer, a desktop host...); all closed after the test, screenshots on failure.
- ``page`` (function): a fresh context per test at phone size (390x844) with ``base_url`` set to
  the live server, so ``page.goto("/studio.html")`` works. Uncaught page errors are collected in
  ``page_errors``.
- ``login`` (function): ``login(page, username, password="demo")`` logs in through the real form.
- ``api_login`` (function): ``api_login(page, username, password="demo")`` stores a token
  obtained from the API (fast; no navigation), returns the login response body.
- ``run_async`` (function): ``run_async(coro)`` runs asyncio code (python-socketio AsyncClient,
  aiohttp) in a helper thread: Playwright's sync API owns this thread's event loop, so browser
  tests must be plain ``def`` tests and cannot use async fixtures.

Every test here carries ``pytest.mark.browser``. On failure each open page of the test is saved
to ``test-artifacts/<test name>[-N].png``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from support.chromium import CHROMIUM, CHROMIUM_ARGS
from support.helpers import REPO_ROOT, ServerProcess, start_server_process
from support.nginx import Nginx, running_nginx

T = TypeVar("T")

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ARTIFACTS = REPO_ROOT / "test-artifacts"
DEMO_PASSWORD = "demo"
TOKEN_KEY = "liveshop.token"

# The machine is small and shared: be patient, but never wait forever.
DEFAULT_TIMEOUT_MS = 15_000
expect.set_options(timeout=10_000)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the item so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
    server = getattr(item, "funcargs", {}).get("live_server_process")
    if report.failed and report.when == "call" and isinstance(server, ServerProcess):
        tail = server.log()[-6000:]
        if tail.strip():
            report.sections.append(("live server log (tail, level warning+)", tail))


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


def _artifact_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")[:120]


def _screenshot_pages(request: pytest.FixtureRequest, contexts: list[BrowserContext]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base = _artifact_name(request)
    pages = [p for ctx in contexts for p in ctx.pages if not p.is_closed()]
    for index, page in enumerate(pages):
        suffix = "" if index == 0 else f"-{index + 1}"
        try:
            page.screenshot(path=str(ARTIFACTS / f"{base}{suffix}.png"), full_page=True)
        except Exception as exc:  # a crashed page must not hide the real failure
            print(f"screenshot of {page.url} failed: {exc}")


class _BrowserHarness:
    """Starts Playwright and Chromium on first use and stops them after the last browser test.

    Playwright's sync API keeps its event loop marked as running in this thread between calls,
    so no asyncio code (pytest-asyncio tests, ``asyncio.run``) can run here while it is alive.
    The harness is therefore stopped as soon as the next test is not a browser test, and
    started again if another browser test comes later.
    """

    def __init__(self) -> None:
        self._manager: Any = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def browser(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            if self._playwright is None:
                self._manager = sync_playwright()
                self._playwright = self._manager.__enter__()
            assert self._playwright is not None
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            finally:
                self._browser = None
        if self._manager is not None:
            try:
                self._manager.__exit__(None, None, None)
            finally:
                self._manager = None
                self._playwright = None


_HARNESS = _BrowserHarness()
_HERE = Path(__file__).resolve().parent


def _is_browser_item(item: pytest.Item | None) -> bool:
    return item is not None and _HERE in Path(str(item.path)).resolve().parents


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stops Chromium and Playwright once the browser tests are over (see _BrowserHarness),
    after the test's own fixtures (its contexts) are torn down."""
    yield
    if _is_browser_item(item) and not _is_browser_item(nextitem):
        _HARNESS.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _HARNESS.stop()


@pytest.fixture
def browser() -> Browser:
    """The shared Chromium (about 0.5 GB): use a context per test, never a browser per test."""
    return _HARNESS.browser()


def run_async(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Runs a coroutine to completion in a helper thread (for python-socketio/aiohttp clients
    inside a browser test, where this thread's loop belongs to Playwright)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout)


@pytest.fixture(name="run_async")
def run_async_fixture() -> Callable[..., Any]:
    """``run_async(coro, timeout=60)``: run asyncio code from a sync browser test."""
    return run_async


@pytest.fixture(scope="session")
def live_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real server with demo data, in a child process on the port it bound (port 0),
    with WebRTC on loopback only."""
    data_dir = tmp_path_factory.mktemp("browser-server") / "var"
    server = start_server_process(
        data_dir, demo=True, ice_loopback=True, env={"LIVESHOP_LOG_LEVEL": "warning"}
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(live_server_process: ServerProcess) -> str:
    """Base URL of the shared real server, e.g. ``http://127.0.0.1:41234``."""
    url: str = live_server_process.url
    return url


@pytest.fixture(scope="session")
def nginx_front(
    live_server_process: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    """Debian's nginx (the shipped site config, its LL-HLS cache included) in front of the
    shared server; pages opened at its ``url`` reach the server through it."""
    with running_nginx(live_server_process.port, tmp_path_factory.mktemp("nginx")) as nginx:
        yield nginx


@pytest.fixture
def make_context(
    request: pytest.FixtureRequest, browser: Browser, live_server: str
) -> Iterator[Callable[..., BrowserContext]]:
    """Factory for browser contexts (phone-sized, base_url = live server unless overridden)."""
    contexts: list[BrowserContext] = []

    def make(**kwargs: Any) -> BrowserContext:
        options: dict[str, Any] = {"viewport": PHONE, "base_url": live_server}
        options.update(kwargs)
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    if _failed(request):
        _screenshot_pages(request, contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors seen by the ``page`` fixture's page."""
    return []


@pytest.fixture
def page(make_context: Callable[..., BrowserContext], page_errors: list[str]) -> Page:
    """A fresh phone-sized page (390x844) in its own context, pointed at the live server."""
    context = make_context()
    new_page = context.new_page()
    new_page.on("pageerror", lambda err: page_errors.append(str(err)))
    return new_page


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Logs in through the real login form and waits until the app has moved on."""
    page.goto("/login.html")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login.html" not in url)
    page.wait_for_function(f"() => !!localStorage.getItem({json.dumps(TOKEN_KEY)})")


def api_login(page: Page, username: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    """Logs in through the API and stores the token for the page's origin (no form)."""
    credentials = {"username": username, "password": password}
    response = page.request.post("/api/auth/login", data=credentials)
    assert response.ok, f"login of {username} failed: {response.status} {response.text()}"
    body: dict[str, Any] = response.json()
    if page.url in ("", "about:blank"):
        page.goto("/img/logo.svg")  # any same-origin document, to reach its localStorage
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [TOKEN_KEY, body["token"]])
    return body


@pytest.fixture(name="login")
def login_fixture() -> Callable[..., None]:
    """``login(page, username, password="demo")`` through the login form."""
    return login


@pytest.fixture(name="api_login")
def api_login_fixture() -> Callable[..., dict[str, Any]]:
    """``api_login(page, username, password="demo")``: token from the API, no form."""
    return api_login


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/browser is a browser test, even if a module forgets the mark."""
    for item in items:
        if _is_browser_item(item):
            item.add_marker(pytest.mark.browser)
