"""The `liveshop` command line: `serve` (and later areas' subcommands)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveshop", description="LiveShop live-shopping server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1; LIVESHOP_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default 8080; LIVESHOP_PORT)")
    serve.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="seed demo accounts and data (NOT for production; LIVESHOP_DEMO)",
    )
    _common_flags(serve)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {
        key: getattr(args, key, None)
        for key in ("host", "port", "data_dir", "db", "redis_url", "demo", "log_level")
    }
    return Settings.load(overrides)


def serve(settings: Settings) -> int:
    from aiohttp import web

    from live_server.app import create_app

    app = create_app(settings)
    logging.getLogger(__name__).info(
        "LiveShop listening on http://%s:%d", settings.host, settings.port
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=10,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `liveshop` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = settings_from_args(args)
    configure_logging(settings.log_level)
    if args.command == "serve":
        return serve(settings)
    parser.error(f"unknown command {args.command}")
    return 2
