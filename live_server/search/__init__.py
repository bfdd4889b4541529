"""Search: products, shows and creators over SQLite FTS5, and creators' pages.

Other features use what is re-exported here; the modules inside are this feature's own.
"""

from live_server.search.feature import setup
from live_server.search.keys import SEARCH
from live_server.search.service import SearchService

__all__ = ["SEARCH", "SearchService", "setup"]
