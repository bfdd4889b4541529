"""Shipping zones, rates and tax (issue 15 part 3): pure rules in `rules.py` and
`charging.py`, merchants' settings in `store.py`, the quote in `service.py`."""
