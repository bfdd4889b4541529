"""Process-wide settings for a process that serves live rooms, installed once at start-up.

These change the whole interpreter, not one app, so the composition root does not make
them: the entry point that runs the server (`live_server/cli.py` serve, a benchmark's
server process) calls `tune_gc()` before `web.run_app`.
"""

from __future__ import annotations

import gc

#: Young-generation GC threshold for a process serving rooms (CPython's default is 700).
GC_THRESHOLD0 = 20_000
_gc_tuned = False


def tune_gc() -> None:
    """Keeps the cyclic garbage collector's pauses off the chat path (once per process).

    Every message a client sends makes engine.io replace that socket's long-lived read
    task (a task, its coroutines, a timer); at 2,000 viewers and hundreds of events a
    second that promotes ~10,000 objects a second into the oldest generation, and with
    CPython's default thresholds a full collection (200-400 ms here, the event loop
    stopped) ran every 2-5 s: the chat p99. A larger young threshold lets most
    short-lived objects die before they are promoted, and freezing what exists at
    start-up (modules, the app) keeps it out of every later full collection, which is why
    it should run after the app is built, just before serving.
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    t0, t1, t2 = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD0, t0), t1, t2)


def gc_tuned() -> bool:
    """True once `tune_gc` has run in this process."""
    return _gc_tuned
