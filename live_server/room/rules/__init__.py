"""room rules."""
