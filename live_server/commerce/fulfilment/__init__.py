"""Fulfilment and after-sale: the seller's orders, shipping, refunds, the buyer's cancel."""
