"""content processing."""
