"""The room tick: contributors' sections and card extras, only-when-changed pins, and
one emit per tick however many reactions came in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from live_server.room.extensions import TickContributor
from support.helpers import wait_for
from support.room import Room, make_room
from support.services import Services


class FakeCommerce:
    """A TickContributor like the commerce work's."""

    name = "commerce"

    def __init__(self) -> None:
        self.calls = 0

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        self.calls += 1
        return {"units_sold": 3, "session": session_id}

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        return {pid: {"units_left": 2, "flash_sale": {"ends_in": 30}} for pid in product_ids}


class BrokenContributor:
    name = "broken"

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        raise RuntimeError("boom")

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        raise RuntimeError("boom")


@pytest.fixture
async def room(client: Any, make_user: Any) -> AsyncIterator[Room]:
    r = await make_room(client, make_user, str(client.make_url("/")).rstrip("/"))
    yield r
    await r.close()


@pytest.mark.slow
async def test_contributors_extend_ticks_and_cards(room: Room, services: Services) -> None:
    assert services.room is not None
    fake = FakeCommerce()
    contributors: list[TickContributor] = [BrokenContributor(), fake]
    for c in contributors:
        services.room.add_contributor(c)
    viewer = await room.client(room.viewer_token)
    mod = await room.client(room.mod_token)
    await mod.call("pin:add", {"session_id": room.session_id, "product_id": room.product_ids[1]})
    await wait_for(lambda: viewer.last_pins(), message="pinned card")
    card = (viewer.last_pins() or [])[0]
    assert card["units_left"] == 2 and card["flash_sale"] == {"ends_in": 30}
    assert card["stock"] == 11  # the catalog's own field is still there
    sections = [t["commerce"] for t in viewer.ticks() if "commerce" in t]
    assert sections and sections[0] == {"units_sold": 3, "session": room.session_id}
    assert all("broken" not in t for t in viewer.ticks())
    # cards are only resent when they change
    with_pins = [t for t in viewer.ticks() if "pins" in t]
    await wait_for(lambda: fake.calls > 10, message="more ticks")
    assert len([t for t in viewer.ticks() if "pins" in t]) == len(with_pins)


async def test_one_tick_carries_many_taps(room: Room, services: Services) -> None:
    assert services.room is not None
    ticker = services.room.ticker
    viewer = await room.client(room.viewer_token)
    watcher = await room.client(room.viewer2_token)
    await ticker.stop()  # drive ticks by hand
    for _ in range(20):
        await viewer.call(
            "reaction:send", {"session_id": room.session_id, "kind": "clap", "count": 3}
        )
    before = len(watcher.ticks())
    payload = await ticker.tick(room.session_id)
    assert payload is not None and payload["reactions"] == {"clap": 60}
    await wait_for(lambda: len(watcher.ticks()) == before + 1, message="one tick")
    assert watcher.ticks()[-1]["reactions"] == {"clap": 60}
    # nothing new from the room: no reactions (other contributors may still add sections)
    again = await ticker.tick(room.session_id)
    assert again is None or ("reactions" not in again and "pins" not in again)
