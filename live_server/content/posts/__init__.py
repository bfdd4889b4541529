"""content posts."""
