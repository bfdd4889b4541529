"""Process-wide preparation: every patch to a third-party library, installed once, explicitly.

These change the whole process, so no constructor makes them: the entry point does
(`liveshop serve`, the test session, each benchmark). `prepare_process` runs before any app
is built: the canaries refuse to start on a library release the internals were not written
for (`constraints.txt` pins them), then the hooks go in. `tune_for_serving` runs after the
app is built, just before serving: the GC tuning freezes what exists at that moment.
"""

from __future__ import annotations

import logging

from live_server.media.aiortc import hooks as aiortc_hooks
from live_server.platform.db import verify_aiosqlite_internals
from live_server.platform.http_server import verify_aiohttp_internals
from signaling.process import tune_gc
from signaling.socketio_internals import verify_socketio_internals

logger = logging.getLogger(__name__)


def prepare_process(*, ice_loopback: bool = False) -> None:
    """Checks the internals LiveShop relies on and installs its process-wide hooks.

    - aiortc: the pass-through receive hooks the SFU forwards with (always).
    - aioice: loopback-only ICE candidates when `ice_loopback` (tests and benchmarks).
    Idempotent: a second call changes nothing.
    """
    verify_aiosqlite_internals()
    verify_aiohttp_internals()
    verify_socketio_internals()
    aiortc_hooks.install()  # verifies the aiortc/aioice internals first
    if ice_loopback:
        aiortc_hooks.use_loopback_candidates()
        logger.warning("ICE on loopback only (ice_loopback): for tests and benchmarks")


def tune_for_serving() -> None:
    """CPython's GC thresholds for a process serving rooms, once the app is built.

    Freezing the objects that exist then (modules, the app, its services) keeps them out of
    every later full collection; see `signaling.process.tune_gc`. Idempotent.
    """
    tune_gc()
