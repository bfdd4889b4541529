"""Pure domain rules: no aiohttp, aiortc, SQLite or Redis in here."""
