"""commerce rules."""
