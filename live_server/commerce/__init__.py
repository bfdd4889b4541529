"""Commerce: cart, checkout with exact inventory, payments, flash sales, live commerce
state, the creator ledger and analytics.

Other features and the composition root use what is re-exported here.
"""

from live_server.commerce.feature import Commerce, setup

__all__ = ["Commerce", "setup"]
