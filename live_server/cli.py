"""The `liveshop` command line: `serve` (and later areas' subcommands)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from live_server.settings import Settings


class _KeyValueFormatter(logging.Formatter):
    """`ts=... level=... logger=... msg="..."`: one greppable line per event."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f"ts={ts}.{int(record.msecs):03d}Z level={record.levelname.lower()} "
            f"logger={record.name} msg={json.dumps(record.getMessage())}"
        )
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if root.level > logging.DEBUG:
        logging.getLogger("aioice").setLevel(logging.WARNING)
        logging.getLogger("aiortc").setLevel(logging.WARNING)


def _common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data folder (default ./var; LIVESHOP_DATA_DIR)")
    parser.add_argument("--db", help="SQLite file (default <data-dir>/liveshop.db; LIVESHOP_DB)")
    parser.add_argument("--redis-url", help="Redis URL for multi-node (LIVESHOP_REDIS_URL)")
    parser.add_argument("--log-level", help="debug, info, warning (LIVESHOP_LOG_LEVEL)")


def _cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster-secret",
        help="shared by every node: signs relay tokens and watch tickets (LIVESHOP_CLUSTER_SECRET)",
    )
    parser.add_argument(
        "--public-url",
        help="this node's base URL for viewers and other nodes (LIVESHOP_PUBLIC_URL)",
    )
    parser.add_argument(
        "--public-ip", help="address announced in ICE candidates (LIVESHOP_PUBLIC_IP)"
    )


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        help="processes on this machine: the server plus N-1 media workers "
        "(default: one per core with Redis, else 1; LIVESHOP_WORKERS)",
    )
    parser.add_argument(
        "--role",
        choices=("primary", "edge"),
        help="edge: a media-only node, like `liveshop edge` (LIVESHOP_ROLE)",
    )
    _cluster_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveshop", description="LiveShop live-shopping server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1; LIVESHOP_HOST)")
    serve.add_argument(
        "--port",
        type=int,
        help="listen port; 0 picks a free one, written to <data-dir>/server.port "
        "(default 8080; LIVESHOP_PORT)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="seed demo accounts and data (NOT for production; LIVESHOP_DEMO)",
    )
    serve.add_argument(
        "--ice-loopback",
        action="store_true",
        default=None,
        help="WebRTC on 127.0.0.1 only, for tests and benchmarks (LIVESHOP_ICE_LOOPBACK)",
    )
    _serve_flags(serve)
    _common_flags(serve)
    edge = sub.add_parser(
        "edge", help="run a media-only edge node: WHEP and relays, no database (needs Redis)"
    )
    edge.add_argument("--host", help="listen address (default 127.0.0.1; LIVESHOP_HOST)")
    edge.add_argument("--port", type=int, help="listen port; 0 picks a free one (LIVESHOP_PORT)")
    edge.add_argument(
        "--ice-loopback",
        action="store_true",
        default=None,
        help="WebRTC on 127.0.0.1 only, for tests and benchmarks (LIVESHOP_ICE_LOOPBACK)",
    )
    _cluster_flags(edge)
    _common_flags(edge)
    process = sub.add_parser(
        "process", help="turn a finished session's recording into its replay and clips"
    )
    process.add_argument("session_id", type=int, help="the live session to process")
    _common_flags(process)
    set_role = sub.add_parser(
        "set-role", help="give an account a global role (how the first admin is made)"
    )
    set_role.add_argument("username", help="the account's username")
    set_role.add_argument(
        "new_role", metavar="role", choices=("viewer", "host", "admin"), help="the new role"
    )
    _common_flags(set_role)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        key: getattr(args, key, None)
        for key in (
            "host",
            "port",
            "data_dir",
            "db",
            "redis_url",
            "demo",
            "log_level",
            "ice_loopback",
            "workers",
            "role",
            "cluster_secret",
            "public_url",
            "public_ip",
        )
    }
    if getattr(args, "command", None) == "edge":
        overrides["role"] = "edge"
    return Settings.load(overrides)


PORT_FILE = "server.port"


def serve(settings: Settings) -> int:
    """`liveshop serve`: run the server until SIGINT/SIGTERM.

    Once the site listens, the bound port is written to ``<data-dir>/server.port`` (so
    ``--port 0`` is usable: tests read the port the kernel picked instead of racing for a
    "free" one) and logged as "listening on http://HOST:PORT".
    """
    from live_server import app as composition
    from live_server.platform.http_server import HttpTimeouts, run
    from live_server.startup import prepare_process, tune_for_serving

    log = logging.getLogger(__name__)
    # process-wide hooks (aiortc/aioice) before any app or peer exists ...
    prepare_process(ice_loopback=settings.ice_loopback)
    port_file = settings.data_dir / PORT_FILE
    sock = _bind_any_port(settings.host) if settings.port == 0 else None
    port = int(sock.getsockname()[1]) if sock is not None else settings.port
    if not settings.public_url:
        # where other nodes and redirected viewers reach this one (the registry, the lease)
        settings = dataclasses.replace(settings, public_url=default_public_url(settings, port))
    if settings.role == "edge":
        app = composition.create_edge_app(settings)
    else:
        app = composition.create_app(settings)
    tune_for_serving()  # ... and the GC tuning once the app exists (it freezes what is there)

    def started() -> None:
        # called once the site is listening: the moment the port becomes usable, hence the
        # moment to publish it
        _write_atomically(port_file, f"{port}\n")
        log.info("LiveShop listening on http://%s:%d", settings.host, port)

    # every connection's deadlines (slow headers, slow bodies, idle keep-alive)
    timeouts = HttpTimeouts(
        header_s=settings.http_header_timeout_s,
        body_s=settings.http_body_timeout_s,
        body_min_rate=settings.http_body_min_rate,
        idle_s=settings.http_idle_timeout_s,
    )
    try:
        run(
            app,
            timeouts,
            host=None if sock is not None else settings.host,
            port=None if sock is not None else settings.port,
            sock=sock,
            on_listening=started,
            shutdown_timeout=10,
        )
    finally:
        _remove_port_file(port_file, port)
    return 0


