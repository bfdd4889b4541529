"""Remind me: the reminder per user and show, its .ics file (RFC 5545, UTC), and the notice
a reminded user's open socket gets when the show goes live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from support.helpers import auth, wait_for
from support.room import RoomClient

# two days ahead at hh:30 local time in UTC+01:00 (the .ics must say it in UTC)
_START = (datetime.now(UTC) + timedelta(days=2)).replace(minute=30, second=0, microsecond=0)
STARTS = _START.astimezone(timezone(timedelta(hours=1))).isoformat()


def unfold(text: str) -> dict[str, str]:
    """The calendar's properties (first occurrence wins), after unfolding (RFC 5545 3.1)."""
    assert "\n" not in text.replace("\r\n", "")  # every line ends in CRLF
    props: dict[str, str] = {}
    for line in text.replace("\r\n ", "").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            props.setdefault(name, value)
    return props


async def _show(client: Any, token: str, **extra: Any) -> dict[str, Any]:
    body = {"title": "Spring, linen; and more", "starts_at": STARTS, **extra}
    resp = await client.post("/api/sessions", json=body, headers=auth(token))
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_calendar_file_parses_with_utc_times(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    show = await _show(client, host, description="Line one\nline two " + "x" * 120)
    resp = await client.get(f"/api/sessions/{show['id']}/calendar.ics")
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = await resp.text()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    props = unfold(text)
    assert props["BEGIN"] == "VCALENDAR" and props["VERSION"] == "2.0"
    assert props["DTSTART"] == _START.strftime("%Y%m%dT%H%M%SZ")
    assert props["DTEND"] == (_START + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    start = datetime.strptime(props["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert start == datetime.fromisoformat(show["starts_at"])
    assert props["SUMMARY"] == "Spring\\, linen\\; and more"
    assert props["DESCRIPTION"].startswith("Line one\\nline two xxx")
    assert props["URL"].endswith(f"/session.html?id={show['id']}")
    assert text.count("BEGIN:VEVENT") == 1 and text.rstrip().endswith("END:VCALENDAR")


async def test_private_show_calendar_is_hidden(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    _, viewer = await make_user()
    show = await _show(client, host, visibility="private")
    assert (await client.get(f"/api/sessions/{show['id']}/calendar.ics")).status == 404
    url = f"/api/sessions/{show['id']}/reminder"
    assert (await client.put(url, headers=auth(viewer))).status == 404
    assert (
        await client.get(f"/api/sessions/{show['id']}/calendar.ics", headers=auth(host))
    ).status == 200


async def test_reminded_viewer_is_told_when_the_show_goes_live(client: Any, make_user: Any) -> None:
    _, host = await make_user("host")
    _, viewer = await make_user()
    _, other = await make_user()
    show = await _show(client, host)
    url = f"/api/sessions/{show['id']}/reminder"
    assert (await client.put(url)).status == 401
    resp = await client.put(url, headers=auth(viewer))
    assert resp.status == 200 and (await resp.json())["reminder"] is True
    assert (await (await client.get(url, headers=auth(viewer))).json())["reminder"] is True
    assert (await (await client.get(url, headers=auth(other))).json())["reminder"] is False
    mine = await (await client.get("/api/me/reminders", headers=auth(viewer))).json()
    assert mine["session_ids"] == [show["id"]]

    base = str(client.make_url("/")).rstrip("/")
    reminded = await RoomClient(base, viewer).connect()  # an open page, in no room
    bystander = await RoomClient(base, other).connect()
    try:
        start = await client.post(f"/api/sessions/{show['id']}/start", headers=auth(host))
        assert start.status == 200
        await wait_for(lambda: reminded.events["show:live"], message="the go-live notice")
        notice = reminded.events["show:live"][0]
        assert notice["session_id"] == show["id"] and notice["title"] == show["title"]
        assert notice["url"] == f"/session.html?id={show['id']}"
        assert not bystander.events["show:live"]
    finally:
        await reminded.close()
        await bystander.close()
    # sent once; a live show cannot be reminded of
    assert (await (await client.get("/api/me/reminders", headers=auth(viewer))).json())[
        "session_ids"
    ] == []
    late = await client.put(url, headers=auth(other))
    assert late.status == 409 and (await late.json())["error"]["code"] == "not_upcoming"
    resp = await client.delete(url, headers=auth(viewer))
    assert (await resp.json())["reminder"] is False
