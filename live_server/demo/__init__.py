"""Demo data for `liveshop serve --demo`: accounts, products, shows, a replay, posts."""

from live_server.demo.feature import setup
from live_server.demo.services import DemoServices

__all__ = ["DemoServices", "setup"]
