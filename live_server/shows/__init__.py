"""shows."""
