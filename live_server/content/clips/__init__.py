"""content clips."""
