"""Allows `python -m live_server ...` as an alias of the `liveshop` console script."""

from live_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