def default_public_url(settings: Settings, port: int) -> str:
    """Where viewers and other nodes reach this node when ``public_url`` is not set."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = settings.public_ip or socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _bind_any_port(host: str) -> socket.socket:
    """A TCP socket bound to ``host`` on a port the kernel picks (held, so no race)."""
    family, type_, proto, _, address = socket.getaddrinfo(
        host, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    return sock


def _write_atomically(path: Path, text: str) -> None:
    # readers poll for the file: they must never see it half written
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _remove_port_file(path: Path, port: int) -> None:
    # another server may share the data dir and have written its own port since
    try:
        if path.read_text().strip() == str(port):
            path.unlink()
    except OSError:
        pass


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines every 10 % otherwise."""

    def __init__(self, stream: Any = None, width: int = 30) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._last_decile = -1

    def update(self, fraction: float, label: str) -> None:
        """Draw the bar at ``fraction`` (0..1) with a short label."""
        fraction = min(1.0, max(0.0, fraction))
        filled = int(fraction * self._width)
        line = f"[{'#' * filled}{'.' * (self._width - filled)}] {fraction * 100:5.1f}% {label}"
        if self._tty:
            self._stream.write("\r" + line.ljust(self._width + 30))
            if fraction >= 1.0:
                self._stream.write("\n")
        elif int(fraction * 10) != self._last_decile:
            self._last_decile = int(fraction * 10)
            self._stream.write(line + "\n")
        self._stream.flush()


async def process(settings: Settings, session_id: int) -> int:
    """`liveshop process SESSION_ID`: queue (or resume) the session's job and run it here."""
    from live_server.app import build_processing
    from live_server.platform.errors import DomainError

    platform, content = build_processing(settings)
    processing = content.processing
    bar = ProgressBar()
    await platform.db.open()
    try:
        await processing.recover()
        try:
            job = await processing.enqueue_session(session_id, None)
        except DomainError as exc:
            print(f"session {session_id}: {exc.message}", file=sys.stderr)
            return 1
        print(f"session {session_id}: job {job.id} ({job.state.value})", file=sys.stderr)
        final = await processing.run_next(
            session_id, lambda _job, fraction, label: bar.update(fraction, label)
        )
        if final is None:
            print("nothing to do: the job is already running elsewhere", file=sys.stderr)
            return 1
        if final.state.value == "done":
            bar.update(1.0, "done")
            print(f"session {session_id}: job {final.id} done", file=sys.stderr)
            return 0
        print(
            f"session {session_id}: job {final.id} {final.state.value}: {final.error}",
            file=sys.stderr,
        )
        return 2
    finally:
        content.close_workers()
        await platform.db.close()


async def set_role(settings: Settings, username: str, role: str) -> int:
    """`liveshop set-role USERNAME ROLE`: the operator's way to make the first admin (later
    ones are made on the admin screen). The user's tokens are revoked: they log in again."""
    from live_server import accounts
    from live_server.platform.core import build_platform
    from live_server.platform.identity import Role

    platform = build_platform(settings)
    users = accounts.build(platform)
    await platform.db.open()
    try:
        user = await users.users.by_username(username)
        if user is None:
            print(f"no account named {username!r}", file=sys.stderr)
            return 1
        await users.service.set_role(user.id, Role(role))
        print(f"@{user.username} is now {role} (they log in again)", file=sys.stderr)
        return 0
    finally:
        await platform.db.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `liveshop` console script."""
    parser = build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    settings = settings_from_args(args)
    configure_logging(settings.log_level)
    if args.command == "serve" and settings.role != "edge":
        from live_server.cluster import default_workers
        from live_server.supervisor import supervise

        workers = settings.workers or default_workers(bool(settings.redis_url))
        if workers > 1:
            return supervise(settings, raw[1:], workers)  # the arguments after `serve`
    if args.command in ("serve", "edge"):
        return serve(settings)
    if args.command == "process":
        import asyncio

        return asyncio.run(process(settings, args.session_id))
    if args.command == "set-role":
        import asyncio

        return asyncio.run(set_role(settings, args.username, args.new_role))
    parser.error(f"unknown command {args.command}")
    return 2
