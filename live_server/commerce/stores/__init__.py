"""commerce stores."""
