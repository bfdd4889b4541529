"""LiveShop: a self-hostable live-shopping streaming server."""

__version__ = "0.1.0"
