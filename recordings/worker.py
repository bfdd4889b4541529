"""Running blocking PyAV work off the event loop, with progress brought back to the loop.

:class:`MediaWorker` owns a small thread pool (PyAV releases the GIL while coding, so
threads use the cores). Progress callbacks fire in the worker thread; they are
throttled and re-scheduled on the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from recordings.jobs import ProcessingOutput, ProcessingPlan, run_plan

logger = logging.getLogger(__name__)

T = TypeVar("T")
ProgressSink = Callable[[float, str], Awaitable[None] | None]


class MediaWorker:
    """A bounded pool for media jobs; ``run`` awaits one job."""

    def __init__(self, threads: int = 1, min_interval: float = 0.25) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="media")
        self._min_interval = min_interval

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run any blocking callable in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args))

    async def run(
        self, plan: ProcessingPlan, on_progress: ProgressSink | None = None
    ) -> ProcessingOutput:
        """Run :func:`recordings.jobs.run_plan` in the pool, forwarding throttled progress."""
        loop = asyncio.get_running_loop()
        last = [0.0]
        pending: set[asyncio.Task[None]] = set()

        def deliver(fraction: float, label: str) -> None:
            if on_progress is None:
                return
            result = on_progress(fraction, label)
            if asyncio.iscoroutine(result):
                task = loop.create_task(result)
                pending.add(task)
                task.add_done_callback(pending.discard)

        def progress(fraction: float, label: str) -> None:
            now = time.monotonic()
            if fraction < 1.0 and now - last[0] < self._min_interval:
                return
            last[0] = now
            loop.call_soon_threadsafe(deliver, fraction, label)

        try:
            return await loop.run_in_executor(self._pool, run_plan, plan, progress)
        finally:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> None:
        """Stop accepting work; running jobs finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
