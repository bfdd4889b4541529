"""commerce checkout."""
