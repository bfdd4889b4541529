"""Shared fixtures: settings on a temporary data dir, the app, a test client, users."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from live_server.app import create_app
from live_server.platform.identity import Role
from live_server.settings import Settings
from live_server.startup import prepare_process, tune_for_serving
from support.services import Services


def pytest_configure(config: pytest.Config) -> None:
    """The test process serves apps in-process, so it makes the server's start-up patches
    (aiortc hooks, loopback-only ICE for test media, GC tuning) once, as `serve` does."""
    prepare_process(ice_loopback=True)
    tune_for_serving()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make pytest` runs the suite on xdist workers, a test file per work unit
    (support/xdist_files.py says why)."""
    from support.xdist_files import make_scheduler

    return make_scheduler(config, log)


INTERESTS5 = ["fashion", "beauty", "home", "kitchen", "tech"]
_counter = itertools.count(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Tests sign up many users from 127.0.0.1: the sign-up throttle (tested in
    # test_hardening_accounts) is out of their way here.
    return Settings.load(
        {"data_dir": tmp_path / "var", "secret": "test-secret", "signup_burst": 10_000}, env={}
    )


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient[Any, Any]:
    c: TestClient[Any, Any] = await aiohttp_client(app)
    return c


@pytest.fixture
def services(app: web.Application) -> Services:
    return Services(app)


MakeUser = Callable[..., Awaitable[tuple[dict[str, Any], str]]]


@pytest.fixture
async def make_user(client: TestClient[Any, Any], services: Services) -> AsyncIterator[MakeUser]:
    """Registers a user through the API (role raised directly in storage for hosts/admins)."""

    async def make(
        role: str = "viewer", username: str | None = None, password: str = "pw-secret-1"
    ) -> tuple[dict[str, Any], str]:
        name = username or f"user{next(_counter)}"
        resp = await client.post(
            "/api/auth/register",
            json={
                "username": name,
                "password": password,
                "display_name": name.title(),
                "interests": INTERESTS5,
            },
        )
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        if role != "viewer":
            await services.db.execute(
                "UPDATE users SET role = ? WHERE id = ?", (Role(role).value, body["user"]["id"])
            )
            resp = await client.post(
                "/api/auth/login", json={"username": name, "password": password}
            )
            assert resp.status == 200
            body = await resp.json()
        return body["user"], body["token"]

    yield make
