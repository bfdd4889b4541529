"""Two network namespaces joined by a veth pair, made (and removed) by a benchmark.

Janus's ICE (libnice) leaves loopback addresses out of its candidates, so a benchmark that
puts Janus beside LiveShop cannot keep its WebRTC traffic on 127.0.0.1. Instead it makes
a small network of its own, never touching this machine's interfaces:

    namespace lsbench-srv-<pid>   veth lsb-srv  10.201.0.1/24   the servers
    namespace lsbench-cli-<pid>   veth lsb-cli  10.201.0.2/24   the publisher and viewers

Every packet between a client and a server crosses the veth pair (two network stacks,
like two hosts). ``Netns`` is a context manager: it creates both namespaces, the pair
and the addresses, and deletes the namespaces on exit, also after an error or Ctrl-C
(deleting a namespace deletes its end of the pair, and with it the other end). Needs
root (``ip netns add``).

Inside a namespace, aioice's own candidate gathering is what we want (the veth address is
its only non-loopback one); ``use_namespace_candidates`` undoes the loopback pinning that
importing ``support.peers`` installs in a process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from types import TracebackType

SERVER_ADDRESS = "10.201.0.1"
CLIENT_ADDRESS = "10.201.0.2"
PREFIX = 24


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Netns:
    """The benchmark's server and client namespaces (see the module docstring)."""

    def __init__(self, tag: str | None = None) -> None:
        tag = tag or str(os.getpid())
        self.server = f"lsbench-srv-{tag}"
        self.client = f"lsbench-cli-{tag}"

    def __enter__(self) -> Netns:
        if os.geteuid() != 0:
            raise PermissionError("network namespaces need root (ip netns add)")
        if shutil.which("ip") is None:
            raise FileNotFoundError("`ip` (iproute2) is not installed")
        try:
            self._create()
        except BaseException:
            self.remove()
            raise
        return self

    def _create(self) -> None:
        for ns in (self.server, self.client):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        # the pair is made inside the server namespace, then one end moves: at no moment
        # is either end in this machine's own namespace
        _ip("-n", self.server, "link", "add", "lsb-srv", "type", "veth", "peer", "name", "lsb-cli")
        _ip("-n", self.server, "link", "set", "lsb-cli", "netns", self.client)
        for ns, dev, addr in (
            (self.server, "lsb-srv", SERVER_ADDRESS),
            (self.client, "lsb-cli", CLIENT_ADDRESS),
        ):
            _ip("-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")

    def remove(self) -> None:
        """Delete both namespaces (and so the veth pair); quiet if they are gone already."""
        for ns in (self.server, self.client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def in_server(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the server namespace (``ip netns exec`` execs it: same pid)."""
        return ["ip", "netns", "exec", self.server, *argv]

    def in_client(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the client namespace."""
        return ["ip", "netns", "exec", self.client, *argv]


def use_namespace_candidates() -> None:
    """Give this process's aioice back its own host candidates and checks (undoing
    ``use_loopback_candidates``, which importing ``support.peers`` installs): inside the
    namespace they are the veth address only. A no-op when the pinning is not installed."""
    from aioice import Connection
    from aioice import ice as aioice_ice

    from live_server.media.aiortc import hooks

    if not hooks.loopback_candidates_in_use():
        return
    # aioice's own functions, which the hooks module keeps from before its swap
    stock_gather = hooks._stock_get_host_addresses
    stock_received = hooks._stock_request_received
    assert stock_gather is not None and stock_received is not None
    aioice_ice.get_host_addresses = stock_gather  # type: ignore[assignment]
    Connection.request_received = stock_received  # type: ignore[method-assign]
