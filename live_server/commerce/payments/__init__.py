"""commerce payments."""
