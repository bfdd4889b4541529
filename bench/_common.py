"""What every benchmark in bench/ shares: its server process, percentiles, tables, arguments.

- ``start_server`` runs a server in its own process (so that its CPU time is its own) bound
  to 127.0.0.1 and waits, with a timeout, until ``GET /readyz`` answers 200. The server
  binds port 0 and writes the port it got to a file (a benchmark's own server through
  ``serve_app``, ``liveshop serve --port 0`` to ``<data-dir>/server.port``): no
  bind-then-release "free port" that another process can take in between.
- ``Server.cpu_seconds()`` is the server's own CPU accounting (user + system, /proc).
- ``percentile`` is the one percentile definition; ``Table`` prints Markdown or aligned
  text with ratio columns against a baseline row (``Ratio``).

Importing this module also puts the repository root and tests/ (for ``support.*``) on
``sys.path``: the benchmarks run as plain scripts (``python bench/fanout.py``).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO / "tests", REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

PORT_FILE_ENV = "BENCH_PORT_FILE"
HOST_ENV = "BENCH_HOST"  # the address serve_app binds (default 127.0.0.1)


# -- the server process ------------------------------------------------------------------
def serve_app(app: web.Application | Awaitable[web.Application]) -> None:
    """Run a benchmark's own server on 127.0.0.1 (or $BENCH_HOST, e.g. an address inside a
    network namespace the benchmark made) until SIGTERM (on_shutdown hooks run).

    The socket is bound to port 0 here and its port written to the file named by
    $BENCH_PORT_FILE, where ``start_server`` reads it: no window in which another
    process could take the port.
    """
    from aiohttp import web

    sock = socket.socket()
    sock.bind((os.environ.get(HOST_ENV, "127.0.0.1"), 0))
    port_file = os.environ.get(PORT_FILE_ENV)
    if port_file:
        # written whole, then renamed: the parent never reads half a number
        tmp = Path(port_file + ".part")
        tmp.write_text(str(sock.getsockname()[1]))
        tmp.replace(port_file)
    web.run_app(app, sock=sock, print=None, access_log=None)


@dataclass
class Server:
    """A server running in a child process, with its own CPU and memory accounting."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path | None = None
    host: str = "127.0.0.1"
    _ps: psutil.Process | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` (host: 127.0.0.1 unless started with another)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ps(self) -> psutil.Process:
        """The psutil view of the server process."""
        if self._ps is None:
            self._ps = psutil.Process(self.process.pid)
        return self._ps

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        """The server's resident memory, MiB."""
        return float(self.ps.memory_info().rss / 2**20)

    def log(self) -> str:
        """What the server wrote to its log so far ('' without a log file)."""
        return _read_log(self.log_path)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if the server has not exited within ``timeout``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    argv: Sequence[str],
    *,
    port_file: Path | None = None,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    host: str = "127.0.0.1",
) -> Server:
    """Start ``argv`` (cwd: the repository) and wait until its ``GET /readyz`` answers 200.

    The child binds port 0 on 127.0.0.1 and writes the port to ``port_file`` (for
    ``liveshop serve --port 0``: ``<data-dir>/server.port``); without one, the child is a
    ``serve_app`` server and learns a fresh file's name from $BENCH_PORT_FILE. Output goes
    to ``log_path`` if given, else to this terminal. ``host``: where the child listens
    (a ``serve_app`` child is told it through $BENCH_HOST). Raises (with the log) if the server
    exits or is not ready within ``timeout`` seconds.
    """
    child_env = {**os.environ, **(env or {})}
    own_dir: Path | None = None
    if port_file is None:
        own_dir = Path(tempfile.mkdtemp(prefix="bench-port-"))
        port_file = own_dir / "port"
        child_env[PORT_FILE_ENV] = str(port_file)
        child_env[HOST_ENV] = host
    # a server killed earlier may have left its file: never take its port for this one's
    port_file.unlink(missing_ok=True)
    out = open(log_path, "wb") if log_path is not None else None
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=REPO,
            env=child_env,
            stdout=out,
            stderr=None if out is None else subprocess.STDOUT,
        )
    finally:
        if out is not None:
            out.close()  # the child holds its own descriptor
    port: int | None = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            if port is None:
                port = _read_port(port_file)
            if port is not None and _ready(f"http://{host}:{port}"):
                return Server(process, port, log_path, host)
            if process.poll() is not None:
                log = _read_log(log_path)
                raise RuntimeError(f"server exited with {process.returncode}:\n{log}")
            if time.monotonic() > deadline:
                what = "ready" if port is not None else f"listening ({port_file} not written)"
                raise RuntimeError(f"server not {what} after {timeout:g} s:\n{_read_log(log_path)}")
            time.sleep(0.05)  # polling interval, bounded by the deadline above
    except BaseException:
        process.kill()
        process.wait(5)
        raise
    finally:
        if own_dir is not None:
            port_file.unlink(missing_ok=True)
            own_dir.rmdir()


def _read_port(path: Path) -> int | None:
    # writers replace the file atomically: it is absent or complete
    try:
        return int(path.read_text().strip())
    except FileNotFoundError:
        return None


def _read_log(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_text(errors="replace")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


# -- figures and tables ------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The value at rank ``int(q * n)`` of the sorted values (q in 0..1; 0.5 = the upper
    median); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def utc_stamp() -> str:
    """Now, as the benchmarks' headings print it: ``2025-01-31 12:00 UTC``."""
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Column:
    """A table column: its title, how its numbers are formatted (``spec``, e.g. ".2f") and,
    for aligned text, its width and side (text cells align left, numbers right)."""

    title: str
    spec: str = ""
    width: int = 0
    left: bool = False


@dataclass(frozen=True)
class Ratio:
    """A cell holding ``value / baseline`` (0 without a baseline), formatted with its
    column's spec: how a row compares with the baseline measured in the same run."""

    value: float
    baseline: float

    def __float__(self) -> float:
        return self.value / self.baseline if self.baseline else 0.0


class Table:
    """A benchmark's result table, printed as Markdown or as aligned text."""

    def __init__(self, *columns: str | Column) -> None:
        self.columns = [c if isinstance(c, Column) else Column(c) for c in columns]
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        """Add a row: strings as they are, numbers and ``Ratio`` cells with the column's spec."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([_cell(c, col) for c, col in zip(cells, self.columns, strict=True)])

    def markdown(self) -> str:
        """``| a | b |`` lines under a header and a ``|---|---|`` rule."""
        lines = [
            "| " + " | ".join(c.title for c in self.columns) + " |",
            "|" + "---|" * len(self.columns),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def text(self) -> str:
        """Fixed-width columns under a header and a rule of dashes."""

        def line(cells: Sequence[str]) -> str:
            return "".join(
                f"{cell:<{c.width}}" if c.left else f"{cell:>{c.width}}"
                for cell, c in zip(cells, self.columns, strict=True)
            )

        head = line([c.title for c in self.columns])
        return "\n".join([head, "-" * len(head), *(line(row) for row in self.rows)])


def _cell(value: object, column: Column) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Ratio):
        return format(float(value), column.spec)
    if column.spec and isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, column.spec)
    return str(value)


# -- arguments ---------------------------------------------------------------------------
def int_list(text: str) -> list[int]:
    """argparse type for ``1,10,25``: a list of ints (empty items skipped)."""
    try:
        return [int(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ints: {text!r}") from None


# -- counting WHEP viewers, in processes of their own --------------------------------------


@dataclass
class RtpCounter:
    """Frames a viewer received and the RTP time they span (so loss is exact, whatever
    the moment each process takes its snapshot)."""

    video_frames: int = 0
    audio_frames: int = 0
    video_span: int = 0  # RTP ticks (90 kHz) between the first and the last frame
    audio_span: int = 0  # RTP ticks (48 kHz)
    last_video_ts: int | None = None
    last_audio_ts: int | None = None


_COUNTERS: dict[int, tuple[str, RtpCounter]] = {}


def install_rtp_counting() -> None:
    """Viewers count frames at the RTP layer (the marker bit ends a video frame) and skip
    the jitter buffer and decoder entirely: the cheapest possible real receiver. Only in a
    viewer process (it replaces a method of aiortc's receiver there)."""
    from aiortc import RTCRtpReceiver

    original = RTCRtpReceiver._handle_rtp_packet
    if getattr(original, "_bench_counting", False):
        return

    async def counting(self: RTCRtpReceiver, packet: Any, arrival_time_ms: int) -> None:
        entry = _COUNTERS.get(id(self))
        if entry is None:
            await original(self, packet, arrival_time_ms)
            return
        kind, counter = entry
        ts = packet.timestamp
        if kind == "video":
            if packet.marker:
                counter.video_frames += 1
                if counter.last_video_ts is not None:
                    delta = (ts - counter.last_video_ts) & 0xFFFFFFFF
                    counter.video_span += delta if delta < 1 << 31 else 0
                counter.last_video_ts = ts
        else:
            counter.audio_frames += 1
            if counter.last_audio_ts is not None:
                delta = (ts - counter.last_audio_ts) & 0xFFFFFFFF
                counter.audio_span += delta if delta < 1 << 31 else 0
            counter.last_audio_ts = ts

    counting._bench_counting = True  # type: ignore[attr-defined]
    RTCRtpReceiver._handle_rtp_packet = counting  # type: ignore[method-assign]


Connect = Callable[[Any, Any], Awaitable[str]]  # (aiohttp session, RTCPeerConnection) -> where


def viewer_worker(whep_url: str, connect: Connect | None = None) -> None:
    """A process of counting viewers driven over stdin: ``add N``, ``snap``, ``quit``.

    Each viewer POSTs its offer to ``whep_url`` (a 307 is followed), or is connected by
    ``connect`` (another server's signalling, e.g. Janus's); ``snap`` answers, per viewer,
    [video frames, audio frames, video RTP span, audio RTP span, the resource URL].
    """
    import asyncio
    import json

    import aiohttp

    from support.peers import http_negotiate, viewer_pc

    install_rtp_counting()

    async def main() -> None:
        viewers: list[tuple[Any, RtpCounter, str]] = []
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as http:
            while True:
                line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
                if not line or line == "quit":
                    break
                if line.startswith("add "):
                    for _ in range(int(line.split()[1])):
                        pc = viewer_pc(passthrough=False)  # frames counted, never decoded
                        counter = RtpCounter()
                        for t in pc.getTransceivers():
                            _COUNTERS[id(t.receiver)] = (t.kind, counter)
                        if connect is None:
                            where = (await http_negotiate(http, pc, whep_url)).location
                        else:
                            where = await connect(http, pc)
                        viewers.append((pc, counter, where))
                    print("ok", flush=True)
                elif line == "snap":
                    snap = [
                        [c.video_frames, c.audio_frames, c.video_span, c.audio_span, where]
                        for _, c, where in viewers
                    ]
                    print(json.dumps(snap), flush=True)
        for pc, _, _ in viewers:
            await pc.close()

    asyncio.run(main())


class ViewerProcesses:
    """Viewer processes (``script --viewer-worker URL``, which calls ``viewer_worker``), so
    that receiving is spread over more than one interpreter."""

    def __init__(self, script: str, whep_url: str, count: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, script, "--viewer-worker", whep_url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        self.sizes = [0] * count

    async def _ask(self, proc: subprocess.Popen[str], line: str) -> str:
        import asyncio

        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        return await asyncio.to_thread(proc.stdout.readline)

    async def grow_to(self, total: int) -> None:
        """Add viewers (5 at a time, to the process with fewest) until there are ``total``."""
        while sum(self.sizes) < total:
            i = self.sizes.index(min(self.sizes))
            step = min(5, total - sum(self.sizes))
            await self._ask(self.procs[i], f"add {step}")
            self.sizes[i] += step

    async def snapshot(self) -> list[list[Any]]:
        """Every viewer's counters (see ``viewer_worker``)."""
        import asyncio
        import json

        replies = await asyncio.gather(*(self._ask(p, "snap") for p in self.procs))
        out: list[list[Any]] = []
        for reply in replies:
            out.extend(json.loads(reply))
        return out

    def close(self) -> None:
        """Ask each process to close its viewers and leave (killed if it does not)."""
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
                proc.wait(20)
            except Exception:
                proc.kill()
