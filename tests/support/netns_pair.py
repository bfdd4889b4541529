"""Two network namespaces for the shaped-viewer tests: a server's and a client's, joined by a
veth pair made inside the server's (one end moved to the client's), so neither end ever sits
in this machine's own namespace. ``tc`` on the server's end shapes what the client gets."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

SERVER_ADDRESS = "10.202.0.1"
CLIENT_ADDRESS = "10.202.0.2"
SERVER_DEV = "lsb-srv"
CLIENT_DEV = "lsb-cli"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def missing_tools() -> str | None:
    """Why namespaces cannot be made here (None when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "iproute2 (ip, tc) is not installed"
    return None


@contextlib.contextmanager
def namespace_pair(prefix: str, tag: str) -> Iterator[tuple[str, str]]:
    """(server namespace, client namespace), 10.202.0.1 and 10.202.0.2 on the veth pair;
    both deleted on exit."""
    server, client = f"{prefix}-srv-{tag}", f"{prefix}-cli-{tag}"
    try:
        for ns in (server, client):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", server, "link", "add", SERVER_DEV, "type", "veth", "peer", "name", CLIENT_DEV)
        _ip("-n", server, "link", "set", CLIENT_DEV, "netns", client)
        for ns, dev, addr in (
            (server, SERVER_DEV, SERVER_ADDRESS),
            (client, CLIENT_DEV, CLIENT_ADDRESS),
        ):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        yield server, client
    finally:
        for ns in (server, client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def shape(dev: str, rate: str = "400kbit") -> None:
    """Everything leaving ``dev`` through a token bucket of ``rate``."""
    subprocess.run(
        ["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
         "burst", "16kb", "latency", "200ms"],
        check=True, capture_output=True,
    )  # fmt: skip


def lift(dev: str) -> None:
    """Removes the shaping of ``dev``."""
    subprocess.run(["tc", "qdisc", "del", "dev", dev, "root"], check=True, capture_output=True)


def take_due_step(steps: list[tuple[float, str]], elapsed: float, dev: str) -> str | None:
    """Pop the plan's next step if ``elapsed`` seconds have reached it and apply it to
    ``dev`` ("shape", "lift"; any other action, e.g. "end", only ends a wait); its name,
    or None when none is due."""
    if not steps or elapsed < steps[0][0]:
        return None
    _, action = steps.pop(0)
    if action == "shape":
        shape(dev)
    elif action == "lift":
        lift(dev)
    return action
