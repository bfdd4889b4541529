"""`liveshop serve --workers N`: the full server plus N-1 media workers on this machine.

One process is one core for media (docs/media.md, "Topology"). The supervisor is a small
parent that runs no server itself: it starts the full server (``serve --workers 1`` with the
same flags: it writes ``<data-dir>/server.port`` as always) and N-1 media workers, each an
edge-role process on its own port (``--port``+1, +2, ... or a free one with ``--port 0``;
its port file and log under ``<data-dir>/workers/<n>/``), registered in Redis like any
node. SIGTERM or SIGINT stops them all; a child that dies is logged and started again
(after 1 s, doubling up to 30 s while it keeps dying within a minute of its start).
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

from live_server.settings import Settings

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0
MAX_BACKOFF_S = 30.0
#: flags a worker must not inherit from the command line (each worker has its own)
_OWN_FLAGS = ("--port", "--public-url", "--data-dir", "--workers", "--role", "--demo")


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = 1.0
    restart_at: float | None = None
    restarts: int = field(default=0)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _strip(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in flags:
            skip = "=" not in arg and name != "--demo"
            continue
        out.append(arg)
    return out


def children(settings: Settings, argv: list[str], workers: int) -> list[_Child]:
    """The full server and the workers, as commands (``argv``: the `serve` arguments)."""
    python = [sys.executable, "-m", "live_server", "serve"]
    env = dict(os.environ)
    # workers on one machine: one secret of their own when the deployment names none
    env.setdefault("LIVESHOP_CLUSTER_SECRET", settings.cluster_secret or secrets.token_hex(32))
    out = [_Child("server", [*python, *argv, "--workers", "1"], env)]
    worker_env = {k: v for k, v in env.items() if k not in ("LIVESHOP_PUBLIC_URL",)}
    base = _strip(argv, _OWN_FLAGS)
    for n in range(1, workers):
        port = 0 if settings.port == 0 else settings.port + n
        data_dir = settings.data_dir / "workers" / str(n)
        out.append(
            _Child(
                f"worker {n}",
                [
                    *python,
                    *base,
                    "--workers",
                    "1",
                    "--role",
                    "edge",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(data_dir),
                ],
                worker_env,
            )
        )
    return out


class Supervisor:
    """Starts the children, restarts the ones that die, stops them all on a signal."""

    def __init__(self, kids: list[_Child]) -> None:
        self._kids = kids
        self._stopping = False

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(child.argv, env=child.env, preexec_fn=_die_with_parent)
        child.started_at = time.monotonic()
        child.restart_at = None
        logger.info("%s started (pid %d)", child.name, child.process.pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> int:
        """Until SIGTERM/SIGINT: then every child gets SIGTERM (SIGKILL after 15 s)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self._kids:
            self._start(child)
        while not self._stopping:
            time.sleep(0.2)
            for child in self._kids:
                self._watch(child)
        return self._stop_all()

    def _watch(self, child: _Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                self._start(child)
            return
        process = child.process
        if process is None or process.poll() is None:
            return
        lived = now - child.started_at
        if lived > 60:
            child.backoff_s = 1.0
        logger.warning(
            "%s (pid %d) exited with code %s after %.0f s: starting it again in %.0f s",
            child.name,
            process.pid,
            process.returncode,
            lived,
            child.backoff_s,
        )
        child.restart_at = now + child.backoff_s
        child.backoff_s = min(MAX_BACKOFF_S, child.backoff_s * 2)

    def _stop_all(self) -> int:
        running = [c.process for c in self._kids if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("pid %d did not stop in time: killed", process.pid)
                process.kill()
                process.wait(5)
        logger.info("every process stopped")
        return 0


def supervise(settings: Settings, argv: list[str], workers: int) -> int:
    """`serve` with more than one worker (``argv``: its arguments, after `serve`)."""
    if not settings.redis_url:
        print(
            "liveshop serve --workers N needs Redis (--redis-url): the workers find each"
            " show's origin and each other's load there",
            file=sys.stderr,
        )
        return 2
    return Supervisor(children(settings, argv, workers)).run()
