"""commerce cart."""
