"""content feed."""
