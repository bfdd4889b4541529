"""Commerce: cart, checkout with exact inventory, payments, flash sales, the live formats
(auctions, giveaways, live coupons), live commerce state, the creator ledger and analytics.

Other features and the composition root use what is re-exported here.
"""

from live_server.commerce.feature import Commerce, setup
from live_server.commerce.formats import setup as live_formats

__all__ = ["Commerce", "live_formats", "setup"]
