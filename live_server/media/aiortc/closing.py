"""Closing a peer connection without waiting forever.

aiortc's ``RTCPeerConnection.close()`` awaits each transport's stop; a peer caught half way
(a DTLS handshake that never finished, a sender task that does not stop) can leave that await
pending for good (aiortc issue #283 is one such case). The server never lets one peer hold up
a viewer's departure, the end of a show or its own shut-down: it waits ``timeout`` seconds,
then says so in the log and lets the close finish (or not) in the background.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

logger = logging.getLogger(__name__)

#: Long enough for any healthy close (milliseconds on a busy box), short enough for shut-down.
CLOSE_TIMEOUT_S = 5.0

# closes that overran: held so the tasks are not garbage-collected while they run
_overran: set[asyncio.Task[None]] = set()


class Closable(Protocol):
    """What is closed here: an ``RTCPeerConnection``."""

    async def close(self) -> None: ...


async def close_peer(pc: Closable, timeout: float = CLOSE_TIMEOUT_S) -> bool:
    """Close ``pc``, waiting at most ``timeout`` seconds; True when it closed in time.

    A close that fails is logged and counts as closed (nothing more can be done with the
    peer); one that overruns goes on in the background. Cancelling the caller does not
    cancel the close.
    """
    task = asyncio.ensure_future(pc.close())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        _let_run(task)
        raise
    if not done:
        _let_run(task)
        logger.warning(
            "a peer connection did not close within %.1f s (%s): left to finish on its own",
            timeout,
            _states(pc),
        )
        return False
    _log_failure(task)
    return True


def overrunning() -> int:
    """Closes still running after their timeout or their caller's cancellation."""
    return len(_overran)


def _let_run(task: asyncio.Task[None]) -> None:
    _overran.add(task)
    task.add_done_callback(_overran.discard)
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.warning("closing a peer connection failed: %r", exc)


def _states(pc: object) -> str:
    names = ("connectionState", "iceConnectionState", "signalingState")
    return ", ".join(f"{n}={getattr(pc, n, '?')}" for n in names)
