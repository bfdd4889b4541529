"""commerce analytics."""
