"""Janus (Debian's ``janus``, VideoRoom plugin) as a benchmark server: configs, process, API.

- ``write_config`` writes what Janus reads into a temporary folder: ``janus.jcfg`` (one
  event loop with ``event_loops``, else Janus's default: a thread per handle), the
  VideoRoom plugin's config (one room, VP8 + Opus, no bitrate cap) and the HTTP transport
  on ``host:port``; every other plugin, transport, logger and event handler is disabled.
- ``JanusServer`` runs ``janus`` (inside a network namespace: libnice leaves loopback
  candidates out), waits for ``GET /janus/info`` and reads the process's CPU (utime +
  stime from /proc/<pid>/stat).
- ``JanusApi`` speaks Janus's HTTP API: a session, handles attached to the VideoRoom, plugin
  messages whose asynchronous events come back on the session's long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

ROOM = 1234
PLUGIN = "janus.plugin.videoroom"
_OTHER_PLUGINS = (
    "audiobridge duktape echotest lua nosip recordplay sip streaming textroom videocall voicemail"
)
_OTHER_TRANSPORTS = "mqtt nanomsg pfunix rabbitmq websockets"


def _lib_folder(kind: str) -> str:
    found = glob.glob(f"/usr/lib/*/janus/{kind}") or glob.glob(f"/usr/lib/janus/{kind}")
    if not found:
        raise FileNotFoundError(f"Janus's {kind} folder is not installed (apt-get install janus)")
    return found[0]


def write_config(
    folder: Path, host: str, port: int, interface: str, event_loops: int | None
) -> Path:
    """Janus's configs for the benchmark, in ``folder``; returns the ``janus.jcfg`` path."""
    loops = f"event_loops = {event_loops}" if event_loops else "# event_loops: a thread per handle"
    plugins = ",".join(f"libjanus_{p}.so" for p in _OTHER_PLUGINS.split())
    transports = ",".join(f"libjanus_{t}.so" for t in _OTHER_TRANSPORTS.split())
    general = f"""general: {{
\tconfigs_folder = "{folder}"
\tplugins_folder = "{_lib_folder("plugins")}"
\ttransports_folder = "{_lib_folder("transports")}"
\tevents_folder = "{_lib_folder("events")}"
\tloggers_folder = "{_lib_folder("loggers")}"
\tdebug_level = 3
\tsession_timeout = 0
\t{loops}
}}
media: {{
\trtp_port_range = "20000-40000"
}}
nat: {{
\tnice_debug = false
\tice_enforce_list = "{interface}"
}}
plugins: {{
\tdisable = "{plugins}"
}}
transports: {{
\tdisable = "{transports}"
}}
loggers: {{
\tdisable = "libjanus_jsonlog.so"
}}
events: {{
\tbroadcast = false
}}
"""
    room = f"""general: {{
}}
room-{ROOM}: {{
\tdescription = "LiveShop fan-out benchmark"
\tpublishers = 1
\tbitrate = 0
\tfir_freq = 0
\taudiocodec = "opus"
\tvideocodec = "vp8"
\trecord = false
\tnotify_joining = false
}}
"""
    http = f"""general: {{
\tjson = "plain"
\tbase_path = "/janus"
\thttp = true
\tip = "{host}"
\tport = {port}
\thttps = false
}}
admin: {{
\tadmin_http = false
\tadmin_https = false
}}
"""
    (folder / "janus.jcfg").write_text(general)
    (folder / "janus.plugin.videoroom.jcfg").write_text(room)
    (folder / "janus.transport.http.jcfg").write_text(http)
    return folder / "janus.jcfg"


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (utime + stime, every thread) process ``pid`` has used, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


class JanusServer:
    """A ``janus`` process with the benchmark's configs (see ``write_config``)."""

    def __init__(self, wrap: Sequence[str], host: str, interface: str, event_loops: int | None):
        self.host = host
        self.port = 8088  # inside the benchmark's own namespace: nothing else listens there
        self.dir = Path(tempfile.mkdtemp(prefix="bench-janus-"))
        self.log_path = self.dir / "janus.log"
        config = write_config(self.dir, host, self.port, interface, event_loops)
        argv = ["janus", "-C", str(config), "-F", str(self.dir), "-o", "-N"]
        argv += ["-L", str(self.log_path)]
        # `ip netns exec` execs janus: the child's pid is Janus's own
        with open(self.dir / "janus.stderr", "wb") as err:  # GLib's warnings, a crash
            self.process = subprocess.Popen([*wrap, *argv], stdout=subprocess.DEVNULL, stderr=err)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/janus"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/info", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"janus not ready after {timeout:g} s:\n{self.log()}")
            time.sleep(0.1)  # polling interval, bounded by the deadline

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.process.pid)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def log(self) -> str:
        paths = (self.log_path, self.dir / "janus.stderr")
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for path in self.dir.iterdir():
            path.unlink()
        self.dir.rmdir()


class JanusError(RuntimeError):
    pass


class JanusApi:
    """One Janus session over the HTTP API, its events read by a long poll."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.session: int | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        transaction = body.setdefault("transaction", uuid.uuid4().hex)
        async with self.http.post(self.url + path, json=body) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {reply.get('error')}")
        reply.setdefault("transaction", transaction)
        return reply

    async def open(self) -> None:
        reply = await self._post("", {"janus": "create"})
        self.session = int(reply["data"]["id"])
        self._poller = asyncio.create_task(self._poll())

    async def attach(self) -> int:
        reply = await self._post(f"/{self.session}", {"janus": "attach", "plugin": PLUGIN})
        return int(reply["data"]["id"])

    async def request(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A VideoRoom request; returns its event (``plugindata`` and maybe ``jsep``)."""
        transaction = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = future
        message: dict[str, Any] = {"janus": "message", "transaction": transaction, "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        try:
            reply = await self._post(f"/{self.session}/{handle}", message)
            event = reply if reply["janus"] == "success" else await asyncio.wait_for(future, 30)
        finally:
            self._waiting.pop(transaction, None)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return event

    async def _poll(self) -> None:
        while not self.http.closed:
            try:
                async with self.http.get(f"{self.url}/{self.session}?maxev=20") as resp:
                    events = await resp.json(content_type=None)
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)  # Janus is going away, or busy: ask again
                continue
            for event in events if isinstance(events, list) else [events]:
                future = self._waiting.get(event.get("transaction", ""))
                if future is not None and event.get("janus") == "event" and not future.done():
                    future.set_result(event)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self.session is not None:
            with contextlib.suppress(aiohttp.ClientError, JanusError):
                await self._post(f"/{self.session}", {"janus": "destroy"})


def offer_jsep(sdp: str, kind: str = "offer") -> dict[str, Any]:
    """A JSEP object for Janus: aiortc's SDP carries every candidate (no trickle)."""
    return {"type": kind, "sdp": sdp, "trickle": False}
