"""Test utilities: polling with a timeout, free ports, a real server in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]  # tests/support/helpers.py -> the repo


async def wait_for(
    predicate: Callable[[], Any | Awaitable[Any]],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> Any:
    """Polls `predicate` (sync or async) until it returns a truthy value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        await asyncio.sleep(interval)


def wait_for_sync(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> Any:
    """The blocking twin of wait_for, for browser and subprocess tests."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Not for servers: bind-then-release races under load (another process can take the
    port before the server binds it). ``start_server_process`` uses ``--port 0``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A real `liveshop serve` running in a child process."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, like a crash."""
        self.stop(signal.SIGKILL)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


PORT_FILE = "server.port"  # what `liveshop serve` writes once it listens (live_server/cli.py)


def start_server_process(
    data_dir: Path,
    *,
    port: int | None = None,
    demo: bool = True,
    ice_loopback: bool = True,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> ServerProcess:
    """Starts `python -m live_server serve` and waits until /readyz answers 200.

    Without ``port`` the server binds port 0 and the port it got is read from
    ``<data_dir>/server.port``. ``ice_loopback`` (default on) keeps its WebRTC on 127.0.0.1.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / PORT_FILE
    # a killed server leaves its file behind: never mistake it for the new one's
    port_file.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "live_server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port or 0),
        "--data-dir",
        str(data_dir),
    ]
    if demo:
        args.append("--demo")
    if ice_loopback:
        args.append("--ice-loopback")
    args += extra_args or []
    # one process per server unless a test asks for workers (`--workers N` wins over this)
    child_env = {**os.environ, "LIVESHOP_LOG_LEVEL": "info", "LIVESHOP_WORKERS": "1", **(env or {})}
    log_path = _new_log_path(data_dir)
    log = open(log_path, "wb")
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    server = ServerProcess(process, 0, data_dir, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if not server.port:
            server.port = _read_port(port_file)
        if server.port and _ready(server.url):
            return server
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            server.kill()
            what = "ready" if server.port else f"listening ({port_file} not written)"
            raise RuntimeError(f"server not {what} after {timeout} s:\n{server.log()}")
        time.sleep(0.05)


def _read_port(port_file: Path) -> int:
    # the server replaces the file atomically: it is absent or complete
    try:
        return int(port_file.read_text().strip())
    except (OSError, ValueError):
        return 0


def _new_log_path(data_dir: Path) -> Path:
    # the port is not known before the start; several servers may share one data dir
    for n in itertools.count(1):
        path = data_dir / f"server-{n}.log"
        if not path.exists():
            return path
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_server(data_dir: Path, **kwargs: Any) -> Iterator[ServerProcess]:
    server = start_server_process(data_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop()
