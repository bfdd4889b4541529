"""What a full node picks up after a crash: its own recordings left open, and shows whose
origin node died (docs/media.md, "Topology")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from live_server.cluster import Cluster
from live_server.media.store import RecordingRepository
from live_server.platform.events import EventBus, RecordingFinished
from live_server.shows.service import LiveSessionService
from recordings.writer import probe

logger = logging.getLogger(__name__)

#: how often a full node looks for shows whose origin node died
ORPHAN_CHECK_S = 2.0


async def close_unfinished(recordings: RecordingRepository, events: EventBus) -> None:
    """Recordings a crash left open: closed with the duration their packets give (a file
    cut short stays readable), ``RecordingFinished`` published; unreadable ones failed."""
    for rec in await recordings.unfinished():
        path = Path(rec.path)
        try:
            duration = await asyncio.to_thread(probe, path)
            size = (await asyncio.to_thread(path.stat)).st_size
        except Exception as exc:
            logger.warning("recording=%s unreadable after restart: %s", rec.id, exc)
            await recordings.finish(rec.id, 0.0, 0, status="failed")
            continue
        await recordings.finish(rec.id, round(duration, 3), size)
        logger.info("recording=%s recovered after restart: %.1fs", rec.id, duration)
        await events.publish(RecordingFinished(rec.session_id, rec.id))


async def watch_orphans(
    sessions: LiveSessionService,
    cluster: Cluster,
    handled_here: Callable[[int], bool],
    give_grace: Callable[[int], Awaitable[None]],
) -> None:
    """Forever: a live show whose origin node died (its lease expired, never released) gets
    the reconnect grace (``give_grace``): reconnecting, then the end unless the host comes
    back through any node. Shows this node serves or already waits for are left alone."""
    while True:
        await asyncio.sleep(ORPHAN_CHECK_S)
        try:
            for view in await sessions.search("live", limit=1000):
                session_id = view.session.id
                if not handled_here(session_id) and await cluster.orphaned(session_id):
                    logger.info("session=%s its origin node is gone: grace", session_id)
                    await give_grace(session_id)
        except Exception:
            logger.warning("orphaned-show check failed", exc_info=True)
