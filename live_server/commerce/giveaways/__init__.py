"""Giveaways: a checkable draw (rules), entries and the draw (service), room events, routes."""
