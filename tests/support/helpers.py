"""Test utilities: polling with a timeout, free ports, a real server in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
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

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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


def start_server_process(
    data_dir: Path,
    *,
    port: int | None = None,
    demo: bool = True,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> ServerProcess:
    """Starts `python -m live_server serve` and waits until /readyz answers 200."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "live_server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if demo:
        args.append("--demo")
    args += extra_args or []
    child_env = {**os.environ, "LIVESHOP_LOG_LEVEL": "info", **(env or {})}
    log_path = data_dir / f"server-{port}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    server = ServerProcess(process, port, data_dir, log_path)
    deadline = time.monotonic() + timeout
    while not _ready(server.url):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"server not ready after {timeout} s:\n{server.log()}")
        time.sleep(0.05)
    return server


@contextlib.contextmanager
def running_server(data_dir: Path, **kwargs: Any) -> Iterator[ServerProcess]:
    server = start_server_process(data_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop()
